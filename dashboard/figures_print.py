"""Figures for print: the packs' maps as flat plots (no map tiles, no WebGL), sized for A4.

The packs' charts are the pages' own figures (dashboard.figures, figures_ops); only the maps differ,
because a MapLibre map needs tiles and a GPU that a printed page has neither of. Longitude is
scaled by cos(latitude) so that a metre east is as long as a metre north.
"""
from __future__ import annotations

import math

import pandas as pd

from dashboard.figures import outline_lines
from dashboard.figures_ops import HOT_COLOUR, circle_coords, line_coords

OUTLINE_COLOUR, RING_COLOUR, POINT_COLOUR = "#888888", "#1f4e99", "#222222"


def _lines(lats: list, lons: list, name: str, colour: str, width: float, dash: str | None = None) -> dict:
    line = {"color": colour, "width": width} | ({"dash": dash} if dash else {})
    return {"type": "scatter", "x": lons, "y": lats, "mode": "lines", "line": line, "name": name, "hoverinfo": "skip"}


def _layout(lats: list, title: str) -> dict:
    known = [v for v in lats if v is not None]
    mid = (min(known) + max(known)) / 2 if known else 51.5
    hidden = {"visible": False, "showgrid": False, "zeroline": False}
    return {"title": {"text": title, "x": 0, "font": {"size": 14}} if title else None,
            "xaxis": hidden, "yaxis": hidden | {"scaleanchor": "x", "scaleratio": 1 / math.cos(math.radians(mid))},
            "legend": {"orientation": "h", "y": -0.02, "x": 0}, "margin": {"l": 10, "r": 10, "t": 40 if title else 10, "b": 30},
            "plot_bgcolor": "#ffffff", "paper_bgcolor": "#ffffff", "showlegend": True}


def premises_print_map(prem: dict, block: pd.DataFrame, radius_m: float, title: str = "") -> dict:
    """The premises (a point), its street block (red) and the radius (blue ring)."""
    ring_lat, ring_lon = circle_coords(float(prem["lat"]), float(prem["lon"]), radius_m)
    block_lat, block_lon = line_coords(block["geom_wkb"]) if len(block) else ([], [])
    data = [_lines(ring_lat, ring_lon, f"{radius_m:g} m radius", RING_COLOUR, 1.5, "dot"),
            _lines(block_lat, block_lon, "Its street block", HOT_COLOUR, 4),
            {"type": "scatter", "x": [float(prem["lon"])], "y": [float(prem["lat"])], "mode": "markers+text",
             "text": [str(prem["name"])], "textposition": "top center", "name": "The premises",
             "marker": {"size": 10, "color": POINT_COLOUR}}]
    return {"data": data, "layout": _layout(ring_lat + block_lat, title)}


def tasking_print_map(table: pd.DataFrame, lines: pd.DataFrame, outlines: pd.DataFrame, title: str = "",
                      listed: str = "Hot block") -> dict:
    """Borough outlines, the listed blocks in red (`listed` names them), each labelled with its rank in the table."""
    out_lat, out_lon = outline_lines(outlines)
    hot_lat, hot_lon = line_coords(lines["geom_wkb"]) if len(lines) else ([], [])
    at = lines.set_index("block_id")
    ranked = [(float(at.at[b, "lon"]), float(at.at[b, "lat"]), str(r))
              for r, b in zip(table["rank"], table["block_id"]) if b in at.index]
    data = [_lines(out_lat, out_lon, "Borough boundary", OUTLINE_COLOUR, 1),
            _lines(hot_lat, hot_lon, listed, HOT_COLOUR, 4),
            {"type": "scatter", "x": [p[0] for p in ranked], "y": [p[1] for p in ranked], "mode": "text",
             "text": [p[2] for p in ranked], "textposition": "top right", "name": "Rank in the table",
             "textfont": {"size": 11, "color": POINT_COLOUR}}]
    return {"data": data, "layout": _layout(out_lat + hot_lat, title)}
