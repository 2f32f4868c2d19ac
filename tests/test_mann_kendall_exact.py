"""The exact Mann-Kendall p-value: by hand, by brute force over every distinct arrangement, against
an independent recursion and scipy, and the normal approximation above 30 slices."""
from __future__ import annotations

import itertools
import math
import time
from fractions import Fraction
from functools import lru_cache

import numpy as np
import pytest
from scipy.stats import kendalltau, norm

from layers.hotspots_emerging import (EXACT_MAX_SLICES, _exact_tail, inversion_counts, mann_kendall,
                                      min_trend_slices)


def s_stat(x) -> int:
    return sum(int(b > a) - int(b < a) for a, b in itertools.combinations(x, 2))


def brute_p(x) -> float:
    """P(|S| >= |s|) over all distinct arrangements of x, each equally likely."""
    arrangements = set(itertools.permutations(x))
    s = abs(s_stat(x))
    return sum(abs(s_stat(a)) >= s for a in arrangements) / len(arrangements)


# --- by hand --------------------------------------------------------------------------------------

def test_strictly_monotone_series_by_hand():
    # only the sorted arrangement and its mirror reach |S| = N
    z, p = mann_kendall(np.array([[1, 2, 3, 4], [4, 3, 2, 1]], dtype=float))
    assert p.tolist() == pytest.approx([2 / 24, 2 / 24], abs=1e-15)
    assert z[0] > 0 > z[1]
    assert mann_kendall([1, 2, 3, 4, 5])[1][0] == pytest.approx(2 / 120, abs=1e-15)
    assert mann_kendall([3.0, 1.0, 2.0])[1][0] == 1.0  # S = -1: every arrangement has |S| >= 1


def test_no_trend_gives_p_one_and_short_series():
    assert mann_kendall([1, 3, 2, 2, 3, 1])[1][0] == pytest.approx(brute_p([1, 3, 2, 2, 3, 1]))
    assert mann_kendall([5, 5, 5])[1][0] == 1.0
    assert mann_kendall([2.0])[1][0] == 1.0 and mann_kendall([2.0])[0][0] == 0.0
    z, p = mann_kendall([1.0, 2.0])
    assert p[0] == 1.0  # two slices: S = +-1 whatever happens


# --- brute force over distinct arrangements --------------------------------------------------------

@pytest.mark.parametrize("seed", range(12))
def test_exact_p_equals_brute_force_for_random_tie_patterns(seed):
    rng = np.random.default_rng(seed)
    t = int(rng.integers(3, 8))  # T <= 7: at most 5040 permutations
    levels = int(rng.integers(1, t + 1))
    rows = rng.integers(0, levels, size=(5, t)).astype(float)
    _, p = mann_kendall(rows)
    for row, got in zip(rows, p):
        assert got == pytest.approx(brute_p(tuple(row)), abs=1e-12)


def test_every_arrangement_of_one_multiset_against_brute_force():
    base = (0, 0, 1, 1, 1, 2, 3)  # tie pattern (1, 1, 2, 3)
    arrangements = sorted(set(itertools.permutations(base)))
    _, p = mann_kendall(np.array(arrangements, dtype=float))
    s = np.array([s_stat(a) for a in arrangements])
    want = [(np.abs(s) >= abs(v)).mean() for v in s]
    assert np.allclose(p, want, atol=1e-12, rtol=0)


@lru_cache(maxsize=None)
def _words(m: tuple[int, ...]) -> tuple[int, ...]:
    """Inversion distribution of words with m[j] copies of letter j, by the first letter placed
    (an independent recursion: placing letter j first adds one inversion per smaller letter left)."""
    if sum(m) == 0:
        return (1,)
    out: dict[int, int] = {}
    for j, mj in enumerate(m):
        if mj:
            rest = m[:j] + (mj - 1,) + m[j + 1:]
            add = sum(m[:j])
            for inv, c in enumerate(_words(rest)):
                out[inv + add] = out.get(inv + add, 0) + c
    return tuple(out.get(i, 0) for i in range(max(out) + 1))


@pytest.mark.parametrize("pattern", [(1, 1, 1), (2, 2), (1, 2, 3), (3, 3, 3), (1, 1, 1, 1, 4),
                                     (2, 5, 1, 4), (6, 6), (1,) * 9 + (3,), (2, 3, 4, 3)])
