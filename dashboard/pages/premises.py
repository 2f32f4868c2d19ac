"""Premises page (licensing): premises ranked by assaults nearby, a profile per premises, evidence packs."""
from __future__ import annotations

from datetime import date
from enum import StrEnum
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import Response, abort, request

from dashboard.components.loading import loading
from dashboard.components.filters import borough_dropdown, period_picker
from dashboard.components.grid import COUNT, column, data_grid, page_request, sort_shown
from dashboard.auth import guard
from dashboard.basemap import map_style
from dashboard.context import current_config, current_store
from dashboard.exports import Export, audited_export, csv_response, require_export
from dashboard.map_view import default_filters
from dashboard.components.premises_profile import profile_view
from dashboard.reports_ops import (LICENCE_LABELS, PREMISES_COLUMNS, evidence_frame, exposure_ratio, gather_profile, hot_flag,
                                   premises_display, premises_rows)
from dashboard.reports_ops_html import evidence_pack_html
from dashboard.static_charts import pack_draw
from dashboard.url_state import from_query, parse_day, to_query, HISTORY
from data.store import queries
from data.store import queries_ops
from data.store.filters import PERIOD_RULE, Filters
from data.access.disclosure import show
from data.ingest.schema import LICENCE_TYPES
from dashboard.figures import LONDON_CENTER, outline_lines

PATH, TITLE, PERMISSION = "/premises", "Premises", "view_premises"
RADII = (25, 50, 75, 100, 150, 200, 250)
DEFAULT_RADIUS = 50
PAGE_SIZE = 12
EXTRA_KEYS = ("r", "type", "min", "q", "premises")
TYPE_CODES = tuple(t.code for t in LICENCE_TYPES)


class Ids(StrEnum):
    BOROUGHS = "premises-boroughs"
    DATES = "premises-dates"
    RADIUS = "premises-radius"
    TYPES = "premises-types"
    MIN = "premises-min"
    SEARCH = "premises-search"
    NOTES = "premises-notes"
    SUMMARY = "premises-summary"
    TABLE = "premises-table"
    MAP = "premises-map"
    LIST_CSV = "premises-list-csv"
    VIEW = "premises-view"
    SELECTED = "premises-selected"
    CONTROLS = "premises-controls"
    PROFILE = "premises-profile"
    REFRESHED = "premises-refreshed"


COUNT_COLUMNS = {"rank", "ed", "police", "total", "named", "prev_total", "night", "glass", "change"}
# (least, preferred) widths: the least show each header's longest word and a typical value and sum to
# under the 1,250 px a 1280 px window gives the grid; wider windows share out the preferred widths
WIDTHS = {"rank": (62, 62), "name": (130, 170), "address": (140, 200), "licence": (92, 100), "hours": (92, 100),
          "hot": (108, 115), "ed": (74, 78), "police": (68, 78), "total": (58, 64), "night": (66, 72),
          "glass": (62, 70), "named": (66, 72), "prev_total": (74, 80), "change": (66, 72)}


def table_columns() -> list[dict]:
    """The premises grid's columns (names from PREMISES_COLUMNS; counts right-aligned)."""
    return [column(k, v, COUNT if k in COUNT_COLUMNS else "text", min_width=WIDTHS[k][0], width=WIDTHS[k][1],
                   tooltipField=k if k in ("name", "address") else None)
            for k, v in PREMISES_COLUMNS.items()]


def read_view(search: str, known: set[str], bounds) -> tuple[Filters, dict, list[str]]:
    """The page state in a query string: filters, then r/type/min/q/premises, with notes for bad values."""
    f, notes, extra = from_query(search, known, default_filters(bounds), EXTRA_KEYS)
    view = {"radius": DEFAULT_RADIUS, "types": (), "min": 0, "q": "", "premises": None}
    if "r" in extra:
        try:
            view["radius"] = queries_ops.check_radius(extra["r"])
        except ValueError as exc:
            notes.append(f"Ignored 'r={extra['r'][:20]}': {exc}")
    if "type" in extra:
        types = [t for t in extra["type"].split(",") if t]
        view["types"] = tuple(t for t in types if t in TYPE_CODES)
        if len(view["types"]) != len(types):
            notes.append(f"Ignored unknown licence type(s): {', '.join(t for t in types if t not in TYPE_CODES)[:80]}")
    if "min" in extra:
        try:
            view["min"] = max(0, int(extra["min"]))
        except ValueError:
            notes.append(f"Ignored 'min={extra['min'][:20]}': expected a whole number")
    view["q"] = extra.get("q", "")[:80]
    view["premises"] = extra.get("premises") or None
    return f, view, notes


