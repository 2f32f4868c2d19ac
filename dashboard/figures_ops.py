"""Plotly figures of the operational pages (premises profile, tasking). No Dash imports.

Roles without record-level access never get a count from 1 to 4 out of these figures: such
cells, bars and hexes are drawn without a value and labelled "<5".
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely

from dashboard.figures import ED_COLOUR, POLICE_COLOUR, SMALL_COLOUR, count_step, empty_figure, outline_lines
from data.access.disclosure import SMALL, is_small, show, suppress_parts
from layers.hexes import cell_str, cells_geojson
from dashboard.figures import fit_view

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOT_COLOUR = "#d7301f"


def day_hour_grid(day_hour: pd.DataFrame) -> np.ndarray:
    """7 x 24 array of counts (rows Monday..Sunday, columns hours 0..23) from weekday, hour, n rows."""
    grid = np.zeros((7, 24), dtype=np.int64)
    for d, h, n in zip(day_hour["weekday"], day_hour["hour"], day_hour["n"]):
        grid[int(d), int(h)] += int(n)
    return grid


def hour_of_week(day_hour: pd.DataFrame, record_level: bool = True, title: str = "") -> go.Figure:
    """Heatmap of ED assaults by weekday and hour; small cells are blank and read '<5' for aggregate roles."""
    grid = day_hour_grid(day_hour)
    if grid.sum() == 0:
        return empty_figure("No ED assaults with a time in this view")
    z = grid.astype(float)
    text = [[str(show(v, record_level)) for v in row] for row in grid.tolist()]
    small = (grid > 0) & (grid < 5) & (not record_level)
    z[small] = np.nan
    hours = [f"{h:02d}" for h in range(24)]
    top = float(np.nanmax(z)) if np.isfinite(z).any() else 0.0
    fig = go.Figure(go.Heatmap(
        z=z, x=hours, y=list(WEEKDAYS), text=text, colorscale="OrRd", zmin=0, zmax=max(top, 1.0),
        hovertemplate="%{y} %{x}:00: %{text} ED assaults<extra></extra>",
        colorbar={"thickness": 10, "dtick": count_step(max(top, 1.0)), "tickformat": ",d", "title": {"text": "assaults"}},
        name="ED assaults", xgap=1, ygap=1))
    if small.any():  # one grey class for 1-4, as on the map
        fig.add_trace(go.Heatmap(z=np.where(small, 1.0, np.nan), x=hours, y=list(WEEKDAYS), text=text,
                                 colorscale=[[0, SMALL_COLOUR], [1, SMALL_COLOUR]], showscale=False, xgap=1, ygap=1,
                                 hovertemplate="%{y} %{x}:00: fewer than 5 ED assaults<extra></extra>",
                                 name="fewer than 5", showlegend=True))  # a key: protected, not zero
        fig.update_layout(legend={"orientation": "h", "y": -0.2, "x": 0})
    fig.update_layout(yaxis={"autorange": "reversed"}, xaxis={"title": {"text": "Hour of the assault"}},
                      margin={"l": 40, "r": 10, "t": 30 if title else 10, "b": 40}, title=title or None,
                      plot_bgcolor="#ffffff")
    return fig


def bar_counts(labels: list[str], counts, record_level: bool = True, colour: str = ED_COLOUR,
               name: str = "ED assaults", title: str = "") -> go.Figure:
    """Bars of counts; small counts have no bar for aggregate roles, only the label '<5'."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.sum() == 0:
        return empty_figure(f"No {name} in this view")
    small = np.array([is_small(v) and not record_level for v in counts])
    y = np.where(small, np.nan, counts.astype(float))
    text = [show(v, record_level) for v in counts]
    fig = go.Figure(go.Bar(x=labels, y=y, text=[str(t) for t in text], textposition="outside",
                           marker_color=colour, name=name, cliponaxis=False,
                           hovertemplate="%{x}: %{text}<extra></extra>"))
    if small.any():  # the '<5' labels sit on the axis where the bar would be
        fig.add_trace(go.Scatter(x=[lab for lab, s in zip(labels, small) if s], y=[0] * int(small.sum()),
                                 mode="markers+text", text=[SMALL] * int(small.sum()), textposition="top center",
                                 marker={"symbol": "x-thin-open", "size": 10, "color": colour, "line": {"width": 2}},
                                 hoverinfo="skip", showlegend=True, name=f"fewer than 5 ({SMALL}, protected)"))
    fig.update_layout(margin={"l": 40, "r": 10, "t": 30 if title else 10, "b": 40}, title=title or None,
                      yaxis={"rangemode": "tozero", "dtick": count_step(np.nanmax(y) if np.isfinite(y).any() else 1),
                             "tickformat": ",d"}, showlegend=bool(small.any()), plot_bgcolor="#ffffff",
                      legend={"orientation": "h", "y": -0.25, "x": 0})
    return fig


