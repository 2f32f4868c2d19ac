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
from layers.hotspots import busiest_of, ed_excess, hot_of, period_change

LICENCE_LABELS = labels(LICENCE_TYPES)


def share(part, whole, record_level: bool) -> str:
    """part / whole as a whole percentage; '–' without a whole, '*' when it would reveal a count of 1-4."""
    if not whole:
        return "–"
    if not record_level and (is_small(part) or is_small(whole)):
        return SECONDARY
    return f"{100 * part / whole:.0f}%"


def exposure_ratio(f: Filters) -> float:
    """Days of f's counted period / days of the period before it (March against February: 31/28)."""
    return f.days() / f.previous().days()


def change(current, previous, record_level: bool, ratio: float = 1.0) -> str:
    """Change per day of exposure: current - previous x ratio ('+3', '-2', '0'; one decimal when the
    periods differ in length, as March against February), '*' when either count is 1-4 for aggregate roles."""
    if not record_level and (is_small(current) or is_small(previous)):
        return SECONDARY
    if ratio == 1.0:
        return f"{int(current) - int(previous):+d}" if current != previous else "0"
    diff = float(current) - float(previous) * ratio
    return "0" if abs(diff) < 0.05 else f"{diff:+.1f}"


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


def premises_display(rows: pd.DataFrame, record_level: bool, ratio: float = 1.0) -> pd.DataFrame:
    """The premises table as a viewer sees it: strings, counts of 1-4 as '<5' for aggregate roles; the change
    per day of exposure (ratio = `exposure_ratio` of the view)."""
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
    out["change"] = [change(c, p, record_level, ratio) for c, p in zip(rows["total"], rows["prev_total"])]
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

BASELINE_WINDOWS = 12
TASKING_MODES = {"baseline": f"Average of the {BASELINE_WINDOWS} windows before",
                 "year": "Same months a year earlier"}
LISTS = {"hot": "Hot blocks (significant)", "busiest": "Busiest blocks (by count)"}


def tasking_window(end: date) -> tuple[date, date]:
    """The default tasking window: the calendar month holding `end` (the last month with data)."""
    return end.replace(day=1), end


def comparison(f: Filters, mode: str) -> Filters:
    """What a tasking window is compared with (over the counted period, whole months with police data):
    'baseline' the BASELINE_WINDOWS equal windows before it (an average that choosing blocks for a
    high count now cannot bias), or the same dates a 'year' earlier."""
    f = f.counted()
    if mode == "baseline":
        return f.previous(BASELINE_WINDOWS)
    if mode == "year":
        def back(d: date) -> date:
            return d.replace(year=d.year - 1) if not (d.month == 2 and d.day == 29) else date(d.year - 1, 2, 28)
        return f.with_(start=back(f.start), end=back(f.end)).counted()
    raise ValueError(f"comparison {mode!r}: expected one of {list(TASKING_MODES)}")


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


@dataclass(frozen=True)
class Tasking:
    filters: Filters           # the window as counted (whole months while police data is in it)
    compare: Filters
    mode: str
    listing: str               # 'hot' or 'busiest'
    table: pd.DataFrame        # one row per listed block (see tasking_table)
    totals: dict               # ed, police of the window on the view's blocks
    previous_totals: dict      # the same over the comparison period
    ratio: float               # days of the window / days of the comparison
    hot_count: int             # blocks the test flags hot in the window
    stats_blocks: int          # blocks of the study area (the family the tests run over)
    null: dict                 # the local test's fitted null (mu, size) and name
    day_hour: pd.DataFrame     # block_id, weekday, hour, n (ED on the listed blocks)
    lines: pd.DataFrame        # listed blocks' lines
    pattern: dict              # emerging hot spots: slices, trend_possible


def tasking_table(stats: pd.DataFrame, listed: pd.DataFrame, compare: pd.DataFrame, day_hour: pd.DataFrame,
                  ratio: float) -> pd.DataFrame:
    """The listed blocks with everything the tasking page says about them.

    stats: `block_statistics` of the window (every block of the study area); listed: the rows of
    `hot_of` or `busiest_of` to show; compare: block_id, ed, police over the comparison period.
    The change test (`period_change`, expected = ratio x comparison count) and the ED-excess
    test (`ed_excess`) run over every block of the study area, then the listed ones are picked.
    """
    every = stats.set_index("block_id")
    cols = ["ed", "police"] + (["other"] if "other" in compare else [])
    before = compare.set_index("block_id")[cols].reindex(every.index, fill_value=0)
    pc = period_change(every["total"], before.sum(axis=1), ratio=ratio)
    ex = ed_excess(every["ed"], every["police"])
    ids = listed["block_id"].to_numpy()
    if "other" not in listed:  # counts of ED and police only (no extra source in the view)
        listed = listed.assign(other=0)
    out = listed[["rank", "block_id", "street", "borough_code", "ed", "police", "other", "total", "rate_per_100m", "hot",
                  "q"]].copy()
    out["previous_total"] = pc.loc[ids, "previous"].to_numpy()
    out["expected"] = pc.loc[ids, "expected"].to_numpy()
    out["change_class"] = pc.loc[ids, "class"].to_numpy()
    out["p_change"] = pc.loc[ids, "p_fdr"].to_numpy()
    pk = [block_peaks(day_hour, int(b)) for b in ids]
    out["peak_days"] = [p[0] for p in pk]
    out["peak_hours"] = [p[1] for p in pk]
    out["ed_per_police"] = ex.loc[ids, "ed_per_police"].to_numpy()
    out["ed_excess"] = ex.loc[ids, "excess"].to_numpy()
    return out.reset_index(drop=True)


