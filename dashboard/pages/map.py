"""Map page: hex map of violence, borough filter and the monthly ED-vs-police chart."""
from __future__ import annotations

from datetime import date
from enum import StrEnum

import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from dashboard import figures
from dashboard.auth import guard
from dashboard.context import current_config, current_scope, current_store
from dashboard.url_state import from_query, to_query
from data import queries
from data.disclosure import ratio, show, suppress_parts
from data.filters import Filters

PATH, TITLE, PERMISSION = "/", "Map", "view_map"
MAP_RESOLUTION = 8


class Ids(StrEnum):
    BOROUGHS = "map-boroughs"
    DATES = "map-dates"
    MAP = "map-hexes"
    SERIES = "map-series"
    SUMMARY = "map-summary"
    NOTES = "map-notes"
    TABLE = "map-borough-table"
    DOWNLOAD = "map-download"


def default_filters(bounds: tuple[date, date] | None) -> Filters:
    """The last 12 months of data, all boroughs."""
    if bounds is None:
        return Filters()
    lo, hi = bounds
    start = date(hi.year, 1, 1) if hi.month == 12 else date(hi.year - 1, hi.month + 1, 1)
    start = max(lo, start)
    return Filters(start=start, end=hi)


def layout(search: str = "") -> html.Div:
    store = current_store()
    boroughs = queries.boroughs(store)
    bounds = queries.date_bounds(store)
    f, notes = from_query(search, set(boroughs["code"]), default_filters(bounds))
    options = [{"label": n, "value": c} for c, n in zip(boroughs["code"], boroughs["name"])]
    return html.Div([
        dbc.Row([
            dbc.Col([dbc.Label("Boroughs", html_for=Ids.BOROUGHS),
                     dcc.Dropdown(id=Ids.BOROUGHS, options=options, value=list(f.boroughs), multi=True,
                                  placeholder="All London" if current_scope().boroughs is None else "All your boroughs")], md=7),
            dbc.Col([dbc.Label("Period", html_for=Ids.DATES),
                     dcc.DatePickerRange(id=Ids.DATES, start_date=f.start, end_date=f.end,
                                         min_date_allowed=bounds[0] if bounds else None,
                                         max_date_allowed=bounds[1] if bounds else None,
                                         display_format="D MMM YYYY", first_day_of_week=1)], md=5),
        ], className="g-3 mb-2"),
        html.Div([dbc.Alert(n, color="warning", className="py-1 mb-2") for n in notes], id=Ids.NOTES),
        html.Div(id=Ids.SUMMARY, className="mb-2"),
        dbc.Row([
            dbc.Col(dcc.Graph(id=Ids.MAP, style={"height": "62vh"}, config={"scrollZoom": True}), lg=7),
            dbc.Col([dcc.Graph(id=Ids.SERIES, style={"height": "40vh"}),
                     html.Div([html.Span("Boroughs in this view", className="fw-semibold me-2"),
                               html.A("Download CSV", id=Ids.DOWNLOAD, href="/download/boroughs.csv",
                                      className="btn btn-sm btn-outline-secondary")],
                              className="d-flex align-items-center mt-2"),
                     html.Div(id=Ids.TABLE, style={"maxHeight": "30vh", "overflowY": "auto"}, className="mt-1"),
                     _help()], lg=5),
        ], className="g-3"),
    ])


def _help() -> dbc.Accordion:
    return dbc.Accordion([dbc.AccordionItem([
        html.P("Each hexagon (about 0.7 km²) is coloured by the number of incidents located in it in the chosen "
               "period: ED assault attendances whose location could be mapped, plus police-recorded "
               "'Violence and sexual offences'. Hover a hexagon for the split by source."),
        html.P("The chart compares monthly ED assaults (left axis) with police-recorded violence (right axis). "
               "ED assaults whose location could not be mapped count only when no borough is chosen. "
               "Only a quarter to a third of ED-treated assaults appear in police records, so the two lines "
               "show different parts of the same violence."),
        html.P("Police.uk data carries only the month, so police crimes count in a period when their month starts inside it."),
        html.P("Roles without record-level access see counts from 1 to 4 as '<5' and such hexagons in grey "
               "('fewer than 5'); a figure that would reveal a suppressed count is shown as '*'."),
    ], title="How to read this page")], start_collapsed=True, className="mt-2")


def summary_cards(t: dict[str, int], record_level: bool) -> dbc.Row:
    cards = [("ED assaults", show(t["ed"], record_level), "summary-ed"),
             ("Police violence", show(t["police"], record_level), "summary-police"),
             ("ED per police record", ratio(t["ed"], t["police"], record_level), "summary-ratio")]
    return dbc.Row([dbc.Col(dbc.Card(dbc.CardBody([html.Div(label, className="small text-muted"),
                                                   html.Div(f"{value:,}" if isinstance(value, int) else value,
                                                            className="fs-4 fw-bold", id=cid)])), xs=4)
                    for label, value, cid in cards], className="g-2")


def borough_table(table, record_level: bool) -> dbc.Table:
    shown = suppress_parts(table, ["ed", "police"], record_level)
    rows = [html.Tr([html.Td(n), html.Td(e, className="text-end"), html.Td(p, className="text-end"),
                     html.Td(ratio(re, rp, record_level), className="text-end")])
            for n, e, p, re, rp in zip(shown["name"], shown["ed"], shown["police"], table["ed"], table["police"])]
    head = html.Thead(html.Tr([html.Th("Borough"), html.Th("ED assaults", className="text-end"),
                               html.Th("Police violence", className="text-end"), html.Th("ED per police", className="text-end")]))
    return dbc.Table([head, html.Tbody(rows)], size="sm", striped=True, className="mb-0")


def update_view(boroughs: list[str] | None, start: str | None, end: str | None):
    """Callback body: filters in → map, chart, summary, borough table, CSV link and URL query out."""
    dates = sorted(d for d in (_day(start), _day(end)) if d is not None)  # a crafted reversed range is swapped
    f = Filters(boroughs=tuple(str(b) for b in boroughs or ()),
                start=dates[0] if start and dates else None, end=dates[-1] if end and dates else None)
    store = current_store()
    record_level = store.scope.record_level
    counts = queries.hex_counts(store, f, MAP_RESOLUTION)
    outlines = queries.borough_outlines(store, f.boroughs)
    fig_map = figures.hex_map(counts, outlines, style=current_config().map_style, record_level=record_level)
    fig_series = figures.monthly_series(queries.monthly_series(store, f), record_level)
    query = to_query(f)
    return (fig_map, fig_series, summary_cards(queries.totals(store, f), record_level),
            borough_table(queries.borough_table(store, f), record_level), "/download/boroughs.csv" + query, query)


def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def register_callbacks(app) -> None:
    app.callback(
        Output(Ids.MAP, "figure"), Output(Ids.SERIES, "figure"), Output(Ids.SUMMARY, "children"),
        Output(Ids.TABLE, "children"), Output(Ids.DOWNLOAD, "href"), Output("url", "search"),
        Input(Ids.BOROUGHS, "value"), Input(Ids.DATES, "start_date"), Input(Ids.DATES, "end_date"),
    )(guard(PERMISSION)(update_view))
