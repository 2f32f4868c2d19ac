"""What a person waits for on the map page: click to settled render in headless Chromium.

    python -m bench.map_browser [--db /tmp/load.duckdb] [--runs 10] [--json out.json] [--only first,borough,...]
                                [--rev worktree|HEAD|<commit>] [--style white-bg] [--profile]

Starts the Procfile's gunicorn (2 workers, 4 threads, --preload; `bench/load_server.Server`) on a copy
of --db in a temporary folder with ISTV_DEMO=1 (the demo users exist), signs in as the demo analyst in
Debian's Chromium (Playwright, headless, WebGL drawn in software) and times each interaction from the
person's input (the input event's own timestamp) to the settled page:

- no element has data-dash-is-loading="true" and every `/_dash-update-component` request the input
  started has its response (Resource Timing entry);
- the map's MapLibre instance (`gd._fullLayout.map._subplot.map`) is `loaded()`, `areTilesLoaded()` and
  not `isMoving()`;
- nothing has happened for QUIET ms: no DOM mutation (React commits, Plotly's SVG), no `plotly_afterplot`
  of any graph, no MapLibre `render` frame, no callback request sent or answered.
The time of the settled render is the last of those events (not the moment the quiet period proved it).

Each wait is split with Resource Timing into **server** (requestStart→responseStart of the callbacks, the
union over the chain), **transfer** (responseStart→responseEnd) and **browser** (the rest: the wait minus
the callbacks' network span, i.e. Dash before the first request and between chained callbacks, JSON
parsing, React, Plotly and MapLibre drawing); **draw** is the part after the last response. The server's
own handler time comes from the app's request log (one JSON line per request). Interactions alternate
A→B→A, so each timed run is a real change, after one untimed A→B→A.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/map_browser.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load_server import ROOT, Server, ensure_db  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
USER, PASSWORD = "analyst", "demo-analyst-pass"
WESTMINSTER = "E09000033"
BOROUGHS = "[id='{\"name\":\"boroughs\",\"type\":\"map-filter\"}']"
QUIET_MS = 600
TIMEOUT_MS = 60_000

# Runs in every document before the page's own scripts: records activity, callbacks, input events.
INSTRUMENT = r"""
(() => {
  if (window.__bench) return;
  const B = window.__bench = {mark: 0, last: 0, lastKind: '', calls: [], inputs: [], graphs: new WeakSet(),
                              maps: new WeakSet(), afterplot: {}, mapRender: 0, moveEnd: 0, counts: {}};
  const now = () => performance.now();
  const touch = (kind) => { B.last = now(); B.lastKind = kind; B.counts[kind] = (B.counts[kind] || 0) + 1; };
  try { performance.setResourceTimingBufferSize(100000); } catch (e) {}
  const origFetch = window.fetch;
  window.fetch = function (input, init) {
    const url = typeof input === 'string' ? input : input.url;
    if (!url.includes('/_dash-update-component')) return origFetch.apply(this, arguments);
    let label = '', reqBytes = 0;
    try { reqBytes = init.body.length; const b = JSON.parse(init.body);
          label = (b.changedPropIds || []).map(p => p.replace(/^\{.*"name":"(\w+)".*\}/, '$1')).join(',') + ' -> ' +
                  (b.output || '').split('...')[0].replace(/^\.\./, ''); } catch (e) {}
    B.calls.push({label, reqBytes, sent: now()});
    touch('fetch');
    return origFetch.apply(this, arguments).then(res => { touch('response'); return res; });
  };
  const mapOf = gd => gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot && gd._fullLayout.map._subplot.map;
  const watch = () => {
    document.querySelectorAll('.js-plotly-plot').forEach(gd => {
      if (gd.on && !B.graphs.has(gd)) {
        B.graphs.add(gd);
        const name = (gd.closest('[id]') || gd).id;
        gd.on('plotly_afterplot', () => { B.afterplot[name] = now(); touch('afterplot ' + name); });
      }
      const m = mapOf(gd);
      if (m && !B.maps.has(m)) {
        B.maps.add(m);
        m.on('render', () => { B.mapRender = now(); touch('map render'); });
        m.on('moveend', () => { B.moveEnd = now(); });
      }
    });
  };
  const start = () => new MutationObserver(() => { touch('dom'); watch(); })
    .observe(document.documentElement, {subtree: true, childList: true, attributes: true, characterData: true});
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
  for (const type of ['pointerdown', 'mouseup', 'keydown', 'wheel']) {
    window.addEventListener(type, (e) => { B.inputs.push([e.timeStamp, type]); }, true);
  }
  window.addEventListener('submit', (e) => {
    try { sessionStorage.setItem('bench_submit', String(performance.timeOrigin + e.timeStamp)); } catch (x) {}
  }, true);
  const dashEntries = () => performance.getEntriesByType('resource').filter(e => e.name.includes('/_dash-update-component') && e.startTime >= B.mark);
  B.begin = () => { B.mark = now(); B.last = B.mark; B.lastKind = 'begin'; B.calls = []; B.inputs = []; B.afterplot = {};
                    B.mapRender = 0; B.moveEnd = 0; B.counts = {}; performance.clearResourceTimings(); return B.mark; };
  B.settled = (quiet, minCalls) => {
    watch();
    if (document.querySelector('[data-dash-is-loading="true"]')) return false;
    const calls = B.calls.filter(c => c.sent >= B.mark);
    if (calls.length < minCalls || dashEntries().length < calls.length) return false;
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
      const m = mapOf(gd);
      if (m && (!m.loaded() || !m.areTilesLoaded() || m.isMoving())) return false;
    }
    return now() - B.last >= quiet;
  };
  B.why = (minCalls) => {
    const loading = Array.from(document.querySelectorAll('[data-dash-is-loading="true"]')).map(e => e.id || e.className);
    const calls = B.calls.filter(c => c.sent >= B.mark);
    const maps = Array.from(document.querySelectorAll('.js-plotly-plot')).map(mapOf).filter(Boolean)
      .map(m => ({loaded: m.loaded(), tiles: m.areTilesLoaded(), moving: m.isMoving()}));
    return {loading, calls: calls.length, minCalls, responses: dashEntries().length, maps,
            quietFor: now() - B.last, lastKind: B.lastKind};
  };
  B.report = () => {
    const ent = e => ({name: e.name.split('?')[0].replace(location.origin, '') || '/', type: e.initiatorType || e.entryType,
                       start: e.startTime, requestStart: e.requestStart, responseStart: e.responseStart,
                       responseEnd: e.responseEnd, redirectStart: e.redirectStart || 0, redirectEnd: e.redirectEnd || 0,
                       bytes: e.encodedBodySize, transferSize: e.transferSize});
    const submit = Number(sessionStorage.getItem('bench_submit') || 'NaN') - performance.timeOrigin;
    const m = Array.from(document.querySelectorAll('.js-plotly-plot')).map(mapOf).filter(Boolean)[0];
    return {mark: B.mark, last: B.last, lastKind: B.lastKind, inputs: B.inputs, afterplot: B.afterplot,
            zoom: m ? m.getZoom() : null,
            mapRender: B.mapRender, moveEnd: B.moveEnd, counts: B.counts, submit,
            calls: B.calls.filter(c => c.sent >= B.mark), callbacks: dashEntries().map(ent),
            navigation: performance.getEntriesByType('navigation').map(ent),
            resources: performance.getEntriesByType('resource').map(ent)};
  };
})();
"""

PROJECT = """([lon, lat]) => {
  const gd = document.querySelector('#map-hexes .js-plotly-plot');
  const p = gd._fullLayout.map._subplot.map.project([lon, lat]);
  const r = gd.querySelector('.maplibregl-map').getBoundingClientRect();
  return [p.x + r.left, p.y + r.top, r.left, r.top, r.width, r.height];
}"""
HEXES = """() => {
  const t = document.querySelector('#map-hexes .js-plotly-plot')._fullData[0];
  return Array.from(t.locations).map((loc, i) => [loc, parseInt(t.customdata[i][2]) || 0]);
}"""
WEBGL = """() => { const gl = document.createElement('canvas').getContext('webgl');
  if (!gl) return 'no WebGL'; const ext = gl.getExtension('WEBGL_debug_renderer_info');
  return ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER); }"""


# ---- the server ------------------------------------------------------------------------------

def prime_workers(base: str, fetches: int = 24) -> dict:
    """Make every gunicorn worker serve Dash's index once, and count what a browser meets before that.

    Dash registers the script paths it may serve (`registered_paths`) while it renders the index page, per
    process; a worker that has not yet rendered "/" answers 500 for the page's scripts, so a browser whose
    script requests reach the other worker first gets a blank page. Requests go 8 at a time on new
    connections, so both workers take some."""
    import re
    from concurrent.futures import ThreadPoolExecutor

    from bench.load_client import Browser
    b = Browser(base)
    b.sign_in(USER, PASSWORD)
    _, html = b.get("/", "index")
    scripts = re.findall(rb'src="(/_dash-component-suites/[^"]+)"', html)
    script = next(s for s in scripts if b"html_components" in s).decode()  # registered by the index, not at start
    with ThreadPoolExecutor(8) as pool:
        before = list(pool.map(lambda _: b.get(script, "script")[0], range(fetches)))
        list(pool.map(lambda _: b.get("/", "index"), range(32)))
        after = list(pool.map(lambda _: b.get(script, "script")[0], range(fetches)))
    return {"script": script, "fetches": fetches, "failed_after_one_index": sum(s != 200 for s in before),
            "failed_after_priming": sum(s != 200 for s in after)}


def code_tree(rev: str, tmp: Path) -> tuple[Path, str]:
    """The folder to serve and its description: the working tree, or `rev` exported to tmp/code."""
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()  # noqa: E731
    if rev == "worktree":
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
        return ROOT, git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if dirty else "")
    short = git("rev-parse", "--short", rev)
    out = tmp / "code"
    out.mkdir()
    archive = subprocess.run(["git", "archive", "--format=tar", short], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out, short


# ---- timing arithmetic ----------------------------------------------------------------------

def union_ms(spans, lo: float) -> float:
    """Length of the union of [a, b] intervals, each clipped to start at lo."""
    total, end = 0.0, lo
    for a, b in sorted((max(a, lo), b) for a, b in spans if b > lo):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def split(rep: dict, t0: float, first_map: bool = False) -> dict:
    """One run's wait and its server / transfer / browser parts (ms), from the page's report."""
    settled = rep["last"]
    cbs = rep["callbacks"]
    if first_map:  # the sign-in's POST and redirect, the document, Dash's layout and every resource
        nav = rep["navigation"]
        entries = nav + rep["resources"]
        app = [e for e in entries if e["type"] == "navigation" or e["name"].startswith("/_dash-")]
        server = [(e["redirectStart"], e["redirectEnd"]) for e in nav if e["redirectEnd"]]  # POST /login (scrypt)
        server += [(e["requestStart"], e["responseStart"]) for e in app if e["requestStart"]]
        network = [(e["start"], e["responseEnd"]) for e in entries]
    else:
        entries = cbs
        server = [(e["requestStart"], e["responseStart"]) for e in cbs]
        network = [(e["start"], e["responseEnd"]) for e in cbs]
    transfer = [(e["responseStart"], e["responseEnd"]) for e in entries if e["responseStart"]]
    tiles = [e for e in rep["resources"] if ("/basemap/" in e["name"] or e["name"].endswith((".pbf", ".mvt")))
             and e["start"] >= t0]
    total = settled - t0
    net = union_ms(network, t0)
    last_response = max((e["responseEnd"] for e in cbs), default=t0)
    return {"total": total, "server": union_ms(server, t0), "transfer": union_ms(transfer, t0),
            "browser": total - net, "draw": settled - last_response,
            "before_request": (min(e["start"] for e in cbs) - t0) if cbs else None,
            "callbacks": len(cbs), "bytes": sum(e["bytes"] for e in cbs),
            "request_bytes": sum(c["reqBytes"] for c in rep["calls"]),
            "page_bytes": sum(e["bytes"] for e in entries) if first_map else None,
            "map_afterplot": (rep["afterplot"].get("map-hexes", t0) - t0) if rep["afterplot"].get("map-hexes") else None,
            "map_last_frame": (rep["mapRender"] - t0) if rep["mapRender"] else None,
            "map_moveend": (rep["moveEnd"] - t0) if rep["moveEnd"] else None,
            "map_frames": rep["counts"].get("map render", 0), "zoom_after": rep["zoom"],
            "tiles": len(tiles), "tile_bytes": sum(e["bytes"] for e in tiles),
            "last_event": rep["lastKind"], "chain": [c["label"] for c in rep["calls"]]}


def pct(xs, q):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    return xs[0] if len(xs) == 1 else xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


# ---- the server's request log ----------------------------------------------------------------

class RequestLog:
    """The app's JSON request lines appended to gunicorn's log since the last mark()."""

    def __init__(self, path: Path):
        self.path, self.offset = path, 0

    def mark(self):
        self.offset = self.path.stat().st_size

    def since(self) -> list[dict]:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            text = f.read().decode("utf-8", "replace")
        out = []
        for line in text.splitlines():
            if "istv.requests" in line and "{" in line:
                try:
                    out.append(json.loads(line[line.index("{"):]))
                except ValueError:
                    pass
        return out


# ---- the page --------------------------------------------------------------------------------

class Bench:
    def __init__(self, browser, base: str, log: RequestLog, quiet: int):
        self.browser, self.base, self.log, self.quiet = browser, base, log, quiet
        self.responses: list = []

    def context(self):
        ctx = self.browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
        ctx.add_init_script(INSTRUMENT)
        return ctx

    def settle(self, page, min_calls: int):
        try:
            page.wait_for_function(f"window.__bench && window.__bench.settled({self.quiet}, {min_calls})",
                                   polling=50, timeout=TIMEOUT_MS)
        except Exception as exc:  # noqa: BLE001 - say which condition never held
            why = page.evaluate(f"window.__bench ? window.__bench.why({min_calls}) : 'no instrument'")
            raise RuntimeError(f"the page did not settle in {TIMEOUT_MS / 1000:g} s: {why}") from exc

    def sign_in(self, page, min_calls=3) -> dict:
        """Open the login page, then time submit → map settled (the page, filter and render callbacks)."""
        page.goto(self.base + "/")
        page.fill("#username", USER)
        page.fill("#password", PASSWORD)
        self.log.mark()
        page.click("#sign-in")
        page.wait_for_selector("#nav-user", timeout=TIMEOUT_MS)
        page.wait_for_function("window.__bench && window.__bench.mark === 0 && document.querySelector('#map-hexes .js-plotly-plot')",
                               polling=50, timeout=TIMEOUT_MS)
        self.settle(page, min_calls)
        rep = page.evaluate("window.__bench.report()")
        run = split(rep, rep["submit"], first_map=True)
        run["load1"] = os.getloadavg()[0]
        run["cached"] = sum(1 for e in rep["resources"] if e["transferSize"] == 0 and e["bytes"] > 0)
        run["server_handler"] = sum(r["ms"] for r in self.log.since())
        return run

    def timed(self, page, act, t0_event: str = "pointerdown", min_calls: int = 2) -> dict:
        """Time act(): its input event → settled page; the callbacks' bodies are sized per output."""
        self.responses = []
        page.evaluate("window.__bench.begin()")
        self.log.mark()
        act()
        self.settle(page, min_calls)
        rep = page.evaluate("window.__bench.report()")
        inputs = [t for t, kind in rep["inputs"] if kind == t0_event]
        if not inputs:
            raise RuntimeError(f"no {t0_event} event was seen; the action did not reach the page")
        t0 = inputs[-1] if t0_event == "mouseup" else inputs[0]
        run = split(rep, t0)
        run["load1"] = os.getloadavg()[0]  # the machine's other work: this bench alone keeps it near 1
        run["server_handler"] = sum(r["ms"] for r in self.log.since() if r["route"] == "/_dash-update-component")
        run["outputs"] = self.output_bytes()
        return run

    def output_bytes(self) -> dict:
        """Bytes of each output of the render callback's response, and whether the map came as a Patch."""
        out = {}
        for resp in self.responses:
            try:
                body = json.loads(resp.body())
            except Exception:  # noqa: BLE001 - a body the browser no longer holds: sizes unknown
                continue
            parts = body.get("response", {})
            if "map-hexes" not in parts:
                continue
            for cid, props in parts.items():
                for prop, value in props.items():
                    out[f"{cid}.{prop}"] = len(json.dumps(value, separators=(",", ":")))
            fig = parts["map-hexes"].get("figure")
            out["map_patch"] = isinstance(fig, dict) and "__dash_patch_update" in fig
        return out


