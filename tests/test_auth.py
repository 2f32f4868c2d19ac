"""Sign-in, roles, borough scoping, disclosure control and audit, through the real HTTP edge."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest

from app import create_app
from config import ConfigError
from dashboard.auth import USERS_KEY
from data.access.users import UserError, UserStore
from tests.conftest import sign_in
from tests.fixtures import config_for, page_request

WESTMINSTER, HACKNEY = "E09000033", "E09000012"
OUTPUTS = (("map-hexes", "figure"), ("map-series", "figure"), ("map-dayhour", "figure"), ("map-summary", "children"),
           ("map-borough-table", "children"), ("map-download", "href"), ("map-selection", "children"), ("map-geo-key", "data"),
           ("map-method", "children"), ("map-legend", "children"), ("map-outline", "data"))


def map_request(boroughs, start="2024-01-01", end="2025-12-31"):
    """The map's render callback as a browser would post it, with a hand-written state."""
    return {"output": ".." + "...".join(f"{i}.{p}" for i, p in OUTPUTS) + "..",
            "outputs": [{"id": i, "property": p} for i, p in OUTPUTS],
            "inputs": [{"id": "map-state", "property": "data", "value": f"?borough={','.join(boroughs)}&from={start}&to={end}"}],
            "state": [{"id": "map-geo-key", "property": "data", "value": None}],
            "changedPropIds": ["map-state.data"]}


def test_anonymous_pages_redirect_and_dash_endpoints_answer_401(client):
    for path in ("/", "/admin/users", "/admin/audit", "/anything?borough=E09000033"):
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/"), path
    for path in ("/_dash-layout", "/_dash-dependencies", "/download/boroughs.csv"):
        assert client.get(path).status_code == 401, path
    r = client.post("/_dash-update-component", json=map_request([WESTMINSTER]))
    assert r.status_code == 401 and "Westminster" not in r.get_data(as_text=True)
    # what is public carries no data: the login page, CSS/JS bundles
    assert client.get("/login").status_code == 200
    assert client.get("/assets/00-bootstrap-5.3.9.min.css").status_code == 200


def _summary(response_json) -> str:
    return json.dumps(response_json["response"]["map-summary"]["children"])


def _police(store, borough):
    return int(store.df("SELECT count(*) FROM incidents WHERE borough_code = ? AND source = 'police' AND "
                        "category = 'Violence and sexual offences' AND year(month) >= 2024", [borough]).iloc[0, 0])


def test_csp_scoped_to_hackney_gets_nothing_from_westminster(client_as, store):
    analyst = client_as("analyst").post("/_dash-update-component", json=map_request([WESTMINSTER]))
    csp = client_as("csp").post("/_dash-update-component", json=map_request([WESTMINSTER]))
    assert analyst.status_code == 200 and csp.status_code == 200
    card = lambda r: re.search(r'"children": "([^"]*)", "id": "summary-police"', _summary(r.json)).group(1)  # noqa: E731
    assert card(analyst) == f"{_police(store, WESTMINSTER):,}"
    # the request for Westminster is answered with Hackney, the only borough in the csp's scope
    # ... through the protection (csp is protected: perturbed by at most 2, rounded to 5)
    shown = int(card(csp).replace(",", ""))
    assert shown % 5 == 0 and abs(shown - _police(store, HACKNEY)) <= 4
    assert abs(shown - _police(store, WESTMINSTER)) > 100
    body = json.dumps(csp.json["response"])
    assert "Westminster" not in body
    both = client_as("csp").post("/_dash-update-component", json=map_request([WESTMINSTER, HACKNEY])).json["response"]
    table = json.dumps(both["map-borough-table"])
    assert "Hackney" in table and "Westminster" not in table


def test_query_layer_intersects_scope_even_without_the_url_parser(store):
    from data.store import queries
    from data.store.filters import Filters
    from data.access.roles import Scope
    hackney_only = queries.ScopedStore(store, Scope(boroughs=(HACKNEY,), record_level=False))
    assert queries.totals(hackney_only, Filters(boroughs=(WESTMINSTER,))) == {"ed": 0, "police": 0, "other": 0}
    assert queries.totals(hackney_only, Filters()) == queries.totals(store, Filters(boroughs=(HACKNEY,)))
    assert set(queries.borough_table(hackney_only, Filters(boroughs=(WESTMINSTER, HACKNEY)))["code"]) == {HACKNEY}
    assert queries.unit_counts(hackney_only, Filters(boroughs=(WESTMINSTER,)), "h3_r8").empty


