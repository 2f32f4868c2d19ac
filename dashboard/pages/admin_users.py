"""Admin: users — add, disable, reset password, set role and boroughs. Every change is audited."""
from __future__ import annotations

from enum import StrEnum

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html
from flask_login import current_user

from dashboard.auth import guard, users
from dashboard.components.grid import column, data_grid
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


USER_COLUMNS = {"username": "Username", "role": "Role", "boroughs": "Boroughs", "ed_sites": "ED sites",
                "active": "Active", "demo": "Demo", "last_login": "Last sign-in"}


def user_rows() -> list[dict]:
    """One row per user as the grid shows it."""
    return [{"username": u.username, "role": u.role, "boroughs": u.boroughs or "all", "ed_sites": u.ed_sites or "–",
             "active": "yes" if u.active else "disabled", "demo": "demo" if u.is_demo else "",
             "last_login": f"{u.last_login:%Y-%m-%d %H:%M}" if u.last_login else "never"} for u in users().list()]


def users_grid():
    return data_grid("users-list", [column(k, v, min_width=90) for k, v in USER_COLUMNS.items()],
                     row_id="username", rowData=user_rows())


def layout(search: str = "") -> html.Div:
    store = current_store()
    boroughs = queries.boroughs(store)
    sites = store.df("SELECT site_code, name FROM ed_sites ORDER BY name")
    return html.Div([
        html.H1("Users", className="h4"),
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
        html.Div(users_grid(), id=Ids.TABLE),
    ])


def change_users(add_clicks, save_clicks, name, password, role, boroughs, sites, active, trigger: str | None = None):
    """Callback body: add or update a user; returns (message, table)."""
    trigger = trigger or ctx.triggered_id
    if not trigger or not name:
        return (dbc.Alert("Type a username.", color="warning") if trigger else None), users_grid()
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
        return dbc.Alert(str(exc), color="danger"), users_grid()
    return dbc.Alert(message, color="success"), users_grid()


def register_callbacks(app) -> None:
    app.callback(
        Output(Ids.MESSAGE, "children"), Output(Ids.TABLE, "children"),
        Input(Ids.ADD, "n_clicks"), Input(Ids.SAVE, "n_clicks"),
        State(Ids.NAME, "value"), State(Ids.PASSWORD, "value"), State(Ids.ROLE, "value"),
        State(Ids.BOROUGHS, "value"), State(Ids.SITES, "value"), State(Ids.ACTIVE, "value"),
        prevent_initial_call=True,
    )(guard(PERMISSION)(change_users))
