"""Tasking page (police tasking meetings): the month's hot blocks (or busiest), what rose or fell, the pack."""
from __future__ import annotations

from datetime import date
from enum import StrEnum

import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html
from flask import Response, request

from dashboard import figures_ops
from dashboard.components.loading import loading
from dashboard.components.filters import borough_dropdown, extras_control, period_picker
from dashboard.components.grid import COUNT, column, data_grid, pinned
from dashboard.auth import guard
from dashboard.basemap import map_style
from dashboard.context import current_config, current_store
from dashboard.exports import Export, audited_export, csv_response, require_export
from dashboard.reports_ops import BASELINE_WINDOWS, LISTS, TASKING_MODES, gather_tasking, tasking_frame, tasking_window
from dashboard.reports_ops_html import tasking_pack_html
from dashboard.static_charts import pack_draw
from dashboard.url_state import from_query, parse_day, to_query, HISTORY
from dashboard.coverage import coverage_notes
from data.store import queries
from data.store.queries_coverage import coverage
from data.access.disclosure import show
from data.store.filters import ALL_SOURCES, LOCATED_RULE, PERIOD_RULE, Filters
from data.store.queries_ops import EMERGING_SLICES
from layers.hotspots_local import SIZE_MAX
from data.access.disclosure import suppress_parts

PATH, TITLE, PERMISSION = "/tasking", "Tasking", "view_tasking"
MODES = TASKING_MODES
SHOW_N = (10, 20, 50)
EXTRA_KEYS = ("cmp", "top", "list")

COLUMNS = {"rank": "#", "street": "Street", "borough": "Borough", "ed": "ED", "police": "Police", "other": "Other",
           "total": "Total",
           "per_100m": "Per 100 m", "hot": "Hot spot", "pattern": "Pattern", "expected": "Expected",
           "change_class": "Class", "peak_days": "Peak days", "peak_hours": "Peak hours", "ed_excess": "ED > police"}
# the grid shows these; the CSV and the pack also give the change (total - expected) and ED per police
TOOLTIPS = {"ed_excess": "More ED assaults relative to police-recorded violence than in the area, beyond chance",
            "pattern": "Emerging hot spot category over the last 12 windows",
            "expected": "Count expected from the comparison period, scaled by days",
            "hot": "A significant hot spot (Gi*, exact negative-binomial test, 5 % FDR)",
            "other": "Incidents of the other agencies' sources chosen under 'Also count'"}


COUNT_COLUMNS = {"rank", "ed", "police", "other", "total", "per_100m", "expected"}
WIDTHS = {"rank": 50, "street": 150, "borough": 100, "ed": 60, "police": 60, "total": 60, "change_class": 80,
          "peak_days": 100, "peak_hours": 100, "ed_excess": 90, "hot": 70, "pattern": 130}


def table_columns(extras: bool = False) -> list[dict]:
    """The tasking grid's columns: counts right-aligned; rising in red, falling in green. extras: the view
    counts another agency's incidents (their column shows)."""
    cols = [column(k, v, COUNT if k in COUNT_COLUMNS else "text", min_width=WIDTHS.get(k, 70),
                   **({"headerTooltip": TOOLTIPS[k]} if k in TOOLTIPS else {})) for k, v in COLUMNS.items()
            if k != "other" or extras]
    for c in cols:
        if c["field"] == "change_class":
            c["cellClassRules"] = {"istv-rising": "params.value === 'rising' || params.value === 'new'",
                                   "istv-falling": "params.value === 'falling' || params.value === 'gone'"}
    return cols


class Ids(StrEnum):
    BOROUGHS = "tasking-boroughs"
    DATES = "tasking-dates"
    MODE = "tasking-mode"
    LIST = "tasking-list"
    METHOD = "tasking-method"
    TOP = "tasking-top"
    NOTES = "tasking-notes"
    SUMMARY = "tasking-summary"
    MAP = "tasking-map"
    TABLE = "tasking-table"
    HOURS = "tasking-hours"
    PACK = "tasking-pack"
    CSV = "tasking-csv"
    EXTRAS = "tasking-extras"


def default_filters(bounds) -> Filters:
    """The last month of data, all boroughs."""
    if bounds is None:
        return Filters()
    start, end = tasking_window(bounds[1])
    return Filters(start=max(start, bounds[0]), end=end)


