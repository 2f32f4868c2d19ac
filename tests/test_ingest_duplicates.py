"""Duplicates: one stored crime per police.uk Crime ID, exact ED repeats reported, ED re-submissions replacing.

police.uk names each crime by its Crime ID, so rows repeating an ID (within a file, across files
or loads) are one crime; anti-social behaviour rows have no ID and identical ones stay separate
reports. ED records are identified by their content; the optional record_id of the London
standard says which stored record a re-submission replaces.
"""
from __future__ import annotations

import pandas as pd
import pytest
from flask import Flask

from cli.data import register_cli
from config import CONFIG_KEY
from data.ingest.load import validate_files
from tests.fixtures import config_for
from tests.test_ingest_fixtures import NOW, REAL, count, load, needs_real, quarantined, rows

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
          "Last outcome category,Context")
ED_HEADER = ("reporting_period_start,reporting_period_end,site_code,arrival_datetime,assault_datetime,assault_method,"
             "assault_method_other,assault_location_type,assault_location_description,record_id")
ID_A, ID_B = "a" * 64, "c0ffee" * 10 + "beef"


def _crime(crime_id, lon="-0.134000", lat="51.510000", location="On or near Wardour Street", crime_type="Robbery",
           outcome="Under investigation"):
    return f"{crime_id},2025-01,Met,Met,{lon},{lat},{location},E01004763,Westminster 018A,{crime_type},{outcome},"


def _ed(arrival, assault, method="01", ltype="02", text="Dean Street", record_id="", site="RJ122"):
    return f"2025-01-01,2025-01-31,{site},{arrival},{assault},{method},,{ltype},{text},{record_id}"


def _cli(db):
    server = Flask("duplicates")
    server.extensions[CONFIG_KEY] = config_for(db)
    register_cli(server)
    return server.test_cli_runner()


# --- police.uk -----------------------------------------------------------------------------------

def test_rows_repeating_a_crime_id_are_one_crime_and_the_id_is_stored(tmp_path):
    path = tmp_path / "2025-01.csv"
    path.write_text("\n".join([
        HEADER,
        _crime(ID_A),
        _crime(ID_A, lon="-0.135000", location="On or near Dean Street", outcome="Unable to prosecute suspect"),  # same crime
        _crime(ID_A),                                                        # an exact repeat
        _crime(ID_B, crime_type="Violence and sexual offences"),
        _crime("", crime_type="Anti-social behaviour", outcome=""),          # two identical reports: two events
        _crime("", crime_type="Anti-social behaviour", outcome=""),
    ]) + "\n")
    db = tmp_path / "istv.duckdb"
    [r] = load("police", path, db)
    assert (r.rows_read, r.rows_loaded, r.duplicates, r.rows_quarantined) == (6, 4, 2, 0)
    assert "2 row(s) repeat the Crime ID of an earlier row of the file" in r.summary()
    # the first row of a crime is the one kept, with its ID
    assert rows(db, "SELECT source_id, location_text, category FROM incidents WHERE source_id IS NOT NULL ORDER BY 1") == [
        (ID_A, "On or near Wardour Street", "Robbery"), (ID_B, "On or near Wardour Street", "Violence and sexual offences")]
    assert count(db, "incidents", "source_id IS NULL AND category = 'Anti-social behaviour'") == 2
    [again] = load("police", path, db)
    assert (again.rows_loaded, again.duplicates) == (0, 6)
    # validating counts what a load would skip within the file
    [v], _ = validate_files("police", [path], now=NOW)
    assert (v.rows_loaded, v.duplicates) == (4, 2)


def test_a_crime_id_that_is_not_police_uk_hex_still_names_one_crime(tmp_path):
    path = tmp_path / "other-force.csv"
    path.write_text("\n".join([HEADER, _crime("CR-2025-0001"), _crime("CR-2025-0001", lon="-0.135000"),
                               _crime("CR-2025-0002")]) + "\n")
    db = tmp_path / "istv.duckdb"
    [r] = load("police", path, db)
    assert (r.rows_loaded, r.duplicates) == (2, 1)
    moved = tmp_path / "republished.csv"  # the same crime re-published at another point: still one crime
    moved.write_text("\n".join([HEADER, _crime("CR-2025-0001", lon="-0.136000")]) + "\n")
    [r] = load("police", moved, db)
    assert (r.rows_loaded, r.duplicates) == (0, 1)
    assert rows(db, "SELECT source_id FROM incidents ORDER BY 1") == [("CR-2025-0001",), ("CR-2025-0002",)]


