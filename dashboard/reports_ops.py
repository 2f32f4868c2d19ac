"""Tables of the operational pages and the frames their exports are made of.

One builder per table, shared by the page and its export, so the page, the CSV and the
printable pack show the same numbers. The HTML packs are in `dashboard.reports_ops_html`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from data.store import queries
from data.store import queries_ops
from data.access.disclosure import SECONDARY, is_small, show
from data.store.filters import Filters
from data.ingest.schema import LICENCE_TYPES, labels
from dashboard.figures_ops import WEEKDAYS, day_hour_grid
from data.store.cache import per_version
from layers.hotspots import period_change

LICENCE_LABELS = labels(LICENCE_TYPES)
TASKING_DAYS = 28
UNDERSTATED_FACTOR = 2.0   # a block's ED-per-police ratio at least this multiple of the area's


def share(part, whole, record_level: bool) -> str:
    """part / whole as a whole percentage; '–' without a whole, '*' when it would reveal a count of 1-4."""
    if not whole:
        return "–"
    if not record_level and (is_small(part) or is_small(whole)):
        return SECONDARY
    return f"{100 * part / whole:.0f}%"


def change(current, previous, record_level: bool) -> str:
    """Signed difference of two counts ('+3', '-2', '0'), '*' when either is 1-4 for aggregate roles."""
    if not record_level and (is_small(current) or is_small(previous)):
        return SECONDARY
    return f"{int(current) - int(previous):+d}" if current != previous else "0"


# ---- premises --------------------------------------------------------------------------------

def premises_ranking(evidence: pd.DataFrame, hot_ids, next_to_ids) -> pd.DataFrame:
    """Premises ranked by incidents within the radius (total, then ED, then name), with hot-block flags.

    in_hot: the premises' block is a hot block; next_to_hot: its block shares a junction with one.
    """
    out = evidence.copy()
    block = out["block_id"]
    out["in_hot"] = block.isin(list(hot_ids)) & block.notna()
    out["next_to_hot"] = block.isin(list(next_to_ids)) & block.notna()
    out = out.sort_values(["total", "ed", "name", "premises_id"], ascending=[False, False, True, True], kind="stable")
    out["rank"] = np.arange(1, len(out) + 1)
    return out.reset_index(drop=True)


def filter_premises(ranked: pd.DataFrame, types=(), min_count: int = 0, text: str = "") -> pd.DataFrame:
    """Rows of the given licence types with at least min_count incidents whose name or street contains text."""
    keep = ranked["total"] >= int(min_count or 0)
    if types:
        keep &= ranked["licence_type"].isin(list(types))
    needle = (text or "").strip().casefold()
    if needle:
        hay = (ranked["name"].fillna("") + " | " + ranked["street"].fillna("") + " | " + ranked["address"].fillna(""))
        keep &= hay.str.casefold().str.contains(needle, regex=False)
    return ranked.loc[keep].reset_index(drop=True)


@per_version(32)
def premises_rows(store, f: Filters, radius: float, types: tuple = (), min_count: int = 0, text: str = "") -> pd.DataFrame:
    """The premises table of a view: `premises_evidence` ranked with hot-block flags, then filtered
    (cached per data version: every page of the table and the CSV read the same frame)."""
    hot, near = hot_sets(store, f)
    ranked = premises_ranking(queries_ops.premises_evidence(store, f, radius), hot, near)
    return filter_premises(ranked, types, min_count, text)


def hot_flag(in_hot: bool, next_to: bool) -> str:
    return "in a hot block" if in_hot else "next to a hot block" if next_to else ""


PREMISES_COLUMNS = {
    "rank": "Rank", "name": "Premises", "address": "Address", "licence": "Licence", "hours": "Hours",
    "hot": "Hot block", "ed": "ED assaults", "police": "Police violence", "total": "Total",
    "night": "22:00-06:00", "glass": "Glass or bottle", "named": "ED names venue",
    "prev_total": "Previous", "change": "Change",
}


def premises_display(rows: pd.DataFrame, record_level: bool) -> pd.DataFrame:
    """The premises table as a viewer sees it: strings, counts of 1-4 as '<5' for aggregate roles."""
    out = pd.DataFrame({
        "premises_id": rows["premises_id"], "rank": rows["rank"], "name": rows["name"], "address": rows["address"],
        "licence": rows["licence_type"].map(lambda t: LICENCE_LABELS.get(t, t or "")),
        "hours": [f"{o}-{c}" if o and c else "" for o, c in zip(rows["opens"].fillna(""), rows["closes"].fillna(""))],
        "hot": [hot_flag(a, b) for a, b in zip(rows["in_hot"], rows["next_to_hot"])],
    })
    for col in ("ed", "police", "total", "named", "prev_total"):
        out[col] = pd.Series([show(v, record_level) for v in rows[col]], index=out.index, dtype=object)
    # a total shown beside one small part would give that part away
    if not record_level:
        one_small = rows["ed"].map(is_small) ^ rows["police"].map(is_small)
        hide = one_small & ~rows["total"].map(is_small)
        for col in ("ed", "police"):
            out.loc[hide & ~rows[col].map(is_small), col] = SECONDARY
    out["night"] = [share(n, e, record_level) for n, e in zip(rows["ed_night"], rows["ed"])]
    out["glass"] = [share(g, e, record_level) for g, e in zip(rows["ed_glass"], rows["ed"])]
    out["change"] = [change(c, p, record_level) for c, p in zip(rows["total"], rows["prev_total"])]
    return out


@dataclass(frozen=True)
class Profile:
    """Everything the premises profile and its evidence pack show, for one premises and window."""
    premises: dict
    filters: Filters
    radius_m: float
    monthly: pd.DataFrame      # month, ed, police
    previous: dict             # ed, police in the previous equal window
    day_hour: pd.DataFrame     # weekday, hour, n (ED)
    methods: pd.DataFrame      # method, label, ed
    named: pd.DataFrame        # month, named
    in_hot: bool
    next_to_hot: bool
    block: pd.DataFrame        # the premises' block line (geom_wkb)

    @property
    def ed(self) -> int:
        return int(self.monthly["ed"].sum())

    @property
    def police(self) -> int:
        return int(self.monthly["police"].sum())

    @property
    def ed_night(self) -> int:
        lo, hi = queries_ops.NIGHT_HOURS
        h = self.day_hour["hour"]
        return int(self.day_hour.loc[(h >= lo) | (h < hi), "n"].sum())

    @property
    def ed_glass(self) -> int:
        return int(self.methods.loc[self.methods["method"] == queries_ops.GLASS, "ed"].sum())


@per_version(32)
def hot_sets(store, f: Filters) -> tuple[frozenset, frozenset]:
    """Block ids of the view's hot blocks (`queries.hot_blocks`) and of the blocks next to one."""
    hot = frozenset(int(b) for b in queries.hot_blocks(store, f)["block_id"])
    near = frozenset(int(b) for b in queries_ops.adjacent_blocks(store, sorted(hot))["block_id"]) - hot
    return hot, near


