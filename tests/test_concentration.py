"""Concentration of incidents on street blocks against random allocation by length: hand-computed tiny cases."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from layers.concentration import (SHARES, concentration_curve, concentration_table, table_and_curve,
                                  unallocated_blocks)


def _blocks(counts, lengths=None):
    ids = pd.Index(range(100, 100 + len(counts)), name="block_id")
    lengths = [100.0] * len(counts) if lengths is None else lengths
    return pd.Series(counts, index=ids), pd.Series(lengths, index=ids, dtype=float)


def test_one_busy_block_of_ten_holds_everything():
    t = concentration_table(*_blocks([5] + [0] * 9))
    assert list(t.index) == list(SHARES)
    assert t["blocks"].tolist() == [1, 1, 1, 2, 5]          # ceil(x * 10)
    assert t["incidents"].tolist() == [5] * 5
    assert t["observed"].tolist() == [1.0] * 5
    assert (t["ratio"] == t["observed"] / t["random"]).all()
    # at random: every one of the 10**5 ways to put 5 incidents on 10 equal blocks is equally likely
    ways = np.stack(np.meshgrid(*[np.arange(10)] * 5, indexing="ij"), -1).reshape(-1, 5)
    per_block = -np.sort(-np.stack([(ways == b).sum(1) for b in range(10)], 1), axis=1)
    exact = {k: per_block[:, :k].sum(1).mean() / 5 for k in (1, 2, 5)}
    # by hand, E[busiest] = sum of P(busiest >= m): 1 + (1 - 10*9*8*7*6 / 10**5) + 10 * (10*81 + 5*9 + 1) / 10**5
    # + 10 * (5*9 + 1) / 10**5 + 10 / 10**5 = 1.7879 incidents of 5
    assert exact[1] == pytest.approx(1.7879 / 5)
    assert t["random"].tolist() == pytest.approx([exact[1]] * 3 + [exact[2], exact[5]], abs=0.04)


def test_zero_count_blocks_count_as_blocks():
    t = concentration_table(*_blocks([4, 4] + [0] * 18), shares=(0.05, 0.10, 0.5))
    assert t["blocks"].tolist() == [1, 2, 10]
    assert t["observed"].tolist() == [0.5, 1.0, 1.0]


def test_ties_are_broken_by_block_id_and_the_share_is_the_same_either_way():
    counts, lengths = _blocks([1, 3, 0, 3, 0, 0, 0, 0, 0, 0])
    t = concentration_table(counts, lengths, shares=(0.1, 0.2, 0.3))
    assert t["incidents"].tolist() == [3, 6, 7]
    assert t["observed"].tolist() == pytest.approx([3 / 7, 6 / 7, 1.0])


def test_blocks_round_up_without_float_noise():
    t = concentration_table(*_blocks([1] * 100), shares=(0.07, 0.005, 1.0))
    assert t["blocks"].tolist() == [7, 1, 100]              # 0.07 * 100 is 7.000000000000001 in floats
    t30 = concentration_table(*_blocks([1] * 30), shares=(0.05,))
    assert t30["blocks"].tolist() == [2]                     # ceil(1.5)


def test_random_share_with_equal_lengths_and_many_incidents_is_the_share_of_blocks():
    t = concentration_table(*_blocks([1_000_000] + [0] * 9), shares=(0.1, 0.2, 0.5), draws=50)
    # sorting a draw lifts the busiest block a little above 1/10 (by ~1.5 standard deviations of 300 in 100,000)
    assert t["random"].tolist() == pytest.approx([0.1, 0.2, 0.5], abs=0.003)
    assert t.loc[0.1, "random"] > 0.1
    assert t.loc[0.1, "ratio"] == pytest.approx(10, rel=0.01)


def test_random_share_follows_length():
    # one block has 90 % of the street length: at random it gets ~90 % of the incidents
    t = concentration_table(*_blocks([0] * 9 + [1_000_000], [900.0] + [100 / 9] * 9), shares=(0.1,), draws=50)
    assert t.loc[0.1, "random"] == pytest.approx(0.9, abs=0.002)
    assert t.loc[0.1, "observed"] == 1.0                     # the observed busiest is the short block 109


def test_random_share_by_hand_on_two_blocks():
    # one incident: whichever block gets it is the busiest, every draw
    t = concentration_table(*_blocks([1, 0]), shares=(0.5, 1.0))
    assert t["random"].tolist() == [1.0, 1.0]
    # two incidents on two equal blocks: both on one block (probability 1/2) or one each, so the
    # busiest block holds 2 or 1, on average 1.5 of 2 = 0.75 (200 draws: standard error 0.018)
    t = concentration_table(*_blocks([2, 0]), shares=(0.5,))
    assert t.loc[0.5, "random"] == pytest.approx(0.75, abs=0.06)
    assert t.loc[0.5, "observed"] == 1.0


def test_blocks_without_length_stay_blocks_but_get_nothing_at_random():
    counts, lengths = _blocks([2, 0, 0, 0], [np.nan, 0.0, 100.0, 100.0])
    assert unallocated_blocks(lengths) == 2
    t = concentration_table(counts, lengths, shares=(0.25, 0.5))
    assert t["blocks"].tolist() == [1, 2]                    # 4 blocks, not 2
    assert t["observed"].tolist() == [1.0, 1.0]              # the observed incidents on the unmeasured block count
    assert t.loc[0.5, "random"] == 1.0                       # both measured blocks hold every incident at random
    assert t.loc[0.25, "random"] == pytest.approx(0.75, abs=0.06)


def test_no_incidents_and_no_blocks_give_empty_frames():
    for counts, lengths in (_blocks([0, 0, 0]), _blocks([])):
        table, curve = table_and_curve(counts, lengths)
        assert table.empty and curve.empty
        assert list(table.columns) == ["blocks", "incidents", "observed", "random", "ratio"]
        assert list(curve.columns) == ["share_blocks", "blocks", "incidents", "observed", "random"]
    # nothing to allocate: blocks without length are no error
    assert concentration_table(*_blocks([0, 0], [0.0, np.nan])).empty


def test_curve_by_hand_and_in_step_with_the_table():
    counts, lengths = _blocks([6, 3, 1, 0, 0, 0, 0, 0, 0, 0])
    curve = concentration_curve(counts, lengths)
    assert curve["blocks"].tolist() == list(range(11))       # fewer blocks than points: one row per block
    assert curve["share_blocks"].tolist() == pytest.approx([k / 10 for k in range(11)])
    assert curve["observed"].tolist() == pytest.approx([0, 0.6, 0.9, 1.0] + [1.0] * 7)
    assert curve["random"].iloc[0] == 0 and curve["random"].iloc[-1] == 1.0
    assert (np.diff(curve["random"]) >= 0).all() and (curve["observed"] >= curve["random"] - 1e-12).all()
    table = concentration_table(counts, lengths, shares=(0.1, 0.2, 0.5))
    on_curve = curve.set_index("blocks").loc[table["blocks"]]
    assert on_curve["random"].tolist() == table["random"].tolist()  # the same draws for the same seed
    big = concentration_curve(*_blocks([1] * 1000))
    assert len(big) == 101 and big["blocks"].iloc[5] == 50


def test_the_same_seed_gives_the_same_numbers_whatever_the_input_order():
    rng = np.random.default_rng(7)
    counts, lengths = _blocks(rng.poisson(2, 500).tolist(), rng.uniform(20, 400, 500).tolist())
    first = concentration_table(counts, lengths)
    pd.testing.assert_frame_equal(first, concentration_table(counts, lengths))
    order = rng.permutation(len(counts))
    pd.testing.assert_frame_equal(first, concentration_table(counts.iloc[order], lengths.iloc[order]))
    other = concentration_table(counts, lengths, seed=1)
    assert other["observed"].tolist() == first["observed"].tolist()
    assert other["random"].tolist() != first["random"].tolist()
    assert other["random"].tolist() == pytest.approx(first["random"].tolist(), rel=0.05)


@pytest.mark.parametrize("counts, lengths, kwargs, message", [
    ([1, -1], None, {}, "counts: expected whole numbers of incidents"),
    ([1, 0.5], None, {}, "bad values at blocks \\[101\\]"),
    ([1, np.nan], None, {}, "counts: expected whole numbers"),
    ([1, 0], [100.0, -3.0], {}, "lengths: expected metres, 0 or more"),
    ([1, 0], [100.0, np.inf], {}, "lengths: expected metres"),
    ([1, 0], [0.0, np.nan], {}, "at least one block with a positive length"),
    ([1, 0], None, {"shares": (0.0,)}, "expected shares of blocks above 0 and at most 1"),
    ([1, 0], None, {"shares": (1.5,)}, "expected shares of blocks"),
    ([1, 0], None, {"shares": ()}, "expected shares of blocks"),
    ([1, 0], None, {"draws": 0}, "draws was 0: expected a whole number of random draws"),
    ([0, 0], None, {"shares": (2,)}, "expected shares of blocks"),       # refused even with no incidents
])
def test_bad_inputs_say_what_was_expected(counts, lengths, kwargs, message):
    with pytest.raises(ValueError, match=message):
        concentration_table(*_blocks(counts, lengths), **kwargs)


def test_blocks_must_match():
    counts, lengths = _blocks([1, 2, 3])
    with pytest.raises(ValueError, match=r"lengths: expected a length for every block.*missing for \[102\]"):
        concentration_table(counts, lengths.iloc[:2])
    with pytest.raises(ValueError, match="counts: expected one value per block, but block ids \\[100\\] repeat"):
        concentration_table(pd.Series([1, 2], index=[100, 100]), pd.Series([1.0], index=[100]))
    with pytest.raises(ValueError, match="expected a pandas Series"):
        concentration_table([1, 2], lengths)
    with pytest.raises(ValueError, match="points was 0"):
        concentration_curve(counts, lengths, points=0)
