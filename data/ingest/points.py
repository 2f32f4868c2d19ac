"""Points into the store: the loaded geography, spatial keys, incident inserts and re-assignment.

Keys are computed once per distinct location and joined back: police.uk repeats a limited set
of anonymised map points, so a million crimes sit on far fewer places.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from data.ingest.enrich import borough_of_points, point_keys
from data.store.db import scalar
from layers.blocks import DEFAULT_MAX_DISTANCE_M, BlockIndex, lines_to_bng

INCIDENT_COLS = ("source", "occurred_at", "time_precision", "arrived_at", "month", "borough_code", "lat", "lon",
                 "h3_r7", "h3_r8", "h3_r9", "h3_r10", "block_id", "category", "location_type", "location_text",
                 "ed_site", "geocode_confidence", "record_hash", "source_id", "lsoa_code", "load_id")


@dataclass
class Geography:
    """What the store already knows about places: borough polygons and the street-block index."""
    codes: list[str]
    polygons: list
    blocks: BlockIndex | None
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M
    cache: dict = field(default_factory=dict)   # what loaders build once per run (the gazetteer)

    @property
    def boroughs(self) -> tuple[list, list] | None:
        return (self.codes, self.polygons) if self.codes else None

    def keys(self, lat, lon) -> pd.DataFrame:
        """lat, lon, borough_code, h3_r7..h3_r10 and block_id of the distinct finite points given."""
        pts = pd.DataFrame({"lat": np.asarray(lat, float), "lon": np.asarray(lon, float)}).drop_duplicates()
        return point_keys(pts["lat"], pts["lon"], self.boroughs, self.blocks, self.max_distance_m)


def store_geography(con, max_distance_m: float = DEFAULT_MAX_DISTANCE_M) -> Geography:
    """Borough polygons and a block index built from the store's boroughs and blocks tables."""
    b = con.execute("SELECT code, geom_wkb FROM boroughs WHERE geom_wkb IS NOT NULL ORDER BY code").fetchall()
    codes = [code for code, _ in b]
    polygons = [shapely.from_wkb(bytes(wkb)) for _, wkb in b]
    blk = con.execute("SELECT block_id, geom_wkb FROM blocks WHERE geom_wkb IS NOT NULL ORDER BY block_id").fetchnumpy()
    index = None
    if len(blk["block_id"]):
        lines = shapely.from_wkb(np.array([bytes(w) for w in blk["geom_wkb"]], dtype=object))
        index = BlockIndex(lines_to_bng(lines), np.asarray(blk["block_id"], dtype=np.int64))
    return Geography(codes, polygons, index, max_distance_m)


def register_keys(con, name: str, keys: pd.DataFrame) -> None:
    """Register point keys for SQL joins, with types DuckDB keeps (UBIGINT cells, INTEGER blocks)."""
    frame = pd.DataFrame({"lat": keys["lat"].to_numpy(float), "lon": keys["lon"].to_numpy(float),
                          "borough_code": keys["borough_code"].astype(object)})
    for col in ("h3_r7", "h3_r8", "h3_r9", "h3_r10", "block_id"):
        frame[col] = keys[col]
    con.register(name, frame)


def point_key_table(con, geo: Geography, points_sql: str) -> None:
    """Make temp table _pointkeys hold the keys of every distinct point of a SELECT (lat, lon).

    Points already in it (from earlier files of this run) are not recomputed; loaders join it.
    """
    con.execute("""CREATE TEMP TABLE IF NOT EXISTS _pointkeys (lat DOUBLE, lon DOUBLE, borough_code VARCHAR,
                   h3_r7 UBIGINT, h3_r8 UBIGINT, h3_r9 UBIGINT, h3_r10 UBIGINT, block_id INTEGER)""")
    new = con.execute(f"""SELECT DISTINCT p.lat, p.lon FROM ({points_sql}) p
                          ANTI JOIN _pointkeys k ON k.lat = p.lat AND k.lon = p.lon
                          WHERE p.lat IS NOT NULL AND p.lon IS NOT NULL""").fetchnumpy()
    if not len(new["lat"]):
        return
    keys = point_keys(new["lat"], new["lon"], geo.boroughs, geo.blocks, geo.max_distance_m)
    frame = pd.DataFrame({"lat": keys["lat"].to_numpy(float), "lon": keys["lon"].to_numpy(float),
                          "borough_code": keys["borough_code"].astype(object),
                          "block_id": keys["block_id"].fillna(-1).to_numpy(np.int32)})
    for col in ("h3_r7", "h3_r8", "h3_r9", "h3_r10"):
        frame[col] = keys[col].to_numpy(np.uint64)  # finite points always have cells
    con.register("_newkeys", frame)
    con.execute("""INSERT INTO _pointkeys SELECT lat, lon, borough_code, h3_r7, h3_r8, h3_r9, h3_r10,
                   nullif(block_id, -1) FROM _newkeys""")
    con.unregister("_newkeys")


