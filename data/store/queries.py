"""Every SQL statement of the web app: parameterised queries returning small DataFrames."""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from datetime import date

import numpy as np
import pandas as pd
import shapely

from data.store.cache import file_version, per_version
from data.store.counting import counted
from data.access.disclosure import protect_frame
from data.store.filters import LOCATED, Filters, borough_condition, incident_where
from data.access.roles import UNRESTRICTED, Scope
from data.ingest.schema import CONFIDENCE_ORDER
from data.store.db import Store
from layers.hexes import H3_RESOLUTIONS
from layers.hotspots import neighbours_block
from layers.hotspots_gi import weights_matrix
from layers.hotspots import block_statistics, busiest_of, hot_of
from layers.hexes import premises_rings
from layers.hotspots import neighbours_hex, study_area_hexes


@dataclass(frozen=True)
class ScopedStore:
    """The store as one viewer may read it: every query here applies `scope`.

    on_rows, when given, is told how many rows each query returned (the request log counts them).
    """
    store: Store
    scope: Scope
    on_rows: object = None

    def unprotected(self) -> "ScopedStore":
        """The same scope with exact counts: for statistics whose result (a flag, a class) is shown, never the
        counts themselves (docs/disclosure.md: tests on protected block counts of 1-4 lose half the hot spots)."""
        return self if self.scope.exact else replace(self, scope=replace(self.scope, level="exact", whole_months=True))

    def exact_for_sites(self, sites) -> "ScopedStore":
        """This store with exact counts when the viewer sees these ED sites' figures exactly (an ED's data
        lead, for their own sites: Scope.exact_for_sites); else itself."""
        if self.scope.exact or not self.scope.exact_for_sites(sites):
            return self
        return replace(self, scope=replace(self.scope, level="exact"))

    def df(self, sql: str, params=()) -> pd.DataFrame:
        """The query's result as this viewer may have it: counts protected for a protected viewer."""
        out = protect_frame(self.store.df(sql, params, keys=True), not self.scope.exact)
        if self.on_rows is not None:
            self.on_rows(len(out))
        return out


# another agency's incidents (registered extra sources): the view's WHERE has already kept only the ones asked for
OTHER_SQL = "source NOT IN ('ed', 'police')"


def other_counted(f: Filters) -> str:
    """`counted("other", OTHER_SQL)` when the view asks for another agency's incidents, else zeros: every FILTER
    aggregate costs on every row (10M rows), and most views count ED and police only."""
    return counted("other", OTHER_SQL) if f.extras else "0::BIGINT AS other, 0::HUGEINT AS other__key"


def extra_sources(store) -> pd.DataFrame:
    """source, name, agency, description of the registered extra sources (none in a database without any)."""
    if not len(store.df("SELECT 1 AS x FROM information_schema.tables WHERE table_name = 'sources' "
                        "AND table_catalog = current_database()")):
        return pd.DataFrame(columns=["source", "name", "agency", "description"])
    return store.df("SELECT source, name, agency, description FROM sources ORDER BY source")


def source_labels(store) -> dict[str, str]:
    """Every source's short name: the built-in ones, then the registered extra sources."""
    extra = extra_sources(store)
    return {"ed": "ED assaults", "police": "Police violence", **dict(zip(extra["source"], extra["name"]))}


def registered(store, extras) -> tuple[str, ...]:
    """The extra sources asked for that this deployment has registered (others would count nothing)."""
    if not extras:
        return ()
    known = set(extra_sources(store)["source"])
    return tuple(x for x in extras if x in known)


def extras_label(store, extras) -> str:
    """The name of the extra sources a view counts, joined ('' when it counts none)."""
    if not extras:
        return ""
    names = source_labels(store)
    return " and ".join(names.get(x, x) for x in extras)


def scope_of(store) -> Scope:
    return store.scope if isinstance(store, ScopedStore) else UNRESTRICTED


def _where(store, f: Filters):
    return incident_where(f, scope_of(store))


@lru_cache(maxsize=8)
def _reference(path: str, version: tuple) -> tuple[pd.DataFrame, tuple[date, date] | None]:
    # every page asks for these on every request; they change only with a load (a new file version)
    store = Store(path)
    names = store.df("SELECT code, name, population FROM boroughs ORDER BY name")
    row = store.df("SELECT min(month) AS lo, max(last_day(month)) AS hi FROM incidents").iloc[0]
    bounds = None if pd.isna(row["lo"]) else (row["lo"].date(), row["hi"].date())
    return names, bounds