@needs_real
def test_a_real_month_concatenated_with_itself_stores_each_crime_once(tmp_path):
    real = REAL / "police_uk" / "2025-02-city-of-london-street.csv"
    raw = pd.read_csv(real, dtype=str, keep_default_na=False)
    located = raw[raw["Latitude"] != ""]
    assert len(located) == 639 and located["Latitude"].astype(float).between(51.28, 51.70).all()
    ids = located.loc[located["Crime ID"] != "", "Crime ID"]
    asb = int((located["Crime ID"] == "").sum())
    assert (ids.nunique(), asb) == (629, 5)  # five located rows repeat an ID of an earlier row

    doubled = tmp_path / "doubled.csv"
    doubled.write_bytes(real.read_bytes() * 2)  # `cat f f`: the header comes again as line 703
    db = tmp_path / "istv.duckdb"
    [r] = load("police", doubled, db)
    # each crime once; the ID-less anti-social behaviour rows keep their copies, as identical reports do
    assert r.rows_loaded == ids.nunique() + 2 * asb == 639
    assert (r.rows_read, r.rows_quarantined) == (2 * 701 + 1, 2 * 62 + 1)
    assert r.rows_read == r.rows_loaded + r.rows_quarantined + r.duplicates
    assert rows(db, "SELECT count(*), count(DISTINCT source_id) FROM incidents WHERE source_id IS NOT NULL") == [(629, 629)]
    assert rows(db, "SELECT line, value FROM quarantine WHERE column_name = 'Month'") == [(703, "Month")]

    single = tmp_path / "single.duckdb"
    [s] = load("police", real, single)
    assert (s.rows_loaded, s.duplicates) == (ids.nunique() + asb, 5) == (634, 5)
    [again] = load("police", real, db)  # the single file adds nothing to the doubled one
    assert again.rows_loaded == 0


# --- ED submissions: exact repeats and record_id within a file ------------------------------------------

def test_exact_repeats_in_an_ed_file_are_reported_and_stored_by_whether_they_carry_a_record_id(tmp_path):
    path = tmp_path / "ed.csv"
    path.write_text("\n".join([
        ED_HEADER,
        _ed("2025-01-18 23:40", "2025-01-18 22:55"),                      # line 2
        _ed("2025-01-18 23:40", "2025-01-18 22:55"),                      # 3: no record_id: two patients may arrive together
        _ed("2025-01-19 01:10", "2025-01-19 00:30", record_id="R7"),      # 4
        _ed("2025-01-19 01:10", "2025-01-19 00:30", record_id="R7"),      # 5: the same record twice
        _ed("2025-01-20 01:10", "2025-01-20 00:30", record_id="R8"),      # 6
    ]) + "\n")
    db = tmp_path / "istv.duckdb"
    [r] = load("istv", path, db)
    assert (r.rows_read, r.rows_loaded, r.duplicates, r.rows_quarantined) == (5, 4, 1, 0)
    assert r.warnings == [
        "1 row(s) repeat an earlier row of the file exactly, record_id included (line 5): one record each, stored once",
        "1 row(s) repeat an earlier row of the file exactly and have no record_id (line 3): kept as separate "
        "attendances; check the submission, and give records a record_id so that repeats can be told apart"]
    assert "  warning: 1 row(s) repeat an earlier row of the file exactly and have no record_id (line 3)" in r.summary()
    assert rows(db, "SELECT coalesce(source_id, '-'), count(*) FROM incidents GROUP BY 1 ORDER BY 1") == [
        ("-", 2), ("R7", 1), ("R8", 1)]
    assert "warning: 1 row(s) repeat" in rows(db, "SELECT message FROM load_log")[0][0]
    [again] = load("istv", path, db)
    assert (again.rows_loaded, again.duplicates) == (0, 5)


def test_a_record_id_repeated_with_other_values_in_one_file_is_quarantined(tmp_path):
    path = tmp_path / "ed.csv"
    path.write_text("\n".join([ED_HEADER, _ed("2025-01-19 01:10", "2025-01-19 00:30", record_id="R7"),
                               _ed("2025-01-19 01:10", "2025-01-19 00:30", text="Greek Street", record_id="R7"),
                               _ed("2025-01-19 01:10", "2025-01-19 00:30", text="Greek Street", record_id="R7", site="RJ122 ")]) + "\n")
    db = tmp_path / "istv.duckdb"
    [r] = load("istv", path, db)
    assert (r.rows_loaded, r.rows_quarantined) == (1, 2)
    rule = "record_id repeats an earlier row of this file with other values (a record_id names one record of the site)"
    assert quarantined(db, 1) == [(3, "record_id", "R7 (line 2 has it)", rule), (4, "record_id", "R7 (line 2 has it)", rule)]
    assert rows(db, "SELECT location_text FROM incidents") == [("Dean Street",)]


