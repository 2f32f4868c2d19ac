"""What the map page shows, read from the browser, to compare a view reached in the page (an action,
Back, Forward) with a fresh load of the same URL: every control's state and every shape's value."""
from __future__ import annotations

import math
import time

from playwright.sync_api import Error as PlaywrightError, TimeoutError as PlaywrightTimeout

OPTION = ".dash-dropdown-content [role=option]"  # a dcc.Dropdown's options (rendered outside the dropdown)
MAP = "#map-hexes .js-plotly-plot"
DRAWN = (f"() => {{ const gd = document.querySelector({MAP!r}); "
         "return !!(gd && gd._fullData && gd._fullData.length > 0) && "
         "!document.querySelector('[data-dash-is-loading=\"true\"]'); }")


def fid(name: str) -> str:
    """CSS selector of a map filter control (pattern-matching id)."""
    return "[id='{\"name\":\"%s\",\"type\":\"map-filter\"}']" % name


# the selected place's outline as [[lon, lat], ...]: the trace named "Selected", or the line drawn on the
# MapLibre map itself (source "istv-selected", assets/map.js)
OUTLINE_JS = """(gd) => {
  const m = gd._fullLayout.map && gd._fullLayout.map._subplot && gd._fullLayout.map._subplot.map;
  const src = m && m.getSource && m.getSource('istv-selected');
  if (src) {
    const f = (src.serialize().data.features || [])[0];
    return f ? f.geometry.coordinates.map(([x, y]) => [Math.round(x * 1e6) / 1e6, Math.round(y * 1e6) / 1e6]) : [];
  }
  const t = gd._fullData.find(d => d.name === 'Selected');
  const lat = Array.from((t && t.lat) || []), lon = Array.from((t && t.lon) || []);
  return lat.map((y, i) => [Math.round(lon[i] * 1e6) / 1e6, Math.round(y * 1e6) / 1e6]).filter(([x, y]) => x === x && y === y);
}"""
# the view as a person sees it: the controls, and the map shape by shape
VIEW = """() => {
  const outline = """ + OUTLINE_JS + """;
  const q = (s) => document.querySelector(s);
  const ctl = (n) => q(`[id='{"name":"${n}","type":"map-filter"}']`);
  const checked = (n) => Array.from(ctl(n).querySelectorAll('input')).filter(i => i.checked).map(i => i.value);
  const gd = q('#map-hexes .js-plotly-plot');
  const t = gd._fullData[0];
  const shapes = {};
  Array.from(t.locations).forEach((loc, i) => { shapes[loc] = [Array.from(t.z)[i], t.customdata[i][2]]; });
  const c = gd._fullLayout.map.center;
  return {
    controls: {
      boroughs: ctl('boroughs').innerText, sources: checked('sources'), unit: checked('unit'),
      color: checked('color'), premises: (ctl('premises').matches('input') ? ctl('premises') : ctl('premises').querySelector('input')).checked,
      layers: ctl('layers').innerText, opacity: ctl('opacity').innerText,
      dates: Array.from(document.querySelectorAll('#page .dash-datepicker-input')).map(i => i.value),
    },
    search_box: q('#map-search').innerText,
    selection: q('#map-selection').innerText, legend: q('#map-legend').innerText,
    ed: q('#summary-ed') && q('#summary-ed').innerText,
    traces: gd._fullData.map(d => [d.name, d.below === undefined ? null : d.below]),
    opacity: t.marker.opacity,
    outline: outline(gd),
    center: [Math.round(c.lat * 1e4) / 1e4, Math.round(c.lon * 1e4) / 1e4], zoom: Math.round(gd._fullLayout.map.zoom * 100) / 100,
    shapes,
  };
}"""


def drawn(page, timeout: float = 30000) -> None:
    page.wait_for_function(DRAWN, timeout=timeout)


def view(page, timeout: float = 15.0) -> dict:
    """The view; while the page is still being built (an element it reads not there yet), read again."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return page.evaluate(VIEW)
        except PlaywrightError:
            if time.monotonic() > deadline:
                raise
            page.wait_for_timeout(200)


def outline(page) -> list[list[float]]:
    """The selected place's outline on the map, [[lon, lat], ...] ([] when nothing is selected)."""
    return page.evaluate(f"() => ({OUTLINE_JS})(document.querySelector({MAP!r}))")


def map_view(page) -> tuple[float, float, float]:
    """(lat, lon, zoom) of the map's centre."""
    return tuple(page.evaluate(f"() => {{ const m = document.querySelector({MAP!r})._fullLayout.map; "
                               "return [m.center.lat, m.center.lon, m.zoom]; }"))