def boroughs(store) -> pd.DataFrame:
    """code, name, population of every borough the viewer may see, by name."""
    names, _ = _reference(*_version(store))
    allowed = scope_of(store).boroughs_for(())
    return names.copy() if allowed is None else names[names["code"].isin(allowed)].reset_index(drop=True)


def borough_outlines(store, codes: tuple[str, ...] = ()) -> pd.DataFrame:
    """code, name and WKB outline of the given boroughs (all the viewer may see when empty)."""
    b = borough_condition(Filters(boroughs=tuple(codes)), scope_of(store), "code")
    return store.df(f"SELECT code, name, geom_wkb FROM boroughs WHERE {b.sql} ORDER BY code", b.params)


def date_bounds(store) -> tuple[date, date] | None:
    """First and last day covered by incidents, or None for an empty database."""
    return _reference(*_version(store))[1]


def hex_counts(store, f: Filters, res: int) -> pd.DataFrame:
    """Per H3 cell at resolution res: ed, police and total counts of located incidents."""
    if res not in H3_RESOLUTIONS:
        raise ValueError(f"H3 resolution {res} is not stored; expected one of {H3_RESOLUTIONS}")
    w = incident_where(f, scope_of(store), min_confidence=LOCATED)
    return store.df(
        f"""SELECT h3_r{res} AS cell, {counted("ed", "source = 'ed'")}, {counted("police", "source = 'police'")}
            FROM incidents WHERE {w.sql} AND h3_r{res} IS NOT NULL
            GROUP BY cell ORDER BY cell""",
        w.params,
    ).pipe(lambda c: c.assign(total=c["ed"] + c["police"]))


@per_version(64)
def month_borough_counts(store, f: Filters) -> pd.DataFrame:
    """ed and police per (month, borough) of the filter: one scan that the monthly series, the
    borough table and the totals of the same filter are all read from (a map render asks for all three)."""
    w = _where(store, f)
    return store.df(
        f"""SELECT month, borough_code, {counted("ed", "source = 'ed'")}, {counted("police", "source = 'police'")},
                   {other_counted(f)}
            FROM incidents WHERE {w.sql} GROUP BY month, borough_code ORDER BY month, borough_code""",
        w.params,
    )


def monthly_series(store, f: Filters) -> pd.DataFrame:
    """Per month: ed, police and other (another agency's) counts (every month from the first to the last
    with data, zeros included)."""
    c = month_borough_counts(store, f)
    if c.empty:
        return pd.DataFrame({"month": pd.Series(dtype="datetime64[us]"), "ed": pd.Series(dtype="int64"),
                             "police": pd.Series(dtype="int64"), "other": pd.Series(dtype="int64")})
    by_month = c.groupby("month")[["ed", "police", "other"]].sum()
    months = pd.date_range(by_month.index.min(), by_month.index.max(), freq="MS")
    out = by_month.reindex(months, fill_value=0).rename_axis("month").reset_index()
    return out.astype({"ed": "int64", "police": "int64", "other": "int64"})


@per_version(64)
def totals(store, f: Filters) -> dict[str, int]:
    """Total ed and police incidents matching the filter (from the month x borough counts when this
    request already has them; else a plain count, 3x cheaper than grouping at 10M rows)."""
    c = month_borough_counts.peek(store, f)
    if c is None and not scope_of(store).exact:
        c = month_borough_counts(store, f)  # protected: the total is the sum of the protected cells the table shows
    if c is None:
        w = _where(store, f)
        c = store.df(f"""SELECT {counted("ed", "source = 'ed'")}, {counted("police", "source = 'police'")},
                                {other_counted(f)}
                         FROM incidents WHERE {w.sql}""", w.params)
    return {"ed": int(c["ed"].sum()), "police": int(c["police"].sum()), "other": int(c["other"].sum())}


NO_BOROUGH = "No borough (location not placed)"