def view_query(f: Filters, bounds, radius, types, min_count, text, premises=None) -> str:
    extra = {"r": f"{float(radius):g}" if float(radius) != DEFAULT_RADIUS else None,
             "type": ",".join(types or ()) or None, "min": int(min_count) if min_count else None,
             "q": (text or "").strip() or None, "premises": premises}
    return to_query(f, default_filters(bounds), extra)


def layout(search: str = "") -> html.Div:
    store = current_store()
    boroughs = queries.boroughs(store)
    bounds = queries.date_bounds(store)
    f, view, notes = read_view(search, set(boroughs["code"]), bounds)
    radius = view["radius"] if view["radius"] in RADII else DEFAULT_RADIUS
    if radius != view["radius"]:
        notes.append(f"Radius {view['radius']:g} m is not offered here; showing {DEFAULT_RADIUS} m")
    return html.Div([
        html.H1("Licensed premises", className="h4"),
        dbc.Row([
            dbc.Col([dbc.Label("Boroughs", html_for=Ids.BOROUGHS),
                     borough_dropdown(Ids.BOROUGHS, boroughs, f)], md=4),
            dbc.Col([dbc.Label("Period", html_for=Ids.DATES),
                     period_picker(Ids.DATES, f, bounds)], md=3),
            dbc.Col([dbc.Label("Within", html_for=Ids.RADIUS),
                     dcc.Dropdown(id=Ids.RADIUS, options=[{"label": f"{r} m", "value": r} for r in RADII],
                                  value=radius, clearable=False)], md=1),
            dbc.Col([dbc.Label("Licence types", html_for=Ids.TYPES),
                     dcc.Dropdown(id=Ids.TYPES, options=[{"label": t.label, "value": t.code} for t in LICENCE_TYPES],
                                  value=list(view["types"]), multi=True, placeholder="All types")], md=2),
            dbc.Col([dbc.Label("At least", html_for=Ids.MIN),
                     dbc.Input(id=Ids.MIN, type="number", min=0, step=1, value=view["min"], debounce=True)], md=1),
            dbc.Col([dbc.Label("Name or street", html_for=Ids.SEARCH),
                     dbc.Input(id=Ids.SEARCH, value=view["q"], placeholder="search", debounce=True)], md=1),
        ], className="g-2 mb-2"),
        html.Div([dbc.Alert(n, color="warning", className="py-1 mb-2") for n in notes], id=Ids.NOTES),
        # the view's query as the first callback will compute it: the profile is then drawn once on load, not
        # torn down mid-draw when the same query arrives again (plotly.js logged errors doing that)
        dcc.Store(id=Ids.VIEW, data=view_query(f, bounds, radius, view["types"], view["min"], view["q"])),
        dcc.Store(id=Ids.CONTROLS), dcc.Store(id=Ids.SELECTED, data=view["premises"]),
        dbc.Row([
            dbc.Col([html.Div([html.Div(id=Ids.SUMMARY, className="me-auto"),
                               html.A("Download CSV", id=Ids.LIST_CSV, href="/download/premises/list.csv",
                                      className="btn btn-sm btn-outline-secondary")],
                              className="d-flex align-items-center mb-1"),
                     data_grid(Ids.TABLE, table_columns(), row_id="premises_id", page_size=PAGE_SIZE, infinite=True),
                     dcc.Store(id=Ids.REFRESHED),
                     _help()], xs=12),
        ], className="g-3"),
        dbc.Row(dbc.Col(loading(dcc.Graph(id=Ids.MAP, style={"height": "50vh"}, config={"scrollZoom": True}), (Ids.MAP, "figure")), xs=12),
                className="g-3 mt-1"),
        html.Hr(),
        loading(html.Div(id=Ids.PROFILE), (Ids.PROFILE, "children")),
    ])


