"""Street blocks: segments between junctions, and the nearest block of each point.

Distances are computed in British National Grid metres (EPSG:27700), the projection every
London data set can be converted to.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
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


# --- street networks → blocks ----------------------------------------------------------------

SNAP_M = 0.1          # vertices closer than this are one junction
_NODE_ROW = 20_000_000  # node id = x cell * _NODE_ROW + y cell (BNG cells of SNAP_M; y < 2,000 km)


def node_ids(x, y, snap_m: float = SNAP_M) -> np.ndarray:
    """Junction ids from BNG positions: the same place always gets the same id (shared junctions)."""
    kx = np.round(np.asarray(x, float) / snap_m).astype(np.int64)
    ky = np.round(np.asarray(y, float) / snap_m).astype(np.int64)
    return kx * _NODE_ROW + ky


def list_text(value) -> str | None:
    """The first item of a list-like text ("['Oxford Street', 'Regent Street']"), or the text itself."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (list, tuple)):
        return list_text(value[0]) if value else None
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        items = [t.strip().strip("'\"").strip() for t in text[1:-1].split(",")]
        items = [t for t in items if t]
        return items[0] if items else None
    return text or None


def _as_pieces(lines, names) -> list[tuple[np.ndarray, np.ndarray, object]]:
    """(xy, node ids, name) for each line with at least two distinct vertices."""
    xy, owner = shapely.get_coordinates(lines, return_index=True)
    nodes = node_ids(xy[:, 0], xy[:, 1])
    starts = np.searchsorted(owner, np.arange(len(lines)))
    ends = np.append(starts[1:], len(owner))
    return [(xy[s:e], nodes[s:e], names[i]) for i, (s, e) in enumerate(zip(starts, ends))
            if e - s >= 2 and len(np.unique(nodes[s:e])) >= 2]


def _split_at_junctions(pieces) -> list[tuple[np.ndarray, np.ndarray, object]]:
    """Each piece cut at every inner vertex that another piece also uses (or it uses twice)."""
    if not pieces:
        return []
    all_nodes = np.concatenate([p[1] for p in pieces])
    _, inverse, counts = np.unique(all_nodes, return_inverse=True, return_counts=True)
    shared = counts[inverse] > 1
    out, s = [], 0
    for xy, nodes, name in pieces:
        e = s + len(nodes)
        cut = np.flatnonzero(shared[s + 1:e - 1]) + 1
        bounds = np.concatenate([[0], cut, [len(nodes) - 1]])
        for a, b in zip(bounds[:-1], bounds[1:]):
            if len(np.unique(nodes[a:b + 1])) >= 2:
                out.append((xy[a:b + 1], nodes[a:b + 1], name))
        s = e
    return out


def _canonical(piece):
    """The piece oriented from its lower node id (ties: lower vertex sequence), for de-duplication."""
    xy, nodes, name = piece
    rev = nodes[::-1]
    if (nodes[0], tuple(nodes)) > (rev[0], tuple(rev)):
        return xy[::-1], rev, name
    return piece


def _dedupe(pieces):
    """One piece per undirected geometry: the two directions of a two-way street become one."""
    seen: dict[bytes, int] = {}
    out = []
    for piece in map(_canonical, pieces):
        key = piece[1].tobytes()
        if key in seen:
            kept = out[seen[key]]
            if kept[2] is None and piece[2] is not None:  # keep a name when one direction has it
                out[seen[key]] = (kept[0], kept[1], piece[2])
            continue
        seen[key] = len(out)
        out.append(piece)
    return out


