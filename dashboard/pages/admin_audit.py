"""Admin: the audit log — sign-ins, failures, lock-outs, exports and user changes (read-only)."""
from __future__ import annotations

import json
from enum import StrEnum

import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from dashboard.auth import guard, users
from dashboard.components.grid import COUNT, column, data_grid

PATH, TITLE, PERMISSION = "/admin/audit", "Audit", "view_audit"
ACTIONS = ("sign_in", "sign_in_failed", "lockout", "sign_out", "export", "export_refused", "user_added", "user_changed")


class Ids(StrEnum):
    ACTION = "audit-action"
    USER = "audit-user"
    TABLE = "audit-table"


def layout(search: str = "") -> html.Div:
    return html.Div([
        html.H1("Audit log", className="h4"),
        html.P("Every sign-in, failed sign-in, lock-out, export (who, what, filters, rows) and user change, newest "
               "first. The log is append-only: nobody, admins included, can change or delete an entry.",
               className="text-muted"),
        dbc.Row([
            dbc.Col(dcc.Dropdown(id=Ids.ACTION, options=list(ACTIONS), placeholder="all actions"), md=3),
            dbc.Col(dbc.Input(id=Ids.USER, placeholder="username", debounce=True), md=3),
        ], className="g-2 mb-2"),
        html.Div(id=Ids.TABLE),
    ])


AUDIT_COLUMNS = [column("at", "When (UTC)", min_width=150), column("username", "User", min_width=90),
                 column("ip", "IP", min_width=100), column("action", "Action", min_width=110),
                 column("rows", "Rows", COUNT, min_width=70),
                 column("detail", "Detail", min_width=300, tooltipField="detail", flex=3)]


def audit_rows(action: str | None, username: str | None) -> list[dict]:
    """The newest 500 audit events (optionally of one action or user) as grid rows."""
    events = users().events(limit=500, action=action or None, username=(username or "").strip() or None)
    return [{"at": f"{e.at:%Y-%m-%d %H:%M:%S}", "username": e.username, "ip": e.ip, "action": e.action,
             "rows": e.rows, "detail": json.dumps(json.loads(e.detail))[:300]} for e in events]


def audit_table(action: str | None, username: str | None):
    """Callback body: the audit grid for the chosen action and user."""
    return data_grid("audit-list", AUDIT_COLUMNS, height="65vh", rowData=audit_rows(action, username))


def register_callbacks(app) -> None:
    app.callback(Output(Ids.TABLE, "children"), Input(Ids.ACTION, "value"), Input(Ids.USER, "value"))(
        guard(PERMISSION)(audit_table))
