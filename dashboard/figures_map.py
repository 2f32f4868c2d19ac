"""The map page's figures: hexes or street blocks in colour classes, premises, day x hour.

Colours are discrete classes (counts, Gi* significance or change class), so the legend says
what each colour means and a colour mode or filter change only swaps values (Dash Patch),
not geometry. Pure functions: DataFrames in, plotly figures or GeoJSON out.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import orjson
import pandas as pd
import shapely
from plotly.colors import get_colorscale

from dashboard.figures import TEMPLATE, empty_figure, outline_lines
from data.access.disclosure import SMALL, suppress_parts
from layers.blocks import from_bng, lines_to_bng
from layers.hexes import cell_str, cells_geojson

BLOCK_HALF_WIDTH_M = 9.0  # a street block drawn as its centre line buffered to about a street's width


@dataclass(frozen=True)
class Classes:
    title: str
    labels: tuple[str, ...]
    colours: tuple[str, ...]


COUNT_CLASSES = Classes("Incidents", ("1–4", "5–9", "10–24", "25–49", "50–99", "100+"),
                        ("#fdd49e", "#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#990000"))
COUNT_EDGES = (1, 5, 10, 25, 50, 100)
FEWER_THAN_5 = "fewer than 5"
GI_CLASSES = Classes("Hot spots (Gi*, exact test, 5 % FDR)",
                     ("cold, FDR < 1 %", "cold, FDR < 5 %", "neither", "hot, FDR < 5 %", "hot, FDR < 1 %"),
                     ("#2166ac", "#92c5de", "#e0e0e0", "#f4a582", "#b2182b"))
CHANGE_CLASSES = Classes("Change vs previous period", ("gone", "falling", "steady", "rising", "new"),
                         ("#4393c3", "#92c5de", "#e0e0e0", "#f4a582", "#b2182b"))
COLOUR_MODES = {"count": COUNT_CLASSES, "gi": GI_CLASSES, "change": CHANGE_CLASSES}
PREMISES_COLOURS = {"pub": "#1b9e77", "bar": "#7570b3", "nightclub": "#e7298a", "restaurant": "#66a61e",
                    "late_night_refreshment": "#e6ab02", "off_licence": "#a6761d"}


def count_class(total: np.ndarray) -> np.ndarray:
    """Index into COUNT_CLASSES for each count (counts of 0 get -1: not drawn)."""
    return np.searchsorted(np.array(COUNT_EDGES), np.asarray(total), side="right") - 1


def gi_class(hot, cold, q) -> np.ndarray:
    """Index into GI_CLASSES from the local test's flags (`local_hotspots`: hot and cold at 5 % FDR) and q."""
    hot = np.asarray(pd.Series(hot).fillna(False), bool)
    cold = np.asarray(pd.Series(cold).fillna(False), bool)
    q = np.asarray(pd.Series(q).fillna(1.0), float)
    return np.select([cold & (q < 0.01), cold, hot & (q < 0.01), hot], [0, 1, 4, 3], default=2)


def change_class(cls: pd.Series) -> np.ndarray:
    return cls.map({label: i for i, label in enumerate(CHANGE_CLASSES.labels)}).fillna(2).to_numpy(int)


HOVER = ("ED assaults: %{customdata[0]}<br>Police violence: %{customdata[1]}<br>Total: %{customdata[2]}"
         "<br>ED placed at venue / street / area: %{customdata[3]}%{customdata[4]}<extra></extra>")


def hover_data(units: pd.DataFrame, record_level: bool, other_label: str = "") -> list[list]:
    """Per unit, compact values for the hover template (customdata, not text: a values-only update stays small):
    ed, police, total (disclosure applied), the ED shares by confidence, and extra lines (another agency's
    incidents, named other_label, first: a part of the total like ED and police)."""
    other = bool(other_label) and "other" in units
    shown = suppress_parts(units, ["ed", "police"] + (["other"] if other else []), record_level, "total")
    extra = units["extra"].tolist() if "extra" in units else [""] * len(units)
    if other:
        extra = [f"{other_label}: {o}" + (f"<br>{x}" if x else "") for o, x in zip(shown["other"].tolist(), extra)]
    ed = units["ed"].to_numpy()
    safe = np.maximum(ed, 1)
    share_ok = (ed >= 5) | (record_level & (ed > 0))
    v, s_, a = (np.round(100 * units[c].to_numpy() / safe).astype(int) for c in ("ed_venue", "ed_street", "ed_area"))
    shares = [f"{v[i]}/{s_[i]}/{a[i]}%" if share_ok[i] else "–" for i in range(len(units))]
    return [[e, p, t, sh, ("<br>" + x) if x else ""]
            for e, p, t, sh, x in zip(shown["ed"].tolist(), shown["police"].tolist(), shown["total"].tolist(), shares, extra)]


