"""Map page: hot blocks or hexes, premises overlay, linked time series and day x hour chart.

The URL's query string is the page state. `collect` turns the controls, a click on the map, a
brush on the series or "clear selection" into a new state; `render` draws everything from the
state. When only values change (a filter, the colour mode) and the shapes on screen stay the
same, the map is updated with a Dash Patch instead of re-sending geometry.
"""
from __future__ import annotations

import hashlib
from datetime import date
from enum import StrEnum

import orjson

import dash_bootstrap_components as dbc
from flask_login import current_user
from h3.api import basic_int as h3i
from dash import ALL, ClientsideFunction, Input, Output, Patch, State as DashState, ctx, dcc, html, no_update

from dashboard import basemap, figures, figures_map
from dashboard.auth import guard
from dashboard.components.loading import loading
from dashboard.components.filters import borough_dropdown, period_picker
from dashboard.url_state import HISTORY, history_entry, parse_day, to_query
from dashboard.context import current_config, current_store
from dashboard.map_view import (OPACITIES, State, default_filters, map_data, map_values, parse_state, place_title,
                                selected_outline, summary, unit_names)
from dashboard.coverage import coverage_notes
from data.store import queries, queries_places
from data.store.queries_coverage import coverage, mask_uncovered
from data.access.disclosure import SECONDARY, is_small, show, suppress_parts
from data.store.filters import LOCATED_RULE, PERIOD_RULE
from data.store.queries import MAP_CONFIDENCE
from data.ingest.schema import CONFIDENCE_ORDER
from data.ingest.schema import ASSAULT_METHODS, GEOCODE_CONFIDENCE, POLICE_CATEGORIES
from layers.hexes import cell_str
from layers.hexes import resolution_for_zoom
from data.access.disclosure import ratio

PATH, TITLE, PERMISSION = "/", "Map", "view_map"
PREMISES_PERMISSION = "view_premises"  # the overlay shows premises' names, hours and counts
FILTER = "map-filter"  # pattern-matching id type of the filter controls: {"type": FILTER, "name": ...}


class Ids(StrEnum):
    DATES = "map-dates"
    MAP = "map-hexes"
    SERIES = "map-series"
    HEATMAP = "map-dayhour"
    SUMMARY = "map-summary"
    METHOD = "map-method"
    NOTES = "map-notes"
    TABLE = "map-borough-table"
    DOWNLOAD = "map-download"
    STATE = "map-state"
    GEO_KEY = "map-geo-key"
    CLEAR = "map-clear"
    SELECTION = "map-selection"
    SEARCH = "map-search"
    LEGEND = "map-legend"
    OUTLINE = "map-outline"
    FLY = "map-fly"
    FLOWN = "map-flown"
    OUTLINE_DRAWN = "map-outline-drawn"


def fid(name: str) -> dict:
    return {"type": FILTER, "name": name}


def _context():
    store = current_store()
    boroughs = queries.boroughs(store)
    return store, boroughs, default_filters(queries.date_bounds(store))


def source_options(store) -> list[dict]:
    """ED, police and every registered extra source (another agency's incidents) as checklist options."""
    extra = queries.extra_sources(store)
    return [{"label": " ED", "value": "ed"}, {"label": " Police", "value": "police"}] + [
        {"label": f" {n}", "value": c} for c, n in zip(extra["source"], extra["name"])]


