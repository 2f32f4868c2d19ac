"""After an in-page change the map colours the right shapes: every hexagon's (or block's) value equals what a
reload of the same URL shows for it (per shape, not sums: a values-only update over the wrong shapes keeps
the sums), and the controls, legend and selection line say what a reload says."""
from __future__ import annotations

from tests.browser.mapview import Fresh, same_as_fresh
from tests.browser.test_map_browser import _wait_for_plots, choose_borough, sign_in

HACKNEY = "E09000012"


def brush(page, a: float, b: float) -> None:
    """Drag across the monthly series from a to b (shares of the plot's width). Few mouse moves: with the
    map drawing in software each one waits about a second for a frame."""
    plot = page.locator("#map-series .nsewdrag").first.bounding_box()
    y = plot["y"] + plot["height"] / 2
    page.mouse.move(plot["x"] + plot["width"] * a, y)
    page.mouse.down()
    page.mouse.move(plot["x"] + plot["width"] * (a + b) / 2, y)
    page.mouse.move(plot["x"] + plot["width"] * b, y)
    page.mouse.up()


def test_every_shape_matches_a_reload_after_in_page_changes(page, live_server, store):
    sign_in(page, live_server, "analyst")
    _wait_for_plots(page)
    choose_borough(page, "Hackney", HACKNEY)
    fresh = Fresh(page.context)
    same_as_fresh(page, fresh, "Hackney chosen")
    steps = [
        ("untick Police", lambda: page.get_by_label("Police", exact=True).uncheck(), "src=ed"),
        ("colour by hot spots", lambda: page.get_by_label("hot spots (Gi*)").check(), "color=gi"),
        ("tick Police again", lambda: page.get_by_label("Police", exact=True).check(), None),
        ("colour by change", lambda: page.get_by_label("change vs previous period").check(), "color=change"),
        ("brush March to May on the series", lambda: brush(page, 0.17, 0.40), "sel="),
        ("switch street blocks on", lambda: page.get_by_label("street blocks").check(), "unit=block"),
    ]
    checked = 0
    for label, act, expect in steps:
        before = page.url
        act()
        if expect:
            page.wait_for_function(f"location.search.includes('{expect}')", timeout=20000)
        else:
            page.wait_for_function(f"location.href !== {before!r}", timeout=20000)
        shown = same_as_fresh(page, fresh, label)
        checked += len(shown["shapes"])
    assert "sel=" in page.url and "unit=block" in page.url

    # street blocks: the shapes are Hackney's blocks (block ids), not hexagons
    blocks = {str(b) for b in store.df("SELECT block_id FROM blocks WHERE borough_code = ?", [HACKNEY])["block_id"]}
    shown = set(shown["shapes"])
    assert len(shown) > 20 and shown <= blocks, sorted(shown - blocks)[:5]
    assert checked > 300
    assert page.errors == []
    fresh.close()
