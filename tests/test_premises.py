"""Premises page: the ranking, flags, shares and profile checked against SQL written out here."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard.pages import premises as page
from dashboard.reports_ops import (change, evidence_frame, filter_premises, gather_profile, premises_display,
                                   premises_ranking, share)
from data.store import queries
from data.store import queries_ops
from data.store.filters import Filters
from data.store.queries import ScopedStore
from data.access.roles import Scope

WESTMINSTER, CAMDEN = "E09000033", "E09000007"
Y2025 = Filters(boroughs=(WESTMINSTER,), start=date(2025, 1, 1), end=date(2025, 12, 31))

HAVERSINE = ("6371008.8 * 2 * asin(sqrt(pow(sin(radians(i.lat - p.lat) / 2), 2) + cos(radians(p.lat)) * "
             "cos(radians(i.lat)) * pow(sin(radians(i.lon - p.lon) / 2), 2)))")


def truth_near(store, borough: str, start: str, end: str, radius: float) -> pd.DataFrame:
    """Per premises of a borough: counts within radius by brute force over every pair (no H3 rings)."""
    return store.df(f"""
        WITH i AS (
            SELECT * FROM incidents WHERE borough_code = ? AND lat IS NOT NULL AND (
                (source = 'ed' AND geocode_confidence IN ('venue', 'street')
                 AND occurred_at >= ?::DATE AND occurred_at < ?::DATE + 1)
             OR (source = 'police' AND category = 'Violence and sexual offences'
                 AND month >= ?::DATE AND month <= ?::DATE)))
        SELECT p.premises_id,
               count(i.source) FILTER (WHERE i.source = 'ed') AS ed,
               count(i.source) FILTER (WHERE i.source = 'police') AS police,
               count(i.source) FILTER (WHERE i.source = 'ed' AND (hour(i.occurred_at) >= 22 OR hour(i.occurred_at) < 6)) AS night,
               count(i.source) FILTER (WHERE i.source = 'ed' AND i.category = '04') AS glass
        FROM premises p LEFT JOIN i ON {HAVERSINE} <= ?
        WHERE p.borough_code = ? GROUP BY p.premises_id ORDER BY p.premises_id""",
        [borough, start, end, start, end, radius, borough])


def truth_named(store, borough: str, start: str, end: str) -> dict[str, int]:
    df = store.df("""SELECT replace(g.matched, 'premises:', '') AS premises_id, count(*) AS n
                     FROM incidents i JOIN geocode_matches g ON g.incident_id = i.incident_id
                     WHERE i.source = 'ed' AND i.borough_code = ? AND g.matched LIKE 'premises:%'
                       AND i.occurred_at >= ?::DATE AND i.occurred_at < ?::DATE + 1
                     GROUP BY 1""", [borough, start, end])
    return dict(zip(df["premises_id"], df["n"]))


def test_evidence_counts_equal_brute_force_sql(store):
    ev = queries_ops.premises_evidence(store, Y2025, 50).set_index("premises_id").sort_index()
    truth = truth_near(store, WESTMINSTER, "2025-01-01", "2025-12-31", 50).set_index("premises_id")
    assert list(ev.index) == list(truth.index) and len(ev) > 300
    assert truth["ed"].sum() > 20 and truth["police"].sum() > 100 and truth["night"].sum() > 5
    for ours, theirs in (("ed", "ed"), ("police", "police"), ("ed_night", "night"), ("ed_glass", "glass")):
        assert (ev[ours] == truth[theirs]).all(), ours
    assert (ev["total"] == truth["ed"] + truth["police"]).all()
    named = truth_named(store, WESTMINSTER, "2025-01-01", "2025-12-31")
    assert sum(named.values()) > 5
    assert ev["named"].to_dict() == {p: named.get(p, 0) for p in ev.index}
    # the previous equal window of a whole year is the whole year before
    prev = truth_near(store, WESTMINSTER, "2024-01-01", "2024-12-31", 50).set_index("premises_id")
    assert (ev["prev_ed"] == prev["ed"]).all() and (ev["prev_police"] == prev["police"]).all()
    # and the shared query layer's radius count agrees
    near = queries.premises_near(store, Y2025, 50).set_index("premises_id").sort_index()
    assert (near["ed"] == ev["ed"]).all() and (near["police"] == ev["police"]).all()


def test_a_bigger_radius_never_counts_fewer(store):
    small = queries_ops.premises_evidence(store, Y2025, 25).set_index("premises_id")
    big = queries_ops.premises_evidence(store, Y2025, 150).set_index("premises_id")
    truth = truth_near(store, WESTMINSTER, "2025-01-01", "2025-12-31", 150).set_index("premises_id")
    assert (big["total"] >= small["total"]).all() and big["total"].sum() > small["total"].sum()
    assert (big["ed"] == truth["ed"]).all()


def test_previous_window_is_whole_months_for_whole_months_else_days():
    from data.store.queries_ops import previous_window
    f = previous_window(Y2025)
    assert (f.start, f.end) == (date(2024, 1, 1), date(2024, 12, 31))
    f = previous_window(Y2025.with_(start=date(2025, 3, 1), end=date(2025, 4, 30)))
    assert (f.start, f.end) == (date(2025, 1, 1), date(2025, 2, 28))
    f = previous_window(Y2025.with_(start=date(2025, 3, 5), end=date(2025, 3, 14)))
    assert (f.start, f.end) == (date(2025, 2, 1), date(2025, 2, 28))  # with police records: whole months
    f = previous_window(Y2025.with_(start=date(2025, 3, 5), end=date(2025, 3, 14), sources=("ed",)))
    assert (f.start, f.end) == (date(2025, 2, 23), date(2025, 3, 4))  # ED only: the exact days


@pytest.mark.parametrize("radius, message", [(5, "10 to 250 metres"), (1000, "10 to 250 metres"), ("x", "number of metres")])
def test_radius_outside_the_range_is_refused_with_the_range(store, radius, message):
    with pytest.raises(ValueError, match=message):
        queries_ops.premises_evidence(store, Y2025, radius)


def test_hot_flags_follow_hot_blocks_and_shared_junctions(store):
    hot = set(queries.hot_blocks(store, Y2025)["block_id"])
    rows = page.ranked_rows(store, Y2025, 50)
    truth_next = set(store.df("""SELECT DISTINCT b.block_id FROM blocks b JOIN blocks h
                                 ON b.block_id <> h.block_id AND (b.node_u = h.node_u OR b.node_u = h.node_v
                                                                  OR b.node_v = h.node_u OR b.node_v = h.node_v)
                                 WHERE h.block_id IN (SELECT unnest(?::INTEGER[]))""", [sorted(int(h) for h in hot)])["block_id"])
    truth_next -= hot
    assert rows["in_hot"].sum() > 0 and rows["next_to_hot"].sum() > 0
    for b, in_hot, nxt in zip(rows["block_id"], rows["in_hot"], rows["next_to_hot"]):
        assert in_hot == (b in hot) and nxt == (b in truth_next)


def _frame(**cols):
    base = dict(premises_id=["A", "B", "C", "D"], name=["The Crown", "Bar Uno", "Kebab King", "The Anchor"],
                address=["1 High St", "2 Mill Lane", "3 High St", "4 Quay"], street=["High St", "Mill Lane", "High St", "Quay"],
                licence_type=["pub", "bar", "late_night_refreshment", "pub"], opens=["11:00"] * 4, closes=["23:00"] * 4,
                block_id=[10, 11, 12, None], ed=[3, 8, 0, 5], police=[9, 2, 4, 0], ed_night=[2, 6, 0, 5],
                ed_glass=[0, 4, 0, 1], named=[1, 0, 0, 7], prev_total=[12, 3, 1, 9])
    base.update(cols)
    df = pd.DataFrame(base)
    df["total"] = df["ed"] + df["police"]
    return df


def test_ranking_orders_by_total_then_ed_and_flags_blocks():
    ranked = premises_ranking(_frame(), hot_ids={11}, next_to_ids={10, 99})
    assert list(ranked["premises_id"]) == ["A", "B", "D", "C"]   # 12, 10 (8 ED), 5, 4
    assert list(ranked["rank"]) == [1, 2, 3, 4]
    assert list(ranked["in_hot"]) == [False, True, False, False]
    assert list(ranked["next_to_hot"]) == [True, False, False, False]   # D has no block: never flagged


def test_filter_by_type_minimum_and_name_or_street():
    ranked = premises_ranking(_frame(), set(), set())
    assert list(filter_premises(ranked, types=("pub",))["premises_id"]) == ["A", "D"]
    assert list(filter_premises(ranked, min_count=5)["premises_id"]) == ["A", "B", "D"]
    assert list(filter_premises(ranked, text="high st")["premises_id"]) == ["A", "C"]
    assert list(filter_premises(ranked, text="  CROWN ")["premises_id"]) == ["A"]
    assert filter_premises(ranked, types=("nightclub",)).empty


def test_shares_and_changes_hide_what_would_reveal_a_small_count():
    assert share(6, 8, True) == "75%" and share(0, 0, True) == "–"
    assert share(4, 8, False) == "*" and share(6, 8, False) == "75%" and share(3, 3, False) == "*"
    assert change(12, 9, True) == "+3" and change(9, 12, True) == "-3" and change(5, 5, False) == "0"
    assert change(12, 3, False) == "*" and change(12, 7, False) == "+5"


def test_display_for_aggregate_roles_suppresses_small_counts():
    ranked = premises_ranking(_frame(), {11}, set())
    exact = premises_display(ranked, True).set_index("premises_id")
    assert exact.loc["A", "ed"] == 3 and exact.loc["A", "night"] == "67%" and exact.loc["A", "change"] == "0"
    agg = premises_display(ranked, False).set_index("premises_id")
    # A: ED 3 is small, police 9 shown beside a total of 12 would give it back: '*'
    assert (agg.loc["A", "ed"], agg.loc["A", "police"], agg.loc["A", "total"]) == ("<5", "*", 12)
    assert agg.loc["A", "night"] == "*" and agg.loc["A", "named"] == "<5"
    # B: police 2 small, ED 8 hidden as '*'; 6 of 8 at night shown; glass 4 of 8 would reveal 4
    assert (agg.loc["B", "ed"], agg.loc["B", "police"]) == ("*", "<5")
    assert agg.loc["B", "night"] == "75%" and agg.loc["B", "glass"] == "*" and agg.loc["B", "hot"] == "in a hot block"
    # C: only police 4, total 4: both '<5'; nothing to share
    assert (agg.loc["C", "police"], agg.loc["C", "total"], agg.loc["C", "night"]) == ("<5", "<5", "–")
    assert agg.loc["D", "named"] == 7 and agg.loc["D", "change"] == "-4"
    # one row whose counts are all large, one part of it small after all: still suppressed
    one = premises_display(ranked[ranked["premises_id"] == "B"].reset_index(drop=True), False)
    assert (one.loc[0, "ed"], one.loc[0, "police"]) == ("*", "<5")
    big = premises_display(premises_ranking(_frame(ed=[30, 8, 6, 5], police=[9, 7, 6, 5]), set(), set()), False)
    assert list(big["ed"]) == [30, 8, 6, 5] and list(big["total"]) == [39, 15, 12, 10]


def _top_premises(store):
    ev = queries_ops.premises_evidence(store, Y2025, 50)
    return ev.sort_values(["ed", "total", "premises_id"], ascending=[False, False, True]).iloc[0]


def test_profile_numbers_equal_sql(store):
    top = _top_premises(store)
    pid = top["premises_id"]
    p = gather_profile(store, Y2025, pid, 50)
    truth = store.df(f"""SELECT i.* FROM incidents i, (SELECT lat, lon FROM premises WHERE premises_id = ?) p
                         WHERE i.borough_code = ? AND {HAVERSINE} <= 50 AND (
                           (i.source = 'ed' AND i.geocode_confidence IN ('venue', 'street') AND year(i.occurred_at) = 2025)
                           OR (i.source = 'police' AND i.category = 'Violence and sexual offences' AND year(i.month) = 2025))""",
                     [pid, WESTMINSTER])
    ed = truth[truth["source"] == "ed"]
    assert p.ed == len(ed) == top["ed"] >= 3 and p.police == (truth["source"] == "police").sum()
    months = truth.assign(m=pd.to_datetime(truth["month"]).dt.month).groupby(["m", "source"]).size().unstack(fill_value=0)
    assert len(p.monthly) == 12
    for i, row in p.monthly.iterrows():
        m = i + 1
        assert row["ed"] == (months.loc[m, "ed"] if m in months.index and "ed" in months else 0)
    methods = ed["category"].value_counts().to_dict()
    assert p.methods.set_index("method")["ed"].to_dict() == {m: methods.get(m, 0) for m in p.methods["method"]}
    hours = pd.to_datetime(ed["occurred_at"])
    assert p.ed_night == int(((hours.dt.hour >= 22) | (hours.dt.hour < 6)).sum()) == top["ed_night"]
    cells = {(int(d), int(h)): int(n) for d, h, n in zip(p.day_hour["weekday"], p.day_hour["hour"], p.day_hour["n"])}
    assert cells == pd.Series(1, index=list(zip(hours.dt.day_of_week, hours.dt.hour))).groupby(level=0).sum().to_dict()
    assert int(p.named["named"].sum()) == top["named"]
    # the records and hexes behind the mini-map hold the same incidents
    recs = queries_ops.nearby_records(store, Y2025, pid, 50)
    assert sorted(recs["incident_id"]) == sorted(truth["incident_id"]) and (recs["distance_m"] <= 50).all()
    hexes = queries_ops.nearby_hexes(store, Y2025, pid, 50)
    assert hexes["total"].sum() == len(truth) and hexes["ed"].sum() == len(ed)


def test_evidence_frame_carries_the_profile_numbers(store):
    pid = _top_premises(store)["premises_id"]
    p = gather_profile(store, Y2025, pid, 50)
    fr = evidence_frame(p)
    summary = fr[fr["section"] == "summary"].set_index("item")
    assert summary.loc["Incidents within 50 m, this period", "ed"] == p.ed
    assert summary.loc["Incidents within 50 m, this period", "police"] == p.police
    assert summary.loc["ED assaults within 50 m with glass or bottle", "ed"] == p.ed_glass
    assert fr.loc[fr["section"] == "monthly", "ed"].sum() == p.ed
    assert fr.loc[fr["section"] == "method", "ed"].sum() == p.ed
    assert fr.loc[fr["section"] == "day_hour", "ed"].sum() == p.ed   # every ED record has a time
    assert fr.loc[fr["section"] == "named_monthly", "ed"].sum() == int(p.named["named"].sum())


def test_a_licensing_officer_cannot_open_premises_outside_their_borough(store):
    camden = store.df("SELECT premises_id FROM premises WHERE borough_code = ? ORDER BY premises_id LIMIT 1", [CAMDEN]).iat[0, 0]
    scoped = ScopedStore(store, Scope(boroughs=(WESTMINSTER,), record_level=False))
    assert gather_profile(scoped, Y2025.with_(boroughs=(CAMDEN,)), camden, 50) is None
    assert queries_ops.premises_evidence(scoped, Y2025.with_(boroughs=(CAMDEN,)), 50).empty
    assert gather_profile(ScopedStore(store, Scope()), Y2025, camden, 50) is not None


def _ask(kept, start, end, sort_model=None):
    return page.table_page({"startRow": start, "endRow": end, "sortModel": sort_model or [], "filterModel": {}}, kept)


def _all_pages(*controls):
    """update_view, then every page of the grid as the browser would ask for them (infinite row model)."""
    fig, summary, href, view, kept = page.update_view(*controls)
    first = _ask(kept, 0, page.PAGE_SIZE)
    n = first["rowCount"]
    data = [row for k in range(0, n, page.PAGE_SIZE) for row in _ask(kept, k, k + page.PAGE_SIZE)["rowData"]]
    assert len(first["rowData"]) == min(page.PAGE_SIZE, n) and len(data) == n
    assert _ask(kept, n, n + page.PAGE_SIZE)["rowData"] == []
    # before update_view has run, and hand-made controls: nothing
    assert _ask(None, 0, 12) == {"rowData": [], "rowCount": 0} and _ask(["x"], 0, 12) == {"rowData": [], "rowCount": 0}
    return data, fig, summary, href, view


def test_callback_rows_equal_sql_for_an_analyst(signed_in, store):
    with signed_in("analyst"):
        data, fig, summary, href, view = _all_pages([WESTMINSTER], "2025-01-01", "2025-12-31", 50, [], 0, "")
    truth = truth_near(store, WESTMINSTER, "2025-01-01", "2025-12-31", 50).set_index("premises_id")
    assert len(data) == len(truth)
    for row in data:
        t = truth.loc[row["premises_id"]]
        assert (row["ed"], row["police"], row["total"]) == (t["ed"], t["police"], t["ed"] + t["police"])
    totals = [r["total"] for r in data]
    assert totals == sorted(totals, reverse=True)
    assert view == f"?borough={WESTMINSTER}&from=2025-01-01&to=2025-12-31"
    assert href == "/download/premises/list.csv" + view
    markers = fig["data"][1:]
    assert [t["name"] for t in markers] == ["other premises", "next to a hot block", "in a hot block"]  # hot drawn last
    assert sum(len(t["lat"]) for t in markers) == len(truth)
    rows = page.ranked_rows(store, Filters(boroughs=(WESTMINSTER,), start=date(2025, 1, 1), end=date(2025, 12, 31)), 50)
    assert set(markers[2]["customdata"]) == set(rows.loc[rows["in_hot"].astype(bool), "premises_id"]) != set()
    assert fig["layout"]["showlegend"] and fig["layout"]["legend"]["yanchor"] == "bottom"  # above the map, not on it


def test_callback_filters_and_gives_licensing_exact_counts_in_their_borough(signed_in, store):
    # the disclosure policy: licensing officers see exact aggregates of their boroughs (no records)
    with signed_in("licensing"):
        data, _, _, _, view = _all_pages([], "2025-01-01", "2025-12-31", 100, ["pub", "bar"], 2, "")
        crafted = _all_pages([CAMDEN], "2025-01-01", "2025-12-31", 50, [], 0, "")[0]
    assert crafted == []   # a crafted request for another borough returns nothing
    truth = truth_near(store, WESTMINSTER, "2025-01-01", "2025-12-31", 100).set_index("premises_id")
    types = store.df("SELECT premises_id, licence_type FROM premises WHERE borough_code = ?", [WESTMINSTER]).set_index("premises_id")
    expected = [p for p in truth.index if types.loc[p, "licence_type"] in ("pub", "bar")
                and truth.loc[p, "ed"] + truth.loc[p, "police"] >= 2]
    assert sorted(r["premises_id"] for r in data) == sorted(expected) and expected
    for row in data:
        t = truth.loc[row["premises_id"]]
        assert (row["ed"], row["total"]) == (t["ed"], t["ed"] + t["police"])
    assert "r=100" in view and "type=pub%2Cbar" in view and "min=2" in view


def test_profile_callback_writes_the_premises_into_the_url(signed_in, store):
    pid = _top_premises(store)["premises_id"]
    view = f"?borough={WESTMINSTER}&from=2025-01-01&to=2025-12-31"
    with signed_in("analyst"):
        body, search = page.show_profile(view, pid)
    assert search == view + f"&premises={pid}"
    text = str(body)
    assert f"/download/premises/{pid}/evidence.html{view}" in text and "profile-map" in text
    with signed_in("licensing"):
        camden = store.df("SELECT premises_id FROM premises WHERE borough_code = ? LIMIT 1", [CAMDEN]).iat[0, 0]
        body, search = page.show_profile("", camden)
    assert "not in your boroughs" in str(body) and search == ""


def test_bad_url_values_fall_back_with_notes():
    bounds = (date(2023, 1, 1), date(2025, 12, 31))
    f, view, notes = page.read_view("?r=900&type=pub,casino&min=lots&q=crown&premises=P000001", {WESTMINSTER}, bounds)
    assert view == {"radius": 50, "types": ("pub",), "min": 0, "q": "crown", "premises": "P000001"}
    assert any("10 to 250 metres" in n for n in notes) and any("casino" in n for n in notes)
    assert any("whole number" in n for n in notes)
    assert (f.start, f.end) == (date(2025, 1, 1), date(2025, 12, 31))
    f, view, notes = page.read_view("?r=100", set(), bounds)
    assert view["radius"] == 100.0 and notes == []


def test_no_count_from_one_to_four_leaves_the_hexes_figure_for_aggregate_roles():
    from dashboard.figures_ops import premises_map
    hexes = pd.DataFrame({"cell": np.array([621942988323225599, 621942988326273023], dtype=np.uint64),
                          "ed": [3, 6], "police": [0, 1], "total": [3, 7]})
    fig = premises_map({"lat": 51.51, "lon": -0.13, "name": "X"}, pd.DataFrame({"geom_wkb": []}), 50,
                       hexes=hexes, record_level=False)
    z = fig.data[0].z
    assert np.isnan(z[0]) and z[1] == 7
    assert "ED assaults: <5" in fig.data[0].text[0] and "Police violence: <5" in fig.data[0].text[1]
    assert fig.data[1].name == "Fewer than 5"


def test_hour_of_week_greys_small_cells_for_aggregate_roles_and_counts_exactly_otherwise():
    from dashboard.figures_ops import bar_counts, hour_of_week
    dh = pd.DataFrame({"weekday": [0, 5, 5], "hour": [22, 23, 23], "n": [3, 4, 3]})
    exact = hour_of_week(dh, True)
    assert exact.data[0].z[0][22] == 3 and exact.data[0].z[5][23] == 7 and len(exact.data) == 1
    agg = hour_of_week(dh, False)
    assert np.isnan(agg.data[0].z[0][22]) and agg.data[0].z[5][23] == 7 and agg.data[0].text[0][22] == "<5"
    assert agg.data[1].name == "fewer than 5" and agg.data[1].z[0][22] == 1 and np.isnan(agg.data[1].z[5][23])
    bars = bar_counts(["Body part", "Glass or bottle"], [2, 9], record_level=False)
    assert np.isnan(bars.data[0].y[0]) and bars.data[0].y[1] == 9 and list(bars.data[0].text) == ["<5", "9"]


def test_profile_parts_read_from_one_scan_keep_each_ones_sources(store):
    """The monthly series follows the filter's sources; the hour-of-week and weapons are always ED."""
    pid = _top_premises(store)["premises_id"]
    both = queries_ops.nearby_monthly(store, Y2025, pid, 50)
    police = queries_ops.nearby_monthly(store, Y2025.with_(sources=("police",)), pid, 50)
    assert police["ed"].sum() == 0 and police["police"].tolist() == both["police"].tolist() and both["ed"].sum() > 0
    ed_hours = queries_ops.nearby_day_hour(store, Y2025, pid, 50)
    assert queries_ops.nearby_day_hour(store, Y2025.with_(sources=("police",)), pid, 50).equals(ed_hours)
    assert ed_hours["n"].sum() == both["ed"].sum() == queries_ops.nearby_methods(store, Y2025, pid, 50)["ed"].sum()
    recs = queries_ops.nearby_records(store, Y2025.with_(sources=("ed",)), pid, 50)
    assert set(recs["source"]) == {"ed"} and len(recs) == both["ed"].sum()


