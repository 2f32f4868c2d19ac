"""Names of places on the map: what a street block is called, the named place nearest a point, and search.

Geography only (streets, junctions, landmarks, premises' addresses), no incident data: each index is
read once per data version and shared by every viewer; what a viewer may find is limited to the
boroughs of their scope.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from data.store.cache import file_version
from data.store.db import Store
from data.store.filters import Filters, borough_condition
from data.store.queries import raw_of, scope_of

LANDMARK_NEAR_M = 250.0  # a hexagon is "near" a landmark within this distance of its centre
STREET_NEAR_M = 120.0    # else "on" the nearest street within this distance
POSTCODE = re.compile(r"^\s*([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})?\s*$", re.I)
_M_PER_DEG_LAT = 111_320.0
_COS_LAT = np.cos(np.radians(51.5))  # London: a local equirectangular projection is good to < 0.5 % here


def _xy(lat, lon) -> np.ndarray:
    return np.column_stack([np.asarray(lon, float) * _M_PER_DEG_LAT * _COS_LAT, np.asarray(lat, float) * _M_PER_DEG_LAT])


@lru_cache(maxsize=2)
def _blocks_named(path: str, version: tuple) -> pd.DataFrame:
    """Every block with the streets it runs between: at each end, the alphabetically first other street
    meeting it there (NULL at a dead end or where only the same street continues)."""
    return Store(path).df("""
        WITH ends AS (SELECT block_id, street, node_u AS node, 0 AS side FROM blocks WHERE node_u IS NOT NULL
                      UNION ALL SELECT block_id, street, node_v, 1 FROM blocks WHERE node_v IS NOT NULL),
             other AS (SELECT e.block_id, e.side, min(o.street) AS street
                       FROM ends e JOIN ends o ON o.node = e.node AND o.block_id <> e.block_id
                       WHERE o.street IS NOT NULL AND o.street <> '' AND o.street IS DISTINCT FROM e.street
                       GROUP BY e.block_id, e.side)
        SELECT b.block_id, b.street, b.borough_code, b.lat, b.lon, u.street AS from_street, v.street AS to_street
        FROM blocks b LEFT JOIN other u ON u.block_id = b.block_id AND u.side = 0
                      LEFT JOIN other v ON v.block_id = b.block_id AND v.side = 1
        ORDER BY b.block_id""").set_index("block_id", drop=False)


def describe_block(street, a, b) -> str:
    """'Old Compton Street, between Dean Street and Frith Street' (or 'near' one street, or the street alone)."""
    name = street if isinstance(street, str) and street else "Unnamed street"
    ends = sorted({x for x in (a, b) if isinstance(x, str) and x})
    if len(ends) == 2:
        return f"{name}, between {ends[0]} and {ends[1]}"
    if ends:
        return f"{name}, near {ends[0]}"
    return name


def block_places(store, block_ids) -> list[str]:
    """Each block's description, in the order given ('' for an unknown id)."""
    named = _blocks_named(*file_version(raw_of(store)))
    ids = pd.Index(np.asarray([int(b) for b in block_ids], dtype=np.int64))
    rows = named.reindex(ids)
    return [describe_block(s, a, b) if s == s or a == a else ""   # NaN != NaN: an unknown block
            for s, a, b in zip(rows["street"].tolist(), rows["from_street"].tolist(), rows["to_street"].tolist())]


@dataclass(frozen=True)
class _NameIndex:
    landmark_names: np.ndarray
    landmarks: cKDTree | None
    street_names: np.ndarray
    streets: cKDTree | None


@lru_cache(maxsize=2)
def _name_index(path: str, version: tuple) -> _NameIndex:
    store = Store(path)
    lm = store.df("SELECT name, lat, lon FROM landmarks WHERE name IS NOT NULL AND lat IS NOT NULL AND lon IS NOT NULL")
    st = store.df("SELECT street AS name, lat, lon FROM blocks WHERE street IS NOT NULL AND street <> '' AND lat IS NOT NULL")
    return _NameIndex(lm["name"].to_numpy(object), cKDTree(_xy(lm["lat"], lm["lon"])) if len(lm) else None,
                      st["name"].to_numpy(object), cKDTree(_xy(st["lat"], st["lon"])) if len(st) else None)


