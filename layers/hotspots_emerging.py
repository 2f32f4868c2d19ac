"""Emerging hot spots: the local hot-spot test per time slice, a Mann-Kendall trend per unit, ArcGIS Pro categories."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.stats import norm

from layers.hotspots_gi import as_values, check_alpha, check_counts, resolve_weights
from layers.hotspots_local import TEST_NAME, local_hotspots

HOT_PATTERNS = ("new", "consecutive", "intensifying", "persistent", "diminishing",
                "sporadic", "oscillating", "historical")
EMERGING_CATEGORIES: tuple[str, ...] = (
    *(f"{p} hot spot" for p in HOT_PATTERNS),
    *(f"{p} cold spot" for p in HOT_PATTERNS),
    "no pattern",
)

# z-scores that are equal in exact arithmetic can differ in the last bits; a tie is a tie
_TIE_DECIMALS = 9
# up to this many slices the Mann-Kendall p is exact; above it, the normal approximation
EXACT_MAX_SLICES = 30


# --- exact null distribution of the Mann-Kendall S ------------------------------------------------
#
# Under H0 (no trend) every distinct arrangement in time of the observed values is equally
# likely. For values with tie groups of sizes m1..mk (T = sum m) the number of arrangements
# with `inv` inversions (pairs i < j with x_i > x_j) is the coefficient of q^inv in the
# q-multinomial [T; m1, ..., mk]_q = prod_i [m1 + ... + mi; mi]_q, and S = N - 2 inv with
# N = T(T-1)/2 - sum m(m-1)/2 untied pairs. Coefficients are Python ints (exact: 30! > 2^53,
# so float64 counts would already round), and each p is one correctly rounded int division.

@lru_cache(maxsize=None)
def _q_binomial(n: int, k: int) -> tuple[int, ...]:
    """Coefficients (q^0 first) of the Gaussian binomial [n; k]_q, by [n;k] = [n-1;k-1] + q^k [n-1;k]."""
    if k == 0 or k == n:
        return (1,)
    a, b = _q_binomial(n - 1, k - 1), _q_binomial(n - 1, k)
    out = [0] * (k * (n - k) + 1)
    for i, c in enumerate(a):
        out[i] += c
    for i, c in enumerate(b):
        out[i + k] += c
    return tuple(out)


def _poly_mul(a: list[int], b: tuple[int, ...]) -> list[int]:
    out = [0] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        if x:
            for j, y in enumerate(b):
                out[i + j] += x * y
    return out


def inversion_counts(pattern: tuple[int, ...]) -> list[int]:
    """Number of distinct arrangements of a multiset with tie group sizes `pattern` having 0, 1, 2, ... inversions."""
    counts, seen = [1], 0
    for m in pattern:
        seen += m
        counts = _poly_mul(counts, _q_binomial(seen, m))
    return counts


@lru_cache(maxsize=None)
def _exact_tail(pattern: tuple[int, ...]) -> np.ndarray:
    """P(|S| >= a) for a = 0..N under H0, for values with tie group sizes `pattern` (sorted)."""
    counts = inversion_counts(pattern)
    t = sum(pattern)
    n_pairs = t * (t - 1) // 2 - sum(m * (m - 1) // 2 for m in pattern)
    assert len(counts) == n_pairs + 1
    by_abs = [0] * (n_pairs + 1)
    for inv, c in enumerate(counts):
        by_abs[abs(n_pairs - 2 * inv)] += c
    total = sum(counts)  # the multinomial coefficient T! / prod m!
    tail, out = 0, np.empty(n_pairs + 1)
    for a in range(n_pairs, -1, -1):
        tail += by_abs[a]
        out[a] = tail / total  # int / int: correctly rounded
    out.flags.writeable = False  # shared by every unit with this tie pattern
    return out


def _exact_p(s: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Exact two-sided p of each row's S given its tie group sizes (rows of `sizes`, zero-padded)."""
    p = np.ones(len(s))
    if len(s) == 0:
        return p
    abs_s = np.rint(np.abs(s)).astype(np.int64)
    key = -np.sort(-sizes.astype(np.int64), axis=1)  # the same pattern gives the same row
    patterns, which = np.unique(key, axis=0, return_inverse=True)
    which = np.asarray(which).reshape(-1)
    for i, row in enumerate(patterns):
        rows = which == i
        tail = _exact_tail(tuple(sorted(int(m) for m in row if m > 0)))
        p[rows] = tail[abs_s[rows]]
    return p


