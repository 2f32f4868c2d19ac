"""Getis-Ord Gi* with binary weights, vectorised over a sparse weights matrix.

The definition is PySAL's `esda.G_Local(y, w, transform="B", star=True)` (Getis & Ord 1995,
the same as ArcGIS "Hot Spot Analysis" with contiguity weights): every unit i has weight 1 on
itself and on each neighbour, w_i = 1 + number of neighbours, n units, mean ybar and the
*population* variance s2 = mean(y^2) - ybar^2 over all n units, and

    z_i = (sum_j w_ij y_j - w_i ybar) / sqrt(s2 * w_i (n - w_i) / (n - 1))

Where esda divides by zero (all counts equal, or a unit whose neighbourhood is the whole
study area) we return z = 0, p = 1: no evidence of clustering either way.

p-values here are the normal approximation (esda's p_norm, ArcGIS): 2 * (1 - Phi(|z|)). On
sparse counts (a month spreads a few thousand incidents over ~100,000 blocks) the local sums
are far from normal and this is badly anti-conservative: on pure Poisson noise with 0.05-0.5
incidents per unit it flags hundreds of "hot spots" after FDR (bench/hotspots_sim.py). The
pages use `layers.hotspots_local.local_hotspots` instead (the same z, an exact negative-binomial
tail); `gi_star` stays as the reference statistic the tests compare with esda.
"""
from __future__ import annotations

from itertools import chain

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import norm


def _flatten(neighbours: dict) -> tuple[list, np.ndarray, list]:
    keys = list(neighbours.keys())
    values = list(neighbours.values())
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    return keys, lengths, list(chain.from_iterable(values))


def _as_array(ids: pd.Index, values: list) -> np.ndarray:
    if ids.dtype.kind in "iu" and values and isinstance(values[0], (int, np.integer)):
        try:  # the common case, integer ids: 3x faster than np.asarray on a long list
            return np.fromiter(values, dtype=ids.dtype, count=len(values))
        except (OverflowError, TypeError, ValueError):
            pass  # e.g. negative ids against a uint64 index: handled below
    return np.asarray(values)


def _positions(ids: pd.Index, values: list) -> np.ndarray:
    """Positions of values in ids, -1 where absent (never through floats, so H3 ids stay exact)."""
    arr = _as_array(ids, values)
    if len(arr) == 0:
        return np.empty(0, dtype=np.int64)
    if ids.dtype.kind in "iu" and arr.dtype.kind in "iu" and arr.dtype != ids.dtype:
        # a uint64 index probed with int64 values (or the reverse) would meet in float64
        info = np.iinfo(ids.dtype)
        inside = (arr >= info.min) & (arr <= info.max)
        out = np.full(len(arr), -1, dtype=np.int64)
        out[inside] = ids.get_indexer(arr[inside].astype(ids.dtype))
        return out
    return ids.get_indexer(arr if arr.dtype != object else pd.Index(values))


def weights_matrix(ids, neighbours: dict) -> sp.csr_matrix:
    """Binary Gi* weights over `ids`: 1 on the diagonal and 1 from each unit to each neighbour.

    Row i belongs to ids[i]. Neighbours (and keys) that are not in `ids` are ignored, a unit
    listed as its own neighbour or a neighbour listed twice still weighs 1, and a unit absent
    from `neighbours` is an island that only sees itself.
    """
    ids = pd.Index(ids)
    if not ids.is_unique:
        raise ValueError(f"unit ids must be unique; repeated: {list(ids[ids.duplicated()][:5])}")
    n = len(ids)
    keys, lengths, flat = _flatten(neighbours)
    rows = np.repeat(_positions(ids, keys), lengths)
    cols = _positions(ids, flat)
    keep = (rows >= 0) & (cols >= 0) & (rows != cols)
    diag = np.arange(n)
    rows = np.concatenate([rows[keep], diag])
    cols = np.concatenate([cols[keep], diag])
    w = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    w.sum_duplicates()
    w.data[:] = 1.0  # duplicates were summed; binary weights stay 1
    return w