def gather_tasking(store, f: Filters, mode: str = "baseline", show_n: int = 20, listing: str = "hot") -> Tasking:
    """The window's hot blocks (the local test's, nothing else) or its busiest blocks, first show_n,
    and everything the page shows about them."""
    if listing not in LISTS:
        raise ValueError(f"list {listing!r}: expected one of {list(LISTS)}")
    f = f.counted()
    cmp = comparison(f, mode)
    stats = queries_ops.tasking_blocks(store, f)
    listed = (hot_of(stats) if listing == "hot" else busiest_of(stats, int(show_n))).head(int(show_n))
    previous = queries_ops.tasking_block_counts(store, cmp)
    ids = [int(b) for b in listed["block_id"]]
    day_hour = queries_ops.block_day_hour(store, f, ids)
    ratio = f.days() / cmp.days()
    table = tasking_table(stats, listed, previous, day_hour, ratio)
    bounds = queries.date_bounds(store)
    em = queries_ops.tasking_emerging(store, f, first_day=bounds[0] if bounds else None)
    table["pattern"] = em["category"].reindex(table["block_id"]).fillna("no pattern").to_numpy()
    in_area = previous["block_id"].isin(stats["block_id"])
    return Tasking(f, cmp, mode, listing, table,
                   {k: int(stats[k].sum()) for k in ("ed", "police", "other")},
                   {k: int(previous.loc[in_area, k].sum()) for k in ("ed", "police", "other")},
                   ratio, int(stats["hot"].sum()), len(stats), dict(stats.attrs), day_hour,
                   queries_ops.block_lines(store, ids),
                   {"slices": em.attrs.get("slices", 0), "trend_possible": em.attrs.get("trend_possible", False)})


TASKING_EXPORT_COLUMNS = ["rank", "block_id", "street", "borough", "borough_code", "ed", "police", "other", "total", "per_100m",
                          "hot", "pattern", "expected", "change", "change_class", "peak_days", "peak_hours",
                          "ed_per_police", "ed_excess"]


def tasking_frame(t: Tasking, record_level: bool, borough_names: dict | None = None) -> pd.DataFrame:
    """The tasking table as exported; ed/police/total stay counts for `audited_export` to suppress.

    Derived numbers (rate, expected count, change, ED per police) show '*' for aggregate roles where
    a count they come from is 1-4, so they never reveal a protected count."""
    tab = t.table
    out = tab[["rank", "block_id", "street", "borough_code", "ed", "police", "other", "total"]].copy()
    out["borough"] = [(borough_names or {}).get(c, c) for c in tab["borough_code"]]
    hidden = (lambda *vs: not record_level and any(is_small(v) for v in vs))
    out["per_100m"] = [SECONDARY if hidden(n) else ("–" if r != r else f"{r:.1f}")
                       for n, r in zip(tab["total"], tab["rate_per_100m"])]
    out["hot"] = np.where(tab["hot"].astype(bool), "yes", "")
    out["pattern"] = tab["pattern"].replace("no pattern", "")
    out["expected"] = [SECONDARY if hidden(p) else f"{e:.1f}" for p, e in zip(tab["previous_total"], tab["expected"])]
    out["change"] = [SECONDARY if hidden(c, p) else f"{c - e:+.1f}"
                     for c, p, e in zip(tab["total"], tab["previous_total"], tab["expected"])]
    out["change_class"] = tab["change_class"]
    out["peak_days"], out["peak_hours"] = tab["peak_days"], tab["peak_hours"]
    out["ed_per_police"] = [("–" if not p else SECONDARY if hidden(e, p) else f"{e / p:.2f}")
                            for e, p in zip(tab["ed"], tab["police"])]
    out["ed_excess"] = np.where(tab["ed_excess"], "yes", "")
    # another agency's incidents only when the view counts some (a registered extra source chosen)
    return out[[c for c in TASKING_EXPORT_COLUMNS if c != "other" or t.filters.extras]]
