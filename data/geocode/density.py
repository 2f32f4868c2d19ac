"""The density prior: where located violence (police.uk points) concentrates says where along a
street, and at which of several same-named places, an assault most likely happened (used by
data/geocode/gazetteer.py)."""
from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree

from data.geocode.coords import clean as _clean, to_xy
from data.geocode.text import name_key

DENSITY_CELL_M = 50.0          # grid of the neighbourhood rate
DENSITY_BANDWIDTH_M = 300.0    # neighbourhood of the rate (Gaussian sigma): a town centre's scale
DENSITY_PRIOR_CRIMES = 2.0     # the London-wide rate counts as this many crimes in every neighbourhood
DENSITY_SIGMA_M = 75.0         # a located crime stands for its stretch of street, about a block ...
DENSITY_REACH_M = 200.0        # ... and counts for the street points of its street this near
DENSITY_K = 24                 # street points looked at per located crime


def located_points(located: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """x, y (local metres) and street key of located crimes; None when there are none.

    located: lat, lon and optionally `street` (a name, or police.uk's "On or near <street>").
    """
    if located is None or len(located) == 0:
        return None
    located = _clean(located, ["lat", "lon"])
    if len(located) == 0:
        return None
    x, y = to_xy(pd.to_numeric(located["lat"]), pd.to_numeric(located["lon"]))
    names = located["street"].to_numpy(object) if "street" in located else np.full(len(x), None, object)
    known = {n: name_key(_ON_OR_NEAR.sub("", n)) for n in set(names) if isinstance(n, str)}  # few distinct names
    return x, y, np.array([known.get(n, "") if isinstance(n, str) else "" for n in names], dtype=object)


_ON_OR_NEAR = re.compile(r"^\s*on or near\s+", re.IGNORECASE)


def street_counts(sx, sy, skeys, lx, ly, lkeys) -> np.ndarray:
    """Located crimes per street point: each crime spread (Gaussian, DENSITY_SIGMA_M) over the
    points of its own street within DENSITY_REACH_M, or of any street there when its own is not
    in reach; a crime with no street point in reach counts nowhere."""
    out = np.zeros(len(sx))
    if len(sx) == 0 or len(lx) == 0:
        return out
    k, tree = min(DENSITY_K, len(sx)), cKDTree(np.column_stack([sx, sy]))
    codes = {key: i for i, key in enumerate(dict.fromkeys(skeys))}
    scode = np.append(np.array([codes[key] for key in skeys]), -2)  # -2: the "nothing in reach" slot
    lcode = np.array([codes.get(key, -1) for key in lkeys])
    for start in range(0, len(lx), 100_000):  # a year of London's violence in bounded memory
        part = slice(start, start + 100_000)
        dist, idx = tree.query(np.column_stack([lx[part], ly[part]]), k=k, distance_upper_bound=DENSITY_REACH_M)
        dist, idx = dist.reshape(-1, k), idx.reshape(-1, k)
        found = idx < len(sx)
        same = found & (scode[idx] == lcode[part, None])
        use = np.where(same.any(axis=1)[:, None], same, found)
        w = np.where(use, np.exp(-0.5 * (np.where(found, dist, 0.0) / DENSITY_SIGMA_M) ** 2), 0.0)
        total = w.sum(axis=1, keepdims=True)
        w = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
        np.add.at(out, idx[use], w[use])
    return out


def rate_field(sx, sy, slen, lx, ly) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """rate_at(x, y): located crimes per metre of street around a point.

    Crimes and street length are binned on a DENSITY_CELL_M grid over the streets, both smoothed
    with a Gaussian of DENSITY_BANDWIDTH_M and divided; DENSITY_PRIOR_CRIMES at the overall rate
    are added everywhere, so a neighbourhood with little street or few crimes keeps about the
    overall rate instead of an extreme one.
    """
    pad = 4 * DENSITY_BANDWIDTH_M
    x0, y0 = float(np.min(sx)) - pad, float(np.min(sy)) - pad
    shape = (int((np.max(sx) + pad - x0) // DENSITY_CELL_M) + 1, int((np.max(sy) + pad - y0) // DENSITY_CELL_M) + 1)

    def cell(x, y):
        i = np.clip((np.asarray(x, float) - x0) // DENSITY_CELL_M, 0, shape[0] - 1).astype(int)
        return i, np.clip((np.asarray(y, float) - y0) // DENSITY_CELL_M, 0, shape[1] - 1).astype(int)

    inside = (lx >= x0) & (lx < x0 + shape[0] * DENSITY_CELL_M) & (ly >= y0) & (ly < y0 + shape[1] * DENSITY_CELL_M)
    crimes, street = np.zeros(shape), np.zeros(shape)
    np.add.at(crimes, cell(lx[inside], ly[inside]), 1.0)
    np.add.at(street, cell(sx, sy), slen)
    sigma = DENSITY_BANDWIDTH_M / DENSITY_CELL_M
    crimes, street = gaussian_filter(crimes, sigma, mode="constant"), gaussian_filter(street, sigma, mode="constant")
    overall = max(int(inside.sum()), 1) / max(float(np.sum(slen)), 1.0)
    prior = DENSITY_PRIOR_CRIMES / (2 * np.pi * sigma ** 2)  # per cell: the kernel spreads a count over 2 pi sigma^2 cells
    rate = (crimes + prior) / (street + prior / overall)
    return lambda x, y: rate[cell(x, y)]


def density_prior(sx, sy, slen, skeys, crimes) -> tuple[np.ndarray, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """The weight of each street point, and intensity_at(x, y) for venues, from located crimes.

    A point's expected crimes are its length times its neighbourhood's rate (`rate_field`); the
    crimes counted on that very stretch (`street_counts`) then move it up or down as much as
    stretches vary beyond chance around their neighbourhood (a Gamma-Poisson empirical Bayes
    estimate: with many crimes per stretch the count decides, with few the neighbourhood does).
    A venue's intensity is the rate where it stands times that adjustment of its nearest stretches.
    """
    lx, ly, lkeys = crimes
    rate_at = rate_field(sx, sy, slen, lx, ly)
    expected = slen * rate_at(sx, sy)
    counts = street_counts(sx, sy, skeys, lx, ly, lkeys)
    expected *= counts.sum() / max(expected.sum(), 1e-9)   # crimes out of every street's reach count nowhere
    extra = float(np.sum((counts - expected) ** 2 - counts) / max(np.sum(expected ** 2), 1e-9))
    theta = (counts + 1 / extra) / (expected + 1 / extra) if extra > 0 else np.ones(len(sx))
    tree, k = cKDTree(np.column_stack([sx, sy])), min(3, len(sx))

    def intensity_at(x, y):
        d, i = tree.query(np.column_stack([x, y]), k=k)
        d, i = d.reshape(len(d), k), i.reshape(len(i), k)
        w = np.exp(-0.5 * (d / DENSITY_SIGMA_M) ** 2) + 1e-12
        return rate_at(x, y) * (theta[i] * w).sum(axis=1) / w.sum(axis=1)
    return expected * theta, intensity_at
