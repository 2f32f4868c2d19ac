"""The gazetteer: every named place a description can point at, with where it is and how likely.

Three kinds of place, each an array of points with a prior weight:
- venues: licensed premises (with chain aliases) and landmarks (stations, parks, ED sites);
- streets: points every ~100 m along each street line (or one point per street when only
  points are known);
- areas: town centres, station neighbourhoods and boroughs.
Priors say where assaults happen. With located violence loaded (police.uk violent crimes,
snapped to streets), a street point weighs its length times the violence around it and a venue
its licence type times the violence where it stands (`density_prior`); without it, length,
licence type and the number of licensed premises nearby stand in.
Each point also keeps its sorted distances to the known ED sites, so a catchment prior
("was this ED the nearest, or the second nearest, to that place?") costs one comparison.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import duckdb
import numpy as np
import pandas as pd
import shapely
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree

from data.geocode.files import from_wkb
from data.geocode.text import CHAIN_ALIASES, Speller, area_keys, content, name_key, station_keys, tokens, venue_keys
from data.ingest.schema import POLICE_VIOLENCE

LAT0, LON0 = 51.5, -0.12
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0 * np.cos(np.radians(LAT0))
SAMPLE_M = 100.0               # spacing of street points along a line
NTE_RADIUS_M = 300.0           # "near" for the night-time-economy weight
NTE_WEIGHT = 0.25              # extra prior per licensed premises within NTE_RADIUS_M
VENUE_STREET_M = 40.0          # a venue is "on" the streets within this distance
# relative assault risk by licence type (violence concentrates in late on-trade venues)
LICENCE_WEIGHT = {"pub": 3.0, "bar": 3.0, "nightclub": 6.0, "restaurant": 0.5,
                  "late_night_refreshment": 1.0, "off_licence": 0.5}
# the density prior: where located violence (police.uk points) concentrates says where along a
# street, and at which of several same-named places, an assault most likely happened
DENSITY_CELL_M = 50.0          # grid of the neighbourhood rate
DENSITY_BANDWIDTH_M = 300.0    # neighbourhood of the rate (Gaussian sigma): a town centre's scale
DENSITY_PRIOR_CRIMES = 2.0     # the London-wide rate counts as this many crimes in every neighbourhood
DENSITY_SIGMA_M = 75.0         # a located crime stands for its stretch of street, about a block ...
DENSITY_REACH_M = 200.0        # ... and counts for the street points of its street this near
DENSITY_K = 24                 # street points looked at per located crime

def to_xy(lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 → local metres (equirectangular around central London; < 1 % error in London)."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    return (lon - LON0) * M_PER_DEG_LON, (lat - LAT0) * M_PER_DEG_LAT


def from_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Local metres → WGS84 (lat, lon)."""
    return np.asarray(y, float) / M_PER_DEG_LAT + LAT0, np.asarray(x, float) / M_PER_DEG_LON + LON0


@dataclass
class Places:
    """Points of one kind with a label, a prior weight and the keys that name them."""
    label: np.ndarray
    x: np.ndarray
    y: np.ndarray
    prior: np.ndarray
    keys: dict[str, np.ndarray]
    ed_dist: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # (n, EDs), sorted

    @classmethod
    def make(cls, rows: list[tuple], ed_xy: np.ndarray) -> "Places":
        """rows: (keys, label, x, y, prior) per point."""
        keys: dict[str, list[int]] = {}
        for i, (ks, *_rest) in enumerate(rows):
            for k in dict.fromkeys(ks):
                if k:
                    keys.setdefault(k, []).append(i)
        arr = lambda j, dt: np.array([r[j] for r in rows], dtype=dt)  # noqa: E731
        x, y = arr(2, float), arr(3, float)
        places = cls(arr(1, object), x, y, arr(4, float), {k: np.array(v) for k, v in keys.items()})
        places.ed_dist = _ed_distances(x, y, ed_xy)
        return places

    def __len__(self) -> int:
        return len(self.label)


def _ed_distances(x, y, ed_xy) -> np.ndarray:
    if len(ed_xy) == 0 or len(x) == 0:
        return np.zeros((len(x), 0), np.float32)
    d = np.hypot(x[:, None] - ed_xy[None, :, 0], y[:, None] - ed_xy[None, :, 1])
    return np.sort(d, axis=1).astype(np.float32)


def _clean(df: pd.DataFrame | None, cols: list[str]) -> pd.DataFrame:
    if df is None:
        return pd.DataFrame(columns=cols)
    df = df.reset_index(drop=True)
    ok = pd.to_numeric(df["lat"], errors="coerce").notna() & pd.to_numeric(df["lon"], errors="coerce").notna()
    return df[ok].reset_index(drop=True)


