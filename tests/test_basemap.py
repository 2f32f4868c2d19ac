"""The app's own base map: glyph files, vector tiles cut from the store, the routes and the style.

Expected tile coordinates come from pyproj's Web Mercator (EPSG:3857), not from layers.basemap.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import mapbox_vector_tile
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from dashboard import basemap as routes
from data.store import db
from data.store.db import Store
from layers import glyphs
from layers.basemap import EXTENT, BaseMap

HALF_WORLD = 20037508.342789244  # EPSG:3857 metres from the centre to the edge of the world
TO_3857 = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
GLYPHS = Path(__file__).resolve().parents[1] / "data" / "reference" / "glyphs"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, float, float]:
    """(x, y, px, py): the tile holding a point at zoom z and the point in that tile's units (y down)."""
    mx, my = TO_3857.transform(lon, lat)
    wx, wy = (mx + HALF_WORLD) / (2 * HALF_WORLD) * 2 ** z, (HALF_WORLD - my) / (2 * HALF_WORLD) * 2 ** z
    x, y = int(wx), int(wy)
    return x, y, (wx - x) * EXTENT, (wy - y) * EXTENT


def decode(data: bytes) -> dict:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True}) if data else {}


def names(layer: dict) -> list[str]:
    return [f["properties"].get("name") for f in layer["features"]]


# ---- glyphs ----------------------------------------------------------------------------------------

def test_committed_glyphs_hold_letters_with_plausible_metrics():
    data = (GLYPHS / "DejaVu Sans Regular" / "0-255.pbf").read_bytes()
    [stack] = glyphs.decode_glyphs(data)
    assert stack["range"] == "0-255"
    a = stack["glyphs"][ord("A")]
    # 24 px DejaVu Sans: a capital is about 17 px tall and 16 px wide, sitting on the baseline
    assert 14 <= a["height"] <= 20 and 13 <= a["width"] <= 19 and 14 <= a["advance"] <= 18
    assert len(a["bitmap"]) == (a["width"] + 6) * (a["height"] + 6)
    # fontnik's convention: top = glyph top above the baseline - 26, so a capital's top is -9 +/- 2
    assert -11 <= a["top"] <= -7
    g = stack["glyphs"][ord("g")]
    assert g["top"] < a["top"]  # a lower-case letter reaches less high above the baseline
    assert stack["glyphs"][ord(" ")]["bitmap"] == b"" and stack["glyphs"][ord(" ")]["advance"] > 0
    assert ord("é") in stack["glyphs"] and 10 not in stack["glyphs"]  # no control characters
    # the distance field: 192 is the edge; the middle of the bar of the A is inside, the corner outside
    px = a["bitmap"]
    assert px[0] < 100 and max(px) > 192


def test_every_committed_block_decodes_and_is_small():
    for stack in ("DejaVu Sans Regular", "DejaVu Sans Bold"):
        for start, end in glyphs.RANGES:
            path = GLYPHS / stack / f"{start}-{end}.pbf"
            [decoded] = glyphs.decode_glyphs(path.read_bytes())
            assert decoded["name"] == stack and decoded["range"] == f"{start}-{end}"
            assert len(decoded["glyphs"]) > 50 and path.stat().st_size < 200_000
    punct = glyphs.decode_glyphs((GLYPHS / "DejaVu Sans Regular" / "8192-8447.pbf").read_bytes())[0]["glyphs"]
    assert {0x2019, 0x2013, 0x201C, 0x2026} <= set(punct)  # ’ – “ …


@pytest.mark.skipif(not glyphs.STACKS["DejaVu Sans Regular"].exists(), reason="DejaVu Sans is not installed")
def test_regenerating_reproduces_the_committed_file():
    path = glyphs.STACKS["DejaVu Sans Regular"]
    assert glyphs.glyph_range(path, 0, 255, "DejaVu Sans Regular") == (GLYPHS / "DejaVu Sans Regular" / "0-255.pbf").read_bytes()


def test_glyph_range_refuses_blocks_maplibre_never_asks_for():
    with pytest.raises(ValueError, match="blocks of 256"):
        glyphs.glyph_range(glyphs.STACKS["DejaVu Sans Regular"], 10, 20, "x")


# ---- tiles from hand-made frames -------------------------------------------------------------------

# A 60 m street west to east and its continuation; a borough around them; a landmark beside them.
A, B, C = (-0.13400, 51.51360), (-0.13320, 51.51360), (-0.13260, 51.51372)


