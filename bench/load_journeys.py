"""Load-test users: the journey each user follows, running the users, and the refresh-under-load probe.
Part of `bench/load.py`.
"""
from __future__ import annotations

import random
import subprocess
import threading
import time
from pathlib import Path

from bench.load_client import Browser, Recorder, _dep, filter_controls, prop_values, walk
from bench.load_server import NEW_MONTH, ROOT, Server


# ---- the journey ----------------------------------------------------------------------------

STEPS = ("sign in", "open map", "change borough", "click hexagon", "open premises", "open profile", "tasking pack")
FILTER_KEY = '{"name":["ALL"],"type":"map-filter"}'


def render_map(b: Browser, state: str, geo_key) -> dict:
    return b.callback(_dep(b, "..map-hexes.figure"), "map render", {"map-state.data": state, "map-geo-key.data": geo_key},
                      ["map-state.data"])


def collect_map(b: Browser, vals: dict, controls: list[dict], state: str, changed: str, **overrides) -> str | None:
    values = {**vals, FILTER_KEY: controls, "map-state.data": state, **overrides}
    r = b.callback(_dep(b, "..map-state.data"), "map filter", values, [changed])
    return r.get("map-state", {}).get("data")


def busiest_cell(response: dict) -> str | None:
    trace = ((response.get("map-hexes", {}).get("figure") or {}).get("data") or [{}])[0]
    locs, z = trace.get("locations") or [], trace.get("z") or []
    return max(zip(z, locs))[1] if locs and z and len(locs) == len(z) else None


def journey(b: Browser, rng: random.Random, think, boroughs: list[str]) -> None:
    """One pass through the map, premises and tasking pages, as a person would click."""
    b.step = "open map"
    b.get("/", "GET /")
    b.get("/_dash-layout", "GET /_dash-layout")
    b.load_dependencies()
    layout = b.page("/")
    vals = prop_values(layout)
    state = vals.get("map-state.data") or ""
    r = render_map(b, state, None)
    key = r.get("map-geo-key", {}).get("data")
    think()

    b.step = "change borough"
    controls = filter_controls(layout, "map-filter")
    borough = rng.choice(boroughs)
    for c in controls:
        if c["id"]["name"] == "boroughs":
            c["value"] = [borough]
    new = collect_map(b, vals, controls, state, '{"name":"boroughs","type":"map-filter"}.value')
    state = new or state
    r = render_map(b, state, key)
    key = r.get("map-geo-key", {}).get("data") or key
    think()

    b.step = "click hexagon"
    cell = busiest_cell(r)
    if cell:
        click = {"points": [{"curveNumber": 0, "location": cell}]}
        state = collect_map(b, vals, controls, state, "map-hexes.clickData", **{"map-hexes.clickData": click}) or state
        render_map(b, state, key)
    think()

    b.step = "open premises"
    layout = b.page("/premises")
    vals = prop_values(layout)
    r = b.callback(_dep(b, "..premises-map.figure"), "premises view", vals, ["premises-boroughs.value"])
    view = r.get("premises-view", {}).get("data") or ""
    controls = r.get("premises-controls", {}).get("data")
    ask = {"startRow": 0, "endRow": 12, "sortModel": [], "filterModel": {}}
    r = b.callback("premises-table.getRowsResponse", "premises table page",
                   {"premises-table.getRowsRequest": ask, "premises-controls.data": controls}, ["premises-table.getRowsRequest"])
    rows = (r.get("premises-table", {}).get("getRowsResponse") or {}).get("rowData") or []
    b.callback(_dep(b, "..premises-profile.children"), "premises profile", {"premises-view.data": view}, ["premises-view.data"])
    think()

    b.step = "open profile"
    if rows:
        k = rng.randrange(min(12, len(rows)))
        cell = {"value": rows[k]["rank"], "colId": "rank", "rowIndex": k, "rowId": rows[k]["premises_id"]}
        r = b.callback("premises-selected.data", "premises row click", {"premises-table.cellClicked": cell}, ["premises-table.cellClicked"])
        selected = r.get("premises-selected", {}).get("data") or rows[k]["premises_id"]
        b.callback(_dep(b, "..premises-profile.children"), "premises profile",
                   {"premises-view.data": view, "premises-selected.data": selected}, ["premises-selected.data"])
    think()

    b.step = "tasking pack"
    layout = b.page("/tasking")
    r = b.callback(_dep(b, "..tasking-summary.children"), "tasking table", prop_values(layout), ["tasking-boroughs.value"])
    pack = r.get("tasking-pack", {}).get("href")
    if pack:
        b.get(pack, "GET tasking pack")
    think()


