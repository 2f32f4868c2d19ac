"""Admin: the audit log — sign-ins, failures, lock-outs, exports and user changes (read-only)."""
from __future__ import annotations

import json
from enum import StrEnum

import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from dashboard.auth import guard, users

PATH, TITLE, PERMISSION = "/admin/audit", "Audit", "view_audit"
ACTIONS = ("sign_in", "sign_in_failed", "lockout", "sign_out", "export", "export_refused", "user_added", "user_changed")


class Ids(StrEnum):
    ACTION = "audit-action"
    USER = "audit-user"
    TABLE = "audit-table"


def layout(search: str = "") -> html.Div:
    return html.Div([
        html.H2("Audit log", className="h4"),
        html.P("Every sign-in, failed sign-in, lock-out, export (who, what, filters, rows) and user change, newest "
               "first. The log is append-only: nobody, admins included, can change or delete an entry.",
               className="text-muted"),
        dbc.Row([
            dbc.Col(dcc.Dropdown(id=Ids.ACTION, options=list(ACTIONS), placeholder="all actions"), md=3),
            dbc.Col(dbc.Input(id=Ids.USER, placeholder="username", debounce=True), md=3),
        ], className="g-2 mb-2"),
        html.Div(id=Ids.TABLE),
    ])


def audit_table(action: str | None, username: str | None) -> dbc.Table:
    events = users().events(limit=500, action=action or None, username=(username or "").strip() or None)
    head = html.Thead(html.Tr([html.Th(h) for h in ("When (UTC)", "User", "IP", "Action", "Rows", "Detail")]))
    body = html.Tbody([html.Tr([html.Td(f"{e.at:%Y-%m-%d %H:%M:%S}"), html.Td(e.username), html.Td(e.ip),
                                html.Td(e.action), html.Td("" if e.rows is None else e.rows),
                                html.Td(html.Code(json.dumps(json.loads(e.detail))[:300]))]) for e in events])
    return dbc.Table([head, body], size="sm", striped=True, id="audit-list")


def register_callbacks(app) -> None:
    app.callback(Output(Ids.TABLE, "children"), Input(Ids.ACTION, "value"), Input(Ids.USER, "value"))(
        guard(PERMISSION)(audit_table))
