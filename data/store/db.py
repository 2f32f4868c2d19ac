"""The DuckDB store: schema, atomic builds and read-only access for web workers.

Writers (the CLI, the demo builder) never touch the served file: they write a new file next
to it and swap it in with os.replace only when everything succeeded, so a failed or killed
load leaves the served file byte-for-byte unchanged. Readers (`Store`) notice the swap by the
file's identity and open the new file for the next request, without a restart.
"""
from __future__ import annotations

import errno
import fcntl
import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

import duckdb
import pandas as pd

from data.access.disclosure import protect_frame
from data.errors import BusyError, StoreError
from layers.hexes import H3_RESOLUTIONS

SCHEMA_VERSION = "2"
_H3_COLS = ", ".join(f"h3_r{r} UBIGINT" for r in H3_RESOLUTIONS)

DDL = f"""
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE boroughs (
    code VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, population INTEGER,
    lat DOUBLE, lon DOUBLE, geom_wkb BLOB);
CREATE TABLE blocks (
    block_id INTEGER PRIMARY KEY, street VARCHAR, borough_code VARCHAR,
    node_u BIGINT, node_v BIGINT, length_m DOUBLE, lat DOUBLE, lon DOUBLE, geom_wkb BLOB);
CREATE TABLE landmarks (
    name VARCHAR, kind VARCHAR, borough_code VARCHAR, lat DOUBLE, lon DOUBLE);
CREATE TABLE ed_sites (
    site_code VARCHAR PRIMARY KEY, name VARCHAR, borough_code VARCHAR, lat DOUBLE, lon DOUBLE);
CREATE TABLE premises (
    premises_id VARCHAR PRIMARY KEY, name VARCHAR, address VARCHAR, street VARCHAR,
    licence_type VARCHAR, opens VARCHAR, closes VARCHAR, borough_code VARCHAR,
    lat DOUBLE, lon DOUBLE, {_H3_COLS}, block_id INTEGER);
CREATE TABLE incidents (
    incident_id BIGINT, source VARCHAR NOT NULL, occurred_at TIMESTAMP,
    time_precision VARCHAR, arrived_at TIMESTAMP, month DATE NOT NULL, borough_code VARCHAR,
    lat DOUBLE, lon DOUBLE, {_H3_COLS}, block_id INTEGER,
    category VARCHAR, location_type VARCHAR, location_text VARCHAR, ed_site VARCHAR,
    geocode_confidence VARCHAR, record_hash UBIGINT NOT NULL,
    source_id VARCHAR, lsoa_code VARCHAR, load_id INTEGER);
CREATE TABLE load_log (
    load_id INTEGER, loaded_at TIMESTAMP, kind VARCHAR, file VARCHAR, rows_read BIGINT,
    rows_loaded BIGINT, rows_quarantined BIGINT, duplicates BIGINT, message VARCHAR, reasons VARCHAR,
    replaced BIGINT);
CREATE TABLE quarantine (
    load_id INTEGER, file VARCHAR, line BIGINT, column_name VARCHAR, value VARCHAR, rule VARCHAR,
    record VARCHAR);
"""

# Tables and columns added after schema version 2 files were first written: IF NOT EXISTS, so a
# file written before gains them on its next load (`upgrade_schema`) and a new file has them too.
# load_log.site_code/period_start/period_end: the ED site and reporting period an ED submission
# covers (the data-quality page lists received files by them); empty for other loads.
# incidents.severity: an extra source's own severity or priority (empty for ED and police records).
# sources: extra incident sources (another agency's incidents, data/ingest/extra.py) by code; 'ed' and
# 'police' are built in. load_log.loaded_by: who loaded the file ('upload:<username>' from the browser, 'cli:<OS user>').
# geocode_matches: what the geocoder matched for each ED record ('premises:P000123',
# 'street:Name|E09000012', 'private', ...); the premises page counts ED records naming a venue.
UPGRADE_DDL = """
CREATE TABLE IF NOT EXISTS geocode_matches (
    incident_id BIGINT PRIMARY KEY, matched VARCHAR, method VARCHAR, score DOUBLE);
ALTER TABLE load_log ADD COLUMN IF NOT EXISTS replaced BIGINT;
ALTER TABLE load_log ADD COLUMN IF NOT EXISTS site_code VARCHAR;
ALTER TABLE load_log ADD COLUMN IF NOT EXISTS period_start DATE;
ALTER TABLE load_log ADD COLUMN IF NOT EXISTS period_end DATE;
ALTER TABLE load_log ADD COLUMN IF NOT EXISTS loaded_by VARCHAR;
ALTER TABLE incidents ADD COLUMN IF NOT EXISTS severity VARCHAR;
CREATE TABLE IF NOT EXISTS sources (
    source VARCHAR PRIMARY KEY, name VARCHAR, agency VARCHAR, description VARCHAR, registered_at TIMESTAMP);
"""

