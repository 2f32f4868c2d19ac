"""Hot-spot statistics on tiny hand-built inputs with hand-computed answers, and Gi* against PySAL."""
from __future__ import annotations

import math
import numpy as np
import pandas as pd
import pytest
import shapely
from h3.api import basic_int as h3i
from scipy.stats import false_discovery_control

from layers.hotspots import (DEFAULT_HARM_WEIGHTS, bh_fdr, block_statistics, busiest_of, concentration,
                             ed_excess, gi_star, harm_weights, neighbours_block, neighbours_hex, period_change,
                             rank_hot_blocks, study_area_hexes, weights_matrix)


def grid_neighbours(rows: int, cols: int, first_id: int = 0) -> dict[int, list[int]]:
    """Queen contiguity on a rows x cols grid, ids row by row from first_id."""
    nb = {}
    for r in range(rows):
        for c in range(cols):
            nb[first_id + r * cols + c] = [
                first_id + rr * cols + cc
                for rr in range(r - 1, r + 2) for cc in range(c - 1, c + 2)
                if 0 <= rr < rows and 0 <= cc < cols and (rr, cc) != (r, c)]
    return nb


PATH = {"a": ["b"], "b": ["a", "c"], "c": ["b", "d"], "d": ["c"]}


# --- weights ---------------------------------------------------------------------------

def test_weights_are_binary_with_self_and_ignore_strangers_repeats_and_self_listing():
    nb = {1: [2, 2, 1, 99], 2: [1, 3], 3: [2], 98: [1]}  # 99 and 98 are not study units; 4 is an island
    w = weights_matrix([1, 2, 3, 4], nb).toarray()
    assert w.tolist() == [[1, 1, 0, 0],
                          [1, 1, 1, 0],
                          [0, 1, 1, 0],
                          [0, 0, 0, 1]]


def test_weights_keep_h3_ids_exact_across_int_types():
    a, b = 2**60 + 1, 2**60 + 2  # as float64 both are 2**60: ids must never pass through floats
    w = weights_matrix(np.array([a, b], dtype=np.uint64), {np.int64(a): [np.int64(b)]})
    assert w.toarray().tolist() == [[1, 1], [0, 1]]


def test_a_prebuilt_weights_matrix_gives_the_same_answer_and_must_fit():
    counts = pd.Series([4, 0, 0, 0], index=list("abcd"))
    w = weights_matrix(counts.index, PATH)
    assert gi_star(counts, w).equals(gi_star(counts, PATH))
    with pytest.raises(ValueError, match="the weights matrix is 4 x 4 but there are 3 units"):
        gi_star(counts.iloc[:3], w)


def test_weights_refuse_repeated_unit_ids():
    with pytest.raises(ValueError, match="unit ids must be unique; repeated: \\[2\\]"):
        weights_matrix([1, 2, 2], {})


# --- Gi* by hand --------------------------------------------------------------------------

def test_gi_star_on_a_path_matches_the_hand_computation():
    # counts 4,0,0,0: mean 1, population variance 16/4 - 1 = 3.
    # a sees {a,b}: (4 - 2*1) / (sqrt(3) * sqrt(2*2/3)) = 1
    # b sees {a,b,c}: (4 - 3) / (sqrt(3) * sqrt(3*1/3)) = 1/sqrt(3)
    # c sees {b,c,d}: (0 - 3) / sqrt(3) = -sqrt(3);  d sees {c,d}: (0 - 2) / 2 = -1
    res = gi_star(pd.Series([4, 0, 0, 0], index=list("abcd")), PATH)
    assert res["gi_z"].tolist() == pytest.approx([1, 1 / math.sqrt(3), -math.sqrt(3), -1], abs=1e-12)
    assert res.loc["a", "p"] == pytest.approx(0.317311, abs=1e-6)  # two-sided normal at z = 1
    assert list(res.columns) == ["gi_z", "p", "p_fdr", "hot", "cold"]
    assert not res["hot"].any() and not res["cold"].any()


def test_island_is_scored_on_itself_alone():
    # e has no neighbours: z = (y_e - mean) / population sd = (6 - 2) / sqrt(52/5 - 2**2)
    counts = pd.Series([4, 0, 0, 0, 6], index=list("abcde"))
    res = gi_star(counts, PATH)
    assert res.loc["e", "gi_z"] == pytest.approx(4 / math.sqrt(52 / 5 - 4), abs=1e-12)