def test_q_multinomial_equals_an_independent_recursion(pattern):
    counts = inversion_counts(tuple(sorted(pattern)))
    assert tuple(counts) == _words(pattern)
    t = sum(pattern)
    assert sum(counts) == math.factorial(t) // math.prod(math.factorial(m) for m in pattern)
    assert counts == counts[::-1]  # S is symmetric about 0


def test_twelve_slices_with_ties_against_the_independent_recursion():
    rng = np.random.default_rng(3)
    for _ in range(5):
        x = rng.integers(0, 5, 12)
        values, m = np.unique(x, return_counts=True)
        dist = _words(tuple(int(v) for v in m))
        n_pairs = len(dist) - 1
        s = abs(s_stat(tuple(x)))
        want = Fraction(sum(c for inv, c in enumerate(dist) if abs(n_pairs - 2 * inv) >= s), sum(dist))
        assert mann_kendall(x.astype(float))[1][0] == float(want)  # correctly rounded: equal, not close


# --- accuracy and the large-T switch --------------------------------------------------------------

@pytest.mark.parametrize("t", [6, 10, 17, 25, 30])
def test_without_ties_matches_scipy_exact_kendall(t):
    rng = np.random.default_rng(t)
    for _ in range(3):
        x = rng.permutation(t).astype(float)
        want = kendalltau(np.arange(t), x, method="exact").pvalue
        assert mann_kendall(x)[1][0] == pytest.approx(want, rel=1e-9, abs=1e-300)


def test_thirty_slices_exact_to_the_last_bit():
    # 30! = 2.65e32 > 2**53: counts are Python ints, each p one correctly rounded division
    tail = _exact_tail((1,) * 30)
    assert tail[0] == 1.0
    assert tail[-1] == float(Fraction(2, math.factorial(30)))
    assert np.all(np.diff(tail) <= 0)
    assert mann_kendall(np.arange(30.0))[1][0] == float(Fraction(2, math.factorial(30)))


def test_above_thirty_slices_the_normal_approximation():
    assert EXACT_MAX_SLICES == 30
    rng = np.random.default_rng(5)
    x = np.arange(31.0) + rng.normal(0, 8, 31)
    z, p = mann_kendall(x)
    assert p[0] == pytest.approx(2 * norm.sf(abs(z[0])), rel=1e-12)
    # at 30 slices exact and normal agree to within a little for a middling trend
    z30, p30 = mann_kendall(x[:30])
    assert p30[0] == pytest.approx(2 * norm.sf(abs(z30[0])), abs=0.01)


def test_distribution_is_cached_per_tie_pattern_and_fast():
    rng = np.random.default_rng(11)
    rows = np.round(rng.normal(size=(5000, 12)), 1)  # a few ties here and there
    rows[:2500] = rng.integers(0, 3, size=(2500, 12))  # heavy ties: few patterns
    _exact_tail.cache_clear()
    start = time.perf_counter()
    _, p = mann_kendall(rows)
    assert time.perf_counter() - start < 5
    patterns = {tuple(sorted(np.unique(r, return_counts=True)[1])) for r in rows}
    assert _exact_tail.cache_info().misses == len(patterns) < 200
    assert ((p > 0) & (p <= 1)).all()
    for i in (0, 1, 2600, 4999):  # spot checks against a plain computation of the same thing
        x = rows[i]
        values, m = np.unique(x, return_counts=True)
        dist = _words(tuple(int(v) for v in m))
        n_pairs = len(dist) - 1
        s = abs(s_stat(tuple(x)))
        assert p[i] == pytest.approx(sum(c for inv, c in enumerate(dist) if abs(n_pairs - 2 * inv) >= s) / sum(dist))


# --- too few periods ------------------------------------------------------------------------------

def test_min_trend_slices():
    assert min_trend_slices() == 5  # 2/4! = 0.083 >= 0.05 > 2/5! = 0.017
    assert min_trend_slices(0.05) == 5
    assert min_trend_slices(0.10) == 4
    assert min_trend_slices(0.01) == 6  # 2/5! = 0.017 >= 0.01 > 2/6! = 0.0028
    assert min_trend_slices(0.5) == 3  # two slices never: p = 1
    # the promise holds: at min_trend_slices a monotone series is significant, one slice fewer it is not
    for alpha in (0.2, 0.05, 0.01, 0.001):
        t = min_trend_slices(alpha)
        assert mann_kendall(np.arange(float(t)))[1][0] < alpha <= mann_kendall(np.arange(float(t - 1)))[1][0]
    with pytest.raises(ValueError, match="alpha"):
        min_trend_slices(0)
