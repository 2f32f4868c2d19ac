"""Plotly figures built from small DataFrames. No Dash imports: plain functions, unit-tested."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import shapely

from data.access.disclosure import SMALL, is_small, suppress_parts
from layers.hexes import cell_str, cells_geojson

LONDON_CENTER = {"lat": 51.49, "lon": -0.11}
ED_COLOUR, POLICE_COLOUR = "#c0392b", "#2c3e50"
OTHER_COLOUR = "#1e8449"  # another agency's incidents (a registered extra source)
# counts are skewed (a few central hexes hold many), so the scale spends most of its colours low down
# and starts at a visible colour: a hex with one incident must not look empty
HEX_SCALE = [[0, "#fdd49e"], [0.05, "#fdbb84"], [0.15, "#fc8d59"], [0.35, "#ef6548"], [0.6, "#d7301f"], [1, "#990000"]]


def outline_lines(outlines: pd.DataFrame) -> tuple[list, list]:
    """lat/lon lists (None-separated) tracing the exterior rings of WKB borough outlines."""
    lats, lons = [], []
    for wkb in outlines["geom_wkb"]:
        geom = shapely.from_wkb(bytes(wkb))
        for poly in getattr(geom, "geoms", [geom]):
            xs, ys = poly.exterior.coords.xy
            lons += [round(v, 5) for v in xs] + [None]
            lats += [round(v, 5) for v in ys] + [None]
    return lats, lons


def fit_view(outlines: pd.DataFrame, width_px: int = 760, height_px: int = 520) -> tuple[dict, float]:
    """Map centre and zoom that frame the given borough outlines (London when there are none)."""
    if outlines.empty:
        return LONDON_CENTER, 9.2
    minx, miny, maxx, maxy = shapely.total_bounds(shapely.from_wkb([bytes(w) for w in outlines["geom_wkb"]]))
    lon_span = max(maxx - minx, 0.005) * 1.3
    lat_span = max(maxy - miny, 0.005) * 1.3 / np.cos(np.radians((miny + maxy) / 2))
    # MapLibre draws the world 512 px wide at zoom 0
    zoom = min(np.log2(360 * width_px / (512 * lon_span)), np.log2(360 * height_px / (512 * lat_span)))
    return {"lat": float(miny + maxy) / 2, "lon": float(minx + maxx) / 2}, float(min(round(zoom, 2), 14.5))


# the look go.Figure gives by default (plotly's "plotly" template), for figures built as plain dicts
TEMPLATE = go.layout.Template(pio.templates["plotly"]).to_plotly_json()


def empty_figure(message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": 16}, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(xaxis={"visible": False}, yaxis={"visible": False}, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return fig


SMALL_COLOUR = "#c9c9c9"


def _hex_hover(counts: pd.DataFrame, record_level: bool) -> list[str]:
    shown = suppress_parts(counts, ["ed", "police"], record_level, "total")
    return [f"ED assaults: {e}<br>Police violence: {p}<br>Total: {t}"
            for e, p, t in zip(shown["ed"], shown["police"], shown["total"])]


def hex_map(counts: pd.DataFrame, outlines: pd.DataFrame, *, style: str | dict = "white-bg",
            center: dict | None = None, zoom: float | None = None, record_level: bool = True) -> go.Figure:
    """Choropleth of incident counts per H3 cell over borough outlines.

    counts: cell (uint64), ed, police, total. Without record-level access, cells with 1-4
    incidents form one grey "fewer than 5" class and hovers suppress small counts.
    """
    fig = go.Figure()
    lats, lons = outline_lines(outlines)
    small = counts["total"].map(is_small).to_numpy(bool) if not record_level else np.zeros(len(counts), bool)
    big, few = counts[~small], counts[small]
    if len(big):
        fig.add_trace(go.Choroplethmap(
            geojson=cells_geojson(big["cell"]), locations=cell_str(big["cell"]), z=big["total"].to_numpy(),
            text=_hex_hover(big, record_level),
            colorscale=HEX_SCALE, marker={"line": {"width": 0.3, "color": "#ffffff"}, "opacity": 0.85},
            colorbar={"title": {"text": "Incidents"}, "thickness": 12},
            hovertemplate="%{text}<extra></extra>", name="Incidents per hex",
        ))
    if len(few):
        fig.add_trace(go.Choroplethmap(
            geojson=cells_geojson(few["cell"]), locations=cell_str(few["cell"]), z=np.ones(len(few)),
            colorscale=[[0, SMALL_COLOUR], [1, SMALL_COLOUR]], showscale=False,
            marker={"line": {"width": 0.3, "color": "#ffffff"}, "opacity": 0.85},
            hovertemplate="Fewer than 5 incidents<extra></extra>", name="Fewer than 5", showlegend=True,
        ))
    fig.add_trace(go.Scattermap(lat=lats, lon=lons, mode="lines", line={"width": 1.2, "color": "#555"},
                                hoverinfo="skip", name="Borough boundaries", showlegend=False))
    if center is None:
        center, zoom = fit_view(outlines)
    fig.update_layout(
        map={"style": style, "center": center, "zoom": zoom},
        margin={"l": 0, "r": 0, "t": 0, "b": 0}, uirevision=",".join(outlines["code"]) if "code" in outlines else "map",
        legend={"x": 0.01, "y": 0.99, "bgcolor": "rgba(255,255,255,0.8)"},
    )
    if not len(counts):
        fig.add_annotation(text="No incidents match these filters", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper", font={"size": 16}, bgcolor="rgba(255,255,255,0.8)")
    return fig


def count_step(top: float, ticks: int = 5) -> int:
    """A whole tick step (1, 2, 5, 10, 20, 50, ...) giving about `ticks` ticks up to `top`: counts
    have no halves, and a small axis otherwise reads 0, 0.5, 1, 1.5."""
    raw = max(float(top), 1.0) / ticks
    power = 10 ** int(np.floor(np.log10(raw))) if raw >= 1 else 1
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return int(m * power)
    return int(10 * power)


def _line(series: pd.DataFrame, col: str, record_level: bool) -> tuple[np.ndarray, list[str]]:
    """Values to plot and hover labels; small counts become gaps labelled "<5"."""
    values = series[col].to_numpy(float)  # NaN: a month the source has no data loaded for (a gap, not 0)
    if record_level:
        return values, ["no data" if np.isnan(v) else f"{int(v):,}" for v in values]
    small = series[col].map(is_small).to_numpy(bool)
    return np.where(small, np.nan, values), ["no data" if np.isnan(v) else SMALL if s else f"{int(v):,}"
                                             for s, v in zip(small, values)]


def monthly_series(series: pd.DataFrame, record_level: bool = True, other_label: str = "") -> dict:
    """Monthly ED assaults (left axis) against police-recorded violence (right axis), as a figure dict
    (go.Figure validation cost 25 ms a render for 36 points). other_label: the name of another agency's
    incidents in series["other"], drawn on the left axis beside ED assaults (nothing without it).

    Without record-level access, months with 1-4 are gaps in the line, marked and labelled "<5".
    """
    other = bool(other_label) and "other" in series and series["other"].sum() > 0
    if series.empty or (series["ed"].sum() == 0 and series["police"].sum() == 0 and not other):
        return empty_figure("No incidents match these filters").to_plotly_json()
    months = pd.to_datetime(series["month"]).dt.strftime("%Y-%m-%d").to_numpy()
    data, tops = [], {"y": 0.0}
    lines = [("ed", "ED assaults", ED_COLOUR, None, "y", "ED assaults"),
             ("police", "Police violence", POLICE_COLOUR, "dot", "y2", "police violence crimes")]
    if other:
        lines.append(("other", other_label, OTHER_COLOUR, "dash", "y", other_label.lower()))
    for col, name, colour, dash, axis, what in lines:
        y, labels = _line(series, col, record_level)
        tops[axis] = max(tops.get(axis, 0.0), float(np.nanmax(y)) if np.isfinite(y).any() else 0.0)
        line = {"color": colour, "width": 2} | ({"dash": dash} if dash else {})
        data.append({"type": "scatter", "x": months.tolist(), "y": [None if np.isnan(v) else float(v) for v in y],
                     "text": labels, "name": name, "mode": "lines+markers", "yaxis": axis, "line": line,
                     "marker": {"size": 4}, "hovertemplate": f"%{{x|%b %Y}}: %{{text}} {what}<extra></extra>"})
        gaps = np.isnan(y) & (series[col].to_numpy() > 0)
        if gaps.any():
            data.append({"type": "scatter", "x": months[gaps].tolist(), "y": [2.5] * int(gaps.sum()), "yaxis": axis,
                         "mode": "markers", "marker": {"symbol": "circle-open", "color": colour, "size": 7},
                         "name": f"{name}: fewer than 5", "text": [SMALL] * int(gaps.sum()),
                         "hovertemplate": f"%{{x|%b %Y}}: fewer than 5 {what}<extra></extra>"})
    layout = {
        "yaxis": {"title": {"text": "ED assaults and other agencies" if other else "ED assaults",
                            "font": {"color": ED_COLOUR}}, "rangemode": "tozero",
                  "dtick": count_step(tops["y"]), "tickformat": ",d"},
        "yaxis2": {"title": {"text": "Police-recorded violence", "font": {"color": POLICE_COLOUR}},
                   "overlaying": "y", "side": "right", "rangemode": "tozero", "showgrid": False,
                   "dtick": count_step(tops["y2"]), "tickformat": ",d"},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}, "margin": {"l": 60, "r": 60, "t": 30, "b": 40},
        "hovermode": "x unified", "template": TEMPLATE, "xaxis": {"type": "date", "tickformat": "%b %Y"},
    }
    if len(months) < 3:  # one or two months: a month either side, not an axis of milliseconds
        lo, hi = pd.Timestamp(months[0]) - pd.DateOffset(months=1), pd.Timestamp(months[-1]) + pd.DateOffset(months=1)
        layout["xaxis"].update(range=[lo.strftime("%Y-%m-%d"), hi.strftime("%Y-%m-%d")], dtick="M1")
    return {"data": data, "layout": layout}
