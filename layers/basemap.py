"""The app's own base map: Mapbox vector tiles cut from the store's streets, boroughs and landmarks.

Pure: DataFrames in (`BaseMap.build`, once per data version), MVT bytes out (`BaseMap.tile`).
Coordinates are Web Mercator (EPSG:3857, the tile scheme MapLibre uses), kept in "world units"
(0..1 across the world, y down) so a tile is a scale and a shift away.

Layers of a tile (names are what dashboard/basemap.py's style draws):
- `streets`      lines from STREETS_FROM (a borough fills the map at about 11.5; below that London's
                 streets are a grey smear that costs bytes), without the shortest ones below
                 NAMES_FROM; from NAMES_FROM with property `name`, the pieces of one street merged so
                 a name is placed along the street, not once per block.
- `boroughs`     borough boundaries as lines (MapLibre draws no fill; the data layers colour areas).
- `borough_labels` one point per borough with `name`, up to BOROUGH_LABELS_TO.
- `landmarks`    points with `name` and `kind`, from LANDMARKS_FROM.
No parks or water: the store holds no such layer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import mapbox_vector_tile
import numpy as np
import pandas as pd
import shapely

EXTENT = 4096            # tile units across a tile (MVT default)
BUFFER = 256             # tile units drawn beyond each edge: lines and labels run on across tile seams
MAX_ZOOM = 16            # tiles are cut up to here; MapLibre overzooms beyond
STREETS_FROM = 11
NAMES_FROM = 14
LANDMARKS_FROM = 13
BOROUGH_LABELS_TO = 13
# below NAMES_FROM, merged street lines shorter than this (tile units; 8 a pixel) are left out: at z 11 a
# 200 m cul-de-sac is 5 px of grey that costs as much to encode as a main road (z 11 tiles over Westminster: 31 KB, not 49)
MIN_LENGTH = {11: 64.0, 12: 40.0, 13: 16.0}
SIMPLIFY = 4.0           # tile units (a tile is drawn 512 px wide, so 8 units a pixel): half a pixel
MAX_LAT = 85.05112878


def lonlat_to_world(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator world units: x 0..1 west to east, y 0..1 north to south."""
    lon = np.asarray(lon, dtype=float)
    lat = np.clip(np.asarray(lat, dtype=float), -MAX_LAT, MAX_LAT)
    x = (lon + 180.0) / 360.0
    s = np.sin(np.radians(lat))
    y = 0.5 - np.log((1 + s) / (1 - s)) / (4 * math.pi)
    return x, y


def _to_world(geoms: np.ndarray) -> np.ndarray:
    def fn(coords):
        x, y = lonlat_to_world(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])
    return shapely.transform(geoms, fn)


