"""The map journey of issue 7: borough, click a hexagon, brush the series, reopen the link, premises."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from h3.api import basic_int as h3i

from tests.browser.test_map_browser import _traces, _wait_for_plots, choose_borough, sign_in

HACKNEY = "E09000012"
LOCATED = "(source = 'police' OR geocode_confidence IN ('street', 'venue'))"
TOTALS_JS = """() => {
  const gd = document.querySelector('#map-hexes .js-plotly-plot');
  return gd._fullData[0].customdata.map(row => parseInt(row[2]));
}"""


PROJECT_JS = """([lon, lat]) => {
  const gd = document.querySelector('#map-hexes .js-plotly-plot');
  const p = gd._fullLayout.map._subplot.map.project([lon, lat]);
  const frame = gd.querySelector('.maplibregl-map').getBoundingClientRect(), outer = gd.getBoundingClientRect();
  return [p.x + frame.left - outer.left, p.y + frame.top - outer.top];
}"""


def _sql(store, where):
    return int(store.df(f"SELECT count(*) FROM incidents WHERE {where}").iloc[0, 0])


def _period(start, end):
    return (f"((source = 'ed' AND occurred_at >= DATE '{start}' AND occurred_at < DATE '{end}' + 1) OR "
            f"(source = 'police' AND category = 'Violence and sexual offences' AND month BETWEEN DATE '{start}' AND DATE '{end}'))")


def _state(page):
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def _wait_state(page, key, present=True):
    page.wait_for_function(f"new URLSearchParams(location.search).has('{key}') === {str(present).lower()}", timeout=15000)


def test_map_journey(page, live_server, store, artifacts):
    # the map sits under the heading, search box and controls: a screen tall enough to show all of it (a
    # click outside the viewport clicks nothing)
    page.set_viewport_size({"width": 1400, "height": 1200})
    sign_in(page, live_server, "analyst")
    _wait_for_plots(page)
    choose_borough(page, "Hackney", HACKNEY)
    ed = _sql(store, f"borough_code = '{HACKNEY}' AND source = 'ed' AND year(occurred_at) = 2025")
    page.wait_for_function(f"document.querySelector('#summary-ed').innerText === '{ed:,}'", timeout=20000)
    assert f"borough={HACKNEY}" in page.url

    # click (a real mouse click) on the centre of the busiest hexagon on screen
    page.wait_for_timeout(1500)
    locations = page.evaluate("document.querySelector('#map-hexes .js-plotly-plot')._fullData[0].locations")
    totals = page.evaluate(TOTALS_JS)
    busiest = locations[max(range(len(totals)), key=totals.__getitem__)]
    lat, lon = h3i.cell_to_latlng(h3i.str_to_int(busiest))
    xy = page.evaluate(PROJECT_JS, [lon, lat])
    box = page.locator("#map-hexes .js-plotly-plot").bounding_box()
    assert 0 <= box["y"] + xy[1] < page.viewport_size["height"], "the hexagon is off screen"
    page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
    _wait_state(page, "place")
    assert _state(page)["place"].endswith(busiest)
    kind, ident = _state(page)["place"].split(":")
    cell = h3i.str_to_int(ident)
    page.wait_for_function("document.querySelector('#map-selection').innerText.includes('hexagon')", timeout=15000)
    page.wait_for_timeout(1500)
    # a selected place counts what its hover counts: ED records placed on a street or at a venue
    hex_ed = _sql(store, f"{kind} = {cell} AND source = 'ed' AND geocode_confidence IN ('venue', 'street') "
                         "AND year(occurred_at) = 2025")
    hex_police = _sql(store, f"{kind} = {cell} AND source = 'police' AND category = 'Violence and sexual offences' AND year(month) = 2025")
    series = _traces(page, "map-series")
    assert series["ED assaults"][1] == hex_ed and series["Police violence"][1] == hex_police
    assert hex_ed + hex_police > 0

    # clear, then brush March to May on the series
    page.click("#map-clear")
    _wait_state(page, "place", present=False)
    page.wait_for_timeout(1000)
    plot = page.locator("#map-series .nsewdrag").first.bounding_box()
    y = plot["y"] + plot["height"] / 2
    page.mouse.move(plot["x"] + plot["width"] * 0.17, y)
    page.mouse.down()
    page.mouse.move(plot["x"] + plot["width"] * 0.30, y, steps=5)
    page.mouse.move(plot["x"] + plot["width"] * 0.40, y, steps=5)
    page.mouse.up()
    _wait_state(page, "sel")
    start, end = _state(page)["sel"].split("..")
    page.wait_for_timeout(2500)
    map_total = sum(page.evaluate(TOTALS_JS))
    assert map_total == _sql(store, f"borough_code = '{HACKNEY}' AND h3_r8 IS NOT NULL AND {LOCATED} AND {_period(start, end)}")
    assert "Selection:" in page.locator("#map-selection").inner_text()

    # the link reopens the same view
    url = page.url
    page.goto(url)
    _wait_for_plots(page)
    page.wait_for_function("document.querySelector('#map-selection').innerText.includes('Selection')", timeout=15000)
    page.wait_for_timeout(1500)
    assert sum(page.evaluate(TOTALS_JS)) == map_total

    # premises overlay on and off
    page.locator("text=show on map").click()
    _wait_state(page, "premises")
    page.wait_for_function("document.querySelector('#map-hexes .js-plotly-plot').data.length > 2", timeout=15000)
    names = [t["name"] for t in page.evaluate("document.querySelector('#map-hexes .js-plotly-plot').data.map(t => ({name: t.name}))")]
    assert "premises" in names  # one trace of markers coloured by licence type, named in the legend
    page.wait_for_selector("#map-legend-premises", timeout=15000)
    assert "pub" in page.locator("#map-legend-premises").inner_text()
    page.wait_for_timeout(2000)
    page.locator("#map-hexes").screenshot(path=str(artifacts / "map-journey.png"))
    page.locator("text=show on map").click()
    _wait_state(page, "premises", present=False)
    page.wait_for_function("document.querySelector('#map-hexes .js-plotly-plot').data.length === 2", timeout=15000)
    assert page.errors == []
