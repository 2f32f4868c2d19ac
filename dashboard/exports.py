"""Downloads: one function writes every export, so disclosure rules and auditing apply to all.

GET /download/<name>.csv?<the page's query string> → CSV of what the page shows, for the
signed-in user's scope, with small counts suppressed for roles without record-level access.
Record-level exports are refused to those roles. Every export, and every refusal, is audited
with the whole view (every filter, the page's own parameters, the query string).

Every download route follows the same order: `require_export` (permission, and record-level
access where the rows are records) before any store query, then the query, then
`audited_export` (disclosure + audit row), then `csv_response` (formula cells neutralised,
filename sanitised) for CSV files.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, fields
from datetime import date
from typing import Callable, Iterable, NoReturn
from urllib.parse import parse_qs, quote

import pandas as pd
from flask import Flask, Response, abort, request
from flask_login import current_user

from dashboard.auth import client_ip, users
from dashboard.context import current_scope, current_store
from dashboard.url_state import from_query
from data.access import disclosure
from data.store import queries
from data.store.filters import Filters

MAX_RECORDS = 100_000
MAX_AUDITED_QUERY = 2000        # characters of the raw query string kept in an audit row
FILTER_KEYS = frozenset({"borough", "from", "to", "src", "pcat", "method", "hours", "days", "conf", "unit", "place"})


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


# ---- what an audit row records ------------------------------------------------------------------

def _plain(value):
    """A value as JSON holds it: dates as ISO strings, tuples and sets as lists."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (tuple, list, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def filter_state(f: Filters) -> dict:
    """Every field of the filter model, JSON-ready (dates as ISO strings)."""
    return {fld.name: _plain(getattr(f, fld.name)) for fld in fields(f)}


def raw_query() -> str:
    return request.query_string.decode("utf-8", "replace")


def requested_filters(query: str) -> Filters:
    """The filter a query string asks for, read without the store (a refusal must not query it):
    borough codes are taken as asked, the scope still limits any query that runs later."""
    asked = parse_qs(query.lstrip("?")).get("borough", [""])[0]
    return from_query(query, {b for b in asked.split(",") if b}, Filters())[0]


def requested_view(query: str) -> dict:
    """The page's own parameters in a query string (everything that is not part of the filter model)."""
    return {k: v[0][:200] for k, v in parse_qs(query.lstrip("?")).items() if k not in FILTER_KEYS}


def audit_detail(name: str, f: Filters, view: dict | None = None) -> dict:
    """An export's audit detail: its name, the whole filter (with the viewer's borough scope), the page's
    view parameters and the raw query string."""
    scope = current_scope()
    return {"export": name, "filters": {**filter_state(f), "scope": list(scope.boroughs or [])},
            "view": _plain(view or {}), "query": raw_query()[:MAX_AUDITED_QUERY]}


# ---- the checks ---------------------------------------------------------------------------------

def refuse(name: str, description: str, f: Filters | None = None, view: dict | None = None) -> NoReturn:
    """403 with an `export_refused` audit row holding the view that was asked for."""
    query = raw_query()
    detail = audit_detail(name, requested_filters(query) if f is None else f,
                          requested_view(query) if view is None else view)
    users().audit("export_refused", current_user.username, client_ip(), detail)
    abort(403, description=description)


def require_export(name: str, *permissions: str, record_level: bool = False) -> None:
    """Call before any store query: 403 (audited) unless the viewer may export and has `permissions`
    (and, for record-level exports, record-level access)."""
    if not current_user.is_authenticated:
        abort(401)
    if not all(current_user.can(p) for p in ("export", *permissions)):
        refuse(name, "Your role may not take this export.")
    if record_level and not current_scope().record_level:
        refuse(name, "Your role may not export record-level data.")


def audited_export(name: str, df: pd.DataFrame, f: Filters, spec: Export, view: dict | None = None,
                   exact: bool | None = None) -> pd.DataFrame:
    """The frame as this viewer may take it away, with an audit row; 403 when not allowed.

    exact: the viewer sees these numbers exactly (default: their scope's level; an ED's data lead's own
    sites are exact whatever it is). Routes call `require_export` before querying; the check here is the
    second line of defence."""
    scope = current_scope()
    if not current_user.can(spec.permission) or (spec.record_level and not scope.record_level):
        refuse(name, "Your role may not export record-level data.", f, view)
    exact = scope.exact if exact is None else exact
    out = disclosure.suppress_parts(df, list(spec.parts), exact, spec.total) if spec.parts else df
    users().audit("export", current_user.username, client_ip(), audit_detail(name, f, view), rows=len(out))
    return out


# ---- safe files ---------------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection: what a spreadsheet may run
_NUMBER = re.compile(r"[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?(?: ?%)?")


def neutralise_cell(value):
    """A text cell a spreadsheet would run as a formula, with a leading ' (signed numbers like "-2" stay)."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of the frame with every formula-like text cell neutralised; numeric columns untouched."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = s.astype(object).map(neutralise_cell)
    return out


def safe_filename(name: str) -> str:
    """Only ASCII letters, digits, '.', '-' and '_'; anything else becomes '_'."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "download"


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback and the UTF-8 name (letters and digits of any script kept)."""
    utf8 = re.sub(r"[^\w.-]", "_", filename).lstrip(".") or "download"
    return f"attachment; filename=\"{safe_filename(filename)}\"; filename*=UTF-8''{quote(utf8, safe='')}"


def csv_response(df: pd.DataFrame, filename: str, preamble_lines: Iterable[str] = ()) -> Response:
    """The one way a CSV leaves the server: '#' comment lines, then the frame with formula cells
    neutralised, as an attachment with a sanitised filename."""
    buf = io.StringIO()
    for line in preamble_lines:
        line = " ".join(str(line).splitlines())  # a line break in a comment would start a row
        buf.write((line if line.startswith("#") else "# " + line) + "\n")
    neutralise(df).to_csv(buf, index=False)
    return Response(buf.getvalue(), mimetype="text/csv", headers={"Content-Disposition": content_disposition(filename)})


def register_routes(server: Flask) -> None:
    @server.route("/download/<name>.csv")
    def download(name: str):
        spec = EXPORTS.get(name)
        if spec is None:
            abort(404)
        require_export(name, spec.permission, record_level=spec.record_level)
        store = current_store()
        known = set(queries.boroughs(store)["code"])
        query = raw_query()
        f, _ = from_query(query, known, Filters())
        out = audited_export(name, spec.query(store, f), f, spec, requested_view(query))
        return csv_response(out, f"istv-{name}.csv")

    @server.route("/download/<path:rest>")
    def no_such_download(rest: str):
        # without this, Dash's catch-all page route would answer unknown download paths with its HTML page
        abort(404)
