"""What loaders refuse, and the smaller promises of a load: a refusal names the file and what was
expected and leaves the database byte-identical; boundaries and streets that would strip stored
points are refused unless --allow-partial, and `validate boroughs|streets` says so without writing;
the quarantine keeps a re-loaded file's rows once; empty values read "(empty)"; gzip files are read;
a header-only file is a warning; a premises register without hours or licence types is a warning.
"""
from __future__ import annotations

import gzip
import json
import re

import pytest
from flask import Flask

from cli.data import register_cli
from config import CONFIG_KEY
from data.errors import InputFileError
from layers.blocks import from_bng
from tests.fixtures import config_for
from tests.test_ingest_fixtures import DATA, REAL, count, digest, load, needs_real, quarantined, rows

BOROUGHS, STREETS = DATA / "boroughs_bng.geojson", DATA / "streets_tiny.geojson"
POLICE, ED_CSV, ED_XML = DATA / "police_2025-01.csv", DATA / "ed_submission.csv", DATA / "ed_submission.xml"
PREMISES = DATA / "premises_register.csv"
ALLOW = "pass --allow-partial to load it anyway"


def _cli(db):
    server = Flask("refusals")
    server.extensions[CONFIG_KEY] = config_for(db)
    register_cli(server)
    return server.test_cli_runner()


def _geojson(tmp_path, source, name, keep):
    data = json.loads(source.read_text())
    data["features"] = [f for f in data["features"] if keep(f["properties"])]
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


# --- boroughs ----------------------------------------------------------------------------------

@pytest.fixture
def soho(tmp_path):
    """Police crimes and premises in Soho (Westminster), then Westminster's and Camden's boundaries."""
    db = tmp_path / "istv.duckdb"
    load("police", POLICE, db)
    load("premises", PREMISES, db, licence_type="pub")
    [first] = load("boroughs", BOROUGHS, db)  # points that never had a borough: nothing to strip
    assert first.refused is None and first.warnings == []
    assert rows(db, "SELECT count(*) FROM incidents WHERE borough_code = 'E09000033'") == [(5,)]
    assert rows(db, "SELECT count(*) FROM premises WHERE borough_code = 'E09000033'") == [(3,)]
    return db


def test_a_boroughs_file_lacking_a_used_borough_is_refused_with_the_counts(tmp_path, soho):
    camden = _geojson(tmp_path, BOROUGHS, "camden.geojson", lambda p: p["GSS_CODE"] == "E09000007")
    before = digest(soho)
    with pytest.raises(InputFileError) as err:
        load("boroughs", camden, soho)
    assert str(err.value) == (f"{camden}: refused: it lacks E09000033 (Westminster), which stored data uses, and would "
                              f"strip the borough from 5 incidents and 3 premises; {ALLOW}")
    assert digest(soho) == before
    out = _cli(soho).invoke(args=["load", "boroughs", str(camden)])
    assert out.exit_code == 1
    assert out.output.strip().splitlines() == [
        f"Error: {camden}: refused: it lacks E09000033 (Westminster), which stored data uses, and would strip the "
        f"borough from 5 incidents and 3 premises; {ALLOW} (nothing was loaded: {soho} is unchanged)"]
    assert digest(soho) == before


def test_validate_boroughs_says_what_would_load_and_why_a_load_would_be_refused(tmp_path, soho):
    camden = _geojson(tmp_path, BOROUGHS, "camden.geojson", lambda p: p["GSS_CODE"] != "E09000033")
    before = digest(soho)
    out = _cli(soho).invoke(args=["validate", "boroughs", str(camden)])
    assert out.exit_code == 1
    lines = out.output.splitlines()
    assert lines[0] == "boroughs camden.geojson: read 2, loaded 1, quarantined 1, duplicates skipped 0"
    assert "  quarantined 1: not a London borough GSS code (E09000001 to E09000033)" in lines
    assert (f"  refused: it lacks E09000033 (Westminster), which stored data uses, and would strip the borough "
            f"from 5 incidents and 3 premises; {ALLOW}") in lines
    assert "first 1 quarantined row(s):" in lines and "  camden.geojson, line 2, GSS_CODE: 'E06000001': not a London " \
        "borough GSS code (E09000001 to E09000033)" in lines
    assert "nothing was written" in lines
    assert lines[-1] == f"Error: {camden}: a load would be refused: it lacks E09000033 (Westminster), which stored data " \
                        f"uses, and would strip the borough from 5 incidents and 3 premises; {ALLOW}"
    assert digest(soho) == before
    out = _cli(soho).invoke(args=["validate", "boroughs", str(BOROUGHS)])  # the full file: nothing to refuse
    assert out.exit_code == 0, out.output
    assert "refused" not in out.output and digest(soho) == before