def borough_table(store, f: Filters) -> pd.DataFrame:
    """Per borough in the selection: name, population, ed and police counts (zeros included), and a
    last NO_BOROUGH row for the records of an all-London view placed in no borough."""
    names, _ = _reference(*_version(store))
    wanted = scope_of(store).boroughs_for(f.boroughs)  # None: every borough; (): none
    table = names if wanted is None else names[names["code"].isin(wanted)]
    counts = month_borough_counts(store, f)
    c = counts.groupby("borough_code")[["ed", "police"]].sum()
    out = table.merge(c, left_on="code", right_index=True, how="left").fillna({"ed": 0, "police": 0})
    out = out.astype({"ed": "int64", "police": "int64"})[["code", "name", "population", "ed", "police"]]
    out = out.sort_values("name", kind="stable").reset_index(drop=True)
    # an all-London view also counts records placed in no borough (an ED location that could not be
    # mapped): one more row, so the rows add up to the view's totals
    nowhere = counts.loc[counts["borough_code"].isna(), ["ed", "police"]].sum()
    if wanted is None and nowhere.sum() > 0:
        out.loc[len(out)] = [None, NO_BOROUGH, None, int(nowhere["ed"]), int(nowhere["police"])]
    return out


def incident_records(store, f: Filters, limit: int) -> pd.DataFrame:
    """Record-level rows for the selection (at most `limit`), oldest first."""
    w = _where(store, f)
    return store.df(
        f"""SELECT incident_id, source, occurred_at, time_precision, arrived_at, borough_code, lat, lon,
                   block_id, category, location_type, location_text, ed_site, geocode_confidence
            FROM incidents WHERE {w.sql} ORDER BY occurred_at, incident_id LIMIT ?""",
        w.params + [int(limit)],
    )


# ---- map: counts per spatial unit, hot blocks, day x hour, premises ------------------------

UNIT_COLUMNS = ("h3_r7", "h3_r8", "h3_r9", "h3_r10", "block_id")
MAP_CONFIDENCE = LOCATED  # counts at places: ED records placed on a street or better (filters.LOCATED_RULE)


@per_version(64)
def unit_counts(store, f: Filters, unit: str, min_confidence: str = MAP_CONFIDENCE,
                bbox: tuple[float, float, float, float] | None = None) -> pd.DataFrame:
    """Per unit (an H3 column or block_id): ed, police, total, and ED counts by confidence level.

    bbox (min_lon, min_lat, max_lon, max_lat) limits the count to points inside it (a map viewport).
    """
    if unit not in UNIT_COLUMNS:
        raise ValueError(f"unit {unit!r}: expected one of {UNIT_COLUMNS}")
    w = incident_where(f, scope_of(store), min_confidence=max(min_confidence, f.min_confidence, key=CONFIDENCE_ORDER.get))
    if bbox is not None:
        w = type(w)(w.sql + " AND lon BETWEEN ? AND ? AND lat BETWEEN ? AND ?",
                    w.params + [float(bbox[0]), float(bbox[2]), float(bbox[1]), float(bbox[3])])
    # four aggregates, the rest derived: an ED record with a unit is placed at venue, street or area
    # (fewer FILTER aggregates: ~30 % less time at 10M rows)
    # the parts are counted (each with its cell key, so each is protected on its own) and the sums derived:
    # an ED record with a unit is placed at venue, street or area
    c = store.df(
        f"""SELECT {unit} AS unit, {counted("police", "source = 'police'")}, {other_counted(f)},
                   {counted("ed_venue", "source = 'ed' AND geocode_confidence = 'venue'")},
                   {counted("ed_street", "source = 'ed' AND geocode_confidence = 'street'")},
                   {counted("ed_area", "source = 'ed' AND geocode_confidence = 'area'")}
            FROM incidents WHERE {w.sql} AND {unit} IS NOT NULL GROUP BY unit""",
        w.params,
    )
    c = c.astype({k: "int64" for k in ("police", "other", "ed_venue", "ed_street", "ed_area")})
    ed = c["ed_venue"] + c["ed_street"] + c["ed_area"]
    out = pd.DataFrame({"unit": c["unit"], "ed": ed, "police": c["police"], "other": c["other"],
                        "total": ed + c["police"] + c["other"],
                        "ed_venue": c["ed_venue"], "ed_street": c["ed_street"], "ed_area": c["ed_area"]})
    return out.sort_values("unit", kind="stable").reset_index(drop=True)


def counts(store, f: Filters, unit: str) -> pd.DataFrame:
    """Counts per unit by source for the shared filter model: unit 'h3_r7'..'h3_r10' or 'block'."""
    return unit_counts(store, f, "block_id" if unit == "block" else unit)


def study_blocks(store, f: Filters) -> pd.DataFrame:
    """Every street block of the filtered boroughs (the study area of block statistics)."""
    b = borough_condition(f, scope_of(store))
    return store.df(f"""SELECT block_id, street, borough_code, length_m, node_u, node_v, lat, lon
                        FROM blocks WHERE {b.sql} ORDER BY block_id""", b.params)


