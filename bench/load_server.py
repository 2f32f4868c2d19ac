"""Load-test server side: the Procfile's gunicorn, its workers' memory, the bench users and the data it serves.

Part of `bench/load.py` (the entry point); `bench/faults.py` uses the same pieces.
"""
from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Bittern-ledger-4471"
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
           "ISTV_SECRET_KEY": "bench-secret-7c1e4a9f2d8b6e3a5c0f9d2b7e4a1c8f", "PYTHONUNBUFFERED": "1"}
    env.update(extra)
    return env


class Server:
    """The Procfile's gunicorn in its own process group, stopped by stop() (or the with block)."""

    def __init__(self, db: Path, users_url: str, log: Path, workers: int | None = None, app: str = "app:server",
                 root: Path = ROOT, wait_for_workers: int = 1, **env: str):
        self.root = root  # the code to serve: this checkout, or a commit exported elsewhere
        self.wait_for_workers = wait_for_workers  # workers up before start() returns
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.cmd = [app if c == "app:server" else c for c in procfile_command(self.port, workers)]
        self.env = app_env(db, users_url, **env)
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> "Server":
        self.proc = subprocess.Popen(self.cmd, cwd=self.root, env=self.env, stdout=open(self.log, "ab"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.proc.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as r:
                    if r.status == 200 and len(self.workers()) >= self.wait_for_workers:
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
    from data.access.users import UserStore
    store = UserStore(users_url)
    names = [f"bench{i:03d}" for i in range(n)]
    for name in names:
        if store.by_username(name) is None:
            store.add(name, PASSWORD, role, by="bench")
    store.engine.dispose()
    return names


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


# ---- the data it serves ---------------------------------------------------------------------

def borough_codes(db: Path) -> list[str]:
    from data.store.db import Store
    return list(Store(db).df("SELECT code FROM boroughs ORDER BY code")["code"])


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

    from data.demo.generate import generate, police_uk_csv
    police = generate(0.05, seed).police
    month = pd.to_datetime(police["month"]).dt.strftime("%Y-%m")
    some = police[month == "2025-01"]
    some = some.sample(n=min(rows, len(some)), random_state=seed).sort_index()
    out = police_uk_csv(some)
    out["Month"] = NEW_MONTH
    out["Crime ID"] = [f"{cid}b" if cid else "" for cid in out["Crime ID"]]
    out.to_csv(path, index=False)
    return len(out)


def ensure_db(db: Path) -> None:
    if not db.exists():
        from data.demo.build import build_demo_database
        print(f"{db} missing: building the demo database (scale 0.25, seed 42) ...", flush=True)
        build_demo_database(db, 0.25, 42)