def watch_responses(bench: Bench, page):
    page.on("response", lambda r: bench.responses.append(r) if "/_dash-update-component" in r.url else None)


# ---- interactions: each is (label A→B, act B, label B→A, act A, input event that starts the wait) -----

def interactions(page):
    def checkbox(label, on):
        box = page.get_by_label(label, exact=True)
        return lambda: box.check() if on else box.uncheck()

    def radio(label):
        return lambda: page.get_by_label(label, exact=True).check()

    def borough():
        page.locator(BOROUGHS).click()
        page.keyboard.type("Westmin")
        option = page.locator("[role=option]", has_text="Westminster")
        option.wait_for()
        return option

    def pick_borough():
        option = borough()

        def act():
            option.click()
            page.keyboard.press("Escape")
        return act

    def series_drag(a, b):
        box = page.locator("#map-series .nsewdrag").first.bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * a, y)

        def act():
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * (a + b) / 2, y, steps=4)
            page.mouse.move(box["x"] + box["width"] * b, y, steps=4)
            page.mouse.up()
        return act

    def hexagon(rank):
        from h3.api import basic_int as h3i
        cells = sorted(page.evaluate(HEXES), key=lambda c: -c[1])
        first = page.evaluate(PROJECT, list(reversed(h3i.cell_to_latlng(h3i.str_to_int(cells[0][0])))))
        target = first
        if rank:  # the busiest hexagon at least 60 px from the busiest, inside the map
            for loc, _ in cells[1:]:
                xy = page.evaluate(PROJECT, list(reversed(h3i.cell_to_latlng(h3i.str_to_int(loc)))))
                inside = xy[2] + 20 < xy[0] < xy[2] + xy[4] - 90 and xy[3] + 20 < xy[1] < xy[3] + xy[5] - 20
                if inside and abs(xy[0] - first[0]) + abs(xy[1] - first[1]) > 60:
                    target = xy
                    break
        page.mouse.move(target[0], target[1])
        page.wait_for_timeout(200)  # the hover label is drawn before the click, not counted in it

        def act():
            page.mouse.down()
            page.mouse.up()
        return act

    def wheel(notches):
        box = page.locator("#map-hexes .maplibregl-map").bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5)
        page.wait_for_timeout(200)

        def act():
            for _ in range(abs(notches)):
                page.mouse.wheel(0, -100 if notches > 0 else 100)
                page.wait_for_timeout(40)  # a wheel turned notch by notch
        return act

    return {
        "borough": ("choose Westminster in Boroughs", pick_borough, "back to all London (untick Westminster)", pick_borough,
                    "pointerdown", None),
        "police": ("untick Police", lambda: checkbox("Police", False), "tick Police again", lambda: checkbox("Police", True),
                   "pointerdown", None),
        "color": ("colour by hot spots (Gi*)", lambda: radio("hot spots (Gi*)"), "back to count", lambda: radio("count"),
                  "pointerdown", None),
        "unit": ("switch to street blocks", lambda: radio("street blocks"), "back to hexagons", lambda: radio("hexagons"),
                 "pointerdown", None),
        "brush": ("brush 3-4 months on the series", lambda: series_drag(0.10, 0.40), "brush 4 later months", lambda: series_drag(0.55, 0.85),
                  "mouseup", "#map-clear"),
        "click": ("click the busiest hexagon", lambda: hexagon(0), "click another busy hexagon", lambda: hexagon(1),
                  "pointerdown", "#map-clear"),
        "zoom": ("zoom in (scroll wheel, 5 notches)", lambda: wheel(5), "zoom out (5 notches)", lambda: wheel(-5),
                 "wheel", None),
    }


