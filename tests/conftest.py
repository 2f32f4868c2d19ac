from __future__ import annotations

import os
import re
import shutil
import uuid
from contextlib import contextmanager

import pytest

from data.store.db import Store
from tests.fixtures import build_tiny, config_for


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
def dash_app(tiny_db, tmp_path_factory):
    """The app on the tiny database, in demo mode (one demo user per role)."""
    from app import create_app
    users_db = tmp_path_factory.mktemp("users") / "users.sqlite"
    return create_app(config_for(tiny_db, demo=True, database_url=f"sqlite:///{users_db}"))


@pytest.fixture
def client(dash_app):
    return dash_app.server.test_client()


def sign_in(client, username: str, password: str | None = None):
    """Sign a test client in through the real login form (CSRF token included)."""
    from data.access.users import DEMO_USERS
    if password is None:
        password = next(p for u, p, *_ in DEMO_USERS if u == username)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token, "next": "/"})


@pytest.fixture
def client_as(dash_app):
    """client_as("csp") → a test client signed in as that demo user."""
    def make(username: str):
        c = dash_app.server.test_client()
        r = sign_in(c, username)
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        return c
    return make


@pytest.fixture
def signed_in(dash_app):
    """with signed_in("analyst"): a request context in which that demo user is signed in."""
    from flask_login import login_user

    @contextmanager
    def ctx(username: str):
        from dashboard.auth import USERS_KEY
        user = dash_app.server.extensions[USERS_KEY].by_username(username)
        with dash_app.server.test_request_context("/"):
            login_user(user)
            yield user
    return ctx


POSTGRES_URL = os.environ.get("ISTV_TEST_DATABASE_URL", "")


@pytest.fixture(params=["sqlite", "postgresql"])
def users_url(request, tmp_path):
    """A fresh users store URL: a SQLite file, and a PostgreSQL schema of its own when
    ISTV_TEST_DATABASE_URL names a server (.ci/run starts one; REQUIRE_POSTGRES=1 makes its absence fail)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'users.sqlite'}"
        return
    if not POSTGRES_URL:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("REQUIRE_POSTGRES=1 but ISTV_TEST_DATABASE_URL is not set")
        pytest.skip("no PostgreSQL (set ISTV_TEST_DATABASE_URL)")
    from sqlalchemy import create_engine, text
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as con:
        con.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as con:
        con.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


# ---- a deployment built only from real files (tests/realdeploy.py) ---------------------------------

REAL_USERS = {  # username: (role, boroughs, ed_sites); one per role, as a real deployment would add them
    "r-admin": ("admin", (), ()), "r-analyst": ("analyst", (), ()), "r-police": ("police", (), ()),
    "r-licensing": ("licensing", ("E09000033", "E09000001"), ()), "r-csp": ("csp", ("E09000001",), ()),
    "r-health": ("health", (), ("RJ122",)),
}
REAL_PASSWORD = "Pipit-granite-6620"


@pytest.fixture(scope="session")
def real_db(tmp_path_factory):
    """Path of a database built with `flask --app app load ...` from ../shared/realdata and tests/data/realdeploy."""
    from tests.realdeploy import build_real_database, require_real
    require_real()
    db = tmp_path_factory.mktemp("realdeploy") / "istv.duckdb"
    build_real_database(db)
    return db


@pytest.fixture(scope="session")
def real_app(real_db, tmp_path_factory):
    """The app on the real-only database (ISTV_DEMO=0: no demo users), with one user per role."""
    from app import create_app
    from dashboard.auth import USERS_KEY
    users_db = tmp_path_factory.mktemp("realusers") / "users.sqlite"
    app = create_app(config_for(real_db, demo=False, database_url=f"sqlite:///{users_db}"))
    store = app.server.extensions[USERS_KEY]
    for name, (role, boroughs, sites) in REAL_USERS.items():
        store.add(name, REAL_PASSWORD, role, boroughs, sites, by="test")
    return app


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """REQUIRE_REALDATA=1 (CI): a test skipped for want of ../shared/realdata fails instead, whichever
    way it skipped (the shared `needs_real` mark, or tests/realdeploy.require_real)."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("REQUIRE_REALDATA") == "1" and "realdata" in str(report.longrepr):
        report.outcome = "failed"
        report.longrepr = f"REQUIRE_REALDATA=1 but the test was skipped: {report.longrepr}"
