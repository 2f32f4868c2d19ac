"""ED submissions (ISTV minimum data set) as CSV and XML: rules between fields, codes, safety."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from data.errors import InputFileError
from data.ingest.load import load_files
from data.ingest.report import LoadOptions
from tests.test_ingest_fixtures import DATA, count, digest, load, quarantined, rows

ED_CSV, ED_XML = DATA / "ed_submission.csv", DATA / "ed_submission.xml"
HEADER = ("reporting_period_start,reporting_period_end,site_code,arrival_datetime,assault_datetime,assault_method,"
          "assault_method_other,assault_location_type,assault_location_description")


def test_csv_rows_breaking_rules_are_quarantined_and_codes_normalised(tmp_path):
    db = tmp_path / "istv.duckdb"
    [r] = load("istv", ED_CSV, db)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined, r.duplicates) == (9, 4, 5, 0)
    assert quarantined(db, 1) == [
        (5, "Assault Date + Assault Time", "19/01/2025 22:55 (arrival 18/01/2025 23:40)", "assault after arrival at the ED"),
        (6, "Arrival Date + Arrival Time", "01/02/2025 00:30 (period ends 31/01/2025)",
         "arrival after the end of the reporting period"),
        (7, "Assault Method", "spoon", "unknown code: expected one of 01, 02, 03, 04, 05, 06, 99 or an accepted spelling"),
        (8, "Assault Date + Assault Time", None, "missing mandatory value"),
        (10, "Arrival Date + Arrival Time", "32/01/2025 12:00", "not a date and time like 2025-01-31 23:40 or 31/01/2025 23:40"),
    ]
    stored = rows(db, """SELECT source_id, category, location_type, occurred_at, arrived_at, month, ed_site,
                                time_precision, geocode_confidence, lat FROM incidents ORDER BY source_id""")
    # 'Knife' → 03 and 'Street' → 02; 'glass' → 04 and 'home' → 03
    assert [(s[0], s[1], s[2]) for s in stored] == [("A1", "04", "01"), ("A2", "03", "02"), ("A3", "04", "03"), ("A8", "01", "99")]
    assert stored[0][3:8] == (datetime(2025, 1, 18, 22, 55), datetime(2025, 1, 18, 23, 40), date(2025, 1, 1), "RJ122", "minute")
    home = stored[2]
    assert home[8] == "none" and home[9] is None  # a home is never put on the map
    assert count(db, "ed_sites", "site_code = 'RJ122'") == 1  # a known London ED, from the reference list


def test_xml_submission_reads_header_once_and_records_by_line(tmp_path):
    db = tmp_path / "istv.duckdb"
    [r] = load("istv", ED_XML, db)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (3, 2, 1)
    assert quarantined(db, 1) == [(23, "AssaultDateAndTime", "2025-01-19T03:30:00 (arrival 2025-01-19T01:10:00)",
                                   "assault after arrival at the ED")]
    assert rows(db, "SELECT category, location_type, ed_site FROM incidents ORDER BY occurred_at") == [
        ("04", "01", "RJ122"), ("04", "02", "RJ122")]  # 'Bottle' → 04, 'Street' → 02
    [again] = load("istv", ED_XML, db)
    assert (again.rows_loaded, again.duplicates) == (0, 2)


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>',
    '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
])
def test_xml_entities_are_refused_and_nothing_changes(tmp_path, doctype):
    db = tmp_path / "istv.duckdb"
    load("istv", ED_CSV, db)
    before = digest(db)
    evil = tmp_path / "evil.xml"
    evil.write_text(f'<?xml version="1.0"?>{doctype}<ISTVSubmission><Assault><AssaultMethod>&lol2;</AssaultMethod>'
                    "</Assault></ISTVSubmission>")
    with pytest.raises(InputFileError, match="declares a DTD or entities, which are refused for safety"):
        load("istv", evil, db)
    assert digest(db) == before


@pytest.mark.parametrize("text, message", [
    ("<ISTVSubmission><Assault><AssaultMethod>01</AssaultMethod></ISTVSubmission>", r"row 1: is not well-formed XML: mismatched tag"),
    ("<ISTVSubmission><SubmissionHeader/></ISTVSubmission>", "holds no Assault elements"),
    ("<ISTVSubmission><Assault><AssaultMethod>01</AssaultMethod></Assault></ISTVSubmission>",
     r"missing mandatory column\(s\) 'Reporting period start date'"),
])
def test_xml_that_is_not_an_istv_submission_is_named(tmp_path, text, message):
    db = tmp_path / "istv.duckdb"
    load("istv", ED_XML, db)
    before = digest(db)
    bad = tmp_path / "bad.xml"
    bad.write_text(text)
    with pytest.raises(InputFileError, match=message):
        load("istv", bad, db)
    assert digest(db) == before


def test_csv_without_header_fields_takes_them_from_the_command_line(tmp_path):
    path = tmp_path / "bare.csv"
    path.write_text("arrival_datetime,assault_datetime,assault_method,assault_location_type,assault_location_description\n"
                    "2025-02-03T01:00,2025-02-03T00:10,bottle,pub,outside the Red Lion\n")
    with pytest.raises(InputFileError, match=r"'Reporting period start date' \(reporting_period_start\)"):
        load("istv", path, tmp_path / "istv.duckdb")
    [r] = load("istv", path, tmp_path / "istv.duckdb", site="RJ122",
               period_start=date(2025, 2, 1), period_end=date(2025, 2, 28))
    assert (r.rows_read, r.rows_loaded) == (1, 1)
    assert rows(tmp_path / "istv.duckdb", "SELECT category, location_type, ed_site FROM incidents") == [("04", "01", "RJ122")]


def test_dates_in_the_future_are_quarantined_as_of_the_load(tmp_path):
    path = tmp_path / "future.csv"
    path.write_text(HEADER + "\n2025-06-01,2025-06-30,RJ122,2025-06-20 01:00,2025-06-20 00:10,01,,02,Dean Street\n")
    reports = load_files("istv", [path], tmp_path / "istv.duckdb", LoadOptions(), now=datetime(2025, 6, 10))
    assert dict(reports[0].quarantined) == {"assault date in the future": 1}
    reports = load_files("istv", [path], tmp_path / "istv.duckdb", LoadOptions(), now=datetime(2025, 7, 1))
    assert reports[0].rows_loaded == 1


def test_period_ending_before_it_starts_and_bad_site_code(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(HEADER + "\n2025-02-01,2025-01-31,RJ122,2025-01-20 01:00,2025-01-20 00:10,01,,02,x\n"
                             "2025-01-01,2025-01-31,R!,2025-01-20 01:00,2025-01-20 00:10,01,,02,x\n")
    db = tmp_path / "istv.duckdb"
    load("istv", path, db)
    assert [(line, col, rule.split(" (")[0]) for line, col, _, rule in quarantined(db, 1)] == [
        (2, "reporting_period_end", "reporting period ends before it starts"),
        (3, "site_code", "not a valid site code"),
    ]


def test_column_given_twice_is_a_file_level_problem(tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text(HEADER + ",location\n")
    with pytest.raises(InputFileError, match="columns 'assault_location_description' and 'location' both give"):
        load("istv", path, tmp_path / "istv.duckdb")


def test_a_file_written_before_geocode_matches_existed_gains_it_on_its_next_load(tmp_path):
    import duckdb
    db = tmp_path / "istv.duckdb"
    load("police", DATA / "police_2025-01.csv", db)
    con = duckdb.connect(str(db))  # as an earlier release wrote the file
    con.execute("DROP TABLE geocode_matches")
    con.execute("ALTER TABLE load_log DROP COLUMN replaced")
    con.close()
    [r] = load("istv", ED_CSV, db)
    assert r.rows_loaded == 4
    assert rows(db, "SELECT g.incident_id, g.matched FROM geocode_matches g JOIN incidents i USING (incident_id) "
                    "WHERE i.source_id = 'A3'") == [(rows(db, "SELECT incident_id FROM incidents WHERE source_id = 'A3'")[0][0],
                                                    "private")]
    assert count(db, "geocode_matches") == count(db, "incidents", "source = 'ed'") == 4
    assert rows(db, "SELECT load_id, replaced FROM load_log ORDER BY load_id") == [(1, None), (2, 0)]
