"""Tasking page: windows, police months, hot blocks, change classes and peaks against SQL written out here."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard.pages import tasking as page
from dashboard.reports_ops import (block_peaks, comparison, gather_tasking, peaks, tasking_frame, tasking_table,
                                   tasking_window, understated)
from data.store import queries
from data.store import queries_ops
from data.store.filters import Filters
from data.store.queries import ScopedStore
from data.access.roles import Scope

WESTMINSTER, HACKNEY = "E09000033", "E09000012"
DEC = Filters(start=date(2025, 12, 4), end=date(2025, 12, 31))


def truth_blocks(store, start: str, end: str, boroughs=None) -> pd.DataFrame:
    """Per block: ED placed on a street or better inside the days, police whose month's 16th is inside."""
    where = "" if boroughs is None else "AND borough_code IN (SELECT unnest(?::VARCHAR[]))"
    params = [start, end, start, end] + ([list(boroughs)] if boroughs else [])
    return store.df(f"""
        SELECT block_id, count(*) FILTER (WHERE source = 'ed') AS ed, count(*) FILTER (WHERE source = 'police') AS police
        FROM incidents
        WHERE block_id IS NOT NULL AND (
              (source = 'ed' AND geocode_confidence IN ('venue', 'street')
               AND CAST(occurred_at AS DATE) BETWEEN ?::DATE AND ?::DATE)
           OR (source = 'police' AND category = 'Violence and sexual offences'
               AND make_date(year(month), month(month), 16) BETWEEN ?::DATE AND ?::DATE)) {where}
        GROUP BY block_id ORDER BY block_id""", params)


def test_window_is_the_last_28_days_and_compares_with_the_28_before_or_a_year_before():
    assert tasking_window(date(2025, 12, 31)) == (date(2025, 12, 4), date(2025, 12, 31))
    prev = comparison(DEC, "previous")
    assert (prev.start, prev.end) == (date(2025, 11, 6), date(2025, 12, 3))
    year = comparison(DEC, "year")
    assert (year.start, year.end) == (date(2024, 12, 4), date(2024, 12, 31))
    leap = comparison(Filters(start=date(2024, 2, 1), end=date(2024, 2, 29)), "year")
    assert (leap.start, leap.end) == (date(2023, 2, 1), date(2023, 2, 28))
    with pytest.raises(ValueError, match="expected 'previous' or 'year'"):
        comparison(DEC, "month")


def test_a_police_month_counts_in_the_window_holding_its_16th():
    assert queries_ops.police_months(date(2025, 12, 4), date(2025, 12, 31)) == [date(2025, 12, 1)]
    assert queries_ops.police_months(date(2025, 11, 6), date(2025, 12, 3)) == [date(2025, 11, 1)]
    assert queries_ops.police_months(date(2025, 12, 17), date(2025, 12, 31)) == []
    assert queries_ops.police_months(date(2025, 1, 1), date(2025, 3, 31)) == [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]


def test_block_counts_equal_sql_and_consecutive_windows_share_no_police_month(store):
    ours = queries_ops.tasking_block_counts(store, DEC)
    truth = truth_blocks(store, "2025-12-04", "2025-12-31")
    assert ours.reset_index(drop=True).equals(truth.reset_index(drop=True)) or (
        ours[["block_id", "ed", "police"]].to_numpy() == truth[["block_id", "ed", "police"]].to_numpy()).all()
    assert truth["ed"].sum() > 5 and truth["police"].sum() > 100
    before = queries_ops.tasking_block_counts(store, comparison(DEC, "previous"))
    nov = store.df("""SELECT count(*) FROM incidents WHERE source = 'police' AND block_id IS NOT NULL
                      AND category = 'Violence and sexual offences' AND month = DATE '2025-11-01'""").iat[0, 0]
    assert before["police"].sum() == nov


def test_hot_blocks_are_the_shared_definition_when_the_month_rules_agree(store):
    # over whole months the police rule is the shared filter's; ED placed on a street or better in both
    nov = Filters(start=date(2025, 11, 1), end=date(2025, 11, 30))
    ours = queries_ops.tasking_hot_blocks(store, nov)
    assert len(ours) > 20
    assert ours.equals(queries.hot_blocks(store, nov))


def test_peaks_list_the_busiest_keys_or_say_spread():
    assert peaks({4: 2, 5: 3, 6: 3}, lambda k: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][k]) == "Sat, Sun"
    assert peaks({}) == "–" and peaks({1: 0}) == "–"
    assert peaks({1: 1, 2: 1, 3: 1, 4: 1}) == "spread"
    dh = pd.DataFrame({"block_id": [7, 7, 7, 8], "weekday": [4, 5, 5, 0], "hour": [23, 23, 1, 12], "n": [1, 1, 1, 5]})
    assert block_peaks(dh, 7) == ("Sat", "23:00-00:00") and block_peaks(dh, 8) == ("Mon", "12:00-13:00")
    assert block_peaks(dh, 9) == ("–", "–")