def test_allow_partial_loads_it_and_says_what_it_stripped(tmp_path, soho):
    camden = _geojson(tmp_path, BOROUGHS, "camden.geojson", lambda p: p["GSS_CODE"] == "E09000007")
    out = _cli(soho).invoke(args=["load", "boroughs", str(camden), "--allow-partial"])
    assert out.exit_code == 0, out.output
    assert ("  warning: it lacks E09000033 (Westminster), which stored data uses, and would strip the borough from "
            "5 incidents and 3 premises (--allow-partial given: loaded anyway)") in out.output.splitlines()
    assert rows(soho, "SELECT count(*) FROM incidents WHERE borough_code IS NULL") == [(5,)]
    assert rows(soho, "SELECT code FROM boroughs") == [("E09000007",)]


def test_validate_without_a_database_checks_the_file_alone(tmp_path):
    out = _cli(tmp_path / "none.duckdb").invoke(args=["validate", "boroughs", str(BOROUGHS)])
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[0] == "boroughs boroughs_bng.geojson: read 3, loaded 2, quarantined 1, duplicates skipped 0"
    assert not (tmp_path / "none.duckdb").exists()


@needs_real
def test_real_boroughs_without_the_city_would_strip_the_city_police_and_pubs(tmp_path):
    db = tmp_path / "istv.duckdb"
    cli = _cli(db)
    for args in (["boroughs", str(REAL / "london_boroughs.geojson")],
                 ["premises", str(REAL / "london_pubs.csv"), "--licence-type", "pub"],
                 ["police", *map(str, sorted((REAL / "police_uk").glob("*city-of-london*.csv")))]):
        assert cli.invoke(args=["load", *args]).exit_code == 0
    no_city = _geojson(tmp_path, REAL / "london_boroughs.geojson", "no_city.geojson", lambda p: p["gss_code"] != "E09000001")
    city = rows(db, """SELECT (SELECT count(*) FROM incidents WHERE borough_code = 'E09000001'),
                              (SELECT count(*) FROM premises WHERE borough_code = 'E09000001')""")[0]
    assert city == (3771, 244)
    before = digest(db)
    out = cli.invoke(args=["load", "boroughs", str(no_city)])
    assert out.exit_code == 1
    assert "would strip the borough from 3,771 incidents and 244 premises; pass --allow-partial to load it anyway" in out.output
    assert "it lacks E09000001 (City of London), which stored data uses" in out.output
    assert digest(db) == before


# --- streets ----------------------------------------------------------------------------------

@pytest.fixture
def alpha(tmp_path):
    """A crime and a premises 20 m north of Alpha Street's west end, a crime on Epsilon Way, then the streets."""
    db = tmp_path / "istv.duckdb"
    (lat1, lat2), (lon1, lon2) = from_bng([529020, 529200], [181020, 181210])
    crimes = tmp_path / "police.csv"
    crimes.write_text("Crime ID,Month,Longitude,Latitude,Location,Crime type\n"
                      f",2025-01,{lon1:.6f},{lat1:.6f},On or near Alpha Street,Robbery\n"
                      f",2025-01,{lon2:.6f},{lat2:.6f},On or near Epsilon Way,Robbery\n")
    load("police", crimes, db)
    premises = tmp_path / "premises.csv"
    premises.write_text(f"premises_id,name,licence_type,opens,closes,lat,lon\nQ1,The Alpha,pub,11:00,23:00,{lat1:.6f},{lon1:.6f}\n")
    load("premises", premises, db)
    load("streets", STREETS, db)
    assert rows(db, "SELECT b.street FROM incidents i JOIN blocks b USING (block_id) ORDER BY 1") == [
        ("Alpha Street",), ("Epsilon Way",)]
    return db


