"""Page modules, in navigation order.

A page module exposes PATH, TITLE, PERMISSION (see data/access/roles.py), layout(search: str) and
register_callbacks(app); optionally register_routes(server) for downloads it serves.
"""
PAGE_MODULES = (
    "map",
    "premises",
    "tasking",
    "trends",
    "quality",
    "submissions",
    "upload",
    "standard",
    "loads",
    "admin_users",
    "admin_audit",
)