def test_neighbours_outside_the_counts_are_ignored_but_zero_units_count():
    counts = pd.Series([4, 0, 0, 0], index=list("abcd"))
    noisy = {**PATH, "a": ["b", "zz"], "zz": ["a"]}
    assert gi_star(counts, noisy).equals(gi_star(counts, PATH))
    # dropping the zero-count unit d changes the answer: zeros must be passed in
    assert gi_star(counts.drop("d"), PATH).loc["a", "gi_z"] != pytest.approx(1.0)


@pytest.mark.parametrize("values", [[3, 3, 3, 3], [0, 0, 0, 0], [0.1, 0.1, 0.1, 0.1]])
def test_constant_input_gives_no_evidence_instead_of_dividing_by_zero(values):
    res = gi_star(pd.Series(values, index=list("abcd")), PATH)
    assert res["gi_z"].tolist() == [0, 0, 0, 0]
    assert res["p"].tolist() == [1, 1, 1, 1] and res["p_fdr"].tolist() == [1, 1, 1, 1]
    assert not (res["hot"] | res["cold"]).any()


def test_a_unit_neighbouring_everything_gets_zero_not_nan():
    star = {"hub": ["a", "b", "c"], "a": ["hub"], "b": ["hub"], "c": ["hub"]}
    res = gi_star(pd.Series([9, 1, 0, 0], index=["hub", "a", "b", "c"]), star)
    assert res.loc["hub", "gi_z"] == 0 and np.isfinite(res["gi_z"]).all()


def test_planted_cluster_is_the_only_hot_spot_and_its_mirror_the_only_cold_spot():
    nb = grid_neighbours(5, 5)
    cluster = np.zeros(25)
    cluster[[6, 7, 8, 11, 12, 13, 16, 17, 18]] = 10
    hot = gi_star(pd.Series(cluster), nb)
    # centre: (90 - 9*3.6) / (4.8 * sqrt(9*16/24)) = 57.6 / (4.8 * sqrt(6))
    assert hot.loc[12, "gi_z"] == pytest.approx(57.6 / (4.8 * math.sqrt(6)), abs=1e-12)
    assert hot.index[hot["hot"]].tolist() == [12] and not hot["cold"].any()
    cold = gi_star(pd.Series(10 - cluster), nb)
    assert cold.index[cold["cold"]].tolist() == [12] and not cold["hot"].any()


@pytest.mark.parametrize("bad, where", [([1, -1, 0, 0], "'b'"), ([1, np.nan, 0, 0], "'b'")])
def test_negative_or_missing_counts_are_refused_naming_the_unit(bad, where):
    with pytest.raises(ValueError, match=f"counts must be finite and not negative.*units \\[{where}\\]"):
        gi_star(pd.Series(bad, index=list("abcd")), PATH)


def test_alpha_outside_zero_one_is_refused():
    with pytest.raises(ValueError, match="alpha was 5 but must be between 0 and 1"):
        gi_star(pd.Series([1, 0, 0, 0], index=list("abcd")), PATH, alpha=5)


# --- Benjamini-Hochberg -------------------------------------------------------------------

def test_bh_matches_the_hand_computed_step_up():
    # sorted 0.005, 0.01, 0.03, 0.04, 0.5 -> *5/rank: 0.025, 0.025, 0.05, 0.05, 0.5
    assert bh_fdr([0.01, 0.04, 0.03, 0.005, 0.5]).tolist() == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.5])
    # step-up: 0.04*3/2 = 0.06 is lowered to the larger p's 0.045*3/3 = 0.045
    assert bh_fdr([0.04, 0.01, 0.045]).tolist() == pytest.approx([0.045, 0.03, 0.045])
    p = np.random.default_rng(0).random(200) ** 3
    assert bh_fdr(p) == pytest.approx(false_discovery_control(p))
    assert bh_fdr([0.9, 0.8]).max() <= 1 and len(bh_fdr([])) == 0


def test_bh_on_a_matrix_adjusts_each_column_on_its_own():
    p = np.array([[0.01, 0.04], [0.04, 0.01], [0.045, 0.045]])
    q = bh_fdr(p)
    assert q[:, 0].tolist() == pytest.approx([0.03, 0.045, 0.045])
    assert q[:, 1].tolist() == pytest.approx([0.045, 0.03, 0.045])


# --- spatial units ------------------------------------------------------------------------