def read_view(search: str, known: set[str], bounds) -> tuple[Filters, str, int, list[str], str]:
    f, notes, extra = from_query(search, known, default_filters(bounds), EXTRA_KEYS)
    mode = extra.get("cmp", "baseline")
    if mode not in MODES:
        notes.append(f"Ignored 'cmp={mode[:20]}': expected one of {', '.join(MODES)}")
        mode = "baseline"
    listing = extra.get("list", "hot")
    if listing not in LISTS:
        notes.append(f"Ignored 'list={listing[:20]}': expected one of {', '.join(LISTS)}")
        listing = "hot"
    top = 20
    if "top" in extra:
        try:
            top = int(extra["top"])
            if top not in SHOW_N:
                raise ValueError
        except ValueError:
            notes.append(f"Ignored 'top={extra['top'][:20]}': expected one of {', '.join(map(str, SHOW_N))}")
            top = 20
    if f.start is None or f.end is None:
        f = f.with_(**{k: v for k, v in (("start", default_filters(bounds).start), ("end", default_filters(bounds).end))})
    return f, mode, top, notes, listing


def layout(search: str = "") -> html.Div:
    store = current_store()
    boroughs = queries.boroughs(store)
    bounds = queries.date_bounds(store)
    f, mode, top, notes, listing = read_view(search, set(boroughs["code"]), bounds)
    return html.Div([
        html.H1("Tasking", className="h4"),
        dbc.Row([
            dbc.Col([dbc.Label("Boroughs", html_for=Ids.BOROUGHS),
                     borough_dropdown(Ids.BOROUGHS, boroughs, f)], md=3),
            dbc.Col([dbc.Label("Window", html_for=Ids.DATES),
                     period_picker(Ids.DATES, f, bounds)], md=3),
            dbc.Col([dbc.Label("List", html_for=Ids.LIST),
                     dbc.RadioItems(id=Ids.LIST, options=[{"label": v, "value": k} for k, v in LISTS.items()],
                                    value=listing)], md=2),
            dbc.Col([dbc.Label("Compared with", html_for=Ids.MODE),
                     dbc.RadioItems(id=Ids.MODE, options=[{"label": v, "value": k} for k, v in MODES.items()],
                                    value=mode)], md=3),
            dbc.Col([dbc.Label("Blocks listed", html_for=Ids.TOP),
                     dcc.Dropdown(id=Ids.TOP, options=list(SHOW_N), value=top, clearable=False)], md=1),
        ], className="g-2 mb-2"),
        extras_control(Ids.EXTRAS, store, f),
        html.Div([dbc.Alert(n, color="warning", className="py-1 mb-2") for n in notes], id=Ids.NOTES),
        html.Div([html.Div(id=Ids.SUMMARY, className="me-auto"),
                  html.A("Tasking pack", id=Ids.PACK, href="/download/tasking/pack.html", target="_blank",
                         className="btn btn-sm btn-primary me-1"),
                  html.A("Download CSV", id=Ids.CSV, href="/download/tasking/pack.csv",
                         className="btn btn-sm btn-outline-secondary")], className="d-flex align-items-center mb-2"),
        dbc.Row([
            dbc.Col([data_grid(Ids.TABLE, table_columns(bool(f.extras)), row_id="rank", page_size=20),
                     html.Div(id=Ids.METHOD, className="small text-muted mt-1"), _help()], xs=12),
        ], className="g-3"),
        dbc.Row([
            dbc.Col(loading(dcc.Graph(id=Ids.MAP, style={"height": "50vh"}, config={"scrollZoom": True}), (Ids.MAP, "figure")), lg=7),
            dbc.Col(loading(dcc.Graph(id=Ids.HOURS, style={"height": "50vh"}), (Ids.HOURS, "figure")), lg=5),
        ], className="g-3 mt-1"),
    ])


