"""Data-quality numbers on a hand-built store (every number worked out by hand) and on the demo fixture
(every number against an independent SQL count)."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard import reports_quality as rq
from dashboard.pages import quality as page
from data.store import queries_trends as qs
from data.store.queries import ScopedStore
from data.access.roles import Scope
from data.store.db import Store, build

A, B = "RAAA1", "RBBB1"
JAN, FEB = date(2025, 1, 1), date(2025, 2, 1)

# id, site, occurred, arrived, method, location type, text, confidence, borough, load
ROWS = [
    (1, A, "2025-01-03 22:00", "2025-01-03 22:30", "01", "02", "o/s 1 High St", "venue", "E09000001", 1),
    (2, A, "2025-01-04 23:00", "2025-01-05 00:00", "99", "02", "High St", "street", "E09000001", 1),
    (3, A, "2025-01-05 01:00", "2025-01-05 02:30", "03", "99", "", "none", "E09000001", 1),
    (4, A, "2025-01-06 12:00", None, "04", "01", "Red Lion", "area", "E09000001", 2),
    (5, A, None, "2025-01-07 03:00", "01", "02", "   ", "none", "E09000002", 2),
    (6, A, "2025-02-01 10:00", "2025-02-01 10:10", "01", "02", "Station Rd", "street", "E09000001", 3),
    (7, B, "2025-01-10 20:00", "2025-01-10 20:20", "01", "02", "Mill Lane", "venue", "E09000002", 2),
    (8, B, "2025-01-11 20:00", "2025-01-11 19:00", "02", "04", "bus stop", "venue", "E09000002", 2),
]
LOADS = [(1, "2025-02-10 10:00", "istv"), (2, "2025-02-20 09:00", "istv"), (3, "2025-03-03 08:00", "istv"),
         (4, "2025-01-02 08:00", "police")]


def _fill(con, with_periods: bool):
    con.execute("INSERT INTO boroughs VALUES ('E09000001', 'City', 10000, 0, 0, NULL), ('E09000002', 'Barking', 20000, 0, 0, NULL)")
    con.execute("INSERT INTO ed_sites VALUES (?, 'Alpha Hospital', 'E09000001', 0, 0), (?, 'Beta Hospital', 'E09000002', 0, 0)", [A, B])
    for i, site, occ, arr, method, ltype, text, conf, borough, load in ROWS:
        month = (occ or arr)[:7] + "-01"
        con.execute("""INSERT INTO incidents (incident_id, source, occurred_at, time_precision, arrived_at, month, borough_code,
                       category, location_type, location_text, ed_site, geocode_confidence, record_hash, load_id)
                       VALUES (?, 'ed', ?, 'minute', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    [i, occ, arr, month, borough, method, ltype, text, site, conf, i, load])
    for load_id, at, kind in LOADS:
        con.execute("INSERT INTO load_log (load_id, loaded_at, kind, file) VALUES (?, ?, ?, 'f.csv')", [load_id, at, kind])
    if with_periods:
        for col, kind in (("site_code", "VARCHAR"), ("period_start", "DATE"), ("period_end", "DATE")):
            con.execute(f"ALTER TABLE load_log ADD COLUMN IF NOT EXISTS {col} {kind}")
        # a re-submission of B's February that stored nothing new: only load_log knows about it
        con.execute("INSERT INTO load_log (load_id, loaded_at, kind, file, site_code, period_start, period_end) "
                    "VALUES (5, '2025-03-15 12:00', 'istv', 'b.csv', ?, '2025-02-01', '2025-02-28')", [B])


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    path = tmp_path_factory.mktemp("quality") / "hand.duckdb"
    build(path, lambda con: _fill(con, False))
    return Store(path)


@pytest.fixture(scope="module")
def hand_periods(tmp_path_factory):
    path = tmp_path_factory.mktemp("quality") / "periods.duckdb"
    build(path, lambda con: _fill(con, True))
    return Store(path)