def _help() -> dbc.Accordion:
    return dbc.Accordion([dbc.AccordionItem([
        html.P("Each row is a licensed premises of the chosen boroughs, ranked by the incidents located within the "
               "chosen distance of it in the period: ED assault attendances placed at a venue or on a street, plus "
               "police-recorded 'Violence and sexual offences'. Nearby is not the same as caused by: a premises on a "
               "busy street gathers its street's incidents too."),
        html.P("'Hot block' says whether the premises' street block is one of the period's hot blocks (the same "
               "definition as the map), or shares a junction with one. '22:00-06:00' and 'Glass or bottle' are shares "
               "of the nearby ED assaults (police.uk has neither the time nor the weapon). 'ED names venue' counts ED "
               "records whose location text the geocoder matched to this premises by name. 'Previous' and 'Change' "
               "compare with the equal period just before (as many whole months while police records are shown); the "
               "change is per day of exposure: the previous count is scaled by the two periods' days (31/28 for March "
               "against February)."),
        html.P(PERIOD_RULE),
        html.P("Click a row or a marker for the premises' profile and its evidence pack, a printable document for a "
               "licence review hearing with the method statement and the numbers."),
        html.P("Roles without record-level access see counts from 1 to 4 as '<5', and shares or changes that would "
               "reveal one as '*'; their profile map shows counts per hexagon instead of individual records."),
    ], title="How to read this page")], start_collapsed=True, className="mt-2")


def _filters(boroughs, start, end) -> Filters:
    dates = sorted(d for d in (parse_day(start), parse_day(end)) if d is not None)
    return Filters(boroughs=tuple(str(b) for b in boroughs or ()),
                   start=dates[0] if start and dates else None, end=dates[-1] if end and dates else None)


def ranked_rows(store, f: Filters, radius: float, types=(), min_count: int = 0, text: str = ""):
    """The premises table's rows (ranked, flagged, filtered) for a view (cached per data version)."""
    return premises_rows(store, f, float(radius), tuple(types or ()), int(min_count or 0), text or "")


def _controls(boroughs, start, end, radius, types, min_count, text):
    f = _filters(boroughs, start, end)
    radius = queries_ops.check_radius(radius or DEFAULT_RADIUS)
    try:
        min_count = max(0, int(min_count or 0))
    except (TypeError, ValueError):
        min_count = 0
    types = tuple(t for t in types or () if t in TYPE_CODES)
    return f, radius, types, min_count, (text or "")[:80]


def update_view(boroughs, start, end, radius, types, min_count, text, current=None):
    """Callback body: filters in → overview map, summary, CSV link, the view's query string, and the
    table's page count (back to its first page). The rows of a page come from `table_page`."""
    f, radius, types, min_count, text = _controls(boroughs, start, end, radius, types, min_count, text)
    store = current_store()
    rows = ranked_rows(store, f, radius, types, min_count, text)
    query = view_query(f, queries.date_bounds(store), radius, types, min_count, text)
    n_hot = int(rows["in_hot"].sum())
    n_next = int(rows["next_to_hot"].sum())
    summary = html.Span([html.B(f"{len(rows):,}"), " premises · ", html.B(f"{n_hot:,}", id="premises-n-hot"),
                         " in a hot block · ", html.B(f"{n_next:,}"), " next to one"], id="premises-count")
    fig = overview_map(rows, store.scope.exact, queries.borough_outlines(store, f.boroughs), map_style())
    controls = [list(f.boroughs), start, end, radius, list(types), min_count, text]
    return fig, summary, "/download/premises/list.csv" + query, no_update if query == current else query, controls


