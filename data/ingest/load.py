"""Load and validate input files: the importers' public entry points (the CLI is a thin shell).

Every load runs inside `store.load`: the served database is copied, the files are loaded into
the copy, and the copy replaces the served file only when every file loaded. A file-level
problem (unreadable, not the claimed format, a mandatory column missing) raises
InputFileError naming the file, and the served database stays byte-for-byte as it was; rows
that break a rule go to the quarantine and the good rows load.

    load_files("police", ["2025-01-city-of-london-street.csv"], "data/istv.duckdb")
"""
from __future__ import annotations

import re
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
from data.ingest.extra import load_extra_file, register_source
from data.ingest.istv import load_istv_file
from data.ingest.schema import ISTV_ED
from data.ingest.premises import load_landmarks_file, load_premises_file
from data.ingest.geo import load_boroughs_file, load_streets_file
from data.ingest.police import load_police_files

KINDS = ("police", "istv", "incidents", "premises", "landmarks", "boroughs", "streets")
TABULAR = ("police", "istv", "incidents", "premises", "landmarks")
GEOGRAPHIC = ("boroughs", "streets")
ONE_FILE = ("premises", "landmarks", "boroughs", "streets")
# what validating a boundary or street file reads of the served database (to say what a load would strip)
SERVED_TABLES = ("boroughs", "blocks", "landmarks", "ed_sites", "premises", "incidents")
HEADER_ONLY = "the file has a header but no rows: nothing to load"
NIL_FILE = "(nil return)"
NIL_RETURN = "nil return: no assault attendances in the reporting period"


def _loader(kind: str) -> Callable[[LoadContext, Path], FileReport]:
    if kind == "istv":
        return load_istv_file
    if kind == "incidents":
        return load_extra_file
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


# quarantined rows of a load that an earlier load of the same file (by name) quarantined already
_AGAIN = """FROM quarantine q WHERE q.load_id = ? AND EXISTS (
               SELECT 1 FROM quarantine o WHERE o.load_id < q.load_id AND o.line = q.line AND o.rule = q.rule
                  AND regexp_replace(o.file, '^.*/', '') = regexp_replace(q.file, '^.*/', '')
                  AND o.column_name IS NOT DISTINCT FROM q.column_name
                  AND o.value IS NOT DISTINCT FROM q.value AND o.record IS NOT DISTINCT FROM q.record)"""


def _finish(con, kind: str, report: FileReport, load_id: int) -> None:
    """What every file's load ends with: a warning for a file without rows, quarantine kept once."""
    if kind in TABULAR and report.rows_read == 0:
        report.warnings.append(HEADER_ONLY)
    # a file loaded again breaks its rules again: its rows stay in the quarantine once
    again = store.scalar(con, f"SELECT count(*) {_AGAIN}", [load_id])
    if again:
        con.execute(f"DELETE {_AGAIN}", [load_id])
        report.notes.append(f"{again:,} of the quarantined rows were quarantined by an earlier load of this file: "
                            "the quarantine keeps them once (under the earlier load)")


