"""Filter controls every page shows the same way: the borough list, the period and the month list."""
from __future__ import annotations

import pandas as pd
from dash import dcc

from dashboard.context import current_scope
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
