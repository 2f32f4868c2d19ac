"""Reliability: readers across a load's swap, a killed worker, a full disk during a load.

bench/faults.py runs the same faults at demo scale with figures; these are the fast versions.
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from data.store.db import Store, build

ROOT = Path(__file__).resolve().parents[1]
POLICE = "SELECT count(*) FILTER (WHERE source = 'police') AS police, count(*) AS total FROM incidents"


def _drop_police_month(path: Path) -> None:
    """A 'new version' of the file: an incremental build that removes the latest month of police rows."""
    def fill(con):
        con.execute("DELETE FROM incidents WHERE source = 'police' AND month = (SELECT max(month) FROM incidents WHERE source = 'police')")
    build(path, fill, from_existing=True)


def _counts(store: Store) -> tuple[int, int]:
    row = store.df(POLICE).iloc[0]
    return int(row["police"]), int(row["total"])


def test_a_cursor_opened_before_the_swap_reads_the_old_file_to_the_end(tiny_db_copy):
    store = Store(tiny_db_copy)
    old = _counts(store)
    with store.cursor() as cur:
        _drop_police_month(tiny_db_copy)
        police, total = cur.execute(POLICE).fetchone()
        first_rows = cur.execute("SELECT count(*) FROM incidents WHERE source = 'police'").fetchone()[0]
    assert (police, total) == old and first_rows == old[0]
    new = _counts(store)
    assert new[0] < old[0] and old[1] - new[1] == old[0] - new[0]


def test_readers_in_many_threads_across_swaps_see_one_whole_version_per_query_and_never_fail(tiny_db_copy):
    store = Store(tiny_db_copy)
    versions = [_counts(store)]
    seen, failures, stop = [], [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                seen.append(_counts(store))
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                failures.append(repr(exc))

    threads = [threading.Thread(target=reader) for _ in range(6)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            _drop_police_month(tiny_db_copy)
            versions.append(Store(tiny_db_copy).df(POLICE).iloc[0].pipe(lambda r: (int(r["police"]), int(r["total"]))))
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert failures == []
    assert len(set(versions)) == 4 and len(seen) > 20
    # each (police, total) pair comes from one query: it is always one version's pair, never a mix
    assert set(seen) <= set(versions)
    assert seen[-1] == versions[-1]


def test_all_queries_of_one_request_read_the_same_file(dash_app, tiny_db_copy, signed_in):
    from config import STORE_KEY
    from dashboard.context import current_store
    server = dash_app.server
    saved = server.extensions[STORE_KEY]
    server.extensions[STORE_KEY] = Store(tiny_db_copy)
    try:
        with signed_in("analyst"):
            server.preprocess_request()  # what Flask runs before a view: where a per-request pin would start
            first = _counts(current_store())
            _drop_police_month(tiny_db_copy)
            second = _counts(current_store())
    finally:
        server.extensions[STORE_KEY] = saved
    assert second == first


# ---- a full disk during a load --------------------------------------------------------------------

def _police_csv(path: Path) -> None:
    path.write_text("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
                    "Last outcome category,Context\n"
                    "abc1,2026-01,Metropolitan Police Service,Metropolitan Police Service,-0.0553,51.5450,On or near Mare Street,"
                    ",,Violence and sexual offences,,\n")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_on_a_full_disk(db: Path, tmp_path: Path, monkeypatch, where: str):
    """(result, sha256 before) of `flask load police` with the disk full at the copy of the served file or at the new file's first write."""
    import duckdb

    from app import create_app
    from tests.fixtures import config_for
    csv = tmp_path / "police.csv"
    _police_csv(csv)
    con = duckdb.connect(str(db))  # a deployment's own data: loads refuse to add real files to the demo
    con.execute("DELETE FROM meta WHERE key = 'demo'")
    con.close()
    before = _sha(db)
    if where == "copy":
        def no_space(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(shutil, "copyfile", no_space)
    else:
        real_connect = duckdb.connect

        class FullDisk:  # the new file opens, then its checkpoint to disk fails as DuckDB reports it
            def __init__(self, con):
                self._con = con

            def __getattr__(self, name):
                return getattr(self._con, name)

            def execute(self, sql, *args, **kwargs):
                if sql.strip().upper() == "CHECKPOINT":
                    raise duckdb.IOException('IO Error: Could not write file ".tmp": No space left on device')
                return self._con.execute(sql, *args, **kwargs)

        monkeypatch.setattr(duckdb, "connect", lambda path=":memory:", *a, **k: FullDisk(real_connect(path, *a, **k))
                            if str(path).endswith(".tmp") else real_connect(path, *a, **k))
    app = create_app(config_for(db, database_url=f"sqlite:///{tmp_path / 'u.sqlite'}"), prepare_database=False)
    return app.server.test_cli_runner().invoke(args=["load", "police", str(csv)]), before


@pytest.mark.parametrize("where", ["copy", "write"])
def test_a_full_disk_during_a_load_leaves_the_served_file_unchanged_and_no_temp_file(tiny_db_copy, tmp_path, monkeypatch, where):
    out, before = _load_on_a_full_disk(tiny_db_copy, tmp_path, monkeypatch, where)
    assert out.exit_code != 0
    assert _sha(tiny_db_copy) == before and list(tiny_db_copy.parent.glob(f".{tiny_db_copy.name}.*")) == []
    assert Store(tiny_db_copy).df("SELECT count(*) AS n FROM incidents WHERE month = '2026-01-01'")["n"].iat[0] == 0


@pytest.mark.parametrize("where", ["copy", "write"])
def test_a_full_disk_during_a_load_is_a_message_not_a_traceback(tiny_db_copy, tmp_path, monkeypatch, where):
    out, _ = _load_on_a_full_disk(tiny_db_copy, tmp_path, monkeypatch, where)
    assert isinstance(out.exception, SystemExit) and out.exit_code == 1
    assert "No space left on device" in out.output and f"{tiny_db_copy} is unchanged" in out.output


# ---- the Procfile's gunicorn: a worker killed, a bad file at start ----------------------------------

def _gunicorn(db: Path, users_url: str, **env) -> tuple[subprocess.Popen, str]:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = next(ln for ln in (ROOT / "Procfile").read_text().splitlines() if ln.startswith("web:"))[4:]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ISTV_")}
    environ.update(PORT=str(port), ISTV_DB=str(db), ISTV_DEMO="0", DATABASE_URL=users_url, WEB_CONCURRENCY="2",
                   PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""), **env)
    proc = subprocess.Popen(["bash", "-c", "exec " + line.replace("0.0.0.0", "127.0.0.1")], cwd=ROOT, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}"


