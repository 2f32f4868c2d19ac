"""Shared helpers of the importer tests (tests/test_ingest_*.py), and checks of the fixture files."""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from data.ingest.load import load_files
from data.ingest.report import LoadOptions

DATA = Path(__file__).resolve().parent / "data"
REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata"
NOW = datetime(2025, 6, 1, 12, 0)  # loads are judged as of this moment, never the clock

needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"real data samples not present at {REAL}")


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load(kind: str, files, db: Path, **options):
    """load_files with the test clock; returns the reports."""
    files = [files] if isinstance(files, (str, Path)) else list(files)
    return load_files(kind, files, db, LoadOptions(**options), now=NOW)


def rows(db: Path, sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def count(db: Path, table: str, where: str = "TRUE") -> int:
    return rows(db, f"SELECT count(*) FROM {table} WHERE {where}")[0][0]


def quarantined(db: Path, load_id: int) -> list[tuple]:
    """(line, column, value, rule) of one load's quarantined rows, by line."""
    return rows(db, "SELECT line, column_name, value, rule FROM quarantine WHERE load_id = ? ORDER BY line", [load_id])


def test_fixture_files_are_small_and_present():
    names = {p.name for p in DATA.iterdir() if p.is_file()}
    assert {"police_2025-01.csv", "police_2025-01_republished.csv", "ed_submission.csv", "ed_submission.xml",
            "premises_register.csv", "landmarks.csv", "boroughs_bng.geojson", "streets_tiny.geojson"} <= names
    assert all((DATA / n).stat().st_size < 10_000 for n in names)
