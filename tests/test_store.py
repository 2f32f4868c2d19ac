import hashlib

import duckdb
import pytest

from data.store import db as store_mod
from data.errors import StoreError
from data.store.db import Store, build


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fill_rows(n):
    def fill(con):
        con.execute("INSERT INTO boroughs (code, name) SELECT 'B' || i, 'Borough ' || i FROM range(?) t(i)", [n])
    return fill


def test_build_creates_a_readable_database(tmp_path):
    path = tmp_path / "a.duckdb"
    build(path, _fill_rows(3))
    assert Store(path).df("SELECT count(*) AS n FROM boroughs")["n"].iat[0] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["a.duckdb"]  # no temporary files left


def test_failed_load_leaves_served_file_byte_for_byte_unchanged(tmp_path):
    path = tmp_path / "a.duckdb"
    build(path, _fill_rows(3))
    before = _digest(path)

    def half_then_fail(con):
        _fill_rows(10)(con)
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        build(path, half_then_fail)
    assert _digest(path) == before
    assert Store(path).df("SELECT count(*) AS n FROM boroughs")["n"].iat[0] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.duckdb"]


def test_incremental_load_that_fails_leaves_file_unchanged(tmp_path):
    path = tmp_path / "a.duckdb"
    build(path, _fill_rows(2))
    before = _digest(path)
    with pytest.raises(duckdb.Error):
        build(path, lambda con: con.execute("INSERT INTO boroughs (code) VALUES (NULL)"), from_existing=True)
    assert _digest(path) == before


def test_reader_sees_swapped_file_without_restart(tmp_path):
    path = tmp_path / "a.duckdb"
    build(path, _fill_rows(2))
    reader = Store(path)
    assert reader.df("SELECT count(*) AS n FROM boroughs")["n"].iat[0] == 2
    with reader.cursor() as old_cursor:  # a request in flight keeps its snapshot
        build(path, _fill_rows(5))
        assert old_cursor.execute("SELECT count(*) FROM boroughs").fetchone()[0] == 2
    assert reader.df("SELECT count(*) AS n FROM boroughs")["n"].iat[0] == 5


def test_missing_and_foreign_files_raise_store_error(tmp_path):
    with pytest.raises(StoreError, match="not found"):
        Store(tmp_path / "nope.duckdb").check()
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a readable ISTV database"):
        Store(junk).check()
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    with pytest.raises(StoreError, match="not a readable ISTV database"):
        Store(other).check()


def test_schema_version_mismatch_says_rebuild(tmp_path, monkeypatch):
    path = tmp_path / "a.duckdb"
    build(path, _fill_rows(1))
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", "999")
    with pytest.raises(StoreError, match="rebuild"):
        Store(path).check()


def test_a_pinned_store_reads_one_file_version_for_the_whole_request(tmp_path):
    path = tmp_path / "a.duckdb"
    build(path, _fill_rows(2))
    reader = Store(path)
    request = reader.pinned()  # what dashboard.context.current_store does once per request
    assert request.df("SELECT count(*) AS n FROM boroughs")["n"].iat[0] == 2
    build(path, _fill_rows(7))  # a load swaps the file mid-request
    assert request.df("SELECT count(*) AS n FROM boroughs")["n"].iat[0] == 2  # same version to the end
    assert reader.pinned().df("SELECT count(*) AS n FROM boroughs")["n"].iat[0] == 7  # the next request sees the load
