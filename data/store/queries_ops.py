"""SQL of the operational pages (premises evidence, police tasking): parameterised, scoped.

Every query applies the viewer's scope through `incident_where` / `borough_condition`, as
`data/store/queries.py` does, so a crafted request for another borough returns nothing from it.
"""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from data.store.filters import ALL_SOURCES, Filters, Where, borough_condition, incident_where, window_case, windows_before
from data.store.queries import MAP_CONFIDENCE, other_counted, raw_of, scope_of
from data.store.cache import per_version
from data.store.counting import counted, record_key
from data.access.disclosure import protect_frame
from layers.hexes import premises_rings
from data.ingest.schema import ASSAULT_METHODS
from data.store.queries import block_study_area
from layers.hotspots import block_statistics, emerging

NIGHT_HOURS = (22, 6)          # 22:00 up to 05:59: the late-night economy
GLASS = "04"                   # assault method: glass or bottle
MIN_RADIUS_M, MAX_RADIUS_M = 10.0, 250.0
EARTH_M = 6371008.8

_DISTANCE = (f"{EARTH_M} * 2 * asin(sqrt(pow(sin(radians(i.lat - p.plat) / 2), 2)"
             " + cos(radians(p.plat)) * cos(radians(i.lat)) * pow(sin(radians(i.lon - p.plon) / 2), 2)))")


EMERGING_SLICES = 12  # windows an emerging-hot-spot pattern is read over (a year of months)


def check_radius(radius_m: float) -> float:
    """The radius as a float, or a ValueError saying the allowed range."""
    try:
        r = float(radius_m)
    except (TypeError, ValueError):
        raise ValueError(f"radius {radius_m!r}: expected a number of metres") from None
    if not (MIN_RADIUS_M <= r <= MAX_RADIUS_M):
        raise ValueError(f"radius {r:g} m: expected {MIN_RADIUS_M:g} to {MAX_RADIUS_M:g} metres")
    return r


def _near_where(store, f: Filters) -> Where:
    # ED records placed only at an area centre would sit near premises by accident: street or better
    return incident_where(f.with_(place=None), scope_of(store), min_confidence=MAP_CONFIDENCE)


def _night(col: str = "i.occurred_at") -> str:
    lo, hi = NIGHT_HOURS
    return f"(hour({col}) >= {lo} OR hour({col}) < {hi})"


def previous_window(f: Filters) -> Filters:
    """The equal window just before f's counted period (`Filters.previous`: whole months stay whole months)."""
    return f.previous()


def premises_list(store, f: Filters) -> pd.DataFrame:
    """Licensed premises of the filtered boroughs (within scope), by premises_id."""
    b = borough_condition(f, scope_of(store), "borough_code")
    return store.df(f"""SELECT premises_id, name, address, street, licence_type, opens, closes, borough_code,
                               lat, lon, block_id, h3_r10 FROM premises WHERE {b.sql} ORDER BY premises_id""", b.params)


def _rings(prem: pd.DataFrame, radius_m: float) -> pd.DataFrame:
    """(premises_id, cell): the H3 r10 cells within reach of radius_m of each located premises."""
    located = prem.loc[prem["h3_r10"].notna()]
    return premises_rings(located["premises_id"], located["h3_r10"], radius_m)


def _near_counts(store, f: Filters, rings: pd.DataFrame, radius_m: float) -> pd.DataFrame:
    """Per premises: ed, police, ed_night, ed_glass within radius_m (H3 rings, then exact distance)."""
    w = _near_where(store, f)
    sql = f"""SELECT r.premises_id, {counted("ed", "i.source = 'ed'", "i")}, {counted("police", "i.source = 'police'", "i")},
                   {counted("ed_night", f"i.source = 'ed' AND {_night()}", "i")},
                   {counted("ed_glass", f"i.source = 'ed' AND i.category = '{GLASS}'", "i")}
            FROM rings_frame r
            JOIN (SELECT source, category, occurred_at, lat, lon, h3_r10, record_hash FROM incidents WHERE {w.sql}) i
                 ON i.h3_r10 = r.cell
            JOIN (SELECT premises_id, lat AS plat, lon AS plon FROM premises) p ON p.premises_id = r.premises_id
            WHERE {_DISTANCE} <= ?
            GROUP BY r.premises_id"""
    with raw_of(store).cursor() as cur:
        cur.register("rings_frame", rings)
        return protect_frame(cur.execute(sql, w.params + [radius_m]).df(), not scope_of(store).exact)


