"""Data-quality page (ED leads): per ED and month, how complete, geocodable and timely the ISTV
submissions are, a league table across EDs and the printable monthly feedback report per ED."""
from __future__ import annotations

from datetime import date
from enum import StrEnum

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, dcc, html
from flask import Response, abort, request

from dashboard import figures_strategic as fs
from dashboard import reports_quality as rq
from dashboard.auth import guard
from dashboard.components.grid import COUNT, column, data_grid
from dashboard.components.filters import month_options
from dashboard.context import current_config, current_scope, current_store
from dashboard.static_charts import pack_draw
from dashboard.exports import Export, audited_export, csv_response, refuse, require_export
from dashboard.url_state import from_query, parse_month, to_query, HISTORY
from data.access import disclosure
from data.store import queries
from data.store import queries_submissions as qsub
from data.store import queries_trends as qs
from data.store.filters import Filters

PATH, TITLE, PERMISSION = "/quality", "Data quality", "view_quality"
REPORT_PATH = "/download/strategic/quality-report.html"


class Ids(StrEnum):
    SITE = "quality-site"
    FROM = "quality-from"
    TO = "quality-to"
    NOTES = "quality-notes"
    CARDS = "quality-cards"
    TREND = "quality-trend"
    MONTHS = "quality-months"
    LEAGUE = "quality-league"
    REPORT = "quality-report"
    DOWNLOAD_MONTHS = "quality-download-months"
    DOWNLOAD_LEAGUE = "quality-download-league"
    SUBMISSIONS = "quality-submissions"


def default_window(bounds: tuple[date, date] | None) -> tuple[date | None, date | None]:
    """The last 12 months of data."""
    if bounds is None:
        return None, None
    return max(qs.month_start(bounds[0]), qs.add_months(bounds[1], -11)), qs.month_end(bounds[1])


def read_state(store, search: str):
    """site (or ''), first and last month, notes from a query string; the site must be one the viewer may see."""
    bounds = queries.date_bounds(store)
    start, end = default_window(bounds)
    f, notes, extra = from_query(search, set(), Filters(start=start, end=end), ("site",))
    notes = [n for n in notes if "borough" not in n]  # this page has no borough filter
    site = extra.get("site", "")
    sites = set(qs.ed_sites(store)["site_code"])
    if site and site not in sites:
        notes.append(f"Ignored 'site={site[:40]}': not an ED site you may see")
        site = ""
    return site, f.start, f.end, notes, bounds


def layout(search: str = "") -> html.Div:
    store = current_store()
    site, first, last, notes, bounds = read_state(store, search)
    months = month_options(bounds)
    sites = qs.ed_sites(store)
    everyone = "All London EDs" if current_scope().ed_sites is None else "All your EDs"
    return html.Div([
        html.H1("Data quality", className="h4"),
        dbc.Row([
            dbc.Col([dbc.Label("Emergency Department", html_for=Ids.SITE),
                     dcc.Dropdown(id=Ids.SITE, value=site or None, placeholder=everyone,
                                  options=[{"label": f"{n} ({c})", "value": c} for c, n in zip(sites["site_code"], sites["name"])])], md=5),
            dbc.Col([dbc.Label("From", html_for=Ids.FROM),
                     dcc.Dropdown(id=Ids.FROM, options=months, value=first and f"{first:%Y-%m}", clearable=False)], md=2),
            dbc.Col([dbc.Label("To", html_for=Ids.TO),
                     dcc.Dropdown(id=Ids.TO, options=months, value=last and f"{last:%Y-%m}", clearable=False)], md=2),
            dbc.Col(html.Div(id=Ids.REPORT, className="mt-4"), md=3),
        ], className="g-3 mb-2"),
        html.Div([dbc.Alert(n, color="warning", className="py-1 mb-2") for n in notes], id=Ids.NOTES),
        html.Div(id=Ids.CARDS, className="mb-2"),
        dbc.Row([
            dbc.Col([html.H3("Completeness and geocoding by month", className="h6"),
                     dcc.Graph(id=Ids.TREND, style={"height": "40vh"})], lg=7),
            dbc.Col(_help(), lg=5),
        ], className="g-3"),
        html.Div([html.H3("Each month", className="h6 me-3 mb-0"),
                  html.A("Download CSV", id=Ids.DOWNLOAD_MONTHS, href="#", className="btn btn-sm btn-outline-secondary")],
                 className="d-flex align-items-center mt-3 mb-1"),
        html.Div(id=Ids.MONTHS, style={"overflowX": "auto"}),
        html.Div([html.H3("League table across EDs (the whole period)", className="h6 me-3 mb-0"),
                  html.A("Download CSV", id=Ids.DOWNLOAD_LEAGUE, href="#", className="btn btn-sm btn-outline-secondary")],
                 className="d-flex align-items-center mt-3 mb-1"),
        html.Div(id=Ids.LEAGUE, style={"overflowX": "auto"}),
        html.H3("Files received", className="h6 mt-3 mb-1"),
        html.P("One row per ED submission loaded (an ED's file for a reporting period): rows read, loaded, "
               "quarantined for breaking the data standard and replaced by a re-submission, and the share of its "
               "loaded records with every field complete. Months with no file are gaps, not zeros.",
               className="small text-muted mb-1"),
        data_grid(Ids.SUBMISSIONS, SUBMISSION_COLUMNS, rowData=[]),
    ])