def gather_profile(store, f: Filters, premises_id: str, radius_m: float) -> Profile | None:
    """The profile of one premises in the viewer's scope, or None when the viewer may not see it."""
    prem = queries_ops.premises_one(store, premises_id)
    if prem is None:
        return None
    prev = queries_ops.nearby_monthly(store, queries_ops.previous_window(f), premises_id, radius_m)
    hot, near = hot_sets(store, f)
    block_id = prem["block_id"]
    has_block = block_id is not None and not pd.isna(block_id)
    return Profile(
        premises=prem.to_dict(), filters=f, radius_m=float(radius_m),
        monthly=queries_ops.nearby_monthly(store, f, premises_id, radius_m),
        previous={"ed": int(prev["ed"].sum()), "police": int(prev["police"].sum())},
        day_hour=queries_ops.nearby_day_hour(store, f, premises_id, radius_m),
        methods=queries_ops.nearby_methods(store, f, premises_id, radius_m),
        named=queries_ops.named_monthly(store, f, premises_id),
        in_hot=has_block and int(block_id) in hot, next_to_hot=has_block and int(block_id) in near,
        block=queries_ops.block_lines(store, [int(block_id)] if has_block else []),
    )


def evidence_frame(p: Profile) -> pd.DataFrame:
    """The evidence pack's numbers as one long table: section, item, ed, police (police blank where n/a)."""
    r = f"within {p.radius_m:g} m"
    rows = [
        ("summary", f"Incidents {r}, this period", p.ed, p.police),
        ("summary", f"Incidents {r}, previous period", p.previous["ed"], p.previous["police"]),
        ("summary", f"ED assaults {r} between 22:00 and 06:00", p.ed_night, None),
        ("summary", f"ED assaults {r} with glass or bottle", p.ed_glass, None),
        ("summary", "ED records naming the venue, this period", int(p.named["named"].sum()), None),
    ]
    rows += [("monthly", m.strftime("%Y-%m"), e, po) for m, e, po in zip(p.monthly["month"], p.monthly["ed"], p.monthly["police"])]
    rows += [("method", lab, e, None) for lab, e in zip(p.methods["label"], p.methods["ed"])]
    grid = day_hour_grid(p.day_hour)
    rows += [("day_hour", f"{WEEKDAYS[d]} {h:02d}:00", int(grid[d, h]), None) for d in range(7) for h in range(24) if grid[d, h]]
    rows += [("named_monthly", m.strftime("%Y-%m"), n, None) for m, n in zip(p.named["month"], p.named["named"])]
    out = pd.DataFrame(rows, columns=["section", "item", "ed", "police"])
    out["police"] = out["police"].astype("Int64")
    return out