@lru_cache(maxsize=16)
def _block_neighbours(path: str, version: tuple, boroughs: tuple | None) -> tuple[pd.DataFrame, object]:
    # Keyed by the database file's identity: a new load is a new file, so a new key. Building the
    # neighbour lists and the weights matrix of 175,000 blocks takes ~0.5 s: once per data version.
    store = Store(path)
    b = borough_condition(Filters(boroughs=boroughs or ()), UNRESTRICTED)
    blocks = store.df(f"""SELECT block_id, street, borough_code, length_m, node_u, node_v
                          FROM blocks WHERE {b.sql} ORDER BY block_id""", b.params)
    # only the matrix is kept: the neighbour lists (175,000 Python lists at 10M) would lengthen
    # every full garbage collection for as long as the cache holds them
    return blocks, weights_matrix(pd.Index(blocks["block_id"]), neighbours_block(blocks))


def raw_of(store) -> Store:
    return store.store if isinstance(store, ScopedStore) else store


def _version(store) -> tuple[str, tuple]:
    return file_version(store)


def source_counts(store, f: Filters, unit: str, min_confidence: str = MAP_CONFIDENCE) -> pd.DataFrame:
    """Per unit: ed, police and other counts only (the lean query hot-spot statistics need)."""
    if unit not in UNIT_COLUMNS:
        raise ValueError(f"unit {unit!r}: expected one of {UNIT_COLUMNS}")
    w = incident_where(f, scope_of(store), min_confidence=max(min_confidence, f.min_confidence, key=CONFIDENCE_ORDER.get))
    return store.df(f"""SELECT {unit} AS unit, {counted("ed", "source = 'ed'")}, {counted("police", "source = 'police'")},
                               {other_counted(f)}
                        FROM incidents WHERE {w.sql} AND {unit} IS NOT NULL GROUP BY unit""", w.params)


@per_version(64)
def block_stats(store, f: Filters, alpha: float = 0.05) -> pd.DataFrame:
    """Every block of the view's study area (the selected boroughs, all the viewer may see when none
    are) with ed, police, total, rate per 100 m and the local test (layers.hotspots.block_statistics)."""
    blocks, weights = _block_neighbours(*_version(store), scope_of(store).boroughs_for(f.boroughs))
    exact = unprotected(store)
    c = unit_counts.peek(exact, f, "block_id")  # the block map has these counts already
    c = (source_counts(exact, f, "block_id") if c is None else c).set_index("unit")
    stats = block_statistics(c[["ed", "police", "other"]], blocks, weights, alpha=alpha)
    if exact is not store:  # the test ran on exact counts; the counts shown are the protected ones
        shown = source_counts(store, f, "block_id").set_index("unit")[["ed", "police", "other"]]
        shown = shown.reindex(stats["block_id"], fill_value=0)
        stats = stats.assign(ed=shown["ed"].to_numpy(), police=shown["police"].to_numpy(), other=shown["other"].to_numpy())
        stats["total"] = stats["ed"] + stats["police"] + stats["other"]
        length = stats["length_m"].astype(float)
        stats["rate_per_100m"] = (stats["total"] / length.where(length > 0) * 100).astype(float)
    return stats


def unprotected(store):
    """`ScopedStore.unprotected` for a scoped store; a plain store is exact already."""
    return store.unprotected() if isinstance(store, ScopedStore) else store


def hot_blocks(store, f: Filters, alpha: float = 0.05) -> pd.DataFrame:
    """The hot blocks of a view: blocks the local test flags (Gi* with an exact negative-binomial test,
    5 % FDR over the study area), ranked by total. Nothing else is called hot."""
    return hot_of(block_stats(store, f, alpha))


def busiest_blocks(store, f: Filters, top_n: int = 20) -> pd.DataFrame:
    """The view's top_n blocks by total: a ranking, not a test (`hot` says which are also hot spots)."""
    return busiest_of(block_stats(store, f), top_n)


@lru_cache(maxsize=2)
def _block_shapes_all(path: str, version: tuple) -> pd.DataFrame:
    # the street network changes only with a load: read once per data version (like the neighbour
    # lists; 10M demo: 175,000 blocks, ~30 MB), then every block map takes its lines from memory
    return Store(path).df("SELECT block_id, street, length_m, geom_wkb FROM blocks ORDER BY block_id").set_index(
        "block_id", drop=False)


