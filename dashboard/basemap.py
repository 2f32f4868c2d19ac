"""The base map every map draws on, served by the app itself (DESIGN.md "Maps without internet").

GET /basemap/tiles/<z>/<x>/<y>.pbf          vector tile of the store's streets, boroughs, landmarks
GET /basemap/glyphs/<fontstack>/<range>.pbf  SDF glyphs (DejaVu Sans) for ANY font stack asked for:
                                             plotly's own map text asks for "Open Sans Regular,..."

Both need a signed-in user: auth.py answers 401 (audited) to anyone else, as for downloads, and
the routes check again through `current_scope`. Tiles hold geography only (no incident data), the
same for every viewer, so one cache serves all; it is keyed by the data version, and the style's
tile URL carries the version, so a load shows at once and browsers may keep tiles.

`map_style()` is what figures put in `layout.map.style`: with ISTV_MAP_STYLE=istv (the default) a
MapLibre style whose sources and glyphs are all on this app; any other value (a named plotly style
such as `white-bg` or `carto-positron`) is passed through.
"""
from __future__ import annotations

import gzip
import hashlib
import re
from functools import lru_cache
from pathlib import Path

from flask import Flask, Response, abort, request

from dashboard.context import current_config, current_scope, current_store
from data.store.cache import file_version, version_cache
from data.store.db import Store
from data.store.queries_basemap import basemap_frames
from layers.glyphs import encode_glyphs
from layers.basemap import MAX_ZOOM, BaseMap, valid_tile

ISTV_STYLE = "istv"
GLYPH_DIR = Path(__file__).resolve().parents[1] / "data" / "reference" / "glyphs"
REGULAR, BOLD = "DejaVu Sans Regular", "DejaVu Sans Bold"
TILE_CACHE_CONTROL = "private, max-age=86400"    # the URL names the data version: a load gives new URLs
GLYPH_CACHE_CONTROL = "private, max-age=604800"
MVT = "application/vnd.mapbox-vector-tile"
_RANGE = re.compile(r"(\d{1,5})-(\d{1,5})")

TILES = version_cache(maxsize=4096, max_bytes=64 * 1024 * 1024)  # per worker; key: (file version, z, x, y)


INDEXES = version_cache(maxsize=2, max_bytes=None)  # key: file version; single flight, as a map's first
                                                    # view asks for a dozen tiles at once


def _basemap(path: str, version: tuple) -> BaseMap:
    # the spatial indexes of every street line: built once per data version (0.6-1 s at 53,000 blocks)
    return INDEXES.get((path, version), lambda: BaseMap.build(*basemap_frames(Store(path))))[0]


def _packed(data: bytes) -> tuple[bytes, bytes]:
    return data, gzip.compress(data, 6) if data else b""


def tile_bytes(store, z: int, x: int, y: int) -> tuple[bytes, bytes]:
    """(MVT bytes, the same gzipped) of tile z/x/y of the store's data version; b'' for an empty tile."""
    version = file_version(store)
    value, _ = TILES.get((version, z, x, y), lambda: _packed(_basemap(*version).tile(z, x, y)))
    return value


@lru_cache(maxsize=16)
def _glyphs(stack: str, start: int) -> tuple[bytes, bytes] | None:
    path = GLYPH_DIR / stack / f"{start}-{start + 255}.pbf"
    return _packed(path.read_bytes()) if path.is_file() else None


def glyph_bytes(fontstack: str, start: int) -> tuple[bytes, bytes]:
    """Our glyphs for a requested stack (bold when it names a bold face); an empty glyph set for a block we
    do not ship (MapLibre then leaves those characters out instead of failing the map)."""
    stack = BOLD if "bold" in fontstack.lower() else REGULAR
    return _glyphs(stack, start) or _packed(_empty_glyphs(stack, start))


def _empty_glyphs(stack: str, start: int) -> bytes:
    return encode_glyphs(stack, start, start + 255, [])


def _send(packed: tuple[bytes, bytes], mimetype: str, cache_control: str) -> Response:
    raw, zipped = packed
    use_gzip = bool(raw) and "gzip" in request.headers.get("Accept-Encoding", "")
    resp = Response(zipped if use_gzip else raw, mimetype=mimetype)
    if use_gzip:
        resp.headers["Content-Encoding"] = "gzip"
    resp.headers["Vary"] = "Accept-Encoding"
    resp.headers["Cache-Control"] = cache_control
    return resp


