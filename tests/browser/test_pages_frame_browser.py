"""The frame of every page: the browser tab names the page, each page has one h1, and on a phone the navbar
folds behind its menu button with the map first on the map page."""
from __future__ import annotations

from tests.browser.mapview import drawn
from tests.browser.test_map_browser import sign_in

TITLES = {"/": "Map", "/premises": "Premises", "/tasking": "Tasking", "/trends": "Trends", "/quality": "Data quality", "/submissions": "Submissions", "/upload": "Upload",
          "/standard": "Data standard", "/loads": "Loads", "/admin/users": "Users", "/admin/audit": "Audit"}
HEADINGS = {"/": "Map of violence", "/premises": "Licensed premises", "/tasking": "Tasking"}


def test_every_page_has_its_title_and_one_h1(page, live_server):
    sign_in(page, live_server, "admin")
    links = page.eval_on_selector_all(".navbar .nav-link", "els => els.map(e => e.getAttribute('href'))")
    assert set(TITLES) <= set(links), links
    seen = {}
    for path in [p for p in links if p != "/"] + ["/"]:
        page.click(f".navbar .nav-link[href='{path}']")
        title = f"{TITLES[path]} · ISTV London"
        page.wait_for_function("(t) => document.title === t", arg=title, timeout=20000)
        page.wait_for_function("(p) => location.pathname === p && document.querySelector('#page h1')", arg=path,
                               timeout=20000)
        seen[path] = page.locator("h1").all_inner_texts()
        # let the page finish drawing before the next link (plotly.js logs an error for a chart unmounted mid-draw)
        page.wait_for_function("!document.querySelector('[data-dash-is-loading=\"true\"]') && "
                               "[...document.querySelectorAll('#page .js-plotly-plot')].every(g => g._fullLayout)",
                               timeout=30000)
        page.wait_for_timeout(300)
    assert all(len(h) == 1 for h in seen.values()), {p: h for p, h in seen.items() if len(h) != 1}
    assert {p: seen[p][0] for p in HEADINGS} == HEADINGS
    assert page.errors == []


def test_phone_navbar_folds_and_the_map_comes_first(page, live_server):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "analyst")
    drawn(page)
    links = page.locator(".navbar .nav-link")
    assert links.count() >= 3
    assert not any(links.nth(i).is_visible() for i in range(links.count())), "navbar links shown before the menu is opened"
    assert not page.locator("#sign-out").is_visible()
    page.click("#nav-toggle")
    page.wait_for_function("Array.from(document.querySelectorAll('.navbar .nav-link'))"
                           ".every(a => a.getBoundingClientRect().height > 0)", timeout=5000)
    assert page.locator("#sign-out").is_visible()
    page.click("#nav-toggle")
    page.wait_for_function("Array.from(document.querySelectorAll('.navbar .nav-link'))"
                           ".every(a => a.getBoundingClientRect().height === 0 || a.offsetParent === null)", timeout=5000)

    page.wait_for_selector("#summary-ed", state="visible", timeout=20000)  # the cards come with the first render
    page.wait_for_selector("#map-hexes", state="visible", timeout=20000)  # the graph may be mounted a moment later
    the_map = page.locator("#map-hexes").bounding_box()
    card = page.locator("#summary-ed").bounding_box()
    assert the_map["y"] < card["y"], (the_map, card)
    assert the_map["y"] < 450, the_map
    assert page.errors == []