def test_a_streets_file_that_would_take_blocks_from_stored_points_is_refused(tmp_path, alpha):
    no_alpha = _geojson(tmp_path, STREETS, "no_alpha.geojson", lambda p: p["name"] != "Alpha Street")
    before = digest(alpha)
    problem = ("it would take the street block from 1 incidents and 1 premises that have one now "
               "(no street of the file within 50 m of them)")
    with pytest.raises(InputFileError, match=re.escape(f"{no_alpha}: refused: {problem}; {ALLOW}")):
        load("streets", no_alpha, alpha)
    assert digest(alpha) == before
    out = _cli(alpha).invoke(args=["validate", "streets", str(no_alpha)])
    assert out.exit_code == 1
    assert f"  refused: {problem}; {ALLOW}" in out.output.splitlines()
    assert "  note: 6 line features made 7 street blocks (6 named)" in out.output.splitlines()
    assert digest(alpha) == before
    out = _cli(alpha).invoke(args=["load", "streets", str(no_alpha), "--allow-partial"])
    assert out.exit_code == 0, out.output
    assert f"  warning: {problem} (--allow-partial given: loaded anyway)" in out.output.splitlines()
    assert rows(alpha, "SELECT location_text, block_id IS NULL FROM incidents ORDER BY 1") == [
        ("On or near Alpha Street", True), ("On or near Epsilon Way", False)]
    [again] = load("streets", STREETS, alpha)  # the full network gives every point its block back: not refused
    assert again.refused is None and count(alpha, "incidents", "block_id IS NULL") == 0


# --- the quarantine keeps a file's rows once ------------------------------------------------------

@pytest.mark.parametrize("kind, path, quarantined_rows", [
    ("police", POLICE, 5), ("istv", ED_CSV, 5), ("premises", PREMISES, 5), ("boroughs", BOROUGHS, 1)])
def test_reloading_a_file_does_not_add_its_quarantine_rows_again(tmp_path, kind, path, quarantined_rows):
    db = tmp_path / "istv.duckdb"
    [first] = load(kind, path, db)
    assert count(db, "quarantine") == first.rows_quarantined == quarantined_rows
    copy = tmp_path / "elsewhere"
    copy.mkdir()
    (copy / path.name).write_bytes(path.read_bytes())
    for again_path in (path, copy / path.name):  # the same file, or the same file from another folder
        [again] = load(kind, again_path, db)
        assert again.rows_quarantined == quarantined_rows  # the report still says what the file breaks
        assert f"{quarantined_rows:,} of the quarantined rows were quarantined by an earlier load of this file" in again.summary()
    assert count(db, "quarantine") == quarantined_rows
    assert rows(db, "SELECT DISTINCT load_id FROM quarantine") == [(1,)]


def test_a_changed_file_of_the_same_name_adds_its_new_quarantine_rows(tmp_path):
    db = tmp_path / "istv.duckdb"
    path = tmp_path / "2025-01.csv"
    path.write_bytes(POLICE.read_bytes())
    load("police", path, db)
    with open(path, "a") as f:
        f.write(",2025-01,Met,Met,,,On or near Nowhere,,,Robbery,,\n")
    [r] = load("police", path, db)
    assert r.rows_quarantined == 6
    assert count(db, "quarantine") == 6 and quarantined(db, 2)[0][0] == 12


@needs_real
def test_the_real_quarantine_stays_364_rows_when_the_files_are_loaded_again(tmp_path):
    db = tmp_path / "istv.duckdb"
    police = sorted((REAL / "police_uk").glob("*.csv"))
    for _ in range(2):
        load("police", police, db)
        load("premises", REAL / "london_pubs.csv", db, licence_type="pub")
        # 361 police rows without a point or outside London, three pubs with '\N' coordinates
        assert count(db, "quarantine") == 364
    assert rows(db, "SELECT count(*) FROM (SELECT DISTINCT file, line FROM quarantine)") == [(364,)]


# --- empty values in messages ------------------------------------------------------------------

def test_empty_values_read_empty_never_none_or_nan(tmp_path):
    out = _cli(tmp_path / "istv.duckdb").invoke(args=["validate", "istv", str(ED_CSV)])
    assert out.exit_code == 0, out.output
    assert "  ed_submission.csv, line 8, Assault Date + Assault Time: (empty): missing mandatory value" in out.output
    out = _cli(tmp_path / "istv.duckdb").invoke(args=["validate", "premises", str(PREMISES)])
    assert "  premises_register.csv, line 5, Latitude: (empty): no coordinates" in out.output
    data = json.loads(BOROUGHS.read_text())
    data["features"][2]["properties"]["GSS_CODE"] = None
    path = tmp_path / "b.geojson"
    path.write_text(json.dumps(data))
    db = tmp_path / "istv.duckdb"
    load("boroughs", path, db)
    assert quarantined(db, 1) == [(3, "GSS_CODE", None, "not a London borough GSS code (E09000001 to E09000033)")]
    out = _cli(tmp_path / "other.duckdb").invoke(args=["validate", "boroughs", str(path)])
    assert "  b.geojson, line 3, GSS_CODE: (empty): not a London borough GSS code (E09000001 to E09000033)" in out.output
    assert not re.search(r"\b(None|nan)\b", out.output)


