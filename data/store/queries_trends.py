"""SQL of the strategic pages (trends, data quality) and the small pure steps that shape it.

Every statement is parameterised and applies the viewer's scope exactly as data/store/queries.py
does (`incident_where` / `borough_condition` with `scope_of(store)`); data-quality queries
further limit ED sites to `Scope.ed_sites`, so a crafted request for another site or borough
returns nothing from it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from data.store import queries
from data.store.cache import per_version
from data.store.counting import counted, record_key
from data.store.filters import Filters, borough_condition, incident_where
from data.store.queries import scope_of
from layers.concentration import DRAWS, SEED, table_and_curve, unallocated_blocks

# ---- months ---------------------------------------------------------------------------------


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, n: int) -> date:
    """The first day of the month n months after d's month (n may be negative)."""
    k = d.year * 12 + d.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


def month_end(d: date) -> date:
    return add_months(d, 1) - timedelta(days=1)


def months_between(first: date, last: date) -> int:
    """Number of calendar months from first's month to last's month, both included."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


def whole_months(f: Filters) -> Filters:
    """The filter with its dates widened to whole months (trends and quality count whole months)."""
    return f.with_(start=f.start and month_start(f.start), end=f.end and month_end(f.end))


# ---- trends ---------------------------------------------------------------------------------

HISTORY_MONTHS = 23  # a year-on-year change of rolling 12-month sums needs 23 months before the last


def monthly_counts(store, f: Filters, first: date, last: date) -> pd.DataFrame:
    """month, ed, police and other (the view's extra sources) for every month from first to last (zeros
    included) under f's other filters."""
    w = incident_where(f.with_(start=month_start(first), end=month_end(last)), scope_of(store))
    return store.df(
        f"""WITH c AS (
                SELECT month, {counted("ed", "source = 'ed'")}, {counted("police", "source = 'police'")},
                       {queries.other_counted(f)}
                FROM incidents WHERE {w.sql} GROUP BY month),
            m AS (SELECT range::DATE AS month FROM range(?::DATE, ?::DATE + INTERVAL 1 MONTH, INTERVAL 1 MONTH))
            SELECT m.month, coalesce(c.ed, 0)::BIGINT AS ed, coalesce(c.ed__key, 0)::BIGINT AS ed__key,
                   coalesce(c.police, 0)::BIGINT AS police, coalesce(c.police__key, 0)::BIGINT AS police__key,
                   coalesce(c.other, 0)::BIGINT AS other, coalesce(c.other__key, 0)::BIGINT AS other__key
            FROM m LEFT JOIN c USING (month) ORDER BY m.month""",
        w.params + [month_start(first), month_start(last)],
    )


def population(store, f: Filters) -> int:
    """Residents of the boroughs in the view (every borough the viewer may see when none is chosen)."""
    b = borough_condition(f, scope_of(store), "code")
    return int(store.df(f"SELECT coalesce(sum(population), 0) AS p FROM boroughs WHERE {b.sql}", b.params)["p"].iat[0])


def trend_frame(counts: pd.DataFrame, data_start: date, start: date, pop: int) -> pd.DataFrame:
    """Monthly counts from `start` on, with rolling 12-month sums, rates per 1,000 residents and the ED:police ratio.

    counts: month, ed, police, beginning early enough for the rolling sums (months before
    `start`); a rolling sum is NaN where its 12 months reach before data_start (no data there).
    """
    df = counts.copy()
    if "other" not in df:
        df["other"] = 0
    df["month"] = pd.to_datetime(df["month"])
    for col in ("ed", "police"):
        df[f"{col}_12m"] = df[col].rolling(12, min_periods=12).sum()
    complete = df["month"] >= pd.Timestamp(add_months(month_start(data_start), 11))
    df.loc[~complete, ["ed_12m", "police_12m"]] = np.nan
    per = 1000 / pop if pop else np.nan
    for col in ("ed", "police", "ed_12m", "police_12m"):
        df[f"{col}_rate"] = df[col] * per
    df["ratio"] = df["ed"] / df["police"].where(df["police"] > 0)
    df["ratio_12m"] = df["ed_12m"] / df["police_12m"].where(df["police_12m"] > 0)
    return df.loc[df["month"] >= pd.Timestamp(month_start(start))].reset_index(drop=True)


