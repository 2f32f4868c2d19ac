"""Load test: N signed-in users on the Procfile's gunicorn, each following a real journey.

    python -m bench.load --db /tmp/load.duckdb --users 20 [--rounds 2] [--duration 300]
    python -m bench.load --db /tmp/load.duckdb --users 20 --refresh   # plus a `load police` mid-run

Build the database first (~40 s): python -c "from data.demo_build import build_demo_database as b;
b('/tmp/load.duckdb', 0.25, 42)". The server is the Procfile's command bound to 127.0.0.1 (all
traffic stays on this machine) with ISTV_DB=--db and a fresh users store; the bench users are
added with `data.users.UserStore` on the same DATABASE_URL. Each user signs in through /login
(CSRF token from the form), then, with 1-3 s of think time between steps: opens the map (page,
Dash layout and dependencies, the page callback, the map's render callback), changes borough
(the filter callback, then render), clicks the borough's busiest hexagon, opens the premises page
(table callback, empty profile), opens a premises profile (row click, profile callback) and
exports the tasking pack (page, table callback, GET of the pack). Payloads are built from the
server's /_dash-dependencies, with the values the pages' layouts hold. JS bundles are not
fetched (a browser caches them). The run stops after --rounds journeys per user or --duration s.

Reports requests/s, p50/p95/p99/max per request of each step, errors (any status other than the
expected one, or a failed connection) and the gunicorn workers' RSS at start, peak and end.
--refresh: a `flask --app app load police` of a new month (2026-01) runs while users work; a probe
user checks the month before and after (no restart), and that each map response agrees with
itself (summary total = borough table total: one response from one file).
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-1"
NEW_MONTH = "2026-01"


# ---- the server ---------------------------------------------------------------------------

def procfile_command(port: int, workers: int | None = None) -> list[str]:
    """The Procfile's web command with its ${VAR:-default}s expanded, bound to 127.0.0.1."""
    line = next(ln for ln in (ROOT / "Procfile").read_text().splitlines() if ln.startswith("web:"))
    values = {"PORT": str(port), "WEB_CONCURRENCY": str(workers) if workers else None}
    cmd = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: values.get(m.group(1)) or m.group(2), line[4:])
    return shlex.split(cmd.replace("0.0.0.0", "127.0.0.1"))


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(db: Path, users_url: str, **extra: str) -> dict:
    env = {**os.environ, "ISTV_DB": str(db), "DATABASE_URL": users_url, "ISTV_DEMO": "0",
           "ISTV_SECRET_KEY": "bench-secret-" + "x" * 32, "PYTHONUNBUFFERED": "1"}
    env.update(extra)
    return env