def _help() -> dbc.Accordion:
    return dbc.Accordion([dbc.AccordionItem([
        html.P("This is the feedback loop to Emergency Departments: how much of each ISTV submission can be used. "
               "A field is complete when it holds a value; an empty free-text location, a '99' (unknown) code or a "
               "missing date-time counts as incomplete. 'All fields complete' needs all five fields of the minimum data set."),
        html.P("Geocoding: venue (a named place, within metres), street (on the named street), area only (a town or "
               "borough centre) and not placed. Only venue and street records count on street blocks and hot blocks, "
               "so the free-text location is what makes a record useful for targeting."),
        html.P("Median delay is the minutes from the assault to arrival at the ED. Submitted after month end is the "
               "days from the end of the month to the first load of that month's records."),
        html.P("The league table ranks EDs by the share of records with every field complete over the period. "
               "The monthly feedback report (choose one ED) prints the month with its last 12 months and what its "
               "data made possible: its records in hot blocks, and the hot blocks only ED data revealed."),
        html.P("Roles without record-level access see counts from 1 to 4 as '<5' and percentages built from fewer "
               "than 5 records as '*'. ED data leads see their own EDs beside all London EDs together."),
    ], title="How to read this page")], start_collapsed=True)


def _table(df: pd.DataFrame, table_id: str, highlight: str | None = None) -> dbc.Table:
    head = html.Thead(html.Tr([html.Th(c) for c in df.columns]))
    key = "ED" if "ED" in df.columns else None
    rows = [html.Tr([html.Td(rq._cell(v)) for v in row],
                    className="table-warning" if key and highlight and getattr(row, "_asdict")().get(key) == highlight else None)
            for row in df.itertuples(index=False)]
    return dbc.Table([head, html.Tbody(rows)], size="sm", striped=True, hover=True, id=table_id, className="mb-0 small")


def months_frame(view: rq.QualityView, record_level: bool) -> pd.DataFrame:
    m = view.monthly.assign(label=[f"{pd.Timestamp(x):%b %Y}" for x in view.monthly["month"]])
    return rq.display(m, record_level, view.submissions, "label").rename(columns={"": "Month"})


def league_frame(view: rq.QualityView, record_level: bool) -> pd.DataFrame:
    lg = view.league.assign(label=[f"{n} ({c})" for n, c in zip(view.league["name"], view.league["ed_site"])])
    out = rq.display(lg, record_level, view.submissions, "label").rename(columns={"": "ED", "Submitted after month end": "Median days after month end"})
    # a rank among only the EDs one may see (an ED lead's own) would mislead: rank 1 of 1
    ranked = current_scope().ed_sites is None
    out.insert(0, "Rank", [r if r and ranked else "–" for r in lg["rank"]])
    if len(view.benchmark):
        bench = rq.display(view.benchmark.assign(label=rq.BENCHMARK), record_level, view.submissions, "label")
        bench = bench.rename(columns={"": "ED", "Submitted after month end": "Median days after month end"})
        bench["Median days after month end"] = ""
        bench.insert(0, "Rank", "")
        out = pd.concat([out, bench], ignore_index=True)
    return out


def cards(view: rq.QualityView, record_level: bool) -> dbc.Row:
    t = view.total.iloc[0] if len(view.total) else None
    n = 0 if t is None else t["records"]
    items = [("Records", rq._n(int(n), record_level), "quality-card-records")]
    if t is not None:
        items += [("All fields complete", rq.pct(t["pct_all"], n, record_level, t["all_complete"]), "quality-card-complete"),
                  ("Placed on a street or venue", rq.pct(t["pct_placed"], n, record_level, t["placed"]), "quality-card-placed"),
                  ("Median assault to arrival", rq.minutes(t["median_delay_min"], n, record_level), "quality-card-delay"),
                  ("Median days after month end", rq.days(t["days_after_month_end"], n, record_level, view.submissions),
                   "quality-card-timely")]
    return dbc.Row([dbc.Col(dbc.Card(dbc.CardBody([html.Div(label, className="small text-muted"),
                                                   html.Div(v, className="fs-5 fw-bold", id=cid)])), md=True)
                    for label, v, cid in items], className="g-2")


