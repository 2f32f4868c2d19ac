"""The local hot-spot test every page uses: Gi* z-scores with an exact negative-binomial tail.

    local_hotspots(counts, neighbours, alpha=0.05) -> DataFrame[gi_z, p, q, hot, cold]

The statistic is Getis-Ord Gi* with binary weights (the unit and its neighbours, as esda's
`G_Local(star=True, transform="B")`): `gi_z` is exactly that z-score, for reading and sorting.
The p-value does not come from the normal approximation (badly anti-conservative on sparse
counts) nor from redrawing neighbourhoods out of the study area's own counts (which puts the
hot spots being tested into the null and so masks them). It is the exact tail of the
neighbourhood's sum under a count model fitted robustly to the study area:

1. **Null model.** Counts per unit are independent negative-binomial NB(mu, size) (Poisson is
   the limit size -> infinity). mu and size are fitted by maximum likelihood to the units whose
   count is at most the study area's 95th percentile (at least 2), with the likelihood
   truncated there: units far above the rest (the hot spots under test) cannot inflate the
   rate or the dispersion, and the estimates are consistent under the null because the
   truncation is in the likelihood (`fit_null` says what happens on very even counts). Overdispersion (counts varying between units more than
   Poisson allows, as real places do) is absorbed into `size`, so it is not mistaken for
   clustering.
2. **Neighbourhood test.** The sum L_i over unit i and its w_i - 1 neighbours is, under the
   null, NB(w_i mu, w_i size) exactly (a sum of independent NB with one success probability).
   p = min(1, 2 min(P(L >= L_i), P(L <= L_i))), two-sided, and q its Benjamini-Hochberg
   adjustment over every unit of the study area.
3. **The unit itself.** Gi* flags the quiet neighbours of a busy place too (its "halo"): their
   neighbourhood includes it. A unit is *hot* when q < alpha, L_i is above its expectation
   w_i mu AND its own count is unusual for one unit (P(Y >= y_i) < 0.10 under the fitted
   null, and at least 2: where blocks average 0.1 incidents any single one would pass, and one
   incident is never a hot spot); *cold* likewise with the lower tails. So a quiet block beside a hot one is not sent
   to a tasking meeting.

The name of this test everywhere in the product: "Gi* with an exact negative-binomial test,
5 % false discovery rate". bench/hotspots_sim.py measures it on a 53,479-block street graph.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import gammaln
from scipy.stats import nbinom

from layers.hotspots_gi import as_values, bh_fdr, check_alpha, check_counts, gi_z, resolve_weights

TEST_NAME = "Gi* with an exact negative-binomial test"
TRIM_QUANTILE = 0.95   # the null is fitted to units at or below this quantile of the counts
UNIT_TAIL = 0.10       # a flagged unit's own count must be this unusual on its own (the halo rule) ...
MIN_OWN = 2            # ... and at least this: one incident is never a hot spot, however sparse the area
SIZE_MAX = 1e4         # size above this is Poisson for every purpose here


def _nb_logpmf(k: np.ndarray, mu: float, size: float) -> np.ndarray:
    return (gammaln(k + size) - gammaln(size) - gammaln(k + 1)
            + size * np.log(size / (size + mu)) + k * np.log(mu / (size + mu)))


@lru_cache(maxsize=4096)
def _fit_cached(below: tuple, above: float | None, start_mean: float, cut: int) -> tuple[float, float]:
    # many slices and views share one histogram (a map re-rendered, twelve months of a series)
    return _fit(np.arange(cut + 1), np.asarray(below, float), above, start_mean, cut)


def _fit(ks: np.ndarray, below: np.ndarray, above: float | None, start_mean: float, cut: int) -> tuple[float, float]:
    """ML (mu, size) from the frequencies `below` of counts 0..cut; `above` units beyond the cut are
    dropped with the pmf renormalised (truncated, above=None) or kept as P(Y > cut) (censored)."""
    def nll(theta):
        mu, size = np.exp(theta)
        lp = _nb_logpmf(ks, mu, size)
        if above is None:
            top = lp.max()
            return -(below * (lp - top - np.log(np.exp(lp - top).sum()))).sum()
        out = (below * lp).sum()
        if above:
            out += above * np.log(max(nbinom.sf(cut, size, size / (size + mu)), 1e-300))
        return -out

    best = None
    for size0 in (0.5, 2.0, 20.0, 1000.0):
        res = minimize(nll, [np.log(start_mean), np.log(size0)], method="Nelder-Mead",
                       options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000})
        if best is None or res.fun < best.fun:
            best = res
    mu, size = np.exp(best.x)
    return float(mu), float(min(size, SIZE_MAX))


def fit_null(counts) -> tuple[float, float]:
    """(mu, size) of the negative binomial fitted to the bulk of `counts` (see the module docstring).

    Maximum likelihood over the units at or below the cut (the 95th percentile, at least 2), the
    likelihood truncated there, so units above it cannot pull the fit at all. Where the counts
    below the cut are more even than any negative binomial (busy, evenly spread areas), the
    truncated fit runs away to a mean beyond the cut; then the units above the cut are kept
    as "above the cut" instead (censored). All zero gives (0, SIZE_MAX); size is capped at
    SIZE_MAX (Poisson).
    """
    y = np.rint(np.asarray(counts, dtype=float)).astype(np.int64)
    if len(y) == 0 or y.sum() == 0:
        return 0.0, SIZE_MAX
    cut = max(int(np.quantile(y, TRIM_QUANTILE)), 2)
    freq = np.bincount(np.minimum(y, cut + 1), minlength=cut + 2).astype(float)
    below, above = freq[:cut + 1], freq[cut + 1]
    kept_mean = float((below * np.arange(cut + 1)).sum() / below.sum())
    if kept_mean == 0:  # at least 95 % zeros and no unit at 1 or 2: the rate is tiny, use the plain mean
        return float(y.mean()), SIZE_MAX
    mu, size = _fit_cached(tuple(below.tolist()), None, kept_mean, cut)
    if mu > cut:
        mu, size = _fit_cached(tuple(below.tolist()), float(above), float(y.clip(max=cut + 1).mean()), cut)
    return mu, size


def _tails(k: np.ndarray, n: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """P(X >= k) and P(X <= k) for X ~ NB(n, prob) (scipy's parametrisation)."""
    return nbinom.sf(k - 1, n, prob), nbinom.cdf(k, n, prob)


def local_hotspots(counts: pd.Series, neighbours, alpha: float = 0.05) -> pd.DataFrame:
    """Hot and cold spots of whole counts over a study area (see the module docstring).

    counts: one whole count per unit of the study area, zero-count units included (the
    null is fitted to them). neighbours: unit id -> neighbouring unit ids, or the matrix
    `weights_matrix(counts.index, neighbours)` to reuse one across calls. Returns, indexed
    like `counts`: gi_z (esda's Gi*), p (two-sided exact), q (Benjamini-Hochberg), hot, cold;
    `.attrs` holds the fitted null (mu, size) and the test's name.
    """
    check_alpha(alpha)
    ids = counts.index
    y = as_values(counts)
    check_counts(y, ids, "counts")
    if (y != np.rint(y)).any():
        bad = list(ids[y != np.rint(y)][:5])
        raise ValueError(f"counts must be whole numbers for an exact count test; fractions at units {bad}")
    w = resolve_weights(ids, neighbours)
    z = gi_z(w, y)
    mu, size = fit_null(y)
    card = np.rint(np.asarray(w.sum(axis=1)).ravel()).astype(np.int64)
    local = np.rint(w @ y).astype(np.int64)
    p = np.ones(len(y))
    hot = np.zeros(len(y), bool)
    cold = np.zeros(len(y), bool)
    if mu > 0 and len(y):
        prob = size / (size + mu)
        upper, lower = _tails(local, card * size, prob)
        p = np.minimum(1.0, 2.0 * np.minimum(upper, lower))
        own = np.rint(y).astype(np.int64)
        own_upper, own_lower = _tails(own, np.full(len(y), size), prob)
    q = bh_fdr(p) if len(y) else p
    if mu > 0 and len(y):
        expected = card * mu
        hot = (q < alpha) & (local > expected) & (own_upper < UNIT_TAIL) & (own >= MIN_OWN)
        cold = (q < alpha) & (local < expected) & (own_lower < UNIT_TAIL)
    out = pd.DataFrame({"gi_z": z, "p": p, "q": q, "hot": hot, "cold": cold}, index=ids)
    out.attrs.update({"mu": mu, "size": size, "test": TEST_NAME, "alpha": alpha})
    return out