def block_shapes(store, block_ids) -> pd.DataFrame:
    """block_id, street, length_m and WKB line of the given blocks, by block_id (unknown ids left out)."""
    ids = np.unique(np.asarray([int(b) for b in block_ids], dtype=np.int64))
    if not len(ids):
        return pd.DataFrame(columns=["block_id", "street", "length_m", "geom_wkb"])
    every = _block_shapes_all(*_version(store))  # geometry only, no incident data: the same for every viewer
    return every.loc[every.index.intersection(ids)].reset_index(drop=True)


@per_version(64)
def day_hour(store, f: Filters) -> pd.DataFrame:
    """ED assaults per weekday (0 = Monday) and hour of the assault (police.uk has no time)."""
    w = incident_where(f.only("ed"), scope_of(store))
    return store.df(
        f"""SELECT isodow(occurred_at) - 1 AS weekday, hour(occurred_at) AS hour, {counted("n")}
            FROM incidents WHERE {w.sql} GROUP BY ALL ORDER BY weekday, hour""", w.params)


def premises_near(store, f: Filters, radius_m: float = 50.0) -> pd.DataFrame:
    """Premises of the filtered boroughs with the incidents (filter applied) within radius_m.

    Candidates come from the premises' H3 r10 cell and the rings around it that the radius can
    reach (a hash join), then the exact distance decides.
    """
    b = borough_condition(f, scope_of(store), "borough_code")
    prem = store.df(f"""SELECT premises_id, name, licence_type, opens, closes, address, borough_code, lat, lon,
                               block_id, h3_r10 FROM premises WHERE {b.sql} AND h3_r10 IS NOT NULL
                        ORDER BY premises_id""", b.params)
    rings = premises_rings(prem["premises_id"], prem["h3_r10"], radius_m)
    w = incident_where(f.with_(place=None), scope_of(store), min_confidence=MAP_CONFIDENCE)
    sql = f"""SELECT r.premises_id, {counted("ed", "i.source = 'ed'", "i")}, {counted("police", "i.source = 'police'", "i")}
            FROM rings_frame r
            JOIN (SELECT source, lat, lon, h3_r10, record_hash FROM incidents WHERE {w.sql}) i ON i.h3_r10 = r.cell
            JOIN (SELECT premises_id, lat AS plat, lon AS plon FROM premises) p ON p.premises_id = r.premises_id
            WHERE 6371008.8 * 2 * asin(sqrt(pow(sin(radians(i.lat - p.plat) / 2), 2)
                  + cos(radians(p.plat)) * cos(radians(i.lat)) * pow(sin(radians(i.lon - p.plon) / 2), 2))) <= ?
            GROUP BY r.premises_id"""
    with raw_of(store).cursor() as cur:
        cur.register("rings_frame", rings)
        near = protect_frame(cur.execute(sql, w.params + [radius_m]).df(), not scope_of(store).exact)
    out = prem.drop(columns=["h3_r10"]).merge(near, on="premises_id", how="left")
    out[["ed", "police"]] = out[["ed", "police"]].fillna(0).astype("int64")
    return out


@lru_cache(maxsize=16)
def _hex_study_area(path: str, version: tuple, boroughs: tuple | None, res: int) -> tuple[np.ndarray, object]:
    b = borough_condition(Filters(boroughs=boroughs or ()), UNRESTRICTED, "code")
    outlines = Store(path).df(f"SELECT geom_wkb FROM boroughs WHERE {b.sql}", b.params)
    polys = shapely.from_wkb([bytes(w) for w in outlines["geom_wkb"]])
    cells = study_area_hexes(list(polys), res)
    return cells, weights_matrix(pd.Index(cells, dtype="uint64"), neighbours_hex(cells))


def hex_study_area(store, f: Filters, res: int) -> tuple[np.ndarray, object]:
    """Every H3 cell at res covering the filtered boroughs (zeros take part in Gi*) and their
    Gi* weights matrix (rows in the order of the cells), cached per data version."""
    return _hex_study_area(*_version(store), scope_of(store).boroughs_for(f.boroughs), res)


def block_study_area(store, f: Filters) -> tuple[pd.DataFrame, object]:
    """Every street block of the filtered boroughs and their Gi* weights matrix (rows in block order)."""
    blocks, weights = _block_neighbours(*_version(store), scope_of(store).boroughs_for(f.boroughs))
    return blocks, weights
