"""Security headers on every response: pages, callbacks, downloads, packs, login, errors, redirects, assets."""
from __future__ import annotations

import base64
import hashlib
import re

import pytest
from flask import Response

from dashboard.headers import apply_headers
from tests.fixtures import config_for, page_request

WESTMINSTER = "E09000033"
COMMON = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
HSTS = "max-age=31536000; includeSubDomains"
SECRET = hashlib.sha256(b"istv-headers-test").hexdigest()  # production refuses weak keys
RENDER_STANDARD = page_request("/standard")


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request.path if response.request else ''}"
    out = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in out, f"{name} twice"
        out[name] = sources
    return out


def check(response, *, cached: bool | None = False, hsts: bool = False):
    """The headers every response carries; cached=None: do not look at Cache-Control."""
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"][0] == "'self'"
    assert all(s.startswith("'sha256-") for s in csp["script-src"][1:]), csp["script-src"]
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"]
    assert sorted(csp["img-src"]) == sorted(["'self'", "data:", "blob:"])
    assert sorted(csp["font-src"]) == sorted(["'self'", "data:"])
    assert not any(s.startswith(("http", "*", "https:")) for sources in csp.values() for s in sources), csp
    assert ("Strict-Transport-Security" in response.headers) == hsts
    if hsts:
        assert response.headers["Strict-Transport-Security"] == HSTS
    if cached is not None:
        no_store = "no-store" in response.headers.get("Cache-Control", "")
        assert no_store != cached, response.headers.get("Cache-Control")
    return csp


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def test_page_allows_exactly_its_inline_scripts_by_hash(client_as):
    r = client_as("analyst").get("/?borough=" + WESTMINSTER)
    assert r.status_code == 200
    csp = check(r)
    # every executable inline script of Dash's index page is allowed by its hash (not the JSON config,
    # nor the old-IE warning inside a conditional comment, which browsers treat as a comment)
    html = re.sub(r"<!--.*?-->", "", r.get_data(as_text=True), flags=re.S)
    inline = [body for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
              if "src=" not in attrs and "application/json" not in attrs]
    assert inline and "DashRenderer" in inline[-1]
    for body in inline:
        assert sha256(body) in csp["script-src"], body[:80]
    assert not re.search(r"\son[a-z]+=", html), "an inline event handler would be blocked"


def test_dash_endpoints_downloads_and_packs_are_not_stored(client_as, store):
    c = client_as("analyst")
    check(c.get("/_dash-layout"))
    check(c.get("/_dash-dependencies"))
    r = c.post("/_dash-update-component", json=RENDER_STANDARD)
    assert r.status_code == 200 and "standard-page" in r.get_data(as_text=True)
    check(r)
    r = c.get(f"/download/boroughs.csv?borough={WESTMINSTER}")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    check(r)
    pid = store.df("SELECT premises_id FROM premises WHERE borough_code = ? ORDER BY premises_id LIMIT 1",
                   [WESTMINSTER]).iloc[0, 0]
    for path in (f"/download/premises/{pid}/evidence.html?borough={WESTMINSTER}",
                 f"/download/tasking/pack.html?borough={WESTMINSTER}",
                 "/download/strategic/quality-report.html?site=RJ122&month=2025-11"):
        r = c.get(path)
        assert r.status_code == 200 and r.mimetype == "text/html", path
        check(r)
        html = r.get_data(as_text=True)
        assert 'onclick="window.print()"' not in html and '<script src="/assets/print.js"></script>' in html, path
        assert re.search(r'<button[^>]*id="print-pack"[^>]*>', html), path


def test_login_page_redirects_and_errors_carry_the_headers(client, client_as, dash_app, monkeypatch):
    r = client.get("/login")
    assert r.status_code == 200 and "csrf_token" in r.get_data(as_text=True)
    check(r)
    r = client.get("/trends")  # anonymous: a redirect to the login page
    assert r.status_code == 302
    check(r)
    r = client.get("/download/boroughs.csv")  # anonymous download: 401
    assert r.status_code == 401
    check(r)
    r = client.post("/_dash-update-component", json=RENDER_STANDARD)
    assert r.status_code == 401
    check(r)
    c = client_as("csp")
    r = c.get("/download/strategic/quality-report.html?site=RJ122&month=2025-11")  # not the csp role's page
    assert r.status_code == 403
    check(r)
    r = c.get("/download/no-such-export.csv")
    assert r.status_code == 404
    check(r)
    r = c.get("/assets/no-such-file.js")
    assert r.status_code == 404
    check(r, cached=None)

    def broken():
        raise RuntimeError("boom")
    monkeypatch.setitem(dash_app.server.view_functions, "healthz", broken)
    r = client.get("/healthz")
    assert r.status_code == 500 and "boom" not in r.get_data(as_text=True)
    check(r)


def test_static_files_keep_their_caching(client):
    for path in ("/assets/00-bootstrap-5.3.9.min.css", "/assets/print.js"):
        r = client.get(path)
        assert r.status_code == 200, path
        check(r, cached=True)
    from tests.conftest import sign_in
    sign_in(client, "analyst")
    suite = re.search(r'src="(/_dash-component-suites/[^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    r = client.get(suite)
    assert r.status_code == 200
    check(r, cached=True)


def test_hsts_only_in_production(tiny_db, client):
    assert "Strict-Transport-Security" not in client.get("/login").headers  # the demo app is development
    # the header function on its own, for a production config
    prod = config_for(tiny_db, env="production", secret_key=SECRET)
    dev = config_for(tiny_db)
    assert prod.production and not dev.production
    on = apply_headers(Response("x"), "/", production=prod.production, script_hashes=["'sha256-abc='"])
    off = apply_headers(Response("x"), "/", production=dev.production)
    assert on.headers["Strict-Transport-Security"] == HSTS
    assert "Strict-Transport-Security" not in off.headers
    assert "'sha256-abc='" in on.headers["Content-Security-Policy"]
    assert on.headers["Cache-Control"] == "no-store"
    asset = apply_headers(Response("x"), "/assets/print.js", production=True)
    assert "no-store" not in asset.headers.get("Cache-Control", "") and asset.headers["Strict-Transport-Security"] == HSTS


def test_a_production_app_sends_hsts_on_every_response(tiny_db, tmp_path):
    from app import create_app
    app = create_app(config_for(tiny_db, env="production", secret_key=SECRET,
                                database_url=f"sqlite:///{tmp_path / 'users.sqlite'}"))  # no demo users
    c = app.server.test_client()
    check(c.get("/login"), hsts=True)
    r = c.get("/tasking")
    assert r.status_code == 302
    check(r, hsts=True)
    r = c.get("/download/tasking/pack.html")
    assert r.status_code == 401
    check(r, hsts=True)
    check(c.get("/assets/00-bootstrap-5.3.9.min.css"), cached=True, hsts=True)


@pytest.mark.parametrize("path", ["/_dash-update-component", "/_dash-layout", "/download/x.csv", "/", "/login"])
def test_no_store_everywhere_but_static(path):
    assert apply_headers(Response(""), path, production=False).headers["Cache-Control"] == "no-store"
