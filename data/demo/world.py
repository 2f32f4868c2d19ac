"""The geography of the synthetic London: boroughs, streets, premises, EDs, landmarks.

Everything is drawn in British National Grid metres from a seeded numpy Generator, so the
same seed and scale give the same world. Borough shapes are schematic: Voronoi cells of the
real borough centroids clipped to a simplified Greater London outline (data/demo/london.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import Delaunay, cKDTree

from data.demo import london
from layers.blocks import from_bng, to_bng

CENTRE_SIGMA_M = 450.0       # spread of a town centre's night-time economy
MIN_NODE_SPACING_M = 30.0
MAX_SEGMENT_M = 1200.0
STREET_TURN_DEG = 30.0       # a street continues through a junction when it bends less than this
# Street lengths, calibrated to real Westminster (OSM drivable network, one street name per
# borough): extent per name median 152 m, mean 228, p75 246, p90 460; 91 % of names <= 500 m;
# names over 1 km are 2.7 % of names but 19 % of street length (the arterials). Each street draws
# a target from a lognormal (median 150 m) or, one street in twenty, an arterial's lognormal
# (median 1.6 km), and grows from its seed block in both directions until it reaches the target.
# Demo Westminster at scale 0.25, seed 42: median 143 m, mean 233, p75 245, p90 441; 91 % <= 500 m;
# over 1 km 3.2 % of names, 21 % of length (all London: median 265 m, p90 678, 82 % <= 500 m,
# longer because outer-London blocks are; before this, Westminster median 210 m, all London 390 m).
STREET_MEDIAN_M, STREET_SIGMA = 150.0, 0.9
ARTERIAL_SHARE, ARTERIAL_MEDIAN_M, ARTERIAL_SIGMA = 0.05, 1600.0, 0.35
ARTERIAL_TURN_DEG = 50.0    # an arterial bends more before it gives up its name
# Street names: a classic "Stem Suffix" (common stems, like Church or Station, recur across
# London), two stems ("Abbey Mill Lane") or a qualifier ("Upper Baker Street"), with stem
# preferences of each borough's own, so most names are local as in London.
STREET_NAME_FORMS = (("stem", 0.55), ("two", 0.30), ("qualified", 0.15))
QUALIFIERS = ("North", "South", "East", "West", "Upper", "Lower", "Old", "New", "Great", "Little")
BOROUGH_STEM_SIGMA = 1.5  # spread of a borough's own stem preferences (lognormal)


@dataclass
class World:
    outline: shapely.Polygon                 # BNG
    boroughs: pd.DataFrame                   # code, name, population, lat, lon, geom (BNG polygon)
    centres: pd.DataFrame                    # name, borough_code, x, y, weight, high_street
    nodes: np.ndarray                        # (n, 2) BNG junctions
    segments: pd.DataFrame                   # block_id, street, borough_code, node_u, node_v, length_m, x, y (midpoint), geom (BNG)
    premises: pd.DataFrame                   # premises_id, name, address, street, licence_type, opens, closes, borough_code, x, y, block_id
    ed_sites: pd.DataFrame                   # site_code, name, borough_code, x, y
    landmarks: pd.DataFrame                  # name, kind, borough_code, x, y

    def nte_density(self, x, y) -> np.ndarray:
        """Night-time-economy intensity at points: 1 + weighted town-centre kernels."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        d = np.ones(len(x))
        for cx, cy, w in self.centres[["x", "y", "weight"]].itertuples(index=False):
            d += 6.0 * w * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * CENTRE_SIGMA_M ** 2))
        return d


def _frame(rows, x_lat="lat", x_lon="lon") -> pd.DataFrame:
    df = pd.DataFrame([r._asdict() for r in rows])
    df["x"], df["y"] = to_bng(df[x_lat].to_numpy(), df[x_lon].to_numpy())
    return df


def _outline() -> shapely.Polygon:
    lon, lat = np.array(london.LONDON_OUTLINE).T
    x, y = to_bng(lat, lon)
    return shapely.make_valid(shapely.Polygon(np.column_stack([x, y])))