def _street_samples(street_points: pd.DataFrame, lines) -> list[tuple]:
    """(key, label, x, y, length weight, line in local metres or None) per point along each street."""
    names = street_points["street"].to_numpy(object)
    boroughs = (street_points["borough_code"].to_numpy(object) if "borough_code" in street_points
                else np.full(len(street_points), None, object))
    out = []
    if lines is None:
        x, y = to_xy(street_points["lat"], street_points["lon"])
        length = (street_points["length_m"].to_numpy(float) if "length_m" in street_points else np.ones(len(x)))
        for i in range(len(x)):
            out.append((name_key(names[i]), _street_label(names[i], boroughs[i]), x[i], y[i], length[i], None))
        return out
    local = shapely.transform(np.asarray(lines, dtype=object), lambda xy: np.column_stack(to_xy(xy[:, 1], xy[:, 0])))
    lengths = shapely.length(local)
    for i, (geom, length) in enumerate(zip(local, lengths)):
        if geom is None or shapely.is_empty(geom):
            continue
        n = max(1, int(round(length / SAMPLE_M)))
        pts = shapely.get_coordinates(shapely.line_interpolate_point(geom, (np.arange(n) + 0.5) / n, normalized=True))
        key, label = name_key(names[i]), _street_label(names[i], boroughs[i])
        for j, (px, py) in enumerate(pts):
            out.append((key, label, px, py, max(length, 1.0) / n, geom if j == 0 else None))
    return out


def _street_label(name, borough) -> str:
    return f"street:{name}|{borough}" if isinstance(borough, str) and borough else f"street:{name}"


def _lines(street_points: pd.DataFrame, street_lines):
    if street_lines is not None:
        return np.asarray(street_lines, dtype=object)
    if "geom_wkb" in street_points:
        return from_wkb(street_points["geom_wkb"])
    if "geometry" in street_points:
        return np.asarray(street_points["geometry"], dtype=object)
    return None