def _workers(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    return out


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc to find gunicorn's workers")
def test_a_worker_killed_with_sigkill_is_replaced_and_signed_in_users_keep_being_served(tiny_db, tmp_path):
    from data.access.users import UserStore
    users_url = f"sqlite:///{tmp_path / 'users.sqlite'}"
    UserStore(users_url).add("kim", "Curlew-bracket-3390", "analyst", by="test")
    proc, base = _gunicorn(tiny_db, users_url)
    try:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        deadline = time.time() + 60
        while len(_workers(proc.pid)) < 2 and time.time() < deadline:
            time.sleep(0.2)
        while time.time() < deadline:
            try:
                page = opener.open(base + "/login", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.3)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        form = f"username=kim&password=Curlew-bracket-3390&csrf_token={token}&next=/".encode()
        assert opener.open(base + "/login", data=form, timeout=10).status == 200  # followed to the map page
        before = _workers(proc.pid)
        assert len(before) == 2
        os.kill(before[0], signal.SIGKILL)
        while (set(_workers(proc.pid)) & set(before) != {before[1]} or len(_workers(proc.pid)) < 2) and time.time() < deadline:
            time.sleep(0.1)
        after = _workers(proc.pid)
        assert before[0] not in after and len(after) == 2
        statuses = [opener.open(base + "/_dash-layout", timeout=10).status for _ in range(20)]
        assert statuses == [200] * 20  # the session cookie still signs the user in, on either worker
    finally:
        out = _stop(proc)
    assert "Traceback" not in out


@pytest.mark.parametrize("content", [None, b"", b"\x00not a database" * 500], ids=["missing", "empty", "corrupted"])
def test_gunicorn_with_an_unusable_file_and_no_demo_exits_with_the_reason_not_a_traceback(tmp_path, content):
    db = tmp_path / "istv.duckdb"
    if content is not None:
        db.write_bytes(content)
    proc, _ = _gunicorn(db, f"sqlite:///{tmp_path / 'users.sqlite'}")
    try:
        proc.wait(timeout=60)
    finally:
        out = _stop(proc)
    assert proc.returncode not in (0, None)
    expected = "database file not found" if content is None else "not a readable ISTV database"
    assert f"ISTV London cannot start: {db}: {expected}" in out
    assert "Traceback" not in out
    assert content is None or db.read_bytes() == content  # never deleted or rewritten without demo mode
