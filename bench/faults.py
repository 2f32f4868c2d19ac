"""Scripted fault trials: what happens when loads are killed, workers die, files are bad or the disk fills.

    python -m bench.faults --db /tmp/load.duckdb [--trials 10] [--only kill-load,kill-worker,bad-file,full-disk,edge]

Every trial works on copies in a temporary folder, talks to 127.0.0.1 only and stops by itself:
- kill-load: `flask --app app load police` of a new month, kill -9 at a random moment (seeded), --trials
  times; the served file must stay byte-identical (sha256) and open as an ISTV database; then one
  load runs to the end and must add the month.
- kill-worker: users work on the Procfile's gunicorn; one worker gets kill -9 mid-run; counts
  failed requests before, around and after the kill, and checks gunicorn started a new worker.
- bad-file: the Procfile's gunicorn with ISTV_DEMO=0 and a missing, empty or corrupted database file
  must exit with a message and no traceback; with ISTV_DEMO=1 it must rebuild and serve; a file
  removed while serving must turn /healthz to 503 and pages into a short message.
- full-disk: the database on a tmpfs too small for the load's new file (needs root for mount);
  the load must fail with a message and the served file stay intact and served.
- edge: bad requests at the HTTP edge (malformed and oversized payloads, unknown ids, a 10 kB
  query string, odd Unicode in text filters): status, body excerpt, worker still serving.
Prints a table per trial; exits 1 when any trial failed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.load_client import Browser, Recorder
from bench.load_journeys import render_map
from bench.load_server import (NEW_MONTH, PASSWORD, ROOT, Server, add_users, app_env, as_deployment, borough_codes,
                               ensure_db, new_month_csv, procfile_command, free_port)

RESULTS: list[tuple[str, str, bool]] = []


def result(trial: str, what: str, ok: bool) -> None:
    RESULTS.append((trial, what, ok))
    print(f"  {'ok  ' if ok else 'FAIL'} {what}", flush=True)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def opens(path: Path) -> bool:
    from data.errors import StoreError
    from data.store.db import Store
    try:
        Store(path).check()
        return True
    except StoreError:
        return False


def flask_load(db: Path, csv: Path, users_url: str) -> subprocess.Popen:
    return subprocess.Popen(["flask", "--app", "app", "load", "police", str(csv)], cwd=ROOT, env=app_env(db, users_url),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def incidents_in(db: Path, month: str) -> int:
    from data.store.db import Store
    return int(Store(db).df("SELECT count(*) AS n FROM incidents WHERE month = ?::DATE", [f"{month}-01"])["n"].iat[0])


# ---- (1) kill -9 a load -------------------------------------------------------------------------

def kill_load(db: Path, tmp: Path, trials: int, seed: int) -> None:
    print(f"\n[kill-load] kill -9 a `load police` at random moments, {trials} trials")
    served = tmp / "kill" / "istv.duckdb"
    served.parent.mkdir()
    shutil.copyfile(db, served)
    as_deployment(served)
    csv = tmp / f"police-{NEW_MONTH}.csv"
    if not csv.exists():
        new_month_csv(csv)
    users_url = f"sqlite:///{tmp / 'kill' / 'users.sqlite'}"
    before = sha256(served)
    timing = tmp / "kill" / "timing.duckdb"
    shutil.copyfile(served, timing)
    t = time.time()
    proc = flask_load(timing, csv, users_url)
    proc.communicate(timeout=600)
    full = time.time() - t
    added = incidents_in(timing, NEW_MONTH)
    timing.unlink()
    print(f"  an uninterrupted load takes {full:.1f} s (process start to exit); kills land in [0.5, {full:.1f}] s")
    rng = random.Random(seed)
    pristine = tmp / "kill" / "pristine.duckdb"
    shutil.copyfile(served, pristine)
    print(f"  {'trial':>5} {'kill at s':>9} {'temp file at kill':>17} {'exit':>5} {'sha256 same':>11} {'opens':>5}  state")
    good = killed = attempts = swapped = 0
    while killed < trials and attempts < 3 * trials:
        attempts += 1
        at = rng.uniform(0.5, full)
        proc = flask_load(served, csv, users_url)
        time.sleep(at)
        temp = any(served.parent.glob(f".{served.name}.*.tmp*"))
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        if proc.returncode != -signal.SIGKILL:  # the load finished first: not a kill trial; start again from the old file
            print(f"  {'-':>5} {at:9.2f} {str(temp):>17} {proc.returncode:5}  the load finished before the kill; file restored")
            shutil.copyfile(pristine, served)
            continue
        killed += 1
        same, ok_open = sha256(served) == before, opens(served)
        # killed after the swap (while syncing the folder or exiting): the whole new version, never a part of it
        whole_new = not same and ok_open and incidents_in(served, NEW_MONTH) == added
        state = "old file" if same else f"whole new file ({added:,} rows of {NEW_MONTH})" if whole_new else "PARTIAL"
        good += (same or whole_new) and ok_open
        swapped += whole_new
        print(f"  {killed:5} {at:9.2f} {str(temp):>17} {proc.returncode:5} {str(same):>11} {str(ok_open):>5}  {state}", flush=True)
        if not same:
            shutil.copyfile(pristine, served)
    result("kill-load", f"{good}/{killed} kill -9 trials left the old file byte-identical ({good - swapped}) or the whole "
                        f"new one ({swapped}: killed after the swap), readable", good == killed == trials)
    proc = flask_load(served, csv, users_url)
    out, _ = proc.communicate(timeout=600)
    n = incidents_in(served, NEW_MONTH)
    leftovers = list(served.parent.glob(f".{served.name}.*"))
    result("kill-load", f"the next load ran to the end (exit {proc.returncode}), added {n:,} incidents of {NEW_MONTH} "
                        f"and removed the killed loads' temp files ({len(leftovers)} left)",
           proc.returncode == 0 and n > 0 and not leftovers)


# ---- (2) kill -9 a gunicorn worker under load -----------------------------------------------------

def kill_worker(db: Path, tmp: Path, users: int, seconds: float) -> None:
    print(f"\n[kill-worker] {users} users hit the map for {seconds:g} s; one gunicorn worker is killed with -9 after {seconds / 3:.0f} s")
    users_url = f"sqlite:///{tmp / 'worker-users.sqlite'}"
    names = add_users(users_url, users)
    boroughs = borough_codes(db)
    rec = Recorder()
    with Server(db, users_url, tmp / "gunicorn-kill.log") as server:
        stop = threading.Event()

        def user(i, name):
            rng = random.Random(i)
            b = Browser(server.base, rec)
            b.step = "sign in"
            b.sign_in(name)
            b.load_dependencies()
            b.step = "map"
            while not stop.is_set():
                render_map(b, f"?borough={rng.choice(boroughs)}", None)
                stop.wait(rng.uniform(0.2, 0.6))

        threads = [threading.Thread(target=user, args=(i, n), daemon=True) for i, n in enumerate(names)]
        for th in threads:
            th.start()
        time.sleep(seconds / 3)
        old = server.workers()
        victim = old[0]
        t_kill = time.perf_counter() - rec.t0
        os.kill(victim, signal.SIGKILL)
        time.sleep(seconds * 2 / 3)
        stop.set()
        for th in threads:
            th.join(130)
        new = server.workers()
    windows = {"before the kill": (0, t_kill), "kill to +5 s": (t_kill, t_kill + 5), "after +5 s": (t_kill + 5, 1e9)}
    print(f"  {'window':18} {'requests':>8} {'failed':>6}")
    for name, (a, b) in windows.items():
        rows = [r for r in rec.rows if a <= r[5] < b]
        print(f"  {name:18} {len(rows):8} {sum(1 for r in rows if not r[4]):6}")
    failed = [r for r in rec.rows if not r[4]]
    late = [r for r in failed if r[5] >= t_kill + 5]
    result("kill-worker", f"gunicorn replaced worker {victim} (workers before {old}, after {new})", victim not in new and len(new) == len(old))
    result("kill-worker", f"{len(rec.rows)} requests, {len(failed)} failed (statuses {sorted({r[2] for r in failed})}), "
                          f"{len(late)} failed later than 5 s after the kill", not late)


# ---- (3) missing, empty, corrupted database files --------------------------------------------------

def start_gunicorn(db: Path, users_url: str, timeout: float = 180, **env) -> tuple[int | None, str, str | None]:
    """Run the Procfile's gunicorn until it exits or answers /healthz: (exit code or None, output, health body)."""
    import urllib.request
    port = free_port()
    log = db.parent / f"gunicorn-{port}.log"
    proc = subprocess.Popen(procfile_command(port), cwd=ROOT, env=app_env(db, users_url, **env),
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    health, deadline = None, time.time() + timeout
    try:
        while time.time() < deadline and proc.poll() is None and health is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = r.read().decode()
            except OSError:
                time.sleep(0.3)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
            code = None
        else:
            code = proc.returncode
    return code, log.read_text(errors="replace"), health


def bad_files(db: Path, tmp: Path) -> None:
    print("\n[bad-file] the Procfile's gunicorn on a missing, empty and corrupted database file")
    folder = tmp / "bad"
    folder.mkdir()
    users_url = f"sqlite:///{folder / 'users.sqlite'}"
    cases = {"missing": None, "empty": b"", "corrupted": None}
    for name in cases:
        path = folder / f"{name}.duckdb"
        if name == "empty":
            path.write_bytes(b"")
        elif name == "corrupted":  # a real database with its header overwritten: what a torn copy looks like
            shutil.copyfile(db, path)
            with open(path, "r+b") as f:
                f.seek(0)
                f.write(os.urandom(8192))
        code, out, health = start_gunicorn(path, users_url, ISTV_DEMO="0")
        message = next((ln for ln in out.splitlines() if "cannot start" in ln), "(no message)")
        print(f"  ISTV_DEMO=0, {name} file: exit {code}; {message[:150]}")
        result("bad-file", f"{name} file, ISTV_DEMO=0: exits with a message and no traceback",
               code not in (None, 0) and "cannot start" in out and "Traceback" not in out and health is None)
    path = folder / "corrupted.duckdb"
    t = time.time()
    code, out, health = start_gunicorn(path, users_url, ISTV_DEMO="1", ISTV_DEMO_SCALE="0.02", ISTV_DEMO_SEED="7")
    aside = [p.name for p in folder.glob("corrupted.duckdb.unusable-*")]
    print(f"  ISTV_DEMO=1, corrupted file: /healthz {(health or '').strip()} after {time.time() - t:.0f} s; kept aside: {aside}")
    result("bad-file", "corrupted file, ISTV_DEMO=1: moved aside, demo rebuilt and served",
           health is not None and '"ok"' in health and len(aside) == 1 and opens(path))
    removed_while_serving(db, folder, users_url)


def removed_while_serving(db: Path, folder: Path, users_url: str) -> None:
    served = folder / "served.duckdb"
    shutil.copyfile(db, served)
    add_users(users_url, 1)
    with Server(served, users_url, folder / "gunicorn-removed.log") as server:
        b = Browser(server.base)
        b.sign_in("bench000")
        b.load_dependencies()
        render = next(k for k in b.deps if k.startswith("..map-hexes.figure"))
        post = lambda: b.request("POST", "/_dash-update-component", "map", _payload(  # noqa: E731
            render, {"map-state.data": "?borough=E09000012"}, "map-state.data", b), "application/json")
        ok_before = post()[0] == 200
        served.rename(folder / "moved.duckdb")
        health = b.get("/healthz", "healthz")
        status, body = post()
        (folder / "moved.duckdb").rename(served)
        back = post()[0] == 200 and b.get("/healthz", "healthz")[0] == 200
    print(f"  file removed while serving: /healthz {health[0]} {health[1][:100].decode()}; map callback {status} "
          f"{body[:80].decode()}; file back: served again {back}")
    result("bad-file", "file removed while serving: /healthz 503 with the reason, a short error, served again once back",
           ok_before and health[0] == 503 and b"not found" in health[1] and status >= 500 and back and b"Traceback" not in body)


# ---- (4) a full disk during a load ------------------------------------------------------------------

def full_disk(tmp: Path) -> None:
    print("\n[full-disk] the database on a small tmpfs; `load police` runs out of space")
    if os.geteuid() != 0:
        result("full-disk", "skipped: mounting a tmpfs needs root", True)
        return
    from tests.fixtures import build_tiny
    small = tmp / "small.duckdb"
    build_tiny(small)
    as_deployment(small)
    csv = tmp / f"police-{NEW_MONTH}.csv"
    if not csv.exists():
        new_month_csv(csv)
    size = small.stat().st_size
    # room for the served file plus: a third of a copy (the copy fails), then a copy and a bit (the writes fail)
    for label, room in (("copy fails", size // 3), ("write fails", size + size // 20)):
        mnt = tmp / f"tmpfs-{label.split()[0]}"
        mnt.mkdir()
        kb = (size + room) // 1024 + 1
        mb = kb / 1024
        if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kb}k", "tmpfs", str(mnt)]).returncode != 0:
            result("full-disk", f"skipped ({label}): mount failed", True)
            continue
        try:
            served = mnt / "istv.duckdb"
            shutil.copyfile(small, served)
            before = sha256(served)
            users_url = f"sqlite:///{tmp / f'disk-{label[0]}.sqlite'}"  # users off the full disk
            add_users(users_url, 1)
            with Server(served, users_url, tmp / "gunicorn-disk.log") as server:
                b = Browser(server.base)
                b.sign_in("bench000")
                b.load_dependencies()
                proc = flask_load(served, csv, users_url)
                out, _ = proc.communicate(timeout=300)
                health = b.get("/healthz", "healthz")
                served_ok = bool(render_map(b, "?borough=E09000012", None))
            last = out.strip().splitlines()[-1] if out.strip() else ""
            free = shutil.disk_usage(mnt).free
            print(f"  {label} ({mb:.1f} MB tmpfs, database {size / 2**20:.1f} MB): exit {proc.returncode}; {last[:220]}")
            result("full-disk", f"{label}: the load fails with a message and no traceback",
                   proc.returncode not in (0, None) and "Traceback" not in out and "unchanged" in out)
            result("full-disk", f"{label}: the served file is byte-identical, /healthz {health[0]}, the map still served, "
                                f"the temp file removed ({free / 2**20:.1f} MB free again)",
                   sha256(served) == before and health[0] == 200 and served_ok and not list(mnt.glob(".istv.duckdb.*")))
            if "Traceback" in out:
                print("    " + "\n    ".join(out.strip().splitlines()[-6:]))
        finally:
            subprocess.run(["umount", str(mnt)])


# ---- (5) bad input at the HTTP edge -------------------------------------------------------------------

ODD = "\u202e\U0001f4a3\x00'; DROP TABLE incidents;--%_\\" + "\u0301" * 20 + "\uffff"  # what a person can type
SURROGATE = "bad\ud800"  # a lone surrogate: JavaScript strings can hold one, UTF-8 cannot


def _payload(output: str, values: dict, changed: str, b: Browser) -> bytes:
    dep = b.deps[output]
    outputs = ({"id": output.rsplit(".", 1)[0], "property": output.rsplit(".", 1)[1]} if not output.startswith("..")
               else [dict(zip(("id", "property"), o.rsplit(".", 1))) for o in output[2:-2].split("...")])
    spec = lambda d: {"id": d["id"], "property": d["property"], "value": values.get(f"{d['id']}.{d['property']}")}  # noqa: E731
    return json.dumps({"output": output, "outputs": outputs, "inputs": [spec(d) for d in dep["inputs"]],
                       "state": [spec(d) for d in dep["state"]], "changedPropIds": [changed]}).encode()


def edge_cases(b: Browser) -> dict[str, tuple]:
    """name → (method, path, body, content type, expected statuses, text the answer must hold) of each bad request."""
    from bench.load_client import prop_values
    premises_vals = prop_values(b.page("/premises"))
    table = next(k for k in b.deps if k.startswith("..premises-map.figure"))
    render = next(k for k in b.deps if k.startswith("..map-hexes.figure"))
    search = lambda text: _payload(table, {**premises_vals, "premises-search.value": text}, "premises-search.value", b)  # noqa: E731
    audit = lambda text: _payload("audit-table.children", {"audit-user.value": text}, "audit-user.value", b)  # noqa: E731
    huge = _payload(render, {"map-state.data": "?borough=" + "E09000012," * 1000}, "map-state.data", b)
    js, bad = "application/json", (400,)
    return {
        "malformed JSON": ("POST", "/_dash-update-component", b'{"output": "page.children", "inputs": [', js, bad, None),
        "not JSON at all": ("POST", "/_dash-update-component", b"\xff\xfe\x00garbage", js, bad, None),
        "wrong shapes": ("POST", "/_dash-update-component", b'{"output": "map-state.data", "inputs": "x", "state": 7}', js, bad, None),
        "oversized body (2 MB)": ("POST", "/_dash-update-component", b"[" + b"1," * 1_000_000 + b"1]", js, (413,), None),
        "unknown component ids": ("POST", "/_dash-update-component", json.dumps(
            {"output": "ghost.children", "outputs": {"id": "ghost", "property": "children"},
             "inputs": [{"id": "nobody", "property": "value", "value": 1}], "changedPropIds": ["nobody.value"]}).encode(), js, bad, None),
        "10 kB query string on /": ("GET", "/?borough=" + "E09000012," * 1000, None, None, (414,), None),
        "10 kB query string on a CSV export": ("GET", "/download/boroughs.csv?src=" + "ed," * 3400, None, None, (414,), None),
        "10 kB map state in a callback": ("POST", "/_dash-update-component", huge, js, (200,), "map-hexes"),  # ignored: the default view
        "odd Unicode, premises search box": ("POST", "/_dash-update-component", search(ODD), js, (200,), "premises-map"),
        "odd Unicode, audit username filter": ("POST", "/_dash-update-component", audit(ODD), js, (200,), "audit-list"),
        "lone surrogate, premises search box": ("POST", "/_dash-update-component", search(SURROGATE), js, bad, None),
        "lone surrogate, audit username filter": ("POST", "/_dash-update-component", audit(SURROGATE), js, bad, None),
        "odd Unicode and ../ in the URL path": ("GET", "/%F0%9F%92%A3/%ED%A0%80/..%2F..%2Fetc%2Fpasswd", None, None, (200, 404), None),
    }


def edge(db: Path, tmp: Path) -> list[tuple]:
    print("\n[edge] bad requests sent to the Procfile's gunicorn (signed in as an admin)")
    users_url = f"sqlite:///{tmp / 'edge-users.sqlite'}"
    from data.access.users import UserStore
    UserStore(users_url).add("edgeadmin", PASSWORD, "admin", by="bench")
    rows = []
    with Server(db, users_url, tmp / "gunicorn-edge.log") as server:
        b = Browser(server.base)
        b.sign_in("edgeadmin")
        b.load_dependencies()
        for name, (method, path, body, ctype, expect, holds) in edge_cases(b).items():
            status, data = b.request(method, path, name, body, ctype)
            text = data.decode("utf-8", "replace").replace("\n", " ")
            alive = b.get("/healthz", "healthz")[0] == 200 and bool(render_map(b, "?borough=E09000012", None))
            tb = "Traceback" in text or 'File "' in text or "root:" in text
            ok = status in expect and not tb and alive and (holds is None or holds in text)
            rows.append((name, status, text[:70], tb, alive, ok))
        log = (tmp / "gunicorn-edge.log").read_text(errors="replace")
    print(f"  {'request':38} {'status':>6}  {'traceback':9} {'serving':7}  body")
    for name, status, text, tb, alive, ok in rows:
        print(f"  {name:38} {status:6}  {str(tb):9} {str(alive):7}  {text}")
        result("edge", f"{name}: {status}, no traceback, worker still serving", ok)
    crashes = log.count("Worker exiting") + log.count("WORKER TIMEOUT")
    result("edge", f"no worker died or timed out during the bad requests ({crashes} in the log)", crashes == 0)
    return rows


# ---- main ---------------------------------------------------------------------------------------------

TRIALS = ("kill-load", "kill-worker", "bad-file", "full-disk", "edge")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, default=Path("/tmp/load.duckdb"), help="demo database (built when missing)")
    ap.add_argument("--trials", type=int, default=10, help="kill -9 trials of a load")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--users", type=int, default=10, help="users during the worker kill")
    ap.add_argument("--seconds", type=float, default=30, help="length of the worker-kill run")
    ap.add_argument("--only", default=",".join(TRIALS), help="comma-separated trials to run")
    args = ap.parse_args()
    ensure_db(args.db)
    tmp = Path(tempfile.mkdtemp(prefix="istv-faults-"))
    only = set(args.only.split(","))
    if "kill-load" in only:
        kill_load(args.db, tmp, args.trials, args.seed)
    if "kill-worker" in only:
        kill_worker(args.db, tmp, args.users, args.seconds)
    if "bad-file" in only:
        bad_files(args.db, tmp)
    if "full-disk" in only:
        full_disk(tmp)
    if "edge" in only:
        edge(args.db, tmp)
    print(f"\n{'trial':12} {'result':6} what")
    for trial, what, ok in RESULTS:
        print(f"{trial:12} {'ok' if ok else 'FAIL':6} {what}")
    print(f"\nlogs and copies: {tmp}")
    sys.exit(0 if all(ok for *_, ok in RESULTS) else 1)


if __name__ == "__main__":
    main()