def frames(landmarks=True):
    blocks = pd.DataFrame({
        "block_id": [1, 2, 3],
        "street": ["Test Street", "Test Street", "Far Lane"],
        "borough_code": ["E1", "E1", "E1"],
        "geom_wkb": [shapely.to_wkb(shapely.LineString([A, B])), shapely.to_wkb(shapely.LineString([B, C])),
                     shapely.to_wkb(shapely.LineString([(-0.30, 51.40), (-0.299, 51.40)]))],
    })
    boroughs = pd.DataFrame({"code": ["E1"], "name": ["Testminster"], "lat": [51.5136], "lon": [-0.1336],
                             "geom_wkb": [shapely.to_wkb(shapely.box(-0.32, 51.38, -0.10, 51.56))]})
    lm = pd.DataFrame({"name": ["Test Station"] if landmarks else [], "kind": ["station"] if landmarks else [],
                       "borough_code": ["E1"] if landmarks else [],
                       "lat": [51.5138] if landmarks else [], "lon": [-0.1335] if landmarks else []})
    return blocks, boroughs, lm


def test_a_street_tile_holds_the_street_by_name_where_it_lies():
    bm = BaseMap.build(*frames())
    x, y, ax, ay = tile_of(*A, 16)
    x2, y2, bx, by = tile_of(*B, 16)
    _, _, cx, cy = tile_of(*C, 16)
    assert (x, y) == (x2, y2)  # the fixture's street lies in one z16 tile
    tile = decode(bm.tile(16, x, y))
    [street] = [f for f in tile["streets"]["features"] if f["properties"].get("name") == "Test Street"]
    # the two blocks of Test Street meet at B: one line A-B-C, in tile units, on the integer grid
    coords = street["geometry"]["coordinates"]
    assert street["geometry"]["type"] == "LineString" and len(coords) == 3
    for (gx, gy), (ex, ey) in zip(coords, [(ax, ay), (bx, by), (cx, cy)]):
        assert abs(gx - ex) <= 1 and abs(gy - ey) <= 1, (coords, [(ax, ay), (bx, by), (cx, cy)])
    assert "Far Lane" not in names(tile["streets"])  # 15 km away
    [station] = tile["landmarks"]["features"]
    assert station["properties"] == {"name": "Test Station", "kind": "station"}
    _, _, sx, sy = tile_of(-0.1335, 51.5138, 16)
    assert abs(station["geometry"]["coordinates"][0] - sx) <= 1 and abs(station["geometry"]["coordinates"][1] - sy) <= 1
    assert "borough_labels" not in tile  # borough names are for the city view


def test_an_empty_area_gives_an_empty_tile():
    bm = BaseMap.build(*frames())
    x, y, _, _ = tile_of(2.35, 48.85, 14)  # Paris
    assert bm.tile(14, x, y) == b""


def test_low_zoom_drops_streets_then_names():
    bm = BaseMap.build(*frames())
    at = {z: decode(bm.tile(z, *tile_of(*A, z)[:2])) for z in (10, 12, 13, 14)}
    assert "streets" not in at[10] and names(at[10]["borough_labels"]) == ["Testminster"]
    assert "landmarks" not in at[10]
    for z in (12, 13):
        assert at[z]["streets"]["features"] and set(names(at[z]["streets"])) == {None}  # lines, no names
    assert "Test Street" in names(at[14]["streets"])
    assert "landmarks" in at[13] and "landmarks" not in at[12]
    assert "boroughs" in at[10]  # the boundary is drawn at every zoom


def test_no_landmarks_is_fine():
    bm = BaseMap.build(*frames(landmarks=False))
    assert "landmarks" not in decode(bm.tile(16, *tile_of(*A, 16)[:2]))


def test_tiles_outside_the_scheme_are_refused():
    bm = BaseMap.build(*frames())
    with pytest.raises(ValueError, match="does not exist"):
        bm.tile(3, 8, 0)
    with pytest.raises(ValueError, match="does not exist"):
        bm.tile(17, 0, 0)


def test_missing_columns_say_what_is_expected():
    blocks, boroughs, lm = frames()
    with pytest.raises(ValueError, match=r"blocks has no column \['street'\]"):
        BaseMap.build(blocks.drop(columns="street"), boroughs, lm)


# ---- tiles from the store --------------------------------------------------------------------------

def a_block(store, street=None):
    """A named block of the store with its midpoint (SQL of the test's own)."""
    where = "street = ?" if street else "street IS NOT NULL AND street <> ''"
    row = store.df(f"SELECT block_id, street, lat, lon FROM blocks WHERE {where} ORDER BY block_id LIMIT 1",
                   [street] if street else []).iloc[0]
    return int(row["block_id"]), row["street"], float(row["lon"]), float(row["lat"])


def test_a_tile_of_the_store_holds_a_known_street(store):
    _, street, lon, lat = a_block(store)
    x, y, _, _ = tile_of(lon, lat, 16)
    raw, zipped = routes.tile_bytes(store, 16, x, y)
    assert street in names(decode(raw)["streets"]) and gzip.decompress(zipped) == raw