def test_csp_download_for_another_borough_holds_only_its_own(client_as):
    csv = client_as("csp").get(f"/download/boroughs.csv?borough={WESTMINSTER},{HACKNEY}").get_data(as_text=True)
    assert "Hackney" in csv and "Westminster" not in csv
    csv = client_as("csp").get("/download/boroughs.csv").get_data(as_text=True)
    assert csv.count("\n") == 2  # header + Hackney


def test_record_level_export_refused_to_csp_allowed_to_analyst_and_audited(client_as, dash_app):
    users = dash_app.server.extensions[USERS_KEY]
    before = len(users.events(limit=100000))
    r = client_as("csp").get("/download/incidents.csv")
    assert r.status_code == 403
    assert users.events(limit=1, action="export_refused")[0].username == "csp"
    r = client_as("analyst").get(f"/download/incidents.csv?borough={HACKNEY}&from=2025-01-01&to=2025-01-31")
    assert r.status_code == 200
    lines = r.get_data(as_text=True).strip().split("\n")
    event = users.events(limit=1, action="export")[0]
    assert event.username == "analyst" and event.rows == len(lines) - 1 > 0
    assert json.loads(event.detail)["filters"]["boroughs"] == [HACKNEY]
    assert len(users.events(limit=100000)) > before


def test_every_export_writes_an_audit_row(client_as, dash_app):
    users = dash_app.server.extensions[USERS_KEY]
    c = client_as("licensing")
    n = len(users.events(limit=100000, action="export"))
    for _ in range(3):
        assert c.get("/download/boroughs.csv").status_code == 200
    assert len(users.events(limit=100000, action="export")) == n + 3


def test_login_without_csrf_token_is_rejected(client):
    r = client.post("/login", data={"username": "analyst", "password": "demo-analyst-pass"})
    assert r.status_code == 400 and "expired" in r.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_open_redirect_after_sign_in_is_refused(client):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": "analyst", "password": "demo-analyst-pass", "csrf_token": token,
                                    "next": "https://evil.example/"})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def _client_from(dash_app, ip):
    c = dash_app.server.test_client()
    c.environ_base["REMOTE_ADDR"] = ip
    return c


def test_lockout_after_five_failures_through_the_login_form(dash_app):
    users = dash_app.server.extensions[USERS_KEY]
    # throwaway accounts: locking out a shared demo user would break later tests in the session
    users.add("lock-me", "Kestrel-harbour-91", "police", by="test")
    users.add("lock-me-too", "Otter-lantern-27x", "police", by="test")
    c = _client_from(dash_app, "10.9.9.9")
    for _ in range(5):
        assert sign_in(c, "lock-me", "wrong-password").status_code == 401
    r = sign_in(c, "lock-me", "Kestrel-harbour-91")  # the right password, but the account is locked
    assert r.status_code == 423 and "Too many failed sign-ins for this account" in r.get_data(as_text=True)
    assert users.events(limit=1, action="lockout")[0].username == "lock-me"
    # the account is locked from any address; the address is not locked for other accounts
    assert sign_in(_client_from(dash_app, "10.9.9.10"), "lock-me", "Kestrel-harbour-91").status_code == 423
    assert sign_in(c, "lock-me-too", "Otter-lantern-27x").status_code == 302


class Clock:
    def __init__(self):
        self.now = datetime(2025, 6, 1, 12, 0)

    def __call__(self):
        return self.now


