"""Session keys and server-side sessions: no forged or copied cookie outlives what it should.

The session tests run against SQLite and, where ISTV_TEST_DATABASE_URL names one, PostgreSQL
(`users_url` in conftest.py), including two app servers sharing one users store.
"""
from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta

import pytest
from flask import Flask

from app import create_app, session_secret
from config import DEFAULT_SECRET, SECRET_FILE, ConfigError
from dashboard.auth import USERS_KEY
from data.access.users import UserStore
from tests.conftest import sign_in
from tests.fixtures import config_for, page_request

KEY = "sessions-test-key-5b2e9d7c4a1f8e3b6d0c"
LAYOUT = "/_dash-layout"  # any data endpoint: 200 signed in, 401 otherwise


def _app(tiny_db, url, **overrides):
    return create_app(config_for(tiny_db, database_url=url, **({"secret_key": KEY} | overrides)))


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _with_cookie(app, value: str):
    c = app.server.test_client()
    c.set_cookie("session", value)
    return c


def _forge(secret: str, data: dict) -> str:
    """A session cookie signed with `secret`, the way Flask signs them."""
    fake = Flask("forger")
    fake.secret_key = secret
    return fake.session_interface.get_signing_serializer(fake).dumps(data)


# ---- the key ------------------------------------------------------------------------------

def test_without_a_key_one_is_made_once_and_kept_private(tiny_db, tmp_path):
    db = tmp_path / "deploy" / "istv.duckdb"
    db.parent.mkdir()
    db.write_bytes(tiny_db.read_bytes())
    config = config_for(db, secret_key="", database_url=f"sqlite:///{tmp_path / 'u.sqlite'}")
    first = session_secret(config)
    path = db.parent / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) >= 48 and first != DEFAULT_SECRET
    assert session_secret(config) == first  # the same key at every start: sessions survive a restart
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="other users may read it; run `chmod 600"):
        session_secret(config)


@pytest.mark.parametrize("secret, message", [
    (DEFAULT_SECRET, "published development default"),
    ("a" * 64, "only 1 different characters"),
    ("short-but-random-9f", "use at least 32"),
])
def test_weak_keys_are_refused_in_every_environment(tiny_db, tmp_path, secret, message):
    for env in ("development", "production"):
        with pytest.raises(ConfigError, match=message):
            create_app(config_for(tiny_db, env=env, secret_key=secret, database_url=f"sqlite:///{tmp_path / 'u.sqlite'}"))


def test_a_cookie_forged_with_the_development_key_is_refused(tiny_db, users_url):
    app = _app(tiny_db, users_url)
    users = app.server.extensions[USERS_KEY]
    users.add("target-admin", "Falcon-ribbon-2291x", "admin", by="test")
    admin_id = users.by_username("target-admin").id
    forged = {"_user_id": str(admin_id), "_fresh": True, "sid": "made-up"}
    assert _with_cookie(app, _forge(DEFAULT_SECRET, forged)).get(LAYOUT).status_code == 401
    assert _with_cookie(app, _forge(DEFAULT_SECRET, forged)).get("/download/incidents.csv").status_code == 401
    # even with the real key, a cookie is nothing without a live session behind it
    assert _with_cookie(app, _forge(KEY, forged)).get(LAYOUT).status_code == 401


# ---- sessions -----------------------------------------------------------------------------

def test_a_copied_cookie_dies_with_sign_out(tiny_db, users_url):
    app = _app(tiny_db, users_url)
    app.server.extensions[USERS_KEY].add("copy-me", "Wren-saddle-6641q", "police", by="test")
    browser = app.server.test_client()
    assert sign_in(browser, "copy-me", "Wren-saddle-6641q").status_code == 302
    stolen = _with_cookie(app, _cookie(browser))
    stolen.environ_base["REMOTE_ADDR"] = "203.0.113.9"  # another machine
    assert stolen.get(LAYOUT).status_code == 200
    token = browser.get("/login").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    browser.post("/logout", data={"csrf_token": token})
    assert stolen.get(LAYOUT).status_code == 401
    assert app.server.extensions[USERS_KEY].events(limit=5, action="denied")[0].detail.count('"status": 401') == 1


@pytest.mark.parametrize("change", [{"password": "Swift-anchor-7702k"}, {"active": False}, {"role": "csp", "boroughs": ("E09000012",)},
                                    {"boroughs": ("E09000033",)}])
def test_an_admin_change_revokes_the_users_sessions(tiny_db, users_url, change):
    app = _app(tiny_db, users_url)
    users = app.server.extensions[USERS_KEY]
    users.add("changed", "Wren-saddle-6641q", "police", by="test")
    c = app.server.test_client()
    assert sign_in(c, "changed", "Wren-saddle-6641q").status_code == 302 and c.get(LAYOUT).status_code == 200
    users.update("changed", by="admin", **change)
    assert c.get(LAYOUT).status_code == 401
    assert '"sessions_revoked": 1' in users.events(limit=1, action="user_changed")[0].detail