def nearest_places(store, lat, lon) -> list[str]:
    """For each point, 'near <landmark>' within LANDMARK_NEAR_M, else 'on <street>' within STREET_NEAR_M, else ''."""
    idx = _name_index(*file_version(raw_of(store)))
    xy = _xy(lat, lon)
    out = np.full(len(xy), "", dtype=object)
    if not len(xy):
        return []
    if idx.streets is not None:
        d, i = idx.streets.query(xy, distance_upper_bound=STREET_NEAR_M)
        ok = np.isfinite(d)
        out[ok] = ["on " + n for n in idx.street_names[i[ok]]]
    if idx.landmarks is not None:
        d, i = idx.landmarks.query(xy, distance_upper_bound=LANDMARK_NEAR_M)
        ok = np.isfinite(d)
        out[ok] = ["near " + n for n in idx.landmark_names[i[ok]]]
    return out.tolist()


# ---- search -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Found:
    value: str      # what the search box holds: "kind:key", resolved again on the server when chosen
    label: str
    lat: float
    lon: float
    zoom: float
    block_id: int | None  # the street block to select (the street's middle block, a premises' own block)


KIND_LABEL = {"street": "Street", "premises": "Premises", "landmark": "Landmark", "postcode": "Postcode"}
ZOOM = {"street": 16.0, "premises": 17.0, "landmark": 16.0, "postcode": 16.0}