def test_account_lock_grows_with_each_failure_up_to_fifteen_minutes(tmp_path):
    clock = Clock()
    users = UserStore(f"sqlite:///{tmp_path / 'u.sqlite'}", clock=clock)
    users.add("ann", "Heron-quartz-5512", "analyst", by="test")
    for _ in range(4):
        assert users.sign_in("ann", "nope", "1.1.1.1").user is None
    assert users.sign_in("ann", "Heron-quartz-5512", "1.1.1.1").user is not None  # 4 failures: not locked; a success resets
    clock.now += timedelta(seconds=1)
    for ip in ("2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5", "6.6.6.6"):  # five guesses from five addresses
        assert users.sign_in("ann", "nope", ip).status == 401
    clock.now += timedelta(seconds=59)
    assert users.sign_in("ann", "Heron-quartz-5512", "7.7.7.7").status == 423  # locked for 1 minute ...
    clock.now += timedelta(seconds=2)
    assert users.sign_in("ann", "nope", "7.7.7.7").status == 401  # ... then a 6th failure: 2 minutes
    clock.now += timedelta(seconds=119)
    assert users.sign_in("ann", "Heron-quartz-5512", "7.7.7.7").status == 423
    clock.now += timedelta(seconds=2)
    assert users.sign_in("ann", "Heron-quartz-5512", "7.7.7.7").user is not None
    users.add("cap", "Plover-minted-8830", "analyst", by="test")
    for _ in range(12):  # failures each after the last lock ran out: the lock doubles, capped at 15 minutes
        clock.now += timedelta(minutes=16)
        assert users.sign_in("cap", "nope", "8.8.8.8").status == 401
    clock.now += timedelta(minutes=14, seconds=59)
    assert users.sign_in("cap", "Plover-minted-8830", "8.8.8.8").status == 423
    clock.now += timedelta(seconds=2)
    assert users.sign_in("cap", "Plover-minted-8830", "8.8.8.8").user is not None


def test_an_address_with_many_failures_is_slowed_without_locking_accounts(tmp_path):
    clock = Clock()
    users = UserStore(f"sqlite:///{tmp_path / 'u.sqlite'}", clock=clock)
    users.add("ann", "Heron-quartz-5512", "analyst", by="test")
    for k in range(20):  # one NAT address guessing twenty accounts: nothing slowed yet
        clock.now += timedelta(seconds=1)
        assert users.sign_in(f"guess{k}", "nope", "6.6.6.6").status == 401
    r = users.sign_in("ann", "Heron-quartz-5512", "6.6.6.6")  # the 21st try within 15 minutes waits a second
    assert r.status == 429 and "wait 1 seconds" in r.message
    assert users.sign_in("ann", "Heron-quartz-5512", "9.9.9.9").user is not None  # other addresses unaffected
    assert users.account_locked_until("guess0") is None  # and no account was locked
    clock.now += timedelta(seconds=2)
    assert users.sign_in("ann", "Heron-quartz-5512", "6.6.6.6").user is not None
    assert users.events(limit=50, action="sign_in_throttled")[0].ip == "6.6.6.6"


def test_an_unknown_username_costs_a_password_check(tmp_path, monkeypatch):
    """Timing says nothing about which usernames exist: both paths hash the password once."""
    import data.access.users as users_module
    users = UserStore(f"sqlite:///{tmp_path / 'u.sqlite'}")
    users.add("ann", "Heron-quartz-5512", "analyst", by="test")
    calls = []
    real = users_module.check_password_hash
    monkeypatch.setattr(users_module, "check_password_hash", lambda h, p: calls.append(h) or real(h, p))
    users.sign_in("nobody-here", "Heron-quartz-5512", "1.1.1.1")
    users.sign_in("ann", "wrong-one-entirely", "1.1.1.2")
    users.update("ann", by="test", active=False)
    users.sign_in("ann", "Heron-quartz-5512", "1.1.1.3")
    assert len(calls) == 3 and calls[0].startswith("scrypt:")


def test_passwords_are_hashed_and_user_rules_enforced(tmp_path):
    users = UserStore(f"sqlite:///{tmp_path / 'u.sqlite'}")
    users.add("bob", "correct horse battery", "police", by="test")
    assert users.by_username("bob").password_hash.startswith("scrypt:")
    with pytest.raises(UserError, match="at least 10 characters"):
        users.add("short", "abc", "analyst", by="test")
    with pytest.raises(UserError, match="borough-scoped: give at least one borough"):
        users.add("lic", "a-long-password", "licensing", by="test")
    with pytest.raises(UserError, match="role 'boss' is not one of"):
        users.add("boss", "a-long-password", "boss", by="test")
    with pytest.raises(UserError, match="exists already"):
        users.add("bob", "another-password", "police", by="test")
    with pytest.raises(UserError, match="most common"):
        users.add("carol", "password12", "analyst", by="test")
    with pytest.raises(UserError, match="at least 12 characters for an admin"):
        users.add("dave", "Zq8-vortex1", "admin", by="test")  # 11 characters
    users.add("dave", "Zq8-vortex-12", "admin", by="test")
    with pytest.raises(UserError, match="must not contain the username"):
        users.add("erin", "Erin-is-here-2025", "analyst", by="test")
    with pytest.raises(UserError, match="most common"):
        users.update("bob", by="test", password="qwertyuiop")