class Server:
    """The Procfile's gunicorn in its own process group, stopped by stop() (or the with block)."""

    def __init__(self, db: Path, users_url: str, log: Path, workers: int | None = None, app: str = "app:server", **env: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.cmd = [app if c == "app:server" else c for c in procfile_command(self.port, workers)]
        self.env = app_env(db, users_url, **env)
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> "Server":
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=open(self.log, "ab"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.proc.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as r:
                    if r.status == 200 and len(self.workers()) >= 1:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        self.stop()
        raise SystemExit(f"gunicorn did not answer /healthz within {timeout:g} s; see {self.log}")

    def workers(self) -> list[int]:
        """PIDs of the master's worker processes."""
        try:
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            return []
        return [int(k) for k in kids]

    def rss_mb(self) -> dict[int, float]:
        return {pid: rss_mb(pid) for pid in self.workers()}

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def rss_mb(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1)) / 1024


def add_users(users_url: str, n: int, role: str = "police") -> list[str]:
    from data.users import UserStore
    store = UserStore(users_url)
    names = [f"bench{i:03d}" for i in range(n)]
    for name in names:
        if store.by_username(name) is None:
            store.add(name, PASSWORD, role, by="bench")
    store.engine.dispose()
    return names


# ---- one browser ----------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Recorder:
    """Every request's (step, label, status, ms, ok, t) from all threads."""

    def __init__(self):
        self.rows: list[tuple] = []
        self.lock = threading.Lock()
        self.t0 = time.perf_counter()

    def add(self, *row) -> None:
        with self.lock:
            self.rows.append(row + (time.perf_counter() - self.t0,))


class Browser:
    """A cookie jar and a urllib opener: one user's session; records each request."""

    def __init__(self, base: str, rec: Recorder | None = None, timeout: float = 60):
        self.base, self.rec, self.timeout = base, rec, timeout
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect)
        self.step = ""
        self.deps: dict[str, dict] = {}

    def request(self, method: str, path: str, label: str, body: bytes | None = None, ctype: str | None = None,
                expect=(200,)) -> tuple[int, bytes]:
        req = urllib.request.Request(self.base + path, data=body, method=method)
        if ctype:
            req.add_header("Content-Type", ctype)
        t = time.perf_counter()
        try:
            with self.opener.open(req, timeout=self.timeout) as r:
                status, data = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, data = e.code, e.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
            status, data = 0, str(e).encode()
        ms = (time.perf_counter() - t) * 1000
        if self.rec is not None:
            self.rec.add(self.step, label, status, ms, status in expect)
        return status, data

    def get(self, path: str, label: str, expect=(200,)):
        return self.request("GET", path, label, expect=expect)

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        _, page = self.get("/login", "GET /login")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token, "next": "/"})
        self.request("POST", "/login", "POST /login", form.encode(), "application/x-www-form-urlencoded", expect=(302,))

    def load_dependencies(self) -> None:
        status, body = self.get("/_dash-dependencies", "GET /_dash-dependencies")
        if status == 200:
            self.deps = {d["output"]: d for d in json.loads(body)}

    def callback(self, output: str, label: str, values: dict, changed: list[str]) -> dict:
        """POST one callback by its output string; values maps 'id.prop' (or an ALL input's id) to the value."""
        dep = self.deps.get(output)
        if dep is None:
            if self.rec is not None:
                self.rec.add(self.step, label, -1, 0.0, False)
            return {}
        payload = {"output": output, "outputs": _outputs(output), "changedPropIds": changed,
                   "inputs": [_value(i, values) for i in dep["inputs"]], "state": [_value(s, values) for s in dep["state"]]}
        status, body = self.request("POST", "/_dash-update-component", label, json.dumps(payload).encode(),
                                    "application/json", expect=(200, 204))
        return json.loads(body).get("response", {}) if status == 200 else {}

    def page(self, path: str, search: str = "") -> dict:
        r = self.callback("page.children", "page callback", {"url.pathname": path, "url.search": search}, ["url.pathname"])
        return r.get("page", {}).get("children", {})


def _outputs(output: str):
    if not output.startswith(".."):
        i, p = output.rsplit(".", 1)
        return {"id": i, "property": p}
    return [dict(zip(("id", "property"), o.rsplit(".", 1))) for o in output[2:-2].split("...")]


def _value(spec: dict, values: dict):
    key = spec["id"] if spec["id"].startswith("{") else f"{spec['id']}.{spec['property']}"
    if key in values and isinstance(values[key], list) and spec["id"].startswith("{"):
        return values[key]  # an ALL pattern input: the list of matching controls
    return {"id": spec["id"], "property": spec["property"], "value": values.get(key)}


def walk(tree):
    """Every component (dict with props) in a Dash layout tree."""
    if isinstance(tree, list):
        for t in tree:
            yield from walk(t)
    elif isinstance(tree, dict) and "props" in tree:
        yield tree
        for v in tree["props"].values():
            yield from walk(v)


def prop_values(layout) -> dict:
    """'id.prop' → value for every component prop in a layout (the values its controls start with)."""
    out = {}
    for c in walk(layout):
        cid = c["props"].get("id")
        if isinstance(cid, str):
            for k, v in c["props"].items():
                out[f"{cid}.{k}"] = v
    return out


def filter_controls(layout, kind: str) -> list[dict]:
    return [{"id": c["props"]["id"], "property": "value", "value": c["props"].get("value")}
            for c in walk(layout) if isinstance(c["props"].get("id"), dict) and c["props"]["id"].get("type") == kind]


# ---- the journey ----------------------------------------------------------------------------

STEPS = ("sign in", "open map", "change borough", "click hexagon", "open premises", "open profile", "tasking pack")
FILTER_KEY = '{"name":["ALL"],"type":"map-filter"}'


def _dep(b: Browser, prefix: str) -> str:
    return next((k for k in b.deps if k.startswith(prefix)), prefix)


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
    r = b.callback("premises-table.data", "premises table page", {"premises-controls.data": controls,
                                                                  "premises-table.page_current": 0}, ["premises-controls.data"])
    rows = r.get("premises-table", {}).get("data") or []
    b.callback(_dep(b, "..premises-profile.children"), "premises profile", {"premises-view.data": view}, ["premises-view.data"])
    think()

    b.step = "open profile"
    if rows:
        k = rng.randrange(min(12, len(rows)))
        cell = {"row": k, "column": 0, "row_id": rows[k]["id"], "column_id": "rank"}
        r = b.callback("premises-selected.data", "premises row click", {"premises-table.active_cell": cell}, ["premises-table.active_cell"])
        selected = r.get("premises-selected", {}).get("data") or rows[k]["id"]
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


