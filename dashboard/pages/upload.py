"""Upload (ED data leads for their own sites, analysts for any): send a monthly ED file, see it checked
against the data standard before anything is written, then load it, with a receipt.

The file travels by a plain POST (`/upload/ed`, assets/upload.js shows the transfer's progress), is kept
in the upload folder and checked on a background thread (data/ingest/jobs.py); this page polls the job.
"Load" loads it through the CLI's loader, atomically; one load at a time. Every step is audited.
"""
from __future__ import annotations

import hmac
import io
from datetime import date
from enum import StrEnum

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html, no_update
from flask import abort, jsonify, request, session
from flask_login import current_user

from dashboard.auth import audit_denial, client_ip, csrf_token, guard, users
from dashboard.components.grid import COUNT, column, data_grid
from dashboard.context import current_config, current_scope, current_store
from dashboard.exports import csv_response, require_export
from data.ingest import jobs as uploads
from data.ingest.submission import SUFFIXES
from data.store import queries
from data.store import queries_trends as qs

PATH, TITLE, PERMISSION = "/upload", "Upload", "submit_data"
POST_PATH = "/upload/ed"
PROBLEMS_PATH = "/download/upload-problems.csv"
SHOWN_PROBLEMS = 2000
POLL_MS = 500


class Ids(StrEnum):
    FORM = "upload-form"
    FILE = "upload-file"
    MONTH = "upload-month"
    KIND = "upload-kind"
    CHECK = "upload-check"
    TRANSFER = "upload-transfer"
    JOB = "upload-job"
    POLL = "upload-poll"
    STATUS = "upload-status"
    SUMMARY = "upload-summary"
    PROBLEMS = "upload-problems"
    PROBLEMS_BOX = "upload-problems-box"
    PROBLEMS_CSV = "upload-problems-csv"
    LOAD = "upload-load"
    RECEIPT = "upload-receipt"
    NIL_SITE = "upload-nil-site"
    NIL_MONTH = "upload-nil-month"
    NIL = "upload-nil"


PROBLEM_COLUMNS = [column("line", "Line", COUNT, min_width=60), column("column", "Field", min_width=150),
                   column("value", "Value", min_width=120, tooltipField="value"),
                   column("rule", "Rule broken", min_width=220, width=280, tooltipField="rule"),
                   column("how_to_fix", "How to fix", min_width=260, width=380, tooltipField="how_to_fix", wrapText=True,
                          autoHeight=True)]


def jobs() -> uploads.Jobs:
    return uploads.Jobs(current_config().uploads_path)


def _sites_allowed() -> list[str] | None:
    """The sites the signed-in user may submit for: their own ED sites, or any (None) without a site scope."""
    sites = current_scope().ed_sites
    return None if sites is None else list(sites)


def _kinds() -> list[tuple[str, str]]:
    """(value, label) of the kinds of file the user may send: ED submissions, and, without an ED-site scope,
    each registered extra source (another agency's incidents)."""
    kinds = [("", "ED submission (ISTV)")]
    if current_scope().ed_sites is None:
        extra = queries.extra_sources(current_store())
        kinds += [(c, f"{n} ({a})") for c, n, a in zip(extra["source"], extra["name"], extra["agency"])]
    return kinds


def _is_demo() -> bool:
    return bool(current_store().df("SELECT count(*) AS n FROM meta WHERE key = 'demo' AND value = '1'")["n"].iat[0])


def _month_options(today: date) -> list[dict]:
    months = [qs.add_months(today.replace(day=1), -i) for i in range(0, 25)]
    return [{"label": "The month the file says (its reporting period)", "value": ""}] + [
        {"label": f"{m:%B %Y}", "value": f"{m:%Y-%m}"} for m in months]


