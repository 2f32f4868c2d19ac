"""The page frame (navigation bar, URL) and the router that renders a page for a path."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from dashboard.pages import map as map_page

PAGES = {map_page.PATH: map_page}


def layout() -> html.Div:
    nav = dbc.Navbar(dbc.Container([
        dbc.NavbarBrand([html.Img(src="/assets/logo.svg", height="28px", className="me-2"), "ISTV London"], href="/"),
        dbc.Nav([dbc.NavItem(dbc.NavLink(m.TITLE, href=p, active="exact")) for p, m in PAGES.items()], navbar=True),
        html.Span("Information Sharing to Tackle Violence", className="navbar-text small text-light d-none d-md-inline"),
    ], fluid=True), color="dark", dark=True, className="mb-3")
    return html.Div([dcc.Location(id="url", refresh=False), nav, dbc.Container(id="page", fluid=True)])


def render(pathname: str | None, search: str | None):
    page = PAGES.get(pathname or "/")
    if page is None:
        return dbc.Alert([html.H4("Page not found"), html.P(f"There is no page at {pathname}."),
                          html.A("Back to the map", href="/")], color="secondary")
    return page.layout(search or "")


def register_callbacks(app) -> None:
    app.callback(Output("page", "children"), Input("url", "pathname"), State("url", "search"))(render)
    for page in PAGES.values():
        page.register_callbacks(app)
