"""After an in-page change the map colours the right shapes: every hexagon's value equals what a reload of
the same URL shows for it (per shape, not sums: a values-only update over the wrong shapes keeps the sums)."""
from __future__ import annotations

from tests.browser.test_map_browser import BOROUGHS, _wait_for_plots, sign_in

HACKNEY = "E09000012"
PER_SHAPE = """() => {
  const gd = document.querySelector('#map-hexes .js-plotly-plot');
  const t = gd._fullData[0];
  const out = {};
  Array.from(t.locations).forEach((loc, i) => { out[loc] = [Array.from(t.z)[i], t.customdata[i][2]]; });
  return out;
}"""
SETTLED = ("() => !document.querySelector('[data-dash-is-loading=\"true\"]') && "
           "document.querySelector('#map-hexes .js-plotly-plot') && "
           "document.querySelector('#map-hexes .js-plotly-plot')._fullData.length > 0")


def _settle(page):
    page.wait_for_function(SETTLED, timeout=20000)
    page.wait_for_timeout(1200)  # the figure (or its Patch) is applied after the callback answers


def _reload_values(page, url):
    other = page.context.new_page()
    other.goto(url)
    other.wait_for_function("document.querySelector('#map-hexes .js-plotly-plot') && "
                            "document.querySelector('#map-hexes .js-plotly-plot')._fullData.length > 0", timeout=30000)
    _settle(other)
    values = other.evaluate(PER_SHAPE)
    other.close()
    return values


def test_every_hexagon_matches_a_reload_after_in_page_changes(page, live_server):
    sign_in(page, live_server, "analyst")
    _wait_for_plots(page)
    page.locator(BOROUGHS).click()
    page.keyboard.type("Hackn")
    page.locator("[role=option]", has_text="Hackney").click()
    page.keyboard.press("Escape")
    page.wait_for_function(f"location.search.includes('borough={HACKNEY}')", timeout=20000)
    _settle(page)
    steps = [
        ("untick Police", lambda: page.get_by_label("Police", exact=True).uncheck(), "src=ed"),
        ("colour by hot spots", lambda: page.get_by_label("hot spots (Gi*)").check(), "color=gi"),
        ("tick Police again", lambda: page.get_by_label("Police", exact=True).check(), None),
        ("colour by change", lambda: page.get_by_label("change vs previous period").check(), "color=change"),
    ]
    checked = 0
    for label, act, expect in steps:
        before = page.url
        act()
        if expect:
            page.wait_for_function(f"location.search.includes('{expect}')", timeout=20000)
        else:
            page.wait_for_function(f"location.href !== {before!r}", timeout=20000)
        _settle(page)
        live = page.evaluate(PER_SHAPE)
        fresh = _reload_values(page, page.url)
        assert set(live) == set(fresh), f"{label}: different hexagons on screen than after a reload"
        wrong = [loc for loc in live if live[loc] != fresh[loc]]
        assert wrong == [], f"{label}: {len(wrong)} of {len(live)} hexagons differ from a reload, e.g. {wrong[:3]}"
        checked += len(live)
    assert checked > 100