def run_files(con, kind: str, paths: Sequence[Path | str], options: LoadOptions, progress: Progress,
              now: datetime, workdir: Path) -> list[FileReport]:
    """Load (or only validate) files of one kind into an open database; log each in load_log."""
    store.upgrade_schema(con)
    geo = store_geography(con, options.max_distance_m)
    first = next_load_id(con)
    if kind == "police":  # many large files: read and stored together
        ctx = LoadContext(con, geo, first, workdir, progress, options, now)
        load_ids = list(range(first, first + len(paths)))
        reports = load_police_files(ctx, [Path(p) for p in paths], load_ids)
        for report, load_id in zip(reports, load_ids):
            _finish(con, kind, report, load_id)
            write_log(con, report, load_id, now, options.loaded_by)
        progress.done()
        return reports
    loader = _loader(kind)
    reports = []
    for path in paths:
        load_id = next_load_id(con)
        ctx = LoadContext(con, geo, load_id, workdir, progress, options, now)
        report = loader(ctx, Path(path))
        if options.file_name:  # an upload: the log and quarantine name the file as its sender called it
            report.file = options.file_name
            con.execute("UPDATE quarantine SET file = ? WHERE load_id = ?", [options.file_name, load_id])
        _finish(con, kind, report, load_id)
        write_log(con, report, load_id, now, options.loaded_by)
        reports.append(report)
        if kind in GEOGRAPHIC:
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
                   examples: int = 20, db_path: Path | str | None = None) -> tuple[list[FileReport], pd.DataFrame]:
    """The load's checks without writing anything: reports and the first quarantined rows.

    Boundary and street files are checked against the database at db_path (read only), since
    what a load of them would refuse depends on the points stored there.
    """
    if kind not in KINDS:
        raise ValueError(f"validate takes {', '.join(KINDS)} files, not {kind!r}")
    if kind in ONE_FILE and len(paths) != 1:
        raise ValueError(f"validate {kind} takes one file, got {len(paths)}")
    options = LoadOptions(**{**options.__dict__, "write": False}) if options else LoadOptions(write=False)
    con = duckdb.connect(":memory:")
    try:
        store.create_schema(con)
        if kind in GEOGRAPHIC and db_path is not None and Path(db_path).exists():
            _check_target(Path(db_path))
            _served_views(con, Path(db_path))
        with workdir_for(None) as workdir:
            reports = run_files(con, kind, paths, options, progress or Silent(), now or datetime.now(), Path(workdir))
        sample = con.execute("SELECT file, line, column_name, value, rule FROM quarantine ORDER BY load_id, line LIMIT ?",
                             [examples]).df()
    finally:
        con.close()
    return reports, sample


def _served_views(con, db_path: Path) -> None:
    """Make the point and place tables of `con` read-only views of the served database."""
    quoted = "'" + str(db_path).replace("'", "''") + "'"  # ATTACH takes no bound parameters; our own config's path
    try:
        con.execute(f"ATTACH {quoted} AS served (READ_ONLY)")
    except duckdb.Error as exc:
        raise StoreError(f"{db_path}: not a readable ISTV database ({exc.__class__.__name__})") from None
    for table in SERVED_TABLES:
        con.execute(f"DROP TABLE {table}")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM served.{table}")


def add_source(db_path: Path | str, code: str, name: str, agency: str, description: str = "",
               now: datetime | None = None) -> bool:
    """Register (or rename) an extra incident source in the database at db_path, atomically; True when new."""
    db_path = Path(db_path)
    _check_target(db_path)
    out = []

    def fill(con):
        store.upgrade_schema(con)
        out.append(register_source(con, code, name, agency, description, now or datetime.now().replace(microsecond=0)))
    store.load(db_path, fill)
    return out[0]


def list_sources(db_path: Path | str) -> list[dict]:
    """The registered extra sources with their stored records (empty for a database without any)."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'sources'").fetchone()[0]:
            return []
        return con.execute("""SELECT s.source, s.name, s.agency, count(i.incident_id) AS records FROM sources s
                              LEFT JOIN incidents i ON i.source = s.source GROUP BY ALL ORDER BY s.source""").df().to_dict("records")
    finally:
        con.close()


def record_nil_return(db_path: Path | str, site: str, month, loaded_by: str, now: datetime | None = None) -> None:
    """Record that an ED had no assault attendance in a month (its submission, with no rows), atomically.

    Refused when the site has records stored for that month (a nil return would contradict them)."""
    db_path = Path(db_path)
    _check_target(db_path)
    site = (site or "").strip().upper()
    if not re.match(ISTV_ED.field("site_code").pattern, site):
        raise ValueError(f"site code {site!r}: expected 3 to 12 letters or digits")
    start = month.replace(day=1)
    end = (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date()
    now = now or datetime.now().replace(microsecond=0)

    def fill(con):
        store.upgrade_schema(con)
        stored = store.scalar(con, "SELECT count(*) FROM incidents WHERE source = 'ed' AND ed_site = ? AND month = ?",
                              [site, start])
        if stored:
            raise ValueError(f"{site} has {stored:,} records for {start:%B %Y} already: a nil return would contradict "
                             "them (send the month's file again to replace them)")
        report = FileReport("istv", NIL_FILE, site_code=site, period_start=start, period_end=end)
        report.notes.append(NIL_RETURN)
        write_log(con, report, next_load_id(con), now, loaded_by)
    store.load(db_path, fill)