def mann_kendall(values) -> tuple[np.ndarray, np.ndarray]:
    """Mann-Kendall trend test of each row of `values` (units x time, in time order).

    S = sum over i < j of sign(x_j - x_i); Var(S) = [T(T-1)(2T+5) - sum over tie groups of
    t(t-1)(2t+5)] / 18; Z = (S - 1)/sqrt(Var) if S > 0, (S + 1)/sqrt(Var) if S < 0, else 0
    (continuity correction): the score to sort by.

    p is two-sided, P(|S| >= |s|) under H0. With T <= 30 slices it is exact: every distinct
    arrangement in time of the observed values (given their ties) is equally likely, and the
    distribution of S follows from the q-multinomial coefficient of the tie pattern (see
    `_exact_tail`; computed once per pattern). With T > 30 it is the normal approximation
    2 * (1 - Phi(|Z|)). Values equal to 9 decimals are ties. Returns (z, p). A 1-D input is
    one series and gives arrays of length 1.
    """
    x = np.round(np.atleast_2d(np.asarray(values, dtype=float)), _TIE_DECIMALS)
    n, t = x.shape
    s = np.zeros(n)
    for lag in range(1, t):
        s += np.sign(x[:, lag:] - x[:, :-lag]).sum(axis=1)
    if t < 2:
        return np.zeros(n), np.ones(n)
    srt = np.sort(x, axis=1)
    group = np.cumsum(np.c_[np.ones(n, bool), srt[:, 1:] != srt[:, :-1]], axis=1) - 1
    # sizes[i, g] = size of row i's g-th tie group (zero-padded)
    sizes = np.bincount((np.arange(n)[:, None] * t + group).ravel(), minlength=n * t).reshape(n, t).astype(float)
    ties = (sizes * (sizes - 1) * (2 * sizes + 5)).sum(axis=1)
    var = (t * (t - 1) * (2 * t + 5) - ties) / 18.0
    z = np.zeros(n)
    np.divide(s - np.sign(s), np.sqrt(var), out=z, where=var > 0)
    if t <= EXACT_MAX_SLICES:
        return z, _exact_p(s, sizes)
    return z, 2.0 * norm.sf(np.abs(z))


@lru_cache(maxsize=None)
def min_trend_slices(alpha: float = 0.05) -> int:
    """Fewest time slices at which `mann_kendall` can give p < alpha (values without ties).

    The smallest p is that of a strictly monotone series: 2 / T! exactly for T <= 30
    (T = 4: 0.083, T = 5: 0.017), so 5 slices at alpha = 0.05, 4 at 0.10, 6 at 0.01.
    With fewer slices no trend can be significant and intensifying / diminishing cannot occur.
    """
    check_alpha(alpha)
    t = 2
    while True:
        if t <= EXACT_MAX_SLICES:
            p_min = _exact_tail((1,) * t)[-1]
        else:
            n_pairs = t * (t - 1) / 2
            p_min = 2.0 * norm.sf((n_pairs - 1) / np.sqrt(t * (t - 1) * (2 * t + 5) / 18.0))
        if p_min < alpha:
            return t
        t += 1


def classify(hot: np.ndarray, cold: np.ndarray, trend_z: np.ndarray, trend_p: np.ndarray,
             alpha: float) -> np.ndarray:
    """Emerging hot spot category of each unit from its per-slice flags and trend (see `emerging`).

    hot, cold: units x slices booleans in time order; trend_z, trend_p: per unit.
    """
    hot, cold = np.asarray(hot, bool), np.asarray(cold, bool)
    n, t = hot.shape
    n_hot, n_cold = hot.sum(axis=1), cold.sum(axis=1)
    most_hot = 10 * n_hot >= 9 * t  # "90 % of slices" in integers, so 9 of 10 counts exactly
    most_cold = 10 * n_cold >= 9 * t
    final_hot, final_cold = hot[:, -1], cold[:, -1]
    run_hot = np.cumprod(hot[:, ::-1], axis=1).sum(axis=1)
    run_cold = np.cumprod(cold[:, ::-1], axis=1).sum(axis=1)
    trend_p = np.asarray(trend_p, dtype=float)
    up = (trend_p < alpha) & (np.asarray(trend_z) > 0)
    down = (trend_p < alpha) & (np.asarray(trend_z) < 0)

    def side(final, many, n_same, n_other, run, stronger, weaker, kind):
        # first matching rule wins; the order is what makes the categories exclusive
        return [
            (final & many & stronger, f"intensifying {kind} spot"),
            (final & many & weaker, f"diminishing {kind} spot"),
            (final & many, f"persistent {kind} spot"),
            (final & (n_other > 0), f"oscillating {kind} spot"),
            (final & (n_same == 1), f"new {kind} spot"),
            (final & (run == n_same), f"consecutive {kind} spot"),
            (final, f"sporadic {kind} spot"),
        ]

    rules = side(final_hot, most_hot, n_hot, n_cold, run_hot, up, down, "hot")
    rules += side(final_cold, most_cold, n_cold, n_hot, run_cold, down, up, "cold")
    rules += [
        (most_hot, "historical hot spot"),
        (most_cold, "historical cold spot"),
    ]
    return np.select([r[0] for r in rules], [r[1] for r in rules], default="no pattern")


