"""Browser history on the map: each action of a person is one history entry with the view in its query, a
page normalises its link in place, and Back/Forward (within the map and across pages) show the view of the
restored URL: the controls and every shape equal a fresh load of that URL."""
from __future__ import annotations

from tests.browser.mapview import Fresh, drawn, history_length, same_as_fresh, search_by_keyboard, streets
from tests.browser.test_map_browser import choose_borough, sign_in

HACKNEY, WESTMINSTER = "E09000012", "E09000033"


def _url_is(page, url: str) -> None:
    page.wait_for_function(f"location.href === {url!r}", timeout=20000)


def test_one_entry_per_action_and_back_forward_restore_each_view(page, live_server, store):
    sign_in(page, live_server, "analyst")
    fresh = Fresh(page.context)

    # a link without the period: the page writes its normal form in place of it, adding no entry
    n = history_length(page)
    page.goto(f"{live_server}/?borough={HACKNEY}")
    page.wait_for_function("new URLSearchParams(location.search).has('from')", timeout=20000)
    assert history_length(page) == n + 1
    n += 1
    same_as_fresh(page, fresh, "a link normalised on load")
    assert history_length(page) == n
    urls = [page.url]

    street = streets(store, HACKNEY)[0]
    actions = [
        ("untick Police", lambda: page.get_by_label("Police", exact=True).uncheck()),
        ("colour by hot spots", lambda: page.get_by_label("hot spots (Gi*)").check()),
        ("add Westminster", lambda: choose_borough(page, "Westminster", WESTMINSTER)),
        ("a search result", lambda: search_by_keyboard(page, street.street, f"Street: {street.street}, {street.borough}")),
    ]
    for i, (what, act) in enumerate(actions, 1):
        before = page.url
        act()
        page.wait_for_function(f"location.href !== {before!r}", timeout=20000)
        # the view in the address bar is the view on screen (the search box keeps the chosen name; a fresh
        # load starts empty)
        same_as_fresh(page, fresh, what, ignore=("search_box",))
        assert history_length(page) == n + i, f"{what}: {history_length(page) - n - i + 1} history entries, not 1"
        urls.append(page.url)
    assert "src=ed" in urls[1] and "color=gi" in urls[2] and WESTMINSTER in urls[3] and "v=" in urls[4]
    assert history_length(page) == n + 4  # nothing after the last action (moving the map replaces)

    # Back, one action at a time, to the normalised link; then Forward again
    for k in (3, 2, 1, 0):
        page.go_back()
        _url_is(page, urls[k])
        same_as_fresh(page, fresh, f"Back to view {k}")
    for k in (1, 2, 3, 4):
        page.go_forward()
        _url_is(page, urls[k])
        same_as_fresh(page, fresh, f"Forward to view {k}")
    assert history_length(page) == n + 4

    # across pages: the navbar link is one entry (the premises page normalises its own link in place),
    # Back is the map with its last view, Forward the premises page again
    page.click(".navbar .nav-link[href='/premises']")
    page.wait_for_function("location.pathname === '/premises' && location.search.includes('from=')", timeout=20000)
    page.wait_for_selector("#premises-table .ag-row", timeout=30000)
    premises = page.url
    assert page.title() == "Premises · ISTV London"
    assert history_length(page) == n + 5
    page.go_back()
    _url_is(page, urls[4])
    drawn(page)
    assert page.title() == "Map · ISTV London"
    same_as_fresh(page, fresh, "Back from the premises page")
    page.go_forward()
    _url_is(page, premises)
    page.wait_for_selector("#premises-table .ag-row", timeout=30000)
    assert page.title() == "Premises · ISTV London"
    assert history_length(page) == n + 5
    assert page.errors == []
    fresh.close()
