"""The map's search box, with the keyboard only: a street is found by its name, choosing it centres the map
on it, selects the place there (the selection line names the street, its outline is drawn there), and adds
one history entry; a viewer limited to some boroughs is offered only their streets."""
from __future__ import annotations

import time

import pytest

from tests.browser.mapview import (OPTION, drawn, history_length, map_view, metres, outline, search_by_keyboard,
                                   streets)
from tests.browser.test_map_browser import sign_in

HACKNEY = "E09000012"
NEAR_M = 300  # the map centres on the street's middle block; the street is at most 150 m long


def _until(page, check, what: str, timeout: float = 15.0):
    """Poll `check()` (None or a failure message) until it passes; fail with the last message."""
    deadline = time.monotonic() + timeout
    while (problem := check()) is not None:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: {problem}")
        page.wait_for_timeout(200)


def _names(page, text: str, timeout: float = 15.0) -> None:
    def named():
        line = page.locator("#map-selection").inner_text()
        return None if text in line else f"the selection line says {line!r}"
    _until(page, named, f"the selection does not name {text!r}", timeout)


def _centred_and_outlined(page, street, what: str) -> None:
    def centred():
        lat, lon, zoom = map_view(page)
        d = metres(lat, lon, street.lat, street.lon)
        return None if d < NEAR_M and zoom >= 15 else f"map at {lat:.4f},{lon:.4f} z{zoom:.1f}, {d:.0f} m from the street"

    def outlined():
        ring = outline(page)
        far = max((metres(y, x, street.lat, street.lon) for x, y in ring), default=None)
        if len(ring) < 4:
            return f"no outline of the selected place ({ring})"
        return None if far < NEAR_M else f"the outline reaches {far:.0f} m from the street"

    _until(page, centred, f"{what}: the map is not centred on {street.street}")
    _until(page, outlined, f"{what}: the selected place is not outlined at {street.street}")


def test_find_a_street_with_the_keyboard(page, live_server, store):
    street = streets(store)[0]
    sign_in(page, live_server, "analyst")
    drawn(page)
    n = history_length(page)
    # hexagons: the hexagon at the street is selected and outlined, the map centred there
    search_by_keyboard(page, street.street, f"Street: {street.street}, {street.borough}")
    page.wait_for_function("new URLSearchParams(location.search).has('v') && "
                           "new URLSearchParams(location.search).get('place').startsWith('h3_')", timeout=20000)
    _names(page, street.street)
    _centred_and_outlined(page, street, "hexagons")
    assert history_length(page) == n + 1
    assert page.locator("#map-search").inner_text() == f"Street: {street.street}, {street.borough}"
    assert page.errors == []


def test_find_a_street_with_the_keyboard_on_street_blocks(page, live_server, store):
    street = streets(store)[0]
    sign_in(page, live_server, "analyst")
    page.goto(f"{live_server}/?unit=block")
    drawn(page)
    n = history_length(page)
    search_by_keyboard(page, street.street, f"Street: {street.street}, {street.borough}")
    page.wait_for_function("(new URLSearchParams(location.search).get('place') || '').startsWith('block:')", timeout=20000)
    _names(page, f"street block {street.street}")  # the street's own block, named
    _centred_and_outlined(page, street, "street blocks")
    assert history_length(page) == n + 1


# a word some Hackney street names start with, and some street names only outside Hackney: few enough in
# all of London that a viewer of every borough is offered them all (the search lists 12 places)
WORD = """
WITH names AS (SELECT street, bool_or(borough_code = ?) AS inside, bool_and(borough_code <> ?) AS outside,
                      count(DISTINCT borough_code) AS boroughs
               FROM blocks WHERE street IS NOT NULL AND street <> '' GROUP BY street),
     words AS (SELECT split_part(street, ' ', 1) AS word, * FROM names)
SELECT word FROM words w GROUP BY word
HAVING length(word) >= 4 AND bool_or(inside) AND bool_or(outside)
   AND (SELECT sum(boroughs) FROM names n WHERE contains(lower(n.street), lower(w.word))) <= 4
ORDER BY word LIMIT 1"""


def test_a_borough_limited_viewer_finds_only_their_streets(page, live_server, store):
    word = store.df(WORD, [HACKNEY, HACKNEY]).iloc[0, 0]
    found = store.df("SELECT DISTINCT street, borough_code FROM blocks WHERE contains(lower(street), lower(?))", [word])
    inside = sorted(found.loc[found["borough_code"] == HACKNEY, "street"])
    outside = sorted(set(found["street"]) - set(inside))
    assert inside and outside, (word, found)

    sign_in(page, live_server, "csp")  # Hackney only
    drawn(page)
    page.focus("#sign-out")
    page.keyboard.press("Tab")
    page.keyboard.press(word[0])
    page.wait_for_function("document.activeElement.classList.contains('dash-dropdown-search')")
    page.keyboard.press("Control+A")
    page.keyboard.type(word)
    page.wait_for_selector(f"{OPTION}:has-text('Street: {inside[0]}, Hackney')", timeout=15000)
    offered = [o for o in page.locator(OPTION).all_inner_texts() if o.startswith("Street:")]
    assert sorted(offered) == sorted(f"Street: {s}, Hackney" for s in inside), (word, offered, outside)

    # the whole name of a street outside Hackney: nothing to choose
    page.keyboard.press("Control+A")
    with page.expect_response(lambda r: "_dash-update-component" in r.url and "map-search.options" in (r.request.post_data or "")
                              and outside[0] in (r.request.post_data or "")):
        page.keyboard.type(outside[0])  # the options for the whole name come back
    page.wait_for_timeout(300)
    assert [o for o in page.locator(OPTION).all_inner_texts() if o.startswith("Street:")] == []
    assert page.errors == []