def year_on_year(counts: pd.DataFrame, data_start: date, end: date) -> dict[str, dict]:
    """ED and police: the 12 months to `end`'s month against the 12 before (None where data does not reach).

    A month the source has no data loaded for is NaN in `counts` (see queries_coverage.mask_uncovered):
    `months` says how many of the 12 it covers, and a window that is not whole is not compared.
    """
    df = counts.assign(month=pd.to_datetime(counts["month"]))
    last = pd.Timestamp(month_start(end))
    cur_lo, prev_lo = pd.Timestamp(add_months(last, -11)), pd.Timestamp(add_months(last, -23))
    cur_rows = df.loc[(df["month"] >= cur_lo) & (df["month"] <= last)]
    prev_rows = df.loc[(df["month"] >= prev_lo) & (df["month"] < cur_lo)]
    both = cur_rows[["ed", "police"]].notna().all(axis=1)
    out = {}
    for col in ("ed", "police"):
        enough = prev_lo >= pd.Timestamp(month_start(data_start))
        months = int(cur_rows[col].notna().sum())
        cur = int(cur_rows[col].sum())  # the months it covers
        whole_prev = enough and len(prev_rows) == 12 and prev_rows[col].notna().all()
        prev = int(prev_rows[col].sum()) if whole_prev else None
        change = (cur - prev) / prev * 100 if prev and months == 12 else None
        out[col] = {"current": cur, "previous": prev if months == 12 else None, "change_pct": change, "months": months,
                    "both": int(cur_rows.loc[both, col].sum()), "both_months": int(both.sum()),
                    "current_from": cur_lo.date(), "previous_from": prev_lo.date() if enough else None}
    return out


def seasonality(trend: pd.DataFrame) -> pd.DataFrame:
    """Per calendar month (1-12): months of it in the window, ED and police totals and means per month."""
    g = trend.assign(moy=trend["month"].dt.month).groupby("moy").agg(
        months=("month", "size"), ed=("ed", "sum"), police=("police", "sum"),
        ed_months=("ed", "count"), police_months=("police", "count"))  # count: months with data loaded
    g = g.reindex(range(1, 13)).fillna(0).astype("int64").rename_axis("month_of_year").reset_index()
    for col in ("ed", "police"):
        g[f"{col}_mean"] = g[col] / g[f"{col}_months"].where(g[f"{col}_months"] > 0)
    g = g.drop(columns=["ed_months", "police_months"])
    return g


RANK_BY = ("police", "ed")


def borough_ranking(store, f: Filters, months: int, by: str = "police") -> pd.DataFrame:
    """Every borough the viewer may see: ED and police counts in f's window and yearly rates per 1,000 residents.

    rate = count / population x 1,000 x 12 / months (months: the window's length). Ranked by
    the `by` source's rate ('police' or 'ed'), ties by name; rank 1 is the highest.
    """
    if by not in RANK_BY:
        raise ValueError(f"rank by {by!r}: expected one of {list(RANK_BY)}")
    if months < 1:
        raise ValueError(f"months was {months} but a window has at least one month")
    t = queries.borough_table(store, f.with_(boroughs=()))
    t = t.loc[t["code"].notna()].copy()  # records placed in no borough are not a borough to rank
    pop = t["population"].astype(float).where(t["population"] > 0)
    t["ed_rate"] = t["ed"] / pop * 1000 * 12 / months
    t["police_rate"] = t["police"] / pop * 1000 * 12 / months
    t = t.sort_values([f"{by}_rate", "name"], ascending=[False, True], kind="stable", na_position="last").reset_index(drop=True)
    t["rank"] = np.arange(1, len(t) + 1)
    return t


# ---- concentration on street blocks ------------------------------------------------------------