def run_interaction(bench: Bench, page, name: str, spec, runs: int) -> dict:
    to_b, prep_b, to_a, prep_a, event, cleanup = spec
    out = {to_b: [], to_a: []}
    for i in range(runs + 1):  # the first A→B→A is the warm-up
        for label, prep in ((to_b, prep_b), (to_a, prep_a)):
            try:
                act = prep()  # untimed: open the dropdown, move the mouse into place
                run = bench.timed(page, act, event)
            except Exception as exc:  # noqa: BLE001 - one failed run is reported, not fatal
                print(f"  {label}: run {i} failed: {exc}", flush=True)
                page.keyboard.press("Escape")
                continue
            if i:
                out[label].append(run)
    if cleanup:  # clear the selection before the next interaction (untimed)
        bench.timed(page, lambda: page.click(cleanup))
    return out


def profiled(bench: Bench, page, spec, top: int = 8) -> dict:
    """One A→B of an interaction under Chromium's sampling profiler (main thread of the page): self time
    by script and by function, then B→A untimed. Plotly and MapLibre are minified: names are a hint."""
    from collections import Counter
    to_b, prep_b, _, prep_a, event, cleanup = spec
    cdp = page.context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 200})
    act = prep_b()
    cdp.send("Profiler.start")
    run = bench.timed(page, act, event)
    prof = cdp.send("Profiler.stop")["profile"]
    cdp.detach()
    bench.timed(page, prep_a(), event)
    if cleanup:
        bench.timed(page, lambda: page.click(cleanup))
    nodes = {n["id"]: n["callFrame"] for n in prof["nodes"]}
    by_script, by_fn = Counter(), Counter()
    for sid, dt in zip(prof["samples"], prof["timeDeltas"]):
        cf = nodes[sid]
        script = cf["url"].split("?")[0].rsplit("/", 1)[-1] or cf["functionName"] or "(native)"
        by_script[script] += dt / 1000
        by_fn[f"{cf['functionName'] or '(anonymous)'} {script}:{cf['lineNumber'] + 1}"] += dt / 1000
    by_script.pop("(idle)", None)
    return {"label": to_b, "total": run["total"], "by_script": dict(by_script.most_common(top)),
            "by_function": dict(by_fn.most_common(top + 4))}


