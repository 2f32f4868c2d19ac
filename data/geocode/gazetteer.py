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

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from data.geocode.coords import clean as _clean, to_xy
from data.geocode.density import density_prior, located_points
from data.geocode.files import from_wkb
from data.geocode.text import (CHAIN_ALIASES, Speller, area_keys, content, literal_name, name_key, name_keys,
                               station_keys, station_stems, tokens, venue_keys)
from data.ingest.schema import POLICE_VIOLENCE

SAMPLE_M = 100.0               # spacing of street points along a line
NTE_RADIUS_M = 300.0           # "near" for the night-time-economy weight
NTE_WEIGHT = 0.25              # extra prior per licensed premises within NTE_RADIUS_M
VENUE_STREET_M = 40.0          # a venue is "on" the streets within this distance
# relative assault risk by licence type (violence concentrates in late on-trade venues)
LICENCE_WEIGHT = {"pub": 3.0, "bar": 3.0, "nightclub": 6.0, "restaurant": 0.5,
                  "late_night_refreshment": 1.0, "off_licence": 0.5}


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
    # per venue: 'premises', 'ed_site' or the landmark's kind ('station', 'park', ...); its name as typed
    # in full (`text.literal_name`), for names made only of generic words; its borough code (or None)
    venue_class: np.ndarray = field(default_factory=lambda: np.array([], object))
    venue_literal: np.ndarray = field(default_factory=lambda: np.array([], object))
    venue_borough: np.ndarray = field(default_factory=lambda: np.array([], object))
    area_borough: np.ndarray = field(default_factory=lambda: np.array([], object))  # GSS code of a borough area, else None
    # 'area' (a neighbourhood: landmarks of kind area), 'town_centre' (also areas of unknown kind),
    # 'borough' (areas with a gss_code) or 'station' (a station's neighbourhood)
    area_class: np.ndarray = field(default_factory=lambda: np.array([], object))
    street_alias: dict[str, str] = field(default_factory=dict)  # another key of a street ("street james street") → its key

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
        kind: 'station' makes it a station); areas: name, lat, lon (optional gss_code: the area is that
        borough; optional kind: 'area' for a neighbourhood, else a town centre); ed_sites: site_code,
        lat, lon (optional name);
        postcodes: postcode, lat, lon; located: located violence (lat, lon, optional street),
        e.g. police.uk violent crimes, for the density prior (see `density_prior`).
        """
        premises = _clean(premises, ["premises_id", "name", "lat", "lon"])
        street_points = street_points.reset_index(drop=True) if street_points is not None else \
            pd.DataFrame(columns=["street", "lat", "lon"])
        landmarks = _clean(landmarks, ["name", "lat", "lon"])
        areas = _clean(areas, ["name", "lat", "lon"])
        if "kind" in landmarks:  # landmarks of kind area or town_centre are areas (as `from_store` reads them)
            is_area = landmarks["kind"].isin(["area", "town_centre"]).to_numpy()
            if is_area.any():
                areas = pd.concat([areas, landmarks[is_area][["name", "kind", "lat", "lon"]]], ignore_index=True)
                landmarks = landmarks[~is_area].reset_index(drop=True)
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
        street_alias = _street_aliases(street_points, streets, street_lines_by_key)

        venue_rows, venue_streets = _premises_rows(premises, px, py, streets, samples, intensity_at)
        landmarks = landmarks.assign(name=[_station_name(n, k) for n, k in zip(landmarks["name"], _column(landmarks, "kind"))])
        classes = ["premises"] * len(premises)
        for name, kind, lat, lon in zip(landmarks["name"], _column(landmarks, "kind"), landmarks["lat"], landmarks["lon"]):
            keys, _ = station_keys(name)
            x, y = to_xy(lat, lon)
            venue_rows.append((keys + venue_keys(name), f"landmark:{name}", float(x), float(y), 1.0))
            venue_streets.append(frozenset())
            classes.append("station" if station_stems(name) else kind if isinstance(kind, str) and kind else "other")
        names = list(premises["name"]) + list(landmarks["name"])
        if len(ed_sites):
            site_names = ed_sites["name"] if "name" in ed_sites else ed_sites["site_code"]
            for code, name, (x, y) in zip(ed_sites["site_code"], site_names, ed_xy):
                venue_rows.append((venue_keys(name), f"ed_site:{code}", x, y, 1.0))
                venue_streets.append(frozenset())
                classes.append("ed_site")
                names.append(name)
        venues = Places.make(venue_rows, ed_xy)
        kinds = premises["licence_type"].to_numpy(object) if "licence_type" in premises else np.full(len(premises), None, object)
        venue_kind = np.concatenate([kinds, np.full(len(venues) - len(premises), None, object)])
        venue_borough = np.concatenate([_column(premises, "borough_code"), _column(landmarks, "borough_code"),
                                        np.full(len(ed_sites), None, object)])
        for alias, target in CHAIN_ALIASES.items():
            if target in venues.keys and alias not in venues.keys:
                venues.keys[alias] = venues.keys[target]

        area_rows = []
        for name, lat, lon in _rows(areas, ["name", "lat", "lon"]):
            x, y = to_xy(lat, lon)
            area_rows.append((area_keys(name), f"area:{name}", float(x), float(y), 1.0))
        area_borough = list(_column(areas, "gss_code"))
        area_class = ["borough" if isinstance(b, str) and b else "area" if k == "area" else "town_centre"
                      for b, k in zip(area_borough, _column(areas, "kind"))]
        for name, lat, lon in _rows(landmarks, ["name", "lat", "lon"]):
            stems = station_stems(name)
            if stems:  # "brixton" alone names the neighbourhood around the station
                x, y = to_xy(lat, lon)
                area_rows.append((stems, f"area:{name}", float(x), float(y), 1.0))
                area_borough.append(None)
                area_class.append("station")
        area_places = Places.make(area_rows, ed_xy)

        vocab = {w for index in (venues.keys, streets.keys, area_places.keys) for k in index for w in k.split()}
        pcs = {}
        if postcodes is not None:
            for pc, lat, lon in _rows(_clean(postcodes, ["postcode", "lat", "lon"]), ["postcode", "lat", "lon"]):
                pcs[_postcode_key(pc)] = (float(lat), float(lon))
        codes = ed_sites["site_code"].to_numpy(object) if len(ed_sites) else np.array([], object)
        return cls(venues, streets, area_places, venue_streets, street_lines_by_key, ed_xy, codes, Speller(vocab),
                   pcs, venue_kind, np.array(classes, dtype=object), np.array([literal_name(n) for n in names], dtype=object),
                   venue_borough, np.array([b if isinstance(b, str) and b else None for b in area_borough], dtype=object),
                   np.array(area_class, dtype=object), street_alias)

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
        landmarks = read("SELECT name, kind, borough_code, lat, lon FROM landmarks")
        ed_sites = read("SELECT site_code, name, lat, lon FROM ed_sites")
        boroughs = read("SELECT name, code AS gss_code, lat, lon FROM boroughs")
        is_area = landmarks["kind"].isin(["town_centre", "area"]).to_numpy()
        areas = pd.concat([landmarks[is_area][["name", "kind", "lat", "lon"]], boroughs], ignore_index=True)
        located = read("SELECT lat, lon, location_text AS street FROM incidents WHERE source = 'police' "
                       "AND category = ? AND lat IS NOT NULL AND lon IS NOT NULL", [POLICE_VIOLENCE])
        return cls.build(premises, blocks, landmarks[~is_area], areas, ed_sites=ed_sites, located=located)


def _column(df: pd.DataFrame, col: str) -> np.ndarray:
    """A column as objects, or Nones where the table has no such column."""
    return df[col].to_numpy(object) if col in df else np.full(len(df), None, object)


def _station_name(name, kind) -> str:
    """A landmark of kind station is also known with 'station' ("Oxford Circus" → "Oxford Circus station")."""
    if kind == "station" and isinstance(name, str) and not station_stems(name):
        return f"{name} station"
    return name


def _street_aliases(street_points: pd.DataFrame, streets: Places, lines: dict) -> dict[str, str]:
    """Index each street also by its name without the possessive s ("St James's Street" as
    "street james street"); returns alias key → the street's own key."""
    alias = {}
    for name in dict.fromkeys(street_points["street"].dropna()) if "street" in street_points else ():
        keys = name_keys(name)
        for other in keys[1:]:
            if other not in streets.keys and keys[0] in streets.keys:
                streets.keys[other] = streets.keys[keys[0]]
                if keys[0] in lines:
                    lines[other] = lines[keys[0]]
                alias[other] = keys[0]
    return alias


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
