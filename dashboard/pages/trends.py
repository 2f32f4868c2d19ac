"""Trends page (CSP managers): ED vs police over time, year on year, per 1,000 residents, seasonality,
the borough ranking, ED assaults per police-recorded violent crime, and how concentrated violence is
on street blocks."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, dcc, html
from flask import abort, request

from dashboard import figures, figures_strategic as fs
from dashboard.auth import guard
from dashboard.components.filters import extras_control, month_options
from dashboard.context import current_scope, current_store
from dashboard.exports import Export, audited_export, csv_response, require_export
from dashboard.url_state import from_query, parse_month, to_query, HISTORY
from data.access import disclosure
from data.store import queries
from data.store import queries_trends as qs
from data.store.queries_coverage import coverage, mask_uncovered
from data.store.filters import ALL_SOURCES, Filters

PATH, TITLE, PERMISSION = "/trends", "Trends", "view_trends"
MEASURES = ("count", "rate")
EXTRA = ("measure", "rank")
METHOD = ("Method: ED assaults by borough and month of the assault; police = police.uk 'Violence and sexual offences' "
          "by police.uk month; 12m = sum of the 12 months to the month; per_1000 = 12-month count per 1,000 residents; "
          "ranking rates are yearly (count x 12 / months in the period); ed_per_police compares two recordings of "
          "violence that cannot be matched, it is not a count of unreported assaults; counts 1-4 shown as <5 and "
          "figures built from them as * for roles without record-level access.")
RATIO_TITLE = "ED assaults per police-recorded violent crime"


class Ids(StrEnum):
    BOROUGHS = "trends-boroughs"
    FROM = "trends-from"
    TO = "trends-to"
    MEASURE = "trends-measure"
    RANK_BY = "trends-rank-by"
    EXTRAS = "trends-extras"
    NOTES = "trends-notes"
    CARDS = "trends-cards"
    MONTHLY = "trends-monthly"
    ROLLING = "trends-rolling"
    RATIO = "trends-ratio"
    SEASON = "trends-season"
    RANKING = "trends-ranking"
    DOWNLOAD = "trends-download"
    DOWNLOAD_BOROUGHS = "trends-download-boroughs"
    CONCENTRATION = "trends-concentration"
    CONCENTRATION_CHART = "trends-concentration-chart"


@dataclass(frozen=True)
class View:
    """Everything the trends page shows for one filter, computed once (page, exports)."""
    filters: Filters
    trend: pd.DataFrame
    yoy: dict
    season: pd.DataFrame
    ranking: pd.DataFrame
    population: int


def default_filters(bounds: tuple[date, date] | None) -> Filters:
    """Every whole month of data, all boroughs in scope."""
    return Filters() if bounds is None else Filters(start=qs.month_start(bounds[0]), end=qs.month_end(bounds[1]))


def read_state(store, search: str) -> tuple[Filters, list[str], str, str, tuple[date, date] | None]:
    """Filters, notes, measure and rank-by from a query string; dates widened to whole months."""
    bounds = queries.date_bounds(store)
    known = set(queries.boroughs(store)["code"])
    f, notes, extra = from_query(search, known, default_filters(bounds), EXTRA)
    whole = qs.whole_months(f)
    if whole != f:
        notes.append("Trends count whole months: the period was widened to the months it touches")
    measure, rank_by = extra.get("measure", "count"), extra.get("rank", "police")
    if measure not in MEASURES:
        notes.append(f"Ignored 'measure={measure[:40]}': expected count or rate")
        measure = "count"
    if rank_by not in qs.RANK_BY:
        notes.append(f"Ignored 'rank={rank_by[:40]}': expected police or ed")
        rank_by = "police"
    return whole, notes, measure, rank_by, bounds


def compute(store, f: Filters, rank_by: str, bounds: tuple[date, date] | None) -> View | None:
    """The page's numbers for a filter with a start and an end (None for an empty database)."""
    if bounds is None or f.start is None or f.end is None:
        return None
    first = min(qs.month_start(bounds[0]), qs.month_start(f.start))
    counts = mask_uncovered(qs.monthly_counts(store, f, first, f.end), coverage(store))  # gaps, not zeros
    pop = qs.population(store, f)
    trend = qs.trend_frame(counts, bounds[0], f.start, pop)
    ranking = qs.borough_ranking(store, f, qs.months_between(f.start, f.end), rank_by)
    return View(f, trend, qs.year_on_year(counts, bounds[0], f.end), qs.seasonality(trend), ranking, pop)