def layout(search: str = "") -> html.Div:
    store, boroughs, default = _context()
    st = parse_state(search, set(boroughs["code"]), default)
    f = st.f
    bounds = queries.date_bounds(store)
    hour_opts = [{"label": f"{h:02d}:00", "value": h} for h in range(25)]

    def col(label, control, **kw):
        return dbc.Col([dbc.Label(label, className="small mb-0"), control], **kw)

    main = dbc.Row([
        col("Boroughs", borough_dropdown(fid("boroughs"), boroughs, f), md=4),
        col("Period", period_picker(Ids.DATES, f, bounds), md=3),
        col("Sources", dcc.Checklist(id=fid("sources"), options=source_options(store),
                                     value=list(f.sources), inline=True, inputClassName="me-1", labelClassName="me-3"), md=2),
        col("Show", dcc.RadioItems(id=fid("unit"), options=[{"label": " hexagons", "value": "hex"}, {"label": " street blocks", "value": "block"}],
                                   value=f.unit, inline=True, inputClassName="me-1", labelClassName="me-2"), md=3),
    ], className="g-2")
    more = dbc.Row([
        col("ED assault method", dcc.Dropdown(id=fid("methods"), options=[{"label": m.label, "value": m.code} for m in ASSAULT_METHODS],
                                              value=list(f.assault_methods), multi=True, placeholder="all methods"), md=3),
        col("Police categories", dcc.Dropdown(id=fid("pcats"), options=list(POLICE_CATEGORIES), value=list(f.police_categories),
                                              multi=True, placeholder="all categories"), md=3),
        col("Hours (ED)", html.Div([dcc.Dropdown(id=fid("hour_from"), options=hour_opts, value=f.hours[0] if f.hours else None, placeholder="from", style={"width": "48%"}),
                                    dcc.Dropdown(id=fid("hour_to"), options=hour_opts, value=f.hours[1] if f.hours else None, placeholder="to", style={"width": "48%"})],
                                   className="d-flex justify-content-between"), md=2),
        col("Weekdays (ED)", dcc.Checklist(id=fid("weekdays"), options=[{"label": d[0:2], "value": i} for i, d in enumerate(figures_map.DAYS)],
                                           value=list(f.weekdays), inline=True, inputClassName="me-1", labelClassName="me-2"), md=2),
        col("Min. location confidence", dcc.Dropdown(id=fid("confidence"), options=[{"label": c.label, "value": c.code} for c in GEOCODE_CONFIDENCE],
                                                     value=f.min_confidence, clearable=False), md=2),
    ], className="g-2 mt-1")
    view = dbc.Row([
        col("Colour by", dcc.RadioItems(id=fid("color"), options=[{"label": " count", "value": "count"}, {"label": " hot spots (Gi*)", "value": "gi"},
                                                                  {"label": " change vs previous period", "value": "change"}],
                                        value=st.color, inline=True, inputClassName="me-1", labelClassName="me-3"), md=5),
        col("Licensed premises", dbc.Switch(id=fid("premises"), value=st.premises and premises_allowed(), label="show on map",
                                            disabled=not premises_allowed()), md=2),
        col("Layers", html.Div([
            html.Div(dcc.Dropdown(id=fid("layers"), options=[{"label": "premises above", "value": "premises-top"},
                                                             {"label": "colours above", "value": "units-top"}],
                                  value="premises-top" if st.premises_on_top else "units-top", clearable=False,
                                  searchable=False), style={"minWidth": "9.5rem"}, title="Which layer is drawn on top"),
            html.Div(dcc.Dropdown(id=fid("opacity"), options=[{"label": f"{o:.0%} opaque", "value": o} for o in OPACITIES],
                                  value=st.opacity, clearable=False, searchable=False), style={"minWidth": "8rem"},
                     title="How opaque the hexagons or blocks are (lower shows the streets under them)")],
            className="d-flex gap-1"), md=3),
        dbc.Col(dbc.Button("Clear selection", id=Ids.CLEAR, size="sm", color="secondary", outline=True, className="mt-3"), md=2),
    ], className="g-2 mt-1")
    heading = dbc.Row([
        dbc.Col(html.H1("Map of violence", className="h4 mb-0"), md="auto", className="me-auto"),
        dbc.Col(dcc.Dropdown(id=Ids.SEARCH, options=[], placeholder="Search a street, premises, landmark or postcode",
                             searchable=True, clearable=True, optionHeight=44), md=5),
    ], className="g-2 align-items-center mb-2")
    controls = html.Div([
        main, dbc.Accordion([dbc.AccordionItem(more, title="More filters")], start_collapsed=not (f.assault_methods or f.hours or f.weekdays),
                            className="mt-2"), view,
        html.Div([dbc.Alert(n, color="warning", className="py-1 mb-2") for n in st.notes], id=Ids.NOTES, className="mt-2"),
        html.Div(id=Ids.SELECTION, className="small text-muted"),
        html.Div(id=Ids.SUMMARY, className="mb-2"),
    ], className="order-2 order-md-1")
    # at 768 px and below the map comes first, under the heading and the search box
    return html.Div([
        dcc.Store(id=Ids.STATE, data=st.query(default)), dcc.Store(id=Ids.GEO_KEY),
        dcc.Store(id=Ids.OUTLINE), dcc.Store(id=Ids.OUTLINE_DRAWN), dcc.Store(id=Ids.FLY), dcc.Store(id=Ids.FLOWN),
        heading, controls,
        dbc.Row([
            dbc.Col([dbc.Row([
                dbc.Col(loading(dcc.Graph(id=Ids.MAP, style={"height": "64vh"}, config={"scrollZoom": True}),
                                (Ids.MAP, "figure")), md=9),
                dbc.Col(html.Div(id=Ids.LEGEND, className="map-legend small", **{"aria-label": "Map legend"}), md=3),
            ], className="g-1"), html.Div(id=Ids.METHOD, className="small text-muted mt-1")], lg=7),
            dbc.Col([loading(html.Div([
                        dcc.Graph(id=Ids.SERIES, style={"height": "30vh"}, config={"displayModeBar": False}),
                        dcc.Graph(id=Ids.HEATMAP, style={"height": "24vh"}, config={"displayModeBar": False})]),
                        (Ids.SERIES, "figure"), (Ids.HEATMAP, "figure")),
                     html.Div([html.Span("Boroughs in this view", className="fw-semibold me-2"),
                               html.A("Download CSV", id=Ids.DOWNLOAD, href="/download/boroughs.csv",
                                      className="btn btn-sm btn-outline-secondary")], className="d-flex align-items-center mt-2"),
                     html.Div(id=Ids.TABLE, style={"maxHeight": "22vh", "overflowY": "auto"}, className="mt-1"),
                     _help()], lg=5),
        ], className="g-3 order-1 order-md-2 mb-2"),
    ], className="d-flex flex-column")