def hover_template() -> str:
    """The unit's name (the trace's text: 'Old Compton Street, between Dean Street and Frith Street',
    'Hexagon near Soho Square'), then the values."""
    return "<b>%{text}</b><br>" + HOVER


def classes_for(units: pd.DataFrame, mode: str, record_level: bool) -> tuple[np.ndarray, Classes]:
    """Class index per unit for a colour mode; counts 1-4 are one class ('fewer than 5' without record-level access)."""
    if mode == "gi":
        if "hot" not in units:  # not tested (hexagons finer than the test's resolution): nothing is hot or cold
            return np.full(len(units), 2), GI_CLASSES
        return gi_class(units["hot"], units["cold"], units["q"]), GI_CLASSES
    if mode == "change":
        return change_class(units["change"]), CHANGE_CLASSES
    cls = COUNT_CLASSES
    if not record_level:
        cls = Classes(cls.title, (FEWER_THAN_5,) + cls.labels[1:], ("#c9c9c9",) + cls.colours[1:])
    return count_class(units["total"].to_numpy()), cls


def _discrete_scale(colours) -> list:
    n = len(colours)
    scale = []
    for i, c in enumerate(colours):
        scale += [[i / n, c], [(i + 1) / n, c]]
    return scale


UNITS_UID = "units"  # the units' MapLibre layers are "plotly-trace-layer-units-fill" / "-line"
UNITS_LAYER = f"plotly-trace-layer-{UNITS_UID}-fill"
DEFAULT_OPACITY = 0.85
OUTLINED_MAX = 1500  # units drawn with white edges at most
SELECTED_COLOUR = "#0b3d91"


def colorbar(classes: Classes) -> dict:
    """The classes as a colour bar: not drawn on the map (the legend beside it says the same), kept so a
    figure taken out of the page (an image export) carries its key."""
    n = len(classes.labels)
    return {"title": {"text": classes.title}, "tickvals": list(range(n)), "ticktext": list(classes.labels),
            "thickness": 14, "len": 0.6}


def unit_trace(geojson: dict, ids: list[str], z, customdata: list[list], classes: Classes, names: list[str],
               opacity: float = DEFAULT_OPACITY) -> dict:
    """The units' choropleth as a plain dict: go.Choroplethmap would deep-copy the GeoJSON (seconds for London)."""
    n = len(classes.labels)
    return {
        "type": "choroplethmap", "geojson": geojson, "locations": list(ids), "z": np.asarray(z).tolist(), "customdata": customdata,
        "text": list(names), "zmin": -0.5, "zmax": n - 0.5, "colorscale": _discrete_scale(classes.colours),
        "showscale": False, "colorbar": colorbar(classes),
        # white edges only where there are few enough to read (in software-drawn browsers the edge layer
        # of an all-London map cost 40 % of a redraw: bench/README.md "Map in Chromium")
        "marker": {"line": {"width": 0.4 if len(ids) <= OUTLINED_MAX else 0, "color": "#ffffff"}, "opacity": float(opacity)},
        "hovertemplate": hover_template(), "name": "units", "uid": UNITS_UID,
    }


def first_label_layer(style) -> str | None:
    """The id of a MapLibre style's first text layer (the colours go under it), None for a named style."""
    if not isinstance(style, dict):
        return None
    return next((layer["id"] for layer in style.get("layers", []) if layer.get("type") == "symbol"), None)


_BLOCK_FEATURES: dict[tuple[int, bytes], dict] = {}   # (block id, its WKB line) -> GeoJSON feature
_BLOCK_FEATURES_MAX = 200_000                          # all of London at 10M incidents is 175,000 blocks
_BLOCK_FEATURES_LOCK = threading.Lock()


def _untracked(geometry: dict) -> dict:
    """GeoJSON geometry with its coordinates as tuples: the garbage collector stops tracking tuples of
    floats, so cached polygons do not lengthen every full collection (same JSON)."""
    def tup(x):
        return tuple(tup(v) for v in x) if isinstance(x, list) else x
    return {**geometry, "coordinates": tup(geometry["coordinates"])}