# ---- tasking ---------------------------------------------------------------------------------

def tasking_window(end: date, days: int = TASKING_DAYS) -> tuple[date, date]:
    """The last `days` days of data, ending on `end`."""
    return end - timedelta(days=days - 1), end


def comparison(f: Filters, mode: str) -> Filters:
    """The window a tasking view is compared with: 'previous' equal window or the same dates a 'year' earlier."""
    if mode == "previous":
        return f.previous()
    if mode == "year":
        def back(d: date) -> date:
            return d.replace(year=d.year - 1) if not (d.month == 2 and d.day == 29) else date(d.year - 1, 2, 28)
        return f.with_(start=back(f.start), end=back(f.end))
    raise ValueError(f"comparison {mode!r}: expected 'previous' or 'year'")


def peaks(counts: dict, names=None, most: int = 3) -> str:
    """The keys with the highest count ('Fri, Sat'), '–' with no count, 'spread' when more than `most` tie."""
    if not counts or max(counts.values()) <= 0:
        return "–"
    top = max(counts.values())
    keys = sorted(k for k, v in counts.items() if v == top)
    if len(keys) > most:
        return "spread"
    return ", ".join(names(k) if names else str(k) for k in keys)


def block_peaks(day_hour: pd.DataFrame, block_id: int) -> tuple[str, str]:
    """Peak weekday(s) and hour(s) of the ED assaults on one block."""
    d = day_hour[day_hour["block_id"] == block_id]
    days = d.groupby("weekday")["n"].sum().to_dict()
    hours = d.groupby("hour")["n"].sum().to_dict()
    return (peaks(days, lambda k: WEEKDAYS[int(k)]),
            peaks(hours, lambda k: f"{int(k):02d}:00-{(int(k) + 1) % 24:02d}:00"))


def understated(ed: int, police: int, area_ed: int, area_police: int) -> bool:
    """True when police data under-states a block: ED records without police ones, or an ED-per-police
    ratio at least UNDERSTATED_FACTOR times the area's."""
    if ed <= 0:
        return False
    if police == 0:
        return True
    if area_police == 0 or area_ed == 0:
        return False
    return ed / police >= UNDERSTATED_FACTOR * area_ed / area_police


@dataclass(frozen=True)
class Tasking:
    filters: Filters
    compare: Filters
    mode: str
    table: pd.DataFrame        # one row per hot block (see tasking_table)
    totals: dict               # ed, police of the window on the view's blocks
    previous_totals: dict
    day_hour: pd.DataFrame     # block_id, weekday, hour, n (ED on the hot blocks)
    lines: pd.DataFrame        # hot blocks' lines