def test_changes_are_per_day_of_exposure():
    from dashboard.reports_ops import change, exposure_ratio
    march = Filters(start=date(2025, 3, 1), end=date(2025, 3, 31))
    assert exposure_ratio(march) == pytest.approx(31 / 28)  # against February
    assert change(31, 28, True, 31 / 28) == "0"             # the same rate per day: no change
    assert change(40, 28, True, 31 / 28) == "+9.0"
    assert change(12, 10, True) == "+2" and change(3, 10, False) == "*"
    assert exposure_ratio(march.with_(start=date(2025, 3, 5), end=date(2025, 3, 14), sources=("ed",))) == 1.0


def test_protected_bars_and_hours_have_a_key():
    from dashboard import figures_ops
    bars = figures_ops.bar_counts(["a", "b"], [3, 9], record_level=False)
    mark = [t for t in bars.data if "protected" in (t.name or "")]
    assert len(mark) == 1 and list(mark[0].x) == ["a"] and mark[0].showlegend and bars.layout.showlegend
    assert not figures_ops.bar_counts(["a", "b"], [3, 9], record_level=True).layout.showlegend
    dh = pd.DataFrame({"block_id": [1, 1], "weekday": [0, 5], "hour": [22, 23], "n": [3, 7]})
    hours = figures_ops.hour_of_week(dh, False, "")
    assert hours.data[1].name == "fewer than 5" and hours.data[1].showlegend
