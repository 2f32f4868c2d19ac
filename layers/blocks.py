"""Street blocks: segments between junctions, and the nearest block of each point.

Distances are computed in British National Grid metres (EPSG:27700), the projection every
London data set can be converted to.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer

DEFAULT_MAX_DISTANCE_M = 50.0


@lru_cache(maxsize=None)
def _transformer(inverse: bool) -> Transformer:
    src, dst = ("EPSG:27700", "EPSG:4326") if inverse else ("EPSG:4326", "EPSG:27700")
    return Transformer.from_crs(src, dst, always_xy=True)


def to_bng(lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lat/lon → British National Grid easting, northing (metres)."""
    return _transformer(False).transform(np.asarray(lon, float), np.asarray(lat, float))


def from_bng(easting, northing) -> tuple[np.ndarray, np.ndarray]:
    """British National Grid easting, northing → WGS84 (lat, lon)."""
    lon, lat = _transformer(True).transform(np.asarray(easting, float), np.asarray(northing, float))
    return lat, lon


def lines_to_bng(lines_wgs84) -> np.ndarray:
    """Shapely line geometries in lon/lat → the same lines in BNG metres."""
    return shapely.transform(np.asarray(lines_wgs84, dtype=object),
                             lambda xy: np.column_stack(to_bng(xy[:, 1], xy[:, 0])))


class BlockIndex:
    """Spatial index over street blocks for nearest-block lookups.

    lines_bng: block geometries in BNG metres; block_ids: their ids, same order.
    """

    def __init__(self, lines_bng, block_ids):
        self.lines = np.asarray(lines_bng, dtype=object)
        self.block_ids = np.asarray(block_ids, dtype=np.int64)
        if len(self.lines) != len(self.block_ids):
            raise ValueError(f"{len(self.lines)} block geometries but {len(self.block_ids)} block ids")
        self.tree = shapely.STRtree(self.lines)

    def assign(self, lat, lon, max_distance_m: float = DEFAULT_MAX_DISTANCE_M) -> tuple[np.ndarray, np.ndarray]:
        """Nearest block id of each point within max_distance_m, and its distance.

        Points farther than max_distance_m, or without coordinates, get block id -1 and
        distance NaN. Ties go to the lower block id, so results are deterministic.
        """
        lat = np.asarray(lat, dtype=float)
        lon = np.asarray(lon, dtype=float)
        ids = np.full(len(lat), -1, dtype=np.int64)
        dist = np.full(len(lat), np.nan)
        ok = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon))
        if len(ok) == 0 or len(self.lines) == 0:
            return ids, dist
        x, y = to_bng(lat[ok], lon[ok])
        points = shapely.points(x, y)
        (pi, ti), d = self.tree.query_nearest(points, max_distance=max_distance_m, return_distance=True, all_matches=True)
        # all_matches returns every equidistant block; keep the lowest id per point
        order = np.lexsort((self.block_ids[ti], pi))
        pi, ti, d = pi[order], ti[order], d[order]
        first = np.ones(len(pi), dtype=bool)
        first[1:] = pi[1:] != pi[:-1]
        ids[ok[pi[first]]] = self.block_ids[ti[first]]
        dist[ok[pi[first]]] = d[first]
        return ids, dist
