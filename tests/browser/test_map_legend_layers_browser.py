"""The legend sits beside the map (nothing drawn on the canvas) and names the classes the map is coloured
with; the Layers controls put the premises under the colours and make the colours see-through without
changing any shape's value."""
from __future__ import annotations

import time

from tests.browser.mapview import MAP, OPTION, Fresh, drawn, fid, history_length, same_as_fresh
from tests.browser.test_map_browser import sign_in

WESTMINSTER = "E09000033"
UNITS_FILL = "plotly-trace-layer-units-fill"
# the units' colour classes as the map uses them (trace 0's discrete colour scale, in order) and as the legend
# shows them (each swatch's colour, its label), colours as the browser computes them
CLASSES = """() => {
  const rgb = (c) => { const e = document.createElement('span'); e.style.color = c; document.body.appendChild(e);
                       const v = getComputedStyle(e).color; e.remove(); return v; };
  const gd = document.querySelector('#map-hexes .js-plotly-plot');
  const t = gd._fullData[0];
  const scale = [];
  t.colorscale.forEach(([, c]) => { const v = rgb(c); if (scale[scale.length - 1] !== v) scale.push(v); });
  const items = Array.from(document.querySelectorAll('#map-legend-units li'));
  return {map: scale, classes: Math.round(t.zmax + 0.5),
          legend: items.map(li => rgb(getComputedStyle(li.querySelector('.legend-swatch')).backgroundColor)),
          labels: items.map(li => li.innerText.replace(/\\u00a0/g, ' ').trim()),
          swatch_opacity: items.map(li => parseFloat(getComputedStyle(li.querySelector('.legend-swatch')).opacity)),
          showlegend: gd._fullLayout.showlegend, showscale: t.showscale,
          drawn_keys: gd.querySelectorAll('.colorbar, .legend, .cbaxis').length};
}"""
LAYER_ORDER = """() => {
  const gd = document.querySelector('#map-hexes .js-plotly-plot');
  const ids = gd._fullLayout.map._subplot.map.getStyle().layers.map(l => l.id);
  return {ids, below: gd._fullData.filter(t => /premises/.test(t.name)).map(t => [t.name, t.below])};
}"""


def _choose(page, control: str, label: str) -> None:
    page.locator(fid(control)).click()
    page.locator(OPTION, has_text=label).click()


def _classes_agree(page, what: str, timeout: float = 15.0) -> dict:
    # the legend (HTML) and the map (drawn by Plotly a moment later) come in one answer: wait until both show it
    deadline = time.monotonic() + timeout
    c = page.evaluate(CLASSES)
    while c["legend"] != c["map"] and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        c = page.evaluate(CLASSES)
    assert c["legend"] == c["map"] and len(c["legend"]) == c["classes"], f"{what}: legend {c['legend']} vs map {c['map']}"
    assert c["showlegend"] is False and c["showscale"] is False and c["drawn_keys"] == 0, f"{what}: a key drawn on the map"
    return c


def test_legend_beside_the_map_and_the_layer_controls(page, live_server, store):
    sign_in(page, live_server, "analyst")
    page.goto(f"{live_server}/?borough={WESTMINSTER}")
    drawn(page)
    fresh = Fresh(page.context)

    # beside the map, not on it
    legend, graph = page.locator("#map-legend").bounding_box(), page.locator("#map-hexes").bounding_box()
    assert page.locator("#map-hexes #map-legend").count() == 0
    assert legend["x"] >= graph["x"] + graph["width"] - 1 or legend["y"] >= graph["y"] + graph["height"] - 1, (legend, graph)
    _classes_agree(page, "count")

    page.get_by_label("hot spots (Gi*)").check()
    page.wait_for_function("location.search.includes('color=gi')", timeout=20000)
    page.wait_for_function("document.querySelector('#map-legend').innerText.includes('FDR')", timeout=20000)
    c = _classes_agree(page, "hot spots")
    assert "hot, FDR < 5 %" in c["labels"], c["labels"]

    # premises: the legend lists every licence type there is
    page.locator("text=show on map").click()
    page.wait_for_function("location.search.includes('premises=1')", timeout=20000)
    page.wait_for_function(f"document.querySelector({MAP!r})._fullData.some(t => /premises/.test(t.name))", timeout=20000)
    types = {t.replace("_", " ") for t in store.df("SELECT DISTINCT licence_type FROM premises")["licence_type"]}
    page.wait_for_selector("#map-legend-premises", timeout=20000)
    listed = {t.strip() for t in page.locator("#map-legend-premises li").all_inner_texts()}
    assert types <= listed, types - listed
    order = page.evaluate(LAYER_ORDER)
    assert order["below"] and all(b in ("", None) for _, b in order["below"]), order["below"]
    first_premises = min(i for i, x in enumerate(order["ids"]) if "premises" in x)
    assert first_premises > order["ids"].index(UNITS_FILL), "premises drawn under the colours by default"

    # Layers: colours above the premises
    n = history_length(page)
    _choose(page, "layers", "colours above")
    page.wait_for_function("location.search.includes('layers=units-top')", timeout=20000)
    page.wait_for_function(f"document.querySelector({MAP!r})._fullData.filter(t => /premises/.test(t.name))"
                           f".every(t => t.below === {UNITS_FILL!r})", timeout=20000)
    order = page.evaluate(LAYER_ORDER)
    last_premises = max(i for i, x in enumerate(order["ids"]) if "premises" in x)
    assert last_premises < order["ids"].index(UNITS_FILL), order["ids"]
    assert "under" in page.locator("#map-legend").inner_text()
    assert history_length(page) == n + 1
    before = same_as_fresh(page, fresh, "colours above")

    # opacity: the units are see-through, every shape keeps its value
    _choose(page, "opacity", "40% opaque")
    page.wait_for_function("location.search.includes('op=0.4')", timeout=20000)
    after = same_as_fresh(page, fresh, "40% opaque")
    assert after["opacity"] == 0.4 and before["opacity"] != 0.4
    assert after["shapes"] == before["shapes"]
    assert set(page.evaluate(CLASSES)["swatch_opacity"]) == {0.4}
    assert history_length(page) == n + 2
    assert page.errors == []
    fresh.close()

