"""Plotly figures of the strategic pages (trends, data quality). No Dash imports: plain functions.

Without record-level access, every value computed from a count of 1-4 (the count itself, a
rolling sum, a rate or a ratio built from it) is left out of the line and marked "<5".
Concentration shares follow `shown_cumulative`: a share is left out when it would let a count of
1-4 be worked out (from the total, the rest or the share next to it).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figures import ED_COLOUR, POLICE_COLOUR, empty_figure
from data.access.disclosure import SECONDARY, SMALL, is_small

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
HIGHLIGHT, OTHER = "#d7301f", "#c9c9c9"
RANDOM_COLOUR = "#737373"
FIELD_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e")


def hidden(values: pd.Series, counts: pd.Series, record_level: bool) -> np.ndarray:
    """values as floats, NaN where the count they come from is small and the viewer lacks record-level access."""
    out = values.to_numpy(float, na_value=np.nan).copy()
    if not record_level:
        out[counts.map(is_small).to_numpy(bool)] = np.nan
    return out


PROTECTED_SYMBOL = "x-thin-open"


def mark_hidden(fig: go.Figure, x, shown: np.ndarray, original, name: str, colour: str, axis: str = "y",
                label: str = SMALL) -> go.Figure:
    """A marker on the axis at every point hidden by disclosure control (a value there, none drawn), in the
    legend as protected: a hidden value is never a blank that reads as zero or as no data."""
    orig = np.asarray(pd.Series(original).to_numpy(float, na_value=np.nan))
    mask = np.isnan(np.asarray(shown, float)) & ~np.isnan(orig)
    if mask.any():
        xs = np.asarray(list(x), dtype=object)[mask]
        fig.add_trace(go.Scatter(x=list(xs), y=[0] * int(mask.sum()), yaxis=axis, mode="markers", cliponaxis=False,
                                 marker={"symbol": PROTECTED_SYMBOL, "color": colour, "size": 10, "line": {"width": 2}},
                                 name=f"{name}: protected ({label})", text=[label] * int(mask.sum()),
                                 hovertemplate=f"%{{x}}: {label} (protected)<extra>{name}</extra>"))
    return fig


def _labels(values: np.ndarray, counts: pd.Series, fmt: str, record_level: bool) -> list[str]:
    small = counts.map(is_small).to_numpy(bool) if not record_level else np.zeros(len(values), bool)
    return [SMALL if s else ("–" if np.isnan(v) else format(v, fmt)) for v, s in zip(values, small)]


def _two_axes(fig: go.Figure, left: str, right: str) -> go.Figure:
    fig.update_layout(
        yaxis={"title": {"text": left, "font": {"color": ED_COLOUR}}, "rangemode": "tozero"},
        yaxis2={"title": {"text": right, "font": {"color": POLICE_COLOUR}}, "overlaying": "y", "side": "right",
                "rangemode": "tozero", "showgrid": False},
        legend={"orientation": "h", "y": 1.14, "x": 0}, margin={"l": 60, "r": 60, "t": 30, "b": 40},
        hovermode="x unified")
    return fig


def rolling_chart(trend: pd.DataFrame, measure: str = "count", record_level: bool = True) -> go.Figure:
    """Rolling 12-month ED assaults (left axis) and police violence (right axis), as counts or per 1,000 residents."""
    if trend.empty or trend[["ed_12m", "police_12m"]].isna().all().all():
        return empty_figure("Not enough months for a rolling 12-month total (the data starts too late)")
    rate = measure == "rate"
    fig = go.Figure()
    for src, name, colour, axis in (("ed", "ED assaults", ED_COLOUR, "y"), ("police", "Police violence", POLICE_COLOUR, "y2")):
        col = f"{src}_12m_rate" if rate else f"{src}_12m"
        y = hidden(trend[col], trend[f"{src}_12m"], record_level)
        fmt = ",.2f" if rate else ",.0f"
        fig.add_trace(go.Scatter(x=trend["month"], y=y, name=name, yaxis=axis, mode="lines",
                                 text=_labels(y, trend[f"{src}_12m"], fmt, record_level),
                                 line={"color": colour, "width": 3, "dash": None if src == "ed" else "dot"},
                                 hovertemplate=f"12 months to %{{x|%b %Y}}: %{{text}}<extra>{name}</extra>"))
        mark_hidden(fig, trend["month"], y, trend[col], name, colour, axis)
    unit = " per 1,000 residents" if rate else ""
    fig = _two_axes(fig, f"ED assaults, 12 months{unit}", f"Police violence, 12 months{unit}")
    fig.update_layout(yaxis2={"tickformat": ",.2f" if rate else ",.0f"})
    return fig


def ratio_chart(trend: pd.DataFrame, record_level: bool = True) -> go.Figure:
    """ED assaults per police-recorded violent crime: each month (dots) and over rolling 12 months (line)."""
    if trend.empty or trend["ratio"].isna().all():
        return empty_figure("No police-recorded violence in this view, so no ratio")
    fig = go.Figure()
    for col, ed, police, name, mode in (("ratio", "ed", "police", "Each month", "markers"),
                                        ("ratio_12m", "ed_12m", "police_12m", "Rolling 12 months", "lines")):
        counts = pd.Series(np.where(trend[ed].map(is_small) | trend[police].map(is_small), 1, 5), index=trend.index)
        y = hidden(trend[col], counts, record_level)
        fig.add_trace(go.Scatter(x=trend["month"], y=y, name=name, mode=mode,
                                 text=["*" if (not record_level and c == 1) else ("–" if np.isnan(v) else f"{v:.2f}")
                                       for v, c in zip(y, counts)],
                                 line={"color": ED_COLOUR, "width": 3}, marker={"color": "#999", "size": 6},
                                 hovertemplate="%{x|%b %Y}: %{text} ED assaults per police-recorded violent crime<extra>"
                                               + name + "</extra>"))
        mark_hidden(fig, trend["month"], y, trend[col], name, ED_COLOUR, label=SECONDARY)
    fig.update_layout(yaxis={"title": {"text": "ED assaults per police-recorded violent crime"}, "rangemode": "tozero"},
                      legend={"orientation": "h", "y": 1.14, "x": 0}, margin={"l": 60, "r": 20, "t": 30, "b": 40})
    return fig


def seasonality_chart(season: pd.DataFrame, record_level: bool = True) -> go.Figure:
    """Mean ED assaults (left axis) and police violence (right axis) per calendar month over the window."""
    if season["ed"].sum() == 0 and season["police"].sum() == 0:
        return empty_figure("No incidents match these filters")
    fig = go.Figure()
    x = [MONTHS[m - 1] for m in season["month_of_year"]]
    for src, name, colour, axis in (("ed", "ED assaults", ED_COLOUR, "y"), ("police", "Police violence", POLICE_COLOUR, "y2")):
        y = hidden(season[f"{src}_mean"], season[src], record_level)
        fig.add_trace(go.Scatter(x=x, y=y, name=name, yaxis=axis, mode="lines+markers",
                                 text=_labels(y, season[src], ",.1f", record_level), customdata=season["months"],
                                 line={"color": colour, "width": 2, "dash": None if src == "ed" else "dot"},
                                 hovertemplate="%{x}: %{text} a month on average (%{customdata} months)<extra>" + name + "</extra>"))
        mark_hidden(fig, x, y, season[f"{src}_mean"], name, colour, axis)
    return _two_axes(fig, "ED assaults a month", "Police violence a month")


def ranking_chart(ranking: pd.DataFrame, selected: tuple[str, ...], by: str = "police",
                  record_level: bool = True) -> go.Figure:
    """Boroughs by yearly rate per 1,000 residents (highest at the top), the selected ones highlighted."""
    if ranking.empty:
        return empty_figure("No boroughs to rank")
    df = ranking.iloc[::-1]
    x = hidden(df[f"{by}_rate"], df[by], record_level)
    colours = [HIGHLIGHT if c in selected else OTHER for c in df["code"]]
    what = "ED assaults" if by == "ed" else "Police violence"
    fig = go.Figure(go.Bar(
        y=df["name"], x=x, orientation="h", marker={"color": colours}, name=what,
        text=_labels(x, df[by], ".2f", record_level), textposition="outside", cliponaxis=False,
        customdata=np.stack([df["rank"], df[by].astype(object).where(~df[by].map(is_small) | record_level, SMALL)], axis=1),
        hovertemplate="%{y}: %{text} per 1,000 a year (rank %{customdata[0]}, %{customdata[1]} recorded)<extra></extra>"))
    fig.update_layout(xaxis={"title": {"text": f"{what} per 1,000 residents a year"}},
                      yaxis={"automargin": True}, margin={"l": 10, "r": 40, "t": 10, "b": 40},
                      height=max(160, 20 * len(df) + 80), showlegend=False)
    return fig


def quality_trend_chart(monthly: pd.DataFrame, fields: tuple, record_level: bool = True) -> go.Figure:
    """Per month: % of records complete in every field, % placed on a street or venue, and % complete per field."""
    if monthly.empty or monthly["records"].sum() == 0:
        return empty_figure("No ED records for these sites and months")
    fig = go.Figure()
    n = monthly["records"].where(monthly["records"] > 0)
    lines = [("all_complete", "All fields complete", "#222", 3, None),
             ("geocoded", "Placed on a street or venue", "#2b8cbe", 3, "dash")]
    geocoded = monthly["conf_venue"] + monthly["conf_street"]
    for i, (key, label, *_rest) in enumerate(fields):
        lines.append((key, label, FIELD_COLOURS[i % len(FIELD_COLOURS)], 1.5, "dot"))
    for key, label, colour, width, dash in lines:
        values = geocoded if key == "geocoded" else monthly[key]
        # a share hides when it would reveal a count of 1-4: of the records, the part or the rest
        reveals = monthly["records"].map(is_small) | values.map(is_small) | (monthly["records"] - values).map(is_small)
        y = hidden(values / n * 100, pd.Series(reveals.map(lambda r: 1 if r else 5), index=monthly.index), record_level)
        fig.add_trace(go.Scatter(x=monthly["month"], y=y, name=label, mode="lines+markers",
                                 line={"color": colour, "width": width, "dash": dash}, marker={"size": 4},
                                 text=[("*" if r and not record_level else "–") if np.isnan(v) else f"{v:.1f}"
                                       for v, r in zip(y, reveals)],
                                 hovertemplate="%{x|%b %Y}: %{text} %<extra>" + label + "</extra>"))
        mark_hidden(fig, monthly["month"], y, values / n * 100, label, colour, label=SECONDARY)
    fig.update_layout(yaxis={"title": {"text": "% of records"}, "range": [0, 102]},
                      legend={"orientation": "h", "y": -0.18, "x": 0}, margin={"l": 60, "r": 20, "t": 20, "b": 40},
                      hovermode="x unified")
    return fig


# ---- concentration on street blocks -------------------------------------------------------------

def shown_cumulative(held, total: int, record_level: bool) -> np.ndarray:
    """Which cumulative counts of `total` (busiest blocks first, ascending) a viewer may see as shares.

    With the total known, a share is its count. Without record-level access a point is kept only
    when its count, the rest (total - count) and the step from the previous kept point are each 0
    or at least 5: every difference between kept points is then 0 or 5+, so no count of 1-4 can
    be worked out from the shares together. A small total hides every point.
    """
    held = np.asarray(held, dtype=float)
    if record_level:
        return np.ones(len(held), bool)
    if is_small(total):
        return np.zeros(len(held), bool)
    keep, last = np.zeros(len(held), bool), 0.0
    for i, c in enumerate(held):
        if not (is_small(c) or is_small(total - c) or is_small(c - last)):
            keep[i], last = True, c
    return keep


def concentration_shown(table: pd.DataFrame, curve: pd.DataFrame, total: int,
                        record_level: bool) -> tuple[np.ndarray, np.ndarray]:
    """(table rows shown, curve points shown): one pass of `shown_cumulative` over the blocks of both,
    so a table share and a curve share never differ by a hidden count."""
    held = pd.concat([curve.set_index("blocks")["incidents"], table.set_index("blocks")["incidents"]])
    held = held[~held.index.duplicated()].sort_index()
    keep = pd.Series(shown_cumulative(held.to_numpy(), total, record_level), index=held.index)
    return (keep.reindex(table["blocks"], fill_value=False).to_numpy(bool),
            keep.reindex(curve["blocks"], fill_value=False).to_numpy(bool))


def share_text(value: float) -> str:
    """A share 0..1 as a percentage: one decimal below 10 %, whole numbers above."""
    return "–" if value is None or np.isnan(value) else (f"{value * 100:.1f} %" if value < 0.1 else f"{value * 100:.0f} %")


def concentration_rows(table: pd.DataFrame, curve: pd.DataFrame, total: int, record_level: bool) -> pd.DataFrame:
    """The concentration table as shown: busiest, blocks, observed, random, ratio as text ('*' where hidden)."""
    rows, _ = concentration_shown(table, curve, total, record_level)
    hide_random = not record_level and is_small(total)
    return pd.DataFrame({
        "busiest": [f"{s * 100:g} %" for s in table.index],
        "blocks": [f"{b:,}" for b in table["blocks"]],
        "observed": [share_text(v) if ok else SECONDARY for v, ok in zip(table["observed"], rows)],
        "random": [SECONDARY if hide_random else share_text(v) for v in table["random"]],
        "ratio": [f"{v:.1f}" if ok else SECONDARY for v, ok in zip(table["ratio"], rows)],
    })


def concentration_chart(table: pd.DataFrame, curve: pd.DataFrame, total: int, record_level: bool = True) -> go.Figure:
    """Share of incidents held by the busiest blocks (x: % of street blocks, busiest first), observed
    and at random by street length; without record-level access, points that would reveal a count
    of 1-4 are left out (the line joins the points either side)."""
    if curve.empty or not total:
        return empty_figure("No incidents on street blocks in this view")
    if not record_level and is_small(total):
        return empty_figure("Fewer than 5 incidents on street blocks: shares hidden")
    _, points = concentration_shown(table, curve, total, record_level)
    x = curve["share_blocks"].to_numpy(float) * 100
    observed = np.where(points, curve["observed"].to_numpy(float) * 100, np.nan)
    fig = go.Figure()
    for y, name, colour, dash in ((observed, "Observed", ED_COLOUR, None),
                                  (curve["random"].to_numpy(float) * 100, "At random (by street length)", RANDOM_COLOUR, "dash")):
        fig.add_trace(go.Scatter(x=x, y=y, name=name, mode="lines", connectgaps=True, customdata=curve["blocks"],
                                 line={"color": colour, "width": 3, "dash": dash},
                                 hovertemplate="Busiest %{x:.1f} % of blocks (%{customdata:,}): %{y:.1f} % of incidents"
                                               "<extra>" + name + "</extra>"))
    fig.update_layout(xaxis={"title": {"text": "% of street blocks, busiest first"}, "range": [0, 100]},
                      yaxis={"title": {"text": "% of incidents on street blocks"}, "range": [0, 101]},
                      legend={"orientation": "h", "y": 1.14, "x": 0}, margin={"l": 60, "r": 20, "t": 30, "b": 40},
                      hovermode="x unified")
    return fig