def _boroughs(outline) -> pd.DataFrame:
    """Schematic borough shapes: Voronoi cells of every real place we know the borough of
    (centroids, town centres, landmarks, EDs), merged per borough and clipped to London."""
    df = _frame(london.BOROUGHS)
    seeds = pd.concat([_frame(rows)[["x", "y", col]].rename(columns={col: "code"}) for rows, col in (
        (london.BOROUGHS, "code"), (london.TOWN_CENTRES, "borough_code"),
        (london.LANDMARKS, "borough_code"), (london.ED_SITES, "borough_code"))], ignore_index=True)
    seeds = seeds.drop_duplicates(["x", "y"])
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(seeds[["x", "y"]].to_numpy()), extend_to=outline))
    owner = np.empty(len(cells), dtype=object)
    tree = shapely.STRtree(cells)
    seed_pts = shapely.points(seeds["x"], seeds["y"])
    pi, ci = tree.query(seed_pts, predicate="within")
    owner[ci] = seeds["code"].to_numpy()[pi]
    df["geom"] = [shapely.intersection(shapely.union_all(cells[owner == code]), outline) for code in df["code"]]
    return df.drop(columns=["x", "y"])


def _sample_nodes(rng, n, outline, centres) -> np.ndarray:
    """Junctions: half spread evenly over London, half clustered in town centres."""
    minx, miny, maxx, maxy = outline.bounds
    n_uniform = n // 2
    pts = [np.column_stack([rng.uniform(minx, maxx, n_uniform * 2), rng.uniform(miny, maxy, n_uniform * 2)])]
    w = centres["weight"].to_numpy()
    pick = rng.choice(len(centres), size=n - n_uniform, p=w / w.sum())
    spread = rng.normal(0, CENTRE_SIGMA_M * 1.6, (len(pick), 2))
    pts.append(centres[["x", "y"]].to_numpy()[pick] + spread)
    pts = np.vstack(pts)
    pts = pts[shapely.contains_xy(outline, pts[:, 0], pts[:, 1])]
    # thin out junctions closer than MIN_NODE_SPACING_M (keep the first of each pair)
    pairs = cKDTree(pts).query_pairs(MIN_NODE_SPACING_M, output_type="ndarray")
    drop = np.zeros(len(pts), bool)
    drop[np.maximum(pairs[:, 0], pairs[:, 1])] = True
    return pts[~drop]


def _gabriel_edges(nodes, outline) -> np.ndarray:
    """Edges of the Gabriel graph (a planar, street-like subgraph of the Delaunay triangulation)."""
    tri = Delaunay(nodes)
    s = tri.simplices
    e = np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
    e = np.unique(np.sort(e, axis=1), axis=0)
    a, b = nodes[e[:, 0]], nodes[e[:, 1]]
    mid, half = (a + b) / 2, np.linalg.norm(a - b, axis=1) / 2
    nearest, _ = cKDTree(nodes).query(mid, k=1)
    keep = (nearest >= half * (1 - 1e-9)) & (half * 2 <= MAX_SEGMENT_M)
    keep &= shapely.contains_xy(outline, mid[:, 0], mid[:, 1])
    return e[keep]


def _street_targets(rng, n) -> np.ndarray:
    """A target length per street (metres): a lognormal, with an arterial's lognormal mixed in."""
    arterial = rng.random(n) < ARTERIAL_SHARE
    base = rng.lognormal(np.log(STREET_MEDIAN_M), STREET_SIGMA, n)
    return np.where(arterial, rng.lognormal(np.log(ARTERIAL_MEDIAN_M), ARTERIAL_SIGMA, n), base)


