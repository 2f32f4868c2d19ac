"""`flask --app app geocode`: the stand-alone file command, its input checks, and --rerun on a store."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from flask import Flask

from config import CONFIG_KEY
from data.geocode import files
from data.geocode.match import Gazetteer, geocode
from cli.geocode import register_cli
from data.store.db import Store
from tests.fixtures import config_for

DATA = Path(__file__).resolve().parent / "data" / "geocode"
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def _runner(config=None):
    app = Flask("geocode-test")
    if config is not None:
        app.extensions[CONFIG_KEY] = config
    register_cli(app)
    return app.test_cli_runner()


def _run(tmp_path, *extra, ed_sites=True):
    args = ["geocode", "--premises", str(DATA / "premises.csv"), "--streets", str(DATA / "streets.geojson"),
            "--landmarks", str(DATA / "landmarks.csv"), "--input", str(DATA / "input.csv"),
            "--output", str(tmp_path / "out.csv"), *extra]
    if ed_sites:
        args += ["--ed-sites", str(DATA / "ed_sites.csv")]
    return _runner().invoke(args=args)


def test_geocodes_a_file_against_any_gazetteer_files(tmp_path):
    result = _run(tmp_path)
    assert result.exit_code == 0, result.output
    assert "12 records; venue 6, street 2, area 0, none 4" in result.output
    out = pd.read_csv(tmp_path / "out.csv", dtype={"id": str}, keep_default_na=False)
    assert list(out.columns) == ["id", "lat", "lon", "confidence", "matched", "score"]
    got = dict(zip(out["id"], zip(out["confidence"], out["matched"])))
    assert got["1"] == ("venue", "premises:P1")                       # o/s red lion high st
    assert got["2"] == ("venue", "premises:P2")                       # red lion, at the eastern ED
    assert got["3"] == ("venue", "premises:P2")                       # RED LION, MILL LANE beats the ED
    assert got["4"] == ("none", "private") and got["5"] == ("none", "unknown")
    assert got["6"] == ("venue", "premises:P3")                       # spoons
    assert got["7"] == ("street", "junction:church road|high street")
    assert got["8"] == ("venue", "landmark:Westville station")        # nr westvile stn
    assert got["9"] == ("venue", "premises:P4")                       # no site code: no prior needed
    assert got["10"] == ("street", "street:Church Road")              # Chruch Road
    assert got["11"] == ("none", "unmatched")
    assert got["12"] == ("none", "ambiguous:high street")            # two High Streets, no ED to choose by
    none = out["confidence"] == "none"
    assert (out.loc[none, "lat"] == "").all() and (out.loc[~none, "lat"] != "").all()


def test_without_an_ed_list_the_file_still_geocodes(tmp_path):
    result = _run(tmp_path, ed_sites=False)  # site codes EDW/EDE are not in the demo list: no prior
    assert result.exit_code == 0, result.output
    out = pd.read_csv(tmp_path / "out.csv", dtype={"id": str})
    assert out.set_index("id").loc["6", "matched"] == "premises:P3"


def test_streets_file_keeps_two_way_streets_once_and_skips_unnamed_lines():
    streets = files.read_streets(DATA / "streets.geojson")
    assert sorted(streets["street"]) == ["Church Road", "High Street", "High Street", "Mill Lane"]


def test_premises_rows_without_coordinates_are_left_out():
    assert files.read_premises(DATA / "premises.csv")["premises_id"].tolist() == ["P1", "P2", "P3", "P4"]


def test_a_missing_column_names_the_file_and_what_was_expected(tmp_path):
    bad = tmp_path / "premises.csv"
    bad.write_text("premises_id,name,latitude,longitude\nP1,The Crown,51.5,-0.1\n")
    with pytest.raises(ValueError, match=r"premises\.csv, row 1: missing column\(s\) lat, lon; expected premises_id, name, lat, lon"):
        files.read_premises(bad)
    result = _runner().invoke(args=["geocode", "--premises", str(bad), "--input", str(DATA / "input.csv"),
                                    "--output", str(tmp_path / "o.csv")])
    assert result.exit_code == 1 and "row 1: missing column(s) lat, lon" in result.output
    assert "Traceback" not in result.output


def test_a_bad_coordinate_names_row_and_column(tmp_path):
    bad = tmp_path / "landmarks.csv"
    bad.write_text("name,kind,lat,lon\nBrixton station,station,51.46,-0.11\nOval,station,531000,-0.11\n")
    with pytest.raises(ValueError, match=r"landmarks\.csv, row 3, column 'lat': '531000' is not a WGS84 latitude"):
        files.read_landmarks(bad)


def test_a_streets_file_with_points_is_refused(tmp_path):
    bad = tmp_path / "streets.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "X"},'
                   ' "geometry": {"type": "Point", "coordinates": [-0.1, 51.5]}}]}')
    with pytest.raises(ValueError, match=r"feature 1 has geometry 'Point'; expected LineString or MultiLineString"):
        files.read_streets(bad)


def test_usage_errors_say_what_to_give(tmp_path):
    result = _runner().invoke(args=["geocode"])
    assert result.exit_code == 2 and "give --rerun, or --input IN.csv and --output OUT.csv" in result.output
    result = _runner().invoke(args=["geocode", "--input", str(DATA / "input.csv"), "--output", str(tmp_path / "o.csv")])
    assert result.exit_code == 2 and "at least one gazetteer file" in result.output


def test_rerun_geocodes_stored_records_with_the_stored_gazetteer(tiny_db_copy):
    store = Store(tiny_db_copy)
    before = store.df("SELECT count(*) AS n FROM incidents")["n"].iat[0]
    result = _runner(config_for(tiny_db_copy)).invoke(args=["geocode", "--rerun"])
    assert result.exit_code == 0, result.output
    assert "re-geocoded" in result.output
    after = store.df("SELECT incident_id, location_text, ed_site, location_type, lat, lon, block_id, h3_r9, "
                     "geocode_confidence FROM incidents WHERE source = 'ed' ORDER BY incident_id")
    assert store.df("SELECT count(*) AS n FROM incidents")["n"].iat[0] == before
    sites = store.df("SELECT site_code, lat, lon FROM ed_sites").set_index("site_code").reindex(after["ed_site"])
    expected = geocode(Gazetteer.from_store(store), after["location_text"], sites["lat"].to_numpy(), sites["lon"].to_numpy(),
                       after["location_type"])
    assert after["geocode_confidence"].tolist() == expected["confidence"].tolist()
    np.testing.assert_allclose(after["lat"].to_numpy(float), expected["lat"].to_numpy(), equal_nan=True)
    placed = after["geocode_confidence"] != "none"
    assert after.loc[~placed, "lat"].isna().all() and after.loc[~placed, "h3_r9"].isna().all()
    assert after.loc[placed, "h3_r9"].notna().all()
    assert after.loc[after["geocode_confidence"] == "venue", "block_id"].notna().mean() > 0.9


def test_rerun_without_a_database_says_so(tmp_path):
    result = _runner(config_for(tmp_path / "missing.duckdb")).invoke(args=["geocode", "--rerun"])
    assert result.exit_code == 1 and "no database to re-geocode" in result.output


@pytest.mark.skipif(not (REALDATA / "westminster_streets_osm.geojson").exists(), reason="shared real data absent")
def test_real_westminster_streets_place_corners_where_they_are():
    streets = files.read_streets(REALDATA / "westminster_streets_osm.geojson")
    assert 3000 < len(streets) < 7478  # directed duplicates of two-way streets dropped
    g = Gazetteer.build(None, streets, street_lines=streets["geometry"].to_numpy())
    out = geocode(g, ["corner of oxford st and regent st", "jnct of charing cross rd & shaftesbury ave"])
    assert out["confidence"].tolist() == ["street", "street"]
    # Oxford Circus and Cambridge Circus
    assert abs(out["lat"].iat[0] - 51.5152) < 0.0008 and abs(out["lon"].iat[0] - -0.1418) < 0.0012
    assert abs(out["lat"].iat[1] - 51.5131) < 0.0008 and abs(out["lon"].iat[1] - -0.1290) < 0.0012


def test_police_files_give_their_violent_crimes_with_coordinates():
    crimes = files.read_police(DATA / "police.csv")
    # 5 violent crimes, one without coordinates; the burglary is not violence
    assert crimes["street"].tolist() == ["On or near High Street"] * 3 + ["On or near Parking Area"]
    assert crimes["lon"].tolist() == [-0.0445, -0.045, -0.044, -0.046]


def test_a_bad_police_coordinate_names_the_files_own_column(tmp_path):
    bad = tmp_path / "police.csv"
    bad.write_text("Crime ID,Month,Longitude,Latitude,Location,Crime type\n"
                   "x,2025-01,-0.1,51.5,On or near A Road,Violence and sexual offences\n"
                   "y,2025-01,-0.1,181000,On or near A Road,Burglary\n")
    with pytest.raises(ValueError, match=r"police\.csv, row 3, column 'Latitude': '181000' is not a WGS84 latitude"):
        files.read_police(bad)


def test_police_files_move_an_ambiguous_street_to_where_violence_concentrates(tmp_path):
    assert _run(tmp_path).exit_code == 0
    before = pd.read_csv(tmp_path / "out.csv", dtype={"id": str}).set_index("id")
    assert before.loc["12", "matched"] == "ambiguous:high street"   # two High Streets, no ED to choose by
    result = _run(tmp_path, "--police", str(DATA / "police.csv"))
    assert result.exit_code == 0, result.output
    after = pd.read_csv(tmp_path / "out.csv", dtype={"id": str}).set_index("id")
    # four violent crimes on the eastern High Street (lon -0.0536 .. -0.0421) are some evidence, not proof
    assert after.loc["12", "confidence"] == "area" and -0.0537 < after.loc["12", "lon"] < -0.042
    assert after.drop(index="12")["matched"].tolist() == before.drop(index="12")["matched"].tolist()


def test_the_input_may_carry_the_coded_location_type(tmp_path):
    (tmp_path / "in.csv").write_text("id,description,site_code,location_type\n1,red lion,EDW,1\n2,red lion,EDW,\n")
    assert files.read_input(tmp_path / "in.csv")["location_type"].tolist() == ["01", ""]
    result = _runner().invoke(args=["geocode", "--premises", str(DATA / "premises.csv"), "--ed-sites", str(DATA / "ed_sites.csv"),
                                    "--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "out.csv")["matched"].tolist() == ["premises:P1", "premises:P1"]


@pytest.mark.skipif(not (REALDATA / "police_uk").exists(), reason="shared real data absent")
def test_real_police_uk_files_give_their_located_violent_crimes():
    for path in sorted((REALDATA / "police_uk").glob("*.csv")):
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        expected = raw[(raw["Crime type"] == "Violence and sexual offences") & (raw["Latitude"] != "")]
        crimes = files.read_police(path)
        assert len(crimes) == len(expected) > 0, path.name
        assert crimes["street"].str.startswith("On or near ").all()
        np.testing.assert_allclose(crimes["lat"].to_numpy(), expected["Latitude"].astype(float).to_numpy())