def _help() -> dbc.Accordion:
    return dbc.Accordion([dbc.AccordionItem([
        html.P("The map shows where the filtered incidents were: ED assault attendances placed on a street or better, and "
               "police-recorded crime of the chosen categories (by default 'Violence and sexual offences'). Hexagons get "
               "smaller as you zoom in; 'street blocks' are street segments between two junctions."),
        html.P("Colour by count groups places into classes. 'Hot spots' marks places whose neighbourhood (the place and "
               "the places touching it, Getis-Ord Gi*) has significantly more (red) or fewer (blue) incidents than a "
               "negative-binomial model of the study area's counts allows, with an exact test at a 5 % false discovery "
               "rate, and whose own count is unusual too. The study area is the selected boroughs (all you may see when "
               "none are), never the part of the map on screen: panning or zooming does not change a result. 'Change' "
               "compares the period with the equal period just before it, per day, with an exact test over every place "
               "of the study area; only significant changes are named."),
        html.P("Click a hexagon or block to see its monthly series and day-by-hour pattern; drag across the monthly chart "
               "to narrow the map to that period; 'Clear selection' undoes both. The link in the address bar reopens "
               "exactly this view."),
        html.P(PERIOD_RULE + " With an hour or weekday filter only ED records count (police.uk has no time)."),
        html.P(LOCATED_RULE + " The line under the cards says how many ED records of the view are placed well enough "
               "to be on the map. ED records whose location could not be placed in any borough count in all-London "
               "totals only, on the table's last row."),
        html.P("Roles without record-level access see counts from 1 to 4 as '<5' and such places as 'fewer than 5'; a "
               "figure that would reveal a suppressed count is shown as '*'."),
    ], title="How to read this page")], start_collapsed=True, className="mt-2")


# ---- state ----------------------------------------------------------------------------------

def whole_months(a: date, b: date) -> tuple[date, date]:
    """A brush on the monthly chart, widened to the whole months it touches (police.uk has months only)."""
    nxt = date(b.year + (b.month == 12), b.month % 12 + 1, 1)
    return date(a.year, a.month, 1), date.fromordinal(nxt.toordinal() - 1)


def _place_from_click(click: dict | None, unit: str, res: int | None):
    pts = (click or {}).get("points") or []
    if not pts or pts[0].get("curveNumber") != 0 or "location" not in pts[0]:
        return None
    loc = str(pts[0]["location"])
    try:
        return ("block", int(loc)) if unit == "block" else (f"h3_r{res or 8}", int(loc, 16))
    except ValueError:
        return None