def _window(start, end, bounds):
    months = sorted(m for m in (parse_month(start), parse_month(end)) if m is not None)  # a crafted reversed range is swapped
    default = default_window(bounds)
    return (months[0] if months else default[0]), (qs.month_end(months[-1]) if months else default[1])


def _stores(store, site: str, allowed) -> tuple:
    """(store for the sites' own figures, store for the all-London benchmark, exact?): an ED's data lead sees
    their own sites exactly (the disclosure policy), London through the protection."""
    own = store.exact_for_sites((site,) if site else tuple(allowed))
    return own, store, own.scope.exact


def update_view(site, start, end):
    """Callback body: ED site and months in → cards, trend chart, month table, league, links and URL out."""
    store = current_store()
    allowed = set(qs.ed_sites(store)["site_code"])
    site = site if site in allowed else ""
    store, bench, record_level = _stores(store, site, allowed)
    first, last = _window(start, end, queries.date_bounds(store))
    query = to_query(Filters(start=first, end=last), extra={"site": site})
    if first is None:
        return html.P("No data loaded yet."), fs.empty_figure("No data loaded yet"), "", "", "", "#", "#", query
    view = rq.compute(store, (site,) if site else (), first, last, bench)
    report = (html.A("Monthly feedback report", id="quality-report-link", className="btn btn-primary btn-sm",
                     href=f"{REPORT_PATH}?site={site}&month={last:%Y-%m}", target="_blank")
              if site else html.Span("Choose one ED for its monthly feedback report", className="small text-muted"))
    label = next((f"{n} ({c})" for c, n in zip(view.league["ed_site"], view.league["name"]) if c == site), None)
    return (cards(view, record_level), fs.quality_trend_chart(view.monthly, rq.FIELDS, record_level),
            _table(disclosure.suppress_parts(months_frame(view, record_level), ["Records"], record_level), "quality-months-table"),
            _table(disclosure.suppress_parts(league_frame(view, record_level), ["Records"], record_level),
                   "quality-league-table", label),
            report, "/download/strategic/quality-months.csv" + query, "/download/strategic/quality-league.csv" + query, query)


SUBMISSION_COLUMNS = [column("site", "ED", min_width=80), column("period", "Reporting period", min_width=170),
                      column("loaded_at", "Loaded (UTC)", min_width=130), column("file", "File", min_width=180, tooltipField="file"),
                      column("rows_read", "Rows read", COUNT, min_width=80), column("rows_loaded", "Loaded", COUNT),
                      column("rows_quarantined", "Quarantined", COUNT, min_width=90),
                      column("quarantined_pct", "Quarantined %", COUNT, min_width=100),
                      column("replaced", "Replaced", COUNT), column("complete_pct", "All fields complete", COUNT, min_width=110)]


def submission_rows(frame: pd.DataFrame, record_level: bool) -> list[dict]:
    """Files received as grid rows; counts and shares through the disclosure rule like every number here."""
    out = []
    for r in frame.to_dict("records"):
        read, loaded = int(r["rows_read"] or 0), int(r["records"] or 0)
        out.append({"site": r["site_code"], "file": str(r["file"]).rsplit("/", 1)[-1],
                    "period": f"{pd.Timestamp(r['period_start']):%d %b %Y} to {pd.Timestamp(r['period_end']):%d %b %Y}",
                    "loaded_at": f"{pd.Timestamp(r['loaded_at']):%Y-%m-%d %H:%M}",
                    "rows_read": disclosure.show(read, record_level), "rows_loaded": disclosure.show(r["rows_loaded"], record_level),
                    "rows_quarantined": disclosure.show(r["rows_quarantined"], record_level),
                    "replaced": disclosure.show(r["replaced"], record_level),
                    "quarantined_pct": rq.pct(100 * r["rows_quarantined"] / read if read else None, read, record_level,
                                              r["rows_quarantined"]),
                    "complete_pct": rq.pct(100 * r["all_complete"] / loaded if loaded else None, loaded, record_level,
                                           r["all_complete"])})
    return out


def files_received(site, start, end):
    """Callback body: the ED files received for the chosen ED (or every ED one may see) and months."""
    store = current_store()
    allowed = set(qs.ed_sites(store)["site_code"])
    site = site if site in allowed else ""
    first, last = _window(start, end, queries.date_bounds(store))
    if first is None:
        return []
    own, _, exact = _stores(store, site, set(qs.ed_sites(store)["site_code"]))
    return submission_rows(qs.submissions(own, (site,) if site else (), first, last), exact)