def _chain_streets(nodes, edges, rng) -> np.ndarray:
    """Group edges into streets: from a seed block a street grows at both ends in turn, carrying
    on through a junction where it bends least, until the next block would take it further past
    its target length than it is short of it. Arterials are laid out first."""
    n_edges = len(edges)
    vec = nodes[edges[:, 1]] - nodes[edges[:, 0]]
    length = np.linalg.norm(vec, axis=1)
    incident: dict[int, list[int]] = {}
    for i, (u, v) in enumerate(edges.tolist()):
        incident.setdefault(u, []).append(i)
        incident.setdefault(v, []).append(i)
    street = np.full(n_edges, -1)
    order = rng.permutation(n_edges)
    target = _street_targets(rng, n_edges)  # the target of the street seeded at order[k] is target[k]
    first = np.argsort(target < ARTERIAL_MEDIAN_M / 2, kind="stable")  # arterials first, else random
    sid = 0
    for k in first.tolist():
        start = int(order[k])
        if street[start] >= 0:
            continue
        street[start] = sid
        total, goal = length[start], target[k]
        cos_limit = np.cos(np.radians(ARTERIAL_TURN_DEG if goal >= ARTERIAL_MEDIAN_M / 2 else STREET_TURN_DEG))
        ends = [[int(edges[start, 1]), vec[start] / length[start]], [int(edges[start, 0]), -vec[start] / length[start]]]
        while ends:
            for end in list(ends):
                node, d = end
                best, best_cos = -1, cos_limit
                for j in incident[node]:
                    if street[j] >= 0:
                        continue
                    out = vec[j] if edges[j, 0] == node else -vec[j]
                    c = float(out @ d) / length[j]
                    if c > best_cos:
                        best, best_cos = j, c
                if best < 0 or total + length[best] / 2 > goal:
                    ends.remove(end)
                    continue
                street[best] = sid
                total += length[best]
                out = vec[best] if edges[best, 0] == node else -vec[best]
                end[0], end[1] = int(edges[best, 1] if edges[best, 0] == node else edges[best, 0]), out / length[best]
        sid += 1
    return street


def _name_streets(rng, street_of_edge, mids, borough_of_edge, centres) -> np.ndarray:
    """A name per street: unique within its borough; the street nearest each town centre is its high street."""
    n_streets = street_of_edge.max() + 1
    names = np.empty(n_streets, dtype=object)
    # a street's borough is the borough of its first edge
    first_edge = np.full(n_streets, -1)
    for i, s in enumerate(street_of_edge.tolist()):
        if first_edge[s] < 0:
            first_edge[s] = i
    street_borough = borough_of_edge[first_edge]
    stems, suffixes = london.STREET_STEMS, london.STREET_SUFFIXES
    used: dict[str, set] = {}
    suffix_p = np.array([6 if s in ("Road", "Street") else 2 for s in suffixes], float)
    suffix_p /= suffix_p.sum()
    # stems listed first are the common ones (Albert, Victoria, Church, Station, ...)
    common = 1.0 / (np.arange(len(stems)) + 10.0)
    boroughs = sorted(set(street_borough.tolist()))
    stem_cum = {}
    for b in boroughs:
        p = common * rng.lognormal(0.0, BOROUGH_STEM_SIGMA, len(stems))
        stem_cum[b] = np.cumsum(p / p.sum())
    form_cum = np.cumsum([p for _, p in STREET_NAME_FORMS]) / sum(p for _, p in STREET_NAME_FORMS)
    suffix_cum = np.cumsum(suffix_p)
    tree = cKDTree(mids)
    reserved = {}
    for name, bcode, cx, cy in centres[["high_street", "borough_code", "x", "y"]].itertuples(index=False):
        for _, i in zip(range(5), tree.query([cx, cy], k=5)[1]):
            s = street_of_edge[i]
            if s not in reserved:
                reserved[s] = name
                used.setdefault(street_borough[s], set()).add(name)
                break
    for s in range(n_streets):
        if s in reserved:
            names[s] = reserved[s]
            continue
        taken = used.setdefault(street_borough[s], set())
        cum = stem_cum[street_borough[s]]
        for _ in range(50):
            r = rng.random(5)
            form = STREET_NAME_FORMS[min(int(np.searchsorted(form_cum, r[0])), len(STREET_NAME_FORMS) - 1)][0]
            stem = stems[min(int(np.searchsorted(cum, r[1])), len(stems) - 1)]
            if form == "two":
                other = stems[min(int(np.searchsorted(cum, r[2])), len(stems) - 1)]
                stem = stem if other == stem else f"{stem} {other}"
            elif form == "qualified":
                stem = f"{QUALIFIERS[int(r[2] * len(QUALIFIERS))]} {stem}"
            name = f"{stem} {suffixes[min(int(np.searchsorted(suffix_cum, r[3])), len(suffixes) - 1)]}"
            if name not in taken:
                break
        taken.add(name)
        names[s] = name
    return names[street_of_edge]


