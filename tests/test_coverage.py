"""Missing data is a gap, not a zero: coverage of the loads, the notes pages show, and numbers on real files."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from dashboard.coverage import coverage_notes, month_ranges
from data.store import queries_trends as qs
from data.store.queries_coverage import Coverage, coverage, mask_uncovered

JAN, FEB, MAR, APR, MAY = (date(2025, m, 1) for m in (1, 2, 3, 4, 5))
DEC = date(2024, 12, 1)
COV = Coverage(police_months=frozenset({DEC, JAN, FEB, MAR, APR, MAY}), ed_months=frozenset({JAN, FEB, MAR}),
               ed_site_months={"RJ122": frozenset({JAN, FEB, MAR}), "RRV03": frozenset({JAN, FEB})},
               police_boroughs=frozenset({"E09000001", "E09000033"}), ed_boroughs=frozenset({"E09000033"}),
               street_boroughs=frozenset({"E09000033"}), premises_boroughs=frozenset({"E09000001", "E09000033"}))
NAMES = {"E09000001": "City of London", "E09000033": "Westminster", "E09000007": "Camden"}


def test_month_ranges_read_as_a_person_writes_them():
    assert month_ranges([JAN, FEB, MAR]) == "Jan-Mar 2025"
    assert month_ranges([DEC, JAN, APR]) == "Dec 2024-Jan 2025, Apr 2025"
    assert month_ranges([]) == ""


def test_uncovered_months_become_gaps_not_zeros():
    monthly = pd.DataFrame({"month": pd.to_datetime([DEC, JAN, APR]), "ed": [0, 7, 0], "police": [12, 9, 0]})
    out = mask_uncovered(monthly, COV)
    assert np.isnan(out["ed"].iloc[0]) and out["ed"].iloc[1] == 7 and np.isnan(out["ed"].iloc[2])
    assert out["police"].tolist() == [12, 9, 0]  # April: police data is loaded, so 0 is a real zero


def test_notes_name_every_gap_in_view():
    notes = coverage_notes(COV, DEC, date(2025, 5, 31), ("ed", "police"), ["E09000001", "E09000033", "E09000007"],
                           NAMES, unit="block", premises=True)
    assert notes == [
        "No ED records are loaded for Dec 2024, Apr-May 2025: those months are gaps, not zeros.",
        "Some EDs sent nothing for some months: RRV03: Mar 2025.",
        "No police records are loaded for 1 of the 3 boroughs in view (Camden): their police counts are missing, not zero.",
        "No street network is loaded for Camden, City of London: incidents there count in the totals but cannot be "
        "drawn as street blocks (load streets to see them).",
        "No licensed premises are loaded for Camden.",
    ]
    assert coverage_notes(COV, JAN, date(2025, 3, 31), ("police",), ["E09000033"], NAMES) == []


def test_year_on_year_compares_only_whole_windows():
    months = pd.date_range("2023-06-01", "2025-05-01", freq="MS")
    counts = pd.DataFrame({"month": months, "ed": 10.0, "police": 20.0})
    counts.loc[counts["month"] >= "2025-04-01", "ed"] = np.nan  # no ED submissions for April and May
    yoy = qs.year_on_year(counts, date(2023, 6, 1), date(2025, 5, 31))
    assert yoy["ed"]["months"] == 10 and yoy["ed"]["current"] == 100 and yoy["ed"]["change_pct"] is None
    assert yoy["police"]["months"] == 12 and yoy["police"]["current"] == 240 and yoy["police"]["change_pct"] == 0
    assert (yoy["ed"]["both"], yoy["police"]["both"], yoy["ed"]["both_months"]) == (100, 200, 10)


def test_real_files_coverage_and_the_ratio_over_months_both_sources_cover(real_db):
    from data.store.db import Store
    store = Store(real_db)
    cov = coverage(store)
    assert cov.ed_months == {JAN, FEB, MAR} and cov.police_months == {DEC, JAN, FEB, MAR, APR, MAY}
    assert cov.ed_site_months["RRV03"] == {JAN, FEB}
    truth = store.df("""SELECT count(*) FILTER (WHERE source = 'ed') AS ed,
                               count(*) FILTER (WHERE source = 'police' AND month BETWEEN DATE '2025-01-01' AND DATE '2025-03-01'
                                                AND category = 'Violence and sexual offences') AS police
                        FROM incidents""").iloc[0]
    from dashboard import map_view
    from data.store.filters import Filters
    st = map_view.State(f=Filters(start=date(2024, 12, 1), end=date(2025, 5, 31)))
    s = map_view.summary(store, st, record_level=True)
    assert s["ratio"] == f"{truth['ed'] / truth['police']:.2f}" and s["ratio_months"] == "Jan-Mar 2025"