def register_callbacks(app) -> None:
    app.callback(Output(Ids.SUBMISSIONS, "rowData"), Input(Ids.SITE, "value"), Input(Ids.FROM, "value"),
                 Input(Ids.TO, "value"))(guard(PERMISSION)(files_received))
    app.callback(
        Output(Ids.CARDS, "children"), Output(Ids.TREND, "figure"), Output(Ids.MONTHS, "children"),
        Output(Ids.LEAGUE, "children"), Output(Ids.REPORT, "children"),
        Output(Ids.DOWNLOAD_MONTHS, "href"), Output(Ids.DOWNLOAD_LEAGUE, "href"),
        Output(HISTORY, "data", allow_duplicate=True),
        Input(Ids.SITE, "value"), Input(Ids.FROM, "value"), Input(Ids.TO, "value"),
        prevent_initial_call="initial_duplicate",
    )(guard(PERMISSION)(update_view))


# ---- exports and the report ---------------------------------------------------------------------

def register_routes(server) -> None:
    @server.route("/download/strategic/quality-<name>.csv")
    def quality_download(name: str):
        if name not in ("months", "league"):
            abort(404)
        require_export(f"quality-{name}", PERMISSION)  # before any query; refusals are audited
        store = current_store()
        site, first, last, _, _ = read_state(store, request.query_string.decode("utf-8", "replace"))
        if first is None:
            abort(404, description="No data loaded yet.")
        allowed = set(qs.ed_sites(store)["site_code"])
        store, bench, record_level = _stores(store, site if site in allowed else "", allowed)
        view = rq.compute(store, (site,) if site else (), first, last, bench)
        frame = months_frame(view, record_level) if name == "months" else league_frame(view, record_level)
        out = audited_export(f"quality-{name}", frame, Filters(start=first, end=last), Export(query=None, parts=("Records",)),
                             {"site": site}, exact=record_level)
        heading = f"ISTV London data quality ({name}), {site or 'all EDs you may see'}, {first:%b %Y} to {last:%b %Y}."
        return csv_response(out, f"istv-quality-{name}.csv", [f"# {heading} Method: {rq.METHOD}"])

    @server.route(REPORT_PATH)
    def quality_report():
        require_export("quality-report", PERMISSION)  # before any query; refusals are audited
        store = current_store()
        sites = qs.ed_sites(store)
        site = request.args.get("site", "")
        if site not in set(sites["site_code"]):
            refuse("quality-report", "Not an ED site you may see.")
        try:
            month = date.fromisoformat(request.args.get("month", "")[:7] + "-01")
        except ValueError:
            abort(400, description="month: expected a month like 2025-11")
        store, bench, record_level = _stores(store, site, set(sites["site_code"]))
        view = rq.compute(store, (site,), month, month, bench)
        trend = rq.compute(store, (site,), qs.add_months(month, -11), month, bench)
        # a month alone is too sparse; London's blocks through the protection, the site's own records exact for its lead
        contribution = qs.site_contribution(bench, site, qs.add_months(month, -11), month, own=store)
        f = Filters(start=month, end=qs.month_end(month))
        months = audited_export("quality-report", months_frame(trend, record_level), f, Export(query=None, parts=("Records",)),
                                {"site": site, "month": f"{month:%Y-%m}"}, exact=record_level)
        names = dict(zip(*queries.boroughs(store)[["code", "name"]].to_numpy().T))
        blocks = contribution["ed_only"].assign(borough_code=lambda d: d["borough_code"].map(lambda c: names.get(c, c)))
        blocks["block_id"] = blocks["block_id"].astype(str)
        blocks = blocks.rename(columns={
            "block_id": "Block", "street": "Street", "borough_code": "Borough", "site_records": "Your records",
            "ed": "All ED records", "police": "Police violence"})
        blocks = disclosure.suppress_parts(blocks, ["Your records", "All ED records", "Police violence"], record_level)
        previous = rq.compute(store, (site,), qs.add_months(month, -1), qs.add_months(month, -1), bench)
        this_month = qs.site_contribution(bench, site, month, month, own=store)
        feedback = qsub.location_feedback(store, site, month, qs.add_months(month, -11))
        html_text = rq.report_html(sites.loc[sites["site_code"] == site].iloc[0], month, view, trend, contribution,
                                   months, blocks, record_level, to_query(f, extra={"site": site}),
                                   pack_draw(current_config()), previous=previous, feedback=feedback,
                                   this_month=this_month)
        return Response(html_text, mimetype="text/html")