def collect(values, start, end, relayout, click, brush, clear, found, state):
    """Callback body: controls, map click, series brush or 'clear' → the new page state (query string)."""
    store, boroughs, default = _context()
    st = parse_state(state or "", set(boroughs["code"]), default)
    names = [i["id"]["name"] for i in ctx.inputs_list[0]]
    v = dict(zip(names, values))
    hours = (v.get("hour_from"), v.get("hour_to"))
    dates = sorted(d for d in (parse_day(start), parse_day(end)) if d)
    try:
        f = st.f.with_(boroughs=tuple(v.get("boroughs") or ()), sources=tuple(v.get("sources") or ()),
                       assault_methods=tuple(v.get("methods") or ()), police_categories=tuple(v.get("pcats") or ()),
                       hours=hours if None not in hours and hours[0] != hours[1] else None,
                       weekdays=tuple(sorted(v.get("weekdays") or ())), min_confidence=v.get("confidence") or "none",
                       unit=v.get("unit") or "hex",
                       start=dates[0] if dates else st.f.start, end=dates[-1] if dates else st.f.end)
    except (ValueError, TypeError):
        return no_update, no_update, no_update  # a crafted request with values no control can produce
    st.color = v.get("color") if v.get("color") in figures_map.COLOUR_MODES else "count"
    st.premises = bool(v.get("premises")) and premises_allowed()
    st.premises_on_top = v.get("layers") != "units-top"
    st.opacity = v.get("opacity") if v.get("opacity") in OPACITIES else st.opacity
    trigger = ctx.triggered_id
    moved = False  # moving the map replaces the history entry; every other action adds one
    fly = no_update  # a search result: the map moves there at once (assets/map.js), whatever else is redrawn
    if f.unit != st.f.unit or f.boroughs != st.f.boroughs:
        f = f.with_(place=None)
    if trigger == Ids.CLEAR:
        f, st.sel = f.with_(place=None), None
    elif trigger == Ids.MAP and ctx.triggered[0]["prop_id"].endswith("clickData"):
        zoom = st.zoom or figures.fit_view(queries.borough_outlines(store, f.boroughs))[1]
        place = _place_from_click(click, f.unit, resolution_for_zoom(zoom))
        f = f.with_(place=place) if place else f
    elif trigger == Ids.MAP and relayout and "map.zoom" in relayout:
        st.center, st.zoom = relayout.get("map.center", st.center), float(relayout["map.zoom"])
        moved = True
    elif trigger == Ids.SEARCH and found:
        hit = queries_places.resolve(store, found, premises=premises_allowed())
        if hit is None:
            return no_update, no_update, no_update  # not something this viewer may find (or a crafted value)
        st.center, st.zoom = {"lat": hit.lat, "lon": hit.lon}, hit.zoom
        fly = {"lat": hit.lat, "lon": hit.lon, "zoom": hit.zoom}
        if f.unit == "block" and hit.block_id is not None:
            f = f.with_(place=("block", hit.block_id))
        elif f.unit == "hex":
            res = resolution_for_zoom(hit.zoom)
            f = f.with_(place=(f"h3_r{res}", int(h3i.latlng_to_cell(hit.lat, hit.lon, res))))
    elif trigger == Ids.SERIES and brush and brush.get("range", {}).get("x"):
        a, b = (parse_day(x) for x in brush["range"]["x"][:2])
        if a and b:
            st.sel = whole_months(min(a, b), max(a, b))
    st.f = f
    q = st.query(default)
    return q, history_entry(q, push=not moved), fly


def search_options(text, value, options):
    """Callback body: what the search box offers for the typed text (streets, premises, landmarks,
    postcodes the viewer may see), keeping the chosen one so the box still shows it."""
    kept = [o for o in (options or []) if isinstance(o, dict) and o.get("value") == value]
    if not text or len(text.strip()) < 2:
        return kept if value else no_update
    found = queries_places.search(current_store(), text, premises=premises_allowed())
    offered = [{"label": f"{queries_places.KIND_LABEL[h.value.split(':')[0]]}: {h.label}", "value": h.value} for h in found]
    return kept + [o for o in offered if o["value"] != value]  # none: the box says it found nothing


def premises_allowed() -> bool:
    """The premises overlay shows what the premises page shows, so it needs that page's permission."""
    return current_user.is_authenticated and current_user.can(PREMISES_PERMISSION)


