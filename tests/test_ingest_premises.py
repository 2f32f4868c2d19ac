"""Premises registers (WGS84 or British National Grid) and landmark lists."""
from __future__ import annotations

import pytest

from data.errors import InputFileError
from layers.blocks import to_bng
from tests.test_ingest_fixtures import DATA, count, load, quarantined, rows

PREMISES, LANDMARKS = DATA / "premises_register.csv", DATA / "landmarks.csv"


def test_register_loads_with_either_coordinate_pair_and_quarantines_the_rest(tmp_path):
    db = tmp_path / "istv.duckdb"
    [r] = load("premises", PREMISES, db, licence_type="restaurant")
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (8, 3, 5)
    stored = rows(db, "SELECT premises_id, name, address, licence_type, opens, closes, lat, lon FROM premises ORDER BY premises_id")
    assert [s[:6] for s in stored] == [
        ("P1", "The Red Lion", "1 Wardour Street, London, W1D 6PA", "pub", "11:00", "23:00"),  # 'Public House' → pub
        ("P2", "Club X", "2 Dean Street, London", "nightclub", "22:00", "03:00"),
        ("P6", "Cafe Z", "6 Greek Street, London", "restaurant", None, None),  # the --licence-type default
    ]
    # P2 came as easting/northing 529600, 181000: stored as WGS84 that maps back within a metre
    x, y = to_bng([stored[1][6]], [stored[1][7]])
    assert abs(x[0] - 529600) < 1 and abs(y[0] - 181000) < 1


def test_quarantine_reasons_of_the_register(tmp_path):
    db = tmp_path / "istv.duckdb"
    load("premises", PREMISES, db)
    got = [(line, col, value, rule) for line, col, value, rule in quarantined(db, 1)]
    assert [(g[0], g[1], g[2]) for g in got] == [
        (4, "Closing Time", "24:99"),
        (5, "Latitude", None),  # no value at all: NULL, shown as (empty)
        (6, "Latitude", "53.8, -1.55"),
        (7, "Licence Number", "P1"),
        (9, "Type", "spoon shop"),
    ]
    assert got[1][3] == "no coordinates (neither latitude/longitude nor easting/northing)"
    assert got[3][3] == "premises_id repeats an earlier row of this file"
    assert got[4][3].startswith("unknown code: expected one of pub, bar, nightclub")


def test_reloading_updates_by_id_and_replace_empties_first(tmp_path):
    db = tmp_path / "istv.duckdb"
    load("premises", PREMISES, db)
    one = tmp_path / "one.csv"
    one.write_text("premises_id,name,address,licence_type,lat,lon\nP1,The Red Lion (renamed),1 Wardour St,bar,51.513,-0.134\n")
    [r] = load("premises", one, db)
    assert "1 premises were already stored: replaced by this file's rows" in r.notes
    assert rows(db, "SELECT name, licence_type FROM premises WHERE premises_id = 'P1'") == [("The Red Lion (renamed)", "bar")]
    assert count(db, "premises") == 3
    load("premises", one, db, replace=True)
    assert count(db, "premises") == 1


def test_register_without_coordinates_is_refused(tmp_path):
    path = tmp_path / "nocoords.csv"
    path.write_text("premises_id,name,address,licence_type\nP1,A,B,pub\n")
    with pytest.raises(InputFileError, match="no coordinate columns: expected 'lat' and 'lon' or 'northing' and 'easting'"):
        load("premises", path, tmp_path / "istv.duckdb")


def test_landmarks_replace_the_table_and_accept_kind_spellings(tmp_path):
    db = tmp_path / "istv.duckdb"
    [r] = load("landmarks", LANDMARKS, db)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (5, 3, 2)
    assert rows(db, "SELECT name, kind FROM landmarks ORDER BY name") == [
        ("Berwick Street Market", "market"), ("Soho Square", "square"), ("Tottenham Court Road Station", "station")]
    assert [(line, col, value) for line, col, value, _ in quarantined(db, 1)] == [(5, "kind", "sq"), (6, "lat", "52.9")]
    load("landmarks", LANDMARKS, db)
    assert count(db, "landmarks") == 3