def _borough_of(boroughs, x, y) -> np.ndarray:
    out = np.full(len(x), None, dtype=object)
    for code, geom in boroughs[["code", "geom"]].itertuples(index=False):
        inside = shapely.contains_xy(geom, x, y)
        out[inside & (out == None)] = code  # noqa: E711 (elementwise)
    return out


def build_world(rng: np.random.Generator, scale: float) -> World:
    """Boroughs, streets, premises, EDs and landmarks of the synthetic London."""
    outline = _outline()
    boroughs = _boroughs(outline)
    centres = _frame(london.TOWN_CENTRES)
    nodes = _sample_nodes(rng, max(400, int(50_000 * min(scale, 4.0) ** 0.5)), outline, centres)
    edges = _gabriel_edges(nodes, outline)
    a, b = nodes[edges[:, 0]], nodes[edges[:, 1]]
    mids = (a + b) / 2
    seg_borough = _borough_of(boroughs, mids[:, 0], mids[:, 1])
    inside = seg_borough != None  # noqa: E711
    edges, a, b, mids, seg_borough = edges[inside], a[inside], b[inside], mids[inside], seg_borough[inside]
    street_of_edge = _chain_streets(nodes, edges, rng)
    names = _name_streets(rng, street_of_edge, mids, seg_borough, centres)
    segments = pd.DataFrame({
        "block_id": np.arange(1, len(edges) + 1),
        "street": names,
        "borough_code": seg_borough,
        "node_u": edges[:, 0],
        "node_v": edges[:, 1],
        "length_m": np.linalg.norm(b - a, axis=1).round(1),
        "x": mids[:, 0],
        "y": mids[:, 1],
        "geom": shapely.linestrings(np.stack([a, b], axis=1)),
    })
    world = World(outline, boroughs, centres, nodes, segments, pd.DataFrame(),
                  _frame(london.ED_SITES).rename(columns={"code": "site_code"}), _frame(london.LANDMARKS))
    world.premises = _premises(rng, world, scale)
    return world