# ---- running users ---------------------------------------------------------------------------

def run_users(server: Server, names: list[str], rounds: int, duration: float, ramp: float, seed: int,
              boroughs: list[str], rec: Recorder, think_s=(1.0, 3.0)) -> None:
    stop = threading.Event()
    deadline = time.time() + duration

    def user(i: int, name: str):
        rng = random.Random(seed * 1000 + i)
        if stop.wait(rng.uniform(0, ramp)):
            return
        b = Browser(server.base, rec)
        b.step = "sign in"
        b.sign_in(name)
        think = lambda: stop.wait(rng.uniform(*think_s))  # noqa: E731
        for _ in range(rounds):
            if stop.is_set() or time.time() > deadline:
                break
            journey(b, rng, think, boroughs)

    threads = [threading.Thread(target=user, args=(i, n), daemon=True) for i, n in enumerate(names)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.time()) + 120)
    stop.set()


# ---- refresh under load -----------------------------------------------------------------------

def month_police(b: Browser) -> tuple[int, int]:
    """(status, police crimes in NEW_MONTH) from the borough CSV export."""
    status, body = b.get(f"/download/boroughs.csv?from={NEW_MONTH}-01&to={NEW_MONTH}-31", "GET boroughs.csv")
    if status != 200:
        return status, -1
    lines = body.decode().splitlines()
    col = lines[0].split(",").index("police")
    return status, sum(int(line.split(",")[col]) for line in lines[1:] if line.split(",")[col].isdigit())


def _number(text) -> int | None:
    digits = str(text).replace(",", "")
    return int(digits) if digits.isdigit() else None


def map_month_figures(response: dict) -> tuple[int | None, int | None]:
    """(police in the summary card, sum of the borough table's police column) of one map response."""
    cards = {c["props"].get("id"): c["props"].get("children") for c in walk(response.get("map-summary", {}).get("children"))}
    rows = [c for c in walk(response.get("map-borough-table", {}).get("children")) if c.get("type") == "Tr"]
    cells = [[td["props"].get("children") for td in r["props"]["children"]] for r in rows]
    table = [_number(c[2]) for c in cells if len(c) == 4 and c[0] != "Borough"]
    return _number(cards.get("summary-police")), (sum(table) if table and None not in table else None)


class Probe(threading.Thread):
    """Renders the map for NEW_MONTH every 0.5 s: when it first shows the month, and whether a response disagrees with itself."""

    def __init__(self, server: Server, name: str):
        super().__init__(daemon=True)
        self.rec = Recorder()
        self.b = Browser(server.base, self.rec)
        self.b.step = "probe"
        self.b.sign_in(name)
        self.b.load_dependencies()
        self.stop = threading.Event()
        self.seen: list[tuple[float, int | None, int | None]] = []

    def run(self):
        while not self.stop.wait(0.5):
            r = render_map(self.b, f"?from={NEW_MONTH}-01&to={NEW_MONTH}-31&src=police", None)
            if r:
                self.seen.append((time.time(), *map_month_figures(r)))

    def mixed(self) -> int:
        return sum(1 for _, card, table in self.seen if card != table)


def run_refresh(server: Server, csv: Path, delay: float, out: dict) -> threading.Thread:
    """Start `flask --app app load police csv` after delay seconds, on the server's database; fills out."""
    def go():
        time.sleep(delay)
        out["start"] = time.time()
        proc = subprocess.run(["flask", "--app", "app", "load", "police", str(csv)], cwd=ROOT, env=server.env,
                              capture_output=True, text=True)
        out.update(end=time.time(), rc=proc.returncode, output=(proc.stdout + proc.stderr).strip()[-600:])
    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t
