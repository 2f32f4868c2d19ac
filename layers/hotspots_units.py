"""Spatial units for hot-spot statistics: the study area's hexes and who neighbours whom."""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from h3.api import basic_int as h3i


def neighbours_hex(cells, k: int = 1) -> dict[int, list[int]]:
    """Cells within grid distance k of each cell (itself excluded) that are also in `cells`.

    cells: H3 cells as integers (any int dtype). Every cell is a key; a cell with no
    neighbour in the set maps to an empty list (an island for Gi*).
    """
    if int(k) != k or k < 1:
        raise ValueError(f"k was {k!r} but must be a whole number of rings, 1 or more")
    members = {int(c) for c in np.asarray(cells).tolist()}
    return {
        c: sorted(d for d in h3i.grid_disk(c, int(k)) if d != c and d in members)
        for c in sorted(members)
    }


def _lat_lng(ring) -> list[tuple[float, float]]:
    # shapely stores (x=lon, y=lat); H3 wants (lat, lng); the closing vertex is redundant
    xy = np.asarray(ring.coords)[:-1, :2]
    return [(lat, lon) for lon, lat in xy.tolist()]


def study_area_hexes(polygons_wgs84, res: int) -> np.ndarray:
    """All H3 cells at `res` whose centre lies in any of the polygons, sorted, as uint64.

    polygons_wgs84: shapely Polygons or MultiPolygons (or one of them) in lon/lat degrees,
    e.g. the filtered boroughs' outlines, so that hexes without incidents take part.
    """
    if isinstance(polygons_wgs84, shapely.Geometry):
        polygons_wgs84 = [polygons_wgs84]
    if not 0 <= int(res) <= 15:
        raise ValueError(f"res was {res!r} but H3 resolutions run from 0 to 15")
    cells: set[int] = set()
    for i, geom in enumerate(polygons_wgs84):
        if geom is None or geom.is_empty:
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise ValueError(f"polygon {i} is a {geom.geom_type} but must be a Polygon or MultiPolygon")
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90):
            raise ValueError(
                f"polygon {i} has bounds {tuple(round(b, 1) for b in geom.bounds)}, which are not "
                "lon/lat degrees (British National Grid metres?); convert it with "
                "to_crs('EPSG:4326') first")
        for part in getattr(geom, "geoms", [geom]):
            poly = h3i.LatLngPoly(_lat_lng(part.exterior), *[_lat_lng(r) for r in part.interiors])
            cells.update(h3i.polygon_to_cells(poly, int(res)))
    return np.array(sorted(cells), dtype=np.uint64)


def neighbours_block(blocks: pd.DataFrame) -> dict[int, list[int]]:
    """Blocks that share a junction node with each block (itself excluded).

    blocks: columns block_id, node_u, node_v. Every block is a key; a block whose junctions
    touch no other block maps to an empty list.
    """
    missing = [c for c in ("block_id", "node_u", "node_v") if c not in blocks.columns]
    if missing:
        raise ValueError(f"blocks needs columns block_id, node_u, node_v; missing {missing}")
    ids = blocks["block_id"].to_numpy(dtype=np.int64)
    ends = pd.DataFrame({
        "block": np.concatenate([ids, ids]),
        "node": np.concatenate([blocks["node_u"].to_numpy(), blocks["node_v"].to_numpy()]),
    }).dropna().drop_duplicates()
    pairs = ends.merge(ends, on="node", suffixes=("", "_other"))
    pairs = pairs.loc[pairs["block"] != pairs["block_other"], ["block", "block_other"]]
    pairs = pairs.drop_duplicates().sort_values(["block", "block_other"])
    src = pairs["block"].to_numpy()
    dst = pairs["block_other"].to_numpy()
    starts = np.flatnonzero(np.r_[True, src[1:] != src[:-1]]) if len(src) else np.empty(0, int)
    out: dict[int, list[int]] = {int(b): [] for b in np.unique(ids).tolist()}
    for b, group in zip(src[starts].tolist(), np.split(dst, starts[1:])):
        out[b] = group.tolist()
    return out
