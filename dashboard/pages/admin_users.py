"""Admin: users — add, disable, reset password, set role and boroughs. Every change is audited."""
from __future__ import annotations

from enum import StrEnum

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html, dcc
from flask_login import current_user

from dashboard.auth import guard, users
from dashboard.context import current_store
from data.store import queries
from data.access.roles import ROLES
from data.access.users import UserError

PATH, TITLE, PERMISSION = "/admin/users", "Users", "manage_users"


class Ids(StrEnum):
    TABLE = "users-table"
    NAME = "users-name"
    PASSWORD = "users-password"
    ROLE = "users-role"
    BOROUGHS = "users-boroughs"
    SITES = "users-sites"
    ACTIVE = "users-active"
    ADD = "users-add"
    SAVE = "users-save"
    MESSAGE = "users-message"


def users_table() -> dbc.Table:
    head = html.Thead(html.Tr([html.Th(h) for h in ("Username", "Role", "Boroughs", "ED sites", "Active", "Demo", "Last sign-in")]))
    body = html.Tbody([html.Tr([html.Td(u.username), html.Td(u.role), html.Td(u.boroughs or "all"),
                                html.Td(u.ed_sites or "–"), html.Td("yes" if u.active else "disabled"),
                                html.Td("demo" if u.is_demo else ""), html.Td(f"{u.last_login:%Y-%m-%d %H:%M}" if u.last_login else "never")])
                       for u in users().list()])
    return dbc.Table([head, body], size="sm", striped=True, id="users-list")


def layout(search: str = "") -> html.Div:
    store = current_store()
    boroughs = queries.boroughs(store)
    sites = store.df("SELECT site_code, name FROM ed_sites ORDER BY name")
    return html.Div([
        html.H2("Users", className="h4"),
        html.P("Add a user with a role and, for borough-scoped roles, their boroughs. To change a user, type "
               "their username and the fields to change: role, boroughs, ED sites, active, or a new password "
               "(leave a field empty to keep it). Users cannot be deleted; disable them.", className="text-muted"),
        dbc.Row([
            dbc.Col([dbc.Label("Username"), dbc.Input(id=Ids.NAME, maxLength=80)], md=2),
            dbc.Col([dbc.Label("Password (new or reset)"), dbc.Input(id=Ids.PASSWORD, type="password")], md=2),
            dbc.Col([dbc.Label("Role"), dcc.Dropdown(id=Ids.ROLE, options=[{"label": f"{r.name}: {r.description}", "value": r.name} for r in ROLES.values()])], md=3),
            dbc.Col([dbc.Label("Boroughs"), dcc.Dropdown(id=Ids.BOROUGHS, multi=True, placeholder="all (if the role allows)",
                                                          options=[{"label": n, "value": c} for c, n in zip(boroughs["code"], boroughs["name"])])], md=3),
            dbc.Col([dbc.Label("ED sites (health)"), dcc.Dropdown(id=Ids.SITES, multi=True,
                                                                  options=[{"label": n, "value": c} for c, n in zip(sites["site_code"], sites["name"])])], md=2),
        ], className="g-2"),
        dbc.Row([
            dbc.Col(dcc.Dropdown(id=Ids.ACTIVE, options=[{"label": "keep active state", "value": ""}, {"label": "active", "value": "1"},
                                                         {"label": "disabled", "value": "0"}], value="", clearable=False), md=2),
            dbc.Col([dbc.Button("Add user", id=Ids.ADD, color="primary", className="me-2"),
                     dbc.Button("Save changes", id=Ids.SAVE, color="secondary")], md=4),
        ], className="g-2 mt-1 mb-2"),
        html.Div(id=Ids.MESSAGE),
        html.Div(users_table(), id=Ids.TABLE),
    ])


def change_users(add_clicks, save_clicks, name, password, role, boroughs, sites, active, trigger: str | None = None):
    """Callback body: add or update a user; returns (message, table)."""
    from dash import ctx
    trigger = trigger or ctx.triggered_id
    if not trigger or not name:
        return (dbc.Alert("Type a username.", color="warning") if trigger else None), users_table()
    store, who = users(), current_user.username
    try:
        if trigger == Ids.ADD:
            store.add(name, password or "", role or "", tuple(boroughs or ()), tuple(sites or ()), by=who)
            message = f"Added {name}."
        else:
            store.update(name, by=who, role=role or None, boroughs=tuple(boroughs) if boroughs else None,
                         ed_sites=tuple(sites) if sites else None,
                         active=None if active in (None, "") else active == "1", password=password or None)
            message = f"Saved changes to {name}."
    except UserError as exc:
        return dbc.Alert(str(exc), color="danger"), users_table()
    return dbc.Alert(message, color="success"), users_table()


def register_callbacks(app) -> None:
    app.callback(
        Output(Ids.MESSAGE, "children"), Output(Ids.TABLE, "children"),
        Input(Ids.ADD, "n_clicks"), Input(Ids.SAVE, "n_clicks"),
        State(Ids.NAME, "value"), State(Ids.PASSWORD, "value"), State(Ids.ROLE, "value"),
        State(Ids.BOROUGHS, "value"), State(Ids.SITES, "value"), State(Ids.ACTIVE, "value"),
        prevent_initial_call=True,
    )(guard(PERMISSION)(change_users))
