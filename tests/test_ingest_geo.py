"""Street networks into blocks (pure functions on tiny networks) and the boundary and street loaders."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import shapely

from data.errors import InputFileError
from layers.blocks import block_neighbours, list_text, node_ids, street_blocks
from tests.test_ingest_fixtures import DATA, count, digest, load, quarantined, rows

BOROUGHS, STREETS = DATA / "boroughs_bng.geojson", DATA / "streets_tiny.geojson"


def _tiny_network():
    """The lines of streets_tiny.geojson (BNG metres) and their names."""
    features = [f for f in json.loads(STREETS.read_text())["features"] if f["geometry"]["type"] == "LineString"]
    return [shapely.LineString(f["geometry"]["coordinates"]) for f in features], [f["properties"]["name"] for f in features]


def test_tiny_network_splits_at_shared_vertices_only_and_merges_two_way_duplicates():
    lines, names = _tiny_network()
    b = street_blocks(lines, [list_text(n) for n in names])
    got = sorted(zip(b["street"].fillna("-"), b["length_m"].round(6)))
    assert got == [
        ("-", 100.0),               # an unnamed end stays its own block (names differ at the join)
        ("Alpha Street", 100.0),    # two directions of a two-way street: one block
        ("Beta Street", 100.0), ("Beta Street", 100.0),   # cut where Gamma Road shares its vertex
        ("Delta Bridge", 100.0),    # crosses Beta Street without a shared vertex: no junction
        ("Epsilon Way", 200.0),     # two pieces meeting where nothing else does: one block
        ("Gamma Road", 50.0), ("Gamma Road", 50.0),
    ]


def test_blocks_share_junction_ids_and_neighbours_come_from_them():
    lines, names = _tiny_network()
    b = street_blocks(lines, [list_text(n) for n in names]).reset_index(drop=True)
    ids = np.arange(1, len(b) + 1)
    name = dict(zip(ids, b["street"].fillna("-")))
    pairs = {(name[a], name[c]) for a, c in block_neighbours(ids, b["node_u"], b["node_v"])}
    junction = node_ids([529100], [181100])[0]
    assert sum((b["node_u"] == junction) | (b["node_v"] == junction)) == 4  # Beta x2, Gamma x2 meet there
    assert ("Alpha Street", "Beta Street") in pairs and ("Beta Street", "Epsilon Way") in pairs
    assert ("Epsilon Way", "-") in pairs
    assert not any("Delta Bridge" in p for p in pairs)  # a bridge touches no junction
    assert len(block_neighbours(ids, b["node_u"], b["node_v"])) == 2 * (1 + 6 + 1 + 1)


def test_list_like_names_take_their_first_item():
    assert list_text("['Macclesfield Bridge', 'Avenue Road']") == "Macclesfield Bridge"
    assert list_text("  York Gate ") == "York Gate"
    assert list_text(None) is None and list_text(float("nan")) is None and list_text("[]") is None


def test_boroughs_in_british_national_grid_are_reprojected_and_non_london_codes_quarantined(tmp_path):
    db = tmp_path / "istv.duckdb"
    [r] = load("boroughs", BOROUGHS, db)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (3, 2, 1)
    assert quarantined(db, 1) == [(3, "GSS_CODE", "E06000001", "not a London borough GSS code (E09000001 to E09000033)")]
    stored = rows(db, "SELECT code, name, population, lat, lon, geom_wkb FROM boroughs ORDER BY code")
    assert [(s[0], s[1], s[2]) for s in stored] == [("E09000007", "Camden", 210100), ("E09000033", "Westminster", 204300)]
    poly = shapely.from_wkb(bytes(stored[1][5]))
    x0, y0, x1, y1 = poly.bounds  # lon/lat now
    assert -0.17 < x0 < x1 < -0.12 and 51.50 < y0 < y1 < 51.53


@pytest.mark.parametrize("code_col, name_col", [("LAD22CD", "LAD22NM"), ("gss_code", "name"), ("CODE_X", "LABEL_X")])
def test_borough_code_and_name_columns_are_detected_or_given(tmp_path, code_col, name_col):
    data = json.loads(BOROUGHS.read_text())
    for f in data["features"]:
        p = f["properties"]
        f["properties"] = {code_col: p["GSS_CODE"], name_col: p["NAME"]}
    path = tmp_path / "b.geojson"
    path.write_text(json.dumps(data))
    db = tmp_path / "istv.duckdb"
    [r] = load("boroughs", path, db, name_col="LABEL_X" if name_col == "LABEL_X" else None)
    assert r.rows_loaded == 2
    assert "no population column: ONS mid-2021 estimates used for per-resident rates" in r.notes
    assert rows(db, "SELECT name, population FROM boroughs ORDER BY code") == [("Camden", 210100), ("Westminster", 204300)]


def test_unrecognised_columns_and_wrong_crs_are_explained_and_change_nothing(tmp_path):
    db = tmp_path / "istv.duckdb"
    load("boroughs", BOROUGHS, db)
    before = digest(db)
    data = json.loads(BOROUGHS.read_text())
    for f in data["features"]:
        f["properties"] = {"a": 1, "b": 2}
    path = tmp_path / "b.geojson"
    path.write_text(json.dumps(data))
    with pytest.raises(InputFileError, match="has no GSS code and name column that could be recognised: pass --code-col/--name-col"):
        load("boroughs", path, db)
    data = json.loads(BOROUGHS.read_text())
    del data["crs"]  # GeoJSON without "crs" means WGS84, but these are metres
    path.write_text(json.dumps(data))
    with pytest.raises(InputFileError, match=r"says its coordinates are longitude/latitude .* pass --crs"):
        load("boroughs", path, db)
    with pytest.raises(InputFileError, match="does not overlap Greater London"):
        load("boroughs", BOROUGHS, db, crs="EPSG:3857")
    with pytest.raises(InputFileError, match="has no LineString or MultiLineString features: expected street centre lines"):
        load("streets", BOROUGHS, db)
    (tmp_path / "junk.geojson").write_text("{not json")
    with pytest.raises(InputFileError, match="cannot be read as GeoJSON, GeoPackage or Shapefile"):
        load("boroughs", tmp_path / "junk.geojson", db)
    assert digest(db) == before
    [r] = load("boroughs", path, db, crs="EPSG:27700")
    assert r.rows_loaded == 2


def test_shapefile_without_prj_and_geopackage(tmp_path):
    import geopandas as gpd
    gdf = gpd.read_file(BOROUGHS)
    gdf.to_file(tmp_path / "b.gpkg", driver="GPKG")
    [r] = load("boroughs", tmp_path / "b.gpkg", tmp_path / "a.duckdb")
    assert r.rows_loaded == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # writing without a CRS is the point here
        gdf.set_crs(None, allow_override=True).to_file(tmp_path / "b.shp")
    (tmp_path / "b.prj").unlink(missing_ok=True)
    with pytest.raises(InputFileError, match="has no coordinate reference system and its coordinates are not longitude/latitude"):
        load("boroughs", tmp_path / "b.shp", tmp_path / "b.duckdb")
    [r] = load("boroughs", tmp_path / "b.shp", tmp_path / "b.duckdb", crs="EPSG:27700")
    assert r.rows_loaded == 2


def test_streets_replace_blocks_and_every_point_gets_its_block_and_borough_again(tmp_path):
    db = tmp_path / "istv.duckdb"
    points = tmp_path / "police.csv"
    # a crime 10 m north of Alpha Street's middle (529050, 181010), before any geography is loaded
    from layers.blocks import from_bng
    lat, lon = from_bng([529050], [181010])
    points.write_text("Crime ID,Month,Longitude,Latitude,Location,Crime type\n"
                      f",2025-01,{lon[0]:.6f},{lat[0]:.6f},On or near Alpha Street,Robbery\n")
    load("police", points, db)
    assert rows(db, "SELECT borough_code, block_id FROM incidents") == [(None, None)]
    [r] = load("streets", STREETS, db)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (9, 8, 1)
    assert count(db, "blocks") == 8
    assert rows(db, "SELECT b.street FROM incidents i JOIN blocks b USING (block_id)") == [("Alpha Street",)]
    load("boroughs", BOROUGHS, db)
    assert rows(db, "SELECT borough_code FROM incidents") == [("E09000033",)]
    assert rows(db, "SELECT count(*) FROM blocks WHERE borough_code = 'E09000033'") == [(8,)]
