"""Downloads: one function writes every export, so disclosure rules and auditing apply to all.

GET /download/<name>.csv?<the page's query string> → CSV of what the page shows, for the
signed-in user's scope, with small counts suppressed for roles without record-level access.
Record-level exports are refused to those roles. Every export, and every refusal, is audited.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Callable

import pandas as pd
from flask import Flask, Response, abort, request
from flask_login import current_user

from dashboard.auth import client_ip, users
from dashboard.context import current_store
from dashboard.url_state import from_query
from data.access import disclosure
from data.store import queries
from data.store.filters import Filters

MAX_RECORDS = 100_000


@dataclass(frozen=True)
class Export:
    query: Callable[[object, Filters], pd.DataFrame]
    parts: tuple[str, ...] = ()          # count columns that disclosure control applies to
    total: str | None = None
    record_level: bool = False           # rows are individual records: refused without record-level access
    permission: str = "export"


EXPORTS: dict[str, Export] = {
    "boroughs": Export(queries.borough_table, parts=("ed", "police")),
    "incidents": Export(lambda store, f: _capped(queries.incident_records(store, f, MAX_RECORDS + 1)), record_level=True),
}


def _capped(df: pd.DataFrame) -> pd.DataFrame:
    if len(df) > MAX_RECORDS:
        abort(413, description=f"More than {MAX_RECORDS:,} records match: narrow the filter (fewer boroughs or a shorter period).")
    return df


def audited_export(name: str, df: pd.DataFrame, f: Filters, spec: Export) -> pd.DataFrame:
    """The frame as this viewer may take it away, with an audit row; 403 when not allowed."""
    scope = current_user.scope()
    who, ip = current_user.username, client_ip()
    filters = {"boroughs": list(f.boroughs), "from": f.start, "to": f.end, "scope": list(scope.boroughs or [])}
    if not current_user.can(spec.permission) or (spec.record_level and not scope.record_level):
        users().audit("export_refused", who, ip, {"export": name, "filters": filters})
        abort(403, description="Your role may not export record-level data.")
    out = disclosure.suppress_parts(df, list(spec.parts), scope.record_level, spec.total) if spec.parts else df
    users().audit("export", who, ip, {"export": name, "filters": filters}, rows=len(out))
    return out


def register_routes(server: Flask) -> None:
    @server.route("/download/<name>.csv")
    def download(name: str):
        spec = EXPORTS.get(name)
        if spec is None:
            abort(404)
        store = current_store()
        known = set(queries.boroughs(store)["code"])
        f, _ = from_query(request.query_string.decode("utf-8", "replace"), known, Filters())
        out = audited_export(name, spec.query(store, f), f, spec)
        buf = io.StringIO()
        out.to_csv(buf, index=False)
        return Response(buf.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="istv-{name}.csv"'})
