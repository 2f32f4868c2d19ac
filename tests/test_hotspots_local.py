"""The local hot-spot test (`local_hotspots`): its null fit, exact tails, halo rule, and behaviour on noise."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import nbinom

from layers.hotspots import gi_star, local_hotspots, weights_matrix
from layers.hotspots_local import SIZE_MAX, UNIT_TAIL, fit_null
from tests.test_hotspots import PATH, grid_neighbours

GRID = grid_neighbours(40, 40)


def _cluster(rows, cols, width=40):
    return [r * width + c for r in rows for c in cols]


def test_fit_recovers_poisson_and_negative_binomial_parameters():
    rng = np.random.default_rng(5)
    mu, size = fit_null(rng.poisson(4.0, 50_000))
    assert mu == pytest.approx(4.0, rel=0.02) and size > 100  # Poisson: no overdispersion to speak of
    mu, size = fit_null(rng.negative_binomial(2, 2 / (2 + 4.0), 50_000))
    assert mu == pytest.approx(4.0, rel=0.03) and size == pytest.approx(2.0, rel=0.1)


def test_fit_is_not_pulled_by_the_hot_spots_it_is_meant_to_find():
    rng = np.random.default_rng(6)
    y = rng.poisson(0.4, 20_000)
    clean = fit_null(y)
    y[:200] += 30  # 1 % of units with a huge excess: a moment estimate of the mean would rise by 0.3
    assert fit_null(y)[0] == pytest.approx(clean[0], rel=0.03)
    assert y.mean() > 1.7 * clean[0]


def test_fit_stays_finite_on_even_busy_areas():
    # counts 8-12 everywhere (less spread than Poisson) with a hole: the truncated fit runs away to
    # mu ~ 1e15 here, so the censored fit is used
    y = np.random.default_rng(1).integers(8, 13, 41)
    y[19:22] = 0
    mu, size = fit_null(y)
    assert mu == pytest.approx(y.mean(), rel=0.05) and size == SIZE_MAX


def test_fit_of_nothing_and_of_tiny_rates():
    assert fit_null(np.zeros(100)) == (0.0, SIZE_MAX)
    y = np.zeros(1000, int)
    y[:3] = 1  # more than 95 % zeros: the plain mean
    assert fit_null(y)[0] == pytest.approx(0.003, rel=1e-3)


def test_p_is_the_exact_negative_binomial_tail_of_the_neighbourhood_sum():
    rng = np.random.default_rng(8)
    counts = pd.Series(rng.poisson(1.0, 400))
    nb = grid_neighbours(20, 20)
    res = local_hotspots(counts, nb)
    mu, size = res.attrs["mu"], res.attrs["size"]
    w = weights_matrix(counts.index, nb)
    card = np.asarray(w.sum(axis=1)).ravel()
    local = w @ counts.to_numpy()
    prob = size / (size + mu)
    for i in (0, 1, 21, 210, 399):  # a corner (4 units), an edge (6) and inside (9)
        upper = nbinom.sf(local[i] - 1, card[i] * size, prob)
        lower = nbinom.cdf(local[i], card[i] * size, prob)
        assert res.loc[i, "p"] == pytest.approx(min(1.0, 2 * min(upper, lower)), rel=1e-12)


def test_tails_by_hand_on_a_poisson_null():
    # a path a-b-c-d with all counts 1 except a = 3. 95th percentile = 3, so the truncated fit uses every
    # unit. Whatever the fit, a's neighbourhood (a, b) sums 4 and d's (c, d) 2: a's p is smaller.
    res = local_hotspots(pd.Series([3, 1, 1, 1], index=list("abcd")), PATH)
    assert res.loc["a", "p"] < res.loc["d", "p"] <= 1.0
    assert not res["hot"].any()  # four units are far too few to call anything hot


def test_gi_z_is_esdas_z():
    counts = pd.Series(np.random.default_rng(9).poisson(2.0, 1600))
    assert np.allclose(local_hotspots(counts, GRID)["gi_z"], gi_star(counts, GRID)["gi_z"], atol=1e-12)


@pytest.mark.parametrize("mean", [0.05, 0.4, 4.0])
@pytest.mark.parametrize("kind", ["poisson", "nb"])
def test_pure_noise_flags_nothing_where_the_normal_approximation_does(mean, kind):
    rng = np.random.default_rng(int(mean * 100) + len(kind))
    y = rng.poisson(mean, 1600) if kind == "poisson" else rng.negative_binomial(2, 2 / (2 + mean), 1600)
    res = local_hotspots(pd.Series(y), GRID)
    assert res["hot"].sum() == 0 and res["cold"].sum() == 0


def test_normal_approximation_is_fooled_by_overdispersed_noise():
    y = np.random.default_rng(5).negative_binomial(2, 2 / (2 + 1.0), 1600)
    assert gi_star(pd.Series(y), GRID)["hot"].sum() == 3  # three "hot spots" in noise
    assert local_hotspots(pd.Series(y), GRID)["hot"].sum() == 0


def test_a_planted_cluster_is_found_and_its_quiet_neighbours_are_not():
    rng = np.random.default_rng(11)
    y = pd.Series(rng.poisson(0.4, 1600))
    cluster = _cluster(range(10, 13), range(10, 13))
    y[cluster] = rng.poisson(4.0, 9) + 2  # ten times the rate, at least 2 each
    quiet = [c for c in _cluster(range(9, 14), range(9, 14)) if c not in cluster]
    y[quiet] = 0  # the ring around it is empty: its neighbourhoods are busy, its blocks are not
    res = local_hotspots(y, GRID)
    assert set(res.index[res["hot"]]) <= set(cluster)
    assert res.loc[cluster, "hot"].sum() >= 7
    assert (res.loc[quiet, "q"] < 0.05).any()  # their neighbourhoods are significant ...
    assert not res.loc[quiet, "hot"].any()      # ... but they are not hot themselves (the halo rule)


def test_a_busy_unit_in_a_quiet_neighbourhood_is_not_a_cluster():
    y = pd.Series(np.zeros(1600, int))
    y[np.arange(0, 1600, 7)] = 1  # a sparse background
    y[820] = 6  # one unit alone: its neighbourhood sums 6 (plus background) against ~9 x 0.14
    res = local_hotspots(y, GRID)
    assert res.loc[820, "p"] < 0.05
    # one busy unit may or may not make a significant neighbourhood, but nothing else is hot
    assert set(res.index[res["hot"]]) <= {820}


def test_a_hole_in_a_busy_area_is_a_cold_spot():
    rng = np.random.default_rng(12)
    y = pd.Series(rng.poisson(20.0, 1600))
    hole = _cluster(range(20, 23), range(20, 23))
    y[hole] = 0
    res = local_hotspots(y, GRID)
    assert res.loc[hole, "cold"].all() and not res.loc[hole, "hot"].any()
    assert set(res.index[res["cold"]]) == set(hole)


def test_unit_tail_rule_is_the_stated_one():
    rng = np.random.default_rng(13)
    y = pd.Series(rng.poisson(1.0, 1600))
    res = local_hotspots(y, GRID)
    mu, size = res.attrs["mu"], res.attrs["size"]
    own = nbinom.sf(y.to_numpy() - 1, size, size / (size + mu))
    flagged = res["hot"].to_numpy()
    assert (own[flagged] < UNIT_TAIL).all()


def test_refusals_and_empty_study_areas():
    with pytest.raises(ValueError, match="whole numbers.*\\['a'\\]"):
        local_hotspots(pd.Series([1.5, 0, 0, 0], index=list("abcd")), PATH)
    with pytest.raises(ValueError, match="alpha was 2"):
        local_hotspots(pd.Series([1, 0, 0, 0], index=list("abcd")), PATH, alpha=2)
    with pytest.raises(ValueError, match="finite and not negative"):
        local_hotspots(pd.Series([1, -1, 0, 0], index=list("abcd")), PATH)
    zero = local_hotspots(pd.Series([0, 0, 0, 0], index=list("abcd")), PATH)
    assert zero["p"].tolist() == [1.0] * 4 and not zero["hot"].any()
    assert list(zero.columns) == ["gi_z", "p", "q", "hot", "cold"]
    empty = local_hotspots(pd.Series([], dtype="int64"), {})
    assert empty.empty and list(empty.columns) == ["gi_z", "p", "q", "hot", "cold"]


def test_one_incident_is_never_a_hot_spot():
    # a sparse area (mean ~0.1): a block with one incident beside a busy cluster has a significant neighbourhood,
    # and one incident passes the 10 % own-count rule there; it is still not hot
    y = pd.Series(np.zeros(1600, int))
    y[np.arange(0, 1600, 11)] = 1
    cluster = _cluster(range(10, 13), range(10, 13))
    y[cluster] = 6
    y[13 * 40 + 11] = 1  # just below the cluster
    res = local_hotspots(y, GRID)
    assert res.loc[cluster, "hot"].all()
    assert res.loc[13 * 40 + 11, "q"] < 0.05 and not res.loc[13 * 40 + 11, "hot"]
    assert not res.loc[y == 1, "hot"].any()