def test_a_load_gives_new_tiles(tiny_db_copy):
    store = Store(tiny_db_copy)
    block_id, street, lon, lat = a_block(store)
    x, y, _, _ = tile_of(lon, lat, 16)
    assert street in names(decode(routes.tile_bytes(store, 16, x, y)[0])["streets"])
    db.build(tiny_db_copy, lambda con: con.execute("UPDATE blocks SET street = 'Renamed Road' WHERE street = ?",
                                                    [street]), from_existing=True)
    after = names(decode(routes.tile_bytes(store, 16, x, y)[0])["streets"])
    assert "Renamed Road" in after and street not in after


# ---- routes ----------------------------------------------------------------------------------------

def test_signed_out_requests_are_refused_and_audited(dash_app, client):
    from dashboard.auth import USERS_KEY
    for path in ("/basemap/tiles/14/8185/5448.pbf", "/basemap/glyphs/Open Sans Regular/0-255.pbf"):
        r = client.get(path)
        assert r.status_code == 401 and "no-store" in r.headers["Cache-Control"]
        row = dash_app.server.extensions[USERS_KEY].events(limit=1, action="denied")[0]
        assert '"status": 401' in row.detail and path.split("/")[2] in row.detail


def test_tile_route_serves_the_store_with_cache_headers(client_as, store):
    c = client_as("analyst")
    _, street, lon, lat = a_block(store)
    x, y, _, _ = tile_of(lon, lat, 16)
    r = c.get(f"/basemap/tiles/16/{x}/{y}.pbf?v=abc")
    assert r.status_code == 200 and r.mimetype == "application/vnd.mapbox-vector-tile"
    assert r.headers["Cache-Control"] == routes.TILE_CACHE_CONTROL and "nosniff" in r.headers["X-Content-Type-Options"]
    assert street in names(decode(r.data)["streets"])
    zipped = c.get(f"/basemap/tiles/16/{x}/{y}.pbf", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.data) == r.data
    empty = c.get("/basemap/tiles/14/%d/%d.pbf" % tile_of(2.35, 48.85, 14)[:2])  # Paris
    assert empty.status_code == 200 and empty.data == b""
    assert c.get("/basemap/tiles/3/8/0.pbf").status_code == 404
    assert c.get("/basemap/tiles/17/0/0.pbf").status_code == 404
    assert c.get("/basemap/nothing").status_code == 404


@pytest.mark.parametrize("stack, expected", [
    ("Open Sans Regular,Arial Unicode MS Regular", "DejaVu Sans Regular"),  # what plotly's map text asks for
    ("DejaVu Sans Regular", "DejaVu Sans Regular"),
    ("Open Sans Bold,Arial Unicode MS Bold", "DejaVu Sans Bold"),
])
def test_glyphs_for_any_font_stack(client_as, stack, expected):
    c = client_as("analyst")
    for block in ("0-255", "256-511", "8192-8447"):
        r = c.get(f"/basemap/glyphs/{stack}/{block}.pbf")
        assert r.status_code == 200 and r.data == (GLYPHS / expected / f"{block}.pbf").read_bytes()
        assert r.headers["Cache-Control"] == routes.GLYPH_CACHE_CONTROL


def test_glyph_blocks_we_do_not_ship_are_empty_and_bad_ranges_404(client_as):
    c = client_as("analyst")
    r = c.get("/basemap/glyphs/Open Sans Regular/1024-1279.pbf")  # Cyrillic: none shipped
    assert r.status_code == 200 and glyphs.decode_glyphs(r.data)[0]["glyphs"] == {}
    for bad in ("0-300", "1-256", "abc", "65536-65791", "0-255-511"):
        assert c.get(f"/basemap/glyphs/Open Sans Regular/{bad}.pbf").status_code == 404, bad


def test_map_style_is_the_apps_own(signed_in):
    with signed_in("analyst"):
        style = routes.map_style()
    assert style["version"] == 8 and "sprite" not in style
    [src] = style["sources"].values()
    assert src["tiles"][0].startswith("http://localhost/basemap/tiles/{z}/{x}/{y}.pbf?v=")
    assert style["glyphs"] == "http://localhost/basemap/glyphs/{fontstack}/{range}.pbf"
    ids = [layer["id"] for layer in style["layers"]]
    assert ids[0] == "background" and {"street-name", "borough-name", "landmark-name"} <= set(ids)
    street_name = next(layer for layer in style["layers"] if layer["id"] == "street-name")
    assert street_name["layout"]["symbol-placement"] == "line" and street_name["minzoom"] <= 15
    assert next(layer for layer in style["layers"] if layer["id"] == "borough-name")["maxzoom"] <= 13


def test_named_plotly_styles_pass_through(dash_app, signed_in):
    from dataclasses import replace
    from config import CONFIG_KEY
    config = dash_app.server.extensions[CONFIG_KEY]
    dash_app.server.extensions[CONFIG_KEY] = replace(config, map_style="carto-positron")
    try:
        with signed_in("analyst"):
            assert routes.map_style() == "carto-positron"
    finally:
        dash_app.server.extensions[CONFIG_KEY] = config
