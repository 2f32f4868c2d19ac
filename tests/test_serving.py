"""The Procfile's gunicorn command serves the app; `python app.py` explains a missing database."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _procfile_web() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line[4:].strip()
    raise AssertionError("Procfile has no web: line")


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISTV_")}
    env.update(extra)
    return env


def test_gunicorn_from_procfile_serves_the_app(tiny_db):
    port = _free_port()
    env = _env(PORT=str(port), ISTV_DB=str(tiny_db), ISTV_DEMO="0", WEB_CONCURRENCY="2",
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.Popen(["bash", "-c", "exec " + _procfile_web()], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, page = time.time() + 60, None
        while time.time() < deadline and page is None:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)  # redirects to sign-in
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.5)
        assert page is not None and page.status == 200, proc.stdout.read() if proc.poll() is not None else "no answer"
        assert page.url.endswith("/login?next=/") and "Sign in" in page.read().decode()
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_dash-dependencies", timeout=5)
        assert denied.value.code == 401
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert out.count("Booting worker") >= 2


def test_missing_database_without_demo_mode_is_a_clear_message(tmp_path):
    proc = subprocess.run([sys.executable, "app.py"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=_env(ISTV_DB=str(tmp_path / "missing.duckdb"), ISTV_DEMO="0", PATH=os.environ.get("PATH", "")))
    assert proc.returncode != 0
    assert "cannot start" in proc.stderr and "missing.duckdb: database file not found" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_corrupt_database_file_is_a_clear_message(tmp_path):
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"\x00garbage" * 1000)
    proc = subprocess.run([sys.executable, "app.py"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=_env(ISTV_DB=str(bad), ISTV_DEMO="0", PATH=os.environ.get("PATH", "")))
    assert proc.returncode != 0 and "not a readable ISTV database" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_demo_mode_moves_an_unusable_file_aside_and_rebuilds(tmp_path):
    from app import ensure_database
    from data.store.db import Store
    from tests.fixtures import config_for
    db = tmp_path / "istv.duckdb"
    db.write_bytes(b"")  # an empty file, as a crashed copy leaves
    messages = []
    ensure_database(config_for(db, demo=True, demo_scale=0.003, demo_seed=1), progress=messages.append)
    assert Store(db).df("SELECT count(*) AS n FROM boroughs")["n"].iat[0] == 33
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("istv.duckdb.unusable-")]
    assert len(kept) == 1 and kept[0].read_bytes() == b""
    assert any("rebuilding the demo" in m for m in messages)


def test_empty_file_without_demo_mode_is_a_clear_message(tmp_path):
    db = tmp_path / "empty.duckdb"
    db.write_bytes(b"")
    proc = subprocess.run([sys.executable, "app.py"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=_env(ISTV_DB=str(db), ISTV_DEMO="0", PATH=os.environ.get("PATH", "")))
    assert proc.returncode != 0 and "not a readable ISTV database" in proc.stderr and "Traceback" not in proc.stderr
    assert db.exists() and db.read_bytes() == b""


def test_scripts_are_served_by_a_fresh_app_before_any_page(tiny_db):
    """A fresh worker's first requests may all be scripts, several at once: each is served, none is a 500."""
    import threading
    from app import create_app
    from tests.fixtures import config_for
    app = create_app(config_for(tiny_db))
    paths = [f"/_dash-component-suites/{ns}/{p}" for ns, ps in app.registered_paths.items() for p in sorted(ps)
             if p.endswith(".js")][:8]
    assert len(paths) >= 4
    codes = []

    def get(path):
        codes.append(app.server.test_client().get(path).status_code)
    threads = [threading.Thread(target=get, args=(p,)) for p in paths]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert codes and set(codes) == {200}
