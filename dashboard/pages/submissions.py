"""Submissions (ED data leads and analysts): for each ED and month, whether its file came, when and from
whom, how much of it loaded and how complete it is, with overdue months marked; each received month
links to that ED's monthly feedback report. Data leads see their own EDs; analysts see every ED."""
from __future__ import annotations

from datetime import date
from enum import StrEnum

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, dcc, html
from flask import request

from dashboard.auth import guard
from dashboard.components.grid import COUNT, column, data_grid
from dashboard.context import current_config, current_scope, current_store
from dashboard.exports import Export, audited_export, csv_response, require_export
from dashboard.url_state import HISTORY, from_query, parse_month, to_query
from data.access import disclosure
from data.store import queries_submissions as qsub
from data.store import queries_trends as qs
from data.store.filters import Filters

PATH, TITLE, PERMISSION = "/submissions", "Submissions", "view_quality"
CSV_PATH = "/download/submissions.csv"
REPORT_PATH = "/download/strategic/quality-report.html"  # the data-quality page's monthly feedback report
STATUS_CLASS = {"received": "table-success", "late": "table-warning", "overdue": "table-danger",
                "due": "table-light", "open": ""}
STATUS_MARK = {"received": "✓", "late": "✓ late", "overdue": "overdue", "due": "due", "open": "–"}


class Ids(StrEnum):
    FROM = "submissions-from"
    TO = "submissions-to"
    MATRIX = "submissions-matrix"
    GRID = "submissions-grid"
    CSV = "submissions-csv"
    NOTE = "submissions-note"


GRID_COLUMNS = [column("site", "ED", min_width=170, tooltipField="site"), column("month", "Month", min_width=90),
                column("status", "Status", min_width=120), column("due", "Due", min_width=100),
                column("first_loaded", "First received (UTC)", min_width=140), column("first_by", "By", min_width=120),
                column("files", "Files", COUNT, min_width=60), column("rows_read", "Rows sent", COUNT, min_width=85),
                column("quarantined_pct", "Quarantined %", COUNT, min_width=100),
                column("records", "Records now", COUNT, min_width=95),
                column("complete_pct", "All fields complete", COUNT, min_width=120)]


def today() -> date:
    return date.today()


def bounds(store, sites: tuple[str, ...], now: date) -> tuple[date, date, date, date]:
    """(first, last) months one may choose and the default (first, last) window: 12 months ending at the month
    after the last one received (never after this month), from the first month any file covers."""
    got = qsub.received(store, sites, date(1900, 1, 1), now)
    this = qs.month_start(now)
    if got.empty:
        return qs.add_months(this, -11), this, qs.add_months(this, -11), this
    first_any = qs.month_start(pd.Timestamp(got["month"].min()).date())
    last_any = qs.month_start(pd.Timestamp(got["month"].max()).date())
    end = min(qs.add_months(last_any, 1), this)
    return first_any, max(this, last_any), max(first_any, qs.add_months(end, -11)), end


def read_state(store, search: str, now: date):
    sites = tuple(qs.ed_sites(store)["site_code"])
    lo, hi, start, end = bounds(store, sites, now)
    f, notes = from_query(search, set(), Filters(start=start, end=qs.month_end(end)))
    notes = [n for n in notes if "borough" not in n]
    first = max(lo, qs.month_start(f.start or start))
    last = min(hi, qs.month_start(f.end or end))
    return (first, last, lo, hi, notes) if first <= last else (start, end, lo, hi, notes)


def layout(search: str = "") -> html.Div:
    store = current_store()
    first, last, lo, hi, notes = read_state(store, search, today())
    months = [{"label": f"{m:%b %Y}", "value": f"{m:%Y-%m}"} for m in qsub.months_of(lo, hi)]
    due_day = current_config().submission_due_day
    mine = current_scope().ed_sites is not None
    return html.Div([
        html.H1("Submissions", className="h4"),
        html.P([f"Each ED's monthly ISTV file: due on day {due_day} of the next month. A month is received when a "
                "loaded file's reporting period covers it; late when it came after its due day; overdue when it has not "
                "come and its due day has passed. Records now counts the month's records stored today (a "
                "re-submission replaces them). Choose a received month for its feedback report. ",
                dcc.Link("Upload a file", href="/upload"), "."], className="text-muted"),
        html.P("You see your own ED sites." if mine else "You see every ED site that has sent a file.",
               className="small"),
        dbc.Row([
            dbc.Col([dbc.Label("From", html_for=Ids.FROM),
                     dcc.Dropdown(id=Ids.FROM, options=months, value=f"{first:%Y-%m}", clearable=False)], md=2),
            dbc.Col([dbc.Label("To", html_for=Ids.TO),
                     dcc.Dropdown(id=Ids.TO, options=months, value=f"{last:%Y-%m}", clearable=False)], md=2),
            dbc.Col(html.A("Download CSV", id=Ids.CSV, href="#", className="btn btn-sm btn-outline-secondary mt-4"), md=2),
        ], className="g-3 mb-2"),
        html.Div([dbc.Alert(n, color="warning", className="py-1 mb-2") for n in notes], id=Ids.NOTE),
        html.Div(id=Ids.MATRIX, style={"overflowX": "auto"}, className="mb-3"),
        html.H2("Every ED and month", className="h6"),
        data_grid(Ids.GRID, GRID_COLUMNS, height="45vh", rowData=[]),
    ])