TABLES = ("meta", "boroughs", "blocks", "landmarks", "ed_sites", "premises", "incidents", "load_log", "quarantine",
          "geocode_matches")


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table of an empty ISTV database."""
    con.execute(DDL)
    con.execute(UPGRADE_DDL)
    con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])


def upgrade_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Add what a file written by an earlier release lacks (a no-op on a current file). Tables that are views
    (validation reads the served database's points through views) are left as they are."""
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    for statement in filter(None, (s.strip() for s in UPGRADE_DDL.split(";"))):
        target = statement.split()[2] if statement.upper().startswith("ALTER TABLE") else ""
        if target not in views:
            con.execute(statement)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp_files(path: Path) -> list[Path]:
    """Delete the temporary files of builds whose process died (a kill -9 leaves them behind)."""
    removed = []
    for tmp in path.parent.glob(f".{path.name}.*.tmp*"):
        parts = tmp.name[len(path.name) + 2:].split(".")
        if parts and parts[0].isdigit() and int(parts[0]) != os.getpid() and not process_alive(int(parts[0])):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


@contextmanager
def writer_lock(path: Path) -> Iterator[None]:
    """One writer at a time: two loads copying the same file would lose the first one's rows.

    An flock on a file beside the database: the kernel releases it when the process ends (even
    by kill -9). The file is removed on release; a writer that locked a file someone just
    removed notices (the path no longer names it) and tries again.
    """
    lock = path.with_name(f".{path.name}.lock")
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise BusyError(f"{path}: another load or build is writing it; try again when it has finished") from None
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


def build(path: Path | str, fill: Callable[[duckdb.DuckDBPyConnection], None], *, from_existing: bool = False) -> None:
    """Write a database with `fill` into a new file and swap it in only if fill succeeds.

    from_existing: start from a copy of the current file (incremental loads) instead of an
    empty schema. On any exception the new file is removed and the served file is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with writer_lock(path):
        _build(path, fill, from_existing)


_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS)


def _disk_problem(exc: BaseException) -> bool:
    """True for a failure to write the new file (full disk, read-only or failing device), not a bug."""
    if isinstance(exc, OSError):
        return exc.errno in _DISK_ERRNOS
    return isinstance(exc, duckdb.IOException) or (
        isinstance(exc, duckdb.Error) and any(s in str(exc) for s in ("No space left on device", "Could not write file")))


def _build(path: Path, fill: Callable[[duckdb.DuckDBPyConnection], None], from_existing: bool) -> None:
    remove_stale_temp_files(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    wal = Path(str(tmp) + ".wal")
    for leftover in (tmp, wal):
        leftover.unlink(missing_ok=True)
    try:
        if from_existing:
            if not path.exists():
                raise StoreError(f"{path}: no database to add to; build one first")
            shutil.copyfile(path, tmp)
        con = duckdb.connect(str(tmp))
        try:
            if not from_existing:
                create_schema(con)
            fill(con)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent)
    except (OSError, duckdb.Error) as exc:
        if not _disk_problem(exc):
            raise
        raise StoreError(f"{path}: could not write the new database beside it ({str(exc).splitlines()[0]}); "
                         f"free space in {path.parent} and run the load again") from None
    finally:
        tmp.unlink(missing_ok=True)
        wal.unlink(missing_ok=True)


def load(path: Path | str, fill: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
    """An incremental load: add to the served file, or create it when there is none yet."""
    build(path, fill, from_existing=Path(path).exists())


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence = ()):
    """The first value of a query's first row (None when it returns no rows); reads the result to the end."""
    rows = con.execute(sql, params).fetchall()
    return rows[0][0] if rows else None


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> int:
    """Append a DataFrame to one of the store's tables by column name; returns rows added."""
    if table not in TABLES:
        raise ValueError(f"{table!r} is not a table of the store; expected one of {TABLES}")
    con.register("_insert_frame", df)
    try:
        cols = ", ".join(f'"{c}"' for c in df.columns)  # the caller's own column names, checked by DuckDB
        con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM _insert_frame')
    finally:
        con.unregister("_insert_frame")
    return len(df)