def layout(search: str = "") -> html.Div:
    config = current_config()
    sites = _sites_allowed()
    names = dict(zip(*qs.ed_sites(current_store())[["site_code", "name"]].to_numpy().T)) if sites else {}
    who = ("You may upload files of " + ", ".join(f"{names.get(s, s)} ({s})" for s in sites) + "."
           if sites else "You may upload any ED site's files." if sites is None else
           "Your account has no ED site: ask an administrator to add yours.")
    demo = _is_demo()
    kinds = _kinds()
    return html.Div([
        html.H1("Upload an ED submission", className="h4"),
        html.P(["Send an Emergency Department's monthly ISTV file (CSV or XML, as on the ",
                dcc.Link("Data standard", href="/standard"), " page). It is checked first and nothing is written until "
                "you press Load. Rows that break the standard are listed with how to fix them; fix them in the ED "
                "system and send the file again. Sending a month again replaces its records by record_id. See every "
                "month's file on the ", dcc.Link("Submissions", href="/submissions"), " page."], className="text-muted"),
        html.P(who, id="upload-who", className="small"),
        dbc.Alert("This is the synthetic demo database: files are checked here, but loading is refused (real files "
                  "are never mixed into the demo). A deployment loads into its own database.", color="info",
                  className="py-2", id="upload-demo") if demo else None,
        html.Div([
            dbc.Row([
                dbc.Col([dbc.Label("File (CSV or XML)", html_for=Ids.FILE),
                         dcc.Upload(html.Div([html.Span("Drop the file here or "), html.U("choose it"),
                                              html.Div("No file chosen", id="upload-chosen", className="small text-muted")]),
                                    id=Ids.FILE, accept=",".join(SUFFIXES), multiple=False,
                                    className="border border-2 rounded p-2 text-center", style={"borderStyle": "dashed",
                                                                                             "cursor": "pointer"})], md=4),
                dbc.Col([dbc.Label("Kind of file", html_for=Ids.KIND),
                         html.Select([html.Option(label, value=value) for value, label in kinds],
                                     id=Ids.KIND, className="form-select")], md=3,
                        style=None if len(kinds) > 1 else {"display": "none"}),
                dbc.Col([dbc.Label("Month it covers", html_for=Ids.MONTH),
                         html.Select([html.Option(o["label"], value=o["value"]) for o in _month_options(date.today())],
                                     id=Ids.MONTH, className="form-select")], md=3),
                dbc.Col(html.Button("Check file", id=Ids.CHECK, type="button", className="btn btn-primary mt-4"), md=2),
            ], className="g-3"),
            html.Div(id=Ids.TRANSFER, className="mt-2", **{"aria-live": "polite"}),
        ], id=Ids.FORM, className="card card-body mb-3",
            **{"data-post": POST_PATH, "data-csrf": csrf_token(), "data-max": str(config.upload_max_bytes)}),
        dcc.Store(id=Ids.JOB, data=None),
        dcc.Interval(id=Ids.POLL, interval=POLL_MS, disabled=True),
        html.Div(id=Ids.STATUS, **{"aria-live": "polite"}),
        html.Div(id=Ids.SUMMARY),
        html.Div([
            html.Div([html.H2("Problems, row by row", className="h6 me-3 mb-0"),
                      html.A("Download problems (CSV)", id=Ids.PROBLEMS_CSV, href="#",
                             className="btn btn-sm btn-outline-secondary")],
                     className="d-flex align-items-center mt-3 mb-1"),
            data_grid(Ids.PROBLEMS, PROBLEM_COLUMNS, height="40vh", rowData=[]),
        ], id=Ids.PROBLEMS_BOX, style={"display": "none"}),
        html.Div([html.Button("Load", id=Ids.LOAD, type="button", className="btn btn-success mt-3", disabled=True)],
                 id="upload-load-box", style={"display": "none"}),
        html.Div(id=Ids.RECEIPT, className="mt-3", **{"aria-live": "polite"}),
        _nil_form(),
    ], id="upload-page")


def _nil_sites() -> list[dict]:
    """The ED sites the user may send a nil return for: their own, or every known ED site."""
    sites = qs.ed_sites(current_store())
    mine = _sites_allowed()
    known = [{"label": f"{n} ({c})", "value": c} for c, n in zip(sites["site_code"], sites["name"])
             if mine is None or c in mine]
    return known + [{"label": c, "value": c} for c in (mine or []) if c not in set(sites["site_code"])]