def layout(search: str = "") -> html.Div:
    store = current_store()
    f, notes, measure, rank_by, bounds = read_state(store, search)
    boroughs = queries.boroughs(store)
    months = month_options(bounds)
    options = [{"label": n, "value": c} for c, n in zip(boroughs["code"], boroughs["name"])]
    all_label = "All London" if current_scope().boroughs is None else "All your boroughs"
    return html.Div([
        html.H1("Trends", className="h4"),
        dbc.Row([
            dbc.Col([dbc.Label("Boroughs", html_for=Ids.BOROUGHS),
                     dcc.Dropdown(id=Ids.BOROUGHS, options=options, value=list(f.boroughs), multi=True, placeholder=all_label)], md=5),
            dbc.Col([dbc.Label("From", html_for=Ids.FROM),
                     dcc.Dropdown(id=Ids.FROM, options=months, value=f.start and f"{f.start:%Y-%m}", clearable=False)], md=2),
            dbc.Col([dbc.Label("To", html_for=Ids.TO),
                     dcc.Dropdown(id=Ids.TO, options=months, value=f.end and f"{f.end:%Y-%m}", clearable=False)], md=2),
            dbc.Col([dbc.Label("12-month lines as"),
                     dbc.RadioItems(id=Ids.MEASURE, value=measure, inline=True,
                                    options=[{"label": "counts", "value": "count"}, {"label": "per 1,000 residents", "value": "rate"}])], md=3),
        ], className="g-3 mb-2"),
        extras_control(Ids.EXTRAS, store, f),
        html.Div([dbc.Alert(n, color="warning", className="py-1 mb-2") for n in notes], id=Ids.NOTES),
        html.Div(id=Ids.CARDS, className="mb-2"),
        dbc.Row([
            dbc.Col([html.H3("Each month", className="h6"), dcc.Graph(id=Ids.MONTHLY, style={"height": "34vh"})], lg=6),
            dbc.Col([html.H3("Rolling 12 months", className="h6"), dcc.Graph(id=Ids.ROLLING, style={"height": "34vh"})], lg=6),
            dbc.Col([html.H3(RATIO_TITLE, className="h6"),
                     dcc.Graph(id=Ids.RATIO, style={"height": "30vh"})], lg=6),
            dbc.Col([html.H3("Seasonality: an average month", className="h6"),
                     dcc.Graph(id=Ids.SEASON, style={"height": "30vh"})], lg=6),
        ], className="g-3"),
        dbc.Row([
            dbc.Col([html.Div([html.H3("Boroughs ranked by yearly rate per 1,000 residents", className="h6 me-3 mb-0"),
                               dbc.RadioItems(id=Ids.RANK_BY, value=rank_by, inline=True,
                                              options=[{"label": "police violence", "value": "police"},
                                                       {"label": "ED assaults", "value": "ed"}])],
                              className="d-flex align-items-center flex-wrap"),
                     dcc.Graph(id=Ids.RANKING)], lg=7),
            dbc.Col([html.Div([html.A("Download monthly trends (CSV)", id=Ids.DOWNLOAD, href="#",
                                      className="btn btn-sm btn-outline-secondary me-2 mb-2"),
                               html.A("Download borough ranking (CSV)", id=Ids.DOWNLOAD_BOROUGHS, href="#",
                                      className="btn btn-sm btn-outline-secondary mb-2")]),
                     _help()], lg=5),
        ], className="g-3 mt-1"),
        html.H3("How concentrated is violence", className="h5 mt-3"),
        dbc.Row([
            dbc.Col(dcc.Graph(id=Ids.CONCENTRATION_CHART, style={"height": "34vh"}), lg=6),
            dbc.Col(html.Div(id=Ids.CONCENTRATION), lg=6),
        ], className="g-3"),
    ])