class QueryTimeout(StoreError):
    """A query ran past the store's time limit and was stopped."""


def _identity(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class Store:
    """Read-only access to the served database file, safe to share between threads.

    Each request takes its own cursor (`with store.cursor() as cur`). The file is attached
    to a private in-memory DuckDB instance: DuckDB caches instances by path, and a cached
    instance would keep serving the old file after a swap.
    """

    def __init__(self, path: Path | str, timeout_s: float | None = None):
        self.path = Path(path)
        self.timeout_s = timeout_s  # a query running longer is interrupted (QueryTimeout)
        self._lock = threading.Lock()
        self._db: duckdb.DuckDBPyConnection | None = None
        self._identity: tuple[int, int, int] | None = None

    def _open(self) -> duckdb.DuckDBPyConnection:
        return self._open_version()[0]

    def _open_version(self) -> tuple[duckdb.DuckDBPyConnection, tuple[int, int, int]]:
        try:
            ident = _identity(self.path)
        except FileNotFoundError:
            raise StoreError(f"{self.path}: database file not found") from None
        with self._lock:
            if self._db is None or ident != self._identity:
                db = duckdb.connect(":memory:")
                try:
                    db.execute(f"ATTACH {_sql_string(str(self.path))} AS istv (READ_ONLY)")
                    version = db.execute("SELECT value FROM istv.meta WHERE key = 'schema_version'").fetchone()
                except duckdb.Error as exc:
                    db.close()
                    raise StoreError(f"{self.path}: not a readable ISTV database ({exc.__class__.__name__})") from None
                if version is None or version[0] != SCHEMA_VERSION:
                    db.close()
                    raise StoreError(f"{self.path}: schema version {version and version[0]!r}, expected {SCHEMA_VERSION!r}; rebuild the database")
                self._db, self._identity = db, ident
            return self._db, self._identity

    @contextmanager
    def cursor(self, db: duckdb.DuckDBPyConnection | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = (db or self._open()).cursor()
        try:
            cur.execute("USE istv")
            yield cur
        finally:
            cur.close()

    def df(self, sql: str, params: Sequence | dict = (), *, db: duckdb.DuckDBPyConnection | None = None,
           keys: bool = False) -> pd.DataFrame:
        """Run one parameterised query and return its result as a DataFrame.

        With a timeout, a query still running after timeout_s seconds is interrupted and
        QueryTimeout raised, so one heavy request cannot hold a worker. db: a pinned file
        version (see `pinned`); by default the file as it is now. The cell-key columns of counts
        (`data.store.counting`) are dropped unless keys=True (the scoped store protects with them).
        """
        out = self._df(sql, params, db)
        return out if keys else protect_frame(out, False)

    def _df(self, sql: str, params, db) -> pd.DataFrame:
        with self.cursor(db) as cur:
            if not self.timeout_s:
                return cur.execute(sql, params).df()
            timer = threading.Timer(self.timeout_s, cur.interrupt)
            timer.start()
            try:
                return cur.execute(sql, params).df()
            except duckdb.InterruptException:
                raise QueryTimeout(f"a query took longer than {self.timeout_s:g} s") from None
            finally:
                timer.cancel()

    def pinned(self) -> "PinnedStore":
        """This store held at the file version open now: every query through it reads that
        version, even if a load swaps the file meanwhile (one page render never mixes two loads)."""
        return PinnedStore(self, *self._open_version())

    def check(self) -> None:
        """Raise StoreError unless the file opens as an ISTV database."""
        self._open()


class PinnedStore:
    """A Store fixed to one file version for the length of a request (see Store.pinned)."""

    def __init__(self, store: Store, db: duckdb.DuckDBPyConnection, identity: tuple[int, int, int]):
        self.path, self.timeout_s = store.path, store.timeout_s
        self.identity = identity  # (inode, mtime, size) of the file version held: caches key on it
        self._store, self._db = store, db

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._store.cursor(self._db) as cur:
            yield cur

    def df(self, sql: str, params: Sequence | dict = (), *, keys: bool = False) -> pd.DataFrame:
        return self._store.df(sql, params, db=self._db, keys=keys)

    def check(self) -> None:
        return None


def _sql_string(value: str) -> str:
    # ATTACH takes no bound parameters; the path comes from our own config, never a user.
    return "'" + value.replace("'", "''") + "'"