def table_page(request: dict | None, controls: list | None) -> dict:
    """Callback body: the rows the grid asks for, in the order it asks (the server pages and sorts the
    table: the browser gets 12 rows, not all 7,500 premises of London). controls: the filter values
    `update_view` used; a sort orders the values as shown, so "<5" cells tie."""
    if request is None:
        raise PreventUpdate
    try:
        f, radius, types, min_count, text = _controls(*controls)
    except (TypeError, ValueError):  # before update_view has run, or a hand-made request
        return {"rowData": [], "rowCount": 0}
    store = current_store()
    rows = ranked_rows(store, f, radius, types, min_count, text)
    start, end, sort_model = page_request(request, PAGE_SIZE)
    if sort_model:
        shown = sort_shown(premises_display(rows, store.scope.exact, exposure_ratio(f)), sort_model, COUNT_COLUMNS)
        part = shown.iloc[start:end]
    else:  # the ranking's own order: shape only the rows asked for
        part = premises_display(rows.iloc[start:end], store.scope.exact, exposure_ratio(f))
    return {"rowData": part.to_dict("records"), "rowCount": len(rows)}


def overview_map(rows, record_level: bool, outlines, style) -> dict:
    """Markers of the listed premises over borough outlines: grey, then orange (next to a hot block), then red
    (in one) on top, so a hot premises is never hidden under a quiet neighbour; a legend above the map.

    A plain figure dict: go.Scattermap validates every element of 7,500-long lists (~0.8 s; a dict ~0.03 s).
    """
    import math
    lats, lons = outline_lines(outlines)
    data = [{"type": "scattermap", "lat": lats, "lon": lons, "mode": "lines", "line": {"width": 1, "color": "#888"},
             "hoverinfo": "skip", "name": "Borough boundaries", "showlegend": False}]
    in_hot, next_to = rows["in_hot"].astype(bool).to_numpy(), rows["next_to_hot"].astype(bool).to_numpy()
    for name, colour, sel in (("other premises", "#7f7f7f", ~in_hot & ~next_to),
                              ("next to a hot block", "#fc8d59", ~in_hot & next_to),
                              ("in a hot block", "#d7301f", in_hot)):
        part = rows[sel]
        data.append({
            "type": "scattermap", "lat": part["lat"].round(6).tolist(), "lon": part["lon"].round(6).tolist(),
            "mode": "markers", "marker": {"size": 9 if name != "other premises" else 7, "color": colour, "opacity": 0.9},
            "customdata": part["premises_id"].tolist(), "name": name,
            "text": [f"{n}<br>{LICENCE_LABELS.get(lic, lic or '')} · within radius: {show(t, record_level)}<br>{hot_flag(a, b)}"
                     for n, lic, t, a, b in zip(part["name"], part["licence_type"], part["total"], part["in_hot"],
                                                part["next_to_hot"])],
            "hovertemplate": "%{text}<extra></extra>"})
    if len(rows):
        lat, lon = float(rows["lat"].mean()), float(rows["lon"].mean())
        span = max(float(rows["lat"].max() - rows["lat"].min()), float(rows["lon"].max() - rows["lon"].min()) * 0.62, 0.005)
        zoom = max(8.5, min(15.0, math.log2(360 / span) - 1.2))
        center = {"lat": lat, "lon": lon}
    else:
        center, zoom = LONDON_CENTER, 9.2
    legend = {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "title": {"text": "Premises:"},
              "itemclick": False, "itemdoubleclick": False}
    return {"data": data, "layout": {"map": {"style": style, "center": center, "zoom": zoom},
                                     "margin": {"l": 0, "r": 0, "t": 28, "b": 0}, "showlegend": True, "legend": legend,
                                     "uirevision": "premises"}}


def select(cell, click, selected):
    """Callback body: the premises a row or a marker points at."""
    if ctx.triggered_id == Ids.MAP:
        picked = (click or {}).get("points", [{}])[0].get("customdata")
        return str(picked) if picked else selected
    if isinstance(cell, dict) and cell.get("rowId"):
        return str(cell["rowId"])
    return selected


def show_profile(view: str | None, selected: str | None):
    """Callback body: the selected premises' profile, and the URL query (the view plus the premises)."""
    view = view or ""
    if not selected:
        return html.P("Click a row or a marker to see that premises' profile.", className="text-muted"), view
    store = current_store()
    bounds = queries.date_bounds(store)
    known = set(queries.boroughs(store)["code"])
    f, v, _ = read_view(view, known, bounds)
    profile = gather_profile(store, f, selected, v["radius"])
    join = "&" if view else "?"
    search = view + join + urlencode({"premises": selected})
    if profile is None:
        return dbc.Alert(f"Premises {selected} is not in your boroughs or does not exist.", color="warning"), view
    pack = f"/download/premises/{selected}/evidence"
    return profile_view(store, profile, map_style(), pack + ".html" + view, pack + ".csv" + view), search


