"""Benchmark: an ED data lead uploads a 50,000-row month through the browser's path.

    python bench/upload.py [--rows 50000] [--repeat 3] [--keep DIR]

Builds the database a deployment builds from real files (tests/realdeploy.py: 33 boroughs,
Westminster's OpenStreetMap streets, 2,678 pubs, City of London police.uk files, two EDs), writes one
ED month of --rows assaults to the published standard whose free-text locations are Westminster's
streets and pubs as receptionists write them (some misspelt, some vague, some at home, 1 % breaking a
rule), then times, each in a fresh process with its peak memory (ru_maxrss):

  send   POST /upload/ed through the app (multipart, the size and CSRF checks, the file to the spool:
         sent_s), then until its check has finished on the worker's thread (seconds: what a person waits);
  check  the check before anything is written (the loader's validation, the submission rules, the
         problem table with how to fix each row) - what the person waits for after sending;
  load   "Load": the same checks again, geocoding, H3, blocks and the atomic swap of the database.
"""
from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from datetime import datetime
from pathlib import Path
from data.ingest.submission import SubmissionRules, check_submission, load_submission
step, path, db = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
rules = SubmissionRules(sites=("RJ122",))
t0 = time.perf_counter()
if step == "check":
    c = check_submission(path, path.name, rules, now=datetime(2025, 6, 1))
    out = {{"rows_ok": c.summary()["rows_ok"], "problems": len(c.problems), "refused": c.refused}}
elif step == "load":
    r = load_submission(path, path.name, rules, db, "upload:bench", now=datetime(2025, 6, 1))
    out = {{"loaded": r.rows_loaded, "quarantined": r.rows_quarantined}}
else:
    import io, re
    from app import create_app
    from tests.fixtures import config_for
    from tests.conftest import sign_in
    app = create_app(config_for(db, demo=False, database_url="sqlite:///" + str(db.parent / "users.sqlite")))
    users = app.server.extensions["istv_users"]
    if users.by_username("lead") is None:
        users.add("lead", "Pipit-granite-6620", "health", (), ("RJ122",), by="bench")
    c = app.server.test_client()
    sign_in(c, "lead", "Pipit-granite-6620")
    with c.session_transaction() as s:
        token = s["csrf"]
    t0 = time.perf_counter()
    r = c.post("/upload/ed", data={{"file": (open(path, "rb"), path.name)}}, content_type="multipart/form-data",
               headers={{"X-CSRF-Token": token}})
    sent = time.perf_counter() - t0
    from data.ingest.jobs import Jobs
    spool = Jobs(app.server.extensions["istv_config"].uploads_path)
    while spool.get(r.get_json()["job"], users.by_username("lead").id).running:  # the page polls until checked
        time.sleep(0.05)
    out = {{"status": r.status_code, "sent_s": round(sent, 3), "state": spool.get(r.get_json()["job"], users.by_username("lead").id).state}}
seconds = time.perf_counter() - t0
print(json.dumps({{**out, "seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def month_file(db: Path, rows: int, path: Path, seed: int = 1) -> None:
    """One ED month (March 2025, site RJ122) of `rows` assaults located at the store's streets and pubs."""
    con = duckdb.connect(str(db), read_only=True)
    streets = [r[0] for r in con.execute("SELECT DISTINCT street FROM blocks WHERE street IS NOT NULL").fetchall()]
    pubs = [r[0] for r in con.execute("SELECT name FROM premises WHERE borough_code = 'E09000033'").fetchall()]
    con.close()
    rng = random.Random(seed)
    out = io.StringIO()
    out.write("Reporting Period Start Date,Reporting Period End Date,Site Code (of Treatment),Arrival Date,"
              "Arrival Time,Assault Date,Assault Time,Assault Method,Assault Method Other Description,"
              "Assault Location Type,Assault Location Description,Record ID\n")
    for i in range(rows):
        day, hour, minute = rng.randint(1, 31), rng.choice([19, 20, 21, 22, 23, 0, 1, 2, 3]), rng.randint(0, 59)
        kind = rng.random()
        if kind < 0.4:
            place, ltype = rng.choice(streets), "02"
        elif kind < 0.7:
            place, ltype = f"outside {rng.choice(pubs)}", "01"
        elif kind < 0.8:
            street = rng.choice(streets)
            place, ltype = street.lower().replace("street", "st").replace("road", "rd"), "02"
        elif kind < 0.9:
            place, ltype = "home", "03"
        else:
            place, ltype = rng.choice(["", "unknown", "west end", "soho"]), "99"
        method = rng.choice(["01", "01", "01", "02", "03", "04", "06", "99"])
        other = "bottle and fists" if method == "06" else ""
        arrival_day, arrival_hour = day, (hour + 1) % 24
        if hour == 23:
            arrival_day = min(day + 1, 31)
        assault = f"{day:02d}/03/2025,{hour:02d}:{minute:02d}"
        if rng.random() < 0.01:  # 1 % break a rule of the standard
            assault = rng.choice([f"{day:02d}/03/2025,", "31/02/2025,22:00", f"{day:02d}/13/2025,22:00"])
        place = f'"{place}"' if "," in place else place
        out.write(f"01/03/2025,31/03/2025,RJ122,{arrival_day:02d}/03/2025,{arrival_hour:02d}:{minute:02d},{assault},"
                  f"{method},{other},{ltype},{place},RJ122-B{i:06d}\n")
    path.write_text(out.getvalue())


def run(step: str, path: Path, db: Path) -> dict:
    res = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)), step, str(path), str(db)],
                         capture_output=True, text=True, cwd=ROOT)
    if res.returncode:
        raise SystemExit(res.stderr[-3000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    from tests.realdeploy import build_real_database
    work = args.keep or Path(tempfile.mkdtemp(prefix="istv-upload-"))
    work.mkdir(parents=True, exist_ok=True)
    base = work / "real.duckdb"
    if not base.exists():
        build_real_database(base)
    month = work / "ed_RJ122_2025-03_bench.csv"
    month_file(base, args.rows, month)
    print(f"{args.rows:,} rows, {month.stat().st_size / 1e6:.1f} MB, database {base.stat().st_size / 1e6:.1f} MB")
    results: dict[str, list[dict]] = {"send": [], "check": [], "load": []}
    for i in range(args.repeat):
        db = work / f"run{i}.duckdb"
        shutil.copyfile(base, db)
        for step in results:
            results[step].append(run(step, month, db))
    for step, runs in results.items():
        secs = [r["seconds"] for r in runs]
        peak = max(r["peak_mb"] for r in runs)
        extra = {k: v for k, v in runs[-1].items() if k not in ("seconds", "peak_mb")}
        print(f"{step:6s} median {statistics.median(secs):6.2f} s (min {min(secs):.2f}, max {max(secs):.2f}), "
              f"peak {peak:,.0f} MB  {extra}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