class Clock:
    def __init__(self):
        self.now = datetime(2025, 6, 1, 8, 0)

    def __call__(self):
        return self.now


def test_a_session_ends_after_its_absolute_lifetime_however_active(users_url):
    clock = Clock()
    users = UserStore(users_url, clock=clock)
    users.add("busy", "Wren-saddle-6641q", "police", by="test")
    token = users.open_session(users.by_username("busy").id, "1.2.3.4", "test")
    idle, lifetime = timedelta(minutes=30), timedelta(hours=12)
    for _ in range(11 * 3):  # a request every 20 minutes for 11 hours
        clock.now += timedelta(minutes=20)
        assert users.session_user(token, idle, lifetime) is not None
    clock.now += timedelta(minutes=61)
    assert users.session_user(token, idle, lifetime) is None  # 12 h 1 min after sign-in
    other = users.open_session(users.by_username("busy").id)
    clock.now += timedelta(minutes=31)
    assert users.session_user(other, idle, lifetime) is None  # 31 idle minutes
    assert users.session_user("not-a-token", idle, lifetime) is None and users.session_user(None, idle, lifetime) is None


def test_two_app_servers_on_one_users_store_share_sign_out(tiny_db, users_url):
    """Sign in on one server, revoke on the other: the first refuses the cookie."""
    one, two = _app(tiny_db, users_url), _app(tiny_db, users_url)
    one.server.extensions[USERS_KEY].add("roamer", "Wren-saddle-6641q", "police", by="test")
    c1 = one.server.test_client()
    assert sign_in(c1, "roamer", "Wren-saddle-6641q").status_code == 302
    cookie = _cookie(c1)
    c2 = _with_cookie(two, cookie)
    assert c2.get(LAYOUT).status_code == 200  # the same session on the other server
    token = c2.get("/login").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    assert c2.post("/logout", data={"csrf_token": token}).status_code == 302
    assert c1.get(LAYOUT).status_code == 401
    # and an admin's change on server two ends a session opened on server one
    c1 = one.server.test_client()
    assert sign_in(c1, "roamer", "Wren-saddle-6641q").status_code == 302
    two.server.extensions[USERS_KEY].update("roamer", by="admin", active=False)
    assert c1.get(LAYOUT).status_code == 401


def test_the_audit_log_refuses_changes_on_every_database(users_url):
    from sqlalchemy import text
    users = UserStore(users_url)
    users.audit("export", "ann", rows=3)
    for sql in ("UPDATE audit_log SET rows = 0", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"):
            with users.engine.begin() as con:
                con.execute(text(sql))
    assert users.events()[0].rows == 3


# ---- denials are audited ---------------------------------------------------------------------

AUDIT_CALLBACK = {"output": "audit-table.children", "outputs": {"id": "audit-table", "property": "children"},
                  "inputs": [{"id": "audit-action", "property": "value", "value": None},
                             {"id": "audit-user", "property": "value", "value": None}],
                  "changedPropIds": ["audit-action.value"], "state": []}


def test_refused_callbacks_and_pages_leave_an_audit_row(dash_app, client_as):
    users = dash_app.server.extensions[USERS_KEY]
    assert client_as("csp").post("/_dash-update-component", json=AUDIT_CALLBACK).status_code == 403
    row = users.events(limit=1, action="denied")[0]
    assert row.username == "csp" and '"status": 403' in row.detail and "audit-table.children" in row.detail
    assert dash_app.server.test_client().post("/_dash-update-component", json=AUDIT_CALLBACK).status_code == 401
    row = users.events(limit=1, action="denied")[0]
    assert row.username == "" and '"status": 401' in row.detail and "audit-table.children" in row.detail
    page = page_request("/tasking")
    assert "Not available to your role" in client_as("licensing").post("/_dash-update-component", json=page).get_data(as_text=True)
    row = users.events(limit=1, action="denied")[0]
    assert row.username == "licensing" and "page /tasking" in row.detail


def test_behind_a_trusted_proxy_the_forwarded_address_is_used_and_only_then(tiny_db, tmp_path):
    url = f"sqlite:///{tmp_path / 'u.sqlite'}"
    direct, proxied = _app(tiny_db, url), _app(tiny_db, url, trusted_proxies=1)
    for app, expected in ((direct, "10.0.0.5"), (proxied, "198.51.100.7")):
        c = app.server.test_client()
        c.environ_base["REMOTE_ADDR"] = "10.0.0.5"
        sign_in_page = c.get("/login", headers={"X-Forwarded-For": "198.51.100.7"}).get_data(as_text=True)
        csrf = sign_in_page.split('name="csrf_token" value="')[1].split('"')[0]
        c.post("/login", data={"username": "nobody", "password": "x", "csrf_token": csrf},
               headers={"X-Forwarded-For": "198.51.100.7"})
        assert app.server.extensions[USERS_KEY].events(limit=1, action="sign_in_failed")[0].ip == expected