def register_callbacks(app) -> None:
    app.callback(
        Output(Ids.MAP, "figure"), Output(Ids.SUMMARY, "children"), Output(Ids.LIST_CSV, "href"), Output(Ids.VIEW, "data"),
        Output(Ids.CONTROLS, "data"),
        Input(Ids.BOROUGHS, "value"), Input(Ids.DATES, "start_date"), Input(Ids.DATES, "end_date"),
        Input(Ids.RADIUS, "value"), Input(Ids.TYPES, "value"), Input(Ids.MIN, "value"), Input(Ids.SEARCH, "value"),
        State(Ids.VIEW, "data"),
    )(guard(PERMISSION)(update_view))
    app.clientside_callback(ClientsideFunction("istv_grid", "refresh"), Output(Ids.REFRESHED, "data"),
                            Input(Ids.CONTROLS, "data"), State(Ids.TABLE, "id"))
    app.callback(
        Output(Ids.TABLE, "getRowsResponse"), Input(Ids.TABLE, "getRowsRequest"), State(Ids.CONTROLS, "data"),
    )(guard(PERMISSION)(table_page))
    app.callback(
        Output(Ids.SELECTED, "data"), Input(Ids.TABLE, "cellClicked"), Input(Ids.MAP, "clickData"),
        State(Ids.SELECTED, "data"), prevent_initial_call=True,
    )(guard(PERMISSION)(select))
    app.callback(
        Output(Ids.PROFILE, "children"), Output(HISTORY, "data", allow_duplicate=True), Input(Ids.VIEW, "data"),
        Input(Ids.SELECTED, "data"), prevent_initial_call="initial_duplicate",
    )(guard(PERMISSION)(show_profile))


# ---- downloads ----------------------------------------------------------------------------

def _request_view(name: str):
    """The store and the page state of a download, after checking (audited) that the viewer may take it."""
    require_export(name, PERMISSION)
    store = current_store()
    known = set(queries.boroughs(store)["code"])
    f, v, _ = read_view(request.query_string.decode("utf-8", "replace"), known, queries.date_bounds(store))
    return store, f, v


def _evidence(premises_id: str):
    name = f"premises-evidence:{premises_id[:100]}"
    store, f, v = _request_view(name)
    profile = gather_profile(store, f, premises_id, v["radius"])
    if profile is None:
        abort(404)
    shown = audited_export(name, evidence_frame(profile), f, Export(None, parts=("ed", "police")), v)
    return store, f, profile, shown


def register_routes(server) -> None:
    @server.route("/download/premises/list.csv")
    def premises_list_csv():
        store, f, v = _request_view("premises")
        rows = ranked_rows(store, f, v["radius"], v["types"], v["min"], v["q"])
        shown = premises_display(rows, store.scope.exact, exposure_ratio(f)).drop(columns=["premises_id"])
        shown.insert(1, "premises_id", rows["premises_id"])
        shown.insert(len(shown.columns), "radius_m", v["radius"])
        out = audited_export("premises", shown.rename(columns={"licence": "licence_type"}), f, Export(None), v)
        return csv_response(out, "istv-premises.csv")

    @server.route("/download/premises/<premises_id>/evidence.csv")
    def evidence_csv(premises_id: str):
        _, _, _, shown = _evidence(premises_id)
        return csv_response(shown, f"istv-evidence-{premises_id}.csv")

    @server.route("/download/premises/<premises_id>/evidence.html")
    def evidence_html(premises_id: str):
        store, f, profile, shown = _evidence(premises_id)
        names = queries.boroughs(store).set_index("code")["name"]
        borough = names.get(profile.premises["borough_code"], profile.premises["borough_code"])
        html_text = evidence_pack_html(profile, shown, store.scope.exact, date.today(), str(borough),
                                       pack_draw(current_config()))
        return Response(html_text, mimetype="text/html")