def circle_coords(lat: float, lon: float, radius_m: float, n: int = 48) -> tuple[list, list]:
    angles = np.linspace(0, 2 * np.pi, n + 1)
    dlat = radius_m / 111_195 * np.sin(angles)
    dlon = radius_m / (111_195 * np.cos(np.radians(lat))) * np.cos(angles)
    return list(lat + dlat), list(lon + dlon)


def line_coords(wkbs) -> tuple[list, list]:
    """lat/lon lists (None-separated) of WKB lines, for one Scattermap trace."""
    lats, lons = [], []
    for wkb in wkbs:
        geom = shapely.from_wkb(bytes(wkb))
        for part in getattr(geom, "geoms", [geom]):
            xs, ys = part.coords.xy
            lons += list(xs) + [None]
            lats += list(ys) + [None]
    return lats, lons


def premises_map(prem: dict, block: pd.DataFrame, radius_m: float, *, records: pd.DataFrame | None = None,
                 hexes: pd.DataFrame | None = None, record_level: bool = True, style: str | dict = "white-bg") -> go.Figure:
    """Mini-map: the premises, its street block, the radius, and the incidents near it.

    records (record-level roles): points by source. hexes (everyone else): counts per H3 r10
    cell (cell, ed, police, total), cells with 1-4 drawn grey and labelled '<5'.
    """
    fig = go.Figure()
    if hexes is not None and len(hexes):
        small = hexes["total"].map(is_small).to_numpy(bool) if not record_level else np.zeros(len(hexes), bool)
        shown = suppress_parts(hexes, ["ed", "police"], record_level, "total")
        hover = [f"ED assaults: {e}<br>Police violence: {p}<br>Total: {t}"
                 for e, p, t in zip(shown["ed"], shown["police"], shown["total"])]
        fig.add_trace(go.Choroplethmap(
            geojson=cells_geojson(hexes["cell"]), locations=cell_str(hexes["cell"]),
            z=np.where(small, np.nan, hexes["total"].to_numpy(float)), text=hover,
            colorscale=[[0, "#fdbb84"], [1, "#990000"]], marker={"opacity": 0.55, "line": {"width": 0.5, "color": "#fff"}},
            colorbar={"title": {"text": "Incidents"}, "thickness": 10}, hovertemplate="%{text}<extra></extra>",
            name="Incidents per hexagon"))
        if small.any():
            few = hexes[small]
            fig.add_trace(go.Choroplethmap(
                geojson=cells_geojson(few["cell"]), locations=cell_str(few["cell"]), z=np.ones(len(few)),
                colorscale=[[0, SMALL_COLOUR], [1, SMALL_COLOUR]], showscale=False, marker={"opacity": 0.6},
                hovertemplate="Fewer than 5 incidents<extra></extra>", name="Fewer than 5"))
    clat, clon = circle_coords(float(prem["lat"]), float(prem["lon"]), radius_m)
    fig.add_trace(go.Scattermap(lat=clat, lon=clon, mode="lines", line={"color": "#555", "width": 1.5},
                                name=f"{radius_m:g} m", hoverinfo="skip"))
    if len(block):
        lats, lons = line_coords(block["geom_wkb"])
        fig.add_trace(go.Scattermap(lat=lats, lon=lons, mode="lines", line={"color": HOT_COLOUR, "width": 5},
                                    name="Its street block", hoverinfo="skip"))
    if records is not None and len(records):
        for source, name, colour in (("ed", "ED assault", ED_COLOUR), ("police", "Police violence", POLICE_COLOUR)):
            r = records[records["source"] == source]
            if len(r):
                when = pd.to_datetime(r["occurred_at"]).dt.strftime("%d %b %Y %H:%M" if source == "ed" else "%b %Y")
                fig.add_trace(go.Scattermap(lat=r["lat"], lon=r["lon"], mode="markers", name=name,
                                            marker={"size": 9, "color": colour, "opacity": 0.8},
                                            text=[f"{name} · {w} · {d:.0f} m" for w, d in zip(when, r["distance_m"])],
                                            hovertemplate="%{text}<extra></extra>"))
    fig.add_trace(go.Scattermap(lat=[prem["lat"]], lon=[prem["lon"]], mode="markers",
                                marker={"size": 14, "color": "#1f4e99"}, text=[str(prem["name"])],
                                name="Premises", hoverinfo="text"))
    # zoom so the circle fills the map: 2 * radius across about 300 px
    zoom = float(np.clip(np.log2(156543 * np.cos(np.radians(float(prem["lat"]))) * 300 / (2.6 * radius_m)), 12, 18))
    fig.update_layout(map={"style": style, "center": {"lat": float(prem["lat"]), "lon": float(prem["lon"])}, "zoom": zoom},
                      margin={"l": 0, "r": 0, "t": 0, "b": 0}, legend={"x": 0.01, "y": 0.99, "bgcolor": "rgba(255,255,255,0.8)"})
    return fig