# --- gzip ------------------------------------------------------------------------------------

def _gz(tmp_path, source, name):
    path = tmp_path / name
    path.write_bytes(gzip.compress(source.read_bytes()))
    return path


@pytest.mark.parametrize("kind, source, name", [
    ("police", POLICE, "2025-01.csv.gz"), ("istv", ED_CSV, "ed.csv.gz"), ("istv", ED_XML, "ed.xml.gz"),
    ("premises", PREMISES, "register.gz"), ("boroughs", BOROUGHS, "boroughs.geojson.gz"),
    ("streets", STREETS, "streets.geojson.gz")])
def test_a_gzip_file_loads_like_the_file_it_holds(tmp_path, kind, source, name):
    [plain] = load(kind, source, tmp_path / "plain.duckdb")
    [packed] = load(kind, _gz(tmp_path, source, name), tmp_path / "packed.duckdb")
    assert (packed.rows_read, packed.rows_loaded, dict(packed.quarantined)) == (
        plain.rows_read, plain.rows_loaded, dict(plain.quarantined))
    assert packed.file.endswith(name)  # reported and logged under the name given
    assert rows(tmp_path / "packed.duckdb", "SELECT DISTINCT file FROM quarantine") in ([], [(str(tmp_path / name),)])


def test_a_broken_gzip_file_is_refused_with_decompress_it_first(tmp_path):
    db = tmp_path / "istv.duckdb"
    load("police", POLICE, db)
    before = digest(db)
    broken = tmp_path / "2025-02.csv.gz"
    broken.write_bytes(gzip.compress(POLICE.read_bytes())[:60])
    for kind in ("police", "istv", "boroughs"):
        with pytest.raises(InputFileError) as err:
            load(kind, broken, db)
        assert str(err.value).startswith(f"{broken}: is gzip-compressed but cannot be decompressed (")
        assert str(err.value).endswith("decompress it first (gunzip) and load the result")
        assert "NUL bytes" not in str(err.value)
    assert digest(db) == before


# --- header-only files and premises registers without hours or licence types --------------------------

@pytest.mark.parametrize("kind, source", [("police", POLICE), ("istv", ED_CSV), ("premises", PREMISES), ("landmarks", DATA / "landmarks.csv")])
def test_a_header_only_file_loads_nothing_with_a_warning(tmp_path, kind, source):
    path = tmp_path / "header.csv"
    path.write_text(source.read_text().splitlines()[0] + "\r\n")
    out = _cli(tmp_path / "istv.duckdb").invoke(args=["load", kind, str(path)])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert f"{kind} header.csv: read 0, loaded 0, quarantined 0, duplicates skipped 0" in lines
    assert "  warning: the file has a header but no rows: nothing to load" in lines
    assert rows(tmp_path / "istv.duckdb", "SELECT rows_read, message LIKE 'warning: the file has a header but no rows%' "
                                          "FROM load_log") == [(0, True)]


def test_a_register_without_hours_or_licence_type_columns_warns_naming_them(tmp_path):
    path = tmp_path / "pubs.csv"
    path.write_text("fas_id,name,address,latitude,longitude\n1,The Crown,1 High St,51.51,-0.13\n")
    [r] = load("premises", path, tmp_path / "a.duckdb")
    assert r.rows_loaded == 1
    assert r.warnings == ["no 'opens' and 'closes' columns (expected opening time and closing time, e.g. 23:00): "
                          "premises are stored without them",
                          "no 'licence_type' column: premises are stored without a licence type "
                          "(pass --licence-type to give them one)"]
    [r] = load("premises", path, tmp_path / "b.duckdb", licence_type="pub")
    assert r.warnings[1] == "no 'licence_type' column: every premises takes --licence-type pub"
    closes = tmp_path / "closes.csv"
    closes.write_text("fas_id,name,address,type,closes,latitude,longitude\n1,The Crown,1 High St,pub,23:00,51.51,-0.13\n")
    [r] = load("premises", closes, tmp_path / "c.duckdb")
    assert r.warnings == ["no 'opens' column (expected opening time, e.g. 23:00): premises are stored without them"]
    [full] = load("premises", PREMISES, tmp_path / "d.duckdb")
    assert full.warnings == []