# ---- render ---------------------------------------------------------------------------------

def render(state: str, geo_key: str | None):
    """Callback body: the page state → map (full or Patch), series, heatmap, summary, table, link."""
    store, boroughs, default = _context()
    st = parse_state(state or "", set(boroughs["code"]), default)
    record_level = store.scope.exact
    outlines = queries.borough_outlines(store, st.f.boroughs)
    md = map_data(store, st, outlines)
    z, hover, classes = map_values(md, st.color, record_level)
    st.premises = st.premises and premises_allowed()  # names, hours and counts of premises: that page's permission
    # premises markers are more traces, their layer order moves layers: neither is patchable
    key = md.geo_key + ("|premises" if st.premises else "") + ("" if st.premises_on_top else "|units-top")
    outline = selected_outline(store, st)
    shapes_key, shown = (geo_key or "#").split("#", 1) if geo_key else ("", "")
    values = _values_key(z, hover, classes, st.opacity)
    if key == shapes_key and not st.premises:
        # same shapes on screen: send values only, and nothing when they are the same (a click: the outline
        # is drawn on its own, assets/map.js)
        fig_map = Patch() if values != shown else no_update
        if values != shown:
            units = fig_map["data"][0]
            units["z"] = z
            units["customdata"] = hover
            units["colorscale"] = figures_map._discrete_scale(classes.colours)
            units["zmax"] = len(classes.labels) - 0.5
            units["colorbar"] = figures_map.colorbar(classes)
            units["marker"]["opacity"] = st.opacity
            fig_map["layout"]["annotations"] = figures_map.map_annotations(md.note, empty=not len(z))
        if st.center and fig_map is not no_update:  # a search moves the map (where it is when the person moved it)
            fig_map["layout"]["map"]["center"], fig_map["layout"]["map"]["zoom"] = st.center, st.zoom
            fig_map["layout"]["uirevision"] = _view_revision(st)
    else:
        geo, ids = figures_map.unit_geojson(md.units, md.kind, md.shapes)
        center, zoom = (st.center, st.zoom) if st.center else figures.fit_view(outlines)
        prem = queries.premises_near(store, st.map_filters) if st.premises else None
        fig_map = figures_map.unit_map(geo, ids, z, hover, classes, outlines, style=map_style(),
                                       names=unit_names(store, md), center=center, zoom=zoom,
                                       premises=prem, premises_on_top=st.premises_on_top, opacity=st.opacity,
                                       record_level=record_level, note=md.note)
        fig_map["layout"]["uirevision"] = _view_revision(st)
    series_f = st.f  # the series keeps the whole period (the brush is drawn on it)
    cov = coverage(store)
    fig_series = figures.monthly_series(mask_uncovered(queries.monthly_series(store, series_f), cov), record_level,
                                        queries.extras_label(store, series_f.extras))
    if st.sel and fig_series["data"]:
        fig_series["layout"]["shapes"] = [{"type": "rect", "xref": "x", "yref": "y domain", "x0": str(st.sel[0]),
                                           "x1": str(st.sel[1]), "y0": 0, "y1": 1, "fillcolor": "#f4a582",
                                           "opacity": 0.25, "line": {"width": 0}}]
    fig_series["layout"].update(dragmode="select", selectdirection="h", clickmode="none")
    fig_heat = figures_map.day_hour_heatmap(queries.day_hour(store, st.selection_filters), record_level)
    table = queries.borough_table(store, st.selection_filters.with_(place=None))
    in_view = list(st.f.boroughs) or list(boroughs["code"])
    notes = coverage_notes(cov, st.f.start, st.f.end, st.f.sources, in_view, dict(zip(boroughs["code"], boroughs["name"])),
                           st.f.unit, premises=st.premises)
    method = [html.Div(n, className="map-method-note") for n in method_notes(store, st, md, record_level)]
    return (fig_map, fig_series, fig_heat, summary_cards(summary(store, st, record_level), notes),
            borough_table(table, record_level), "/download/boroughs.csv" + to_query(st.selection_filters.with_(place=None)),
            selection_text(st, place_title(store, st)), f"{key}#{values}", method, legend(classes, st, md.kind),
            [[lon, lat] for lat, lon in zip(*outline)])


