"""Plotly figures built from small DataFrames. No Dash imports: plain functions, unit-tested."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely

from layers.hexes import cell_str, cells_geojson

LONDON_CENTER = {"lat": 51.49, "lon": -0.11}
ED_COLOUR, POLICE_COLOUR = "#c0392b", "#2c3e50"
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


def empty_figure(message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": 16}, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(xaxis={"visible": False}, yaxis={"visible": False}, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return fig


def hex_map(counts: pd.DataFrame, outlines: pd.DataFrame, *, style: str = "white-bg",
            center: dict | None = None, zoom: float = 9.2) -> go.Figure:
    """Choropleth of incident counts per H3 cell over borough outlines.

    counts: cell (uint64), ed, police, total.
    """
    fig = go.Figure()
    lats, lons = outline_lines(outlines)
    if len(counts):
        ids = cell_str(counts["cell"])
        fig.add_trace(go.Choroplethmap(
            geojson=cells_geojson(counts["cell"]), locations=ids, z=counts["total"].to_numpy(),
            customdata=np.column_stack([counts["ed"].to_numpy(), counts["police"].to_numpy()]),
            colorscale=HEX_SCALE, marker={"line": {"width": 0.3, "color": "#ffffff"}, "opacity": 0.85},
            colorbar={"title": {"text": "Incidents"}, "thickness": 12},
            hovertemplate="Hex %{location}<br>ED assaults: %{customdata[0]}<br>Police violence: %{customdata[1]}"
                          "<br>Total: %{z}<extra></extra>",
            name="Incidents per hex",
        ))
    fig.add_trace(go.Scattermap(lat=lats, lon=lons, mode="lines", line={"width": 1.2, "color": "#555"},
                                hoverinfo="skip", name="Borough boundaries", showlegend=False))
    fig.update_layout(
        map={"style": style, "center": center or LONDON_CENTER, "zoom": zoom},
        margin={"l": 0, "r": 0, "t": 0, "b": 0}, uirevision="map",
    )
    if not len(counts):
        fig.add_annotation(text="No incidents match these filters", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper", font={"size": 16}, bgcolor="rgba(255,255,255,0.8)")
    return fig


def monthly_series(series: pd.DataFrame) -> go.Figure:
    """Monthly ED assaults (left axis) against police-recorded violence (right axis)."""
    if series.empty or (series["ed"].sum() == 0 and series["police"].sum() == 0):
        return empty_figure("No incidents match these filters")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=series["month"], y=series["ed"], name="ED assaults", mode="lines+markers",
                             line={"color": ED_COLOUR, "width": 2}, marker={"size": 4},
                             hovertemplate="%{x|%b %Y}: %{y} ED assaults<extra></extra>"))
    fig.add_trace(go.Scatter(x=series["month"], y=series["police"], name="Police violence", mode="lines+markers",
                             line={"color": POLICE_COLOUR, "width": 2, "dash": "dot"}, marker={"size": 4}, yaxis="y2",
                             hovertemplate="%{x|%b %Y}: %{y} police violence crimes<extra></extra>"))
    fig.update_layout(
        yaxis={"title": {"text": "ED assaults", "font": {"color": ED_COLOUR}}, "rangemode": "tozero"},
        yaxis2={"title": {"text": "Police-recorded violence", "font": {"color": POLICE_COLOUR}},
                "overlaying": "y", "side": "right", "rangemode": "tozero", "showgrid": False},
        legend={"orientation": "h", "y": 1.12, "x": 0}, margin={"l": 60, "r": 60, "t": 30, "b": 40},
        hovermode="x unified",
    )
    return fig
