"""Hot-spot statistics on tiny hand-built inputs with hand-computed answers, and Gi* against PySAL."""
from __future__ import annotations

import math
import numpy as np
import pandas as pd
import pytest
import shapely
from h3.api import basic_int as h3i
from scipy.stats import false_discovery_control

from layers.hotspots import (DEFAULT_HARM_WEIGHTS, bh_fdr, concentration, gi_star, harm_weights,
                             neighbours_block, neighbours_hex, period_change, rank_hot_blocks,
                             study_area_hexes, weights_matrix)


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
    assert res["class"].tolist() == ["steady", "gone", "new", "steady", "steady"]


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
    # borough A: a 5x5 grid of blocks 0..24 with a busy 3x3 centre; borough B: blocks 100-101
    nb = grid_neighbours(5, 5)
    nb.update({100: [101], 101: [100]})
    blocks = pd.DataFrame({
        "block_id": list(range(25)) + [100, 101],
        "street": [f"Street {i}" for i in range(25)] + ["High St", "Low St"],
        "borough_code": ["E09000001"] * 25 + ["E09000002"] * 2,
        "length_m": [50.0] * 25 + [200.0, 0.0],
    })
    ed = pd.Series(0, index=range(25))
    ed[[6, 7, 8, 11, 13, 16, 17, 18]] = 6
    ed[12] = 6
    police = pd.Series(0, index=range(25))
    police[[6, 7, 8, 11, 13, 16, 17, 18]] = 4
    police[12] = 5
    counts = pd.DataFrame({"ed": ed, "police": police})
    counts.loc[100] = [1, 0]
    counts.loc[555] = [40, 40]  # outside the study area: ignored
    return counts, blocks, nb


def test_hot_blocks_by_gi_star_or_top_n_per_borough(two_boroughs):
    counts, blocks, nb = two_boroughs
    gi = gi_star((counts["ed"] + counts["police"]).reindex(blocks["block_id"], fill_value=0), nb)
    assert gi.index[gi["hot"]].tolist() == [12]  # only the centre of the cluster
    res = rank_hot_blocks(counts, blocks, nb, top_n=2)
    assert res["block_id"].tolist() == [12, 6, 100]
    assert res["reason"].tolist() == ["gi*+top-n", "top-n", "top-n"]  # 6 wins the 10-10 tie with 7
    assert res["rank"].tolist() == [1, 2, 3]
    assert res["total"].tolist() == [11, 10, 1] and res["ed"].tolist() == [6, 6, 1]
    assert res["rate_per_100m"].tolist() == pytest.approx([22.0, 20.0, 0.5])
    assert res.loc[0, "gi_z"] == pytest.approx(gi.loc[12, "gi_z"]) and res.loc[0, "p_fdr"] < 0.05
    assert res.loc[2, "street"] == "High St" and res.loc[2, "borough_code"] == "E09000002"
    assert list(res.columns) == ["block_id", "street", "borough_code", "ed", "police", "total",
                                 "rate_per_100m", "gi_z", "p_fdr", "reason", "rank"]
    assert rank_hot_blocks(counts, blocks, weights_matrix(blocks["block_id"], nb), top_n=2).equals(res)


def test_zero_count_blocks_are_never_top_n_but_can_be_gi_hot(two_boroughs):
    counts, blocks, nb = two_boroughs
    counts.loc[12] = [0, 0]  # the centre is empty but sits among eight busy blocks
    res = rank_hot_blocks(counts, blocks, nb, top_n=0)
    assert res["block_id"].tolist() == [12] and res["reason"].tolist() == ["gi*"]
    assert res["total"].tolist() == [0]
    res = rank_hot_blocks(counts, blocks, nb, top_n=5)
    assert 101 not in res["block_id"].tolist()  # borough B's second block has no incident


def test_hot_blocks_with_no_length_get_no_rate(two_boroughs):
    counts, blocks, nb = two_boroughs
    counts.loc[101] = [2, 0]
    res = rank_hot_blocks(counts, blocks, nb, top_n=2).set_index("block_id")
    assert math.isnan(res.loc[101, "rate_per_100m"])


def test_hot_blocks_refuse_missing_columns(two_boroughs):
    counts, blocks, nb = two_boroughs
    with pytest.raises(ValueError, match="block_counts needs columns ed, police; missing \\['police'\\]"):
        rank_hot_blocks(counts.drop(columns="police"), blocks, nb)
    with pytest.raises(ValueError, match="blocks lists block_id \\[3\\] more than once"):
        rank_hot_blocks(counts, pd.concat([blocks, blocks.iloc[[3]]]), nb)