def _values_key(z, hover, classes, opacity) -> str:
    """A digest of the values the map shows: the same digest, nothing to send again."""
    return hashlib.blake2b(orjson.dumps([list(map(int, z)), hover, classes.labels, classes.colours, opacity]),
                           digest_size=10).hexdigest()


def _view_revision(st: State) -> str:
    """Plotly keeps the map where the person moved it while this stays the same; the view in the state
    changes it, so a search result or a link moves the map (after a move of the person's own it is
    where they already are)."""
    return f"map|{st.center['lat']:.4f},{st.center['lon']:.4f},{st.zoom:.2f}" if st.center else "map"


def _swatch(colour: str, opacity: float = 1.0, shape: str = "square") -> html.Span:
    return html.Span(className=f"legend-swatch legend-{shape}", style={"background": colour, "opacity": opacity})


def legend(classes, st: State, kind: str) -> list:
    """One key per layer, beside the map: the units' colour classes, the selected unit, borough
    boundaries, and the premises by licence type when they are shown."""
    units = "Street blocks" if kind == "block" else "Hexagons"
    out = [html.Div(f"{units}: {classes.title[:1].lower()}{classes.title[1:]}", className="fw-semibold"),  # keeps "Gi*", "FDR"
           html.Ul([html.Li([_swatch(c, st.opacity), label]) for c, label in zip(classes.colours, classes.labels)],
                   className="list-unstyled mb-2", id="map-legend-units")]
    out.append(html.Ul([html.Li([html.Span(className="legend-line", style={"borderColor": "#555"}), "borough boundary"]),
                        html.Li([html.Span(className="legend-line legend-thick",
                                           style={"borderColor": figures_map.SELECTED_COLOUR}), "selected place"])],
                       className="list-unstyled mb-2"))
    if st.premises:
        out += [html.Div("Licensed premises", className="fw-semibold"),
                html.Ul([html.Li([_swatch(c, shape="dot"), t.replace("_", " ")]) for t, c in figures_map.PREMISES_COLOURS.items()]
                        + [html.Li([_swatch("#f7f7f7", shape="dot cluster"), "a group (the number of premises); zoom in"])],
                        className="list-unstyled mb-1", id="map-legend-premises"),
                html.Div("Premises are drawn " + ("on top of" if st.premises_on_top else "under") + " the colours (Layers).",
                         className="text-muted")]
    return out


def map_style():
    return basemap.map_style()


def method_notes(store, st: State, md, record_level: bool) -> list[str]:
    """What this view counts and tests: the counted period, the located rule's share, the map's method."""
    f = st.selection_filters
    out = []
    if not record_level:
        out.append("Your role sees protected counts: each is perturbed by a small fixed amount and rounded to 5, counts "
                   "under 5 show as <5, and periods are counted in whole calendar months (docs/disclosure.md).")
    if f.widened:
        c = f.counted()
        out.append(f"Counting {c.start:%d %b %Y} to {c.end:%d %b %Y}: whole months, because police.uk gives only the "
                   "month of a crime.")
    if "ed" in f.sources:
        every = queries.totals(store, f)["ed"]
        placed = queries.totals(store, f.with_(min_confidence=max(f.min_confidence, MAP_CONFIDENCE,
                                                                  key=CONFIDENCE_ORDER.get)))["ed"]
        if every and placed != every:
            # the difference is a count too: hide the placed count when it would give away 1-4 unplaced records
            shown = SECONDARY if not record_level and is_small(every - placed) else fmt_count(placed, record_level)
            out.append(f"The map and any selected place count the {shown} ED assaults placed on "
                       f"a street or at a venue, of {fmt_count(every, record_level)} in the totals.")
    if md.method:
        out.append(md.method)
    return out


def fmt_count(n: int, record_level: bool) -> str:
    v = show(n, record_level)
    return f"{v:,}" if isinstance(v, int) else str(v)


def selection_text(st: State, place: str = "") -> str:
    bits = []
    if st.f.place:
        kind, ident = st.f.place
        bits.append(place or (f"street block {ident}" if kind == "block" else f"hexagon {cell_str([ident])[0]}"))
    if st.sel:
        bits.append(f"{st.sel[0]:%d %b %Y} to {st.sel[1]:%d %b %Y}")
    return ("Selection: " + " · ".join(bits) + " (Clear selection to undo)") if bits else ""