def tasking_table(hot: pd.DataFrame, previous: pd.DataFrame, day_hour: pd.DataFrame, totals: dict,
                  ratio: float = 1.0) -> pd.DataFrame:
    """Hot blocks with the comparison window's counts, change class (`period_change` over the hot
    blocks' totals), peak days and hours, and the ED-to-police ratio with the under-stated flag."""
    out = hot[["rank", "block_id", "street", "borough_code", "ed", "police", "total", "reason"]].copy()
    prev = previous.set_index("block_id").reindex(out["block_id"], fill_value=0)
    out["previous_total"] = (prev["ed"] + prev["police"]).to_numpy()
    if len(out):
        pc = period_change(out.set_index("block_id")["total"], out.set_index("block_id")["previous_total"], ratio=ratio)
        out["change_class"] = pc.loc[out["block_id"], "class"].to_numpy()
        out["p_change"] = pc.loc[out["block_id"], "p_fdr"].to_numpy()
    else:
        out["change_class"], out["p_change"] = pd.Series(dtype=object), pd.Series(dtype=float)
    pk = [block_peaks(day_hour, int(b)) for b in out["block_id"]]
    out["peak_days"] = [p[0] for p in pk]
    out["peak_hours"] = [p[1] for p in pk]
    out["ed_per_police"] = [e / p if p else np.nan for e, p in zip(out["ed"], out["police"])]
    out["understated"] = [understated(e, p, totals["ed"], totals["police"]) for e, p in zip(out["ed"], out["police"])]
    return out.reset_index(drop=True)


def gather_tasking(store, f: Filters, mode: str = "previous", show_n: int = 20) -> Tasking:
    """The first show_n hot blocks of the window by rank (the one hot-block definition: Gi* hot
    spots plus the top 20 of each borough) and everything the page shows about them."""
    cmp = comparison(f, mode)
    hot = queries_ops.tasking_hot_blocks(store, f).head(int(show_n))
    previous = queries_ops.tasking_block_counts(store, cmp)
    ids = [int(b) for b in hot["block_id"]]
    day_hour = queries_ops.block_day_hour(store, f, ids)
    totals = queries_ops.tasking_totals(store, f)
    days = ((f.end - f.start).days + 1) / ((cmp.end - cmp.start).days + 1)
    table = tasking_table(hot, previous, day_hour, totals, ratio=days)
    return Tasking(f, cmp, mode, table, totals,
                   {"ed": int(previous["ed"].sum()), "police": int(previous["police"].sum())},
                   day_hour, queries_ops.block_lines(store, ids))


TASKING_EXPORT_COLUMNS = ["rank", "block_id", "street", "borough", "borough_code", "ed", "police", "total", "previous_total",
                          "change", "change_class", "peak_days", "peak_hours", "ed_per_police", "understated", "reason"]


def tasking_frame(t: Tasking, record_level: bool, borough_names: dict | None = None) -> pd.DataFrame:
    """The tasking table as exported; ed/police/total stay counts for `audited_export` to suppress."""
    tab = t.table
    out = tab[["rank", "block_id", "street", "borough_code", "ed", "police", "total"]].copy()
    out["borough"] = [(borough_names or {}).get(c, c) for c in tab["borough_code"]]
    out["previous_total"] = [show(v, record_level) for v in tab["previous_total"]]
    out["change"] = [change(c, p, record_level) for c, p in zip(tab["total"], tab["previous_total"])]
    out["change_class"] = tab["change_class"]
    out["peak_days"], out["peak_hours"] = tab["peak_days"], tab["peak_hours"]
    out["ed_per_police"] = [("–" if not p else SECONDARY if not record_level and (is_small(e) or is_small(p))
                             else f"{e / p:.2f}") for e, p in zip(tab["ed"], tab["police"])]
    out["understated"] = np.where(tab["understated"], "yes", "")
    out["reason"] = tab["reason"]
    return out[TASKING_EXPORT_COLUMNS]