def test_police_under_states_a_block_with_ed_and_no_police_or_twice_the_areas_ratio():
    assert understated(2, 0, 100, 1000)
    assert understated(3, 10, 100, 1000)          # 0.3 >= 2 x 0.1
    assert not understated(1, 10, 100, 1000)      # 0.1 is the area's ratio
    assert not understated(0, 0, 100, 1000) and not understated(0, 5, 100, 1000)


def test_tasking_table_classes_changes_on_hand_built_blocks():
    hot = pd.DataFrame({"rank": [1, 2, 3, 4], "block_id": [10, 11, 12, 13], "street": list("ABCD"),
                        "borough_code": [WESTMINSTER] * 4, "ed": [30, 1, 0, 2], "police": [10, 3, 4, 0],
                        "total": [40, 4, 4, 2], "reason": ["gi*+top-n", "top-n", "top-n", "top-n"]})
    previous = pd.DataFrame({"block_id": [10, 11, 13, 99], "ed": [2, 1, 1, 50], "police": [3, 3, 1, 50]})
    dh = pd.DataFrame({"block_id": [10, 10], "weekday": [5, 5], "hour": [23, 0], "n": [20, 10]})
    t = tasking_table(hot, previous, dh, {"ed": 100, "police": 1000})
    assert list(t["previous_total"]) == [5, 4, 0, 2]
    assert list(t["change_class"]) == ["rising", "steady", "new", "steady"]
    assert list(t["peak_days"]) == ["Sat", "–", "–", "–"] and t.loc[0, "peak_hours"] == "23:00-00:00"
    assert list(t["understated"]) == [True, True, False, True]
    assert t.loc[0, "ed_per_police"] == 3.0 and np.isnan(t.loc[3, "ed_per_police"])


def test_callback_numbers_equal_sql_for_police(signed_in, store):
    with signed_in("police"):
        summary, rows, fig_map, hours, pack, csv, search = page.update_view([WESTMINSTER, HACKNEY], None, None, "previous", 20)
    truth = truth_blocks(store, "2025-12-04", "2025-12-31", [WESTMINSTER, HACKNEY]).set_index("block_id")
    before = truth_blocks(store, "2025-11-06", "2025-12-03", [WESTMINSTER, HACKNEY]).set_index("block_id")
    assert f"<b>{truth['ed'].sum()}</b>" not in str(summary)  # rendered as components, not HTML
    text = str(summary)
    assert f"'{truth['ed'].sum():,}'" in text and f"'{truth['police'].sum():,}'" in text
    assert f"'{before['ed'].sum() + before['police'].sum():,}'" in text
    assert 0 < len(rows) <= 20 and {r["borough_code"] for r in rows} <= {WESTMINSTER, HACKNEY}
    for r in rows:
        t = truth.loc[r["block_id"]]
        b = before.loc[r["block_id"]] if r["block_id"] in before.index else {"ed": 0, "police": 0}
        assert (r["ed"], r["police"], r["total"]) == (t["ed"], t["police"], t["ed"] + t["police"])
        assert r["previous_total"] == b["ed"] + b["police"]
        assert r["borough"] in ("Westminster", "Hackney")
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert search == f"?borough={WESTMINSTER}%2C{HACKNEY}&from=2025-12-04&to=2025-12-31"
    assert pack == "/download/tasking/pack.html" + search and csv == "/download/tasking/pack.csv" + search
    ed_on_hot = sum(int(truth.loc[r["block_id"], "ed"]) for r in rows)
    assert int(np.nansum(np.asarray(hours.data[0].z, float))) == ed_on_hot
    assert fig_map.data[-1].name == "Rank" and len(fig_map.data[-1].lat) == len(rows)


def test_same_window_last_year(signed_in, store):
    with signed_in("police"):
        _, rows, *_, search = page.update_view([WESTMINSTER], "2025-12-04", "2025-12-31", "year", 10)
    before = truth_blocks(store, "2024-12-04", "2024-12-31", [WESTMINSTER]).set_index("block_id")
    assert len(rows) == 10 and "cmp=year" in search and "top=10" in search
    for r in rows:
        b = before.loc[r["block_id"]] if r["block_id"] in before.index else {"ed": 0, "police": 0}
        assert r["previous_total"] == b["ed"] + b["police"]


def test_a_scoped_store_returns_nothing_for_another_borough(store):
    scoped = ScopedStore(store, Scope(boroughs=(HACKNEY,), record_level=False))
    t = gather_tasking(scoped, DEC.with_(boroughs=(WESTMINSTER,)))
    assert t.table.empty and t.totals == {"ed": 0, "police": 0}
    t = gather_tasking(scoped, DEC)
    assert set(t.table["borough_code"]) == {HACKNEY}
    frame = tasking_frame(t, record_level=False)
    small = [v for v in frame["previous_total"] if isinstance(v, (int, np.integer)) and 0 < v < 5]
    assert small == []


def test_bad_url_values_fall_back_with_notes():
    bounds = (date(2023, 1, 1), date(2025, 12, 31))
    f, mode, top, notes = page.read_view("?cmp=decade&top=7", set(), bounds)
    assert (mode, top) == ("previous", 20) and (f.start, f.end) == (date(2025, 12, 4), date(2025, 12, 31))
    assert any("previous or year" in n for n in notes) and any("10, 20, 50" in n for n in notes)