def test_hex_neighbours_are_only_cells_of_the_set_within_k():
    centre = h3i.latlng_to_cell(51.5074, -0.1278, 9)
    ring = h3i.grid_ring(centre, 1)
    r0, r3 = ring[0], ring[3]  # opposite sides of the ring: two steps apart
    far = h3i.grid_ring(centre, 5)[0]
    cells = np.array([centre, r0, r3, far], dtype=np.uint64)
    assert neighbours_hex(cells) == {c: v for c, v in {
        centre: sorted([r0, r3]), r0: [centre], r3: [centre], far: []}.items()}
    k2 = neighbours_hex(cells, k=2)
    assert k2[r0] == sorted([centre, r3]) and k2[far] == []
    with pytest.raises(ValueError, match="k was 0"):
        neighbours_hex(cells, k=0)


def test_study_area_hexes_are_the_cells_centred_inside_in_lat_lon_order():
    box = shapely.box(-0.14, 51.50, -0.12, 51.51)  # lon/lat, around Trafalgar Square
    cells = study_area_hexes([box], 9)
    assert cells.dtype == np.uint64 and len(cells) > 5 and (np.diff(cells.astype(np.int64)) > 0).all()
    centres = [h3i.cell_to_latlng(int(c)) for c in cells]
    assert all(box.contains(shapely.Point(lon, lat)) for lat, lon in centres)
    # the cells just outside the answer have their centres outside the box
    border = {d for c in cells for d in h3i.grid_disk(int(c), 1)} - set(cells.tolist())
    assert not any(box.contains(shapely.Point(h3i.cell_to_latlng(d)[::-1])) for d in border)


def test_study_area_hexes_take_multipolygons_and_leave_holes_out():
    outer = shapely.box(-0.20, 51.45, -0.10, 51.55)
    hole = shapely.box(-0.17, 51.48, -0.13, 51.52)
    with_hole = shapely.Polygon(outer.exterior, [hole.exterior])
    far = shapely.box(0.05, 51.40, 0.07, 51.42)
    cells = study_area_hexes(shapely.MultiPolygon([with_hole, far]), 8)
    centres = [shapely.Point(h3i.cell_to_latlng(int(c))[::-1]) for c in cells]
    assert not any(hole.contains(p) for p in centres)
    assert any(far.contains(p) for p in centres) and any(with_hole.contains(p) for p in centres)
    assert set(cells.tolist()) == set(study_area_hexes([with_hole], 8).tolist()) | set(study_area_hexes([far], 8).tolist())


def test_study_area_in_metres_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="not lon/lat degrees.*to_crs\\('EPSG:4326'\\)"):
        study_area_hexes([shapely.box(529000, 179000, 531000, 181000)], 9)
    with pytest.raises(ValueError, match="polygon 0 is a Point"):
        study_area_hexes([shapely.Point(0, 51)], 9)


def test_block_neighbours_share_a_junction():
    blocks = pd.DataFrame({"block_id": [1, 2, 3, 4, 5, 6],
                           "node_u": [10, 11, 12, 11, 50, 12],
                           "node_v": [11, 12, 13, 14, 51, 12]})  # 6 is a loop at junction 12
    assert neighbours_block(blocks) == {1: [2, 4], 2: [1, 3, 4, 6], 3: [2, 6], 4: [1, 2], 5: [], 6: [2, 3]}
    with pytest.raises(ValueError, match="missing \\['node_v'\\]"):
        neighbours_block(blocks.drop(columns="node_v"))


# --- concentration --------------------------------------------------------------------------

def test_concentration_table_and_share_of_units_holding_half():
    table, share = concentration(pd.Series([5, 0, 3, 2], index=list("abcd")))
    assert table.index.tolist() == ["a", "c", "d", "b"]
    assert table["count"].tolist() == [5, 3, 2, 0]
    assert table["cum_share_units"].tolist() == [0.25, 0.5, 0.75, 1.0]
    assert table["cum_share_incidents"].tolist() == pytest.approx([0.5, 0.8, 1.0, 1.0])
    assert share == 0.25  # a alone holds exactly 50 %


def test_concentration_breaks_ties_by_unit_and_needs_to_reach_half():
    table, share = concentration(pd.Series([3, 1, 3, 3], index=["z", "y", "b", "a"]))
    assert table.index.tolist() == ["a", "b", "z", "y"]
    assert share == 0.5  # 3 of 10 is short of half, 6 of 10 reaches it: 2 of 4 units