def test_completeness_geocoding_and_delay_by_hand(hand):
    q = qs.quality(hand, (), JAN, FEB, "site_month").set_index(["ed_site", "month"])
    a = q.loc[(A, pd.Timestamp(JAN))]
    # r4 has no arrival, r5 no assault time, r2 method 99, r3 location type 99, r3 and r5 blank text
    assert (a["records"], a["arrival"], a["assault_time"], a["method"], a["location_type"], a["location_text"]) == (5, 4, 4, 4, 4, 3)
    assert a["all_complete"] == 1
    assert (a["conf_venue"], a["conf_street"], a["conf_area"], a["conf_none"]) == (1, 1, 1, 2)
    assert a["median_delay_min"] == 60  # 30, 60, 90 minutes; r4 and r5 lack a time
    b = q.loc[(B, pd.Timestamp(JAN))]
    assert b["records"] == 2 and b["median_delay_min"] == 20  # r8 arrived before its assault: left out
    assert q.loc[(A, pd.Timestamp(FEB)), "records"] == 1


def test_percentages_and_the_all_row(hand):
    total = rq.with_percentages(qs.quality(hand, (A,), JAN, JAN, "all")).iloc[0]
    assert total["pct_location_text"] == pytest.approx(60.0) and total["pct_all"] == pytest.approx(20.0)
    assert total["placed"] == 2 and total["pct_placed"] == pytest.approx(40.0)
    assert qs.quality(hand, (A,), date(2024, 1, 1), date(2024, 2, 1), "all").empty


def test_timeliness_from_load_ids(hand):
    t = qs.timeliness(hand, (), JAN, FEB)
    got = {(r.site, r.month.date()): r.days_after_month_end for r in t.itertuples()}
    assert got == {(A, JAN): 10, (A, FEB): 3, (B, JAN): 20}  # first load of A's January was 10 Feb
    assert qs.has_submissions(hand)


def test_timeliness_also_reads_reporting_periods_when_load_log_has_them(hand_periods):
    t = qs.timeliness(hand_periods, (B,), JAN, FEB)
    assert {(r.site, r.month.date()): r.days_after_month_end for r in t.itertuples()} == {(B, JAN): 20, (B, FEB): 15}


def test_ed_site_scope_is_applied_in_the_query_layer(hand):
    health = ScopedStore(hand, Scope(ed_sites=(A,), record_level=False))
    assert list(qs.ed_sites(health)["site_code"]) == [A]
    assert qs.quality(health, (B,), JAN, FEB, "site").empty  # a crafted request for another ED
    assert set(qs.quality(health, (), JAN, FEB, "site")["ed_site"]) == {A}
    assert qs.timeliness(health, (B,), JAN, FEB).empty
    # the London benchmark is every ED together
    assert qs.quality(health, (), JAN, FEB, "all", benchmark=True)["records"].iat[0] == 8
    boroughs = ScopedStore(hand, Scope(boroughs=("E09000001",)))
    assert qs.quality(boroughs, (A,), JAN, JAN, "all")["records"].iat[0] == 4  # r5 is in another borough


def test_view_league_and_no_submissions(hand, store):
    view = rq.compute(hand, (), JAN, FEB)
    assert list(view.league["ed_site"]) == [B, A]  # B: 1 of 2 complete (50 %) beats A: 2 of 6
    assert list(view.league["rank"]) == [1, 2]
    assert view.league.set_index("ed_site").loc[A, "days_after_month_end"] == 6.5  # median of 10 and 3
    assert rq.compute(hand, (), JAN, FEB).submissions is True
    assert rq.compute(store, (), date(2025, 1, 1), date(2025, 1, 1)).submissions is True  # the demo's monthly files
    assert rq.days(3, 10, True, False) == rq.NO_SUBMISSIONS


def test_shares_that_would_reveal_a_small_count_are_hidden():
    assert rq.pct(87.5, 8, True, 7) == "87.5 %"
    assert rq.pct(87.5, 8, False, 7) == "*"       # 1 of 8 is incomplete
    assert rq.pct(50.0, 20, False, 10) == "50.0 %"
    assert rq.pct(100.0, 20, False, 20) == "100.0 %"
    assert rq.pct(100.0, 3, False, 3) == "*"
    assert rq.minutes(41, 4, False) == "*" and rq.minutes(41, 5, False) == "41 min"


# ---- on the demo fixture, against SQL -----------------------------------------------------------

SITE = "RJ122"


def _sql(store, sql, params=()):
    return store.df(sql, params)