def summary_cards(s: dict, notes: list[str] = ()) -> html.Div:
    """The summary cards, then what the loaded data does not cover (gaps are gaps, not zeros)."""
    def fmt(v):
        return f"{v:,}" if isinstance(v, int) else v
    cards = [("ED assaults", fmt(s["ed"]), s.get("ed_change"), "summary-ed"),
             ("Police violence", fmt(s["police"]), s.get("police_change"), "summary-police"),
             ("ED per police record", s["ratio"], None, "summary-ratio")]
    if "other" in s:
        cards.insert(2, (s["other_label"], fmt(s["other"]), s.get("other_change"), "summary-other"))
    row = dbc.Row([dbc.Col(dbc.Card(dbc.CardBody([
        html.Div(label, className="small text-muted"),
        html.Div([html.Span(value, id=cid, className="fs-4 fw-bold me-2"),
                  html.Span(f"{change} vs previous period", className="small text-muted", id=f"{cid}-change") if change else None]),
    ])), xs=12 // len(cards)) for label, value, change, cid in cards], className="g-2")
    if s.get("ratio_months"):
        notes = [*notes, f"ED per police record counts only the months both sources cover ({s['ratio_months']})."]
    return html.Div([row, html.Div([dbc.Alert(n, color="info", className="py-1 px-2 mb-1 small") for n in notes],
                                   id="map-coverage", className="mt-2")])


def borough_table(table, record_level: bool) -> dbc.Table:
    shown = suppress_parts(table, ["ed", "police"], record_level)
    rows = [html.Tr([html.Td(n), html.Td(e, className="text-end"), html.Td(p, className="text-end"),
                     html.Td(ratio(re, rp, record_level), className="text-end")])
            for n, e, p, re, rp in zip(shown["name"], shown["ed"], shown["police"], table["ed"], table["police"])]
    head = html.Thead(html.Tr([html.Th("Borough"), html.Th("ED assaults", className="text-end"),
                               html.Th("Police violence", className="text-end"), html.Th("ED per police", className="text-end")]))
    return dbc.Table([head, html.Tbody(rows)], size="sm", striped=True, className="mb-0")


def register_callbacks(app) -> None:
    app.callback(
        Output(Ids.STATE, "data"), Output(HISTORY, "data", allow_duplicate=True), Output(Ids.FLY, "data"),
        Input({"type": FILTER, "name": ALL}, "value"), Input(Ids.DATES, "start_date"), Input(Ids.DATES, "end_date"),
        Input(Ids.MAP, "relayoutData"), Input(Ids.MAP, "clickData"), Input(Ids.SERIES, "selectedData"), Input(Ids.CLEAR, "n_clicks"),
        Input(Ids.SEARCH, "value"), DashState(Ids.STATE, "data"), prevent_initial_call=True,
    )(guard(PERMISSION)(collect))
    app.callback(Output(Ids.SEARCH, "options"), Input(Ids.SEARCH, "search_value"), DashState(Ids.SEARCH, "value"),
                 DashState(Ids.SEARCH, "options"), prevent_initial_call=True)(guard(PERMISSION)(search_options))
    app.callback(
        Output(Ids.MAP, "figure"), Output(Ids.SERIES, "figure"), Output(Ids.HEATMAP, "figure"), Output(Ids.SUMMARY, "children"),
        Output(Ids.TABLE, "children"), Output(Ids.DOWNLOAD, "href"), Output(Ids.SELECTION, "children"), Output(Ids.GEO_KEY, "data"),
        Output(Ids.METHOD, "children"), Output(Ids.LEGEND, "children"), Output(Ids.OUTLINE, "data"),
        Input(Ids.STATE, "data"), DashState(Ids.GEO_KEY, "data"),
    )(guard(PERMISSION)(render))
    app.clientside_callback(ClientsideFunction("istv_map", "outline"), Output(Ids.OUTLINE_DRAWN, "data"),
                            Input(Ids.OUTLINE, "data"), DashState(Ids.MAP, "id"))
    app.clientside_callback(ClientsideFunction("istv_map", "fly"), Output(Ids.FLOWN, "data"),
                            Input(Ids.FLY, "data"), DashState(Ids.MAP, "id"), prevent_initial_call=True)