def block_geojson(blocks: pd.DataFrame) -> dict:
    """Street blocks (block_id, geom_wkb WGS84 lines) as street-width polygons, feature id = block id.

    A block's polygon depends only on its line: each is built once per process (keyed by id and
    line, so a reloaded street network is rebuilt) and shared, read-only, by every figure after."""
    keys = [(int(b), bytes(w)) for b, w in zip(blocks["block_id"], blocks["geom_wkb"])]
    with _BLOCK_FEATURES_LOCK:
        found = {k: _BLOCK_FEATURES.get(k) for k in keys}
    missing = [k for k, v in found.items() if v is None]
    if missing:
        lines = shapely.from_wkb([w for _, w in missing])
        polys = shapely.buffer(lines_to_bng(lines), BLOCK_HALF_WIDTH_M, cap_style="flat")

        def to_wgs(xy):
            lat, lon = from_bng(xy[:, 0], xy[:, 1])
            return np.column_stack([np.round(lon, 5), np.round(lat, 5)])  # 5 decimals ≈ 1 m, as hexagons
        polys = shapely.transform(polys, to_wgs)
        # GEOS writes the GeoJSON (the same JSON as shapely.geometry.mapping, 10x faster for 3,000 blocks)
        made = {k: {"type": "Feature", "id": str(k[0]), "properties": {}, "geometry": _untracked(orjson.loads(g))}
                for k, g in zip(missing, shapely.to_geojson(polys))}
        found.update(made)
        with _BLOCK_FEATURES_LOCK:
            if len(_BLOCK_FEATURES) + len(made) > _BLOCK_FEATURES_MAX:
                _BLOCK_FEATURES.clear()
            _BLOCK_FEATURES.update(made)
    return {"type": "FeatureCollection", "features": [found[k] for k in keys]}


def unit_geojson(units: pd.DataFrame, kind: str, shapes: pd.DataFrame | None = None) -> tuple[dict, list[str]]:
    """GeoJSON and feature ids for units (H3 cells as uint64 in `unit`, or blocks with their shapes)."""
    if kind == "hex":
        return cells_geojson(units["unit"]), cell_str(units["unit"])
    return block_geojson(shapes), [str(int(b)) for b in shapes["block_id"]]


def unit_map(geojson: dict, ids: list[str], z, customdata, classes: Classes, outlines: pd.DataFrame, *,
             style, center: dict, zoom: float, names: list[str],
             premises: pd.DataFrame | None = None, premises_on_top: bool = True, opacity: float = DEFAULT_OPACITY,
             record_level: bool = True, note: str = "") -> dict:
    """The map as a figure dict: units (trace 0), borough outlines (1), then the premises (their outline, then
    their markers). The selected unit's outline is drawn apart (assets/map.js); no legend on the map: it sits
    beside it (pages/map.py)."""
    lats, lons = outline_lines(outlines)
    units = unit_trace(geojson, ids, z, customdata, classes, names, opacity)
    labels = first_label_layer(style)
    if labels:  # the base map's names stay readable over the colours
        units["below"] = labels
    data = [units,
            {"type": "scattermap", "lat": lats, "lon": lons, "mode": "lines", "line": {"width": 1.2, "color": "#555"},
             "hoverinfo": "skip", "name": "Borough boundaries", "showlegend": False}]
    if premises is not None:
        data += premises_traces(premises, record_level, below="" if premises_on_top else UNITS_LAYER)
    layout = {"map": {"style": style, "center": {"lat": float(center["lat"]), "lon": float(center["lon"])}, "zoom": float(zoom)},
              "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "uirevision": "map", "clickmode": "event", "showlegend": False,
              "annotations": map_annotations(note, empty=not len(ids))}
    return {"data": data, "layout": layout}


def map_annotations(note: str, empty: bool) -> list[dict]:
    """The map's message line: a note, or that nothing matches (a Patch replaces it as a whole)."""
    message = note or ("No incidents match these filters" if empty else "")
    if not message:
        return []
    return [{"text": message, "showarrow": False, "x": 0.5, "y": 0.02, "xref": "paper", "yref": "paper",
             "font": {"size": 14}, "bgcolor": "rgba(255,255,255,0.9)"}]