def test_concentration_of_nothing_is_empty_and_nan():
    table, share = concentration(pd.Series([0, 0], index=["a", "b"]))
    assert table.empty and list(table.columns) == ["count", "cum_share_units", "cum_share_incidents"]
    assert math.isnan(share)


# --- period change ----------------------------------------------------------------------------

def test_period_change_exact_binomial_and_classes():
    cur = pd.Series({"a": 10, "b": 0, "c": 3, "e": 1})
    prev = pd.Series({"a": 2, "b": 4, "d": 0, "e": 1})
    res = period_change(cur, prev)
    assert res.index.tolist() == ["a", "b", "c", "d", "e"]
    assert res["current"].tolist() == [10, 0, 3, 0, 1] and res["previous"].tolist() == [2, 4, 0, 0, 1]
    assert res["difference"].tolist() == [8, -4, 3, 0, 0]
    # a: 2 * P(X >= 10 | 12, 1/2) = 2 * (66 + 12 + 1) / 4096;  b: 2 / 16;  c: 2 / 8;  e: 1
    assert res["p"].tolist() == pytest.approx([158 / 4096, 0.125, 0.25, 1.0, 1.0])
    # BH over the four units with incidents (d has none): a 158/4096 * 4/1, b 0.125 * 4/2 ...
    assert res["p_fdr"].tolist() == pytest.approx([158 / 1024, 0.25, 1 / 3, 1.0, 1.0])
    # b (4 -> 0) and c (0 -> 3) are not significant: steady, not "gone" and "new"
    assert res["class"].tolist() == ["steady", "steady", "steady", "steady", "steady"]
    assert res["expected"].tolist() == [2, 4, 0, 0, 1]
    big = period_change(pd.Series({"n": 12, "g": 0}), pd.Series({"n": 0, "g": 12}))
    assert big["class"].to_dict() == {"g": "gone", "n": "new"}  # 2 * 0.5^12: significant


def test_period_change_rising_and_falling_need_fdr_significance():
    res = period_change(pd.Series({"up": 30, "down": 2, "flat": 5}), pd.Series({"up": 5, "down": 25, "flat": 6}))
    assert res["class"].to_dict() == {"down": "falling", "flat": "steady", "up": "rising"}
    assert (res.loc[["up", "down"], "p_fdr"] < 0.001).all()


def test_period_change_with_unequal_windows_uses_the_length_ratio():
    # current window twice as long: 8 against 4 is exactly the expected 2:1, p = 1
    same_rate = period_change(pd.Series({"a": 8}), pd.Series({"a": 4}), ratio=2.0)
    assert same_rate.loc["a", "p"] == pytest.approx(1.0)
    # with equal windows the same counts are 2 * P(X >= 8 | 12, 1/2) = 2 * 794 / 4096
    assert period_change(pd.Series({"a": 8}), pd.Series({"a": 4}))["p"].iloc[0] == pytest.approx(794 / 2048)
    # a window half as long expects 30:20 to be 10:20 (current ~ Bin(50, 1/3)); 30 is a rise
    half = period_change(pd.Series({"a": 30}), pd.Series({"a": 20}), ratio=0.5)
    assert half.loc["a", "class"] == "rising"
    assert period_change(pd.Series({"a": 30}), pd.Series({"a": 20}))["class"].iloc[0] == "steady"


def test_units_without_incidents_do_not_dilute_the_fdr():
    cur, prev = pd.Series({"a": 30, "b": 2}), pd.Series({"a": 5, "b": 25})
    alone = period_change(cur, prev)
    padded = period_change(pd.concat([cur, pd.Series(0, index=[f"z{i}" for i in range(500)])]), prev)
    assert padded.loc[["a", "b"], "p_fdr"].tolist() == pytest.approx(alone["p_fdr"].tolist())


def test_period_change_refuses_fractions_and_bad_ratios():
    with pytest.raises(ValueError, match="current must be whole counts.*\\['a'\\]"):
        period_change(pd.Series({"a": 1.5}), pd.Series({"a": 1}))
    with pytest.raises(ValueError, match="ratio was 0 but must be a positive number"):
        period_change(pd.Series({"a": 1}), pd.Series({"a": 1}), ratio=0)


# --- harm weights ----------------------------------------------------------------------------