def block_incidents(store, f: Filters) -> pd.DataFrame:
    """Every street block of the view's boroughs (all the viewer may see when none is chosen), zeros
    included: block_id, borough_code, length_m, ed, police, incidents (ed + police), by block_id.

    A block's counts are the block map's (`queries.source_counts` by block_id: ED records placed
    on a street or better, `queries.MAP_CONFIDENCE`, and police records), so the two agree. An
    incident of the view placed on a block of another borough (near a boundary) is not counted.
    """
    blocks = queries.study_blocks(store, f)[["block_id", "borough_code", "length_m"]]
    c = queries.unit_counts.peek(store, f, "block_id")  # a block map of the same view has them already
    c = queries.source_counts(store, f, "block_id") if c is None else c
    out = blocks.merge(c.rename(columns={"unit": "block_id"})[["block_id", "ed", "police"]], on="block_id", how="left")
    out[["ed", "police"]] = out[["ed", "police"]].fillna(0).astype("int64")
    out["incidents"] = out["ed"] + out["police"]
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class Concentration:
    """How concentrated the view's incidents are on its street blocks (layers.concentration)."""
    blocks: int            # street blocks of the view's boroughs
    total: int             # incidents placed on them
    unallocated: int       # blocks without a length: never given an incident at random
    table: pd.DataFrame    # per share of blocks: blocks, incidents, observed, random, ratio
    curve: pd.DataFrame    # share_blocks, blocks, incidents, observed, random


@per_version(16)
def block_concentration(store, f: Filters, draws: int = DRAWS, seed: int = SEED) -> Concentration:
    """Share of the view's incidents in its busiest street blocks, and at random by street length.

    Cached per data version and view: the random draws (~3 s for all of London) run once."""
    b = block_incidents(store, f).set_index("block_id")
    table, curve = table_and_curve(b["incidents"], b["length_m"], draws=draws, seed=seed)
    return Concentration(len(b), int(b["incidents"].sum()), unallocated_blocks(b["length_m"]), table, curve)


# ---- data quality -----------------------------------------------------------------------------

# Each ISTV field of the minimum data set and when its stored value counts as complete.
FIELDS = (
    ("arrival", "Arrival date-time", "required", "arrived_at IS NOT NULL"),
    ("assault_time", "Assault date-time", "mandatory", "occurred_at IS NOT NULL"),
    ("method", "Assault method", "mandatory", "coalesce(trim(category), '') NOT IN ('', '99')"),
    ("location_type", "Location type", "mandatory", "coalesce(trim(location_type), '') NOT IN ('', '99')"),
    ("location_text", "Free-text location", "required", "coalesce(trim(location_text), '') <> ''"),
)
CONFIDENCE_LEVELS = ("venue", "street", "area", "none")
_GROUPS = {"site_month": ("ed_site, month", "ed_site, month"), "site": ("ed_site", "ed_site"),
           "month": ("month", "month"), "all": ("", "")}


def site_condition(store, sites: tuple[str, ...] = (), column: str = "ed_site"):
    """SQL and params for the ED sites asked for, within the viewer's ED-site scope (empty = all allowed)."""
    allowed = scope_of(store).ed_sites
    chosen = tuple(sites) if sites else allowed
    if allowed is not None and sites:
        chosen = tuple(s for s in sites if s in allowed)
    if chosen is None:
        return "TRUE", []
    if not chosen:
        return "FALSE", []
    return f"{column} IN ({', '.join('?' * len(chosen))})", list(chosen)


def ed_sites(store) -> pd.DataFrame:
    """site_code, name, borough_code of the ED sites the viewer may see, by name."""
    s, p = site_condition(store, column="site_code")
    return store.df(f"SELECT site_code, name, borough_code FROM ed_sites WHERE {s} ORDER BY name, site_code", p)


def _ed_where(store, sites: tuple[str, ...], first: date, last: date, benchmark: bool = False):
    """ED records of the sites and months asked for, in the viewer's borough scope.

    benchmark=True drops the ED-site restriction (all London EDs together, never shown per site).
    """
    b = borough_condition(Filters(), scope_of(store))
    s, sp = ("TRUE", []) if benchmark else site_condition(store, sites)
    return (f"source = 'ed' AND month >= ? AND month <= ? AND {b.sql} AND {s}",
            [month_start(first), month_start(last)] + b.params + sp)


