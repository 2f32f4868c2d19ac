"""The page frame (navigation bar, user menu, URL) and the router that renders a page for a path."""
from __future__ import annotations

import importlib

import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, ctx, dcc, html
from flask import abort
from flask_login import current_user

from dashboard.auth import audit_denial, csrf_token
from dashboard.context import current_scope
from dashboard.url_state import HISTORY, HISTORY_POP
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
    # at 768 px and below the links and the user menu fold behind a menu button
    nav = dbc.Navbar(dbc.Container([
        dbc.NavbarBrand([html.Img(src="/assets/logo.svg", height="28px", className="me-2"), "ISTV London"], href="/"),
        dbc.NavbarToggler(id="nav-toggle", n_clicks=0),
        dbc.Collapse([dbc.Nav(links, navbar=True), user_menu], id="nav-collapse", navbar=True, is_open=False),
    ], fluid=True), color="dark", dark=True, expand="md", className="mb-3")
    # the pages' view state goes to the address bar through HISTORY (assets/history.js), Back within a page
    # comes back through HISTORY_POP; dcc.Location itself only changes pages
    stores = [dcc.Store(id=HISTORY), dcc.Store(id=HISTORY_POP), dcc.Store(id="view-history"),
              dcc.Store(id="page-title"), dcc.Store(id="page-title-set")]
    return html.Div([dcc.Location(id="url", refresh=False), *stores, nav, dbc.Container(id="page", fluid=True)])


def page_title(title: str) -> str:
    return f"{title} · ISTV London"


def route(pathname: str | None, popped: dict | None, search: str | None):
    """Callback body: the page for a path (a link, or Back to another page), or the same page rebuilt
    from the query that Back/Forward restored within it."""
    if ctx.triggered_id == HISTORY_POP and popped:
        search = str(popped.get("search") or "")
    return render(pathname, search)


def render(pathname: str | None, search: str | None):
    """The page's layout for a path and query, and the browser tab's title."""
    if not current_user.is_authenticated:
        abort(401)
    page = PAGES.get(pathname or "/")
    if page is None:
        return dbc.Alert([html.H4("Page not found"), html.P(f"There is no page at {pathname}."),
                          html.A("Back to the map", href="/")], color="secondary"), page_title("Page not found")
    if not _allowed(page):
        audit_denial(403, f"page {page.PATH}", role=current_user.role)
        return dbc.Alert([html.H4("Not available to your role"),
                          html.P(f"Your role ({current_user.role}) does not give access to {page.TITLE}.")],
                         color="warning", id="forbidden"), page_title("Not available")
    return page.layout(search or ""), page_title(page.TITLE)


def register_callbacks(app) -> None:
    app.callback(Output("page", "children"), Output("page-title", "data"),
                 Input("url", "pathname"), Input(HISTORY_POP, "data"), State("url", "search"))(route)
    app.clientside_callback(ClientsideFunction("istv_history", "write"), Output("view-history", "data"),
                            Input(HISTORY, "data"), prevent_initial_call=True)
    app.clientside_callback(ClientsideFunction("istv_history", "toggle"), Output("nav-collapse", "is_open"),
                            Input("nav-toggle", "n_clicks"), State("nav-collapse", "is_open"), prevent_initial_call=True)
    app.clientside_callback(ClientsideFunction("istv_history", "title"), Output("page-title-set", "data"),
                            Input("page-title", "data"))
    for page in PAGES.values():
        page.register_callbacks(app)