# ---- running users and reporting ------------------------------------------------------------

def percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_ms:
        return float("nan")
    return sorted_ms[min(len(sorted_ms) - 1, max(0, int(round(q / 100 * len(sorted_ms) + 0.5)) - 1))]


def report(rec: Recorder) -> dict:
    """Print the per-step table; return the overall figures."""
    by = defaultdict(list)
    for step, label, status, ms, ok, _ in rec.rows:
        by[(step, label)].append((ms, ok, status))
    order = {s: i for i, s in enumerate(STEPS)}
    print(f"{'step':16} {'request':26} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>6}")
    for (step, label), vals in sorted(by.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])):
        ms = sorted(v[0] for v in vals)
        bad = [v[2] for v in vals if not v[1]]
        print(f"{step:16} {label:26} {len(ms):5} {percentile(ms, 50):8.0f} {percentile(ms, 95):8.0f} "
              f"{percentile(ms, 99):8.0f} {ms[-1]:8.0f} {len(bad):6}" + (f"  statuses {sorted(set(bad))}" if bad else ""))
    all_ms = sorted(r[3] for r in rec.rows)
    errors = sum(1 for r in rec.rows if not r[4])
    span = max((r[5] for r in rec.rows), default=0) - min((r[5] - r[3] / 1000 for r in rec.rows), default=0)
    out = {"requests": len(all_ms), "errors": errors, "seconds": span, "rps": len(all_ms) / span if span else 0.0,
           "p50": percentile(all_ms, 50), "p95": percentile(all_ms, 95), "p99": percentile(all_ms, 99),
           "max": all_ms[-1] if all_ms else float("nan")}
    print(f"{'all':16} {'':26} {out['requests']:5} {out['p50']:8.0f} {out['p95']:8.0f} {out['p99']:8.0f} "
          f"{out['max']:8.0f} {errors:6}")
    print(f"{out['requests']:,} requests in {span:.0f} s: {out['rps']:.1f} requests/s, {errors} errors")
    return out


class MemorySampler(threading.Thread):
    """Samples the workers' RSS every second: start, peak and end per worker PID."""

    def __init__(self, server: Server):
        super().__init__(daemon=True)
        self.server, self.stop = server, threading.Event()
        self.start_mb = server.rss_mb()
        self.peak: dict[int, float] = dict(self.start_mb)

    def run(self):
        while not self.stop.wait(1.0):
            for pid, mb in self.server.rss_mb().items():
                self.peak[pid] = max(self.peak.get(pid, 0.0), mb)

    def finish(self) -> str:
        self.stop.set()
        self.join(5)
        end = self.server.rss_mb()
        fmt = lambda d: ", ".join(f"{pid}: {mb:.0f} MB" for pid, mb in sorted(d.items()))  # noqa: E731
        return f"worker RSS at start {fmt(self.start_mb)}; peak {fmt(self.peak)}; at end {fmt(end)}"


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


def borough_codes(db: Path) -> list[str]:
    from data.store import Store
    return list(Store(db).df("SELECT code FROM boroughs ORDER BY code")["code"])


# ---- refresh under load -----------------------------------------------------------------------

def as_deployment(path: Path) -> None:
    """Mark a copy of the demo as a deployment's own data: loads refuse to mix real files into the demo."""
    import duckdb
    con = duckdb.connect(str(path))
    try:
        con.execute("DELETE FROM meta WHERE key = 'demo'")
    finally:
        con.close()


def new_month_csv(path: Path, rows: int = 3000, seed: int = 7) -> int:
    """A police.uk CSV for NEW_MONTH: demo police rows of one month, re-dated, with fresh crime IDs."""
    import pandas as pd

    from data.demo import generate, police_uk_csv
    police = generate(0.05, seed).police
    month = pd.to_datetime(police["month"]).dt.strftime("%Y-%m")
    some = police[month == "2025-01"]
    some = some.sample(n=min(rows, len(some)), random_state=seed).sort_index()
    out = police_uk_csv(some)
    out["Month"] = NEW_MONTH
    out["Crime ID"] = [f"{cid}b" if cid else "" for cid in out["Crime ID"]]
    out.to_csv(path, index=False)
    return len(out)


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


