"""Uploads being checked or loaded: one folder per job under a spool folder beside the database.

A job's state lives in `job.json` in its folder (written whole, then renamed), so any web worker
answers "how far is it" for a job another worker started, and progress survives a page reload.
The work runs on a background thread of the worker that received the file. Only its owner may read
a job: ids are 128 random bits and every read names the owner.

States: checking → checked | refused; then loading (waiting while another load writes) → loaded |
failed. A job whose worker died while checking or loading says so (nothing was loaded: loads are
atomic) instead of running forever.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO, Callable

import pandas as pd

from data.errors import BusyError, IstvError
from data.ingest.load import record_nil_return
from data.ingest.report import Progress
from data.ingest.submission import Checked, SubmissionRules, check_submission, display_name, load_submission
from data.store.db import process_alive

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
RUNNING = ("checking", "loading", "waiting")
KEEP_S = 24 * 3600
PROBLEMS_FILE = "problems.csv"
INTERRUPTED = "the server stopped while it worked on this file; nothing was loaded. Send the file again"


@dataclass
class Job:
    id: str
    owner: str
    username: str
    name: str
    size: int
    created: float
    state: str = "checking"
    stage: str = "received"
    fraction: float = 0.0
    started: float = 0.0          # when the current step (check or load) started
    updated: float = 0.0
    pid: int = 0
    sites: list[str] | None = None
    month: str | None = None      # 'YYYY-MM' the sender says the file covers
    source: str | None = None     # a registered extra source's code (another agency's file); None: an ED file
    summary: dict = field(default_factory=dict)
    receipt: dict = field(default_factory=dict)
    message: str = ""

    @property
    def running(self) -> bool:
        return self.state in RUNNING

    def rules(self, max_bytes: int) -> SubmissionRules:
        month = date.fromisoformat(self.month + "-01") if self.month else None
        return SubmissionRules(sites=tuple(self.sites) if self.sites is not None else None, month=month,
                               max_bytes=max_bytes, source=self.source)


class Jobs:
    """The spool folder of uploads (created on first use, readable only by the app's user)."""

    def __init__(self, root: Path, clock: Callable[[], float] = time.time):
        self.root = Path(root)
        self.clock = clock

    def _dir(self, job_id: str) -> Path:
        return self.root / job_id

    def file(self, job: Job) -> Path:
        return self._dir(job.id) / job.name

    def problems_path(self, job: Job) -> Path:
        return self._dir(job.id) / PROBLEMS_FILE

    def create(self, owner: str, username: str, name: str, stream: BinaryIO, max_bytes: int,
               sites: list[str] | None, month: str | None, source: str | None = None) -> Job:
        """Store an uploaded stream (at most max_bytes + 1 bytes are kept: enough to say it is too large)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.sweep()
        job = Job(id=secrets.token_hex(16), owner=str(owner), username=username, name=display_name(name), size=0,
                  created=self.clock(), sites=sites, month=month, source=source, pid=os.getpid())
        folder = self._dir(job.id)
        folder.mkdir(mode=0o700)
        size = 0
        with open(self.file(job), "wb") as out:
            while size <= max_bytes:
                chunk = stream.read(min(1 << 20, max_bytes + 1 - size))
                if not chunk:
                    break
                out.write(chunk)
                size += len(chunk)
        job.size = size
        job.started = job.updated = self.clock()
        self.save(job)
        return job

    def save(self, job: Job) -> None:
        job.updated = self.clock()
        path = self._dir(job.id) / "job.json"
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(asdict(job), default=str))
        os.replace(tmp, path)

    def get(self, job_id, owner) -> Job | None:
        """The job, if it exists and belongs to `owner`; a job whose worker died is marked failed."""
        if not isinstance(job_id, str) or not JOB_ID.match(job_id):
            return None
        try:
            job = Job(**json.loads((self._dir(job_id) / "job.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None
        if job.owner != str(owner):
            return None
        if job.running and job.pid != os.getpid() and not process_alive(job.pid):
            job.state, job.message = "failed", INTERRUPTED
            self.save(job)
        return job

    def sweep(self) -> None:
        """Remove jobs older than a day (their files are copies; the database keeps what was loaded)."""
        if not self.root.exists():
            return
        for folder in self.root.iterdir():
            try:
                if JOB_ID.match(folder.name) and self.clock() - folder.stat().st_mtime > KEEP_S:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                continue

    def problems(self, job: Job, limit: int | None = None) -> pd.DataFrame:
        path = self.problems_path(job)
        if not path.exists():
            return pd.DataFrame()
        return pd.read_csv(path, nrows=limit, dtype=str, keep_default_na=False)


class JobProgress(Progress):
    """Progress written into the job (at most four times a second) for the page to poll."""

    def __init__(self, jobs: Jobs, job: Job, lo: float = 0.0, hi: float = 1.0):
        super().__init__(stream=None, tty=False)
        self.jobs, self.job, self.lo, self.hi, self.last = jobs, job, lo, hi, 0.0

    def log(self, message: str) -> None:
        pass

    def step(self, file: str, stage: str, done: int, total: int, rows: int = 0) -> None:
        self.job.stage = stage
        self.job.fraction = self.lo + (self.hi - self.lo) * done / max(total, 1)
        if time.monotonic() - self.last > 0.25 or done >= total:
            self.last = time.monotonic()
            self.jobs.save(self.job)

    def done(self) -> None:
        pass


def run_check(jobs: Jobs, job: Job, max_bytes: int, now: datetime | None = None,
              on_done: Callable[[Job], None] | None = None) -> None:
    """Check the job's file; leaves it 'checked' (with its summary and problems) or 'refused'."""
    job.state, job.stage, job.fraction, job.started = "checking", "reading the file", 0.0, jobs.clock()
    jobs.save(job)
    try:
        checked = check_submission(jobs.file(job), job.name, job.rules(max_bytes), progress=JobProgress(jobs, job),
                                   now=now)
    except Exception as exc:  # noqa: BLE001  a bug must not leave the job 'checking' for ever
        checked = Checked(job.name, job.size, refused=f"{job.name}: could not be checked ({exc.__class__.__name__})")
    checked.problems.to_csv(jobs.problems_path(job), index=False)
    job.summary = checked.summary()
    job.state = "refused" if checked.refused else "checked"
    job.message = checked.refused or ""
    job.fraction, job.stage = 1.0, "checked"
    jobs.save(job)
    if on_done:
        on_done(job)


def run_load(jobs: Jobs, job: Job, db_path: Path, max_bytes: int, *, now: datetime | None = None,
             max_distance_m: float | None = None, wait_s: float = 900.0, poll_s: float = 1.0,
             on_done: Callable[[Job], None] | None = None) -> None:
    """Load a checked job's file; waits while another load writes the database (one writer at a time)."""
    job.state, job.stage, job.fraction, job.started = "loading", "starting", 0.0, jobs.clock()
    jobs.save(job)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            report = load_submission(jobs.file(job), job.name, job.rules(max_bytes), db_path, f"upload:{job.username}",
                                     progress=JobProgress(jobs, job), now=now, max_distance_m=max_distance_m)
        except BusyError:
            if time.monotonic() > deadline:
                job.state, job.message = "failed", ("another load kept the database busy for too long; nothing of "
                                                    "this file was loaded. Load it again later")
                break
            if job.state != "waiting":
                job.state, job.stage = "waiting", "waiting for another load to finish (one load at a time)"
                jobs.save(job)
            time.sleep(poll_s)
            continue
        except (IstvError, ValueError, OSError) as exc:
            job.state, job.message = "failed", f"{exc} (nothing was loaded: the database is unchanged)"
            break
        except Exception as exc:  # noqa: BLE001  never a half-load (atomic), never a job stuck 'loading'
            job.state, job.message = "failed", (f"the load stopped ({exc.__class__.__name__}); nothing was loaded: "
                                                "the database is unchanged")
            break
        job.state, job.message = "loaded", ""
        job.receipt = {"file": job.name, "site": report.site_code, "source": job.source,
                       "period_start": report.period_start and report.period_start.isoformat(),
                       "period_end": report.period_end and report.period_end.isoformat(),
                       "rows_read": report.rows_read, "rows_loaded": report.rows_loaded,
                       "rows_quarantined": report.rows_quarantined, "replaced": report.replaced,
                       "duplicates": report.duplicates, "loaded_at": datetime.now().replace(microsecond=0).isoformat()}
        break
    job.fraction, job.stage = 1.0, job.state
    jobs.save(job)
    if on_done:
        on_done(job)


def start(target: Callable, *args, **kwargs) -> threading.Thread:
    """Run a job step on a background thread (the request that started it returns at once)."""
    thread = threading.Thread(target=target, args=args, kwargs=kwargs, daemon=True, name="istv-upload")
    thread.start()
    return thread


def run_nil_return(jobs: Jobs, job: Job, db_path: Path, site: str, month: date, *, now: datetime | None = None,
                   on_done: Callable[[Job], None] | None = None) -> None:
    """Record an ED's nil return (no assault attendance in the month) as the job's load."""
    job.state, job.stage, job.fraction, job.started = "loading", "recording the nil return", 0.0, jobs.clock()
    jobs.save(job)
    try:
        record_nil_return(db_path, site, month, f"upload:{job.username}", now=now)
    except BusyError:
        job.state, job.message = "failed", "another load is writing the database; nothing was recorded. Try again shortly"
    except (IstvError, ValueError, OSError) as exc:
        job.state, job.message = "failed", f"{exc} (nothing was recorded)"
    else:
        first = month.replace(day=1)
        job.state, job.message = "loaded", ""
        job.receipt = {"file": job.name, "site": site, "source": None, "period_start": first.isoformat(),
                       "period_end": (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date().isoformat(),
                       "rows_read": 0, "rows_loaded": 0, "rows_quarantined": 0, "replaced": 0, "duplicates": 0,
                       "nil": True, "loaded_at": datetime.now().replace(microsecond=0).isoformat()}
    job.fraction, job.stage = 1.0, job.state
    jobs.save(job)
    if on_done:
        on_done(job)