def _nil_form() -> dbc.Card:
    months = [o for o in _month_options(date.today()) if o["value"]]
    sites = _nil_sites()
    return dbc.Card(dbc.CardBody([
        html.H2("No assaults this month?", className="h6"),
        html.P("An ED with no assault attendance in a month sends a nil return instead of a file, so the month "
               "is not counted as overdue. It is refused if the month already holds records of the site.",
               className="small text-muted mb-2"),
        dbc.Row([
            dbc.Col(dcc.Dropdown(id=Ids.NIL_SITE, options=sites, value=sites[0]["value"] if len(sites) == 1 else None,
                                 placeholder="ED site", clearable=False), md=5),
            dbc.Col(dcc.Dropdown(id=Ids.NIL_MONTH, options=months, value=months[1]["value"] if len(months) > 1 else None,
                                 clearable=False), md=3),
            dbc.Col(html.Button("Record a nil return", id=Ids.NIL, type="button", className="btn btn-outline-primary"),
                    md=4),
        ], className="g-2"),
    ]), className="mt-4", id="upload-nil-card")


# ---- what the page shows for a job --------------------------------------------------------------

def _n(value) -> str:
    return f"{int(value or 0):,}"


def _progress(job: uploads.Job) -> html.Div:
    pct = int(round(100 * job.fraction))
    label = {"checking": "Checking", "loading": "Loading", "waiting": "Waiting"}.get(job.state, job.state)
    return html.Div([
        html.Div(f"{label} {job.name}: {job.stage}", className="small mb-1", id="upload-stage"),
        dbc.Progress(value=max(pct, 3), label=f"{pct} %", striped=True, animated=True, id="upload-progress",
                     style={"height": "1.25rem"}),
    ], className="mb-2")


def _summary(job: uploads.Job) -> dbc.Card:
    s = job.summary
    period = (f"{date.fromisoformat(s['period_start']):%d %b %Y} to {date.fromisoformat(s['period_end']):%d %b %Y}"
              if s.get("period_start") and s.get("period_end") else "–")
    first = ("Source", job.source) if job.source else ("Site", s.get("site") or "–")
    items = [first, ("Reporting period", period), ("Rows read", _n(s.get("rows_read"))),
             ("Rows that can be loaded", _n(s.get("rows_ok"))), ("Rows with problems", _n(s.get("rows_quarantined"))),
             ("Exact repeats", _n(s.get("duplicates")))]
    reasons = sorted((s.get("reasons") or {}).items(), key=lambda kv: (-kv[1], kv[0]))
    return dbc.Card(dbc.CardBody([
        html.H2(f"Checked: {job.name}", className="h6"),
        dbc.Row([dbc.Col([html.Div(k, className="small text-muted"), html.Div(v, className="fw-bold", id=f"upload-sum-{i}")],
                         md=2) for i, (k, v) in enumerate(items)], className="g-2 mb-2"),
        html.Ul([html.Li(f"{n:,} row(s): {rule}") for rule, n in reasons], className="small mb-1", id="upload-reasons")
        if reasons else html.P("Every row meets the data standard.", className="small mb-1 text-success"),
        html.Ul([html.Li(w) for w in s.get("warnings", [])] + [html.Li(n, className="text-muted") for n in s.get("notes", [])],
                className="small mb-0"),
    ]), className="mb-2", id="upload-summary-card")


def _receipt(job: uploads.Job) -> dbc.Alert:
    r = job.receipt
    if r.get("nil"):
        return dbc.Alert([html.H2("Nil return recorded", className="h6"),
                          html.P(f"{r['site']}, {date.fromisoformat(r['period_start']):%B %Y}: received, with no assault "
                                 "attendances. The month shows as received on the Submissions page; this receipt is kept "
                                 "in the audit log.", id="upload-receipt-text", className="mb-0")], color="success")
    return dbc.Alert([
        html.H2("Loaded", className="h6"),
        html.P(f"{r['file']} ({r.get('source') or r.get('site') or '–'}"
               + (f", {r.get('period_start')} to {r.get('period_end')}" if r.get("period_start") else "") + "): "
               f"{_n(r['rows_loaded'])} rows loaded, {_n(r['rows_quarantined'])} quarantined, "
               f"{_n(r['replaced'])} replaced an earlier submission's record, {_n(r['duplicates'])} were already loaded.",
               id="upload-receipt-text", className="mb-1"),
        html.P(["The month is on the ", dcc.Link("Submissions", href="/submissions"), " page and its records on the ",
                dcc.Link("Map", href="/"), ". This receipt is kept in the audit log."], className="small mb-0"),
    ], color="success")


