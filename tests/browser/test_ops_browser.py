"""Journeys through the operational pages as people take them: premises → profile → evidence pack,
and tasking → borough → tasking pack."""
from __future__ import annotations

import io
import re
from datetime import date

import numpy as np
import pandas as pd
from PIL import Image

from data.store import queries, queries_ops
from data.store.filters import Filters
from tests.browser.grid import columns_fit, fits_at, grid_rows, wait_for_rows
from tests.browser.test_map_browser import sign_in

WESTMINSTER = "E09000033"
Y2025 = Filters(boroughs=(WESTMINSTER,), start=date(2025, 1, 1), end=date(2025, 12, 31))


def _coloured_share(locator) -> float:
    px = np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB")).reshape(-1, 3).astype(int)
    return float(((px.max(axis=1) - px.min(axis=1)) > 40).mean())


def test_licensing_officer_finds_a_premises_opens_its_profile_and_downloads_the_evidence_pack(page, live_server, store, artifacts):
    ev = queries_ops.premises_evidence(store, Y2025, 50)
    target = ev.sort_values(["total", "premises_id"], ascending=[False, True]).iloc[0]
    sign_in(page, live_server, "licensing")
    page.goto(live_server + "/premises")
    wait_for_rows(page, "premises-table")
    assert page.locator("#premises-count").inner_text().startswith(f"{len(ev):,} premises")
    # the server pages the table: 12 rows at a time, ranks 1-12, then 13-24 on the next page
    page.wait_for_function("document.querySelector('#premises-table .ag-row[row-index=\"0\"] .ag-cell[col-id=rank]')"
                           "?.innerText === '1'", timeout=15000)
    rows = grid_rows(page, "premises-table")
    assert [r["rank"] for r in rows] == [str(k) for k in range(1, 13)]
    assert rows[0]["name"] == str(target["name"])
    every = ["rank", "name", "address", "licence", "hours", "hot", "ed", "police", "total", "night", "glass", "named",
             "prev_total", "change"]
    assert columns_fit(page, "premises-table", every) == []
    assert fits_at(page, "premises-table", every, 1280) == []  # every column on screen down to 1280 px
    page.screenshot(path=str(artifacts / "premises-1280.png"))
    page.set_viewport_size({"width": 1400, "height": 900})
    page.locator("#premises-table").get_by_role("button", name="Next Page").click()
    page.wait_for_function("document.querySelector('#premises-table .ag-row[row-index=\"12\"] .ag-cell[col-id=rank]')"
                           "?.innerText === '13'", timeout=15000)
    assert [r["rank"] for r in grid_rows(page, "premises-table")] == [str(k) for k in range(13, 25)]
    # sorting is the server's too: by name, A first, across all the premises (not only the page shown)
    first_name = sorted(ev["name"].astype(str), key=str.casefold)[0]
    page.locator("#premises-table .ag-header-cell[col-id=name] .ag-header-cell-label").click()
    page.wait_for_function("document.querySelector('#premises-table .ag-row[row-index=\"0\"] .ag-cell[col-id=name]')"
                           f"?.innerText.toLowerCase() === {str(first_name).lower()!r}", timeout=15000)
    page.locator("#premises-table .ag-header-cell[col-id=name] .ag-header-cell-label").click()  # descending
    page.locator("#premises-table .ag-header-cell[col-id=name] .ag-header-cell-label").click()  # back to rank

    page.fill("#premises-search", str(target["name"]))
    page.keyboard.press("Enter")
    page.wait_for_function(f"[...document.querySelectorAll('#premises-table .ag-row[row-index] .ag-cell[col-id=name]')]"
                           f".every(c => c.innerText.includes({str(target['name'])!r}))", timeout=15000)
    row = page.locator("#premises-table .ag-cell[col-id=name]", has_text=str(target["name"])).first
    row.click()
    page.wait_for_selector("#profile-name", timeout=20000)
    assert page.locator("#profile-name").inner_text() == target["name"]
    shown = lambda n: "<5" if 0 < n < 5 else f"{n:,}"  # noqa: E731  licensing sees aggregates only
    assert page.locator("#profile-ed").inner_text() == shown(int(target["ed"]))
    page.wait_for_function(f"location.search.includes('premises={target['premises_id']}')", timeout=10000)
    assert f"premises={target['premises_id']}" in page.url and "q=" in page.url
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts / "premises-profile.png"), full_page=True)
    assert _coloured_share(page.locator("#profile-map")) > 0.01, "the mini-map shows nothing"

    href = page.get_attribute("#profile-pack", "href")
    pack = page.context.new_page()
    pack.goto(live_server + href)
    text = pack.locator("body").inner_text()
    assert f"Evidence pack: {target['name']}" in text and "Method statement" in text
    assert "Radius: incidents whose mapped point lies within 50 m" in text
    assert "<5" in text or int(target["ed"]) >= 5
    pack.screenshot(path=str(artifacts / "evidence-pack.png"), full_page=True)
    pack.close()
    csv = page.request.get(live_server + page.get_attribute("#profile-pack-csv", "href"))
    frame = pd.read_csv(io.StringIO(csv.text()), dtype=str, keep_default_na=False)
    assert frame.loc[frame["item"] == "Incidents within 50 m, this period", "ed"].iat[0] == shown(int(target["ed"]))