def tasking_map(hot: pd.DataFrame, lines: pd.DataFrame, outlines: pd.DataFrame, *, style: str | dict = "white-bg",
                record_level: bool = True, listed: str = "Hot blocks") -> go.Figure:
    """Map of just the listed blocks (red lines, named `listed`, a marker with the rank in its hover) over borough outlines."""
    fig = go.Figure()
    olats, olons = outline_lines(outlines)
    fig.add_trace(go.Scattermap(lat=olats, lon=olons, mode="lines", line={"width": 1, "color": "#888"},
                                hoverinfo="skip", name="Borough boundaries", showlegend=False))
    if len(hot) and len(lines):
        merged = hot.merge(lines[["block_id", "lat", "lon", "geom_wkb"]], on="block_id", how="inner")
        lats, lons = line_coords(merged["geom_wkb"])
        fig.add_trace(go.Scattermap(lat=lats, lon=lons, mode="lines", line={"width": 6, "color": HOT_COLOUR},
                                    hoverinfo="skip", name=listed))
        shown = suppress_parts(merged, ["ed", "police"], record_level, "total")
        fig.add_trace(go.Scattermap(
            # the rank beside each block (glyphs come from the app's own base map: dashboard/basemap.py)
            lat=merged["lat"], lon=merged["lon"], mode="markers+text", text=[str(r) for r in merged["rank"]],
            textposition="top right", textfont={"size": 12, "color": "#222222"},
            marker={"size": 10, "color": HOT_COLOUR}, name="Rank",
            customdata=np.stack([merged["street"].astype(str), shown["ed"].astype(str), shown["police"].astype(str),
                                 shown["total"].astype(str)], axis=1),
            hovertemplate="#%{text} %{customdata[0]}<br>ED: %{customdata[1]} · police: %{customdata[2]} · "
                          "total: %{customdata[3]}<extra></extra>"))
    center, zoom = fit_view(outlines)
    fig.update_layout(map={"style": style, "center": center, "zoom": zoom}, margin={"l": 0, "r": 0, "t": 0, "b": 0},
                      legend={"x": 0.01, "y": 0.99, "bgcolor": "rgba(255,255,255,0.8)"},
                      uirevision=",".join(outlines["code"]) if "code" in outlines else "tasking")
    if not len(hot):
        fig.add_annotation(text="No hot blocks in this window", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper", font={"size": 16}, bgcolor="rgba(255,255,255,0.8)")
    return fig