def _wkb(column) -> np.ndarray:
    return shapely.from_wkb([bytes(w) if w is not None else None for w in column])


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of a tile in world units."""
    n = 2 ** z
    return x / n, y / n, (x + 1) / n, (y + 1) / n


def valid_tile(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2 ** z and 0 <= y < 2 ** z


@dataclass(frozen=True)
class BaseMap:
    """The geometry of one data version in world units, with spatial indexes, ready to cut tiles."""
    streets: np.ndarray          # LineStrings
    street_names: np.ndarray     # str ('' where the block has no name)
    street_tree: shapely.STRtree
    network: np.ndarray          # every street line merged where lines meet, simplified for zoom < NAMES_FROM
    network_length: np.ndarray   # world units
    network_tree: shapely.STRtree
    boundaries: np.ndarray       # borough boundaries (Multi)LineStrings
    borough_points: np.ndarray   # Points
    borough_names: np.ndarray
    landmark_points: np.ndarray
    landmark_names: np.ndarray
    landmark_kinds: np.ndarray

    @classmethod
    def build(cls, blocks: pd.DataFrame, boroughs: pd.DataFrame, landmarks: pd.DataFrame) -> "BaseMap":
        """blocks: street, geom_wkb (WGS84 LineString); boroughs: name, lat, lon, geom_wkb (WGS84 polygons);
        landmarks: name, kind, lat, lon (may be empty)."""
        for frame, what, need in ((blocks, "blocks", {"street", "geom_wkb"}),
                                  (boroughs, "boroughs", {"name", "lat", "lon", "geom_wkb"}),
                                  (landmarks, "landmarks", {"name", "kind", "lat", "lon"})):
            missing = need - set(frame.columns)
            if missing:
                raise ValueError(f"{what} has no column {sorted(missing)}; expected at least {sorted(need)}")
        lines = _wkb(blocks["geom_wkb"])
        keep = ~(shapely.is_missing(lines) | shapely.is_empty(lines))
        lines = _to_world(lines[keep])
        # streets without names (zoom < NAMES_FROM) are cut from one merged network: few long lines clip
        # fast, and a tile leaves out short ones by their whole length, not by the piece it holds
        network = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines))) if len(lines) else lines
        network = shapely.simplify(network, SIMPLIFY / (EXTENT * 2 ** (NAMES_FROM - 1)), preserve_topology=False)
        names = blocks["street"].fillna("").astype(str).to_numpy()[keep]
        shapes = _wkb(boroughs["geom_wkb"])
        has_shape = ~(shapely.is_missing(shapes) | shapely.is_empty(shapes))
        boundaries = _to_world(shapely.boundary(shapes[has_shape]))
        bx, by = lonlat_to_world(boroughs["lon"], boroughs["lat"])
        lm = landmarks.dropna(subset=["lat", "lon"])
        lx, ly = lonlat_to_world(lm["lon"], lm["lat"])
        return cls(
            streets=lines, street_names=names, street_tree=shapely.STRtree(lines),
            network=network, network_length=shapely.length(network), network_tree=shapely.STRtree(network),
            boundaries=boundaries,
            borough_points=shapely.points(bx, by), borough_names=boroughs["name"].fillna("").astype(str).to_numpy(),
            landmark_points=shapely.points(lx, ly), landmark_names=lm["name"].fillna("").astype(str).to_numpy(),
            landmark_kinds=lm["kind"].fillna("").astype(str).to_numpy(),
        )

    def tile(self, z: int, x: int, y: int) -> bytes:
        """The MVT bytes of tile z/x/y; b'' when nothing of the base map lies in it."""
        if not valid_tile(z, x, y):
            raise ValueError(f"tile {z}/{x}/{y} does not exist; expected 0 <= z <= {MAX_ZOOM} and 0 <= x, y < 2**z")
        x0, y0, x1, y1 = tile_bounds(z, x, y)
        scale = EXTENT * 2 ** z
        pad = BUFFER / scale
        box = shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)

        def local(geoms):
            # world units -> tile units, clipped to the tile and its buffer, simplified, on the integer grid
            g = shapely.clip_by_rect(geoms, x0 - pad, y0 - pad, x1 + pad, y1 + pad)
            g = shapely.transform(g, lambda c: np.round((c - (x0, y0)) * scale))
            # simplifying keeps a subset of the (integer) points and drops repeated ones
            g = shapely.simplify(g, SIMPLIFY, preserve_topology=False)
            return g, ~(shapely.is_empty(g) | shapely.is_missing(g))

        layers = []
        if STREETS_FROM <= z < NAMES_FROM:
            idx = self.network_tree.query(box)
            idx = np.sort(idx[self.network_length[idx] * scale >= MIN_LENGTH.get(z, 0)])
            g, ok = local(self.network[idx])
            parts = shapely.get_parts(g[ok])
            parts = parts[shapely.get_type_id(parts) == 1]
            if len(parts):
                layers.append({"name": "streets", "features": [
                    {"geometry": shapely.multilinestrings(parts), "properties": {}}]})
        elif z >= NAMES_FROM:
            idx = np.sort(self.street_tree.query(box))
            if len(idx):
                layers.append({"name": "streets", "features": self._streets(idx, local)})
        hit = shapely.intersects(self.boundaries, box)
        if hit.any():
            g, ok = local(self.boundaries[hit])
            layers.append({"name": "boroughs", "features": [{"geometry": s, "properties": {}} for s in g[ok]]})
        if z <= BOROUGH_LABELS_TO:
            layers.append(self._points("borough_labels", self.borough_points, box, local,
                                       {"name": self.borough_names}))
        if z >= LANDMARKS_FROM:
            layers.append(self._points("landmarks", self.landmark_points, box, local,
                                       {"name": self.landmark_names, "kind": self.landmark_kinds}))
        layers = [layer for layer in layers if layer["features"]]
        if not layers:
            return b""
        return mapbox_vector_tile.encode(layers, default_options={
            "extents": EXTENT, "y_coord_down": True, "check_winding_order": False})

    def _streets(self, idx: np.ndarray, local) -> list[dict]:
        parts = shapely.get_parts(self.streets[idx])  # blocks are single lines; get_parts guards against multis
        owner = np.repeat(idx, shapely.get_num_geometries(self.streets[idx]))
        g, ok = local(parts)
        g, owner = g[ok], owner[ok]
        g, owner = _lines_only(g, owner)
        if not len(g):
            return []
        names = self.street_names[owner]
        order = np.argsort(names, kind="stable")
        names, g = names[order], g[order]
        uniq, group = np.unique(names, return_inverse=True)
        merged = shapely.line_merge(shapely.multilinestrings(g, indices=group))
        return [{"geometry": m, "properties": {"name": n} if n else {}} for n, m in zip(uniq, merged)]

    @staticmethod
    def _points(name: str, points: np.ndarray, box, local, props: dict[str, np.ndarray]) -> dict:
        hit = shapely.intersects(points, box)
        if not hit.any():
            return {"name": name, "features": []}
        g, ok = local(points[hit])
        cols = {k: v[hit][ok] for k, v in props.items()}
        return {"name": name, "features": [
            {"geometry": p, "properties": {k: str(cols[k][i]) for k in cols if cols[k][i]}}
            for i, p in enumerate(g[ok])]}


def _lines_only(g: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Explode clipped results to LineStrings (clipping can split a line in two, or leave a point)."""
    parts, which = shapely.get_parts(g, return_index=True)
    kind = shapely.get_type_id(parts)
    keep = (kind == 1) & (shapely.length(parts) > 0)
    return parts[keep], owner[which[keep]]