def named_counts(store, f: Filters) -> pd.DataFrame:
    """Per premises: ED records in the filter whose geocoder match names that venue (any confidence)."""
    w = incident_where(f.only("ed").with_(place=None), scope_of(store))
    return store.df(
        f"""SELECT p.premises_id, {counted("named", None, "i")}
            FROM (SELECT incident_id, record_hash FROM incidents WHERE {w.sql}) i
            JOIN geocode_matches g USING (incident_id)
            JOIN premises p ON g.matched = 'premises:' || p.premises_id
            GROUP BY p.premises_id""", w.params)


@per_version(32)
def premises_evidence(store, f: Filters, radius_m: float = 50.0) -> pd.DataFrame:
    """Every premises of the view with its counts within radius_m in the window and the previous one.

    Columns: the premises' details, ed, police, total, ed_night, ed_glass, named, and
    prev_ed, prev_police, prev_total, prev_named for `previous_window(f)`.
    """
    radius_m = check_radius(radius_m)
    prem = premises_list(store, f)
    out = prem.drop(columns=["h3_r10"])
    counts = ["ed", "police", "ed_night", "ed_glass", "named", "prev_ed", "prev_police", "prev_named"]
    if prem.empty:  # nothing in scope: the empty table, typed
        return out.assign(**{c: pd.Series(dtype="int64") for c in counts + ["total", "prev_total"]})
    prev = previous_window(f)
    rings = _rings(prem, radius_m)  # the same premises and radius for both windows
    for prefix, window in (("", f), ("prev_", prev)):
        near = _near_counts(store, window, rings, radius_m)
        named = named_counts(store, window)
        if prefix:
            near = near[["premises_id", "ed", "police"]]
        near = near.merge(named, on="premises_id", how="outer")
        near = near.rename(columns={c: prefix + c for c in near.columns if c != "premises_id"})
        out = out.merge(near, on="premises_id", how="left")
    out[counts] = out[counts].fillna(0).astype("int64")
    out["total"] = out["ed"] + out["police"]
    out["prev_total"] = out["prev_ed"] + out["prev_police"]
    return out


def adjacent_blocks(store, block_ids) -> pd.DataFrame:
    """block_id of every block sharing a junction with one of block_ids, and which one (next_to)."""
    ids = [int(b) for b in block_ids]
    if not ids:
        return pd.DataFrame({"block_id": pd.Series(dtype="int64"), "next_to": pd.Series(dtype="int64")})
    # equi-joins on one junction column: an OR join condition would be a nested loop (470 ms -> 14 ms)
    return store.df(
        """WITH h AS (SELECT block_id, node_u, node_v FROM blocks WHERE block_id IN (SELECT unnest(?::INTEGER[]))),
                hn AS (SELECT block_id AS next_to, node_u AS node FROM h UNION SELECT block_id, node_v FROM h),
                bn AS (SELECT block_id, node_u AS node FROM blocks UNION ALL SELECT block_id, node_v FROM blocks)
           SELECT DISTINCT bn.block_id, hn.next_to FROM bn JOIN hn ON bn.node = hn.node
           WHERE bn.block_id <> hn.next_to ORDER BY bn.block_id, hn.next_to""", [ids])


# ---- one premises ------------------------------------------------------------------------

def premises_one(store, premises_id: str) -> pd.Series | None:
    """One premises' details, or None when it does not exist or lies outside the viewer's scope."""
    b = borough_condition(Filters(), scope_of(store), "borough_code")
    df = store.df(f"""SELECT premises_id, name, address, street, licence_type, opens, closes, borough_code,
                             lat, lon, block_id FROM premises WHERE premises_id = ? AND {b.sql}""",
                  [str(premises_id)] + b.params)
    return None if df.empty else df.iloc[0]


