"""How concentrated incidents are on street blocks, against a random allocation weighted by length.

"The busiest 5 % of street blocks hold 38 % of the incidents; at random they would hold 9 %."
Pure functions over pandas/numpy (no SQL, no Dash).

- The blocks are the whole study area: a block without incidents is one of the blocks (it
  counts in "5 % of the blocks"), sorted after every block with incidents.
- The busiest k blocks: blocks sorted by count, most first, ties by block id (deterministic;
  tied blocks hold the same count, so the shares do not depend on the tie rule).
- k for a share x of n blocks is ceil(x * n): the top 5 % of 30 blocks is 2 blocks.
- Random allocation: the same total number of incidents given to blocks independently, each
  incident to a block with probability proportional to its length (a multinomial draw). The
  busiest k blocks of each draw hold some share; `random` is its mean over `draws` draws from a
  generator seeded with `seed` (the same inputs always give the same numbers).
- A block with a missing or zero length stays one of the blocks (observed incidents on it
  count, and it counts in the share of blocks) but never receives an incident at random: no
  length, no chance. `unallocated_blocks` says how many there are, so a page can say so.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

SHARES = (0.01, 0.05, 0.10, 0.20, 0.50)
DRAWS = 200
SEED = 0
POINTS = 100
# cells of one block of random draws (draws x blocks): bounds the memory of a London-wide view
# (175,000 blocks) to ~32 MB whatever the number of draws
_CHUNK_CELLS = 4_000_000

TABLE_COLUMNS = ("blocks", "incidents", "observed", "random", "ratio")
CURVE_COLUMNS = ("share_blocks", "blocks", "incidents", "observed", "random")


def _check(counts: pd.Series, lengths: pd.Series, draws: int) -> tuple[pd.Series, np.ndarray]:
    """counts sorted by block id as whole numbers, and the lengths in the same order (NaN as 0)."""
    for name, s in (("counts", counts), ("lengths", lengths)):
        if not isinstance(s, pd.Series):
            raise ValueError(f"{name}: expected a pandas Series indexed by block id, got {type(s).__name__}")
        if not s.index.is_unique:
            dup = list(s.index[s.index.duplicated()].unique()[:5])
            raise ValueError(f"{name}: expected one value per block, but block ids {dup} repeat")
    missing, extra = counts.index.difference(lengths.index), lengths.index.difference(counts.index)
    if len(missing) or len(extra):
        raise ValueError(f"lengths: expected a length for every block of counts and no other block; "
                         f"missing for {list(missing[:5])}, extra for {list(extra[:5])}")
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ValueError(f"draws was {draws!r}: expected a whole number of random draws, at least 1")
    values = counts.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
    if bad.any():
        raise ValueError(f"counts: expected whole numbers of incidents, 0 or more (zero-count blocks as 0); "
                         f"bad values at blocks {list(counts.index[bad][:5])}")
    ordered = counts.sort_index(kind="stable")
    length = lengths.reindex(ordered.index).to_numpy(dtype=float, na_value=np.nan)
    bad = np.isinf(length) | (length < 0)
    if bad.any():
        raise ValueError(f"lengths: expected metres, 0 or more (missing as NaN); "
                         f"bad values at blocks {list(ordered.index[bad][:5])}")
    weights = np.nan_to_num(length, nan=0.0)
    if ordered.sum() > 0 and not (weights > 0).any():
        raise ValueError("lengths: expected at least one block with a positive length to allocate incidents to at random")
    return ordered.astype("int64"), weights


def _top_k(n: int, shares) -> np.ndarray:
    shares = np.asarray(list(shares), dtype=float)
    if shares.ndim != 1 or not len(shares) or not np.all((shares > 0) & (shares <= 1)):
        raise ValueError(f"shares {list(shares)!r}: expected shares of blocks above 0 and at most 1 (0.05 = 5 %)")
    # the tolerance keeps float noise from adding a block: 0.07 * 100 is 7.000000000000001
    return np.array([max(1, math.ceil(s * n - 1e-9)) for s in shares], dtype=np.int64)


def _top_sums(sorted_desc_cumsum: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Sum of the busiest k values for each k, from a cumulative sum of values sorted descending."""
    padded = np.concatenate([np.zeros(sorted_desc_cumsum.shape[:-1] + (1,), dtype=sorted_desc_cumsum.dtype),
                             sorted_desc_cumsum], axis=-1)
    return padded[..., np.minimum(ks, sorted_desc_cumsum.shape[-1])]


