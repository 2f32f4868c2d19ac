"""Map page: hex map of violence, borough filter and the monthly ED-vs-police chart."""
from __future__ import annotations

from datetime import date
from enum import StrEnum

import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from dashboard import figures
from dashboard.context import current_config, current_store
from dashboard.url_state import from_query, to_query
from data import queries
from data.filters import Filters

PATH, TITLE = "/", "Map"
MAP_RESOLUTION = 8


class Ids(StrEnum):
    BOROUGHS = "map-boroughs"
    DATES = "map-dates"
    MAP = "map-hexes"
    SERIES = "map-series"
    SUMMARY = "map-summary"
    NOTES = "map-notes"


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
                                  placeholder="All London")], md=7),
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
            dbc.Col([dcc.Graph(id=Ids.SERIES, style={"height": "40vh"}), _help()], lg=5),
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
    ], title="How to read this page")], start_collapsed=True, className="mt-2")


def summary_cards(t: dict[str, int]) -> dbc.Row:
    ratio = f"{t['ed'] / t['police']:.2f}" if t["police"] else "–"
    cards = [("ED assaults", f"{t['ed']:,}", "summary-ed"), ("Police violence", f"{t['police']:,}", "summary-police"),
             ("ED per police record", ratio, "summary-ratio")]
    return dbc.Row([dbc.Col(dbc.Card(dbc.CardBody([html.Div(label, className="small text-muted"),
                                                   html.Div(value, className="fs-4 fw-bold", id=cid)])), xs=4)
                    for label, value, cid in cards], className="g-2")


def update_view(boroughs: list[str] | None, start: str | None, end: str | None):
    """Callback body: filters in → map, chart, summary and URL query out."""
    dates = sorted(d for d in (_day(start), _day(end)) if d is not None)  # a crafted reversed range is swapped
    f = Filters(boroughs=tuple(str(b) for b in boroughs or ()),
                start=dates[0] if start and dates else None, end=dates[-1] if end and dates else None)
    store = current_store()
    counts = queries.hex_counts(store, f, MAP_RESOLUTION)
    outlines = queries.borough_outlines(store, f.boroughs)
    fig_map = figures.hex_map(counts, outlines, style=current_config().map_style)
    fig_series = figures.monthly_series(queries.monthly_series(store, f))
    return fig_map, fig_series, summary_cards(queries.totals(store, f)), to_query(f)


def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def register_callbacks(app) -> None:
    app.callback(
        Output(Ids.MAP, "figure"), Output(Ids.SERIES, "figure"), Output(Ids.SUMMARY, "children"),
        Output("url", "search"),
        Input(Ids.BOROUGHS, "value"), Input(Ids.DATES, "start_date"), Input(Ids.DATES, "end_date"),
    )(update_view)