def quality(store, sites: tuple[str, ...], first: date, last: date, group: str = "site_month",
            benchmark: bool = False) -> pd.DataFrame:
    """Records, complete counts per field, all-complete, geocode levels and median delay.

    group: 'site_month', 'site', 'month' or 'all'. Counts are whole numbers of records;
    median_delay_min is over records with both times and arrival not before the assault.
    """
    cols, order = _GROUPS[group]
    where, params = _ed_where(store, sites, first, last, benchmark)
    fields = ",\n".join(counted(key, cond) for key, _, _, cond in FIELDS)
    every = " AND ".join(f"({cond})" for *_, cond in FIELDS)
    levels = ",\n".join(counted(f"conf_{c}", f"coalesce(geocode_confidence, 'none') = '{c}'") for c in CONFIDENCE_LEVELS)
    select = f"{cols}, " if cols else ""
    sql = f"""SELECT {select}{counted("records")}, {fields},
                     {counted("all_complete", every)}, {levels},
                     median(date_diff('minute', occurred_at, arrived_at))
                         FILTER (WHERE arrived_at >= occurred_at) AS median_delay_min
              FROM incidents WHERE {where}
              {'GROUP BY ' + cols + ' ORDER BY ' + order if cols else ''}"""
    df = store.df(sql, params)
    if group == "all" and len(df) and df["records"].iat[0] == 0:
        return df.iloc[0:0]
    return df


