"""Hot-spot statistics over aggregated counts: the one place every page takes them from.

Pure functions over pandas/numpy (no SQL, no Dash). The Gi* core lives in
`hotspots_gi`, the spatial units in `hotspots_units`, emerging hot spots in
`hotspots_emerging`; they are re-exported here so callers import from one module.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import binomtest

from layers.hotspots_emerging import EMERGING_CATEGORIES, emerging, mann_kendall
from layers.hotspots_gi import as_values, bh_fdr, check_alpha, check_counts, gi_star, weights_matrix
from layers.hotspots_local import fit_null, local_hotspots
from layers.hotspots_units import neighbours_block, neighbours_hex, study_area_hexes

__all__ = [
    "DEFAULT_HARM_WEIGHTS", "EMERGING_CATEGORIES", "bh_fdr", "block_statistics", "busiest_of",
    "concentration", "emerging", "fit_null", "gi_star", "harm_weights", "hot_of", "local_hotspots",
    "mann_kendall", "neighbours_block", "neighbours_hex", "period_change", "rank_hot_blocks",
    "study_area_hexes", "weights_matrix", "ed_excess",
]

# Illustrative relative harm of one incident, in the spirit of the Cambridge Crime Harm
# Index (which weighs an offence by the days of custody its sentencing-guideline starting
# point carries). These are NOT the CHI's published values: a partnership that weights
# harm should agree its own table. Keys are ED assault-method codes and police.uk crime
# types; a category missing from a table weighs 1.
DEFAULT_HARM_WEIGHTS: dict[str, float] = {
    "01": 1.0,   # ED: body part (punch, kick)
    "02": 3.0,   # ED: blunt object
    "03": 6.0,   # ED: knife or sharp object
    "04": 4.0,   # ED: glass or bottle
    "05": 8.0,   # ED: firearm
    "06": 2.0,   # ED: other method
    "99": 1.0,   # ED: unknown
    "Violence and sexual offences": 4.0,
    "Robbery": 4.0,
    "Possession of weapons": 2.0,
    "Public order": 1.0,
}


def harm_weights(categories: pd.Series, weights: dict[str, float] | None = None) -> pd.Series:
    """Harm weight of each incident from its category; weights=None (the default) weighs all 1.

    Pass DEFAULT_HARM_WEIGHTS (or an agreed table) to weight harm; categories missing
    from the table, and missing categories, weigh 1. Sum the result per unit in place
    of a count.
    """
    if weights is None:
        return pd.Series(1.0, index=categories.index, name="harm")
    bad = {k: v for k, v in weights.items() if not (np.isfinite(v) and v >= 0)}
    if bad:
        raise ValueError(f"harm weights must be finite and not negative; got {bad}")
    mapped = categories.map(weights).astype(float)
    return mapped.fillna(1.0).rename("harm")


def concentration(counts: pd.Series) -> tuple[pd.DataFrame, float]:
    """How concentrated incidents are: the cumulative (Lorenz-style) table and its headline.

    Returns the units sorted by count descending (ties by unit id) with count,
    cum_share_units and cum_share_incidents (shares in 0..1), and the smallest share of
    units that holds at least 50 % of incidents. Zero-count units belong in `counts`:
    they are part of the share of units. Zero total gives an empty frame and NaN.
    """
    values = as_values(counts)
    check_counts(values, counts.index, "counts")
    total = values.sum()
    if len(values) == 0 or total == 0:
        empty = pd.DataFrame({"count": pd.Series(dtype=counts.dtype), "cum_share_units": pd.Series(dtype=float),
                              "cum_share_incidents": pd.Series(dtype=float)})
        return empty.rename_axis(counts.index.name), float("nan")
    ordered = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    cum = np.cumsum(as_values(ordered))
    n = len(ordered)
    table = pd.DataFrame({
        "count": ordered.to_numpy(),
        "cum_share_units": np.arange(1, n + 1) / n,
        "cum_share_incidents": cum / total,
    }, index=ordered.index)
    # integer counts compare exactly; the tolerance only guards harm-weighted sums
    reached = int(np.argmax(cum >= total / 2 - 1e-9 * total))
    return table, (reached + 1) / n


def _binomial_p(current: np.ndarray, n: np.ndarray, share: float) -> np.ndarray:
    p = np.ones(len(n))
    tested = n > 0
    pairs = pd.DataFrame({"k": current[tested], "n": n[tested]})
    # many units share the same small (k, n): test each pair once
    unique = pairs.drop_duplicates()
    pvals = {(k, m): binomtest(k, m, share).pvalue for k, m in unique.itertuples(index=False)}
    p[tested] = [pvals[(k, m)] for k, m in pairs.itertuples(index=False)]
    return p


def _whole_counts(s: pd.Series, what: str) -> np.ndarray:
    v = as_values(s)
    check_counts(v, s.index, what)
    if (v != np.round(v)).any():
        raise ValueError(f"{what} must be whole counts for the binomial test; got fractions at "
                         f"units {list(s.index[v != np.round(v)][:5])}")
    return v.astype(np.int64)


def period_change(current: pd.Series, previous: pd.Series, alpha: float = 0.05,
                  ratio: float = 1.0) -> pd.DataFrame:
    """Change per unit between two windows, with an exact test of the two Poisson counts.

    Units are the union of both indexes (missing = 0). ratio = length of the current
    window / length of the previous one (28 days against 28 days: 1; a 31-day month
    against a 30-day one: 31/30). If both windows share one incident rate, then given
    n = current + previous, current ~ Binomial(n, ratio / (1 + ratio)); p is that
    two-sided exact test (scipy.stats.binomtest) and p_fdr its Benjamini-Hochberg
    adjustment over the units with n > 0 (units with no incident in either window cannot
    show a change: p = p_fdr = 1 and they do not dilute the others).

    class (a change is named only when it is significant, p_fdr < alpha):
      new      significant rise from previous == 0
      rising   significant rise (current > ratio * previous)
      gone     significant fall to current == 0
      falling  significant fall (current < ratio * previous)
      steady   otherwise, whatever the raw difference
    Test every unit of the study area, then pick the ones to show: units chosen for a high
    current count and then tested among themselves would read chance highs as "rising".
    With a baseline of k earlier windows (ratio = 1 / k) the expected count is ratio * previous.
    expected = ratio * previous; difference = current - previous, in raw counts (not adjusted by ratio).
    """
    check_alpha(alpha)
    if not (np.isfinite(ratio) and ratio > 0):
        raise ValueError(f"ratio was {ratio!r} but must be a positive number "
                         "(current window length / previous window length)")
    units = current.index.union(previous.index)
    cur = _whole_counts(current.reindex(units, fill_value=0), "current")
    prev = _whole_counts(previous.reindex(units, fill_value=0), "previous")
    n = cur + prev
    p = _binomial_p(cur, n, ratio / (1.0 + ratio))
    q = np.ones(len(n))
    q[n > 0] = bh_fdr(p[n > 0])
    significant = q < alpha
    expected = ratio * prev
    up, down = significant & (cur > expected), significant & (cur < expected)
    cls = np.select([up & (prev == 0), up, down & (cur == 0), down],
                    ["new", "rising", "gone", "falling"], default="steady")
    return pd.DataFrame({"current": cur, "previous": prev, "expected": expected, "difference": cur - prev,
                         "p": p, "p_fdr": q, "class": cls}, index=units)


BLOCK_COLUMNS = ["block_id", "street", "borough_code", "length_m", "ed", "police", "other", "total", "rate_per_100m",
                 "gi_z", "p", "q", "hot", "cold"]
RANKED_COLUMNS = ["block_id", "street", "borough_code", "ed", "police", "other", "total", "rate_per_100m",
                  "gi_z", "q", "hot", "rank"]


def block_statistics(block_counts: pd.DataFrame, blocks: pd.DataFrame, neighbours, alpha: float = 0.05) -> pd.DataFrame:
    """Every block of a study area with its counts, rate per 100 m and the local test on their total.

    block_counts: index block_id, columns ed and police and optionally other (another agency's
    incidents; the total is their sum) (counts in the window; absent blocks
    count 0, blocks outside `blocks` are ignored). blocks: block_id, street, borough_code,
    length_m of the whole study area (every block of the filtered boroughs). neighbours: block
    id -> adjacent block ids (`neighbours_block`), or weights_matrix(blocks["block_id"], that
    dict) to reuse one matrix across calls. The test is `local_hotspots` (Gi* with an exact
    negative-binomial test) at FDR level alpha. rate_per_100m = total per 100 m of street
    (block length as exposure; NaN without a length). One row per block, by block_id:
    BLOCK_COLUMNS.
    """
    for name, frame, cols in (("block_counts", block_counts, ("ed", "police")),
                              ("blocks", blocks, ("block_id", "street", "borough_code", "length_m"))):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} needs columns {', '.join(cols)}; missing {missing}")
    if blocks["block_id"].duplicated().any():
        dup = blocks.loc[blocks["block_id"].duplicated(), "block_id"].head(5).tolist()
        raise ValueError(f"blocks lists block_id {dup} more than once; each block must appear once")
    if not block_counts.index.is_unique:
        raise ValueError("block_counts has a block_id more than once; sum the counts per block first")
    area = blocks[["block_id", "street", "borough_code", "length_m"]].set_index("block_id").sort_index()
    cols = ["ed", "police"] + (["other"] if "other" in block_counts.columns else [])
    counts = block_counts[cols].reindex(area.index, fill_value=0)
    check_counts(as_values(counts), counts.index, "block_counts")
    area = area.assign(ed=counts["ed"].astype(np.int64), police=counts["police"].astype(np.int64),
                       other=counts["other"].astype(np.int64) if "other" in counts else np.int64(0))
    area["total"] = area["ed"] + area["police"] + area["other"]
    length = area["length_m"].astype(float)
    area["rate_per_100m"] = (area["total"] / length.where(length > 0) * 100).astype(float)
    if sp.issparse(neighbours) and not blocks["block_id"].is_monotonic_increasing:
        raise ValueError("a prebuilt weights matrix needs blocks sorted by block_id")
    test = local_hotspots(area["total"], neighbours, alpha)
    out = area.join(test[["gi_z", "p", "q", "hot", "cold"]]).reset_index()
    out.attrs.update(test.attrs)
    return out[BLOCK_COLUMNS]


def _ranked(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows by total (highest first, ties to the lower block_id) with rank 1..n."""
    out = rows.iloc[np.lexsort((rows["block_id"].to_numpy(), -rows["total"].to_numpy()))].copy()
    out["rank"] = np.arange(1, len(out) + 1)
    return out[RANKED_COLUMNS].reset_index(drop=True)