def diff(a: dict, b: dict) -> list[str]:
    """Where two views differ, briefly (per shape: how many and which)."""
    out = [f"{k}: {a.get(k)!r} != {b.get(k)!r}" for k in sorted(set(a) | set(b)) if k != "shapes" and a.get(k) != b.get(k)]
    sa, sb = a.get("shapes", {}), b.get("shapes", {})
    if set(sa) != set(sb):
        out.append(f"shapes: {len(set(sa) - set(sb))} only here, {len(set(sb) - set(sa))} only in the reload")
    wrong = [k for k in set(sa) & set(sb) if sa[k] != sb[k]]
    if wrong:
        out.append(f"shapes: {len(wrong)} of {len(sa)} differ, e.g. {[(k, sa[k], sb[k]) for k in wrong[:3]]}")
    return out


class Fresh:
    """A second tab of the same signed-in browser context: what a fresh load of a URL shows."""

    def __init__(self, context):
        self.page = context.new_page()
        self.cache: dict[str, dict] = {}

    def view(self, url: str) -> dict:
        if url not in self.cache:
            self.page.goto(url)
            drawn(self.page)
            self.page.wait_for_function("() => document.querySelector('#map-selection') !== null && "
                                        "document.querySelector('#map-legend').innerText.length > 0")
            self.cache[url] = view(self.page)
        return self.cache[url]

    def close(self):
        self.page.close()


def same_as_fresh(page, fresh: Fresh, what: str, timeout: float = 20.0, ignore: tuple[str, ...] = ()) -> dict:
    """Wait until the page shows what a fresh load of its URL shows (controls and every shape); fail with
    the differences when it does not within `timeout` seconds. Returns the view."""
    url = page.url
    expected = {k: v for k, v in fresh.view(url).items() if k not in ignore}
    deadline = time.monotonic() + timeout
    while True:
        drawn(page)
        got = {k: v for k, v in view(page).items() if k not in ignore}
        if got == expected:
            assert page.url == url, f"{what}: the URL changed while comparing ({url} -> {page.url})"
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: the page differs from a fresh load of {url}:\n  " + "\n  ".join(diff(got, expected)))
        page.wait_for_timeout(200)


IN_SEARCH = "() => document.activeElement && document.activeElement.classList.contains('dash-dropdown-search')"
# which option has the keyboard focus (-1: none; Dash's dropdown moves the focus to an option's radio input
# on the next frame)
FOCUSED_OPTION = ("() => { const a = document.activeElement; const o = a && a.closest('[role=option]'); "
                  "return o ? parseInt(o.dataset.optionIndex) : -1; }")
OPTIONS = f"() => Array.from(document.querySelectorAll({OPTION!r})).map(o => o.innerText.trim())"


def search_by_keyboard(page, text: str, label: str, tab_from: str = "#sign-out") -> None:
    """Keyboard only: Tab into the search box (from the last control of the navbar), type `text`, move
    down the options with ArrowDown to the one labelled `label`, Enter."""
    page.focus(tab_from)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "map-search", "Tab does not reach the search box"
    page.keyboard.press(text[0])  # opens the box and moves the focus into its search field
    page.wait_for_function(IN_SEARCH)
    # Dash's dropdown drops a key typed while it moves the focus into its search field: type it all again
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    assert page.evaluate("document.activeElement.value") == text
    page.wait_for_selector(f"{OPTION}:has-text({label!r})", timeout=15000)
    options = page.evaluate(OPTIONS)
    target = options.index(label)
    for _ in range(2 * len(options) + 3):  # ArrowDown goes to the next option, after the last to the field
        at = page.evaluate(FOCUSED_OPTION)
        if at == target:
            break
        page.keyboard.press("ArrowDown")
        try:  # the focus moves on the next frame; the first press after an earlier choice may not move it
            page.wait_for_function(f"() => ({FOCUSED_OPTION})() !== {at}", timeout=2500)
        except PlaywrightTimeout:
            pass
    assert page.evaluate(FOCUSED_OPTION) == target, f"ArrowDown never reached {label!r} in {options}"
    assert page.evaluate("document.activeElement.closest('[role=option]').innerText.trim()") == label
    page.keyboard.press("Enter")


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def history_length(page) -> int:
    return page.evaluate("history.length")


# streets found by one name only: in one borough, a few blocks within 150 m, and no other street's name
# contains theirs (so the search offers one street option for the whole name)
STREETS = """
WITH s AS (SELECT street, min(borough_code) AS borough_code, avg(lat) AS lat, avg(lon) AS lon
           FROM blocks WHERE street IS NOT NULL AND street <> '' GROUP BY street
           HAVING count(DISTINCT borough_code) = 1 AND count(*) >= 2
              AND greatest(max(lat) - min(lat), (max(lon) - min(lon)) * 0.62) * 111000 < 150)
SELECT s.street, s.borough_code, b.name AS borough, s.lat, s.lon FROM s JOIN boroughs b ON b.code = s.borough_code
WHERE NOT EXISTS (SELECT 1 FROM blocks o WHERE o.street <> s.street AND contains(lower(o.street), lower(s.street)))
  AND s.borough_code LIKE ?
ORDER BY s.street LIMIT ?"""


def streets(store, borough: str = "%", n: int = 1) -> list:
    """Streets (street, borough_code, borough, lat, lon) a search finds by their whole name."""
    return list(store.df(STREETS, [borough, n]).itertuples(index=False))
