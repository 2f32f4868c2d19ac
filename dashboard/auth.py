"""Sign-in on the Dash server: every request is checked here, before Dash sees it.

Pages redirect anonymous visitors to /login; Dash's own endpoints and downloads answer 401.
What a signed-in user may see is decided by role and scope in the query layer (see
`dashboard.context.current_store`), and page callbacks check the page's permission.
"""
from __future__ import annotations

import functools
import hmac
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, abort, jsonify, redirect, render_template_string, request, session
from flask_login import LoginManager, current_user, login_user, logout_user
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config
from dashboard.jsonable import plain_outputs
from data.access.users import DEMO_USERS, UserStore

USERS_KEY = "istv_users"
PUBLIC_PATHS = {"/login", "/healthz", "/_favicon.ico"}
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
API_PREFIXES = ("/_dash-", "/_reload-hash", "/download/", "/basemap/")


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _csrf_ok() -> bool:
    sent = request.form.get("csrf_token", "")
    return bool(sent) and hmac.compare_digest(sent, session.get("csrf", ""))


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a signed-in user to another site."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def client_ip() -> str:
    """The client's address: the connection's, or behind ISTV_TRUSTED_PROXIES proxies the one they
    forwarded (werkzeug's ProxyFix rewrites remote_addr; a client's own X-Forwarded-For is ignored)."""
    return request.remote_addr or ""


def audit_denial(status: int, what: str, **detail) -> None:
    """One audit row per refused data request (401 signed out, 403 not permitted)."""
    who = current_user.username if current_user.is_authenticated else ""
    users().audit("denied", who, client_ip(), {"status": status, "what": what[:200], "path": request.path[:200],
                                               **detail})


def _callback_name() -> str:
    body = request.get_json(silent=True) if request.is_json else None
    output = body.get("output") if isinstance(body, dict) else None
    return str(output) if output else request.path


def users() -> UserStore:
    from flask import current_app
    return current_app.extensions[USERS_KEY]


def guard(permission: str):
    """Wrap a Dash callback so that it runs only for signed-in users with `permission`.

    Its outputs are handed to Dash JSON-native (`dashboard.jsonable`), so large figures encode fast."""
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            if not current_user.is_authenticated:
                audit_denial(401, _callback_name(), permission=permission)
                abort(401)
            if not current_user.can(permission):
                audit_denial(403, _callback_name(), permission=permission, role=current_user.role)
                abort(403)
            return plain_outputs(fn(*args, **kwargs))
        return inner
    return wrap


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · ISTV London</title><link rel="stylesheet" href="/assets/00-bootstrap-5.3.9.min.css"></head>
<body class="bg-light"><main class="container" style="max-width: 30rem; margin-top: 8vh">
<h1 class="h3 mb-1">ISTV London</h1><p class="text-muted">Information Sharing to Tackle Violence</p>
{% if message %}<div class="alert alert-danger" role="alert" id="login-error">{{ message }}</div>{% endif %}
<form method="post" action="/login" class="card card-body">
  <input type="hidden" name="csrf_token" value="{{ csrf }}"><input type="hidden" name="next" value="{{ next }}">
  <label class="form-label" for="username">Username</label>
  <input class="form-control mb-3" id="username" name="username" autocomplete="username" required value="{{ username }}">
  <label class="form-label" for="password">Password</label>
  <input class="form-control mb-3" id="password" name="password" type="password" autocomplete="current-password" required>
  <button class="btn btn-primary" type="submit" id="sign-in">Sign in</button>
</form>
{% if demo %}<div class="card card-body mt-3" id="demo-users"><h2 class="h6">Demo mode: sign in as</h2>
<table class="table table-sm mb-0"><thead><tr><th>username</th><th>password</th><th>role</th><th>scope</th></tr></thead><tbody>
{% for u, p, r, b, s in demo_users %}<tr><td><code>{{ u }}</code></td><td><code>{{ p }}</code></td><td>{{ r }}</td><td>{{ b or s or "all London" }}</td></tr>{% endfor %}
</tbody></table><p class="small text-muted mb-0 mt-2">These accounts exist only in demo mode, on synthetic data.</p></div>{% endif %}
<p class="small text-muted mt-3" id="disclosure-note">Health data shared under an information-sharing agreement.
Access is logged. What you see depends on your role's disclosure level: <b>records</b> (police and analysts),
<b>exact counts</b> of your boroughs (licensing), or <b>protected counts</b>, perturbed and rounded to 5 with counts
under 5 shown as &lt;5 (community safety partnerships; ED data leads, who see their own sites exactly). The bar at
the top says which level you have.</p>
</main></body></html>"""


def init_auth(server: Flask, config: Config, store: UserStore) -> None:
    server.extensions[USERS_KEY] = store
    if config.trusted_proxies:
        n = config.trusted_proxies
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n, x_host=0, x_port=0, x_prefix=0)
    idle, lifetime = timedelta(minutes=config.session_minutes), timedelta(hours=config.session_hours)
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=config.production,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=config.session_minutes), SESSION_REFRESH_EACH_REQUEST=True,
        REMEMBER_COOKIE_HTTPONLY=True,
    )
    manager = LoginManager(server)
    manager.session_protection = "strong"

    @manager.user_loader
    def load_user(user_id: str):
        """The cookie names a session; the users store says whether it is alive (sign-out, a password
        reset, disabling or a role change anywhere end it, on every app server sharing the store)."""
        user = store.session_user(session.get("sid"), idle, lifetime)
        return user if user is not None and str(user.id) == str(user_id) else None

    @server.before_request
    def require_sign_in():
        path = request.path
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return None
        if current_user.is_authenticated:
            session.permanent = True  # expiry counts from the last request
            return None
        if path.startswith(API_PREFIXES) or request.method != "GET":
            audit_denial(401, _callback_name() if path.startswith("/_dash-update") else path)
            return jsonify(error="Sign in required."), 401
        nxt = request.full_path if request.query_string else path
        return redirect("/login?next=" + _quote(nxt))

    def page(message="", username="", status=200, nxt="/"):
        html = render_template_string(LOGIN_PAGE, message=message, username=username, csrf=csrf_token(),
                                      next=nxt, demo=config.demo, demo_users=DEMO_USERS)
        return html, status

    @server.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "GET":
            return page(nxt=_safe_next(request.args.get("next")))
        if not _csrf_ok():
            return page("Your sign-in form expired: please try again.", status=400)
        username = request.form.get("username", "")
        result = store.sign_in(username, request.form.get("password", ""), client_ip())
        if result.user is None:
            return page(result.message, username=username[:80], status=result.status, nxt=_safe_next(request.form.get("next")))
        session.clear()  # no session fixation: a fresh session for the signed-in user
        session["sid"] = store.open_session(result.user.id, client_ip(), request.headers.get("User-Agent", ""))
        login_user(result.user)
        session.permanent = True
        csrf_token()
        return redirect(_safe_next(request.form.get("next")))

    @server.route("/logout", methods=["POST"])
    def logout():
        if current_user.is_authenticated and _csrf_ok():
            store.audit("sign_out", current_user.username, client_ip())
            store.revoke_session(session.get("sid"))  # the cookie is dead everywhere, copies included
            logout_user()
            session.clear()
        return redirect("/login")


def _quote(path: str) -> str:
    from urllib.parse import quote
    return quote(path, safe="/")