def test_harm_weights_are_off_by_default_and_follow_the_table_when_given():
    cats = pd.Series(["01", "03", "Robbery", "Bicycle theft", None], index=[5, 6, 7, 8, 9])
    assert harm_weights(cats, None).tolist() == [1.0] * 5
    weighted = harm_weights(cats, DEFAULT_HARM_WEIGHTS)
    assert weighted.tolist() == [1.0, 6.0, 4.0, 1.0, 1.0] and weighted.index.tolist() == [5, 6, 7, 8, 9]
    with pytest.raises(ValueError, match="harm weights must be finite and not negative; got \\{'03': -1\\}"):
        harm_weights(cats, {"03": -1})


# --- hot blocks --------------------------------------------------------------------------------

@pytest.fixture
def two_boroughs():
    # borough A: a 15x15 grid of blocks 0..224, a sparse background (one incident on every 5th block) and
    # a busy 3x3 cluster centred on block 112; borough B: blocks 1000-1001
    nb = grid_neighbours(15, 15)
    nb.update({1000: [1001], 1001: [1000]})
    ids = list(range(225)) + [1000, 1001]
    blocks = pd.DataFrame({
        "block_id": ids,
        "street": [f"Street {i}" for i in range(225)] + ["High St", "Low St"],
        "borough_code": ["E09000001"] * 225 + ["E09000002"] * 2,
        "length_m": [50.0] * 225 + [200.0, 0.0],
    })
    ed = pd.Series(0, index=range(225))
    police = pd.Series(0, index=range(225))
    ed[list(range(0, 225, 5))] = 1
    cluster = [96, 97, 98, 111, 112, 113, 126, 127, 128]
    ed[cluster] = [5, 6, 5, 6, 7, 6, 5, 6, 5]
    police[cluster] = [4, 4, 4, 4, 5, 4, 4, 4, 4]
    counts = pd.DataFrame({"ed": ed, "police": police})
    counts.loc[1000] = [1, 0]
    counts.loc[5555] = [40, 40]  # outside the study area: ignored
    return counts, blocks, nb, cluster


def test_hot_blocks_are_those_the_test_flags_ranked_by_total(two_boroughs):
    counts, blocks, nb, cluster = two_boroughs
    stats = block_statistics(counts, blocks, nb)
    assert list(stats.columns) == ["block_id", "street", "borough_code", "length_m", "ed", "police", "other", "total",
                                   "rate_per_100m", "gi_z", "p", "q", "hot", "cold"]
    assert len(stats) == 227 and 5555 not in stats["block_id"].tolist()
    res = rank_hot_blocks(counts, blocks, nb)
    assert set(res["block_id"]) == set(cluster)  # every cluster block, nothing else
    assert res["block_id"].tolist()[:2] == [112, 97]  # 12 first, then the 10s by block id
    assert res["rank"].tolist() == list(range(1, 10))
    assert res.loc[0, "total"] == 12 and res.loc[0, "rate_per_100m"] == pytest.approx(24.0)
    assert (res["q"] < 0.05).all() and res["hot"].all()
    assert list(res.columns) == ["block_id", "street", "borough_code", "ed", "police", "other", "total",
                                 "rate_per_100m", "gi_z", "q", "hot", "rank"]
    assert rank_hot_blocks(counts, blocks, weights_matrix(blocks["block_id"], nb)).equals(res)
    # the ring around the cluster has significant neighbourhoods but quiet blocks: not hot
    ring = [82, 83, 84, 85, 86, 140, 141, 142]
    assert (stats.set_index("block_id").loc[ring, "q"] < 0.05).any()
    assert not stats.set_index("block_id").loc[ring, "hot"].any()


def test_busiest_blocks_are_a_ranking_not_a_test(two_boroughs):
    counts, blocks, nb, cluster = two_boroughs
    stats = block_statistics(counts, blocks, nb)
    top = busiest_of(stats, 12)
    assert top["block_id"].tolist()[:9] == [112, 97, 111, 113, 127, 96, 98, 126, 128]
    assert top["hot"].tolist() == [True] * 9 + [False] * 3  # the rest are busy-ish, not hot
    assert top["total"].tolist()[9:] == [1, 1, 1] and top["block_id"].tolist()[9:] == [0, 5, 10]
    assert busiest_of(stats, 0).empty
    assert 1001 not in busiest_of(stats, 500)["block_id"].tolist()  # no incident: never listed
    with pytest.raises(ValueError, match="top_n was 2.5"):
        busiest_of(stats, 2.5)