def job_view(n, job_id):
    """Callback body: the job's progress, summary, problems and Load button, polled while it runs.

    Outputs: status, summary, problems rows, problems box style, CSV link, Load disabled and label, Load box style,
    receipt, polling disabled."""
    job = jobs().get(job_id, current_user.id) if job_id else None
    if job is None:
        hidden = {"display": "none"}
        return (None if not job_id else dbc.Alert("That upload is not yours or has expired; send the file again.",
                                                  color="warning"),
                None, [], hidden, "#", True, "Load", hidden, None, True)
    shown, hidden = {"display": "block"}, {"display": "none"}
    status = _progress(job) if job.running else None
    if job.state in ("refused", "failed"):
        status = dbc.Alert([html.Strong("Refused: " if job.state == "refused" else "Not loaded: "), job.message],
                           color="danger", id="upload-refused")
    summary = _summary(job) if job.summary else None
    problems = jobs().problems(job, SHOWN_PROBLEMS) if job.summary else None
    rows = [] if problems is None else problems.to_dict("records")
    loadable = job.state == "checked" and int(job.summary.get("rows_ok") or 0) > 0 and not _is_demo()
    receipt = _receipt(job) if job.state == "loaded" else None
    ok, bad = int(job.summary.get("rows_ok") or 0), int(job.summary.get("rows_quarantined") or 0)
    label = f"Load {ok:,} rows" + (f" ({bad:,} with problems stay out; send them again when fixed)" if bad else "")
    return (status, summary, rows, shown if rows else hidden, f"{PROBLEMS_PATH}?job={job.id}", not loadable, label,
            shown if job.state in ("checked", "loading", "waiting") else hidden, receipt, not job.running)


def start_load(n_clicks, job_id):
    """Callback body: load a checked upload (its owner only); the poll then follows it."""
    if not n_clicks or not job_id:
        return no_update, no_update
    store = jobs()
    job = store.get(job_id, current_user.id)
    config = current_config()
    if job is None or job.state != "checked" or not int(job.summary.get("rows_ok") or 0):
        return no_update, no_update
    if _is_demo():
        users().audit("upload_refused", current_user.username, client_ip(), {"file": job.name, "why": "demo database"})
        return False, True
    who, ip, audit = current_user.username, client_ip(), users()

    def done(finished: uploads.Job) -> None:
        action = "upload_loaded" if finished.state == "loaded" else "upload_failed"
        audit.audit(action, who, ip, finished.receipt or {"file": finished.name, "why": finished.message},
                    rows=(finished.receipt or {}).get("rows_loaded"))
    job.state = "loading"
    store.save(job)
    uploads.start(uploads.run_load, store, job, config.db_path, config.upload_max_bytes,
                  max_distance_m=config.block_max_m, on_done=done)
    return False, True


def nil_return(n_clicks, site, month):
    """Callback body: record a nil return for an ED site the user may send for; the poll follows it."""
    if not n_clicks:
        return no_update
    allowed = {o["value"] for o in _nil_sites()}
    first = _month(str(month or ""))
    if site not in allowed or first is None:
        users().audit("upload_refused", current_user.username, client_ip(),
                      {"file": "nil return", "site": str(site)[:20], "why": "not a site or month the user may send"})
        return no_update
    if _is_demo():
        return no_update
    config, spool = current_config(), jobs()
    job = spool.create(current_user.id, current_user.username, "nil-return.csv", io.BytesIO(b""), 0,
                       _sites_allowed(), f"{first:%Y-%m}")
    job.name = f"nil return {site} {first:%Y-%m}"
    who, ip, audit = current_user.username, client_ip(), users()

    def done(finished: uploads.Job) -> None:
        audit.audit("upload_loaded" if finished.state == "loaded" else "upload_failed", who, ip,
                    finished.receipt or {"file": finished.name, "why": finished.message}, rows=0)
    uploads.start(uploads.run_nil_return, spool, job, config.db_path, site, first, on_done=done)
    return job.id