def hot_of(stats: pd.DataFrame) -> pd.DataFrame:
    """The hot blocks of `block_statistics`: only those the test flags (nothing else is called hot), ranked."""
    return _ranked(stats.loc[stats["hot"].to_numpy(dtype=bool)])


def busiest_of(stats: pd.DataFrame, top_n: int = 20) -> pd.DataFrame:
    """The top_n blocks by total (a ranking, not a test: `hot` says which of them the test flags);
    a block with no incident is never listed."""
    if int(top_n) != top_n or top_n < 0:
        raise ValueError(f"top_n was {top_n!r} but must be a whole number, 0 or more")
    return _ranked(stats.loc[stats["total"].to_numpy() > 0]).head(int(top_n))


def rank_hot_blocks(block_counts: pd.DataFrame, blocks: pd.DataFrame, neighbours, alpha: float = 0.05) -> pd.DataFrame:
    """The hot blocks of a filtered view, the one definition every page uses: blocks the local
    test (`local_hotspots` on ed + police, FDR alpha) flags hot, ranked by total. On too little
    data nothing is hot. Columns RANKED_COLUMNS."""
    return hot_of(block_statistics(block_counts, blocks, neighbours, alpha))


def ed_excess(ed: pd.Series, police: pd.Series, alpha: float = 0.05) -> pd.DataFrame:
    """Units where ED assaults outnumber police-recorded violence more than in the whole study area.

    Given n = ed + police at a unit, if the unit shared the area's mix, ed ~ Binomial(n, s)
    with s = (sum of ed) / (sum of n). p is that two-sided exact test, q its Benjamini-Hochberg
    adjustment over the units with n > 0, and `excess` = q < alpha and ed / n > s. Returns,
    per unit (union of both indexes): ed, police, ed_per_police (NaN without police), p, q,
    excess. What an excess means: police data alone under-represents violence at that place
    relative to the area. It does not show that the assaults went unreported (ED and
    police.uk records cannot be matched), and an area whose police data under-represent
    violence everywhere shows no excess anywhere.
    """
    check_alpha(alpha)
    units = ed.index.union(police.index)
    e = _whole_counts(ed.reindex(units, fill_value=0), "ed")
    po = _whole_counts(police.reindex(units, fill_value=0), "police")
    n = e + po
    total = n.sum()
    p = np.ones(len(n))
    q = np.ones(len(n))
    share = e.sum() / total if total else 0.0
    if 0 < share < 1:
        p = _binomial_p(e, n, share)
        q[n > 0] = bh_fdr(p[n > 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(po > 0, e / np.where(po > 0, po, 1), np.nan)
        excess = (q < alpha) & (n > 0) & (e > share * n)
    return pd.DataFrame({"ed": e, "police": po, "ed_per_police": per, "p": p, "q": q, "excess": excess}, index=units)
