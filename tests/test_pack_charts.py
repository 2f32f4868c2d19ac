"""Pack charts are the pages' own Plotly figures drawn as SVG by Chromium (kaleido), with axes and scales.

Chromium is needed (Debian's `chromium`): without it these tests skip, unless REQUIRE_BROWSER=1 (CI).
"""
from __future__ import annotations

import os
import re
import shutil
from datetime import date

import pytest

from dashboard import figures_ops
from dashboard.figures import count_step
from dashboard.static_charts import figure_svg
from data.store import queries_ops
from data.store.filters import Filters

WESTMINSTER = "E09000033"
VIEW = f"?borough={WESTMINSTER}&from=2025-01-01&to=2025-12-31"
Y2025 = Filters(boroughs=(WESTMINSTER,), start=date(2025, 1, 1), end=date(2025, 12, 31))
MONTHS = ("Jan", "Mar", "May", "Jul", "Sep", "Nov")


@pytest.fixture(scope="module")
def chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("REQUIRE_BROWSER=1 but no Chromium to draw pack charts")
        pytest.skip("no Chromium: pack charts are replaced by a note")
    return found


def _charts(html: str) -> list[str]:
    return re.findall(r'<div class="chart"><svg.*?</svg></div>', html, flags=re.S)


def _texts(svg: str) -> list[str]:
    return [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_count_axes_step_in_whole_numbers():
    assert [count_step(v) for v in (0, 2, 5, 7, 23, 160, 3239)] == [1, 1, 1, 2, 5, 50, 1000]


def test_evidence_pack_charts_have_axes_scales_and_no_outside_links(client_as, store, chromium):
    ev = queries_ops.premises_evidence(store, Y2025, 50)
    pid = ev.sort_values(["ed", "premises_id"], ascending=[False, True]).iloc[0]["premises_id"]
    html = client_as("analyst").get(f"/download/premises/{pid}/evidence.html{VIEW}").get_data(as_text=True)
    charts = _charts(html)
    assert len(charts) == 5 and all('class="main-svg"' in c for c in charts)  # map, month, method, hour, named
    mini, monthly, methods, hours, named = charts
    # the monthly chart: month ticks along x, whole-number counts on both y axes
    ticks = _texts(monthly)
    assert sum(any(t.startswith(m) for t in ticks) for m in MONTHS) >= 5
    assert "ED assaults" in ticks and "Police-recorded violence" in ticks
    assert all(re.fullmatch(r"[\d,]+", t) for t in ticks if re.fullmatch(r"[\d.,]+", t))  # no 0.5 steps
    # the weekday x hour chart has its scale (a colour bar) and every weekday and hour
    assert 'class="colorbar"' in hours or "cbaxis" in hours
    assert {"Mon", "Sun", "00", "23", "Hour of the assault"} <= set(_texts(hours))
    assert "Glass or bottle" in _texts(methods) and "The premises" in _texts(mini)
    outside = set(re.findall(r"https?://[^\s\"'<>)]+", html)) - {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert outside == set() and "@font-face" not in html
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/assets/print.js">']


def test_tasking_pack_draws_the_map_and_the_hour_chart(client_as, chromium):
    html = client_as("analyst").get(f"/download/tasking/pack.html?borough={WESTMINSTER}&list=busiest").get_data(as_text=True)
    charts = _charts(html)
    assert len(charts) == 2
    assert {"Busiest block", "Borough boundary", "Rank in the table"} <= set(_texts(charts[0]))
    assert "Hour of the assault" in _texts(charts[1])


def test_without_chromium_a_chart_becomes_a_note_and_the_numbers_stay(tiny_db):
    fig = figures_ops.bar_counts(["a", "b"], [3, 7])
    note = figure_svg(fig, 400, 300, configured="/nonexistent/chromium")
    assert "Chart not drawn" in note and "ISTV_CHROMIUM" in note and "<svg" not in note
