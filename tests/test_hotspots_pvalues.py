"""Gi* p-values: exact randomisation p against hand computation and noise, z against PySAL esda."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import Delaunay

from layers.hotspots import gi_star, weights_matrix
from tests.test_hotspots import PATH, grid_neighbours


# --- exact p-values ----------------------------------------------------------------------

def test_exact_p_is_the_convolution_of_the_study_areas_own_counts():
    # counts 2,0,0,0: one draw is 0 (3/4) or 2 (1/4). a sums 2 draws: P(0,2,4) = 9/16, 6/16, 1/16,
    # its L = 2: min(P(L>=2) = 7/16, P(L<=2) = 15/16) * 2 = 7/8.  b sums 3 draws with L = 2:
    # P(L>=2) = 37/64 doubles past 1.  c: 3 draws, L = 0: 2 * 27/64.  d: 2 draws, L = 0: 2 * 9/16 > 1
    res = gi_star(pd.Series([2, 0, 0, 0], index=list("abcd")), PATH, p_method="exact")
    assert res["p"].tolist() == pytest.approx([7 / 8, 1.0, 54 / 64, 1.0])
    assert res["gi_z"].tolist() == pytest.approx([1, 1 / math.sqrt(3), -math.sqrt(3), -1])  # z unchanged


def test_on_sparse_noise_normal_p_finds_false_hot_spots_and_exact_p_does_not():
    nb = grid_neighbours(40, 40)
    noise = pd.Series(np.random.default_rng(2).poisson(0.1, 1600))
    assert gi_star(noise, nb)["hot"].sum() == 10  # the normal tail is far too thin for sums of 0.1s
    assert gi_star(noise, nb, p_method="exact")["hot"].sum() == 0
    planted = noise.copy()
    cluster = [r * 40 + c for r in range(10, 13) for c in range(10, 13)]
    planted[cluster] += 3
    found = gi_star(planted, nb, p_method="exact")
    assert set(cluster) <= set(found.index[found["hot"]])


def test_exact_p_needs_whole_counts_and_a_known_method():
    with pytest.raises(ValueError, match="p_method 'exact' needs whole counts"):
        gi_star(pd.Series([1.5, 0, 0, 0], index=list("abcd")), PATH, p_method="exact")
    with pytest.raises(ValueError, match="p_method was 'perm' but must be one of \\('normal', 'exact'\\)"):
        gi_star(pd.Series([1, 0, 0, 0], index=list("abcd")), PATH, p_method="perm")


# --- Gi* against PySAL esda --------------------------------------------------------------

def _esda_zs(counts: pd.Series, nb: dict) -> np.ndarray:
    from esda.getisord import G_Local
    from libpysal.weights import W
    full = {i: [j for j in nb.get(i, []) if j in counts.index and j != i] for i in counts.index}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands and star weights are warned about; both are intended
        w = W(full, id_order=list(counts.index), silence_warnings=True)
        return G_Local(counts.to_numpy(dtype=float), w, transform="B", star=True, permutations=0).Zs


def _delaunay_graph(n: int, seed: int) -> dict[int, list[int]]:
    pts = np.random.default_rng(seed).random((n, 2))
    nb: dict[int, set] = {i: set() for i in range(n)}
    for simplex in Delaunay(pts).simplices:
        for i in simplex:
            nb[int(i)].update(int(j) for j in simplex if j != i)
    return {i: sorted(v) for i, v in nb.items()}


def test_gi_star_agrees_with_esda_on_a_grid_with_a_planted_cluster():
    nb = grid_neighbours(8, 8)
    y = np.random.default_rng(3).poisson(1.0, 64)
    y[[18, 19, 26, 27]] += 8
    counts = pd.Series(y)
    assert np.abs(gi_star(counts, nb)["gi_z"].to_numpy() - _esda_zs(counts, nb)).max() < 1e-6


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_gi_star_agrees_with_esda_on_random_poisson_counts_on_an_irregular_graph(seed):
    nb = _delaunay_graph(80, seed)
    counts = pd.Series(np.random.default_rng(seed).poisson(2.5, 80), index=range(80))
    assert np.abs(gi_star(counts, nb)["gi_z"].to_numpy() - _esda_zs(counts, nb)).max() < 1e-6


def test_gi_star_agrees_with_esda_with_islands_and_string_ids():
    nb = _delaunay_graph(30, 7)
    ids = [f"u{i}" for i in range(30)] + ["island1", "island2"]
    named = {f"u{i}": [f"u{j}" for j in v] for i, v in nb.items()}
    y = np.random.default_rng(7).poisson(3.0, 32)
    y[-2] = 15  # a busy island is hot only on itself
    counts = pd.Series(y, index=ids)
    ours = gi_star(counts, named)["gi_z"].to_numpy()
    assert np.abs(ours - _esda_zs(counts, named)).max() < 1e-6


def test_weights_matrix_equals_the_libpysal_star_weights():
    from libpysal.weights import W, fill_diagonal
    nb = _delaunay_graph(25, 11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = fill_diagonal(W(nb, silence_warnings=True), 1).sparse.toarray()
    assert (weights_matrix(list(range(25)), nb).toarray() == theirs).all()


def test_bh_fdr_gives_tied_p_values_one_q_whatever_the_sort():
    from layers.hotspots_gi import bh_fdr
    rng = np.random.default_rng(3)
    p = np.round(rng.random(5000), 2)          # many ties, as p = 1 for the zero units of a map
    p[rng.random(5000) < 0.4] = 1.0
    m = len(p)
    order = np.argsort(p, kind="stable")       # the textbook procedure, step by step
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    want = np.empty(m)
    want[order] = np.minimum(ranked, 1.0)
    q = bh_fdr(p)
    assert np.array_equal(q, want)
    for v in (0.5, 1.0):
        assert len(set(q[p == v])) == 1