def _top_sums_of_draws(x: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Per row of x (one draw, whole numbers): the sum of its busiest k values for each k (rows x ks)."""
    m, top = x.shape[1], x.max(initial=0)
    if top >= m:  # a few large values: sorting is cheaper than a histogram of every value up to top
        return _top_sums(np.cumsum(-np.sort(-x, axis=1), axis=1), ks)
    # a histogram per row (values 0..top), read from the largest value down: ~10x faster than
    # sorting 175,000 blocks per draw, and the same numbers
    rows = np.arange(x.shape[0])[:, None]
    hist = np.bincount((x + rows * (top + 1)).ravel(), minlength=x.shape[0] * (top + 1)).reshape(-1, top + 1)[:, ::-1]
    values = np.arange(top, -1, -1)
    blocks, held = np.cumsum(hist, axis=1), np.cumsum(hist * values, axis=1)
    out = np.empty((x.shape[0], len(ks)))
    for j, k in enumerate(np.minimum(ks, m)):
        at = (blocks < k).sum(axis=1)[:, None]  # the value group the k-th busiest block is in
        if k == 0:
            out[:, j] = 0
            continue
        g_blocks, g_held = np.take_along_axis(blocks, at, 1)[:, 0], np.take_along_axis(held, at, 1)[:, 0]
        out[:, j] = g_held - (g_blocks - k) * values[at[:, 0]]
    return out


def _observed(counts: pd.Series, ks: np.ndarray) -> np.ndarray:
    ordered = counts.sort_values(ascending=False, kind="stable")  # counts is in block-id order: ties by id
    return _top_sums(np.cumsum(ordered.to_numpy()), ks)


def _random(total: int, weights: np.ndarray, ks: np.ndarray, draws: int, seed: int) -> np.ndarray:
    """Mean number of incidents in the busiest k blocks when `total` incidents fall on blocks by weight."""
    rng = np.random.default_rng(seed)
    p = weights[weights > 0] / weights[weights > 0].sum()
    # blocks without weight hold 0 in every draw: they sit at the bottom of the order, so the
    # busiest k of all blocks hold what the busiest min(k, m) weighted blocks hold
    chunk = max(1, _CHUNK_CELLS // len(p))
    sums = np.zeros(len(ks))
    done = 0
    while done < draws:
        c = min(chunk, draws - done)
        sums += _top_sums_of_draws(rng.multinomial(total, p, size=c), ks).sum(axis=0)
        done += c
    return sums / draws


def unallocated_blocks(lengths: pd.Series) -> int:
    """Blocks with a missing or zero length: they never receive an incident at random."""
    values = lengths.to_numpy(dtype=float, na_value=np.nan)
    return int((np.isnan(values) | (values == 0)).sum())


def _empty(index: pd.Index, columns) -> pd.DataFrame:
    return pd.DataFrame({c: np.array([], dtype=np.int64 if c in ("blocks", "incidents") else float)
                         for c in columns}, index=index)


def _check_points(points: int) -> None:
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 1:
        raise ValueError(f"points was {points!r}: expected a whole number of points on the curve, at least 1")


def table_and_curve(counts: pd.Series, lengths: pd.Series, shares=SHARES, points: int = POINTS,
                    draws: int = DRAWS, seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`concentration_table` and `concentration_curve` from one set of random draws (the draws are
    the cost: ~3 s for 175,000 blocks and 200 draws), so the two agree wherever their blocks meet."""
    _check_points(points)
    ordered, weights = _check(counts, lengths, draws)
    n, total = len(ordered), int(ordered.sum())
    ks_table = _top_k(max(n, 1), shares)
    if n == 0 or total == 0:
        return (_empty(pd.Index([], dtype=float, name="share"), TABLE_COLUMNS),
                _empty(pd.RangeIndex(0), CURVE_COLUMNS))
    ks_curve = np.unique([math.ceil(j * n / points - 1e-9) for j in range(points + 1)]).astype(np.int64)
    ks = np.unique(np.concatenate([ks_table, ks_curve]))
    held = dict(zip(ks, _observed(ordered, ks)))
    at_random = dict(zip(ks, _random(total, weights, ks, draws, seed) / total))
    incidents = np.array([held[k] for k in ks_table], dtype=np.int64)
    observed, random = incidents / total, np.array([at_random[k] for k in ks_table])
    table = pd.DataFrame({"blocks": ks_table, "incidents": incidents, "observed": observed, "random": random,
                          "ratio": observed / random}, index=pd.Index([float(s) for s in shares], name="share"))
    incidents = np.array([held[k] for k in ks_curve], dtype=np.int64)
    curve = pd.DataFrame({"share_blocks": ks_curve / n, "blocks": ks_curve, "incidents": incidents,
                          "observed": incidents / total, "random": [at_random[k] for k in ks_curve]})
    return table, curve


def concentration_table(counts: pd.Series, lengths: pd.Series, shares=SHARES, draws: int = DRAWS,
                        seed: int = SEED) -> pd.DataFrame:
    """Share of incidents in the busiest x % of blocks, observed and under random allocation by length.

    counts: incidents per block, every block of the study area (zeros included), indexed by block id.
    lengths: length in metres of the same blocks (NaN or 0: never allocated to at random).
    Returns one row per share x (index `share`, in the order given) with blocks (ceil(x * n)),
    incidents (observed in those blocks), observed and random (shares of all incidents, 0..1)
    and ratio (observed / random). No blocks or no incidents: an empty frame with these columns.
    """
    return table_and_curve(counts, lengths, shares, 1, draws, seed)[0]


def concentration_curve(counts: pd.Series, lengths: pd.Series, points: int = POINTS, draws: int = DRAWS,
                        seed: int = SEED) -> pd.DataFrame:
    """The Lorenz-style curve: cumulative share of blocks (busiest first) against share of incidents.

    One row per k = ceil(j / points * n) for j = 0..points (repeats dropped: fewer rows when there
    are fewer blocks than points), with share_blocks (k / n), blocks (k), incidents (observed in
    the busiest k), observed and random (shares 0..1, as in `concentration_table`, from the same
    draws for the same seed). No blocks or no incidents: an empty frame with these columns.
    """
    return table_and_curve(counts, lengths, SHARES, points, draws, seed)[1]