@dataclass
class Gazetteer:
    """Named places to match descriptions against; build with `Gazetteer.build` or `from_store`."""
    venues: Places
    streets: Places
    areas: Places
    venue_streets: list[frozenset]      # street keys each venue stands on
    street_lines: dict[str, np.ndarray]  # street key → its lines in local metres, for "corner of A and B"
    ed_xy: np.ndarray                     # (EDs, 2) local metres
    ed_codes: np.ndarray
    speller: Speller
    postcodes: dict[str, tuple[float, float]] = field(default_factory=dict)
    venue_kind: np.ndarray = field(default_factory=lambda: np.array([], object))  # licence type per venue (None: not premises)

    @classmethod
    def build(cls, premises: pd.DataFrame, street_points: pd.DataFrame,
              landmarks: pd.DataFrame | None = None, areas: pd.DataFrame | None = None, *,
              ed_sites: pd.DataFrame | None = None, street_lines=None,
              postcodes: pd.DataFrame | None = None, located: pd.DataFrame | None = None) -> "Gazetteer":
        """Index what is loaded.

        premises: premises_id, name, lat, lon (optional street, address, licence_type);
        street_points: street, lat, lon (optional borough_code, length_m, geom_wkb = WGS84 WKB
        lines), one row per street, per borough or per block; street_lines: WGS84 shapely lines
        aligned with street_points (instead of geom_wkb); landmarks: name, lat, lon (optional
        kind); areas: name, lat, lon; ed_sites: site_code, lat, lon (optional name);
        postcodes: postcode, lat, lon; located: located violence (lat, lon, optional street),
        e.g. police.uk violent crimes, for the density prior (see `density_prior`).
        """
        premises = _clean(premises, ["premises_id", "name", "lat", "lon"])
        street_points = street_points.reset_index(drop=True) if street_points is not None else \
            pd.DataFrame(columns=["street", "lat", "lon"])
        landmarks = _clean(landmarks, ["name", "lat", "lon"])
        areas = _clean(areas, ["name", "lat", "lon"])
        ed_sites = _clean(ed_sites, ["site_code", "lat", "lon"])
        ed_xy = np.column_stack(to_xy(ed_sites["lat"], ed_sites["lon"])) if len(ed_sites) else np.zeros((0, 2))

        # streets first: venues need them to know which street they stand on
        samples = _street_samples(street_points, _lines(street_points, street_lines))
        px, py = to_xy(premises["lat"], premises["lon"])
        sx, sy = np.array([s[2] for s in samples], float), np.array([s[3] for s in samples], float)
        slen = np.array([s[4] for s in samples], float)
        prior = slen * (1 + NTE_WEIGHT * _count_near(sx, sy, px, py))
        crimes = located_points(located)
        intensity_at = None
        if crimes is not None and len(samples):
            prior, intensity_at = density_prior(sx, sy, slen, [s[0] for s in samples], crimes)
        streets = Places.make([([s[0]], s[1], s[2], s[3], w) for s, w in zip(samples, prior)], ed_xy)
        lines: dict[str, list] = {}
        for s in samples:
            if s[5] is not None:
                for part in shapely.get_parts(s[5]):
                    lines.setdefault(s[0], []).append(part)
        street_lines_by_key = {k: np.array(v, dtype=object) for k, v in lines.items()}

        venue_rows, venue_streets = _premises_rows(premises, px, py, streets, samples, intensity_at)
        for name, lat, lon in _rows(landmarks, ["name", "lat", "lon"]):
            keys, _ = station_keys(name)
            x, y = to_xy(lat, lon)
            venue_rows.append((keys + venue_keys(name), f"landmark:{name}", float(x), float(y), 1.0))
            venue_streets.append(frozenset())
        if len(ed_sites):
            names = ed_sites["name"] if "name" in ed_sites else ed_sites["site_code"]
            for code, name, (x, y) in zip(ed_sites["site_code"], names, ed_xy):
                venue_rows.append((venue_keys(name), f"ed_site:{code}", x, y, 1.0))
                venue_streets.append(frozenset())
        venues = Places.make(venue_rows, ed_xy)
        kinds = premises["licence_type"].to_numpy(object) if "licence_type" in premises else np.full(len(premises), None, object)
        venue_kind = np.concatenate([kinds, np.full(len(venues) - len(premises), None, object)])
        for alias, target in CHAIN_ALIASES.items():
            if target in venues.keys and alias not in venues.keys:
                venues.keys[alias] = venues.keys[target]

        area_rows = []
        for name, lat, lon in _rows(areas, ["name", "lat", "lon"]):
            x, y = to_xy(lat, lon)
            area_rows.append((area_keys(name), f"area:{name}", float(x), float(y), 1.0))
        for name, lat, lon in _rows(landmarks, ["name", "lat", "lon"]):
            _, stem = station_keys(name)
            if stem:  # "brixton" alone names the neighbourhood around the station
                x, y = to_xy(lat, lon)
                area_rows.append(([stem], f"area:{name}", float(x), float(y), 1.0))
        area_places = Places.make(area_rows, ed_xy)

        vocab = {w for index in (venues.keys, streets.keys, area_places.keys) for k in index for w in k.split()}
        pcs = {}
        if postcodes is not None:
            for pc, lat, lon in _rows(_clean(postcodes, ["postcode", "lat", "lon"]), ["postcode", "lat", "lon"]):
                pcs[_postcode_key(pc)] = (float(lat), float(lon))
        codes = ed_sites["site_code"].to_numpy(object) if len(ed_sites) else np.array([], object)
        return cls(venues, streets, area_places, venue_streets, street_lines_by_key, ed_xy, codes, Speller(vocab),
                   pcs, venue_kind)

    @classmethod
    def from_store(cls, source) -> "Gazetteer":
        """Build from a store's premises, blocks, landmarks, ed_sites and boroughs tables, with the
        located police violence in its incidents for the density prior.

        source: a DuckDB connection or a data.store.db.Store.
        """
        # a DuckDB connection also has a .df(), of the last result: tell them apart by type
        read = ((lambda sql, params=(): source.execute(sql, params).df())
                if isinstance(source, duckdb.DuckDBPyConnection) else source.df)
        premises = read("SELECT premises_id, name, address, street, licence_type, borough_code, lat, lon FROM premises")
        blocks = read("SELECT street, borough_code, lat, lon, length_m, geom_wkb FROM blocks WHERE street IS NOT NULL")
        landmarks = read("SELECT name, kind, lat, lon FROM landmarks")
        ed_sites = read("SELECT site_code, name, lat, lon FROM ed_sites")
        boroughs = read("SELECT name, lat, lon FROM boroughs")
        is_area = landmarks["kind"].isin(["town_centre", "area"]).to_numpy()
        areas = pd.concat([landmarks[is_area][["name", "lat", "lon"]], boroughs], ignore_index=True)
        located = read("SELECT lat, lon, location_text AS street FROM incidents WHERE source = 'police' "
                       "AND category = ? AND lat IS NOT NULL AND lon IS NOT NULL", [POLICE_VIOLENCE])
        return cls.build(premises, blocks, landmarks[~is_area], areas, ed_sites=ed_sites, located=located)