def test_tasking_meeting_picks_a_borough_and_takes_the_pack(page, live_server, store, artifacts):
    sign_in(page, live_server, "analyst")  # record-level like police; tests/test_auth.py locks the demo police user out
    page.goto(live_server + "/tasking")
    page.wait_for_selector("#tasking-hot-count", timeout=30000)
    page.locator("#tasking-boroughs").click()
    page.keyboard.type("Westmin")
    page.locator("[role=option]", has_text="Westminster").click()
    page.keyboard.press("Escape")
    # the window is the last month of data, counted whole: December 2025
    dec = Filters(boroughs=(WESTMINSTER,), start=date(2025, 12, 1), end=date(2025, 12, 31))
    counts = queries_ops.tasking_block_counts(store, dec)
    truth_ed = int(store.df("""SELECT count(*) FROM incidents WHERE source = 'ed' AND borough_code = ? AND block_id IS NOT NULL
                               AND geocode_confidence IN ('venue', 'street')
                               AND occurred_at >= DATE '2025-12-01' AND occurred_at < DATE '2026-01-01'""", [WESTMINSTER]).iat[0, 0])
    assert int(counts["ed"].sum()) == truth_ed
    page.wait_for_function(f"document.querySelector('#tasking-ed') && document.querySelector('#tasking-ed').innerText === '{truth_ed:,}'",
                           timeout=15000)
    # the address bar follows the callback's answer (assets/history.js writes it, a step after the cards)
    page.wait_for_function("location.search.includes('borough=E09000033')", timeout=10000)
    assert "borough=E09000033" in page.url
    # the hot list holds only blocks the test flags; on the small test data a month may hold none, and says so
    hot = queries.hot_blocks(store, dec)
    page.wait_for_function(f"document.querySelector('#tasking-hot-count').innerText === '{len(hot):,}'", timeout=15000)
    if hot.empty:
        assert "No block is a significant hot spot" in page.locator("#tasking-none-hot").inner_text()
        assert page.locator("#tasking-table .ag-row[row-index]").count() == 0
    assert "negative-binomial" in page.locator("#tasking-method").inner_text()
    # the busiest blocks: a ranking by count
    page.locator("#tasking-list label", has_text="Busiest blocks").click()
    wait_for_rows(page, "tasking-table")
    page.wait_for_function("location.search.includes('list=busiest')", timeout=10000)
    assert "list=busiest" in page.url
    page.wait_for_function("[...document.querySelectorAll('#tasking-table .ag-row[row-index] .ag-cell[col-id=borough]')]"
                           ".every(c => c.innerText === 'Westminster')", timeout=15000)
    rows = grid_rows(page, "tasking-table")
    assert rows and {r["borough"] for r in rows} == {"Westminster"}
    assert [r["rank"] for r in rows] == [str(k) for k in range(1, len(rows) + 1)]
    busiest = queries.busiest_blocks(store, dec, 20)
    assert [int(r["total"]) for r in rows] == busiest["total"].head(len(rows)).tolist()
    every = ["rank", "street", "borough", "ed", "police", "total", "per_100m", "hot", "pattern", "expected",
             "change_class", "peak_days", "peak_hours", "ed_excess"]
    assert columns_fit(page, "tasking-table", every) == []
    assert fits_at(page, "tasking-table", every, 1280) == []
    page.set_viewport_size({"width": 1400, "height": 900})
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts / "tasking.png"), full_page=True)
    assert _coloured_share(page.locator("#tasking-map")) > 0.005, "the map of the listed blocks shows nothing"

    first = [rows[0][k] for k in ("rank", "street", "borough", "ed", "police", "total")]
    href = page.get_attribute("#tasking-pack", "href")
    pack = page.context.new_page()
    pack.goto(live_server + href)
    text = pack.locator("body").inner_text()
    assert "Tasking pack" in text and "Westminster" in text and "01 Dec 2025 to 31 Dec 2025" in text
    assert "Busiest blocks" in text and "whole calendar months" in text
    assert re.search(r"produced \d{2} \w+ \d{4}", text) and "Method statement" in text
    assert f"{truth_ed:,}" in pack.locator("#pack-ed").inner_text()
    pack.screenshot(path=str(artifacts / "tasking-pack.png"), full_page=True)
    pack.close()
    csv = pd.read_csv(io.StringIO(page.request.get(live_server + page.get_attribute("#tasking-csv", "href")).text()),
                      keep_default_na=False, dtype=str)
    assert list(csv.iloc[0][["rank", "street", "borough", "ed", "police", "total"]]) == first[:6]