def emerging(series: pd.DataFrame, neighbours, alpha: float = 0.05) -> pd.DataFrame:
    """Emerging hot spot category of each unit (ArcGIS Pro's Emerging Hot Spot Analysis rules).

    series: rows = units of the study area, columns = time slices in time order, values =
    whole counts (zeros included). Each slice gets the product's local hot-spot test,
    `local_hotspots` (Gi* with an exact negative-binomial test, BH-FDR over the units of that
    slice, hot / cold flags with its halo rule), with one weights matrix for all slices. Each
    unit's Gi* z-score series gets a Mann-Kendall trend test (`mann_kendall`: exact p up to 30
    slices), significant when trend_p < alpha. With T slices and "90 %" meaning hot (cold) in
    at least 0.9 T slices, the first rule that holds gives the category:

    Final slice hot:
      intensifying hot spot  hot in >= 90 % of slices and a significant upward trend
      diminishing hot spot   hot in >= 90 % of slices and a significant downward trend
      persistent hot spot    hot in >= 90 % of slices, no significant trend
      oscillating hot spot   < 90 % hot and cold in some earlier slice
      new hot spot           hot in the final slice only, never hot or cold before
      consecutive hot spot   one uninterrupted run of >= 2 hot slices at the end, never
                             hot (nor cold) before the run, < 90 % hot
      sporadic hot spot      otherwise: on-again off-again hot, < 90 %, never cold
    Final slice cold: the same with hot and cold swapped; "intensifying" cold is a
      significant *downward* trend (ever more negative z), "diminishing" cold upward.
    Final slice neither:
      historical hot spot    hot in >= 90 % of slices (but not the final one)
      historical cold spot   cold in >= 90 % of slices
      no pattern             anything else: never significant, or hot / cold in the past
                             only in fewer than 90 % of slices

    The definitions are those of Esri's "How Emerging Hot Spot Analysis works" (ArcGIS Pro; checked
    against the current text, as published for ArcGIS AllSource): new, consecutive, intensifying,
    persistent, diminishing and sporadic all require the final slice to be hot; sporadic is
    "hot in the final time step, on-again off-again before, < 90 % hot, never cold". An earlier
    version of this module (like R's sfdep) called a unit hot now and then but not at the end
    "sporadic"; ArcGIS has no category for it, so it is now "no pattern".
    Where ArcGIS's wording lets two categories overlap we decided: the final slice picks the
    side (hot or cold), so >= 90 % hot but cold at the end is an oscillating cold spot (ArcGIS's
    historical hot spot only says "the most recent time period is not hot"); a unit with a
    cold slice that turns hot is oscillating rather than new or consecutive (ArcGIS's new and
    consecutive only speak of earlier *hot* slices); persistent, like intensifying and
    diminishing, needs the final slice hot, since >= 90 % hot but not at the end is ArcGIS's
    historical hot spot whatever its trend. Unlike ArcGIS's space-time cube, neighbours are
    spatial only (no earlier time step).

    Too few slices: with T < min_trend_slices(alpha) (5 at alpha = 0.05) no Mann-Kendall p can
    fall below alpha, so there is no intensifying or diminishing category; the result's
    attrs say so: attrs["slices"] = T, attrs["trend_possible"], attrs["min_trend_slices"].

    neighbours: as for `local_hotspots` (a dict, or the matrix weights_matrix(series.index, ...)).
    Returns, indexed like `series`: category, trend_z, trend_p, hot_slices, cold_slices,
    final_hot, final_cold.
    """
    check_alpha(alpha)
    if series.shape[1] < 2:
        raise ValueError(f"series has {series.shape[1]} time slice(s) but a trend needs at least 2")
    y = as_values(series)
    check_counts(y, series.index, "series")
    w = resolve_weights(series.index, neighbours)
    t = series.shape[1]
    z = np.zeros(y.shape)
    hot = np.zeros(y.shape, bool)
    cold = np.zeros(y.shape, bool)
    for j in range(t):
        res = local_hotspots(series.iloc[:, j], w, alpha)
        z[:, j] = res["gi_z"].to_numpy()
        hot[:, j] = res["hot"].to_numpy()
        cold[:, j] = res["cold"].to_numpy()
    trend_z, trend_p = mann_kendall(z)
    out = pd.DataFrame({
        "category": classify(hot, cold, trend_z, trend_p, alpha),
        "trend_z": trend_z,
        "trend_p": trend_p,
        "hot_slices": hot.sum(axis=1),
        "cold_slices": cold.sum(axis=1),
        "final_hot": hot[:, -1],
        "final_cold": cold[:, -1],
    }, index=series.index)
    need = min_trend_slices(alpha)
    out.attrs.update({"slices": t, "trend_possible": t >= need, "min_trend_slices": need,
                      "alpha": alpha, "test": TEST_NAME})
    return out