def test_audit_log_is_append_only(tmp_path):
    from sqlalchemy import text
    users = UserStore(f"sqlite:///{tmp_path / 'u.sqlite'}")
    users.audit("export", "ann", rows=3)
    with pytest.raises(Exception, match="append-only"):
        with users.engine.begin() as con:
            con.execute(text("UPDATE audit_log SET rows = 0"))
    with pytest.raises(Exception, match="append-only"):
        with users.engine.begin() as con:
            con.execute(text("DELETE FROM audit_log"))
    assert users.events()[0].rows == 3


def test_disabled_user_is_signed_out_on_next_request(dash_app):
    users = dash_app.server.extensions[USERS_KEY]
    users.add("temp-user", "Gannet-pillow-451", "police", by="test")
    c = dash_app.server.test_client()
    assert sign_in(c, "temp-user", "Gannet-pillow-451").status_code == 302
    assert c.get("/_dash-layout").status_code == 200
    users.update("temp-user", by="test", active=False)
    assert c.get("/_dash-layout").status_code == 401


def test_session_expires_after_inactivity(client_as, monkeypatch):
    import itsdangerous.timed
    c = client_as("analyst")
    assert c.get("/_dash-layout").status_code == 200
    real = itsdangerous.timed.TimestampSigner.get_timestamp
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: real(self) + 31 * 60)
    assert c.get("/_dash-layout").status_code == 401


def test_session_cookie_flags(dash_app, tiny_db, tmp_path):
    c = dash_app.server.test_client()
    r = sign_in(c, "analyst")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    prod = create_app(config_for(tiny_db, env="production", secret_key="prod-test-key-4f9a1c7e2b8d6053a9e1f7c4", database_url=f"sqlite:///{tmp_path / 'p.sqlite'}"))
    prod.server.extensions[USERS_KEY].add("prod-user", "Linnet-copper-773", "analyst", by="test")
    r = sign_in(prod.server.test_client(), "prod-user", "Linnet-copper-773")
    assert "Secure" in r.headers["Set-Cookie"]


def test_production_refuses_default_secret_demo_mode_and_demo_users(tiny_db, tmp_path):
    url = f"sqlite:///{tmp_path / 'u.sqlite'}"
    with pytest.raises(ConfigError, match="ISTV_SECRET_KEY is the published development default"):
        create_app(config_for(tiny_db, env="production", secret_key="dev-insecure-change-me", database_url=url))
    with pytest.raises(ConfigError, match="ISTV_DEMO=1"):
        create_app(config_for(tiny_db, env="production", secret_key="prod-test-key-4f9a1c7e2b8d6053a9e1f7c4", demo=True, database_url=url))
    UserStore(url).ensure_demo_users()
    with pytest.raises(ConfigError, match="demo users exist"):
        create_app(config_for(tiny_db, env="production", secret_key="prod-test-key-4f9a1c7e2b8d6053a9e1f7c4", database_url=url))


def test_roles_see_only_their_pages(client_as):
    payload = page_request("/admin/users")
    assert "Not available to your role" in client_as("licensing").post("/_dash-update-component", json=payload).get_data(as_text=True)
    assert "users-list" in client_as("admin").post("/_dash-update-component", json=payload).get_data(as_text=True)
    audit = {"output": "audit-table.children", "outputs": {"id": "audit-table", "property": "children"},
             "inputs": [{"id": "audit-action", "property": "value", "value": None}, {"id": "audit-user", "property": "value", "value": None}],
             "changedPropIds": ["audit-action.value"], "state": []}
    assert client_as("csp").post("/_dash-update-component", json=audit).status_code == 403
    assert client_as("admin").post("/_dash-update-component", json=audit).status_code == 200


def test_demo_credentials_only_on_demo_login_page(dash_app, tiny_db, tmp_path):
    assert "demo-csp-pass" in dash_app.server.test_client().get("/login").get_data(as_text=True)
    real = create_app(config_for(tiny_db, demo=False, database_url=f"sqlite:///{tmp_path / 'r.sqlite'}"))
    assert "demo-csp-pass" not in real.server.test_client().get("/login").get_data(as_text=True)
