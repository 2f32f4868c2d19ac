"""A load killed with SIGKILL part-way leaves the served database byte-identical and readable."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from data.errors import StoreError
from data.store.db import Store, writer_lock
from tests.test_ingest_fixtures import DATA, count, digest, load

ROOT = Path(__file__).resolve().parents[1]
# the child loads a file and stalls once the new database holds the copy and the parsed rows,
# so the kill lands mid-load every time (no race with a fast machine)
CHILD = """
import sys, time
import data.ingest.police as police
def stall(*args, **kwargs):
    open(sys.argv[3], "w").close()
    time.sleep(60)
police.point_key_table = stall
from data.ingest.load import load_files
load_files("police", [sys.argv[1]], sys.argv[2])
"""


def _temp_files(db: Path) -> list[Path]:
    return sorted(db.parent.glob(f".{db.name}.*"))


def test_kill_9_mid_load_leaves_the_served_database_intact_and_the_next_load_cleans_up(tmp_path):
    db = tmp_path / "istv.duckdb"
    load("police", DATA / "police_2025-01.csv", db)
    before = digest(db)
    flag = tmp_path / "stalled"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(DATA / "police_2025-01_republished.csv"), str(db), str(flag)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while not flag.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert flag.exists(), proc.stderr.read().decode() if proc.poll() is not None else "child never got mid-load"
        assert _temp_files(db), "the load writes a new file beside the served one"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert digest(db) == before
    Store(db).check()
    assert count(db, "incidents") == 5
    # the killed load's leftovers go with the next load, which works normally
    assert _temp_files(db)
    [r] = load("police", DATA / "police_2025-01_republished.csv", db)
    assert (r.rows_loaded, r.duplicates) == (2, 3)
    assert _temp_files(db) == [] and [p.name for p in tmp_path.glob(".istv-load-*")] == []


def test_a_running_reader_serves_the_new_data_after_the_swap(tmp_path):
    db = tmp_path / "istv.duckdb"
    load("police", DATA / "police_2025-01.csv", db)
    reader = Store(db)  # what a web worker holds
    assert reader.df("SELECT count(*) AS n FROM incidents")["n"].iat[0] == 5
    load("police", DATA / "police_2025-01_republished.csv", db)
    assert reader.df("SELECT count(*) AS n FROM incidents")["n"].iat[0] == 7


def test_progress_is_a_redrawn_bar_with_rows_per_second_on_a_terminal_and_lines_otherwise():
    import io

    from data.ingest.report import Progress
    ticks = iter([0.0, 2.0, 4.0])
    tty = io.StringIO()
    p = Progress(tty, tty=True, clock=lambda: next(ticks))
    p.step("/x/2025-01.csv", "reading", 1, 4)
    p.step("/x/2025-01.csv", "stored", 4, 4, rows=300_000)
    p.done()
    assert tty.getvalue().startswith("\r[######------------------] 2025-01.csv: reading")
    assert "\r[########################] 2025-01.csv: stored" in tty.getvalue()
    assert tty.getvalue().endswith("75,000 rows/s\n")
    ticks = iter([0.0, 2.0, 4.0])
    log = io.StringIO()
    p = Progress(log, tty=False, clock=lambda: next(ticks))
    p.step("/x/2025-01.csv", "reading", 1, 4)
    p.step("/x/2025-01.csv", "stored", 4, 4, rows=300_000)
    assert log.getvalue() == "2025-01.csv: reading\n2025-01.csv: stored (75,000 rows/s)\n"


def test_a_second_writer_is_refused_while_a_load_runs(tmp_path):
    db = tmp_path / "istv.duckdb"
    load("police", DATA / "police_2025-01.csv", db)
    before = digest(db)
    with writer_lock(db), pytest.raises(StoreError, match="another load or build is writing it; try again when it has finished"):
        load("police", DATA / "police_2025-01_republished.csv", db)
    assert digest(db) == before
    [r] = load("police", DATA / "police_2025-01_republished.csv", db)
    assert r.rows_loaded == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["istv.duckdb"]


def test_a_full_disk_is_a_message_and_the_served_file_stays(tmp_path, monkeypatch):
    import errno
    import shutil
    db = tmp_path / "istv.duckdb"
    load("police", DATA / "police_2025-01.csv", db)
    before = digest(db)

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(shutil, "copyfile", no_space)
    with pytest.raises(StoreError, match=r"could not write the new database beside it \(\[Errno 28\] No space left on "
                                         r"device\); free space in .* and run the load again"):
        load("police", DATA / "police_2025-01_republished.csv", db)
    assert digest(db) == before and _temp_files(db) == []