def _help() -> dbc.Accordion:
    return dbc.Accordion([dbc.AccordionItem([
        html.P("ED assaults are attendances at London's Emergency Departments after an assault, counted in the "
               "borough where the assault happened (records whose place could not be found count only for all London). "
               "Police violence is police-recorded 'Violence and sexual offences' (police.uk, month only)."),
        html.P("Each month: the raw monthly counts, ED on the left axis and police on the right. Rolling 12 months: "
               "each point adds up the 12 months to that month, which removes the seasons; 'per 1,000 residents' "
               "divides it by the boroughs' population (a yearly rate, comparable between boroughs)."),
        html.P("Year on year compares the 12 months to the end of the period with the 12 months before."),
        html.P(f"{RATIO_TITLE} compares two different recordings of violence: Emergency Department attendances "
               "after an assault, and violence recorded by the police. It changes when either changes: how the "
               "police record crime, which EDs send records and how completely, and how many victims report to "
               "the police. An assault treated at an ED and reported to the police is in both counts, and the "
               "two cannot be matched (police.uk data are anonymised), so ED plus police is not a count of "
               "distinct assaults, and the ratio is not a measure of unreported violence."),
        html.P("Seasonality averages each calendar month over the years in the period. The ranking covers every "
               "borough you may see, with yours highlighted; rates are per 1,000 residents a year over the period."),
        html.P("How concentrated is violence: the street blocks of the boroughs in view, busiest first, against "
               "the share of incidents they hold, and the share they would hold if the same number of incidents "
               "fell on streets at random, each block's chance in proportion to its length."),
        html.P("Roles without record-level access see counts from 1 to 4 as '<5', and rates, ratios or shares "
               "built from them as '*' or a gap in the line."),
    ], title="How to read this page"), dbc.AccordionItem(_method(), title="Method")],
        start_collapsed=True, className="mt-2")


def _method() -> list:
    return [
        html.P("Units: calendar months and boroughs. Periods are widened to whole months. A month counts the "
               "police.uk records of that month (police.uk gives only the month) and the ED assaults whose date of "
               "assault falls in it (not the date of attendance). A month a source has no data loaded for is a gap, "
               "not a zero. ED assaults count in the borough where the assault happened; police violence is "
               "police.uk 'Violence and sexual offences'."),
        html.P("Rates are per 1,000 residents of the boroughs in view, using the population loaded with the "
               "borough boundaries (ONS mid-2021 estimates when the boundary file has none); the ranking's rates "
               "are yearly: count x 12 / months in the period / population x 1,000."),
        html.P("Concentration: every street block of the boroughs in view (blocks without incidents included), "
               "with the incidents the block map counts: ED records placed on a street or better and police records "
               "(an incident placed on a block of another borough is left out). Blocks are ranked busiest first, "
               "ties by block id; the busiest x % is x % of the blocks, rounded up. The random share is the mean "
               "over 200 random allocations (seed 0) of the same number of incidents, each to a block with "
               "probability proportional to its length; blocks without a recorded length count as blocks but get "
               "none at random."),
        html.P("Disclosure: roles without record-level access see counts from 1 to 4 as '<5'; a rate, ratio or "
               "share that would let such a count be worked out is '*' or a gap in a line; all shares are hidden "
               "when fewer than 5 incidents are on street blocks. Roles with record-level access see every number."),
    ]


def _pct(change) -> str:
    return "–" if change is None else f"{change:+.1f} %"


def cards(view: View, record_level: bool) -> dbc.Row:
    """Year-on-year, rate and ratio summary of the last 12 months of the view."""
    yoy, last = view.yoy, view.trend.iloc[-1] if len(view.trend) else None
    per = 1000 / view.population if view.population else float("nan")
    items = []
    for src, label in (("ed", "ED assaults"), ("police", "Police violence")):
        y = yoy[src]
        cur, prev = y["current"], y["previous"]
        change = _pct(y["change_pct"]) if record_level or not (disclosure.is_small(cur) or disclosure.is_small(prev)) else "*"
        if y["months"] < 12:  # missing months are not zeros: no yearly rate, no comparison
            sub = f"{y['months']} of these 12 months have {'ED' if src == 'ed' else 'police'} data loaded"
        else:
            rate = "*" if not record_level and disclosure.is_small(cur) else f"{cur * per:.2f}"
            sub = f"{change} on the year before · {rate} per 1,000 residents"
        items.append((f"{label}, 12 months to {view.filters.end:%b %Y}", disclosure.show(cur, record_level) if y["months"] else "no data",
                      sub, f"trends-card-{src}"))
    both = yoy["ed"]["both_months"]
    ratio = disclosure.ratio(yoy["ed"]["both"], yoy["police"]["both"], record_level) if both else "–"
    items.append((f"{RATIO_TITLE}, 12 months", ratio,
                  ("two recordings of violence, not matched" if both == 12 else f"over the {both} months both sources cover")
                  if last is not None else "",
                  "trends-card-ratio"))
    return dbc.Row([dbc.Col(dbc.Card(dbc.CardBody([
        html.Div(label, className="small text-muted"),
        html.Div(f"{v:,}" if isinstance(v, int) else v, className="fs-4 fw-bold", id=cid),
        html.Div(sub, className="small", id=f"{cid}-sub")])), md=4) for label, v, sub, cid in items], className="g-2")


