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


# --- normal p-values (the reference statistic; pages use local_hotspots) -----------------------

def test_gi_star_p_is_the_two_sided_normal_tail_of_z():
    res = gi_star(pd.Series([2, 0, 0, 0], index=list("abcd")), PATH)
    assert res["gi_z"].tolist() == pytest.approx([1, 1 / math.sqrt(3), -math.sqrt(3), -1])
    # 2 * (1 - Phi(1)) = 0.3173105; 2 * (1 - Phi(sqrt 3)) = 0.0832645
    assert res["p"].tolist() == pytest.approx([0.3173105, 0.5637029, 0.0832645, 0.3173105], abs=1e-6)
    with pytest.raises(TypeError):
        gi_star(pd.Series([1, 0, 0, 0], index=list("abcd")), PATH, p_method="exact")  # the redraw is gone


def test_on_sparse_noise_the_normal_tail_finds_false_hot_spots():
    nb = grid_neighbours(40, 40)
    noise = pd.Series(np.random.default_rng(2).poisson(0.1, 1600))
    assert gi_star(noise, nb)["hot"].sum() == 10  # the normal tail is far too thin for sums of 0.1s


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
