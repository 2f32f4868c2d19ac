"""The page frame (navigation bar, user menu, URL) and the router that renders a page for a path."""
from __future__ import annotations

import importlib

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html
from flask import abort
from flask_login import current_user

from dashboard.auth import audit_denial, csrf_token
from dashboard.context import current_scope
from dashboard.pages import PAGE_MODULES

PAGES = {m.PATH: m for m in (importlib.import_module(f"dashboard.pages.{name}") for name in PAGE_MODULES)}


LEVEL_LABELS = {"record": "records and exact counts", "exact": "exact counts",
                "protected": "protected counts (perturbed, rounded to 5)"}


def _allowed(page) -> bool:
    return current_user.is_authenticated and current_user.can(page.PERMISSION)


def layout() -> html.Div:
    links = [dbc.NavItem(dbc.NavLink(m.TITLE, href=p, active="exact")) for p, m in PAGES.items() if _allowed(m)]
    user_menu = html.Form([
        html.Span([html.Span(current_user.username, id="nav-user", className="fw-semibold"),
                   f" · {current_user.role} · ",
                   html.Span(LEVEL_LABELS[current_scope().level], id="nav-level",
                             title="How exactly you see counts (docs/disclosure.md)")],
                  className="navbar-text text-light small me-2"),
        dcc.Input(type="hidden", name="csrf_token", value=csrf_token()),
        html.Button("Sign out", type="submit", id="sign-out", className="btn btn-sm btn-outline-light"),
    ], action="/logout", method="POST", className="d-flex align-items-center ms-auto") if current_user.is_authenticated else None
    nav = dbc.Navbar(dbc.Container([
        dbc.NavbarBrand([html.Img(src="/assets/logo.svg", height="28px", className="me-2"), "ISTV London"], href="/"),
        dbc.Nav(links, navbar=True), user_menu,
    ], fluid=True), color="dark", dark=True, className="mb-3")
    return html.Div([dcc.Location(id="url", refresh=False), nav, dbc.Container(id="page", fluid=True)])


def render(pathname: str | None, search: str | None):
    if not current_user.is_authenticated:
        abort(401)
    page = PAGES.get(pathname or "/")
    if page is None:
        return dbc.Alert([html.H4("Page not found"), html.P(f"There is no page at {pathname}."),
                          html.A("Back to the map", href="/")], color="secondary")
    if not _allowed(page):
        audit_denial(403, f"page {page.PATH}", role=current_user.role)
        return dbc.Alert([html.H4("Not available to your role"),
                          html.P(f"Your role ({current_user.role}) does not give access to {page.TITLE}.")],
                         color="warning", id="forbidden")
    return page.layout(search or "")


def register_callbacks(app) -> None:
    app.callback(Output("page", "children"), Input("url", "pathname"), State("url", "search"))(render)
    for page in PAGES.values():
        page.register_callbacks(app)
