"""What a request needs from the app: the store as this viewer may read it, and the settings."""
from __future__ import annotations

from flask import abort, current_app
from flask_login import current_user

from config import CONFIG_KEY, LEVELS_KEY, STORE_KEY, Config
from data.store.queries import ScopedStore
from data.access.roles import Scope
from data.store.db import Store
from dashboard.ops import count_rows



def current_scope() -> Scope:
    """The signed-in user's scope; 401 for anyone else (defence in depth behind auth.py)."""
    if not current_user.is_authenticated:
        abort(401)
    return current_user.scope(current_app.extensions.get(LEVELS_KEY))


def current_store() -> ScopedStore:
    """The store, limited to what the signed-in user may see, and held at one file version for
    the whole request: a load that swaps the file mid-request cannot mix old and new data."""
    from flask import g
    scope = current_scope()
    if "istv_pinned" not in g:
        g.istv_pinned = raw_store().pinned()
    return ScopedStore(g.istv_pinned, scope, count_rows)


def raw_store() -> Store:
    """The unscoped store: only for checks that read no incident data (health checks)."""
    return current_app.extensions[STORE_KEY]


def current_config() -> Config:
    return current_app.extensions[CONFIG_KEY]
