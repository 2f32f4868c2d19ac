"""Another agency's incidents in Chromium: the demo's ambulance call-outs chosen on the map, trends and tasking,
each showing the count SQL gives, and listed on the data standard page."""
from __future__ import annotations

from tests.browser.test_map_browser import _sql, sign_in

NAME = "Ambulance assault call-outs"
WESTMINSTER = "E09000033"


def _settled(page, selector: str, timeout=30000):
    page.wait_for_selector(selector, timeout=timeout)
    page.wait_for_function("() => !document.querySelector('._dash-loading, .dash-spinner')", timeout=timeout)


def test_an_analyst_counts_ambulance_call_outs_on_map_trends_and_tasking(page, live_server, store):
    sign_in(page, live_server, "analyst")
    page.goto(live_server + f"/?borough={WESTMINSTER}&from=2025-01-01&to=2025-06-30")
    _settled(page, "#summary-ed")
    assert page.locator("#summary-other").count() == 0
    page.get_by_label(NAME).check()
    page.wait_for_selector("#summary-other", timeout=30000)
    las = _sql(store, f"""SELECT count(*) FROM incidents WHERE source = 'las' AND borough_code = '{WESTMINSTER}'
                          AND month BETWEEN DATE '2025-01-01' AND DATE '2025-06-01'""")
    assert las > 0 and page.inner_text("#summary-other") == f"{las:,}"
    page.wait_for_function("() => location.search.includes('las')", timeout=20000)
    page.wait_for_function("(n) => [...document.querySelectorAll('#map-series .legendtext')].some(e => e.textContent === n)",
                           arg=NAME, timeout=30000)

    page.goto(live_server + f"/trends?borough={WESTMINSTER}&from=2025-01-01&to=2025-06-30")
    _settled(page, "#trends-monthly .js-plotly-plot")
    page.get_by_label(f"{NAME} (London Ambulance Service)").check()
    page.wait_for_function("(n) => [...document.querySelectorAll('#trends-monthly .legendtext')].some(e => e.textContent === n)",
                           arg=NAME, timeout=30000)
    shown = page.evaluate("""(n) => { const gd = document.querySelector('#trends-monthly .js-plotly-plot');
                                      return gd.data.find(t => t.name === n).y.reduce((a, b) => a + (b || 0), 0); }""", NAME)
    assert int(shown) == las

    page.goto(live_server + f"/tasking?borough={WESTMINSTER}&from=2025-03-01&to=2025-05-31")
    _settled(page, "#tasking-summary-text")
    assert page.locator("#tasking-other").count() == 0
    page.get_by_label(f"{NAME} (London Ambulance Service)").check()
    page.wait_for_selector("#tasking-other", timeout=30000)
    page.wait_for_selector("#tasking-table .ag-header-cell[col-id=other]", timeout=30000)
    assert int(page.inner_text("#tasking-other").replace(",", "")) > 0

    page.goto(live_server + "/standard")
    page.wait_for_selector("#standard-sources")
    assert NAME in page.inner_text("#standard-sources") and page.locator("#standard-incidents").count() == 1
    assert page.errors == []