PREMISES_CLUSTER_MAXZOOM = 14  # premises are grouped into counted circles up to this zoom


def premises_traces(prem: pd.DataFrame, record_level: bool, below: str = "") -> list[dict]:
    """Premises as small outlined markers coloured by licence type (a dark, slightly larger marker under
    each), grouped into clusters at city zoom so the units under them stay visible. `below`: the layer to
    draw under ('' on top of everything). Hover: name, type, hours and incidents within the radius."""
    if not len(prem):
        return []
    shown = suppress_parts(prem, ["ed", "police"], record_level)
    text = [f"<b>{n}</b><br>{t.replace('_', ' ')}, {o}–{c}<br>Within 50 m in the period: ED {e}, police {v}"
            for n, t, o, c, e, v in zip(prem["name"], prem["licence_type"], prem["opens"], prem["closes"],
                                        shown["ed"], shown["police"])]
    lat, lon = prem["lat"].round(6).tolist(), prem["lon"].round(6).tolist()
    colours = [PREMISES_COLOURS.get(t, "#666666") for t in prem["licence_type"]]
    cluster = {"enabled": True, "maxzoom": PREMISES_CLUSTER_MAXZOOM, "step": [20, 100], "size": [14, 18, 24],
               "opacity": 0.85}
    outline = {"type": "scattermap", "lat": lat, "lon": lon, "mode": "markers", "name": "premises outline",
               "marker": {"size": 8.5, "color": "#222222"}, "hoverinfo": "skip", "below": below, "uid": "premises-outline",
               "cluster": {**cluster, "color": "#222222", "size": [16, 20, 26]}}
    markers = {"type": "scattermap", "lat": lat, "lon": lon, "mode": "markers", "name": "premises",
               "marker": {"size": 6, "color": colours}, "text": text, "customdata": prem["premises_id"].tolist(),
               "hovertemplate": "%{text}<extra></extra>", "below": below, "uid": "premises",
               "cluster": {**cluster, "color": "#f7f7f7"}, "textfont": {"color": "#222222", "size": 11}}
    return [outline, markers]


DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PROTECTED_GREY = "#9e9e9e"


ORRD = [[float(v), c] for v, c in get_colorscale("OrRd")]  # plotly.js knows no "OrRd": send the colours


def day_hour_heatmap(dh: pd.DataFrame, record_level: bool) -> dict:
    """ED assaults by weekday and hour (police.uk has no time of day), as a figure dict."""
    if dh.empty:
        return empty_figure("No ED assaults match these filters").to_plotly_json()
    grid = np.zeros((7, 24))
    grid[dh["weekday"].to_numpy(int), dh["hour"].to_numpy(int)] = dh["n"].to_numpy()
    small = (grid > 0) & (grid < 5) & (not record_level)
    text = np.where(small, SMALL, grid.astype(int).astype(str))
    z = [[None if small[d, h] else float(grid[d, h]) for h in range(24)] for d in range(7)]
    top = float(np.max(np.where(small, 0, grid)))
    trace = {"type": "heatmap", "z": z, "x": [f"{h:02d}" for h in range(24)], "y": list(DAYS), "text": text.tolist(),
             "zmin": 0, "zmax": max(top, 1.0),  # an hour with none is the palest colour, however few the others
             "colorscale": ORRD, "hovertemplate": "%{y} %{x}:00 – %{text} ED assaults<extra></extra>",
             "colorbar": {"title": {"text": "ED"}, "thickness": 10}}
    layout = {"yaxis": {"autorange": "reversed"}, "margin": {"l": 40, "r": 10, "t": 10, "b": 30},
              "xaxis": {"title": {"text": "Hour of assault"}}, "template": TEMPLATE}
    data = [trace]
    if small.any():  # protected cells: a grey of their own with a key, never a blank that reads as zero
        data.append({"type": "heatmap", "z": [[1.0 if small[d, h] else None for h in range(24)] for d in range(7)],
                     "x": trace["x"], "y": trace["y"], "colorscale": [[0, PROTECTED_GREY], [1, PROTECTED_GREY]],
                     "showscale": False, "showlegend": True, "name": f"fewer than 5 ({SMALL}, protected)",
                     "hovertemplate": f"%{{y}} %{{x}}:00 – {SMALL} ED assaults (protected)<extra></extra>"})
        layout["legend"] = {"orientation": "h", "y": -0.25, "x": 0}
    return {"data": data, "layout": layout}
