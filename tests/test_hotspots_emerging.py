"""Mann-Kendall by hand, and every emerging hot spot category: from hand-made flags (`classify`)
and from planted count series on a 41-unit path run through `local_hotspots` (`emerging`)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau, norm

from layers.hotspots_emerging import EMERGING_CATEGORIES, classify, emerging, mann_kendall, min_trend_slices
from layers.hotspots_gi import weights_matrix
from layers.hotspots_local import local_hotspots

# a path 0 - 1 - ... - 40; the planted unit is in the middle, a "distractor" unit far from it
N_UNITS = 41
PATH = {i: [j for j in (i - 1, i + 1) if 0 <= j < N_UNITS] for i in range(N_UNITS)}
CENTRE = 20
FAR = 2
# a busy, Poisson-like background (mean 10) for cold spots: a unit with no incident is only
# unusual where incidents are expected. Hot slices use a zero background.
BACKGROUND = np.array([8, 9, 10, 11, 12, 10, 9, 11, 10, 10] * 5, dtype=float)[:N_UNITS]


def planted(centre: float, far: float = 0.0, background: np.ndarray | None = None) -> np.ndarray:
    y = np.zeros(N_UNITS) if background is None else background.copy()
    y[CENTRE] = centre
    if background is not None and centre == 0:
        y[[CENTRE - 1, CENTRE + 1]] = 0  # a cold spot is a hole: on a path, the centre and its two neighbours
    if far:
        y[FAR] = far
    return y


# slice patterns: H makes the centre hot (zero background), C makes it cold (busy background, the
# centre empty), N is all zero and shows nothing. FADING[k] is hot at the centre with a Gi* z that
# falls as k grows (a far unit grows, raising the mean and variance); COOLING[k] is cold at the
# centre with z rising towards 0 as k grows (the same trick on the busy background).
H = planted(20)
C = planted(0, background=BACKGROUND)
N = np.zeros(N_UNITS)
FADING = [planted(20, far=4 * k) for k in range(10)]
COOLING = [planted(0, far=10 + 6 * k, background=BACKGROUND) for k in range(10)]


def cube(*slices) -> pd.DataFrame:
    return pd.DataFrame(np.column_stack(slices), columns=[f"t{i}" for i in range(len(slices))])


def centre(*slices, alpha: float = 0.05) -> pd.Series:
    return emerging(cube(*slices), PATH, alpha).loc[CENTRE]


# --- Mann-Kendall: z by hand (the p-values are in test_mann_kendall_exact.py) ----------------------

def test_mann_kendall_by_hand_with_a_tie():
    # x = 1 2 2 4 3: S = 4 + 2 + 2 - 1 = 7; one tie pair: Var = (5*4*15 - 2*1*9) / 18 = 282/18
    # Z = (7 - 1) / sqrt(282/18) = 1.515873
    z, p = mann_kendall([1, 2, 2, 4, 3])
    assert z[0] == pytest.approx(6 / math.sqrt(282 / 18), abs=1e-12)
    # exact p: 5!/2! = 60 distinct arrangements, N = 10 - 1 = 9 untied pairs, S = 9 - 2 inv;
    # |S| >= 7 needs 0 or 1 inversions (1 + 3 arrangements: swap 1|2, 2|3 or 3|4) or the mirror: 8/60
    assert p[0] == pytest.approx(8 / 60, abs=1e-15)
    # without the continuity correction Z is Kendall's tau against time (scipy's asymptotic z)
    tau = kendalltau(np.arange(5), [1, 2, 2, 4, 3], method="asymptotic")
    assert 2 * norm.sf(7 / math.sqrt(282 / 18)) == pytest.approx(tau.pvalue)


def test_mann_kendall_rows_downward_flat_and_all_tied():
    z, p = mann_kendall(np.array([[5, 4, 3, 2, 1], [1, 1, 1, 1, 1], [2, 2, 1, 1, 0]], dtype=float))
    # row 0: S = -10, Var = 5*4*15/18 = 50/3 -> Z = -9/sqrt(50/3), p = 2/5! exactly;  row 1: Var 0 -> 0, p 1
    assert z[0] == pytest.approx(-9 / math.sqrt(50 / 3))
    assert p[0] == pytest.approx(2 / 120, abs=1e-15)
    assert z[1] == 0 and p[1] == 1
    # row 2: S = -8; ties 2,2 and 1,1: Var = (300 - 2*18) / 18 -> Z = -7 / sqrt(264/18);
    # S = -8 is the most extreme of the 5!/(2!2!) = 30 arrangements: p = 2/30
    assert z[2] == pytest.approx(-7 / math.sqrt(264 / 18))
    assert p[2] == pytest.approx(2 / 30, abs=1e-15)


def test_float_noise_does_not_break_a_tie():
    # 0.1 + 0.2 != 0.3 in floats; as the tie it is, S = 0 + 1 + 1 = 2 and Var = (3*2*11 - 18) / 18
    z, p = mann_kendall([0.1 + 0.2, 0.3, 1.0])
    assert z[0] == pytest.approx(1 / math.sqrt(48 / 18))
    # 3 arrangements of {a, a, b}: aab (S = 2), aba (S = 0), baa (S = -2): P(|S| >= 2) = 2/3
    assert p[0] == pytest.approx(2 / 3, abs=1e-15)


# --- the slice patterns themselves ---------------------------------------------------------------

def test_slice_patterns_flag_only_the_centre():
    w = weights_matrix(pd.RangeIndex(N_UNITS), PATH)
    for y, flag, flagged in ((H, "hot", [CENTRE]), (C, "cold", [CENTRE - 1, CENTRE, CENTRE + 1])):
        res = local_hotspots(pd.Series(y), w)
        assert res.index[res[flag]].tolist() == flagged  # the halo rule keeps the hot centre's neighbours out
        assert not res["cold" if flag == "hot" else "hot"].any()
    assert not local_hotspots(pd.Series(N), w)[["hot", "cold"]].any().any()
    fading = [local_hotspots(pd.Series(y), w) for y in FADING]
    assert all(r.loc[CENTRE, "hot"] and not r["cold"].any() for r in fading)
    z = [r.loc[CENTRE, "gi_z"] for r in fading]
    assert all(a > b for a, b in zip(z, z[1:]))
    cooling = [local_hotspots(pd.Series(y), w) for y in COOLING]
    assert all(CENTRE in r.index[r["cold"]] and set(r.index[r["cold"]]) <= {CENTRE - 1, CENTRE, CENTRE + 1}
               for r in cooling)
    z = [r.loc[CENTRE, "gi_z"] for r in cooling]
    assert all(a < b < 0 for a, b in zip(z, z[1:]))


# --- categories from planted counts ---------------------------------------------------------------

HOT_CASES = {
    "new hot spot": [N] * 9 + [H],
    "consecutive hot spot": [N] * 7 + [H] * 3,
    "intensifying hot spot": FADING[::-1],
    "persistent hot spot": [H] * 10,
    "diminishing hot spot": FADING,
    "sporadic hot spot": [N, H, N, N, H, N, N, N, N, H],
    "oscillating hot spot": [N, C, N, N, N, N, N, N, N, H],
    "historical hot spot": [H] * 9 + [N],
}
COLD_CASES = {
    "new cold spot": [N] * 9 + [C],
    "consecutive cold spot": [N] * 7 + [C] * 3,
    "intensifying cold spot": COOLING[::-1],
    "persistent cold spot": [C] * 10,
    "diminishing cold spot": COOLING,
    "sporadic cold spot": [N, C, N, N, C, N, N, N, N, C],
    "oscillating cold spot": [N, H, N, N, N, N, N, N, N, C],
    "historical cold spot": [C] * 9 + [N],
}
EXPECTED_FLAGS = {  # (hot slices, cold slices, final hot, final cold) of the centre
    "new": (1, 0, True, False), "consecutive": (3, 0, True, False), "intensifying": (10, 0, True, False),
    "persistent": (10, 0, True, False), "diminishing": (10, 0, True, False),
    "sporadic": (3, 0, True, False), "oscillating": (1, 1, True, False), "historical": (9, 0, False, False),
}


def test_every_category_has_a_planted_case():
    assert set(HOT_CASES) | set(COLD_CASES) | {"no pattern"} == set(EMERGING_CATEGORIES)


@pytest.mark.parametrize("category", list(HOT_CASES) + list(COLD_CASES))
def test_each_category_on_a_planted_series(category):
    slices = {**HOT_CASES, **COLD_CASES}[category]
    res = emerging(cube(*slices), PATH)
    row = res.loc[CENTRE]
    hot, cold, final_hot, final_cold = EXPECTED_FLAGS[category.split()[0]]
    if "cold" in category:
        hot, cold, final_hot, final_cold = cold, hot, final_cold, final_hot
    assert (row["hot_slices"], row["cold_slices"], row["final_hot"], row["final_cold"]) == (hot, cold, final_hot, final_cold)
    assert row["category"] == category
    # the quiet units next to a hot centre are never flagged (local_hotspots' halo rule); a cold
    # hole is three units wide, and its sides are cold spots of the same pattern
    if "hot" in category and "oscillating" not in category:
        assert (res.loc[[CENTRE - 1, CENTRE + 1], "category"] == "no pattern").all()
    if "cold" in category and "oscillating" not in category:
        assert (res.loc[[CENTRE - 1, CENTRE + 1], "category"] == category).all()


def test_trends_behind_the_trend_categories():
    up = centre(*FADING[::-1])
    # strictly rising z over 10 slices: S = 45, Z = 44 / sqrt(10*9*25/18), exact p = 2 / 10!
    assert up["trend_z"] == pytest.approx((45 - 1) / math.sqrt(10 * 9 * 25 / 18))
    assert up["trend_p"] == pytest.approx(2 / math.factorial(10), rel=1e-12)
    flat = centre(*[H] * 10)
    assert flat["trend_z"] == 0 and flat["trend_p"] == 1


def test_no_pattern_and_the_sporadic_fix():
    assert centre(*[N] * 10)["category"] == "no pattern"
    # hot now and then but not in the final slice: ArcGIS's sporadic needs the final slice hot
    past = centre(N, H, N, N, H, N, N, N, N, N)
    assert past["hot_slices"] == 2 and not past["final_hot"] and past["category"] == "no pattern"
    assert centre(N, C, N, N, N, N, N, N, N, N)["category"] == "no pattern"
    # hot and cold in the past, neither now
    assert centre(N, H, N, C, N, N, N, N, N, N)["category"] == "no pattern"


def test_ninety_percent_boundary():
    # 9 of 10 hot including the last: >= 90 %, the lone early quiet slice gives no significant trend
    # (z = 0 then nine tied values: S = 9 is the most extreme of 10 arrangements, p = 2/10)
    nine = centre(N, *[H] * 9)
    assert nine["hot_slices"] == 9 and nine["trend_p"] == pytest.approx(0.2) and nine["category"] == "persistent hot spot"
    # 8 of 10, one run at the end: consecutive, not persistent
    assert centre(N, N, *[H] * 8)["category"] == "consecutive hot spot"
    # 8 of 10 with a gap: sporadic
    assert centre(H, N, N, *[H] * 7)["category"] == "sporadic hot spot"


def test_precedence_where_arcgis_wording_overlaps():
    # hot at the end after a cold slice: oscillating, not new
    assert centre(C, N, N, N, N, N, N, N, N, H)["category"] == "oscillating hot spot"
    # hot at the end after a cold slice, last two hot: oscillating, not consecutive
    assert centre(C, N, N, N, N, N, N, N, H, H)["category"] == "oscillating hot spot"
    # 9 of 10 hot but cold at the end: the final slice picks the cold side
    assert centre(*[H] * 9, C)["category"] == "oscillating cold spot"


def test_too_few_periods_for_a_trend():
    assert min_trend_slices(0.05) == 5
    # four slices of ever hotter clustering: the most extreme S has p = 2/4! = 0.083, never < 0.05
    four = emerging(cube(*FADING[:4][::-1]), PATH)
    assert four.attrs["slices"] == 4 and four.attrs["trend_possible"] is False
    assert four.attrs["min_trend_slices"] == 5
    assert four.loc[CENTRE, "trend_p"] == pytest.approx(2 / 24)
    assert four.loc[CENTRE, "category"] == "persistent hot spot"
    # five slices: p = 2/5! = 0.017 and the trend can show
    five = emerging(cube(*FADING[:5][::-1]), PATH)
    assert five.attrs["slices"] == 5 and five.attrs["trend_possible"] is True
    assert five.loc[CENTRE, "trend_p"] == pytest.approx(2 / 120)
    assert five.loc[CENTRE, "category"] == "intensifying hot spot"
    # at alpha = 0.10 four slices are enough
    assert emerging(cube(*FADING[:4][::-1]), PATH, alpha=0.10).attrs["trend_possible"] is True


def test_flags_and_trend_come_from_local_hotspots_per_slice():
    rng = np.random.default_rng(7)
    n, t = 60, 8
    path = {i: [j for j in (i - 1, i + 1) if 0 <= j < n] for i in range(n)}
    counts = rng.poisson(0.8, size=(n, t)).astype(float)
    counts[25:28, 3:] += rng.poisson(9, size=(3, t - 3))  # a cluster that appears at slice 3
    series = pd.DataFrame(counts, index=pd.RangeIndex(100, 100 + n), columns=list("abcdefgh"))
    nb = {k + 100: [v + 100 for v in vs] for k, vs in path.items()}
    res = emerging(series, nb)
    w = weights_matrix(series.index, nb)
    per_slice = [local_hotspots(series[c], w) for c in series.columns]
    hot = np.column_stack([r["hot"] for r in per_slice])
    cold = np.column_stack([r["cold"] for r in per_slice])
    z = np.column_stack([r["gi_z"] for r in per_slice])
    assert hot.any()
    assert (res["hot_slices"].to_numpy() == hot.sum(axis=1)).all()
    assert (res["cold_slices"].to_numpy() == cold.sum(axis=1)).all()
    assert (res["final_hot"].to_numpy() == hot[:, -1]).all()
    trend_z, trend_p = mann_kendall(z)
    assert np.allclose(res["trend_z"], trend_z) and np.allclose(res["trend_p"], trend_p)
    assert (res["category"].to_numpy() == classify(hot, cold, trend_z, trend_p, 0.05)).all()
    # a prebuilt weights matrix gives the same answer
    assert emerging(series, w).equals(res)


def test_output_shape_and_every_unit_gets_a_known_category():
    res = emerging(cube(*HOT_CASES["sporadic hot spot"]), PATH)
    assert list(res.columns) == ["category", "trend_z", "trend_p", "hot_slices", "cold_slices", "final_hot", "final_cold"]
    assert res.index.tolist() == list(range(N_UNITS))
    assert set(res["category"]) <= set(EMERGING_CATEGORIES)
    assert len(EMERGING_CATEGORIES) == 17
    assert res.attrs["slices"] == 10 and res.attrs["trend_possible"] is True


def test_emerging_refuses_one_slice_negative_and_fractional_counts():
    with pytest.raises(ValueError, match="series has 1 time slice\\(s\\) but a trend needs at least 2"):
        emerging(cube(H), PATH)
    bad = cube(H, H)
    bad.iloc[3, 1] = -2
    with pytest.raises(ValueError, match="series must be finite and not negative.*units \\[3\\]"):
        emerging(bad, PATH)
    frac = cube(H, H)
    frac.iloc[3, 1] = 0.5
    with pytest.raises(ValueError, match="whole numbers"):
        emerging(frac, PATH)
    with pytest.raises(TypeError):
        emerging(cube(H, H), PATH, p_method="exact")  # gone: the one local test is local_hotspots


# --- categories from hand-made flags (classify) ---------------------------------------------------

def flags(*patterns: str) -> tuple[np.ndarray, np.ndarray]:
    """'H' hot, 'C' cold, '.' neither; one string per unit, one character per slice."""
    hot = np.array([[c == "H" for c in p] for p in patterns])
    cold = np.array([[c == "C" for c in p] for p in patterns])
    return hot, cold


UP, DOWN, FLAT = (3.0, 0.001), (-3.0, 0.001), (0.5, 0.6)
CLASSIFY_CASES = [  # (flags, trend, category)
    ("........H.", FLAT, "no pattern"),
    ("..........", FLAT, "no pattern"),
    (".........H", FLAT, "new hot spot"),
    ("......HHHH", FLAT, "consecutive hot spot"),
    ("........HH", UP, "consecutive hot spot"),  # a trend matters only at >= 90 %
    ("HHHHHHHHHH", UP, "intensifying hot spot"),
    (".HHHHHHHHH", UP, "intensifying hot spot"),  # 9 of 10 is 90 %
    ("HHHHHHHHHH", FLAT, "persistent hot spot"),
    ("HHHHHHHHHH", DOWN, "diminishing hot spot"),
    ("H...H....H", FLAT, "sporadic hot spot"),
    ("HHHHH.HHHH", FLAT, "persistent hot spot"),  # 9 of 10 with a gap is still >= 90 %
    ("H...H.....", FLAT, "no pattern"),  # the sporadic fix: not hot at the end
    ("C........H", FLAT, "oscillating hot spot"),
    ("C.......HH", FLAT, "oscillating hot spot"),
    ("HHHHHHHHH.", UP, "historical hot spot"),  # not hot at the end: historical whatever the trend
    (".........C", FLAT, "new cold spot"),
    ("......CCCC", FLAT, "consecutive cold spot"),
    ("CCCCCCCCCC", DOWN, "intensifying cold spot"),
    ("CCCCCCCCCC", FLAT, "persistent cold spot"),
    ("CCCCCCCCCC", UP, "diminishing cold spot"),
    ("C...C....C", FLAT, "sporadic cold spot"),
    ("C...C.....", FLAT, "no pattern"),
    ("H........C", FLAT, "oscillating cold spot"),
    ("HHHHHHHHHC", FLAT, "oscillating cold spot"),  # the final slice picks the side
    ("CCCCCCCCC.", DOWN, "historical cold spot"),
    ("H..C......", FLAT, "no pattern"),
    ("H.C.H....C", FLAT, "oscillating cold spot"),
]


def test_classify_hand_made_flags():
    cases = CLASSIFY_CASES
    hot, cold = flags(*[f for f, _, _ in cases])
    trend_z = np.array([tr[0] for _, tr, _ in cases])
    trend_p = np.array([tr[1] for _, tr, _ in cases])
    got = classify(hot, cold, trend_z, trend_p, 0.05)
    for (f, tr, want), g in zip(cases, got):
        assert g == want, (f, tr, g)
    # every category is reached by the table
    assert set(got) == set(EMERGING_CATEGORIES)


def test_classify_sporadic_needs_the_final_slice_and_no_cold():
    hot, cold = flags("H.H.H.H.H.", ".H.H.H.H.H", ".H.H.C.H.H", "HH..HH..HH")
    got = classify(hot, cold, np.zeros(4), np.ones(4), 0.05)
    assert got.tolist() == ["no pattern", "sporadic hot spot", "oscillating hot spot", "sporadic hot spot"]
    hot, cold = flags("C.C.C.C.C.", ".C.C.C.C.C", ".C.C.H.C.C")
    got = classify(hot, cold, np.zeros(3), np.ones(3), 0.05)
    assert got.tolist() == ["no pattern", "sporadic cold spot", "oscillating cold spot"]


def test_classify_short_series_and_alpha():
    # 5 slices: 90 % means all 5; a run of 4 at the end is consecutive
    hot, cold = flags("HHHHH", ".HHHH", "H.HHH", "HHHH.")
    got = classify(hot, cold, np.array([3.0, 3.0, 3.0, 3.0]), np.full(4, 0.03), 0.05)
    assert got.tolist() == ["intensifying hot spot", "consecutive hot spot", "sporadic hot spot", "no pattern"]
    # the same trend p is not significant at alpha = 0.01
    assert classify(*flags("HHHHH"), np.array([3.0]), np.array([0.03]), 0.01).tolist() == ["persistent hot spot"]