def point_on_segments(rng, segments: pd.DataFrame, idx: np.ndarray, side_m: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """Random points along the given segments, pushed up to side_m to either side."""
    g = segments["geom"].to_numpy()[idx]
    coords = shapely.get_coordinates(g).reshape(-1, 2, 2)
    t = rng.random(len(idx))[:, None]
    p = coords[:, 0] + t * (coords[:, 1] - coords[:, 0])
    d = coords[:, 1] - coords[:, 0]
    normal = np.column_stack([-d[:, 1], d[:, 0]]) / np.maximum(np.linalg.norm(d, axis=1), 1e-9)[:, None]
    p = p + normal * rng.uniform(-side_m, side_m, len(idx))[:, None]
    return p[:, 0], p[:, 1]


LICENCE_MIX = {  # licence type: (share near centres, share elsewhere, opens, closes choices)
    "pub": (0.24, 0.22, "11:00", ("23:00", "23:30", "00:00", "01:00")),
    "bar": (0.14, 0.05, "12:00", ("00:00", "01:00", "02:00")),
    "nightclub": (0.06, 0.005, "22:00", ("03:00", "04:00", "05:00")),
    "restaurant": (0.28, 0.30, "12:00", ("22:30", "23:00", "23:30")),
    "late_night_refreshment": (0.16, 0.18, "17:00", ("01:00", "02:00", "03:00", "05:00")),
    "off_licence": (0.12, 0.245, "08:00", ("22:00", "23:00")),
}
_NAMES = {
    "pub": "PUB_NAMES", "bar": "BAR_NAMES", "nightclub": "CLUB_NAMES", "restaurant": "RESTAURANT_NAMES",
    "late_night_refreshment": "RESTAURANT_NAMES", "off_licence": "OFF_LICENCE_NAMES",
}
CHAIN_TYPES = {"pub", "bar", "restaurant", "late_night_refreshment", "off_licence"}
NAME_FORMS = {  # venue names of their own, from a word that is not a venue word
    "pub": ("The {} Arms", "The {} Tavern", "The {} Inn", "The {}", "The {} Tap"),
    "bar": ("{} Bar", "Bar {}", "{} Social", "{} Lounge", "The {} Rooms"),
    "nightclub": ("Club {}", "{} Club", "{} Nightclub", "The {} Ballroom"),
    "restaurant": ("{} Kitchen", "{} Grill", "{} Brasserie", "Cafe {}", "{} Trattoria"),
    "late_night_refreshment": ("{} Kebab", "{} Fried Chicken", "{} Pizza", "{} Grill House", "{} Cafe"),
    "off_licence": ("{} Wines", "{} Food and Wine", "{} Mini Market", "{} Off Licence"),
}


def _premises(rng, world: World, scale: float) -> pd.DataFrame:
    """Licensed premises on streets, 70 % clustered in town centres."""
    seg = world.segments
    n = max(150, int(15_000 * min(scale, 4.0) ** 0.5))
    density = world.nte_density(seg["x"], seg["y"])
    p_centre = density - 1
    near = rng.random(n) < 0.7
    idx = np.where(near, rng.choice(len(seg), n, p=p_centre / p_centre.sum()),
                   rng.choice(len(seg), n, p=seg["length_m"].to_numpy() / seg["length_m"].sum()))
    x, y = point_on_segments(rng, seg, idx, side_m=12.0)
    types = list(LICENCE_MIX)
    p_near = np.array([LICENCE_MIX[t][0] for t in types]); p_near /= p_near.sum()
    p_far = np.array([LICENCE_MIX[t][1] for t in types]); p_far /= p_far.sum()
    kind = np.where(near, rng.choice(len(types), n, p=p_near), rng.choice(len(types), n, p=p_far))
    chains, stems = london.CHAINS, london.STREET_STEMS
    rows = []
    for i in range(n):
        t = types[kind[i]]
        pool = getattr(london, _NAMES[t])
        r = rng.random()
        if t in CHAIN_TYPES and r < 0.12:
            name = chains[rng.integers(len(chains))]
        elif r < 0.45:  # the classic names that recur across London (several Red Lions)
            name = pool[rng.integers(len(pool))]
            if t == "pub" and not name.startswith("The ") and rng.random() < 0.8:
                name = "The " + name
        else:  # most venues have a name of their own
            stem = stems[rng.integers(len(stems))]
            forms = NAME_FORMS[t]
            name = forms[rng.integers(len(forms))].format(stem)
        closes = LICENCE_MIX[t][3]
        street = seg["street"].iat[idx[i]]
        rows.append((f"P{i + 1:06d}", name, f"{int(rng.integers(1, 300))} {street}", street, t,
                     LICENCE_MIX[t][2], closes[rng.integers(len(closes))], seg["borough_code"].iat[idx[i]]))
    df = pd.DataFrame(rows, columns=["premises_id", "name", "address", "street", "licence_type", "opens", "closes", "borough_code"])
    df["x"], df["y"] = x, y
    df["block_id"] = seg["block_id"].to_numpy()[idx]
    return df


def to_latlon(df: pd.DataFrame) -> pd.DataFrame:
    """Add lat/lon columns from BNG x/y."""
    df = df.copy()
    df["lat"], df["lon"] = from_bng(df["x"].to_numpy(), df["y"].to_numpy())
    return df