def _merge_chains(pieces):
    """Join pieces that meet at a node with no other piece (not a junction) and share a name."""
    at: dict[int, list[int]] = {}
    for i, (_, nodes, _) in enumerate(pieces):
        at.setdefault(int(nodes[0]), []).append(i)
        at.setdefault(int(nodes[-1]), []).append(i)
    parent = list(range(len(pieces)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    through = set()
    for node, ids in at.items():
        if len(ids) == 2 and ids[0] != ids[1] and pieces[ids[0]][2] == pieces[ids[1]][2]:
            through.add(node)
            parent[find(ids[0])] = find(ids[1])
    groups: dict[int, list[int]] = {}
    for i in range(len(pieces)):
        groups.setdefault(find(i), []).append(i)
    out = []
    for ids in groups.values():
        if len(ids) == 1:
            out.append(pieces[ids[0]])
            continue
        members = set(ids)
        ends = sorted(n for i in ids for n in (int(pieces[i][1][0]), int(pieces[i][1][-1])) if n not in through)
        node = ends[0] if ends else min(int(pieces[i][1][0]) for i in ids)  # a closed loop starts anywhere
        xy_parts, node_parts, used = [], [], set()
        while True:
            nxt = [i for i in at[node] if i in members and i not in used]
            if not nxt:
                break
            i = min(nxt)
            used.add(i)
            xy, nodes, _ = pieces[i]
            if int(nodes[0]) != node:
                xy, nodes = xy[::-1], nodes[::-1]
            xy_parts.append(xy if not xy_parts else xy[1:])
            node_parts.append(nodes if not node_parts else nodes[1:])
            node = int(nodes[-1])
            if node not in through:
                break
        out.append((np.concatenate(xy_parts), np.concatenate(node_parts), pieces[ids[0]][2]))
    return out


def street_blocks(lines_bng, names) -> pd.DataFrame:
    """Street blocks from street centre lines in BNG metres.

    Lines are split at junctions (vertices that end a line or are shared by lines; lines that
    cross without a shared vertex, such as bridges, do not meet), the two directions of a
    two-way street become one block, and pieces joined at a node no third line touches are
    merged back when they carry the same name. Returns street, node_u, node_v (junction ids
    shared by adjacent blocks), length_m and geometry (BNG LineString), in a stable order.
    """
    lines = np.asarray(lines_bng, dtype=object)
    names = list(names)
    parts, index = shapely.get_parts(lines, return_index=True)
    part_names = [names[i] for i in index]
    keep = ~shapely.is_empty(parts) & (shapely.get_type_id(parts) == 1)
    # directed duplicates go first: their shared vertices are not junctions
    pieces = _dedupe(_as_pieces(parts[keep], [n for n, k in zip(part_names, keep) if k]))
    pieces = _merge_chains(_dedupe(_split_at_junctions(pieces)))
    pieces = [_canonical(p) for p in pieces]
    pieces.sort(key=lambda p: (int(p[1][0]), int(p[1][-1]), p[1].tobytes()))
    geoms = np.array([shapely.LineString(p[0]) for p in pieces], dtype=object)
    return pd.DataFrame({
        "street": pd.Series([p[2] for p in pieces], dtype=object),
        "node_u": np.array([p[1][0] for p in pieces], dtype=np.int64),
        "node_v": np.array([p[1][-1] for p in pieces], dtype=np.int64),
        "length_m": shapely.length(geoms) if len(pieces) else np.array([], float),
        "geometry": geoms,
    })


def block_neighbours(block_ids, node_u, node_v) -> np.ndarray:
    """(block, neighbour) id pairs of blocks sharing a junction, both directions, sorted."""
    ids = np.asarray(block_ids, np.int64)
    ends = np.concatenate([np.column_stack([ids, node_u]), np.column_stack([ids, node_v])]).astype(np.int64)
    ends = np.unique(ends, axis=0)
    order = np.argsort(ends[:, 1], kind="stable")
    ends = ends[order]
    pairs = []
    start = 0
    for stop in np.append(np.flatnonzero(np.diff(ends[:, 1])) + 1, len(ends)):
        group = ends[start:stop, 0]
        if len(group) > 1:
            a, b = np.meshgrid(group, group)
            mask = a != b
            pairs.append(np.column_stack([a[mask], b[mask]]))
        start = stop
    if not pairs:
        return np.empty((0, 2), np.int64)
    return np.unique(np.concatenate(pairs), axis=0)