@per_version(64)
def _near_rows(store, f: Filters, premises_id: str, radius_m: float) -> pd.DataFrame:
    """Every incident of the window (both sources, f's other filters) within radius_m of one premises,
    with its distance: one scan that a profile's monthly series, hour-of-week, weapons and map all
    read from (a bounding box first, cheap on the coordinates, then the exact distance)."""
    radius_m = check_radius(radius_m)
    f = f.counted()  # the view's period; adding police below must not widen an ED-only view's days
    w = _near_where(store, f.with_(sources=ALL_SOURCES))
    dlat = radius_m / 111_000 * 1.05
    sql = f"""SELECT i.incident_id, i.source, i.occurred_at, i.month, i.category, i.lat, i.lon,
                     i.geocode_confidence, i.h3_r10, round({_DISTANCE}, 1) AS distance_m, {record_key("i")} AS rkey
              FROM (SELECT premises_id, lat AS plat, lon AS plon FROM premises WHERE premises_id = ?) p
              JOIN (SELECT * FROM incidents WHERE {w.sql}) i
                ON i.lat BETWEEN p.plat - ? AND p.plat + ?
               AND i.lon BETWEEN p.plon - ? / cos(radians(p.plat)) AND p.plon + ? / cos(radians(p.plat))
              WHERE {_DISTANCE} <= ?
              ORDER BY i.occurred_at, i.incident_id"""
    rows = store.df(sql, [str(premises_id)] + w.params + [dlat, dlat, dlat, dlat, radius_m])
    if f.start is not None and f.end is not None and not f.in_months:
        when = pd.to_datetime(rows["occurred_at"])
        inside = (when >= pd.Timestamp(f.start)) & (when < pd.Timestamp(f.end) + pd.Timedelta(days=1))
        rows = rows.loc[(rows["source"] != "ed") | inside].reset_index(drop=True)
    return rows


def _near(store, f: Filters, premises_id: str, radius_m: float, sources=None) -> pd.DataFrame:
    rows = _near_rows(store, f, premises_id, float(radius_m))
    return rows.loc[rows["source"].isin(list(sources or f.sources))].reset_index(drop=True)


def nearby_records(store, f: Filters, premises_id: str, radius_m: float) -> pd.DataFrame:
    """Record-level incidents within radius_m of a premises (only for record-level roles)."""
    return _near(store, f, premises_id, radius_m)[["incident_id", "source", "occurred_at", "month", "category", "lat",
                                                  "lon", "geocode_confidence", "distance_m"]]


