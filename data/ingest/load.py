"""Load and validate input files: the importers' public entry points (the CLI is a thin shell).

Every load runs inside `store.load`: the served database is copied, the files are loaded into
the copy, and the copy replaces the served file only when every file loaded. A file-level
problem (unreadable, not the claimed format, a mandatory column missing) raises
InputFileError naming the file, and the served database stays byte-for-byte as it was; rows
that break a rule go to the quarantine and the good rows load.

    load_files("police", ["2025-01-city-of-london-street.csv"], "data/istv.duckdb")
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Callable, Sequence

import duckdb
import pandas as pd

from data.store import db as store
from data.errors import StoreError
from data.ingest.points import store_geography
from data.ingest.read import workdir_for
from data.ingest.report import FileReport, LoadContext, LoadOptions, Progress, Silent, next_load_id, write_log
from data.ingest.istv import load_istv_file
from data.ingest.premises import load_landmarks_file, load_premises_file
from data.ingest.geo import load_boroughs_file, load_streets_file
from data.ingest.police import load_police_files

KINDS = ("police", "istv", "premises", "landmarks", "boroughs", "streets")
TABULAR = ("police", "istv", "premises", "landmarks")
ONE_FILE = ("premises", "landmarks", "boroughs", "streets")


def _loader(kind: str) -> Callable[[LoadContext, Path], FileReport]:
    if kind == "istv":
        return load_istv_file
    if kind in ("premises", "landmarks"):
        return load_premises_file if kind == "premises" else load_landmarks_file
    if kind in ("boroughs", "streets"):
        return load_boroughs_file if kind == "boroughs" else load_streets_file
    raise ValueError(f"unknown kind of file {kind!r}; expected one of {KINDS}")


def _check_target(db_path: Path) -> None:
    """Refuse to mix real files into the synthetic demo database."""
    if not db_path.exists():
        return
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error as exc:
        raise StoreError(f"{db_path}: not a readable ISTV database ({exc.__class__.__name__})") from None
    try:
        version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        demo = con.execute("SELECT value FROM meta WHERE key = 'demo'").fetchall()
    except duckdb.Error:
        raise StoreError(f"{db_path}: not an ISTV database") from None
    finally:
        con.close()
    version = version[0][0] if version else None
    if version != store.SCHEMA_VERSION:
        raise StoreError(f"{db_path}: schema version {version!r}, expected "
                         f"{store.SCHEMA_VERSION!r}; load into a new file (set ISTV_DB) and reload the files")
    if demo and demo[0][0] == "1":
        raise StoreError(f"{db_path} holds the synthetic demo; real files are never mixed into it. "
                         "Set ISTV_DB to a new file (the first load creates it) and load there")


def run_files(con, kind: str, paths: Sequence[Path | str], options: LoadOptions, progress: Progress,
              now: datetime, workdir: Path) -> list[FileReport]:
    """Load (or only validate) files of one kind into an open database; log each in load_log."""
    geo = store_geography(con, options.max_distance_m)
    first = next_load_id(con)
    if kind == "police":  # many large files: read and stored together
        ctx = LoadContext(con, geo, first, workdir, progress, options, now)
        load_ids = list(range(first, first + len(paths)))
        reports = load_police_files(ctx, [Path(p) for p in paths], load_ids)
        for report, load_id in zip(reports, load_ids):
            write_log(con, report, load_id, now)
        progress.done()
        return reports
    loader = _loader(kind)
    reports = []
    for path in paths:
        load_id = next_load_id(con)
        ctx = LoadContext(con, geo, load_id, workdir, progress, options, now)
        report = loader(ctx, Path(path))
        write_log(con, report, load_id, now)
        reports.append(report)
        if kind in ("boroughs", "streets"):
            geo = store_geography(con, options.max_distance_m)
    progress.done()
    return reports


def load_files(kind: str, paths: Sequence[Path | str], db_path: Path | str, options: LoadOptions | None = None,
               progress: Progress | None = None, now: datetime | None = None) -> list[FileReport]:
    """Load files of one kind into the database at db_path (created by the first load); atomic."""
    options = options or LoadOptions()
    progress = progress or Silent()
    db_path = Path(db_path)
    if kind in ONE_FILE and len(paths) != 1:
        raise ValueError(f"load {kind} takes one file, got {len(paths)}")
    _check_target(db_path)
    now = now or datetime.now().replace(microsecond=0)
    reports: list[FileReport] = []
    with workdir_for(db_path) as workdir:
        def fill(con):
            reports.extend(run_files(con, kind, paths, options, progress, now, Path(workdir)))
        store.load(db_path, fill)
    return reports


def validate_files(kind: str, paths: Sequence[Path | str], options: LoadOptions | None = None,
                   progress: Progress | None = None, now: datetime | None = None,
                   examples: int = 20) -> tuple[list[FileReport], pd.DataFrame]:
    """The load's checks without writing anything: reports and the first quarantined rows."""
    if kind not in TABULAR:
        raise ValueError(f"validate takes {', '.join(TABULAR)} files, not {kind!r}")
    options = LoadOptions(**{**options.__dict__, "write": False}) if options else LoadOptions(write=False)
    con = duckdb.connect(":memory:")
    try:
        store.create_schema(con)
        with workdir_for(None) as workdir:
            reports = run_files(con, kind, paths, options, progress or Silent(), now or datetime.now(), Path(workdir))
        sample = con.execute("SELECT file, line, column_name, value, rule FROM quarantine ORDER BY load_id, line LIMIT ?",
                             [examples]).df()
    finally:
        con.close()
    return reports, sample