def insert_incidents(con, select_sql: str, params: list | None = None) -> dict[int, int]:
    """Add the rows of a SELECT (INCIDENT_COLS plus _id) whose record_hash is not stored; rows added per load_id.

    incident_id = the largest stored id + _id (a row number the loader gives; gaps are harmless).
    """
    base = scalar(con, "SELECT coalesce(max(incident_id), 0) FROM incidents")
    con.execute(f"""INSERT INTO incidents (incident_id, {', '.join(INCIDENT_COLS)})
        SELECT ? + r._id, {', '.join('r.' + c for c in INCIDENT_COLS)}
        FROM ({select_sql}) r ANTI JOIN incidents i ON i.record_hash = r.record_hash""", [base, *(params or [])])
    return dict(con.execute("SELECT load_id, count(*) FROM incidents WHERE incident_id > ? GROUP BY load_id", [base]).fetchall())


def _distinct_points(con, table: str) -> tuple[np.ndarray, np.ndarray]:
    pts = con.execute(f"SELECT DISTINCT lat, lon FROM {table} WHERE lat IS NOT NULL AND lon IS NOT NULL").fetchnumpy()
    return np.asarray(pts["lat"], float), np.asarray(pts["lon"], float)


POINT_TABLES = ("incidents", "premises")


def planned_keys(con, geo: Geography, *, boroughs: bool, blocks: bool) -> dict[str, pd.DataFrame]:
    """Per point table: lat, lon and the borough_code and/or block_id its distinct stored points get from geo."""
    planned = {}
    for table in POINT_TABLES:
        lat, lon = _distinct_points(con, table)
        frame = pd.DataFrame({"lat": lat, "lon": lon})
        if boroughs:
            frame["borough_code"] = pd.Series(borough_of_points(lat, lon, geo.codes, geo.polygons), dtype=object)
        if blocks:
            ids = geo.blocks.assign(lat, lon, geo.max_distance_m)[0] if geo.blocks is not None else np.full(len(lat), -1)
            frame["block_id"] = pd.array(np.where(ids < 0, 0, ids), dtype="Int32")
            frame.loc[ids < 0, "block_id"] = pd.NA
        planned[table] = frame
    return planned


def would_lose(con, planned: dict[str, pd.DataFrame], column: str) -> dict[str, int]:
    """Per point table: rows that have `column` (borough_code or block_id) now and would have none as planned."""
    lost = {}
    for table, keys in planned.items():
        con.register("_planned", keys[["lat", "lon", column]])
        lost[table] = scalar(con, f"""SELECT count(*) FROM {table} t JOIN _planned k ON t.lat = k.lat AND t.lon = k.lon
                                      WHERE t.{column} IS NOT NULL AND k.{column} IS NULL""")
        con.unregister("_planned")
    return lost


def codes_in_use(con) -> dict[str, int]:
    """Borough codes the stored incidents and premises use, with their rows."""
    return dict(con.execute("""SELECT borough_code, count(*) FROM (SELECT borough_code FROM incidents UNION ALL
                                                                 SELECT borough_code FROM premises)
                               WHERE borough_code IS NOT NULL GROUP BY ALL ORDER BY 1""").fetchall())


def apply_keys(con, geo: Geography, planned: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Write planned keys to their tables (and, with boroughs, to blocks, landmarks, ED sites); located rows per table."""
    changed = {}
    boroughs = False
    for table, keys in planned.items():
        cols = [c for c in ("borough_code", "block_id") if c in keys.columns]
        boroughs = boroughs or "borough_code" in cols
        con.register("_keys", keys)
        con.execute(f"UPDATE {table} SET {', '.join(f'{c} = k.{c}' for c in cols)} FROM _keys k "
                    f"WHERE {table}.lat = k.lat AND {table}.lon = k.lon")
        con.unregister("_keys")
        changed[table] = scalar(con, f"SELECT count(*) FROM {table} WHERE lat IS NOT NULL")
    if boroughs:
        for table in ("blocks", "landmarks", "ed_sites"):
            rows = con.execute(f"SELECT DISTINCT lat, lon FROM {table} WHERE lat IS NOT NULL").fetchnumpy()
            lat, lon = np.asarray(rows["lat"], float), np.asarray(rows["lon"], float)
            frame = pd.DataFrame({"lat": lat, "lon": lon,
                                  "borough_code": pd.Series(borough_of_points(lat, lon, geo.codes, geo.polygons), dtype=object)})
            con.register("_keys", frame)
            con.execute(f"UPDATE {table} SET borough_code = k.borough_code FROM _keys k WHERE {table}.lat = k.lat AND {table}.lon = k.lon")
            con.unregister("_keys")
    return changed
