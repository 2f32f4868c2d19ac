"""Load test: N signed-in users on the Procfile's gunicorn, each following a real journey.

    python -m bench.load --db /tmp/load.duckdb --users 20 [--rounds 2] [--duration 300]
    python -m bench.load --db /tmp/load.duckdb --users 20 --refresh   # plus a `load police` mid-run

Build the database first (~40 s): python -c "from data.demo.build import build_demo_database as b;
b('/tmp/load.duckdb', 0.25, 42)". The server is the Procfile's command bound to 127.0.0.1 (all
traffic stays on this machine) with ISTV_DB=--db and a fresh users store; the bench users are
added with `data.access.users.UserStore` on the same DATABASE_URL. Each user signs in through /login
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
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/load.py`: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load_client import Recorder  # noqa: E402
from bench.load_journeys import Probe, month_police, run_refresh, run_users  # noqa: E402
from bench.load_report import report  # noqa: E402
from bench.load_server import (NEW_MONTH, PASSWORD, MemorySampler, Server, add_users, as_deployment,  # noqa: E402
                               borough_codes, ensure_db, new_month_csv)


# ---- main -------------------------------------------------------------------------------------

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
    from data.access.users import UserStore
    UserStore(users_url).add("probe", PASSWORD, "analyst", by="bench")
    failed = False
    for n in args.users:
        result = one_run(args, args.db, users_url, names[:n], tmp)
        failed |= result["errors"] > 0 or result.get("refresh_rc", 0) != 0 or result.get("mixed", 0) > 0
    print(f"\nlogs: {tmp / 'gunicorn.log'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
