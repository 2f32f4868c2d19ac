"""H3 hexagons: cell ids for points (vectorised) and cell polygons for maps.

Cells are unsigned 64-bit integers everywhere inside the product; hex strings only where a
person or a format needs them (GeoJSON feature ids).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from h3.api import basic_int as h3i

H3_RESOLUTIONS = (7, 8, 9, 10)  # stored per point; the map picks one from zoom
FINEST = max(H3_RESOLUTIONS)
_RES_SHIFT = np.uint64(52)
_RES_MASK = np.uint64(0xF << 52)


def cells_to_parent(cells: np.ndarray, res: int) -> np.ndarray:
    """Parents of H3 cells at a coarser resolution, by bit arithmetic (no per-cell calls).

    An H3 cell keeps its resolution in bits 52-55 and one 3-bit digit per finer resolution
    below; a parent is the same index with its resolution field lowered and the digits
    below it set to 7 ("unused").
    """
    cells = np.asarray(cells, dtype=np.uint64)
    unused = np.uint64((1 << (3 * (15 - res))) - 1)
    return (cells & ~_RES_MASK) | (np.uint64(res) << _RES_SHIFT) | unused


def latlng_to_cells(lat: np.ndarray, lon: np.ndarray, res: int = FINEST) -> np.ndarray:
    """H3 cells of points at one resolution; lat/lon must be finite."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    return np.fromiter(
        (h3i.latlng_to_cell(a, b, res) for a, b in zip(lat.tolist(), lon.tolist())),
        dtype=np.uint64, count=len(lat),
    )


def h3_columns(lat, lon) -> dict[str, pd.Series]:
    """Columns h3_r7..h3_r10 for points; missing coordinates give missing cells."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    finest = latlng_to_cells(lat[ok], lon[ok], FINEST)
    out = {}
    for res in H3_RESOLUTIONS:
        values = finest if res == FINEST else cells_to_parent(finest, res)
        col = pd.array(np.zeros(len(lat), dtype=np.uint64), dtype="UInt64")
        col[ok] = values
        col[~ok] = pd.NA
        out[f"h3_r{res}"] = pd.Series(col)
    return out


def resolution_for_zoom(zoom: float) -> int:
    """The H3 resolution a map at this zoom shows: hexagons about 8-25 px across.

    All of London fits at about zoom 9 (r8, ~0.7 km²); a borough at 11-12 (r9); streets at 13+ (r10).
    """
    if zoom < 8.5:
        return 7
    if zoom < 11:
        return 8
    if zoom < 12.5:
        return 9
    return 10


def cells_geojson(cells) -> dict:
    """GeoJSON FeatureCollection of cell polygons, feature id = cell hex string."""
    return {"type": "FeatureCollection", "features": [_cell_feature(int(c)) for c in cells]}


@lru_cache(maxsize=100_000)
def _cell_feature(cell: int) -> dict:
    # A cell's polygon never changes: each is computed once per process and shared (read-only) by
    # every figure that draws it (all of London at r9 is ~17,000 cells, ~25 MB).
    # tuples, not lists: tuples of floats are untracked by the garbage collector, so a cache of
    # 100,000 polygons adds nothing to each full collection (lists made them ~150 ms at 10M)
    ring = tuple((round(lng, 5), round(lat, 5)) for lat, lng in h3i.cell_to_boundary(cell))  # 5 decimals ≈ 1 m
    return {"type": "Feature", "id": h3i.int_to_str(cell), "properties": {},
            "geometry": {"type": "Polygon", "coordinates": (ring + ring[:1],)}}


def cell_str(cells) -> list[str]:
    return [h3i.int_to_str(int(c)) for c in cells]


def premises_rings(ids, cells, radius_m: float) -> pd.DataFrame:
    """(premises_id, cell) pairs: each premises' r10 cell and every r10 cell within reach of radius_m.

    An r10 cell is about 66 m edge to edge at its narrowest, so k rings of cells cover any point
    within k * 66 m of the cell's edge; one ring more than radius / 66 m is always enough.
    """
    k = int(np.ceil(radius_m / 66.0)) + 1 if radius_m > 0 else 0
    rows_id, rows_cell = [], []
    for pid, cell in zip(ids, cells):
        disk = h3i.grid_disk(int(cell), k)
        rows_id += [pid] * len(disk)
        rows_cell += disk
    return pd.DataFrame({"premises_id": rows_id, "cell": np.array(rows_cell, dtype=np.uint64)})