def test_quality_per_month_equals_sql(store):
    got = qs.quality(store, (SITE,), date(2025, 1, 1), date(2025, 12, 1), "month").set_index("month")
    want = _sql(store, """SELECT month, count(*) AS n,
                                 sum(CASE WHEN category IS NOT NULL AND category <> '99' THEN 1 ELSE 0 END) AS method,
                                 sum(CASE WHEN location_type IS NOT NULL AND location_type <> '99' THEN 1 ELSE 0 END) AS ltype,
                                 sum(CASE WHEN geocode_confidence = 'venue' THEN 1 ELSE 0 END) AS venue,
                                 quantile_cont(epoch(arrived_at - occurred_at) / 60, 0.5) AS delay
                          FROM incidents WHERE source = 'ed' AND ed_site = ? AND year(occurred_at) = 2025
                          GROUP BY month ORDER BY month""", [SITE]).set_index("month")
    assert len(want) == 12 and want["n"].sum() > 40
    assert got["records"].tolist() == want["n"].tolist()
    assert got["method"].tolist() == want["method"].tolist()
    assert got["location_type"].tolist() == want["ltype"].tolist()
    assert got["conf_venue"].tolist() == want["venue"].tolist()
    assert np.allclose(got["median_delay_min"], want["delay"])


def test_callback_for_an_analyst_equals_sql(signed_in, store):
    with signed_in("analyst"):
        cards, fig, months, league, report, href_m, href_l, search = page.update_view(SITE, "2025-01", "2025-12")
    n = int(_sql(store, "SELECT count(*) FROM incidents WHERE source='ed' AND ed_site=? AND year(month)=2025", [SITE]).iloc[0, 0])
    placed = int(_sql(store, "SELECT count(*) FROM incidents WHERE source='ed' AND ed_site=? AND year(month)=2025 "
                             "AND geocode_confidence IN ('venue','street')", [SITE]).iloc[0, 0])
    assert f"'{n}'" in str(cards) or f"'{n:,}'" in str(cards)
    assert f"{placed / n * 100:.1f} %" in str(cards)
    assert search == f"?from=2025-01-01&to=2025-12-31&site={SITE}"
    assert "month=2025-12" in report.href and f"site={SITE}" in report.href
    placed_trace = next(t for t in fig.data if t.name == "Placed on a street or venue")
    monthly = _sql(store, """SELECT month, count(*) AS n, count(*) FILTER (WHERE geocode_confidence IN ('venue','street')) AS p
                             FROM incidents WHERE source='ed' AND ed_site=? AND year(month)=2025 GROUP BY month ORDER BY month""", [SITE])
    assert np.allclose(np.asarray(placed_trace.y, float), monthly["p"] / monthly["n"] * 100)
    assert "All London EDs" in str(league) and "St Thomas" in str(league)
    codes = _sql(store, "SELECT site_code FROM ed_sites")["site_code"]
    assert len(codes) == 27 and all(f"({c})" in str(league) for c in codes)


def test_health_sees_only_its_own_ed_and_a_crafted_site_falls_back(signed_in):
    with signed_in("health"):
        _, _, _, league, report, *_, search = page.update_view("RJZ01", "2025-01", "2025-12")
        layout = str(page.layout("?site=RJZ01"))
    assert "King's College" not in str(league) and "St Thomas" in str(league)
    assert "site=" not in search and "Choose one ED" in str(report)
    assert "Ignored 'site=RJZ01'" in layout


def test_the_health_role_sees_its_own_site_exactly(signed_in, store):
    # an ED's data lead is the controller of that site's records: the feedback loop needs real figures
    with signed_in("health"):
        cards, _, months, *_ = page.update_view(SITE, "2025-01", "2025-12")
    monthly = _sql(store, """SELECT count(*) AS n FROM incidents WHERE source='ed' AND ed_site=? AND year(month)=2025
                             GROUP BY month ORDER BY month""", [SITE])["n"].tolist()
    assert any(0 < n < 5 for n in monthly) and "'<5'" not in str(months)
    for n in monthly:
        assert f"Td({n})" in str(months) or f"Td(children={n}" in str(months) or f"'{n}'" in str(months)


def test_timeliness_shows_in_the_month_table(hand):
    view = rq.compute(hand, (A,), JAN, FEB)
    assert page.months_frame(view, True)["Submitted after month end"].tolist() == ["10 days", "3 days"]
    assert page.months_frame(view, False)["Submitted after month end"].tolist() == ["10 days", "*"]  # February: 1 record
    cards = str(page.cards(view, True))
    assert "'6.5 days'" in cards  # the median of 10 and 3
