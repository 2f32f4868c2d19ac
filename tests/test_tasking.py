"""Tasking page: windows, the period rule, hot and busiest blocks, change classes and peaks against SQL written out here."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard.pages import tasking as page
from dashboard.reports_ops import (block_peaks, comparison, gather_tasking, peaks, tasking_frame, tasking_table,
                                   tasking_window)
from data.store import queries
from data.store import queries_ops
from data.store.filters import Filters
from data.store.queries import ScopedStore
from data.access.roles import Scope

WESTMINSTER, HACKNEY = "E09000033", "E09000012"
DEC = Filters(start=date(2025, 12, 4), end=date(2025, 12, 31))  # counted as the whole of December


def truth_blocks(store, start: str, end: str, boroughs=None) -> pd.DataFrame:
    """Per block: ED placed on a street or better inside the days, police of the months inside them."""
    where = "" if boroughs is None else "AND borough_code IN (SELECT unnest(?::VARCHAR[]))"
    params = [start, end, start, end] + ([list(boroughs)] if boroughs else [])
    return store.df(f"""
        SELECT block_id, count(*) FILTER (WHERE source = 'ed') AS ed, count(*) FILTER (WHERE source = 'police') AS police
        FROM incidents
        WHERE block_id IS NOT NULL AND (
              (source = 'ed' AND geocode_confidence IN ('venue', 'street')
               AND CAST(occurred_at AS DATE) BETWEEN ?::DATE AND ?::DATE)
           OR (source = 'police' AND category = 'Violence and sexual offences'
               AND month BETWEEN ?::DATE AND ?::DATE)) {where}
        GROUP BY block_id ORDER BY block_id""", params)


def test_window_is_the_last_month_and_compares_with_the_12_before_or_a_year_before():
    assert tasking_window(date(2025, 12, 31)) == (date(2025, 12, 1), date(2025, 12, 31))
    base = comparison(DEC, "baseline")  # DEC is counted as all of December
    assert (base.start, base.end) == (date(2024, 12, 1), date(2025, 11, 30))
    year = comparison(DEC, "year")
    assert (year.start, year.end) == (date(2024, 12, 1), date(2024, 12, 31))
    leap = comparison(Filters(start=date(2024, 2, 1), end=date(2024, 2, 29)), "year")
    assert (leap.start, leap.end) == (date(2023, 2, 1), date(2023, 2, 28))
    feb = comparison(Filters(start=date(2025, 2, 1), end=date(2025, 2, 28)), "year")
    assert (feb.start, feb.end) == (date(2024, 2, 1), date(2024, 2, 29))  # whole months: 29 days, compared per day
    ed_only = Filters(start=date(2025, 12, 4), end=date(2025, 12, 31), sources=("ed",))
    base = comparison(ed_only, "baseline")  # exact days without police: 12 x 28 days before
    assert (base.start, base.end) == (date(2025, 1, 2), date(2025, 12, 3))
    with pytest.raises(ValueError, match="expected one of \\['baseline', 'year'\\]"):
        comparison(DEC, "previous")


def test_block_counts_equal_sql_over_the_counted_months(store):
    ours = queries_ops.tasking_block_counts(store, DEC)
    truth = truth_blocks(store, "2025-12-01", "2025-12-31")
    assert (ours[["block_id", "ed", "police"]].to_numpy() == truth[["block_id", "ed", "police"]].to_numpy()).all()
    assert truth["ed"].sum() > 5 and truth["police"].sum() > 100
    nov = queries_ops.tasking_block_counts(store, Filters(start=date(2025, 11, 6), end=date(2025, 11, 20)))
    whole = store.df("""SELECT count(*) FROM incidents WHERE source = 'police' AND block_id IS NOT NULL
                        AND category = 'Violence and sexual offences' AND month = DATE '2025-11-01'""").iat[0, 0]
    assert nov["police"].sum() == whole  # part of November counts the whole month of police records


def test_hot_blocks_are_the_shared_definition(store):
    for f in (DEC, Filters(start=date(2025, 11, 1), end=date(2025, 11, 30), boroughs=(WESTMINSTER,))):
        stats = queries_ops.tasking_blocks(store, f)
        hot = stats.loc[stats["hot"]]
        assert set(hot["block_id"]) == set(queries.hot_blocks(store, f)["block_id"])
        assert (hot["q"] < 0.05).all()


def test_peaks_list_the_busiest_keys_or_say_spread():
    assert peaks({4: 2, 5: 3, 6: 3}, lambda k: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][k]) == "Sat, Sun"
    assert peaks({}) == "–" and peaks({1: 0}) == "–"
    assert peaks({1: 1, 2: 1, 3: 1, 4: 1}) == "spread"
    dh = pd.DataFrame({"block_id": [7, 7, 7, 8], "weekday": [4, 5, 5, 0], "hour": [23, 23, 1, 12], "n": [1, 1, 1, 5]})
    assert block_peaks(dh, 7) == ("Sat", "23:00-00:00") and block_peaks(dh, 8) == ("Mon", "12:00-13:00")
    assert block_peaks(dh, 9) == ("–", "–")


def test_tasking_table_tests_change_and_ed_excess_over_every_block_on_hand_built_counts():
    ids = [10, 11, 12, 13] + list(range(100, 140))
    stats = pd.DataFrame({"block_id": ids, "street": [f"S{i}" for i in ids], "borough_code": WESTMINSTER,
                          "ed": [30, 1, 10, 0] + [1] * 40, "police": [10, 3, 0, 0] + [1] * 40})
    stats["total"] = stats["ed"] + stats["police"]
    stats["rate_per_100m"], stats["hot"], stats["q"] = 1.0, [True] + [False] * 43, 0.01
    listed = stats.iloc[:4].assign(rank=[1, 2, 3, 4])
    # 12 windows before: expected = baseline / 12. 10: 60 -> 5 (40 now: rising); 11: 48 -> 4 (4: steady);
    # 12: none before, 10 now (p = 2 / 13^10: new); 13: 240 -> 20, none now (p = (12/13)^240 x 2: gone)
    compare = pd.DataFrame({"block_id": [10, 11, 13, 999] + list(range(100, 140)),
                            "ed": [30, 24, 120, 50] + [12] * 40, "police": [30, 24, 120, 50] + [12] * 40})
    dh = pd.DataFrame({"block_id": [10, 10], "weekday": [5, 5], "hour": [23, 0], "n": [20, 10]})
    t = tasking_table(stats, listed, compare, dh, ratio=1 / 12)
    assert list(t["previous_total"]) == [60, 48, 0, 240]
    assert list(t["expected"]) == pytest.approx([5, 4, 0, 20])
    assert list(t["change_class"]) == ["rising", "steady", "new", "gone"]
    assert list(t["peak_days"]) == ["Sat", "–", "–", "–"] and t.loc[0, "peak_hours"] == "23:00-00:00"
    # the area's mix is 82 ED : 54 police; 12 has 10 ED and no police (p = 2 x (82/136)^10 ~ 0.013 before BH)
    assert t.loc[0, "ed_per_police"] == 3.0 and np.isnan(t.loc[2, "ed_per_police"])
    assert list(t["ed_excess"]) == [False, False, False, False]  # nothing beyond chance after BH over 42 blocks
    many = stats.assign(ed=[30, 1, 60, 0] + [1] * 40)
    t = tasking_table(many, many.iloc[:4].assign(rank=[1, 2, 3, 4]), compare, dh, ratio=1 / 12)
    assert list(t["ed_excess"]) == [False, False, True, False]  # 60 ED, no police: beyond chance


def test_callback_numbers_equal_sql_for_police(signed_in, store):
    with signed_in("police"):
        summary, rows, fig_map, hours, pack, csv, search, method, columns = page.update_view(
            [WESTMINSTER, HACKNEY], None, None, "baseline", 20, "busiest")
    truth = truth_blocks(store, "2025-12-01", "2025-12-31", [WESTMINSTER, HACKNEY]).set_index("block_id")
    before = truth_blocks(store, "2024-12-01", "2025-11-30", [WESTMINSTER, HACKNEY]).set_index("block_id")
    text = str(summary)
    assert f"'{truth['ed'].sum():,}'" in text and f"'{truth['police'].sum():,}'" in text
    assert "other" not in [c["field"] for c in columns]  # no extra source chosen: no column for one
    assert len(rows) == 20 and {r["borough_code"] for r in rows} <= {WESTMINSTER, HACKNEY}
    totals = (truth["ed"] + truth["police"]).sort_values(ascending=False, kind="stable")
    assert [r["total"] for r in rows] == sorted(totals.to_numpy()[:20].tolist(), reverse=True)
    for r in rows:
        t = truth.loc[r["block_id"]]
        b = before.loc[r["block_id"]] if r["block_id"] in before.index else {"ed": 0, "police": 0}
        assert (r["ed"], r["police"], r["total"]) == (t["ed"], t["police"], t["ed"] + t["police"])
        assert float(r["expected"]) == pytest.approx((b["ed"] + b["police"]) * 31 / 365, abs=0.051)
        assert r["borough"] in ("Westminster", "Hackney")
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert search == f"?borough={WESTMINSTER}%2C{HACKNEY}&from=2025-12-01&to=2025-12-31&list=busiest"
    assert pack == "/download/tasking/pack.html" + search and csv == "/download/tasking/pack.csv" + search
    ed_on_listed = sum(int(truth.loc[r["block_id"], "ed"]) for r in rows)
    assert int(np.nansum(np.asarray(hours.data[0].z, float))) == ed_on_listed
    assert fig_map.data[-1].name == "Rank" and len(fig_map.data[-1].lat) == len(rows)
    assert "negative-binomial" in method and "whole calendar months" in method and "365 days" in method


def test_hot_list_holds_only_significant_blocks(signed_in, store):
    with signed_in("police"):
        summary, rows, *_ = page.update_view([WESTMINSTER], "2025-12-01", "2025-12-31", "baseline", 50, "hot")
    hot = queries.hot_blocks(store, Filters(boroughs=(WESTMINSTER,), start=date(2025, 12, 1), end=date(2025, 12, 31)))
    assert [r["block_id"] for r in rows] == hot["block_id"].head(50).tolist()
    assert all(r["hot"] == "yes" for r in rows)
    assert f"'{len(hot):,}'" in str(summary)


def test_same_months_last_year(signed_in, store):
    with signed_in("police"):
        _, rows, *_, search, _, _ = page.update_view([WESTMINSTER], "2025-12-04", "2025-12-31", "year", 10, "busiest")
    before = truth_blocks(store, "2024-12-01", "2024-12-31", [WESTMINSTER]).set_index("block_id")
    assert len(rows) == 10 and "cmp=year" in search and "top=10" in search
    for r in rows:
        b = before.loc[r["block_id"]] if r["block_id"] in before.index else {"ed": 0, "police": 0}
        assert float(r["expected"]) == pytest.approx(b["ed"] + b["police"])


def test_a_scoped_store_returns_nothing_for_another_borough(store):
    scoped = ScopedStore(store, Scope(boroughs=(HACKNEY,), record_level=False))
    t = gather_tasking(scoped, DEC.with_(boroughs=(WESTMINSTER,)), listing="busiest")
    assert t.table.empty and t.totals == {"ed": 0, "police": 0, "other": 0}
    t = gather_tasking(scoped, DEC, listing="busiest")
    assert set(t.table["borough_code"]) == {HACKNEY}
    frame = tasking_frame(t, record_level=False)
    for col in ("expected", "change", "per_100m", "ed_per_police"):
        assert all(isinstance(v, str) for v in frame[col])
    small = t.table["previous_total"].between(1, 4)
    assert (frame.loc[small, "expected"] == "*").all() and (frame.loc[small, "change"] == "*").all()


def test_bad_url_values_fall_back_with_notes():
    bounds = (date(2023, 1, 1), date(2025, 12, 31))
    f, mode, top, notes, listing = page.read_view("?cmp=decade&top=7&list=coolest", set(), bounds)
    assert (mode, top, listing) == ("baseline", 20, "hot") and (f.start, f.end) == (date(2025, 12, 1), date(2025, 12, 31))
    assert any("baseline, year" in n for n in notes) and any("10, 20, 50" in n for n in notes)
    assert any("hot, busiest" in n for n in notes)


@pytest.mark.parametrize("level", ["record", "protected"])
@pytest.mark.parametrize("start,end,sources", [(date(2025, 12, 1), date(2025, 12, 31), ("ed", "police")),
                                               (date(2025, 11, 4), date(2025, 12, 20), ("ed", "police")),
                                               (date(2025, 12, 3), date(2025, 12, 23), ("ed",))])
def test_windows_counted_in_one_query_equal_each_window_counted_alone(store, level, start, end, sources):
    """The grouped query behind emerging hot spots counts each window exactly as the window's own query does
    (the period rule, whole months for protected viewers, their perturbed values keyed per cell)."""
    from data.store.filters import windows_before
    viewer = ScopedStore(store, Scope(level=level, record_level=False)) if level != "record" else store
    f = Filters(boroughs=("E09000012", "E09000033"), start=start, end=end, sources=sources)
    windows = windows_before(f, 6)
    grouped = queries_ops.windows_block_counts(viewer, windows)
    for i, w in enumerate(windows):
        alone = queries_ops.tasking_block_counts(viewer, w).set_index("block_id").eval("ed + police")
        together = grouped.get(i, pd.Series(dtype="int64"))
        assert together.sort_index().to_dict() == alone[alone > 0].sort_index().to_dict() or \
            together.sort_index().to_dict() == alone.sort_index().to_dict()
    assert sum(len(v) for v in grouped.values()) > 20