def _rows(df: pd.DataFrame, cols: list[str]):
    return df[cols].itertuples(index=False, name=None)


def _count_near(x, y, px, py) -> np.ndarray:
    """Licensed premises within NTE_RADIUS_M of each point."""
    if len(x) == 0 or len(px) == 0:
        return np.zeros(len(x))
    tree = cKDTree(np.column_stack([px, py]))
    return np.array([len(v) for v in tree.query_ball_point(np.column_stack([x, y]), NTE_RADIUS_M)], float)


def _premises_rows(premises: pd.DataFrame, px, py, streets: Places, samples, intensity_at=None) -> tuple[list, list]:
    """Venue rows of the premises, and the street keys each stands on (its street, address, nearest lines)."""
    rows, on_street = [], []
    if len(premises) == 0:
        return rows, on_street
    near_keys: list[set] = [set() for _ in range(len(premises))]
    if len(streets):
        tree = cKDTree(np.column_stack([streets.x, streets.y]))
        for i, hits in enumerate(tree.query_ball_point(np.column_stack([px, py]), VENUE_STREET_M + SAMPLE_M / 2)):
            near_keys[i] = {samples[j][0] for j in hits}
    kinds = premises["licence_type"].to_numpy(object) if "licence_type" in premises else [None] * len(premises)
    streets_col = premises["street"].to_numpy(object) if "street" in premises else [None] * len(premises)
    address = premises["address"].to_numpy(object) if "address" in premises else [None] * len(premises)
    busy = 1 + NTE_WEIGHT * _count_near(px, py, px, py)
    if intensity_at is not None:  # located violence, where known, replaces the premises count
        busy = intensity_at(px, py)
        busy = busy / busy.mean()
    for i, (pid, name) in enumerate(zip(premises["premises_id"].to_numpy(object), premises["name"].to_numpy(object))):
        keys = set(near_keys[i])
        if isinstance(streets_col[i], str):
            keys.add(name_key(streets_col[i]))
        words = content(tokens(address[i]))
        for n in range(len(words), 1, -1):  # street names inside the address ("12 High St, London")
            for j in range(len(words) - n + 1):
                k = " ".join(words[j:j + n])
                if k in streets.keys:
                    keys.add(k)
        prior = LICENCE_WEIGHT.get(kinds[i], 1.0) * busy[i]
        rows.append((venue_keys(name), f"premises:{pid}", px[i], py[i], prior))
        on_street.append(frozenset(keys))
    return rows, on_street


def _postcode_key(pc: str) -> str:
    return "".join(str(pc).upper().split())