# --- ED re-submissions ---------------------------------------------------------------------------

@pytest.fixture
def submissions(tmp_path):
    first = tmp_path / "rj122-2025-01.csv"
    first.write_text("\n".join([ED_HEADER,
                                _ed("2025-01-18 23:40", "2025-01-18 22:55", text="Dean Street", record_id="R1"),
                                _ed("2025-01-19 01:10", "2025-01-19 00:30", text="Dean St", record_id="R2"),
                                _ed("2025-01-20 02:00", "2025-01-20 01:00", text="Greek Street", record_id="R3"),
                                _ed("2025-01-21 02:00", "2025-01-21 01:00", text="Frith Street")]) + "\n")
    again = tmp_path / "rj122-2025-01-resubmitted.csv"
    # R2's location corrected and R3's method coded; R1 unchanged; R4 new
    again.write_text("\n".join([ED_HEADER,
                                _ed("2025-01-18 23:40", "2025-01-18 22:55", text="Dean Street", record_id="R1"),
                                _ed("2025-01-19 01:10", "2025-01-19 00:30", text="Old Compton Street", record_id="R2"),
                                _ed("2025-01-20 02:00", "2025-01-20 01:00", method="04", text="Greek Street", record_id="R3"),
                                _ed("2025-01-22 02:00", "2025-01-22 01:00", text="Soho Square", record_id="R4")]) + "\n")
    return first, again


def test_a_resubmitted_record_replaces_the_stored_one_with_the_same_site_and_record_id(tmp_path, submissions):
    first, again = submissions
    db = tmp_path / "istv.duckdb"
    load("istv", first, db)
    old = dict(rows(db, "SELECT source_id, incident_id FROM incidents WHERE source_id IS NOT NULL"))
    [r] = load("istv", again, db)
    assert (r.rows_read, r.rows_loaded, r.duplicates, r.replaced) == (4, 3, 1, 2)
    assert r.summary().splitlines()[0].endswith("read 4, loaded 3, quarantined 0, duplicates skipped 1, replaced 2")
    assert rows(db, "SELECT source_id, category, location_text FROM incidents ORDER BY arrived_at") == [
        ("R1", "01", "Dean Street"), ("R2", "01", "Old Compton Street"), ("R3", "04", "Greek Street"),
        (None, "01", "Frith Street"), ("R4", "01", "Soho Square")]
    assert rows(db, "SELECT load_id, rows_loaded, duplicates, replaced FROM load_log ORDER BY load_id") == [
        (1, 4, 0, 0), (2, 3, 1, 2)]
    # the replaced records and their geocoder matches are gone; every stored record has its match
    assert rows(db, "SELECT count(*) FROM incidents WHERE incident_id IN (?, ?)", [old["R2"], old["R3"]]) == [(0,)]
    assert rows(db, "SELECT incident_id FROM geocode_matches ORDER BY 1") == rows(db, "SELECT incident_id FROM incidents ORDER BY 1")
    [same] = load("istv", again, db)  # the re-submission loaded twice changes nothing
    assert (same.rows_loaded, same.duplicates, same.replaced) == (0, 4, 0)
    assert count(db, "incidents") == 5


def test_another_site_with_the_same_record_id_is_another_record(tmp_path, submissions):
    first, _ = submissions
    other = tmp_path / "rj701.csv"
    other.write_text("\n".join([ED_HEADER, _ed("2025-01-19 03:10", "2025-01-19 02:30", text="Tooting High Street",
                                               record_id="R2", site="RJ701")]) + "\n")
    db = tmp_path / "istv.duckdb"
    load("istv", first, db)
    [r] = load("istv", other, db)
    assert (r.rows_loaded, r.replaced) == (1, 0)
    assert rows(db, "SELECT ed_site, location_text FROM incidents WHERE source_id = 'R2' ORDER BY 1") == [
        ("RJ122", "Dean St"), ("RJ701", "Tooting High Street")]


def test_the_cli_summary_says_replaced(tmp_path, submissions):
    first, again = submissions
    cli = _cli(tmp_path / "istv.duckdb")
    assert cli.invoke(args=["load", "istv", str(first)]).exit_code == 0
    out = cli.invoke(args=["load", "istv", str(again)])
    assert out.exit_code == 0, out.output
    assert f"istv {again.name}: read 4, loaded 3, quarantined 0, duplicates skipped 1, replaced 2" in out.stdout
    assert "note: replaced 2 record(s) stored before with the same site and record_id" in out.stdout