def view_filters(store, boroughs, start, end, extras=()) -> tuple[Filters, tuple[date, date] | None]:
    """The filter of the page's inputs (every month of data when none is chosen) and the data's bounds.

    extras: registered extra sources to draw beside ED and police (others are ignored)."""
    months = sorted(m for m in (parse_month(start), parse_month(end)) if m is not None)  # a crafted reversed range is swapped
    bounds = queries.date_bounds(store)
    default = default_filters(bounds)
    return Filters(boroughs=tuple(str(b) for b in boroughs or ()),
                   start=months[0] if months else default.start,
                   end=qs.month_end(months[-1]) if months else default.end,
                   sources=ALL_SOURCES + queries.registered(store, extras)), bounds


def update_view(boroughs, start, end, measure, rank_by, extras=()):
    """Callback body: filters in → cards, five charts, two CSV links and the URL query out."""
    store = current_store()
    record_level = store.scope.exact
    f, bounds = view_filters(store, boroughs, start, end, extras)
    measure = measure if measure in MEASURES else "count"
    rank_by = rank_by if rank_by in qs.RANK_BY else "police"
    query = to_query(f, extra={"measure": measure if measure != "count" else "", "rank": rank_by if rank_by != "police" else ""})
    view = compute(store, f, rank_by, bounds)
    if view is None:
        empty = figures.empty_figure("No data loaded yet")
        return (html.P("No data loaded yet."), empty, empty, empty, empty, empty, "#", "#", query)
    trend = view.trend
    return (cards(view, record_level),
            figures.monthly_series(trend[["month", "ed", "police", "other"]], record_level, queries.extras_label(store, f.extras)),
            fs.rolling_chart(trend, measure, record_level), fs.ratio_chart(trend, record_level),
            fs.seasonality_chart(view.season, record_level),
            fs.ranking_chart(view.ranking, f.boroughs or store.scope.boroughs or (), rank_by, record_level),
            "/download/strategic/trends-monthly.csv" + query, "/download/strategic/trends-boroughs.csv" + query, query)


HEADLINE_SHARE = 0.05


def concentration_panel(c: qs.Concentration | None, record_level: bool) -> tuple[html.Div, go.Figure]:
    """Headline, table and notes of "How concentrated is violence", and its chart."""
    if c is None or not c.blocks or not c.total:
        text = ("No data loaded yet." if c is None else
                "No street network loaded for these boroughs, so no concentration." if not c.blocks else
                "No incidents on street blocks in this view, so no concentration.")
        return html.P(text, id=f"{Ids.CONCENTRATION}-headline"), figures.empty_figure(text)
    rows = fs.concentration_rows(c.table, c.curve, c.total, record_level)
    head = rows.iloc[list(c.table.index).index(HEADLINE_SHARE)]
    if not record_level and disclosure.is_small(c.total):
        headline = "Fewer than 5 incidents are on street blocks in this view, so the shares are hidden (*)."
    else:
        headline = (f"The busiest {head['busiest']} of street blocks ({head['blocks']} of {c.blocks:,}) hold "
                    f"{head['observed']} of the view's incidents on street blocks; at random (by street length) "
                    f"they would hold {head['random']}.")
    total = disclosure.show(c.total, record_level)
    notes = [f"{total:,}" if isinstance(total, int) else total]
    notes[0] += f" incidents on {c.blocks:,} street blocks"
    if (rows[["observed", "ratio"]] == disclosure.SECONDARY).any().any():
        notes.append("* hidden: the share would let a count of 1-4 be worked out")
    if c.unallocated:
        notes.append(f"{c.unallocated:,} blocks have no recorded length: they count as blocks but get no incidents at random")
    table = dbc.Table([
        html.Thead(html.Tr([html.Th(h) for h in ("Busiest", "Blocks", "Share of incidents",
                                                 "At random (by length)", "Times random")])),
        html.Tbody([html.Tr([html.Td(r[k]) for k in ("busiest", "blocks", "observed", "random", "ratio")])
                    for _, r in rows.iterrows()]),
    ], size="sm", bordered=False, striped=True, className="mb-1", id=f"{Ids.CONCENTRATION}-table")
    return (html.Div([html.P(headline, className="fw-semibold", id=f"{Ids.CONCENTRATION}-headline"), table,
                      html.P(" · ".join(notes), className="small text-muted")]),
            fs.concentration_chart(c.table, c.curve, c.total, record_level))


def update_concentration(boroughs, start, end):
    """Callback body: filters in → the concentration section (its own callback: the random draws take a while)."""
    store = current_store()
    f, bounds = view_filters(store, boroughs, start, end)
    return concentration_panel(None if bounds is None else qs.block_concentration(store, f), store.scope.exact)


