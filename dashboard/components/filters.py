"""Filter controls every page shows the same way: the borough list, the period and the month list."""
from __future__ import annotations

import pandas as pd
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.context import current_scope
from data.store import queries
from data.store import queries_trends as qs
from data.store.filters import Filters


def borough_dropdown(component_id, boroughs: pd.DataFrame, f: Filters) -> dcc.Dropdown:
    """Multi-select of the boroughs the viewer may see; empty means all of them."""
    return dcc.Dropdown(id=component_id, options=[{"label": n, "value": c} for c, n in zip(boroughs["code"], boroughs["name"])],
                        value=list(f.boroughs), multi=True,
                        placeholder="All London" if current_scope().boroughs is None else "All your boroughs")


def period_picker(component_id, f: Filters, bounds) -> dcc.DatePickerRange:
    """The filter's date range, limited to the days the data covers."""
    return dcc.DatePickerRange(id=component_id, start_date=f.start, end_date=f.end, display_format="D MMM YYYY",
                               min_date_allowed=bounds[0] if bounds else None,
                               max_date_allowed=bounds[1] if bounds else None, first_day_of_week=1)


def month_options(bounds) -> list[dict]:
    """One option per calendar month the data covers ("Jan 2025" → "2025-01"), oldest first."""
    if bounds is None:
        return []
    out, m = [], qs.month_start(bounds[0])
    while m <= bounds[1]:
        out.append({"label": f"{m:%b %Y}", "value": f"{m:%Y-%m}"})
        m = qs.add_months(m, 1)
    return out


def extras_control(component_id, store, f: Filters) -> html.Div:
    """'Also count' checkboxes of the registered extra sources (another agency's incidents), beside ED and
    police; present but hidden where none is registered (the page's callback still reads it)."""
    extra = queries.extra_sources(store)
    return html.Div([
        dbc.Label("Also count", html_for=component_id, className="small mb-0 me-2"),
        dcc.Checklist(id=component_id, options=[{"label": f" {n} ({a})", "value": c}
                                                for c, n, a in zip(extra["source"], extra["name"], extra["agency"])],
                      value=[x for x in f.extras if x in set(extra["source"])], inline=True,
                      inputClassName="me-1", labelClassName="me-3"),
    ], className="d-flex align-items-center mb-2", id=f"{component_id}-box",
        style=None if len(extra) else {"display": "none"})