def _by_source(store, rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """ed and police per group of the rows, each with its cell key, through the viewer's protection."""
    ed, police = (rows["source"] == "ed").astype("int64"), (rows["source"] == "police").astype("int64")
    c = (rows.assign(ed=ed, police=police, ed__key=ed * rows["rkey"], police__key=police * rows["rkey"])
             .groupby(keys, as_index=False)[["ed", "police", "ed__key", "police__key"]].sum())
    return protect_frame(c, not scope_of(store).exact)


def _counted_groups(store, rows: pd.DataFrame, keys: list[str], name: str) -> pd.DataFrame:
    """The number of rows per group (`name`) with its cell key, through the viewer's protection."""
    c = rows.groupby(keys).agg(**{name: ("rkey", "size"), f"{name}__key": ("rkey", "sum")}).reset_index()
    return protect_frame(c, not scope_of(store).exact)


def nearby_hexes(store, f: Filters, premises_id: str, radius_m: float) -> pd.DataFrame:
    """Incidents within radius_m of a premises per H3 r10 cell: cell, ed, police, total."""
    c = _by_source(store, _near(store, f, premises_id, radius_m).rename(columns={"h3_r10": "cell"}), ["cell"])
    return c.assign(total=c["ed"] + c["police"]).sort_values("cell").reset_index(drop=True)


def nearby_monthly(store, f: Filters, premises_id: str, radius_m: float) -> pd.DataFrame:
    """Per month of the window (zeros included): ed and police within radius_m of a premises."""
    return _fill_months(_by_source(store, _near(store, f, premises_id, radius_m), ["month"]), f, ["ed", "police"])


def nearby_day_hour(store, f: Filters, premises_id: str, radius_m: float) -> pd.DataFrame:
    """ED assaults within radius_m per weekday (0 = Monday) and hour: weekday, hour, n (non-zero cells)."""
    ed = _near(store, f, premises_id, radius_m, sources=("ed",))
    t = pd.to_datetime(ed["occurred_at"])
    c = pd.DataFrame({"weekday": t.dt.day_of_week.astype("int64"), "hour": t.dt.hour.astype("int64"), "rkey": ed["rkey"]})
    return _counted_groups(store, c, ["weekday", "hour"], "n").sort_values(["weekday", "hour"]).reset_index(drop=True)


def nearby_methods(store, f: Filters, premises_id: str, radius_m: float) -> pd.DataFrame:
    """ED assaults within radius_m by assault method: every method code with its count (zeros included)."""
    ed = _near(store, f, premises_id, radius_m, sources=("ed",))
    c = _counted_groups(store, ed, ["category"], "ed").rename(columns={"category": "method"})
    codes = pd.DataFrame({"method": [m.code for m in ASSAULT_METHODS], "label": [m.label for m in ASSAULT_METHODS]})
    out = codes.merge(c, on="method", how="left")
    out["ed"] = out["ed"].fillna(0).astype("int64")
    return out


def named_monthly(store, f: Filters, premises_id: str) -> pd.DataFrame:
    """Per month of the window (zeros included): ED records whose geocoder match names this venue."""
    w = incident_where(f.only("ed").with_(place=None), scope_of(store))
    c = store.df(f"""SELECT i.month, {counted("named", None, "i")}
                     FROM (SELECT incident_id, month, record_hash FROM incidents WHERE {w.sql}) i
                     JOIN geocode_matches g USING (incident_id)
                     WHERE g.matched = 'premises:' || ?
                     GROUP BY ALL""", w.params + [str(premises_id)])
    return _fill_months(c, f, ["named"])


def _fill_months(c: pd.DataFrame, f: Filters, cols: list[str]) -> pd.DataFrame:
    if f.start is None or f.end is None:
        months = sorted(pd.to_datetime(c["month"]).unique()) if len(c) else []
    else:
        months = pd.date_range(pd.Timestamp(f.start).to_period("M").to_timestamp(), pd.Timestamp(f.end), freq="MS")
    frame = pd.DataFrame({"month": pd.to_datetime(list(months))})
    if len(c):
        c = c.assign(month=pd.to_datetime(c["month"]))
        frame = frame.merge(c, on="month", how="left")
    for col in cols:
        frame[col] = (frame[col] if col in frame else pd.Series(0, index=frame.index)).fillna(0).astype("int64")
    return frame[["month"] + cols]


# ---- tasking -----------------------------------------------------------------------------

@per_version(32)
def tasking_block_counts(store, f: Filters) -> pd.DataFrame:
    """Per block with any incident in the window: block_id, ed, police and other (the view's extra sources)
    (LOCATED ED records, the counted period)."""
    w = _near_where(store, f)
    return store.df(f"""SELECT block_id, {counted("ed", "source = 'ed'")}, {counted("police", "source = 'police'")},
                               {other_counted(f)}
                        FROM incidents WHERE {w.sql} AND block_id IS NOT NULL
                        GROUP BY block_id ORDER BY block_id""", w.params)


def tasking_totals(store, f: Filters) -> dict[str, int]:
    """ED and police incidents of the window on any block of the view (the area's totals)."""
    c = tasking_block_counts(store, f)
    return {"ed": int(c["ed"].sum()), "police": int(c["police"].sum()), "other": int(c["other"].sum())}


def block_day_hour(store, f: Filters, block_ids) -> pd.DataFrame:
    """ED assaults of the window on the given blocks: block_id, weekday (0 = Monday), hour, n."""
    ids = [int(b) for b in block_ids]
    w = incident_where(f.only("ed").with_(place=None), scope_of(store), min_confidence=MAP_CONFIDENCE)
    return store.df(f"""SELECT block_id, isodow(occurred_at) - 1 AS weekday, hour(occurred_at) AS hour, {counted("n")}
                        FROM incidents WHERE {w.sql} AND block_id IN (SELECT unnest(?::INTEGER[]))
                        GROUP BY ALL ORDER BY block_id, weekday, hour""", w.params + [ids])


@per_version(32)
def tasking_blocks(store, f: Filters, alpha: float = 0.05) -> pd.DataFrame:
    """Every block of the view's study area with its counts and the local test (`block_statistics`)."""
    blocks, weights = block_study_area(store, f)  # neighbours and weights cached per data version
    counts = tasking_block_counts(store, f).set_index("block_id")
    counts = counts.loc[counts.index.isin(blocks["block_id"].to_numpy())]
    return block_statistics(counts, blocks, weights, alpha=alpha)


@per_version(16)
def tasking_emerging(store, f: Filters, slices: int = EMERGING_SLICES, first_day: date | None = None) -> pd.DataFrame:
    """Emerging hot spot category of every block of the view's study area over the `slices` equal
    windows ending with f (`layers.hotspots.emerging`: the local test per window, an exact
    Mann-Kendall trend of each block's Gi* z). Windows starting before first_day (the first day of
    data) are left out, so a short history is not read as "new". attrs: slices, trend_possible."""
    windows = [w for w in windows_before(f, slices) if first_day is None or w.start >= first_day]
    blocks, weights = block_study_area(store, f)
    ids = pd.Index(blocks["block_id"].to_numpy())
    if len(windows) < 2 or blocks.empty:
        out = pd.DataFrame({"category": pd.Series(["no pattern"] * len(ids), dtype=object)}, index=ids)
        out.attrs.update({"slices": len(windows), "trend_possible": False})
        return out
    counts = windows_block_counts(store, windows)
    series = pd.DataFrame({str(w.start): counts.get(i, pd.Series(dtype="int64")).reindex(ids, fill_value=0)
                           for i, w in enumerate(windows)}, index=ids)
    return emerging(series, weights)


def windows_block_counts(store, windows: list[Filters]) -> dict[int, pd.Series]:
    """Per window (by index), each block's total as `tasking_block_counts` counts them, in one
    grouped query (twelve windows' separate queries took 12 scans of the incidents)."""
    span = windows[0].with_(start=min(x.start for x in windows), end=max(x.end for x in windows))
    w = _near_where(store, span)
    case = window_case([x.with_(place=None) for x in windows], scope_of(store))
    c = store.df(f"""SELECT block_id, win, {counted("ed", "source = 'ed'")}, {counted("police", "source = 'police'")},
                            {other_counted(span)}
                     FROM (SELECT *, unnest({case.sql}) AS win FROM incidents WHERE {w.sql} AND block_id IS NOT NULL)
                     WHERE win IS NOT NULL GROUP BY block_id, win ORDER BY win, block_id""", case.params + w.params)
    return {int(i): g.set_index("block_id").eval("ed + police + other") for i, g in c.groupby("win")}


def block_lines(store, block_ids) -> pd.DataFrame:
    """block_id, street, borough_code, lat, lon and WKB line of the given blocks."""
    ids = [int(b) for b in block_ids]
    if not ids:
        return pd.DataFrame({"block_id": pd.Series(dtype="int64"), "street": [], "borough_code": [],
                             "lat": [], "lon": [], "geom_wkb": []})
    return store.df("""SELECT block_id, street, borough_code, lat, lon, geom_wkb FROM blocks
                       WHERE block_id IN (SELECT unnest(?::INTEGER[])) ORDER BY block_id""", [ids])
