"""Operations: health check, one structured log line per request, and errors that never show a traceback.

- GET /healthz (no sign-in, no data): 200 when the database file opens as an ISTV database,
  503 with the reason otherwise, for load balancers.
- Every request is logged as one JSON line: route, method, status, user id, duration, rows read
  from the store, response bytes.
- Errors answer with a short message: 4xx for requests the server cannot understand (malformed
  or oversized callback payloads, unknown component ids), 503 for a query past its time limit,
  500 for anything else; the traceback goes to the log, never into the response.
"""
from __future__ import annotations

import json
import logging
import time

from flask import Flask, Response, g, jsonify, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from config import Config
from data.errors import StoreError
from data.store.db import QueryTimeout

log = logging.getLogger("istv.requests")
errors = logging.getLogger("istv.errors")
API_PREFIXES = ("/_dash-", "/download/", "/healthz")


def count_rows(n: int) -> None:
    """Add rows read from the store to the current request's log line."""
    try:
        g.istv_rows = g.get("istv_rows", 0) + int(n)
    except RuntimeError:  # outside a request (CLI): nothing to log
        pass


def _reply(status: int, message: str):
    if request.path.startswith(API_PREFIXES) or request.is_json:
        return jsonify(error=message), status
    return Response(f"{status}: {message}\n", status=status, mimetype="text/plain")


def init_ops(server: Flask, config: Config, store_key: str) -> None:
    server.config["MAX_CONTENT_LENGTH"] = config.max_request_bytes

    @server.route("/healthz")
    def healthz():
        try:
            server.extensions[store_key].check()
        except StoreError as exc:
            return jsonify(status="error", reason=str(exc)), 503
        return jsonify(status="ok")

    @server.before_request
    def start_clock():
        g.istv_t0 = time.perf_counter()
        g.istv_rows = 0

    @server.after_request
    def log_request(response):
        t0 = g.get("istv_t0")
        if t0 is not None and not request.path.startswith(("/assets/", "/_dash-component-suites/")):
            user = current_user.get_id() if current_user and current_user.is_authenticated else None
            log.info(json.dumps({"route": request.path, "method": request.method, "status": response.status_code,
                                 "user": user, "ms": round((time.perf_counter() - t0) * 1000, 1),
                                 "rows": g.get("istv_rows", 0), "bytes": response.calculate_content_length()}))
        return response

    @server.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _reply(exc.code or 500, exc.description or exc.name)

    @server.errorhandler(QueryTimeout)
    def too_slow(exc: QueryTimeout):
        errors.warning("query timeout on %s: %s", request.path, exc)
        return _reply(503, "This view took too long to compute: narrow the filter (fewer boroughs or a shorter period).")

    @server.errorhandler(StoreError)
    def data_unavailable(exc: StoreError):
        errors.error("store unavailable on %s: %s", request.path, exc)
        return _reply(503, "The data is unavailable at the moment; try again shortly.")

    @server.errorhandler(Exception)
    def unexpected(exc: Exception):
        # a callback request no page can send (unknown ids, wrong shapes) is the client's fault
        if request.path == "/_dash-update-component" and isinstance(exc, (KeyError, TypeError, IndexError, ValueError, AttributeError)):
            errors.info("bad callback request %s: %r", request.path, exc)
            return _reply(400, "This request could not be understood.")
        errors.exception("error on %s", request.path)
        return _reply(500, "Something went wrong on the server; it has been logged.")


GC_THRESHOLDS = (20_000, 20, 20)   # CPython's default is (700, 10, 10)


def settle_memory() -> None:
    """Once the app is built: move everything built so far (Dash, plotly, the layouts, the demo
    check) out of the garbage collector's sight and let it run less often.

    A request allocates tens of thousands of short-lived containers (DataFrames, figure lists),
    so with the default thresholds CPython ran a full collection every few requests, each walking
    every long-lived object: 150 ms pauses at the 10M-incident scale, the p95 of a map click.
    Frozen before gunicorn forks the workers (--preload), the startup objects are also never
    written to by the collector, so the workers keep sharing those memory pages."""
    import gc
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)

