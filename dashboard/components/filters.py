"""Filter controls every page shows the same way: the borough list and the period."""
from __future__ import annotations

import pandas as pd
from dash import dcc

from dashboard.context import current_scope
from data.filters import Filters


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