def register_routes(server: Flask) -> None:
    @server.route("/basemap/tiles/<int:z>/<int:x>/<int:y>.pbf")
    def basemap_tile(z: int, x: int, y: int):
        current_scope()  # 401 unless signed in (auth.py's gate answers first; this is defence in depth)
        if not valid_tile(z, x, y):
            abort(404)
        # an empty tile is 200 with no body: MapLibre draws nothing there (a 404 would be a map error)
        return _send(tile_bytes(current_store(), z, x, y), MVT, TILE_CACHE_CONTROL)

    @server.route("/basemap/glyphs/<fontstack>/<glyph_range>.pbf")
    def basemap_glyphs(fontstack: str, glyph_range: str):
        current_scope()
        m = _RANGE.fullmatch(glyph_range)
        if not m:
            abort(404)
        start, end = int(m.group(1)), int(m.group(2))
        if start % 256 or end != start + 255 or end > 65535:
            abort(404)
        return _send(glyph_bytes(fontstack, start), "application/x-protobuf", GLYPH_CACHE_CONTROL)

    @server.route("/basemap/<path:rest>")
    def no_such_basemap(rest: str):
        # without this, Dash's catch-all page route would answer unknown basemap paths with its HTML page
        current_scope()
        abort(404)


# ---- the style ------------------------------------------------------------------------------------

BACKGROUND = "#f7f7f5"
STREET_CASING, STREET_FILL = "#d4d4d2", "#ffffff"
BOUNDARY = "#a9a9a9"
LABEL, LABEL_DIM, HALO = "#6e6e6e", "#8c8c8c", "#ffffff"


def _by_zoom(*stops) -> list:
    return ["interpolate", ["exponential", 1.6], ["zoom"], *stops]


def istv_style(base_url: str, version: str) -> dict:
    """The MapLibre style of the app's base map. base_url: the app's absolute address ("http://host:port");
    MapLibre refuses relative glyph URLs and its workers cannot resolve relative tile URLs.
    version: a token of the data version, put in the tile URL so a load gives new tiles."""
    base = base_url.rstrip("/")
    src = "istv"
    return {
        "version": 8,
        "name": "ISTV base map",
        "sources": {src: {"type": "vector", "tiles": [f"{base}/basemap/tiles/{{z}}/{{x}}/{{y}}.pbf?v={version}"],
                          "minzoom": 0, "maxzoom": MAX_ZOOM}},
        "glyphs": f"{base}/basemap/glyphs/{{fontstack}}/{{range}}.pbf",
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": BACKGROUND}},
            {"id": "street-casing", "type": "line", "source": src, "source-layer": "streets", "minzoom": 11,
             "layout": {"line-join": "round", "line-cap": "round"},
             "paint": {"line-color": STREET_CASING, "line-width": _by_zoom(11, 0.5, 12, 0.7, 14, 2.5, 16, 7, 18, 18)}},
            {"id": "street", "type": "line", "source": src, "source-layer": "streets", "minzoom": 13,
             "layout": {"line-join": "round", "line-cap": "round"},
             "paint": {"line-color": STREET_FILL, "line-width": _by_zoom(13, 0.4, 14, 1.4, 16, 5, 18, 15)}},
            {"id": "borough-boundary", "type": "line", "source": src, "source-layer": "boroughs",
             "paint": {"line-color": BOUNDARY, "line-width": _by_zoom(8, 0.6, 12, 1.2, 16, 2),
                       "line-dasharray": [4, 2]}},
            {"id": "street-name", "type": "symbol", "source": src, "source-layer": "streets", "minzoom": 14,
             "layout": {"symbol-placement": "line", "text-field": ["get", "name"], "text-font": [REGULAR],
                        "text-size": _by_zoom(14, 10, 16, 13, 18, 15), "symbol-spacing": 300,
                        "text-max-angle": 35, "text-padding": 2},
             "paint": {"text-color": LABEL, "text-halo-color": HALO, "text-halo-width": 1.5}},
            {"id": "landmark-dot", "type": "circle", "source": src, "source-layer": "landmarks", "minzoom": 13,
             "paint": {"circle-radius": 2.5, "circle-color": LABEL_DIM, "circle-stroke-color": HALO,
                       "circle-stroke-width": 1}},
            {"id": "landmark-name", "type": "symbol", "source": src, "source-layer": "landmarks", "minzoom": 13,
             "layout": {"text-field": ["get", "name"], "text-font": [REGULAR], "text-size": _by_zoom(13, 10, 17, 13),
                        "text-anchor": "top", "text-offset": [0, 0.5], "text-max-width": 9, "text-optional": True},
             "paint": {"text-color": LABEL_DIM, "text-halo-color": HALO, "text-halo-width": 1.5}},
            {"id": "borough-name", "type": "symbol", "source": src, "source-layer": "borough_labels", "maxzoom": 13,
             "layout": {"text-field": ["get", "name"], "text-font": [BOLD], "text-size": _by_zoom(9, 10, 12, 13),
                        "text-transform": "uppercase", "text-letter-spacing": 0.08, "text-max-width": 8},
             "paint": {"text-color": LABEL_DIM, "text-halo-color": HALO, "text-halo-width": 1.5}},
        ],
    }


def version_token(store) -> str:
    return hashlib.sha1(repr(file_version(store)).encode()).hexdigest()[:12]


def map_style() -> str | dict:
    """What figures put in `layout.map.style` for this request: the app's own base map when the setting is
    `istv`, else the named plotly style it gives. Call within a signed-in request (a page or callback)."""
    style = current_config().map_style
    if style != ISTV_STYLE:
        return style
    return istv_style(request.host_url, version_token(current_store()))
