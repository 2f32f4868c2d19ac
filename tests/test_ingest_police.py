"""police.uk importer: counts, quarantine, idempotent reloads, encodings and file-level refusals."""
from __future__ import annotations

import re

import pytest

from data.errors import InputFileError, StoreError
from data.ingest.load import validate_files
from data.ingest.rules import bbox_rule
from tests.test_ingest_fixtures import DATA, NOW, count, digest, load, quarantined, rows

POLICE = DATA / "police_2025-01.csv"
REPUBLISHED = DATA / "police_2025-01_republished.csv"
NO_POINT = "no coordinates (police.uk publishes some crimes without a map point)"
HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
          "Last outcome category,Context")


def _row(crime_id="", month="2025-03", lon="-0.134000", lat="51.510000", location="On or near Wardour Street",
         crime_type="Robbery"):
    return f"{crime_id},{month},Met,Met,{lon},{lat},{location},E01004763,Westminster 018A,{crime_type},,"


def test_first_load_creates_the_database_and_quarantines_bad_rows_with_their_reason(tmp_path):
    db = tmp_path / "istv.duckdb"
    [r] = load("police", POLICE, db)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined, r.duplicates) == (10, 5, 5, 0)
    assert r.rows_read == r.rows_loaded + r.rows_quarantined + r.duplicates
    assert quarantined(db, 1) == [
        (6, "Longitude", None, NO_POINT),
        (7, "Longitude", "-1.778270", bbox_rule()),
        (8, "Crime type", "Cycle theft", "unknown code: expected one of the 14 listed codes or an accepted spelling"),
        (10, "Month", "2025-1x", "not a month like 2025-01"),
        (11, "Longitude", "abc", "not a number"),
    ]
    # the quarantined record keeps the whole row
    record = rows(db, "SELECT record FROM quarantine WHERE line = 8")[0][0]
    assert '"crime_type":"Cycle theft"' in record and '"location":"On or near Wardour Street"' in record
    # the summary is kept in load_log
    assert rows(db, "SELECT kind, rows_read, rows_loaded, rows_quarantined, duplicates FROM load_log") == [("police", 10, 5, 5, 0)]
    stored = rows(db, """SELECT category, month, time_precision, occurred_at, geocode_confidence, location_text
                         FROM incidents ORDER BY incident_id""")
    assert [s[0] for s in stored] == ["Violence and sexual offences", "Robbery", "Anti-social behaviour",
                                      "Anti-social behaviour", "Burglary"]  # 'burglary' normalised
    assert {s[1].isoformat() for s in stored} == {"2025-01-01"}
    assert {(s[2], s[4]) for s in stored} == {("month", "street")}
    assert r.notes[0].startswith("no borough boundaries loaded")
    # a crime is found by its police.uk ID: its record_hash is the ID's first 16 hex digits
    assert rows(db, "SELECT category FROM incidents WHERE record_hash = ('0x' || left(?, 16))::UBIGINT",
                ["a" * 64]) == [("Violence and sexual offences",)]


def test_reloading_a_file_or_a_republished_month_adds_no_duplicates(tmp_path):
    db = tmp_path / "istv.duckdb"
    load("police", POLICE, db)
    [again] = load("police", POLICE, db)
    assert (again.rows_read, again.rows_loaded, again.duplicates, again.rows_quarantined) == (10, 0, 5, 5)
    # republished: crime 'aaa…' with a new outcome (same crime), three identical anti-social behaviour
    # reports where the first file had two (the third is a new event), and one February crime
    [rep] = load("police", REPUBLISHED, db)
    assert (rep.rows_read, rep.rows_loaded, rep.duplicates) == (5, 2, 3)
    assert count(db, "incidents") == 7
    assert count(db, "incidents", "category = 'Anti-social behaviour'") == 3
    assert rows(db, "SELECT count(DISTINCT record_hash) FROM incidents")[0][0] == 7


def test_overlapping_files_in_one_load_keep_each_record_once(tmp_path):
    db = tmp_path / "istv.duckdb"
    reports = load("police", [REPUBLISHED, POLICE], db)
    assert [(r.rows_loaded, r.duplicates) for r in reports] == [(5, 0), (2, 3)]
    assert count(db, "incidents") == 7
    assert rows(db, "SELECT count(*), count(DISTINCT incident_id) FROM incidents")[0] == (7, 7)


def test_semicolons_windows_1252_and_bom_read_like_the_original(tmp_path):
    text = "\n".join([HEADER, _row("a" * 64, location="On or near Caf\u00e9 Row \u2019s"), _row("b" * 64)]) + "\n"
    files = {
        "cp1252.csv": text.replace(",", ";").encode("cp1252"),
        "bom.csv": "\ufeff".encode() + text.encode("utf-8"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        db = tmp_path / f"{name}.duckdb"
        [r] = load("police", tmp_path / name, db)
        assert (r.rows_read, r.rows_loaded) == (2, 2), name
        assert rows(db, "SELECT location_text FROM incidents ORDER BY incident_id")[0][0] == "On or near Caf\u00e9 Row \u2019s"


def test_malformed_line_is_quarantined_and_later_lines_keep_their_numbers(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("\n".join([HEADER, _row("a" * 64), "too,few,fields", _row("b" * 64, lon="9.9")]) + "\n")
    db = tmp_path / "istv.duckdb"
    [r] = load("police", path, db)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (3, 1, 2)
    q = quarantined(db, 1)
    assert [(line, rule.split(" (")[0]) for line, _, _, rule in q] == [(3, "malformed CSV row: not the header's number of fields"), (4, "outside Greater London's bounding area")]
    assert rows(db, "SELECT record FROM quarantine WHERE line = 3")[0][0] == "too,few,fields"


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook"),
    ("Crime ID,Month,Longitude,Latitude,Location\n1,2025-01,-0.1,51.5,x\n".encode(), "missing mandatory column(s) 'Crime type' (crime_type)"),
    (b"<?xml version='1.0'?><ISTVSubmission/>", "looks like XML or HTML, not CSV"),
])
def test_file_level_problem_stops_the_load_and_leaves_the_database_byte_identical(tmp_path, content, message):
    db = tmp_path / "istv.duckdb"
    load("police", POLICE, db)
    before = digest(db)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    with pytest.raises(InputFileError, match=re.escape(message)) as err:
        load("police", [REPUBLISHED, bad], db)  # a good file in the same load is not loaded either
    assert str(err.value).startswith(str(bad))
    assert digest(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "istv.duckdb"]


def test_missing_file_is_named(tmp_path):
    with pytest.raises(InputFileError, match=r"nope\.csv: no such file"):
        load("police", tmp_path / "nope.csv", tmp_path / "istv.duckdb")
    assert not (tmp_path / "istv.duckdb").exists()


def test_validate_checks_like_load_and_writes_nothing(tmp_path):
    reports, sample = validate_files("police", [POLICE], now=NOW)
    assert (reports[0].rows_read, reports[0].rows_loaded, reports[0].rows_quarantined) == (10, 5, 5)
    assert sample["line"].tolist() == [6, 7, 8, 10, 11]
    assert list(tmp_path.iterdir()) == []


def test_real_files_are_never_mixed_into_the_demo_database(tiny_db_copy):
    before = digest(tiny_db_copy)
    with pytest.raises(StoreError, match="holds the synthetic demo"):
        load("police", POLICE, tiny_db_copy)
    assert digest(tiny_db_copy) == before
