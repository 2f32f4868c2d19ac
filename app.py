"""ISTV London: create_app(config) → Dash app; `server` for gunicorn; `python app.py` runs it."""
from __future__ import annotations

import logging
import os
import secrets
import sys
import time
from functools import lru_cache

from dash import Dash

from config import CONFIG_KEY, LEVELS_KEY, SECRET_FILE, STORE_KEY, Config, ConfigError, secret_problem
from dashboard import basemap, exports, shell
from dashboard.auth import init_auth
from dashboard.headers import init_headers
from dashboard.ops import init_ops, settle_memory
from data.errors import StoreError
from cli import register_cli
from data.store.db import Store
from data.access import disclosure
from data.access.disclosure import Protection
from data.access.roles import disclosure_levels
from data.access.users import UserStore
from data.demo.build import build_demo_database


def ensure_database(config: Config, progress=print) -> None:
    """Make sure the configured database opens; in demo mode build (or rebuild) the demo.

    A missing file is built when ISTV_DEMO=1. An empty, corrupt or outdated file stops the app
    with the reason, or in demo mode is moved aside (kept, never deleted) and the demo rebuilt.
    """
    if not config.db_path.exists():
        if not config.demo:
            raise StoreError(f"{config.db_path}: database file not found. Load data with "
                             "`flask --app app load ...` or set ISTV_DEMO=1 to build the demo.")
        build_demo_database(config.db_path, config.demo_scale, config.demo_seed,
                            max_distance_m=config.block_max_m, progress=progress)
    try:
        Store(config.db_path).check()
    except StoreError as exc:
        if not config.demo:
            raise
        aside = config.db_path.with_name(f"{config.db_path.name}.unusable-{int(time.time())}")
        config.db_path.rename(aside)
        progress(f"{exc}; moved it to {aside.name} and rebuilding the demo")
        build_demo_database(config.db_path, config.demo_scale, config.demo_seed,
                            max_distance_m=config.block_max_m, progress=progress)
        Store(config.db_path).check()


def session_secret(config: Config) -> str:
    """The key that signs session cookies: ISTV_SECRET_KEY when set (refused when weak), else a random
    key made once and kept beside the database in a file only the app's user can read."""
    if config.secret_key:
        problem = secret_problem(config.secret_key)
        if problem:
            raise ConfigError(problem)
        return config.secret_key
    path = config.db_path.parent / SECRET_FILE
    try:  # O_EXCL: of several processes starting at once, one writes the key and the others read it
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"{path} holds the session key but other users may read it; run `chmod 600 {path}`")
    for _ in range(50):  # another process may be writing it right now
        key = path.read_text().strip()
        if key:
            break
        time.sleep(0.02)
    problem = secret_problem(key)
    if problem:
        raise ConfigError(f"{path}: {problem.replace('ISTV_SECRET_KEY', 'the key file')}; delete the file to make a new key")
    return key


def check_production(config: Config, users: UserStore) -> None:
    """Refuse to run in production with unsafe settings, saying why."""
    if not config.production:
        return
    problems = config.production_problems()
    if users.demo_users_present():
        problems.append("demo users exist in the users store; disable them (`flask --app app users disable NAME`)")
    if problems:
        raise ConfigError("ISTV_ENV=production but " + "; ".join(problems))


def _logging() -> None:
    """One JSON line per request on stderr (gunicorn and the dev server alike), once per process."""
    logger = logging.getLogger("istv")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def create_app(config: Config | None = None, *, prepare_database: bool = True) -> Dash:
    """The Dash app for a config; prepare_database=False skips the database check (CLI use)."""
    config = config or Config.from_env()
    _logging()
    config.db_path.parent.mkdir(parents=True, exist_ok=True)
    secret = session_secret(config)
    users = UserStore(config.users_url)
    if config.demo:
        users.ensure_demo_users()
    check_production(config, users)
    try:  # the disclosure policy: the role table with ISTV_DISCLOSURE's overrides, checked before serving
        levels = disclosure_levels(config.disclosure)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    disclosure.configure(Protection(config.disclosure_threshold, config.disclosure_rounding, config.disclosure_perturb))
    if prepare_database:
        ensure_database(config)
    # Bootstrap is served from assets/ (00-bootstrap-*.css): many NHS and police networks block CDNs
    app = Dash(__name__, title="ISTV London", suppress_callback_exceptions=True, update_title=None,
               serve_locally=True)
    app.server.extensions[STORE_KEY] = Store(config.db_path, timeout_s=config.query_timeout_s or None)
    app.server.extensions[CONFIG_KEY] = config
    app.server.extensions[LEVELS_KEY] = levels
    app.server.secret_key = secret
    init_ops(app.server, config, STORE_KEY)
    init_headers(app, config)
    init_auth(app.server, config, users)
    exports.register_routes(app.server)
    basemap.register_routes(app.server)
    for page in shell.PAGES.values():
        if hasattr(page, "register_routes"):
            page.register_routes(app.server)
    app.layout = shell.layout
    shell.register_callbacks(app)
    register_cli(app.server)
    # Dash registers the script files it may serve in its first request's setup; two first requests at once
    # (a fresh gunicorn worker's threads) let one skip it and answer 500 for scripts. Set up now, once.
    with app.server.test_request_context("/"):
        app._setup_server()
    settle_memory()
    return app


@lru_cache(maxsize=None)
def _default(name: str):
    try:
        return create_app(prepare_database=(name == "server")).server
    except (ConfigError, StoreError) as exc:
        sys.stderr.write(f"ISTV London cannot start: {exc}\n")
        raise SystemExit(2) from None


def __getattr__(name: str):
    # Built on first use, not at import: `gunicorn app:server` serves `server`, `flask --app app`
    # finds `app` (no database needed, so `load` works on an empty deployment), tests call create_app.
    if name in ("server", "app"):
        return _default(name)
    raise AttributeError(f"module 'app' has no attribute {name!r}")


if __name__ == "__main__":
    try:
        cfg = Config.from_env()
        application = create_app(cfg)
    except (ConfigError, StoreError) as exc:
        sys.exit(f"ISTV London cannot start: {exc}")
    print(f"ISTV London is running at http://{cfg.host}:{cfg.port}/  (Ctrl+C to stop)", flush=True)
    application.run(host=cfg.host, port=cfg.port, debug=False)