def test_nothing_is_hot_on_too_little_data(two_boroughs):
    counts, blocks, nb, _ = two_boroughs
    sparse = pd.DataFrame({"ed": [1, 1, 2], "police": [0, 1, 0]}, index=[3, 112, 1000])
    assert rank_hot_blocks(sparse, blocks, nb).empty
    noise = np.random.default_rng(4).poisson(0.3, 227)
    assert rank_hot_blocks(pd.DataFrame({"ed": noise, "police": 0}, index=blocks["block_id"]), blocks, nb).empty
    nothing = pd.DataFrame({"ed": [], "police": []}, dtype="int64")
    assert rank_hot_blocks(nothing, blocks, nb).empty


def test_hot_blocks_with_no_length_get_no_rate(two_boroughs):
    counts, blocks, nb, _ = two_boroughs
    counts.loc[1001] = [2, 0]
    stats = block_statistics(counts, blocks, nb).set_index("block_id")
    assert math.isnan(stats.loc[1001, "rate_per_100m"]) and stats.loc[1000, "rate_per_100m"] == pytest.approx(0.5)


def test_hot_blocks_refuse_missing_columns(two_boroughs):
    counts, blocks, nb, _ = two_boroughs
    with pytest.raises(ValueError, match="block_counts needs columns ed, police; missing \\['police'\\]"):
        rank_hot_blocks(counts.drop(columns="police"), blocks, nb)
    with pytest.raises(ValueError, match="blocks lists block_id \\[3\\] more than once"):
        rank_hot_blocks(counts, pd.concat([blocks, blocks.iloc[[3]]]), nb)


# --- ED against police ------------------------------------------------------------------------

def test_ed_excess_is_an_exact_binomial_test_against_the_areas_mix():
    # area: 60 ED, 60 police -> s = 1/2. a: 10 ED of 10 -> p = 2 * 0.5^10 = 1/512; b: 3 of 6 -> p = 1
    ed = pd.Series({"a": 10, "b": 3, "c": 47, "d": 0})
    police = pd.Series({"a": 0, "b": 3, "c": 57, "e": 0})
    res = ed_excess(ed, police)
    assert res.loc["a", "p"] == pytest.approx(1 / 512) and res.loc["b", "p"] == pytest.approx(1.0)
    # BH over the three units with records (d and e have none)
    assert res.loc["a", "q"] == pytest.approx(3 / 512)
    assert res["excess"].to_dict() == {"a": True, "b": False, "c": False, "d": False, "e": False}
    assert math.isnan(res.loc["a", "ed_per_police"]) and res.loc["b", "ed_per_police"] == 1.0
    # a unit with more police than the mix is never an ED excess, however significant
    flipped = ed_excess(police.reindex(ed.index, fill_value=0), ed)
    assert not flipped["excess"].any()


def test_ed_excess_needs_both_sources_somewhere():
    assert not ed_excess(pd.Series({"a": 5}), pd.Series({"a": 0}))["excess"].any()
    assert not ed_excess(pd.Series({"a": 0}), pd.Series({"a": 5}))["excess"].any()


def test_stable_rates_show_no_systematic_rise_among_blocks_chosen_for_a_high_count():
    # 5,000 blocks with stable, uneven rates; this window, and a baseline of 12 windows before it
    rng = np.random.default_rng(21)
    rate = rng.gamma(0.5, 2.0, 5000)
    now = pd.Series(rng.poisson(rate))
    before = pd.Series(rng.poisson(rate))          # the single previous window
    baseline = pd.Series(rng.poisson(12 * rate))   # the 12 windows before
    chosen = now.sort_values(ascending=False, kind="stable").index[:50]
    # chosen for a high count now, they "rose" against the previous window: regression to the mean
    assert now[chosen].mean() > 1.3 * before[chosen].mean()
    change = period_change(now, baseline, ratio=1 / 12)  # tested over every block, then the chosen read off
    assert (change.loc[chosen, "class"].isin(["rising", "new"])).sum() <= 1
    assert change["class"].isin(["rising", "new", "falling", "gone"]).sum() <= 3
    # a real rise is still seen
    risen = now.copy()
    risen[chosen[:10]] = rng.poisson(4 * rate[chosen[:10]] + 8)
    change = period_change(risen, baseline, ratio=1 / 12)
    assert (change.loc[chosen[:10], "class"] == "rising").sum() >= 8
