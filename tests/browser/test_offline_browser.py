"""The base map works without internet: every page an analyst opens asks nothing of another host,
its tiles and glyph fonts come from the app and are answered, and the map shows streets in pixels.

DESIGN.md "Maps without internet": a named plotly style draws nothing when its hosts are blocked, and
any text on a map fetches glyphs; the app serves both itself (dashboard/basemap.py).
"""
from __future__ import annotations

import io
from urllib.parse import urlsplit

import numpy as np
from PIL import Image

from tests.browser.test_csp_browser import READY, SETTLED, _pages_for
from tests.browser.test_map_browser import sign_in

WESTMINSTER = "E09000033"
# where the street sits on screen: MapLibre's own projection of a point of the tasking map
PROJECT = """([lon, lat]) => {
  const gd = document.querySelector('#tasking-map .js-plotly-plot');
  const map = gd._fullLayout.map._subplot.map;
  const p = map.project([lon, lat]);
  return [p.x, p.y, map.getZoom()];
}"""


ZOOM_TO = """(zoom) => {
  const gd = document.querySelector('#tasking-map .js-plotly-plot');
  return window.Plotly.relayout(gd, {'map.zoom': zoom}).then(() => true);
}"""


class Network:
    """Every request a browser context makes, and the status of each base map answer."""

    def __init__(self, context, base: str):
        self.app_host = urlsplit(base).netloc
        self.urls: list[str] = []
        self.basemap: dict[str, int] = {}
        context.on("request", lambda r: self.urls.append(r.url))
        context.on("response", self._response)

    def _response(self, response):
        if urlsplit(response.url).path.startswith("/basemap/"):
            self.basemap[response.url] = response.status

    def other_hosts(self) -> list[str]:
        return sorted({u for u in self.urls
                       if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != self.app_host})

    def answered(self, kind: str) -> dict[str, int]:
        return {u: s for u, s in self.basemap.items() if urlsplit(u).path.startswith(f"/basemap/{kind}/")}


def _settle(page, path: str):
    page.wait_for_selector(READY[path], timeout=30000)
    page.wait_for_function(SETTLED, timeout=30000)


def _street_pixels(page, points) -> tuple[float, float]:
    """(share of street midpoints with a street-grey pixel within 2 px, share of such pixels in the map).
    Street grey: a neutral grey darker than the background (#f7f7f5) and lighter than outlines and text;
    data colours are saturated, so they never count."""
    shot = Image.open(io.BytesIO(page.locator("#tasking-map").screenshot())).convert("RGB")
    px = np.asarray(shot).astype(int)
    box = page.locator("#tasking-map .js-plotly-plot").bounding_box()
    outer = page.locator("#tasking-map").bounding_box()
    grey = ((px.max(axis=2) - px.min(axis=2)) <= 6) & (px.max(axis=2) >= 180) & (px.max(axis=2) <= 238)
    hits = seen = 0
    for lon, lat in points:
        x, y, _ = page.evaluate(PROJECT, [lon, lat])
        cx, cy = int(round(x + box["x"] - outer["x"])), int(round(y + box["y"] - outer["y"]))
        if not (3 <= cx < px.shape[1] - 3 and 3 <= cy < px.shape[0] - 3):
            continue
        patch = px[cy - 2:cy + 3, cx - 2:cx + 3]
        if (((patch.max(axis=2) - patch.min(axis=2)) > 40).any()):  # under a data colour: not a fair sample
            continue
        seen += 1
        hits += bool(grey[cy - 2:cy + 3, cx - 2:cx + 3].any())
    return (hits / seen if seen else 0.0), float(grey.mean())


def test_every_page_is_offline_and_the_map_shows_streets(browser, live_server, store, artifacts):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    try:
        net = Network(context, live_server)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(page, live_server, "analyst")
        _settle(page, "/")
        for path in _pages_for("analyst")[1:]:
            page.click(f".navbar .nav-link[href='{path}']")
            _settle(page, path)

        # a premises profile: its mini-map is at street zoom, so street names are drawn
        pid = store.df("SELECT premises_id FROM premises WHERE borough_code = ? ORDER BY premises_id LIMIT 1",
                       [WESTMINSTER]).iloc[0, 0]
        page.goto(f"{live_server}/premises?borough={WESTMINSTER}&premises={pid}")
        page.wait_for_selector("#profile-map .js-plotly-plot", timeout=30000)
        _settle(page, "/premises")

        # the tasking map of one borough: streets in pixels where the store has streets
        page.goto(f"{live_server}/tasking?borough={WESTMINSTER}")
        _settle(page, "/tasking")
        fitted = page.evaluate(PROJECT, [-0.1340, 51.5136])[2]  # the page fits the borough: about 11.8
        # one step in, as a person looking at a part of the borough does: at the fitted zoom the tiles
        # leave out the shortest streets, so "where the store has streets" would not be a fair test
        page.evaluate(ZOOM_TO, 13)
        page.wait_for_function(SETTLED, timeout=30000)
        mids = store.df("SELECT lon, lat FROM blocks WHERE borough_code = ? ORDER BY hash(block_id) LIMIT 200",
                        [WESTMINSTER])
        points = list(zip(mids["lon"].astype(float), mids["lat"].astype(float)))
        share, grey = 0.0, 0.0
        for _ in range(40):  # MapLibre draws tiles as they come: look again until they are drawn
            share, grey = _street_pixels(page, points)
            if share >= 0.6:
                break
            page.wait_for_timeout(250)
        page.locator("#tasking-map").screenshot(path=str(artifacts / "offline-tasking-map.png"))
        zoom = page.evaluate(PROJECT, points[0])[2]

        # the map page at street zoom with the premises on: street names and premises' markers need glyphs
        # and the most detailed tiles
        page.goto(f"{live_server}/?v=51.5136,-0.1340,15.5&premises=1")
        _settle(page, "/")
        page.wait_for_function("document.querySelector('#map-hexes .js-plotly-plot')._fullData"
                               ".some(t => /premises/.test(t.name))", timeout=30000)
        street_zoom = page.evaluate("document.querySelector('#map-hexes .js-plotly-plot')._fullLayout.map.zoom")
        page.locator("#map-hexes").screenshot(path=str(artifacts / "offline-map-street-zoom.png"))

        assert net.other_hosts() == [], "requests to another host"
        tiles, glyphs = net.answered("tiles"), net.answered("glyphs")
        assert tiles and set(tiles.values()) == {200}, tiles
        assert glyphs and set(glyphs.values()) == {200}, glyphs
        assert any("Regular" in u for u in glyphs) and any("Bold" in u for u in glyphs), sorted(glyphs)
        assert 11 <= fitted < 13 and zoom == 13, (fitted, zoom)  # a borough view
        assert street_zoom == 15.5 and any("/basemap/tiles/15/" in u for u in tiles), sorted(tiles)[-5:]
        assert share >= 0.6, f"street grey at only {share:.0%} of street midpoints (zoom {zoom:.1f})"
        assert 0.002 < grey < 0.5, f"{grey:.1%} of the map is street grey"
        assert errors == [], errors
    finally:
        context.close()