def _help() -> dbc.Accordion:
    return dbc.Accordion([dbc.AccordionItem([
        html.P("Hot blocks: a street block (a street between two junctions) is hot only when the local test says so: "
               "the count of its neighbourhood (the block and the blocks sharing a junction with it, Getis-Ord Gi*) is "
               "too high to be chance under a negative-binomial model of the study area's counts (fitted to its "
               "ordinary blocks, so busy places cannot hide themselves), at a 5 % false discovery rate over every block "
               "of the selected boroughs, and the block's own count is unusual too (so a quiet block next to a busy one "
               "is not hot). On too little data nothing is hot. 'Busiest blocks' is a plain ranking by count, not a test."),
        html.P(f"'Pattern' is the block's emerging hot spot category (ArcGIS Pro's definitions) over the {EMERGING_SLICES} "
               "windows ending with this one (fewer when the data start later): the same test in each window, and an "
               "exact Mann-Kendall test of the trend of its Gi* z-score. New, consecutive, intensifying, persistent, "
               "diminishing, sporadic and oscillating describe a block hot in the latest window; historical one hot in "
               "most windows but not the latest. With fewer than 5 windows no trend can be significant."),
        html.P("Counts are ED assaults placed on a street or at a venue plus police-recorded 'Violence and sexual "
               "offences'. 'Per 100 m' divides by the block's length (long streets collect more)."),
        html.P(f"'Expected' is the block's count per window over the comparison period, scaled by days: by default the "
               f"average of the {BASELINE_WINDOWS} windows before this one, which choosing blocks for a high count now "
               "cannot bias. 'Class' names a change only when an exact test says it is more than chance (5 % false "
               "discovery rate over every block of the area): rising, falling, new (from none) or gone (to none); "
               "steady otherwise, whatever the difference."),
        html.P("police.uk gives only the month, so the window is counted in whole months and police records have no time "
               "of day: peak days and hours come from ED records. 'More ED than police' marks blocks where ED assaults "
               "outnumber police-recorded violence significantly more than in the area as a whole: police data alone "
               "under-represents violence there. It does not mean the assaults went unreported (some ED patients do "
               "report; the two kinds of record cannot be matched), and ED + police is not a count of distinct assaults."),
        html.P("The tasking pack is a printable page (print it or save it as PDF) with the map, the table, the "
               "window, the filters and this method; the CSV holds the same table."),
    ], title="How to read this page")], start_collapsed=True, className="mt-2")


def method_line(t) -> str:
    """One line under the table: what was tested, where, over which days."""
    null = t.null
    fit = ("no incidents" if not null.get("mu") else f"fitted mean {null['mu']:.2f} per block, "
           + ("no overdispersion (Poisson)" if null["size"] >= SIZE_MAX else f"dispersion size {null['size']:.3g}"))
    return (f"Hot spots: {null.get('test', 'local test')}, 5 % FDR over {t.stats_blocks:,} blocks of the selected "
            f"boroughs ({fit}); {t.hot_count:,} hot. Window counted {t.filters.start:%d %b %Y} to {t.filters.end:%d %b %Y} "
            f"({t.filters.days()} days); compared with {t.compare.start:%d %b %Y} to {t.compare.end:%d %b %Y} "
            f"({t.compare.days()} days), per day. Pattern over {t.pattern['slices']} windows"
            f"{'' if t.pattern['trend_possible'] else ' (too few for a trend test)'}. {PERIOD_RULE} {LOCATED_RULE}")


def _filters(boroughs, start, end, bounds, extras=()) -> Filters:
    dates = sorted(d for d in (parse_day(start), parse_day(end)) if d is not None)
    d = default_filters(bounds)
    if len(dates) < 2:
        dates = [d.start, d.end]
    return Filters(boroughs=tuple(str(b) for b in boroughs or ()), start=dates[0], end=dates[-1],
                   sources=ALL_SOURCES + queries.registered(current_store(), extras))


def _parts(f: Filters) -> list[str]:
    return ["ed", "police"] + (["other"] if f.extras else [])


def table_rows(t, record_level: bool) -> list[dict]:
    """The tasking table as the page shows it (the export frame after disclosure)."""
    frame = tasking_frame(t, record_level, _borough_names())
    return suppress_parts(frame, _parts(t.filters), record_level, "total").to_dict("records")


def _borough_names() -> dict:
    return queries.boroughs(current_store()).set_index("code")["name"].to_dict()