def register_callbacks(app) -> None:
    app.callback(
        Output(Ids.CONCENTRATION, "children"), Output(Ids.CONCENTRATION_CHART, "figure"),
        Input(Ids.BOROUGHS, "value"), Input(Ids.FROM, "value"), Input(Ids.TO, "value"),
    )(guard(PERMISSION)(update_concentration))
    app.callback(
        Output(Ids.CARDS, "children"), Output(Ids.MONTHLY, "figure"), Output(Ids.ROLLING, "figure"),
        Output(Ids.RATIO, "figure"), Output(Ids.SEASON, "figure"), Output(Ids.RANKING, "figure"),
        Output(Ids.DOWNLOAD, "href"), Output(Ids.DOWNLOAD_BOROUGHS, "href"),
        Output(HISTORY, "data", allow_duplicate=True),
        Input(Ids.BOROUGHS, "value"), Input(Ids.FROM, "value"), Input(Ids.TO, "value"),
        Input(Ids.MEASURE, "value"), Input(Ids.RANK_BY, "value"), Input(Ids.EXTRAS, "value"),
        prevent_initial_call="initial_duplicate",
    )(guard(PERMISSION)(update_view))


# ---- exports ----------------------------------------------------------------------------------

def _masked(values: pd.Series, counts: pd.Series, record_level: bool, digits: int) -> pd.Series:
    """Rates and ratios as text; '*' where they come from a small count the viewer may not see."""
    out = values.round(digits).astype(object).where(values.notna(), "")
    if not record_level:
        out = out.where(~counts.map(disclosure.is_small), disclosure.SECONDARY)
    return out


def monthly_export(view: View, record_level: bool) -> pd.DataFrame:
    """The monthly trend table as a CSV export shows it (counts are suppressed later by audited_export)."""
    t = view.trend
    # a month a source has no data for is an empty cell, not 0
    out = pd.DataFrame({"month": t["month"].dt.strftime("%Y-%m"), "ed": t["ed"].astype("Int64"),
                        "police": t["police"].astype("Int64")})
    if view.filters.extras:  # another agency's incidents drawn on the chart: in its CSV too
        out["other"] = t["other"].astype("Int64")
    for src in ("ed", "police"):
        roll = t[f"{src}_12m"]
        out[f"{src}_12m"] = roll.astype("Int64").astype(object).where(roll.notna(), "")
        if not record_level:
            out[f"{src}_12m"] = out[f"{src}_12m"].where(~roll.map(disclosure.is_small), disclosure.SMALL)
        out[f"{src}_12m_per_1000"] = _masked(t[f"{src}_12m_rate"], roll, record_level, 3)
    either = pd.Series(t["ed_12m"].map(disclosure.is_small) | t["police_12m"].map(disclosure.is_small))
    out["ed_per_police_12m"] = _masked(t["ratio_12m"], either.map(lambda s: 1 if s else 5), record_level, 3)
    return out


def boroughs_export(view: View, record_level: bool) -> pd.DataFrame:
    r = view.ranking
    return pd.DataFrame({"rank": r["rank"], "code": r["code"], "name": r["name"], "population": r["population"],
                         "ed": r["ed"], "police": r["police"],
                         "ed_per_1000_a_year": _masked(r["ed_rate"], r["ed"], record_level, 3),
                         "police_per_1000_a_year": _masked(r["police_rate"], r["police"], record_level, 3)})


def register_routes(server) -> None:
    @server.route("/download/strategic/trends-<name>.csv")
    def trends_download(name: str):
        if name not in ("monthly", "boroughs"):
            abort(404)
        require_export(f"trends-{name}", PERMISSION)  # before any query; refusals are audited
        store = current_store()
        f, _, measure, rank_by, bounds = read_state(store, request.query_string.decode("utf-8", "replace"))
        view = compute(store, f, rank_by, bounds)
        if view is None:
            abort(404, description="No data loaded yet.")
        record_level = store.scope.exact
        frame = monthly_export(view, record_level) if name == "monthly" else boroughs_export(view, record_level)
        other = "other" in frame
        out = audited_export(f"trends-{name}", frame, f, Export(query=None, parts=("ed", "police") + (("other",) if other else ())),
                             {"measure": measure, "rank": rank_by})
        named = f" other = {queries.extras_label(store, f.extras)}." if other else ""
        return csv_response(out, f"istv-trends-{name}.csv",
                            [f"# ISTV London trends ({name}), {f.start:%b %Y} to {f.end:%b %Y}. {METHOD}{named}"])
