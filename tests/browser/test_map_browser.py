"""A person's first visit: the map and chart render, and choosing a borough updates them."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

BOROUGHS = "[id='{\"name\":\"boroughs\",\"type\":\"map-filter\"}']"  # the borough filter (pattern-matching id)
SUM_TRACE = """(sel) => {
  const gd = document.querySelector(sel + ' .js-plotly-plot');
  // _fullData holds decoded arrays; data may still hold plotly's base64 {dtype, bdata} form
  return gd ? gd._fullData.map(t => [t.name, t.type, Array.from(t.z || t.y || []).reduce((a, b) => a + (b || 0), 0)]) : null;
}"""


def _traces(page, graph_id):
    return {name: (kind, total) for name, kind, total in page.evaluate(SUM_TRACE, f"#{graph_id}")}


def _wait_for_plots(page):
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 2 && "
                           "document.querySelector('#map-hexes .js-plotly-plot').data.length >= 2", timeout=20000)


def _map_pixels(page):
    """Screenshot of the map without its colour bar; shares of coloured (hexes) and dark (outlines) pixels."""
    shot = Image.open(io.BytesIO(page.locator("#map-hexes").screenshot())).convert("RGB")
    px = np.asarray(shot)[:, : int(shot.width * 0.85)].reshape(-1, 3).astype(int)
    coloured = ((px.max(axis=1) - px.min(axis=1)) > 40).mean()  # hexes are orange, background white
    dark = (px.max(axis=1) < 120).mean()
    return shot, coloured, dark


def _sql(store, sql, params=()):
    return int(store.df(sql, params).iloc[0, 0])


def sign_in(page, base, username, password=None):
    from data.access.users import DEMO_USERS
    password = password or next(p for u, p, *_ in DEMO_USERS if u == username)
    page.goto(base + "/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#sign-in")
    page.wait_for_selector("#nav-user", state="attached")  # folded away on a phone


def choose_borough(page, name: str, code: str) -> None:
    """Add a borough in the map's borough dropdown as a person does (click, type, click the option, Escape)
    and wait until the address bar has it."""
    page.locator(BOROUGHS).click()
    page.keyboard.type(name[:5])
    page.locator(".dash-dropdown-content [role=option]", has_text=name).click()
    page.keyboard.press("Escape")
    page.wait_for_function(f"new URLSearchParams(location.search).getAll('borough').join(',').includes('{code}')",
                           timeout=20000)


def test_map_and_chart_render_and_borough_filter_updates_totals(page, live_server, store, artifacts):
    sign_in(page, live_server, "analyst")
    _wait_for_plots(page)
    series = _traces(page, "map-series")
    hexes = _traces(page, "map-hexes")
    ed_2025 = _sql(store, "SELECT count(*) FROM incidents WHERE source='ed' AND year(occurred_at)=2025")
    assert series["ED assaults"] == ("scatter", ed_2025)
    assert series["Police violence"][1] > 0
    assert hexes["units"][0] == "choroplethmap" and hexes["units"][1] > 0

    # the map shows pixels, not a blank canvas (offline styles draw nothing when they fail);
    # MapLibre draws asynchronously, so look again until it has drawn or time is up
    for _ in range(30):
        shot, coloured, dark = _map_pixels(page)
        if coloured > 0.03 and dark > 0.002:
            break
        page.wait_for_timeout(500)
    shot.save(artifacts / "map-first-visit.png")
    assert coloured > 0.03, f"only {coloured:.1%} of the map area is coloured"
    assert dark > 0.002, f"only {dark:.2%} of the map area is dark (no borough outlines?)"

    page.locator(BOROUGHS).click()
    page.keyboard.type("Westmin")
    page.locator("[role=option]", has_text="Westminster").click()
    page.keyboard.press("Escape")
    ed_w = _sql(store, "SELECT count(*) FROM incidents WHERE source='ed' AND borough_code='E09000033' AND year(occurred_at)=2025")
    police_w = _sql(store, "SELECT count(*) FROM incidents WHERE source='police' AND borough_code='E09000033' "
                           "AND category='Violence and sexual offences' AND year(month)=2025")
    page.wait_for_function(f"document.querySelector('#summary-ed').innerText === '{ed_w:,}'", timeout=15000)
    series = _traces(page, "map-series")
    assert series["ED assaults"][1] == ed_w
    assert series["Police violence"][1] == police_w
    assert page.locator("#summary-police").inner_text() == f"{police_w:,}"
    assert "borough=E09000033" in page.url
    assert page.errors == []

    # the URL reopens the same view
    page.goto(page.url)
    _wait_for_plots(page)
    page.wait_for_function(f"document.querySelector('#summary-ed') && document.querySelector('#summary-ed').innerText === '{ed_w:,}'", timeout=15000)
    assert "Westminster" in page.locator(BOROUGHS).inner_text()
