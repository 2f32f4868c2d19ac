"""Mann-Kendall by hand, and every emerging hot spot category on planted 5x5 grid series."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau, norm

from layers.hotspots import EMERGING_CATEGORIES, emerging, gi_star, mann_kendall
from tests.test_hotspots import grid_neighbours

NB = grid_neighbours(5, 5)
CENTRE = 12
CLUSTER = [6, 7, 8, 11, 12, 13, 16, 17, 18]


def _hot(centre: float = 10.0) -> np.ndarray:
    y = np.zeros(25)
    y[CLUSTER] = 10.0
    y[CENTRE] = centre
    return y


# slice patterns: H makes the centre the only hot spot, C its only cold spot, N shows nothing;
# FADING[k] is hot at the centre with a z that falls as k grows (the centre outgrows its ring)
H = _hot()
C = 10.0 - H
N = np.zeros(25)
FADING = [_hot(10.0 + 4 * k) for k in range(10)]
COOLING = [50.0 - y for y in FADING]  # mirror: cold at the centre, z rising towards 0


def cube(*slices) -> pd.DataFrame:
    return pd.DataFrame(np.column_stack(slices), columns=[f"t{i}" for i in range(len(slices))])


def centre(*slices, alpha: float = 0.05) -> pd.Series:
    return emerging(cube(*slices), NB, alpha).loc[CENTRE]


# --- Mann-Kendall ---------------------------------------------------------------------------------

def test_mann_kendall_by_hand_with_a_tie():
    # x = 1 2 2 4 3: S = 4 + 2 + 2 - 1 = 7; one tie pair: Var = (5*4*15 - 2*1*9) / 18 = 282/18
    # Z = (7 - 1) / sqrt(282/18) = 1.515873;  p = 2 * (1 - Phi(Z)) = 0.129551
    z, p = mann_kendall([1, 2, 2, 4, 3])
    assert z[0] == pytest.approx(6 / math.sqrt(282 / 18), abs=1e-12)
    assert p[0] == pytest.approx(0.129551, abs=1e-6)
    # without the continuity correction it is Kendall's tau against time (scipy's asymptotic z)
    tau = kendalltau(np.arange(5), [1, 2, 2, 4, 3], method="asymptotic")
    assert 2 * norm.sf(7 / math.sqrt(282 / 18)) == pytest.approx(tau.pvalue)


def test_mann_kendall_rows_downward_flat_and_all_tied():
    z, p = mann_kendall(np.array([[5, 4, 3, 2, 1], [1, 1, 1, 1, 1], [2, 2, 1, 1, 0]], dtype=float))
    # row 0: S = -10, Var = 5*4*15/18 = 50/3 -> Z = -9/sqrt(50/3);  row 1: Var 0 -> 0, p 1
    assert z[0] == pytest.approx(-9 / math.sqrt(50 / 3))
    assert z[1] == 0 and p[1] == 1
    # row 2: S = -8; ties 2,2 and 1,1: Var = (300 - 2*18) / 18 -> Z = -7 / sqrt(264/18)
    assert z[2] == pytest.approx(-7 / math.sqrt(264 / 18))


def test_float_noise_does_not_break_a_tie():
    # 0.1 + 0.2 != 0.3 in floats; as the tie it is, S = 0 + 1 + 1 = 2 and Var = (3*2*11 - 18) / 18
    z, _ = mann_kendall([0.1 + 0.2, 0.3, 1.0])
    assert z[0] == pytest.approx(1 / math.sqrt(48 / 18))


# --- the slice patterns themselves ---------------------------------------------------------------

def test_slice_patterns_flag_only_the_centre():
    for y, flag in ((H, "hot"), (C, "cold")):
        res = gi_star(pd.Series(y), NB)
        assert res.index[res[flag]].tolist() == [CENTRE]
        assert not res["cold" if flag == "hot" else "hot"].any()
    assert not gi_star(pd.Series(N), NB)[["hot", "cold"]].any().any()
    fading = [gi_star(pd.Series(y), NB) for y in FADING]
    assert all(r.index[r["hot"]].tolist() == [CENTRE] for r in fading)
    z = [r.loc[CENTRE, "gi_z"] for r in fading]
    assert all(a > b for a, b in zip(z, z[1:]))
    cooling = [gi_star(pd.Series(y), NB) for y in COOLING]
    assert all(r.index[r["cold"]].tolist() == [CENTRE] for r in cooling)


# --- categories ------------------------------------------------------------------------------------

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


@pytest.mark.parametrize("category", list(HOT_CASES) + list(COLD_CASES))
def test_each_category_on_a_planted_series(category):
    slices = {**HOT_CASES, **COLD_CASES}[category]
    row = centre(*slices)
    hot, cold, final_hot, final_cold = EXPECTED_FLAGS[category.split()[0]]
    if "cold" in category:
        hot, cold, final_hot, final_cold = cold, hot, final_cold, final_hot
    assert (row["hot_slices"], row["cold_slices"], row["final_hot"], row["final_cold"]) == (hot, cold, final_hot, final_cold)
    assert row["category"] == category


def test_trends_behind_the_trend_categories():
    up = centre(*FADING[::-1])
    assert up["trend_z"] == pytest.approx((45 - 1) / math.sqrt(10 * 9 * 25 / 18)) and up["trend_p"] < 0.001
    flat = centre(*[H] * 10)
    assert flat["trend_z"] == 0 and flat["trend_p"] == 1


def test_exact_p_method_reaches_the_same_categories_on_clear_patterns():
    assert emerging(cube(*[H] * 10), NB, p_method="exact").loc[CENTRE, "category"] == "persistent hot spot"
    assert emerging(cube(*[N] * 9, C), NB, p_method="exact").loc[CENTRE, "category"] == "new cold spot"


def test_sporadic_without_a_final_hot_slice_and_no_pattern():
    assert centre(N, H, N, N, H, N, N, N, N, N)["category"] == "sporadic hot spot"
    assert centre(N, C, N, N, N, N, N, N, N, N)["category"] == "sporadic cold spot"
    assert centre(*[N] * 10)["category"] == "no pattern"
    # hot and cold in the past, neither now: no ArcGIS pattern fits
    assert centre(N, H, N, C, N, N, N, N, N, N)["category"] == "no pattern"


def test_ninety_percent_boundary():
    # 9 of 10 hot including the last: >= 90 %, the lone early quiet slice gives no significant trend
    nine = centre(N, *[H] * 9)
    assert nine["hot_slices"] == 9 and nine["trend_p"] > 0.05 and nine["category"] == "persistent hot spot"
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


def test_output_shape_and_every_unit_gets_a_known_category():
    res = emerging(cube(*HOT_CASES["sporadic hot spot"]), NB)
    assert list(res.columns) == ["category", "trend_z", "trend_p", "hot_slices", "cold_slices", "final_hot", "final_cold"]
    assert res.index.tolist() == list(range(25))
    assert set(res["category"]) <= set(EMERGING_CATEGORIES)
    assert len(EMERGING_CATEGORIES) == 17


def test_emerging_refuses_one_slice_and_negative_counts():
    with pytest.raises(ValueError, match="series has 1 time slice\\(s\\) but a trend needs at least 2"):
        emerging(cube(H), NB)
    bad = cube(H, H)
    bad.iloc[3, 1] = -2
    with pytest.raises(ValueError, match="series must be finite and not negative.*units \\[3\\]"):
        emerging(bad, NB)