# ---- main -------------------------------------------------------------------------------------

def ensure_db(db: Path) -> None:
    if not db.exists():
        from data.demo_build import build_demo_database
        print(f"{db} missing: building the demo database (scale 0.25, seed 42) ...", flush=True)
        build_demo_database(db, 0.25, 42)


def one_run(args, db: Path, users_url: str, names: list[str], tmp: Path) -> dict:
    import shutil
    served = tmp / f"served-{len(names)}.duckdb"
    shutil.copyfile(db, served)  # the refresh writes to it: never the caller's file
    as_deployment(served)
    boroughs = borough_codes(served)
    with Server(served, users_url, tmp / "gunicorn.log", args.workers, args.app) as server:
        print(f"\n== {len(names)} users, {args.rounds} journeys each (at most {args.duration:g} s), "
              f"think time 1-3 s; {' '.join(server.cmd)}", flush=True)
        mem = MemorySampler(server)
        mem.start()
        rec = Recorder()
        refresh: dict = {}
        if args.refresh:
            csv = tmp / f"police-{NEW_MONTH}.csv"
            n = new_month_csv(csv, args.refresh_rows)
            probe = Probe(server, "probe")
            before = month_police(probe.b)
            pids_before = sorted(server.workers())
            probe.start()
            loader = run_refresh(server, csv, args.refresh_at, refresh)
        run_users(server, names, args.rounds, args.duration, args.ramp, args.seed, boroughs, rec)
        print(mem.finish())
        result = report(rec)
        if args.refresh:
            loader.join(600)
            time.sleep(1.0)
            probe.stop.set()
            probe.join(10)
            after = month_police(probe.b)
            first = next((t for t, card, _ in probe.seen if card), None)
            print(f"refresh: {n:,} rows of {NEW_MONTH} loaded by `flask --app app load police` in "
                  f"{refresh.get('end', 0) - refresh.get('start', 0):.1f} s (exit {refresh.get('rc')}) while users worked")
            print(f"  {NEW_MONTH} police crimes in the borough CSV export: before {before[1]:,}, after {after[1]:,} "
                  f"(workers {pids_before} before, {sorted(server.workers())} after: no restart)")
            if first is not None:
                print(f"  the map first showed {NEW_MONTH} {first - refresh['end']:+.2f} s after the load command ended")
            probe_errors = sum(1 for r in probe.rec.rows if not r[4])
            print(f"  probe: {len(probe.seen)} map responses for {NEW_MONTH}, {probe.mixed()} disagreeing with themselves "
                  f"(summary card vs borough table), {probe_errors} failed requests")
            if refresh.get("rc") != 0:
                print("  load output: " + refresh.get("output", ""))
            result.update(refresh_rc=refresh.get("rc"), before=before[1], after=after[1], mixed=probe.mixed(),
                          probe_errors=probe_errors)
        return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, default=Path("/tmp/load.duckdb"), help="demo database (built when missing)")
    ap.add_argument("--users", type=int, nargs="+", default=[20, 50], help="concurrent users; one run per number")
    ap.add_argument("--rounds", type=int, default=2, help="journeys per user")
    ap.add_argument("--duration", type=float, default=300, help="stop starting steps after this many seconds")
    ap.add_argument("--ramp", type=float, default=10, help="users start at random within this many seconds")
    ap.add_argument("--workers", type=int, default=None, help="WEB_CONCURRENCY (default: the Procfile's)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--app", default="app:server", help="WSGI app instead of the Procfile's (to measure a proposed fix)")
    ap.add_argument("--refresh", action="store_true", help=f"load police data for {NEW_MONTH} during the run")
    ap.add_argument("--refresh-rows", type=int, default=3000)
    ap.add_argument("--refresh-at", type=float, default=15, help="seconds into the run the load starts")
    args = ap.parse_args()
    ensure_db(args.db)
    tmp = Path(tempfile.mkdtemp(prefix="istv-load-"))
    users_url = f"sqlite:///{tmp / 'users.sqlite'}"
    names = add_users(users_url, max(args.users))
    add_users(users_url, 0)
    from data.users import UserStore
    UserStore(users_url).add("probe", PASSWORD, "analyst", by="bench")
    failed = False
    for n in args.users:
        result = one_run(args, args.db, users_url, names[:n], tmp)
        failed |= result["errors"] > 0 or result.get("refresh_rc", 0) != 0 or result.get("mixed", 0) > 0
    print(f"\nlogs: {tmp / 'gunicorn.log'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