def register_callbacks(app) -> None:
    app.callback(Output(Ids.JOB, "data", allow_duplicate=True), Input(Ids.NIL, "n_clicks"),
                 State(Ids.NIL_SITE, "value"), State(Ids.NIL_MONTH, "value"),
                 prevent_initial_call=True)(guard(PERMISSION)(nil_return))
    app.callback(Output(Ids.STATUS, "children"), Output(Ids.SUMMARY, "children"), Output(Ids.PROBLEMS, "rowData"),
                 Output(Ids.PROBLEMS_BOX, "style"), Output(Ids.PROBLEMS_CSV, "href"), Output(Ids.LOAD, "disabled"),
                 Output(Ids.LOAD, "children"),
                 Output("upload-load-box", "style"), Output(Ids.RECEIPT, "children"), Output(Ids.POLL, "disabled"),
                 Input(Ids.POLL, "n_intervals"), Input(Ids.JOB, "data"))(guard(PERMISSION)(job_view))
    app.callback(Output(Ids.POLL, "disabled", allow_duplicate=True), Output(Ids.LOAD, "disabled", allow_duplicate=True),
                 Input(Ids.LOAD, "n_clicks"), State(Ids.JOB, "data"),
                 prevent_initial_call=True)(guard(PERMISSION)(start_load))


# ---- the file's way in, and the problems as CSV -------------------------------------------------

def _refuse(status: int, message: str, **detail):
    audit_denial(status, "upload", **detail)
    return jsonify(error=message), status


def register_routes(server) -> None:
    @server.route(POST_PATH, methods=["POST"])
    def upload_ed():
        config = current_config()
        if not current_user.is_authenticated:
            return _refuse(401, "Sign in again: your session ended.")
        if not current_user.can(PERMISSION):
            return _refuse(403, "Your role may not upload files.", role=current_user.role)
        sent = request.headers.get("X-CSRF-Token", "")
        if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
            return _refuse(400, "The page is out of date: reload it and send the file again.")
        request.max_content_length = config.upload_max_bytes + 256 * 1024
        length = request.content_length or 0
        if length > request.max_content_length:
            return _refuse(413, f"The file is larger than the {config.upload_max_mb:g} MB limit; send the month in "
                                "parts or ask an analyst to load it.", bytes=length)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return jsonify(error="Choose a file to send."), 400
        month = request.form.get("month", "")
        source = request.form.get("kind", "") or None
        if source is not None and source not in {k for k, _ in _kinds()}:
            return _refuse(403, "You may not send files of that kind (an extra source must be registered, and ED data "
                                "leads send their ED's files only).", kind=source[:40])
        if month and _month(month) is None:
            return jsonify(error=f"Month {month[:20]!r}: expected a month like 2025-03."), 400
        store = jobs()
        job = store.create(current_user.id, current_user.username, upload.filename, upload.stream,
                           config.upload_max_bytes, _sites_allowed(), None if source else (month or None), source)
        who, ip, audit = current_user.username, client_ip(), users()
        audit.audit("upload_received", who, ip, {"file": job.name, "bytes": job.size, "month": month or None})

        def done(finished: uploads.Job) -> None:
            detail = {**finished.summary, "reasons": finished.summary.get("reasons")}
            audit.audit("upload_refused" if finished.state == "refused" else "upload_checked", who, ip, detail,
                        rows=finished.summary.get("rows_read"))
        uploads.start(uploads.run_check, store, job, config.upload_max_bytes, on_done=done)
        return jsonify(job=job.id, name=job.name, bytes=job.size)

    @server.route(PROBLEMS_PATH)
    def upload_problems():
        require_export("upload-problems", PERMISSION)  # before anything is read; refusals are audited
        job = jobs().get(request.args.get("job", ""), current_user.id)
        if job is None:
            audit_denial(404, "upload-problems", job=request.args.get("job", "")[:40])
            abort(404, description="That upload is not yours or has expired.")
        frame = jobs().problems(job).rename(columns={"line": "Line", "column": "Field", "value": "Value",
                                                     "rule": "Rule broken", "how_to_fix": "How to fix"})
        users().audit("export", current_user.username, client_ip(), {"export": "upload-problems", "file": job.name},
                      rows=len(frame))
        return csv_response(frame, f"problems-{job.name.rsplit('.', 1)[0]}.csv",
                            [f"# Rows of {job.name} that break the ISTV data standard, with how to fix each."])


def _month(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:7] + "-01") if len(text) == 7 else None
    except ValueError:
        return None