def _columns(store, table: str) -> set[str]:
    return set(store.df("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                        "AND table_catalog = current_database()", [table])["column_name"])


def submissions(store, sites: tuple[str, ...], first: date, last: date) -> pd.DataFrame:
    """One row per ED file received (site x reporting period) overlapping the months: when it was loaded,
    rows read, loaded, quarantined and replaced, and how many of its loaded records have every field."""
    if not {"site_code", "period_start", "period_end", "replaced"} <= _columns(store, "load_log"):
        return pd.DataFrame(columns=["load_id", "loaded_at", "file", "site_code", "period_start", "period_end",
                                     "rows_read", "rows_loaded", "rows_quarantined", "replaced", "records", "all_complete"])
    s, sp = site_condition(store, sites, column="l.site_code")
    every = " AND ".join(f"({cond})" for *_, cond in FIELDS)
    return store.df(
        f"""SELECT l.load_id, l.loaded_at, l.file, l.site_code, l.period_start, l.period_end, l.rows_read,
                   l.rows_loaded, l.rows_quarantined, coalesce(l.replaced, 0) AS replaced,
                   count(i.incident_id) AS records, sum({record_key("i")}) AS records__key,
                   count(i.incident_id) FILTER (WHERE {every}) AS all_complete,
                   sum({record_key("i")}) FILTER (WHERE {every}) AS all_complete__key
            FROM load_log l LEFT JOIN incidents i
                 ON i.load_id = l.load_id AND i.source = 'ed' AND i.ed_site = l.site_code
            WHERE l.kind = 'istv' AND {s} AND l.period_start <= ? AND l.period_end >= ?
            GROUP BY ALL ORDER BY l.period_start DESC, l.site_code, l.load_id DESC""",
        sp + [month_end(last), month_start(first)])


def has_submissions(store) -> bool:
    """True when load_log holds any ED (ISTV) load."""
    return bool(store.df("SELECT count(*) AS n FROM load_log WHERE kind = 'istv'")["n"].iat[0])


def timeliness(store, sites: tuple[str, ...], first: date, last: date) -> pd.DataFrame:
    """Per ED site and month: when its records for that month were first loaded, and days after the month's end.

    A submission covers a site and month when a load stored records of them (incidents.load_id),
    or when load_log names its site and reporting period (site_code, period_start, period_end,
    where the store has those columns).
    """
    s, sp = site_condition(store, sites, "site")
    b = borough_condition(Filters(), scope_of(store), "i.borough_code")
    parts, params = [], []
    if "load_id" in _columns(store, "incidents"):
        parts.append(f"""SELECT i.ed_site AS site, i.month, l.loaded_at FROM incidents i
                         JOIN load_log l ON l.load_id = i.load_id
                         WHERE i.source = 'ed' AND l.kind = 'istv' AND {b.sql}
                         GROUP BY ALL""")
        params += b.params
    if {"site_code", "period_start", "period_end"} <= _columns(store, "load_log") and scope_of(store).boroughs is None:
        parts.append("""SELECT upper(l.site_code) AS site, m.range::DATE AS month, l.loaded_at FROM load_log l,
                        range(date_trunc('month', l.period_start), date_trunc('month', l.period_end) + INTERVAL 1 MONTH,
                              INTERVAL 1 MONTH) m
                        WHERE l.kind = 'istv' AND l.site_code IS NOT NULL AND l.period_start IS NOT NULL
                          AND l.period_end >= l.period_start""")
    if not parts:
        return pd.DataFrame({"site": pd.Series(dtype=str), "month": pd.Series(dtype="datetime64[us]"),
                             "first_loaded": pd.Series(dtype="datetime64[us]"), "days_after_month_end": pd.Series(dtype="int64")})
    union = " UNION ALL ".join(parts)
    return store.df(
        f"""SELECT site, month, min(loaded_at) AS first_loaded,
                   date_diff('day', last_day(month), min(loaded_at)::DATE) AS days_after_month_end
            FROM ({union}) WHERE month >= ? AND month <= ? AND {s}
            GROUP BY site, month ORDER BY site, month""",
        params + [month_start(first), month_start(last)] + sp)


def site_block_records(store, site: str, first: date, last: date) -> pd.DataFrame:
    """block_id, records: one ED site's records placed on a street block (street or venue level)."""
    f = Filters(start=month_start(first), end=month_end(last), sources=("ed",))
    w = incident_where(f, scope_of(store), min_confidence=queries.MAP_CONFIDENCE)
    s, sp = site_condition(store, (site,))
    return store.df(f"""SELECT block_id, {counted("records")} FROM incidents
                        WHERE {w.sql} AND {s} AND block_id IS NOT NULL GROUP BY block_id ORDER BY block_id""",
                    w.params + sp)


def site_contribution(store, site: str, first: date, last: date, own=None) -> dict:
    """What one ED's records made possible in a window: records in hot blocks, and the hot blocks only ED data revealed.

    Hot blocks are `queries.hot_blocks` (ED + police violence) of the window; "only ED data
    revealed" are blocks hot on ED records alone and not hot on police records alone.
    Returns located (records on a block), in_hot, hot (all hot blocks), ed_only (ED-only hot
    blocks where this site has records, with its records as site_records).
    """
    f = Filters(start=month_start(first), end=month_end(last))
    hot = queries.hot_blocks(store, f)
    ed_hot = queries.hot_blocks(store, f.only("ed"))
    police_hot = queries.hot_blocks(store, f.only("police"))
    mine = site_block_records(own or store, site, first, last)  # own: the site's own figures (exact for its data lead)
    revealed = ed_hot.loc[~ed_hot["block_id"].isin(police_hot["block_id"]), ["block_id", "street", "borough_code"]]
    counts = queries.unit_counts(store, f, "block_id").rename(columns={"unit": "block_id"})[["block_id", "ed", "police"]]
    ed_only = (revealed.merge(mine.rename(columns={"records": "site_records"}), on="block_id")
               .merge(counts, on="block_id", how="left")
               .sort_values(["site_records", "ed", "block_id"], ascending=[False, False, True], kind="stable"))
    return {"located": int(mine["records"].sum()),
            "in_hot": int(mine.loc[mine["block_id"].isin(hot["block_id"]), "records"].sum()),
            "hot_blocks": len(hot), "ed_only_blocks": len(revealed),
            "ed_only": ed_only[["block_id", "street", "borough_code", "site_records", "ed", "police"]].reset_index(drop=True)}