def update_view(boroughs, start, end, mode, top, listing, extras=()):
    """Callback body: borough, window, list and comparison in → summary, table, map, hours, pack links, URL query."""
    store = current_store()
    bounds = queries.date_bounds(store)
    f = _filters(boroughs, start, end, bounds, extras)
    mode = mode if mode in MODES else "baseline"
    listing = listing if listing in LISTS else "hot"
    top = int(top) if top in SHOW_N else 20
    rl = store.scope.exact
    t = gather_tasking(store, f, mode, top, listing)
    rows = table_rows(t, rl)
    outlines = queries.borough_outlines(store, f.boroughs)
    fig_map = figures_ops.tasking_map(t.table, t.lines, outlines, style=map_style(), record_level=rl,
                                      listed="Hot blocks" if listing == "hot" else "Busiest blocks")
    hours = figures_ops.hour_of_week(t.day_hour, rl, "ED assaults on these blocks by weekday and hour")
    query = to_query(f, default_filters(bounds), {"cmp": mode if mode != "baseline" else None,
                                                  "top": top if top != 20 else None,
                                                  "list": listing if listing != "hot" else None})
    c = t.filters
    widened = [html.Div(f"Counted {c.start:%d %b} to {c.end:%d %b %Y}: whole months, because police.uk gives only "
                        "the month.", className="small text-info-emphasis")] if f.widened else []
    none_hot = [html.Div("No block is a significant hot spot in this window: too few incidents, or none clustered "
                         "beyond chance. Choose 'Busiest blocks' for a ranking by count.",
                         className="small text-warning-emphasis", id="tasking-none-hot")] \
        if listing == "hot" and t.hot_count == 0 else []
    summary = html.Span([
        f"{c.start:%d %b %Y} to {c.end:%d %b %Y}: ",
        html.B(_fmt(show(t.totals["ed"], rl)), id="tasking-ed"), " ED assaults and ",
        html.B(_fmt(show(t.totals["police"], rl)), id="tasking-police"), " police violence",
        *([" and ", html.B(_fmt(show(t.totals["other"], rl)), id="tasking-other"),
           f" {queries.extras_label(store, f.extras).lower()}"] if f.extras else []),
        " on the area's blocks; ",
        html.B(f"{t.hot_count:,}", id="tasking-hot-count"), " hot blocks",
        *widened, *none_hot,
        *[html.Div(n, className="small text-info-emphasis") for n in _coverage(store, c)]], id="tasking-summary-text")
    return (summary, rows, fig_map, hours, "/download/tasking/pack.html" + query, "/download/tasking/pack.csv" + query,
            query, method_line(t), pinned(table_columns(bool(f.extras))))


def _coverage(store, f: Filters) -> list[str]:
    """What the loaded files do not cover for this window and these boroughs (gaps, not zeros)."""
    boroughs = queries.boroughs(store)
    in_view = list(f.boroughs) or list(boroughs["code"])
    return coverage_notes(coverage(store), f.start, f.end, ("ed", "police"), in_view,
                          dict(zip(boroughs["code"], boroughs["name"])), unit="block")


def _fmt(v) -> str:
    return f"{v:,}" if isinstance(v, int) else str(v)


def register_callbacks(app) -> None:
    app.callback(
        Output(Ids.SUMMARY, "children"), Output(Ids.TABLE, "rowData"), Output(Ids.MAP, "figure"),
        Output(Ids.HOURS, "figure"), Output(Ids.PACK, "href"), Output(Ids.CSV, "href"), Output(HISTORY, "data", allow_duplicate=True),
        Output(Ids.METHOD, "children"), Output(Ids.TABLE, "columnDefs"),
        Input(Ids.BOROUGHS, "value"), Input(Ids.DATES, "start_date"), Input(Ids.DATES, "end_date"),
        Input(Ids.MODE, "value"), Input(Ids.TOP, "value"), Input(Ids.LIST, "value"), Input(Ids.EXTRAS, "value"),
        prevent_initial_call="initial_duplicate",
    )(guard(PERMISSION)(update_view))


# ---- the tasking pack ---------------------------------------------------------------------

def _pack():
    require_export("tasking-pack", PERMISSION)  # before any query; refusals are audited
    store = current_store()
    bounds = queries.date_bounds(store)
    f, mode, top, _, listing = read_view(request.query_string.decode("utf-8", "replace"),
                                         set(queries.boroughs(store)["code"]), bounds)
    t = gather_tasking(store, f, mode, top, listing)
    shown = audited_export("tasking-pack", tasking_frame(t, store.scope.exact, _borough_names()), t.filters,
                           Export(None, parts=tuple(_parts(t.filters)), total="total"),
                           {"cmp": mode, "top": top, "list": listing})
    return store, f, t, shown


def register_routes(server) -> None:
    @server.route("/download/tasking/pack.csv")
    def tasking_csv():
        _, _, _, shown = _pack()
        return csv_response(shown, "istv-tasking-pack.csv")

    @server.route("/download/tasking/pack.html")
    def tasking_html():
        store, f, t, shown = _pack()
        rl = store.scope.exact
        names = queries.boroughs(store).set_index("code")["name"]
        label = ", ".join(names.get(b, b) for b in f.boroughs) or (
            "All London" if store.scope.boroughs is None else ", ".join(names.get(b, b) for b in store.scope.boroughs))
        outlines = queries.borough_outlines(store, f.boroughs)
        totals = {k: show(v, rl) for k, v in t.totals.items()}
        return Response(tasking_pack_html(t, shown, outlines, rl, date.today(), label, totals, pack_draw(current_config()),
                                          method_line(t)),
                        mimetype="text/html")