def bh_fdr(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); 2-D input is adjusted per column.

    q_(k) = min over j >= k of p_(j) * m / j, capped at 1, for p sorted ascending.
    """
    p = np.asarray(p, dtype=float)
    flat = p.ndim == 1
    p2 = p[:, None] if flat else p
    m = p2.shape[0]
    if m == 0:
        return p.copy()
    # tied p-values get the same q whatever their order (the running minimum from the right reaches
    # the last of them), so the faster unstable sort gives identical results
    order = np.argsort(p2, axis=0)
    ranked = np.take_along_axis(p2, order, axis=0) * m / np.arange(1, m + 1)[:, None]
    ranked = np.minimum.accumulate(ranked[::-1], axis=0)[::-1]
    out = np.empty_like(p2)
    np.put_along_axis(out, order, np.minimum(ranked, 1.0), axis=0)
    return out[:, 0] if flat else out


def row_sums(w: sp.csr_matrix) -> np.ndarray:
    """Each unit's number of neighbours (itself included), kept on the matrix: a weights matrix is
    built once per data version and never changed, and Gi* asks for its row sums twice a call."""
    sums = getattr(w, "_istv_row_sums", None)
    if sums is None or len(sums) != w.shape[0]:
        sums = np.asarray(w.sum(axis=1)).ravel()
        w._istv_row_sums = sums
    return sums


def gi_z(w: sp.csr_matrix, values: np.ndarray) -> np.ndarray:
    """Gi* z-scores of every unit for each column of `values` (n units x k slices)."""
    y = np.asarray(values, dtype=float)
    one = y.ndim == 1
    y = y[:, None] if one else y
    n = y.shape[0]
    if n < 2:
        z = np.zeros_like(y)
        return z[:, 0] if one else z
    mean = y.mean(axis=0)
    var = ((y - mean) ** 2).mean(axis=0)
    # float noise on a constant column (0.1 summed n times) must not pass for variance
    scale = np.abs(y).max(axis=0)
    var = np.where(var > (1e-9 * scale) ** 2, var, 0.0)
    card = row_sums(w)[:, None]
    num = w @ y - card * mean
    den2 = var * card * (n - card) / (n - 1)
    z = np.zeros_like(num)
    np.divide(num, np.sqrt(den2), out=z, where=den2 > 0)
    return z[:, 0] if one else z


def gi_p(z: np.ndarray) -> np.ndarray:
    """Two-sided p-values of Gi* z-scores from the normal approximation (esda's p_norm, ArcGIS)."""
    return 2.0 * norm.sf(np.abs(z))


def flags(z: np.ndarray, p: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BH q (per column), hot and cold flags for z-scores and their p-values."""
    q = bh_fdr(p)
    return q, (z > 0) & (q < alpha), (z < 0) & (q < alpha)


def check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha was {alpha!r} but must be between 0 and 1 (e.g. 0.05)")


def check_counts(values: np.ndarray, ids: pd.Index, what: str) -> None:
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        rows = np.flatnonzero(bad.reshape(len(values), -1).any(axis=1))[:5]
        raise ValueError(
            f"{what} must be finite and not negative (zero-count units as 0); "
            f"bad values at units {list(ids[rows])}")


def as_values(counts: pd.Series | pd.DataFrame) -> np.ndarray:
    return counts.to_numpy(dtype=float, na_value=np.nan)


def resolve_weights(ids: pd.Index, neighbours) -> sp.csr_matrix:
    """A neighbour dict becomes weights; a matrix from `weights_matrix(ids, ...)` is reused."""
    if sp.issparse(neighbours):
        if neighbours.shape != (len(ids), len(ids)):
            raise ValueError(f"the weights matrix is {neighbours.shape[0]} x {neighbours.shape[1]} but there "
                             f"are {len(ids)} units; build it with weights_matrix(counts.index, neighbours)")
        return neighbours.tocsr()
    return weights_matrix(ids, neighbours)


def gi_star(counts: pd.Series, neighbours: dict | sp.csr_matrix, alpha: float = 0.05) -> pd.DataFrame:
    """Getis-Ord Gi* hot and cold spots with binary weights (the unit itself included).

    counts: one value per unit of the study area, zero-count units included (they lower
    the mean and matter to the answer). neighbours: unit id -> neighbouring unit ids, of
    the same type as the index of `counts`; ids not in `counts` are ignored. Or the
    matrix `weights_matrix(counts.index, neighbours)`, to build it once for several calls.
    p is the normal approximation (see the module docstring; pages use `local_hotspots`).
    Returns, indexed like `counts`: gi_z, p (two-sided),
    p_fdr (Benjamini-Hochberg over all units), hot (z > 0 and p_fdr < alpha), cold
    (z < 0 and p_fdr < alpha).
    """
    check_alpha(alpha)
    ids = counts.index
    y = as_values(counts)
    check_counts(y, ids, "counts")
    w = resolve_weights(ids, neighbours)
    z = gi_z(w, y)
    p = gi_p(z)
    q, hot, cold = flags(z, p, alpha)
    return pd.DataFrame({"gi_z": z, "p": p, "p_fdr": q, "hot": hot, "cold": cold}, index=ids)
