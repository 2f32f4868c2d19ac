"""Health check, request log, and the HTTP edge: bad input gets a short 4xx, never a traceback."""
from __future__ import annotations

import json
import logging

from app import create_app
from tests.fixtures import config_for


def _no_traceback(r):
    body = r.get_data(as_text=True)
    assert "Traceback" not in body and 'File "' not in body and len(body) < 500, body[:300]


def test_healthz_needs_no_sign_in_and_says_when_the_database_is_broken(client, tmp_path):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json == {"status": "ok"}
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"\x00" * 4096)
    app = create_app(config_for(bad, database_url=f"sqlite:///{tmp_path / 'u.sqlite'}"), prepare_database=False)
    r = app.server.test_client().get("/healthz")
    assert r.status_code == 503 and r.json["status"] == "error" and "not a readable ISTV database" in r.json["reason"]


def test_bad_callback_requests_get_short_4xx_and_the_worker_keeps_serving(client_as):
    c = client_as("analyst")
    cases = {
        "not json": c.post("/_dash-update-component", data="{{{", content_type="application/json"),
        "unknown ids": c.post("/_dash-update-component", json={"output": "nope.children", "outputs": {"id": "nope", "property": "children"},
                                                                "inputs": [{"id": "ghost", "property": "value", "value": 1}], "changedPropIds": ["ghost.value"]}),
        "wrong shape": c.post("/_dash-update-component", json={"output": "map-state.data", "inputs": "x"}),
        "oversized": c.post("/_dash-update-component", data="x" * 2_000_000, content_type="application/json"),
        "odd unicode": c.post("/_dash-update-component", json={"output": "audit-table.children", "outputs": {"id": "audit-table", "property": "children"},
                                                                "inputs": [{"id": "audit-action", "property": "value", "value": "\u202e\U0001f4a3\x00"},
                                                                           {"id": "audit-user", "property": "value", "value": "\ud7ff" * 50}],
                                                                "changedPropIds": ["audit-action.value"], "state": []}),
    }
    statuses = {name: r.status_code for name, r in cases.items()}
    assert statuses["not json"] == 400 and statuses["unknown ids"] in (400, 404) and statuses["wrong shape"] == 400
    assert statuses["oversized"] == 413
    assert statuses["odd unicode"] == 403  # the audit table is for admins: refused, not crashed
    for r in cases.values():
        _no_traceback(r)
    assert c.get("/_dash-layout").status_code == 200


def test_huge_query_strings_are_ignored_not_fatal(client_as):
    c = client_as("analyst")
    r = c.get("/download/boroughs.csv?borough=" + "E09000012," * 500)
    assert r.status_code == 200 and r.get_data(as_text=True).count("\n") == 35  # header + 33 boroughs + records placed in no borough: the link was ignored


def test_store_interrupts_a_query_past_its_time_limit(tiny_db):
    import time
    import pytest
    from data.store.db import QueryTimeout, Store
    slow = Store(tiny_db, timeout_s=0.2)
    t = time.perf_counter()
    with pytest.raises(QueryTimeout, match="longer than 0.2 s"):
        slow.df("SELECT count(*) FROM incidents a, incidents b WHERE a.lat + b.lat > 0")
    assert time.perf_counter() - t < 5
    assert slow.df("SELECT count(*) AS n FROM boroughs")["n"].iat[0] == 33  # the store still answers


def test_query_past_its_time_limit_is_a_503_with_advice(client_as, monkeypatch):
    from data.store.db import QueryTimeout, Store
    c = client_as("analyst")

    def too_slow(self, sql, params=(), **kw):
        raise QueryTimeout("a query took longer than 20 s")
    monkeypatch.setattr(Store, "df", too_slow)
    r = c.get("/download/incidents.csv")
    assert r.status_code == 503 and "narrow the filter" in r.json["error"]
    _no_traceback(r)


def test_record_export_over_the_cap_is_refused(client_as, monkeypatch):
    from dashboard import exports
    monkeypatch.setattr(exports, "MAX_RECORDS", 10)
    r = client_as("analyst").get("/download/incidents.csv")
    assert r.status_code == 413 and "More than 10 records" in r.json["error"]


def test_one_structured_log_line_per_request(client_as, caplog, store):
    from data.store import queries
    from data.store.filters import Filters
    c = client_as("analyst")
    with caplog.at_level(logging.INFO, logger="istv.requests"):
        c.get("/download/boroughs.csv")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "istv.requests"]
    line = next(x for x in lines if x["route"] == "/download/boroughs.csv")
    # the rows the borough table was read from: ED and police per month and borough, whole period
    read = len(queries.month_borough_counts.uncached(store, Filters()))
    assert line["status"] == 200 and line["user"] is not None and line["rows"] == read > 33 and line["ms"] > 0


def test_startup_objects_are_frozen_and_cached_polygons_cost_the_collector_nothing(dash_app):
    import gc
    from dashboard.ops import GC_THRESHOLDS
    from layers.hexes import cells_geojson
    assert gc.get_threshold() == GC_THRESHOLDS and gc.get_freeze_count() > 10_000
    coords = cells_geojson([0x8a195da49a4ffff])["features"][0]["geometry"]["coordinates"]
    for _ in range(3):  # one collection per level of nesting
        gc.collect()
    # tuples of floats: untracked once the collector has seen them (inner first, then the outer)
    assert not gc.is_tracked(coords[0][0]) and not gc.is_tracked(coords[0]) and not gc.is_tracked(coords)
