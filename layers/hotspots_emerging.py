"""Emerging hot spots: Gi* per time slice, a Mann-Kendall trend per unit, ArcGIS Pro categories."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from layers.hotspots_gi import as_values, check_alpha, check_counts, flags, gi_p, gi_z, resolve_weights

HOT_PATTERNS = ("new", "consecutive", "intensifying", "persistent", "diminishing",
                "sporadic", "oscillating", "historical")
EMERGING_CATEGORIES: tuple[str, ...] = (
    *(f"{p} hot spot" for p in HOT_PATTERNS),
    *(f"{p} cold spot" for p in HOT_PATTERNS),
    "no pattern",
)

# z-scores that are equal in exact arithmetic can differ in the last bits; a tie is a tie
_TIE_DECIMALS = 9


def mann_kendall(values) -> tuple[np.ndarray, np.ndarray]:
    """Mann-Kendall trend test of each row of `values` (units x time, in time order).

    S = sum over i < j of sign(x_j - x_i); Var(S) = [T(T-1)(2T+5) - sum over tie groups of
    t(t-1)(2t+5)] / 18; Z = (S - 1)/sqrt(Var) if S > 0, (S + 1)/sqrt(Var) if S < 0, else 0
    (continuity correction); p two-sided from the normal distribution. Returns (z, p).
    A 1-D input is one series and gives arrays of length 1.
    """
    x = np.round(np.atleast_2d(np.asarray(values, dtype=float)), _TIE_DECIMALS)
    n, t = x.shape
    s = np.zeros(n)
    for lag in range(1, t):
        s += np.sign(x[:, lag:] - x[:, :-lag]).sum(axis=1)
    ties = np.zeros(n)
    if t > 1:
        srt = np.sort(x, axis=1)
        group = np.cumsum(np.c_[np.ones(n, bool), srt[:, 1:] != srt[:, :-1]], axis=1) - 1
        sizes = np.bincount((np.arange(n)[:, None] * t + group).ravel(), minlength=n * t).astype(float)
        ties = (sizes * (sizes - 1) * (2 * sizes + 5)).reshape(n, t).sum(axis=1)
    var = (t * (t - 1) * (2 * t + 5) - ties) / 18.0
    z = np.zeros(n)
    np.divide(s - np.sign(s), np.sqrt(var), out=z, where=var > 0)
    return z, 2.0 * norm.sf(np.abs(z))


def classify(hot: np.ndarray, cold: np.ndarray, trend_z: np.ndarray, trend_p: np.ndarray,
             alpha: float) -> np.ndarray:
    """Emerging hot spot category of each unit from its per-slice flags and trend (see `emerging`)."""
    n, t = hot.shape
    n_hot, n_cold = hot.sum(axis=1), cold.sum(axis=1)
    most_hot = 10 * n_hot >= 9 * t  # "90 % of slices" in integers, so 9 of 10 counts exactly
    most_cold = 10 * n_cold >= 9 * t
    final_hot, final_cold = hot[:, -1], cold[:, -1]
    run_hot = np.cumprod(hot[:, ::-1], axis=1).sum(axis=1)
    run_cold = np.cumprod(cold[:, ::-1], axis=1).sum(axis=1)
    up = (trend_p < alpha) & (trend_z > 0)
    down = (trend_p < alpha) & (trend_z < 0)

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
        ((n_hot > 0) & (n_cold == 0), "sporadic hot spot"),
        ((n_cold > 0) & (n_hot == 0), "sporadic cold spot"),
    ]
    return np.select([r[0] for r in rules], [r[1] for r in rules], default="no pattern")


def emerging(series: pd.DataFrame, neighbours, alpha: float = 0.05,
             p_method: str = "normal") -> pd.DataFrame:
    """Emerging hot spot category of each unit (ArcGIS Pro's Emerging Hot Spot Analysis rules).

    series: rows = units of the study area, columns = time slices in time order, values =
    counts (zeros included). Each slice gets its own Gi* (as `gi_star`: binary weights with
    the unit itself, p by p_method, BH-FDR over the units of that slice, hot = z > 0 and
    p_fdr < alpha);
    each unit's Gi* z-score series gets a Mann-Kendall trend test (`mann_kendall`),
    significant when trend_p < alpha. With T slices and "90 %" meaning hot (cold) in at
    least 0.9 T slices, the first rule that holds gives the category:

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
      sporadic hot spot      hot in some slice, never cold (on-again off-again)
      sporadic cold spot     cold in some slice, never hot
      no pattern             none of the above (never significant, or both hot and cold
                             and neither in the final slice)

    Where ArcGIS's published wording lets two categories overlap we decided: the final
    slice picks the side (hot or cold); a unit with a cold slice that turns hot is
    oscillating rather than new or consecutive; a >= 90 % hot unit that is not hot at the
    end is historical whatever its trend. Unlike ArcGIS's space-time cube, neighbours are
    spatial only (no earlier time step). The trend test has little power below ~10 slices.

    neighbours: as for `gi_star` (a dict, or the matrix weights_matrix(series.index, ...)).
    Returns, indexed like `series`: category, trend_z, trend_p, hot_slices, cold_slices,
    final_hot, final_cold.
    """
    check_alpha(alpha)
    if series.shape[1] < 2:
        raise ValueError(f"series has {series.shape[1]} time slice(s) but a trend needs at least 2")
    y = as_values(series)
    check_counts(y, series.index, "series")
    w = resolve_weights(series.index, neighbours)
    z = gi_z(w, y)
    _, hot, cold = flags(z, gi_p(w, y, z, p_method), alpha)
    trend_z, trend_p = mann_kendall(z)
    return pd.DataFrame({
        "category": classify(hot, cold, trend_z, trend_p, alpha),
        "trend_z": trend_z,
        "trend_p": trend_p,
        "hot_slices": hot.sum(axis=1),
        "cold_slices": cold.sum(axis=1),
        "final_hot": hot[:, -1],
        "final_cold": cold[:, -1],
    }, index=series.index)