# ---- report ------------------------------------------------------------------------------------

def fmt(x, unit=""):
    return "–" if x is None else f"{x:,.0f}{unit}"


def table(results: dict) -> str:
    lines = ["| interaction | runs | p50 ms | p95 ms | server p50 | transfer p50 | browser p50 | of which after the last "
             "response (draw) p50 | callbacks | response bytes p50 | map part |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, dirs in results.items():
        for label, runs in dirs.items():
            if not runs:
                lines.append(f"| {label} | 0 | failed | | | | | | | | |")
                continue
            get = lambda k: [r[k] for r in runs]  # noqa: E731
            outs = [r.get("outputs") or {} for r in runs]
            map_bytes = pct([o.get("map-hexes.figure") for o in outs], 0.5)
            patch = {o.get("map_patch") for o in outs if "map_patch" in o}
            kind = "Patch" if patch == {True} else "full figure" if patch == {False} else "mixed" if patch else ""
            bytes_ = pct(get("page_bytes"), 0.5) if name.startswith("first") else pct(get("bytes"), 0.5)
            lines.append(f"| {label} | {len(runs)} | {fmt(pct(get('total'), .5))} | **{fmt(pct(get('total'), .95))}** | "
                         f"{fmt(pct(get('server'), .5))} | {fmt(pct(get('transfer'), .5))} | {fmt(pct(get('browser'), .5))} | "
                         f"{fmt(pct(get('draw'), .5))} | {statistics.median(get('callbacks')):.0f} | {fmt(bytes_)} | "
                         f"{(fmt(map_bytes) + ' ' + kind) if map_bytes else ''} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, default=Path("/tmp/load.duckdb"), help="demo database to copy (built at 0.25 when missing)")
    ap.add_argument("--runs", type=int, default=10, help="timed A→B→A cycles per interaction (each gives one A→B and one B→A)")
    ap.add_argument("--json", type=Path, help="write every run's figures here")
    ap.add_argument("--only", default="", help="comma-separated subset of: first,borough,police,color,unit,brush,click,zoom")
    ap.add_argument("--quiet", type=int, default=QUIET_MS, help="ms without activity that prove the page settled")
    ap.add_argument("--rev", default="worktree", help="code to serve: `worktree` (default: the files as they are) or a "
                    "git revision exported to a temporary folder (e.g. HEAD)")
    ap.add_argument("--style", default="", help="ISTV_MAP_STYLE for the server (default: the app's own default)")
    ap.add_argument("--profile", action="store_true", help="then one more A→B per interaction under the CPU profiler")
    ap.add_argument("--headed", action="store_true")
    args = ap.parse_args()
    only = {s for s in args.only.split(",") if s}
    ensure_db(args.db)
    started = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="istv-map-browser-"))
    db = tmp / "istv.duckdb"
    shutil.copyfile(args.db, db)
    env_path = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"  # gunicorn of this Python
    root, commit = code_tree(args.rev, tmp)
    style = {"ISTV_MAP_STYLE": args.style} if args.style else {}
    # the working tree or a commit exported with `git archive` (the working tree may hold someone's half-made change)
    server = Server(db, f"sqlite:///{tmp / 'users.sqlite'}", tmp / "server.log", root=root,
                    wait_for_workers=2, ISTV_DEMO="1", PATH=env_path, **style)
    from playwright.sync_api import sync_playwright
    results: dict = {}
    meta: dict = {}
    with server, sync_playwright() as p:
        print(f"{' '.join(server.cmd)} in {root} (code: {commit}) on a copy of {args.db}", flush=True)
        meta["workers_primed"] = prime_workers(server.base)
        print("before every worker had rendered the index page, {failed_after_one_index} of {fetches} requests for "
              "{script} failed; after: {failed_after_priming}".format(**meta["workers_primed"]), flush=True)
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=not args.headed, args=[
            "--disable-background-networking", "--no-first-run", "--disable-component-update", "--disable-sync"])
        log = RequestLog(server.log)
        bench = Bench(browser, server.base, log, args.quiet)
        if not only or "first" in only:
            cold, warm = [], []
            for i in range(args.runs + 1):  # run 0 warms the server's caches and is not counted
                ctx = bench.context()
                page = ctx.new_page()
                run = bench.sign_in(page)
                if i:
                    cold.append(run)
                ctx.clear_cookies()  # signed out; the browser keeps its cache of Dash's and Plotly's scripts
                run = bench.sign_in(page)
                if i:
                    warm.append(run)
                ctx.close()
                print(f"  first map {i}/{args.runs}: new browser {cold[-1]['total'] if i else run['total']:,.0f} ms, "
                      f"scripts cached {run['total']:,.0f} ms", flush=True)
            results["first map"] = {"first map after sign-in, new browser profile (scripts downloaded)": cold,
                                    "first map after sign-in, scripts cached": warm}
        ctx = bench.context()
        page = ctx.new_page()
        watch_responses(bench, page)
        bench.sign_in(page)
        meta["webgl"] = page.evaluate(WEBGL)
        meta["user_agent"] = page.evaluate("navigator.userAgent")
        specs = interactions(page)
        for name, spec in specs.items():
            if only and name not in only:
                continue
            t = time.time()
            results[name] = run_interaction(bench, page, name, spec, args.runs)
            summary = "; ".join(f"{label}: p50 {fmt(pct([r['total'] for r in runs], .5))} ms" for label, runs in results[name].items())
            print(f"  {name} ({time.time() - t:.0f} s): {summary}", flush=True)
        if args.profile:
            results_profile = meta["profiles"] = {}
            for name, spec in specs.items():
                if not only or name in only:
                    results_profile[name] = prof = profiled(bench, page, spec)
                    print(f"  profile of {prof['label']} ({prof['total']:,.0f} ms): " +
                          ", ".join(f"{k} {v:,.0f} ms" for k, v in prof["by_script"].items()), flush=True)
        meta["js_heap_mb"] = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize / 1048576 : null")
        ctx.close()
        browser.close()
    elapsed = time.time() - started
    meta.update(date=datetime.now().isoformat(timespec="minutes"), commit=commit, db=str(args.db),
                server=" ".join(server.cmd), map_style=args.style or "(app default)", cores=os.cpu_count(), chromium=CHROMIUM, runs=args.runs,
                quiet_ms=args.quiet, elapsed_s=round(elapsed))
    print()
    loads = [r["load1"] for dirs in results.values() for runs in dirs.values() for r in runs]
    meta["load1_p50_max"] = [pct(loads, .5), max(loads, default=None)]
    print(f"{meta['date']}, code {commit}, {os.cpu_count()} cores (load average p50 {pct(loads, .5) or 0:.1f}, max "
          f"{max(loads, default=0):.1f}), "
          f"WebGL: {meta['webgl']}; {args.runs} timed runs per row, {elapsed / 60:.1f} min")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=1))
        print(f"wrote {args.json}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