def _like(text: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", text.strip().lower()) + "%"


def search(store, text: str, *, premises: bool, limit: int = 12) -> list[Found]:
    """Streets, premises (when the viewer may see premises), landmarks and postcodes matching `text`,
    within the viewer's boroughs. Names that start with the text come first, then shorter names."""
    text = (text or "").strip()[:80]
    if len(text) < 2:
        return []
    b = borough_condition(Filters(), scope_of(store))
    like = _like(text)
    found: list[Found] = []
    postcodes = _postcode(store, text, b) if POSTCODE.match(text) and premises else []
    order = "ORDER BY (lower(name) LIKE ? ESCAPE '\\') DESC, length(name), name"
    prefix = _like(text)[1:]
    streets = raw_of(store).df(f"""
        WITH s AS (SELECT street AS name, borough_code, avg(lat) AS clat, avg(lon) AS clon FROM blocks
                   WHERE lower(street) LIKE ? ESCAPE '\\' AND {b.sql} GROUP BY street, borough_code)
        SELECT s.name, s.borough_code, s.clat, s.clon,
               (SELECT block_id FROM blocks k WHERE k.street = s.name AND k.borough_code = s.borough_code
                ORDER BY pow(k.lat - s.clat, 2) + pow(k.lon - s.clon, 2), k.block_id LIMIT 1) AS block_id,
               (SELECT name FROM boroughs WHERE code = s.borough_code) AS borough
        FROM s {order} LIMIT ?""", [like, *b.params, prefix, limit])
    streets = [Found(f"street:{int(r.block_id)}", f"{r.name}, {r.borough}", r.clat, r.clon, ZOOM["street"], int(r.block_id))
              for r in streets.itertuples()]
    places = []
    if premises:
        prem = raw_of(store).df(f"""
            SELECT premises_id, name, address, lat, lon, block_id FROM premises
            WHERE (lower(name) LIKE ? ESCAPE '\\' OR lower(address) LIKE ? ESCAPE '\\') AND {b.sql} AND lat IS NOT NULL
            {order} LIMIT ?""", [like, like, *b.params, prefix, limit])
        places = [Found(f"premises:{r.premises_id}", f"{r.name}, {r.address}", r.lat, r.lon, ZOOM["premises"],
                        None if pd.isna(r.block_id) else int(r.block_id)) for r in prem.itertuples()]
    marks = raw_of(store).df(f"""
        SELECT name, kind, borough_code, lat, lon FROM landmarks
        WHERE lower(name) LIKE ? ESCAPE '\\' AND {b.sql} AND lat IS NOT NULL {order} LIMIT ?""",
                             [like, *b.params, prefix, limit])
    marks = [Found(f"landmark:{r.name}|{r.borough_code}", f"{r.name} ({r.kind})", r.lat, r.lon, ZOOM["landmark"],
                    _nearest_block(store, r.lat, r.lon)) for r in marks.itertuples()]
    # a few of each kind first (a common word would otherwise fill the list with streets), then the rest
    share = max(1, limit // 3)
    firsts = postcodes + streets[:share] + places[:share] + marks[:share]
    rest = streets[share:] + places[share:] + marks[share:]
    return (firsts + rest)[:limit]


def _postcode(store, text: str, b) -> list[Found]:
    """A postcode (full or district) found in premises' addresses: the centre of the premises that have it."""
    code = re.sub(r"\s+", " ", text.strip().upper())
    rows = raw_of(store).df(f"""SELECT avg(lat) AS lat, avg(lon) AS lon, count(premises_id) AS n FROM premises
                                WHERE upper(address) LIKE ? ESCAPE '\\' AND {b.sql} AND lat IS NOT NULL""",
                            ["%" + re.sub(r"([\\%_])", r"\\\1", code) + "%", *b.params])
    if not len(rows) or not rows["n"].iloc[0]:
        return []
    lat, lon = float(rows["lat"].iloc[0]), float(rows["lon"].iloc[0])
    return [Found(f"postcode:{code}", f"{code} (postcode, {int(rows['n'].iloc[0])} premises)", lat, lon,
                  ZOOM["postcode"], _nearest_block(store, lat, lon))]


def _nearest_block(store, lat: float, lon: float) -> int | None:
    named = _blocks_named(*file_version(raw_of(store)))
    if not len(named):
        return None
    d = (named["lat"].to_numpy() - lat) ** 2 + ((named["lon"].to_numpy() - lon) * _COS_LAT) ** 2
    return int(named["block_id"].to_numpy()[int(np.nanargmin(d))])


def resolve(store, value: str, *, premises: bool) -> Found | None:
    """A search box value chosen in the browser, looked up again (never trusted): None when it does not
    exist or is outside the viewer's boroughs."""
    kind, _, key = str(value or "").partition(":")
    b = borough_condition(Filters(), scope_of(store))
    if kind == "street" and key.isdigit():
        r = raw_of(store).df(f"SELECT block_id, street, lat, lon FROM blocks WHERE block_id = ? AND {b.sql}",
                             [int(key), *b.params])
        return Found(value, str(r["street"].iloc[0]), float(r["lat"].iloc[0]), float(r["lon"].iloc[0]),
                     ZOOM["street"], int(key)) if len(r) else None
    if kind == "premises" and premises:
        r = raw_of(store).df(f"SELECT name, lat, lon, block_id FROM premises WHERE premises_id = ? AND {b.sql} "
                             "AND lat IS NOT NULL", [key, *b.params])
        if len(r):
            blk = r["block_id"].iloc[0]
            return Found(value, str(r["name"].iloc[0]), float(r["lat"].iloc[0]), float(r["lon"].iloc[0]),
                         ZOOM["premises"], None if pd.isna(blk) else int(blk))
        return None
    if kind == "landmark":
        name, _, borough = key.partition("|")
        r = raw_of(store).df(f"SELECT name, lat, lon FROM landmarks WHERE name = ? AND borough_code = ? AND {b.sql} "
                             "AND lat IS NOT NULL LIMIT 1", [name, borough, *b.params])
        if len(r):
            lat, lon = float(r["lat"].iloc[0]), float(r["lon"].iloc[0])
            return Found(value, name, lat, lon, ZOOM["landmark"], _nearest_block(store, lat, lon))
        return None
    if kind == "postcode" and premises and POSTCODE.match(key):
        hits = _postcode(store, key, b)
        return hits[0] if hits else None
    return None