def _pct(part: int, whole: int, exact: bool) -> str:
    if not whole:
        return "–"
    if not exact and (disclosure.is_small(whole) or disclosure.is_small(part) or disclosure.is_small(whole - part)):
        return "*"
    return f"{100 * part / whole:.1f}%"


def display_rows(frame: pd.DataFrame, exact: bool) -> list[dict]:
    """The tracker as rows people read: every count through the disclosure rule."""
    out = []
    for r in frame.to_dict("records"):
        got = pd.notna(r["first_loaded"])
        out.append({"site": f"{r['name']} ({r['site_code']})", "site_code": r["site_code"], "month": f"{r['month']:%b %Y}",
                    "month_value": f"{r['month']:%Y-%m}", "status": qsub.STATUS_LABELS[r["status"]],
                    "status_key": r["status"], "due": f"{r['due']:%d %b %Y}",
                    "first_loaded": f"{pd.Timestamp(r['first_loaded']):%Y-%m-%d %H:%M}" if got else "",
                    "first_by": r["first_by"] or ("" if not got else "–"),
                    "files": disclosure.show(r["files"], True),
                    "rows_read": disclosure.show(r["rows_read"], exact) if got else None,
                    "quarantined_pct": _pct(r["rows_quarantined"], r["rows_read"], exact) if got else None,
                    "records": disclosure.show(r["records"], exact),
                    "complete_pct": _pct(r["all_complete"], r["records"], exact)})
    return out


def matrix(rows: list[dict], months: list[date]) -> dbc.Table:
    """EDs down, months across: each cell its status and records, a received month linking to its report."""
    by_site: dict[str, dict[str, dict]] = {}
    for r in rows:
        by_site.setdefault(r["site"], {})[r["month_value"]] = r
    head = html.Thead(html.Tr([html.Th("ED")] + [html.Th(f"{m:%b %y}", className="text-center") for m in months]))
    body = []
    for site, cells in by_site.items():
        tds = [html.Th(site, scope="row", className="text-nowrap")]
        for m in months:
            r = cells.get(f"{m:%Y-%m}")
            if r is None:
                tds.append(html.Td(""))
                continue
            key = r["status_key"]
            tip = (f"{r['status']}: first received {r['first_loaded']} by {r['first_by']}; {r['rows_read']} rows sent, "
                   f"{r['quarantined_pct']} quarantined; {r['records']} records, {r['complete_pct']} with every field"
                   if key in ("received", "late") else f"{r['status']} (due {r['due']})")
            text = [html.Div(STATUS_MARK[key]), html.Div(str(r["records"]), className="small text-muted")] \
                if key in ("received", "late") else STATUS_MARK[key]
            content = (html.A(text, href=f"{REPORT_PATH}?site={r['site_code']}&month={r['month_value']}", target="_blank",
                              className="text-reset text-decoration-none", **{"aria-label": f"{site} {r['month']}: {tip}"})
                       if key in ("received", "late") else text)
            tds.append(html.Td(content, title=tip, className=f"text-center small {STATUS_CLASS[key]}", style={"minWidth": "4.5rem"},
                               **{"data-status": key, "data-site": r["site_code"], "data-month": r["month_value"]}))
        body.append(html.Tr(tds))
    return dbc.Table([head, html.Tbody(body)], bordered=True, size="sm", className="mb-0", id="submissions-table",
                     style={"width": "auto", "minWidth": "40%"})


def _view(store, first: date, last: date, now: date):
    sites = qs.ed_sites(store)
    own = store.exact_for_sites(tuple(sites["site_code"]))
    frame = qsub.tracker(own, sites, first, last, now, current_config().submission_due_day)
    return frame, own.scope.exact


def update(start, end):
    """Callback body: months in → the matrix, the grid rows, the CSV link and the page's URL."""
    store = current_store()
    months = sorted(m for m in (parse_month(start), parse_month(end)) if m is not None)
    now = today()
    first, last, lo, hi, _ = read_state(store, "", now)
    if months:
        first, last = max(lo, months[0]), min(hi, months[-1])
    frame, exact = _view(store, first, last, now)
    rows = display_rows(frame, exact)
    query = to_query(Filters(start=first, end=qs.month_end(last)))
    if not rows:
        return html.P("No ED site has sent a file yet.", className="text-muted", id="submissions-empty"), [], "#", query
    return matrix(rows, qsub.months_of(first, last)), rows, CSV_PATH + query, query


def register_callbacks(app) -> None:
    app.callback(Output(Ids.MATRIX, "children"), Output(Ids.GRID, "rowData"), Output(Ids.CSV, "href"),
                 Output(HISTORY, "data", allow_duplicate=True),
                 Input(Ids.FROM, "value"), Input(Ids.TO, "value"),
                 prevent_initial_call="initial_duplicate")(guard(PERMISSION)(update))


def register_routes(server) -> None:
    @server.route(CSV_PATH)
    def submissions_csv():
        require_export("submissions", PERMISSION)  # before any query; refusals are audited
        store = current_store()
        first, last, *_ = read_state(store, request.query_string.decode("utf-8", "replace"), today())
        frame, exact = _view(store, first, last, today())
        rows = pd.DataFrame(display_rows(frame, exact)).drop(columns=["site_code", "month_value", "status_key"],
                                                             errors="ignore")
        out = audited_export("submissions", rows, Filters(start=first, end=qs.month_end(last)),
                             Export(query=None), {}, exact=exact)
        return csv_response(out, "istv-submissions.csv",
                            [f"# ISTV London ED submissions, {first:%b %Y} to {last:%b %Y}; a month's file is due on day "
                             f"{current_config().submission_due_day} of the next month."])