def located_points(located: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """x, y (local metres) and street key of located crimes; None when there are none.

    located: lat, lon and optionally `street` (a name, or police.uk's "On or near <street>").
    """
    if located is None or len(located) == 0:
        return None
    located = _clean(located, ["lat", "lon"])
    if len(located) == 0:
        return None
    x, y = to_xy(pd.to_numeric(located["lat"]), pd.to_numeric(located["lon"]))
    names = located["street"].to_numpy(object) if "street" in located else np.full(len(x), None, object)
    known = {n: name_key(_ON_OR_NEAR.sub("", n)) for n in set(names) if isinstance(n, str)}  # few distinct names
    return x, y, np.array([known.get(n, "") if isinstance(n, str) else "" for n in names], dtype=object)


_ON_OR_NEAR = re.compile(r"^\s*on or near\s+", re.IGNORECASE)


def street_counts(sx, sy, skeys, lx, ly, lkeys) -> np.ndarray:
    """Located crimes per street point: each crime spread (Gaussian, DENSITY_SIGMA_M) over the
    points of its own street within DENSITY_REACH_M, or of any street there when its own is not
    in reach; a crime with no street point in reach counts nowhere."""
    out = np.zeros(len(sx))
    if len(sx) == 0 or len(lx) == 0:
        return out
    k, tree = min(DENSITY_K, len(sx)), cKDTree(np.column_stack([sx, sy]))
    codes = {key: i for i, key in enumerate(dict.fromkeys(skeys))}
    scode = np.append(np.array([codes[key] for key in skeys]), -2)  # -2: the "nothing in reach" slot
    lcode = np.array([codes.get(key, -1) for key in lkeys])
    for start in range(0, len(lx), 100_000):  # a year of London's violence in bounded memory
        part = slice(start, start + 100_000)
        dist, idx = tree.query(np.column_stack([lx[part], ly[part]]), k=k, distance_upper_bound=DENSITY_REACH_M)
        dist, idx = dist.reshape(-1, k), idx.reshape(-1, k)
        found = idx < len(sx)
        same = found & (scode[idx] == lcode[part, None])
        use = np.where(same.any(axis=1)[:, None], same, found)
        w = np.where(use, np.exp(-0.5 * (np.where(found, dist, 0.0) / DENSITY_SIGMA_M) ** 2), 0.0)
        total = w.sum(axis=1, keepdims=True)
        w = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
        np.add.at(out, idx[use], w[use])
    return out


def rate_field(sx, sy, slen, lx, ly) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """rate_at(x, y): located crimes per metre of street around a point.

    Crimes and street length are binned on a DENSITY_CELL_M grid over the streets, both smoothed
    with a Gaussian of DENSITY_BANDWIDTH_M and divided; DENSITY_PRIOR_CRIMES at the overall rate
    are added everywhere, so a neighbourhood with little street or few crimes keeps about the
    overall rate instead of an extreme one.
    """
    pad = 4 * DENSITY_BANDWIDTH_M
    x0, y0 = float(np.min(sx)) - pad, float(np.min(sy)) - pad
    shape = (int((np.max(sx) + pad - x0) // DENSITY_CELL_M) + 1, int((np.max(sy) + pad - y0) // DENSITY_CELL_M) + 1)

    def cell(x, y):
        i = np.clip((np.asarray(x, float) - x0) // DENSITY_CELL_M, 0, shape[0] - 1).astype(int)
        return i, np.clip((np.asarray(y, float) - y0) // DENSITY_CELL_M, 0, shape[1] - 1).astype(int)

    inside = (lx >= x0) & (lx < x0 + shape[0] * DENSITY_CELL_M) & (ly >= y0) & (ly < y0 + shape[1] * DENSITY_CELL_M)
    crimes, street = np.zeros(shape), np.zeros(shape)
    np.add.at(crimes, cell(lx[inside], ly[inside]), 1.0)
    np.add.at(street, cell(sx, sy), slen)
    sigma = DENSITY_BANDWIDTH_M / DENSITY_CELL_M
    crimes, street = gaussian_filter(crimes, sigma, mode="constant"), gaussian_filter(street, sigma, mode="constant")
    overall = max(int(inside.sum()), 1) / max(float(np.sum(slen)), 1.0)
    prior = DENSITY_PRIOR_CRIMES / (2 * np.pi * sigma ** 2)  # per cell: the kernel spreads a count over 2 pi sigma^2 cells
    rate = (crimes + prior) / (street + prior / overall)
    return lambda x, y: rate[cell(x, y)]


def density_prior(sx, sy, slen, skeys, crimes) -> tuple[np.ndarray, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """The weight of each street point, and intensity_at(x, y) for venues, from located crimes.

    A point's expected crimes are its length times its neighbourhood's rate (`rate_field`); the
    crimes counted on that very stretch (`street_counts`) then move it up or down as much as
    stretches vary beyond chance around their neighbourhood (a Gamma-Poisson empirical Bayes
    estimate: with many crimes per stretch the count decides, with few the neighbourhood does).
    A venue's intensity is the rate where it stands times that adjustment of its nearest stretches.
    """
    lx, ly, lkeys = crimes
    rate_at = rate_field(sx, sy, slen, lx, ly)
    expected = slen * rate_at(sx, sy)
    counts = street_counts(sx, sy, skeys, lx, ly, lkeys)
    expected *= counts.sum() / max(expected.sum(), 1e-9)   # crimes out of every street's reach count nowhere
    extra = float(np.sum((counts - expected) ** 2 - counts) / max(np.sum(expected ** 2), 1e-9))
    theta = (counts + 1 / extra) / (expected + 1 / extra) if extra > 0 else np.ones(len(sx))
    tree, k = cKDTree(np.column_stack([sx, sy])), min(3, len(sx))

    def intensity_at(x, y):
        d, i = tree.query(np.column_stack([x, y]), k=k)
        d, i = d.reshape(len(d), k), i.reshape(len(i), k)
        w = np.exp(-0.5 * (d / DENSITY_SIGMA_M) ** 2) + 1e-12
        return rate_at(x, y) * (theta[i] * w).sum(axis=1) / w.sum(axis=1)
    return expected * theta, intensity_at
