"""Loads (analysts): every file loaded, what it read, kept and refused, and the quarantined rows by file and reason."""
from __future__ import annotations

from enum import StrEnum
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, dcc, html
from flask import request

from dashboard.auth import guard
from dashboard.components.grid import COUNT, column, data_grid
from dashboard.context import current_store
from dashboard.exports import Export, audited_export, csv_response, require_export
from data.store import queries_loads
from data.store.filters import Filters

PATH, TITLE, PERMISSION = "/loads", "Loads", "load_data"
CSV_PATH = "/download/quarantine.csv"
SHOWN_ROWS = 5000


class Ids(StrEnum):
    LOG = "loads-log"
    FILE = "loads-file"
    RULE = "loads-rule"
    SUMMARY = "loads-summary"
    QUARANTINE = "loads-quarantine"
    CSV = "loads-csv"


LOG_COLUMNS = [column("loaded_at", "Loaded (UTC)", min_width=140), column("kind", "Kind", min_width=70),
               column("file", "File", min_width=200, width=260, tooltipField="file"),
               column("site_code", "ED site", min_width=70), column("period", "Period", min_width=150),
               column("rows_read", "Read", COUNT), column("rows_loaded", "Loaded", COUNT),
               column("rows_quarantined", "Quarantined", COUNT, min_width=90), column("share", "Quarantined %", COUNT, min_width=95),
               column("duplicates", "Duplicates", COUNT, min_width=85), column("replaced", "Replaced", COUNT, min_width=80)]
QUARANTINE_COLUMNS = [column("file", "File", min_width=160, tooltipField="file"), column("line", "Line", COUNT, min_width=60),
                      column("column_name", "Column", min_width=120), column("value", "Value", min_width=120, tooltipField="value"),
                      column("rule", "Rule broken", min_width=220, width=300, tooltipField="rule"),
                      column("record", "The whole row", min_width=260, width=400, tooltipField="record")]


def file_key(load_id, file) -> str:
    return f"{int(load_id)}|{file}"


def parse_file_key(key) -> tuple[int | None, str | None]:
    """(load_id, file) from a dropdown value like '12|jan.csv'; (None, None) for anything else."""
    try:
        load_id, file = str(key).split("|", 1)
        return int(load_id), file
    except (ValueError, TypeError):
        return None, None


def log_rows(log: pd.DataFrame) -> list[dict]:
    """The load log as grid rows: the period an ED submission covers, and its quarantined share."""
    out = []
    for r in log.to_dict("records"):
        start, end = r.get("period_start"), r.get("period_end")
        read = r.get("rows_read") or 0
        out.append({**{k: (None if pd.isna(v) else v) for k, v in r.items() if k not in ("period_start", "period_end", "message")},
                    "loaded_at": f"{pd.Timestamp(r['loaded_at']):%Y-%m-%d %H:%M}" if pd.notna(r.get("loaded_at")) else "",
                    "period": f"{pd.Timestamp(start):%d %b %Y} to {pd.Timestamp(end):%d %b %Y}" if pd.notna(start) and pd.notna(end) else "",
                    "share": f"{100 * (r.get('rows_quarantined') or 0) / read:.1f}%" if read else "–"})
    return out


def layout(search: str = "") -> html.Div:
    store = current_store()
    log = queries_loads.load_log(store)
    files = [{"label": f"{f} (load {i}, {q:,} quarantined)", "value": file_key(i, f)}
             for i, f, q in zip(log["load_id"], log["file"], log["rows_quarantined"]) if q]
    reasons = queries_loads.quarantine_reasons(store)
    return html.Div([
        html.H1("Loads", className="h4"),
        html.P("Every file loaded, newest first: rows read, loaded, quarantined (broke a rule of the data standard), "
               "skipped as duplicates and replaced by a re-submission. Read = loaded + quarantined + duplicates. "
               "Below, the quarantined rows themselves, by file and rule, to fix at source and load again.",
               className="text-muted"),
        html.P("No file has been loaded into this database (a demo database is built, not loaded): "
               "see docs/data-loading.md.", className="alert alert-info py-1", id="loads-empty") if log.empty else None,
        data_grid(Ids.LOG, LOG_COLUMNS, height="40vh", rowData=log_rows(log)),
        html.H3("Quarantined rows", className="h5 mt-4"),
        dbc.Row([
            dbc.Col([dbc.Label("File", html_for=Ids.FILE), dcc.Dropdown(id=Ids.FILE, options=files, placeholder="every file")], md=5),
            dbc.Col([dbc.Label("Rule broken", html_for=Ids.RULE),
                     dcc.Dropdown(id=Ids.RULE, options=[{"label": f"{r} ({n:,})", "value": r}
                                                        for r, n in zip(reasons["rule"], reasons["rows"])],
                                  placeholder="every rule")], md=5),
            dbc.Col(html.A("Download CSV", id=Ids.CSV, href=CSV_PATH, className="btn btn-sm btn-outline-secondary mt-4"), md=2),
        ], className="g-2 mb-2"),
        html.Div(id=Ids.SUMMARY, className="small text-muted mb-1"),
        data_grid(Ids.QUARANTINE, QUARANTINE_COLUMNS, height="45vh", rowData=[]),
    ])


def quarantine_view(file, rule):
    """Callback body: the quarantined rows of the chosen file and rule, a count, and the CSV link."""
    load_id, name = parse_file_key(file) if file else (None, None)
    rows = queries_loads.quarantine_rows(current_store(), load_id, rule or None, name, limit=SHOWN_ROWS)
    query = urlencode({k: v for k, v in (("file", file), ("rule", rule)) if v})
    n = len(rows)
    text = (f"{n:,} quarantined rows" if n < SHOWN_ROWS else f"the first {SHOWN_ROWS:,} quarantined rows (download for all)")
    return rows.to_dict("records"), text, CSV_PATH + ("?" + query if query else "")


def register_callbacks(app) -> None:
    app.callback(Output(Ids.QUARANTINE, "rowData"), Output(Ids.SUMMARY, "children"), Output(Ids.CSV, "href"),
                 Input(Ids.FILE, "value"), Input(Ids.RULE, "value"))(guard(PERMISSION)(quarantine_view))


def register_routes(server) -> None:
    @server.route(CSV_PATH)
    def quarantine_csv():
        require_export("quarantine", PERMISSION, record_level=True)  # whole input rows: before any query
        load_id, name = parse_file_key(request.args.get("file")) if request.args.get("file") else (None, None)
        rule = request.args.get("rule") or None
        rows = queries_loads.quarantine_rows(current_store(), load_id, rule, name, limit=10_000_000)
        out = audited_export("quarantine", rows, Filters(), Export(None, record_level=True, permission=PERMISSION),
                             {"file": request.args.get("file", ""), "rule": rule or ""})
        return csv_response(out, "istv-quarantine.csv")
