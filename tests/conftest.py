from __future__ import annotations

import shutil

import pytest

from data.store import Store
from tests.fixtures import build_tiny, test_config


@pytest.fixture(scope="session")
def tiny_db_master(tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "tiny.duckdb"
    build_tiny(path)
    return path


@pytest.fixture(scope="session")
def tiny_db(tiny_db_master):
    """Path of the shared tiny demo database; tests must not modify it."""
    return tiny_db_master


@pytest.fixture
def tiny_db_copy(tiny_db_master, tmp_path):
    """A private copy of the tiny database that a test may replace or damage."""
    path = tmp_path / "copy.duckdb"
    shutil.copyfile(tiny_db_master, path)
    return path


@pytest.fixture(scope="session")
def store(tiny_db) -> Store:
    return Store(tiny_db)


@pytest.fixture(scope="session")
def dash_app(tiny_db):
    from app import create_app
    return create_app(test_config(tiny_db))


@pytest.fixture
def client(dash_app):
    return dash_app.server.test_client()
