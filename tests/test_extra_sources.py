"""Extra incident sources (another agency's incidents): registering one, loading its files (CLI and upload),
and choosing it on the map, trends and tasking, with numbers checked against SQL written out here."""
from __future__ import annotations

import hashlib
import re
import shutil
from datetime import date, datetime
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from flask import Flask

from cli import register_cli
from config import CONFIG_KEY, Config
from data.ingest.extra import check_code
from data.store import queries
from data.store import queries_ops
from data.store.db import Store
from data.store.filters import ALL_SOURCES, Filters, incident_where

FILES = Path(__file__).resolve().parent / "data" / "upload"
LAS = FILES / "las_2025-03.csv"
WESTMINSTER = "E09000033"
MAP, SERIES, HEAT, SUMMARY = 0, 1, 2, 3


def _cli(db: Path, *args):
    server = Flask("extra")
    server.extensions[CONFIG_KEY] = Config(db_path=db, demo=False)
    register_cli(server)
    return server.test_cli_runner().invoke(args=list(args))


def _n(db_or_store, sql, params=()):
    store = db_or_store if hasattr(db_or_store, "df") else Store(db_or_store)
    return int(store.df(sql, list(params)).iloc[0, 0])


@pytest.fixture
def with_las(real_db, tmp_path) -> Path:
    db = tmp_path / "istv.duckdb"
    shutil.copyfile(real_db, db)
    r = _cli(db, "sources", "add", "las", "--name", "Ambulance assault call-outs", "--agency", "London Ambulance Service")
    assert r.exit_code == 0, r.output
    r = _cli(db, "load", "incidents", "--source", "las", str(LAS))
    assert r.exit_code == 0, r.output
    return db


# ---- registering and loading ----------------------------------------------------------------------

def test_a_source_is_registered_by_a_code_it_may_have(tmp_path, real_db):
    assert check_code(" LAS ") == "las"
    for bad in ("ed", "police", "x", "9lives", "a-b", "drop table"):
        with pytest.raises(ValueError):
            check_code(bad)
    db = tmp_path / "istv.duckdb"
    shutil.copyfile(real_db, db)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    r = _cli(db, "sources", "add", "police", "--name", "x", "--agency", "y")
    assert r.exit_code != 0 and "built in" in r.output and "nothing was changed" in r.output
    r = _cli(db, "load", "incidents", "--source", "btp", str(LAS))
    assert r.exit_code != 0 and "not registered" in r.output and "sources add btp" in r.output
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before  # refused: the database is byte for byte as it was


def test_loading_places_rows_by_coordinates_or_description_and_quarantines_the_rest(with_las):
    store = Store(with_las)
    assert _n(store, "SELECT count(*) FROM incidents WHERE source = 'las'") == 18
    assert _n(store, "SELECT count(*) FROM incidents WHERE source = 'las' AND time_precision = 'minute'") == 18
    # rows with coordinates keep them; rows with a description went through the geocoder
    assert _n(store, "SELECT count(*) FROM incidents WHERE source = 'las' AND location_text IS NULL "
                     "AND geocode_confidence = 'street'") == 14
    assert _n(store, "SELECT count(*) FROM incidents WHERE source = 'las' AND location_text IS NOT NULL") == 4
    assert _n(store, "SELECT count(*) FROM incidents WHERE source = 'las' AND severity IN ('C1', 'C2', 'C3')") == 18
    rules = dict(store.df("""SELECT rule, count(*) AS n FROM quarantine q JOIN load_log l USING (load_id)
                             WHERE l.kind = 'incidents' GROUP BY rule""").to_numpy())
    assert rules == {"no date: neither a date and time nor a month": 1,
                     "no place: neither coordinates nor a location description": 1,
                     "outside Greater London's bounding area (latitude 51.28 to 51.7, longitude -0.52 to 0.34)": 1}
    assert queries.extra_sources(store)["name"].tolist() == ["Ambulance assault call-outs"]


def test_loading_again_adds_nothing_and_a_changed_incident_replaces_the_stored_one(with_las, tmp_path):
    r = _cli(with_las, "load", "incidents", "--source", "las", str(LAS))
    assert "loaded 0" in r.output and "duplicates skipped 18" in r.output
    lines = LAS.read_text().splitlines()
    lines[1] = lines[1].replace(",assault,", ",assault - stab or gunshot,")
    changed = tmp_path / "las_2025-03_v2.csv"
    changed.write_text("\n".join(lines) + "\n")
    r = _cli(with_las, "load", "incidents", "--source", "las", str(changed))
    assert "loaded 1" in r.output and "replaced 1" in r.output
    assert _n(with_las, "SELECT count(*) FROM incidents WHERE source = 'las'") == 18
    assert _n(with_las, "SELECT count(*) FROM incidents WHERE source_id = 'LAS-202503-0001' AND category LIKE '%stab%'") == 1


# ---- the filter model -----------------------------------------------------------------------------

def test_a_view_with_another_agencys_records_counts_whole_months_and_hours_keep_only_timed_ones():
    f = Filters(start=date(2025, 3, 3), end=date(2025, 3, 20), sources=("ed", "las"))
    assert f.extras == ("las",) and f.in_months
    assert (f.counted().start, f.counted().end) == (date(2025, 3, 1), date(2025, 3, 31))
    timed = f.with_(hours=(22, 6))
    assert not timed.in_months and timed.counted() == timed
    w = incident_where(timed)
    assert "time_precision = 'minute'" in w.sql and "las" in w.params
    with pytest.raises(ValueError):
        Filters(sources=("ed", "Robert'); DROP TABLE incidents;--",))


def test_unit_counts_add_the_extra_source_to_the_total_and_equal_sql(with_las):
    store = Store(with_las)
    f = Filters(boroughs=(WESTMINSTER,), start=date(2025, 3, 1), end=date(2025, 3, 31), sources=ALL_SOURCES + ("las",))
    c = queries.unit_counts(store, f, "h3_r8")
    las = _n(store, f"""SELECT count(*) FROM incidents WHERE source = 'las' AND borough_code = '{WESTMINSTER}'
                        AND month = DATE '2025-03-01' AND h3_r8 IS NOT NULL AND geocode_confidence IN ('street', 'venue')""")
    assert las > 5 and int(c["other"].sum()) == las
    assert (c["total"] == c["ed"] + c["police"] + c["other"]).all()
    without = queries.unit_counts(store, f.with_(sources=ALL_SOURCES), "h3_r8")
    assert int(without["other"].sum()) == 0 and int(c["total"].sum()) == int(without["total"].sum()) + las
    assert queries.totals(store, f)["other"] == _n(store, f"""SELECT count(*) FROM incidents WHERE source = 'las'
                                                              AND borough_code = '{WESTMINSTER}' AND month = DATE '2025-03-01'""")


# ---- the pages (the demo database has a synthetic ambulance source) --------------------------------

def test_demo_ambulance_calls_follow_the_ed_attendances(store):
    assert queries.extra_sources(store)["source"].tolist() == ["las"]
    by = store.df("""SELECT borough_code, count(*) FILTER (WHERE source = 'ed') AS ed,
                            count(*) FILTER (WHERE source = 'las') AS las
                     FROM incidents WHERE borough_code IS NOT NULL GROUP BY 1""")
    ed, las = (_n(store, f"SELECT count(*) FROM incidents WHERE source = '{s}'") for s in ("ed", "las"))
    assert 0.35 < las / ed < 0.55  # brought in by ambulance, plus call-outs treated at the scene
    assert np.corrcoef(by["ed"], by["las"])[0, 1] > 0.8  # where ED assaults are, ambulance call-outs are


def test_the_map_counts_a_chosen_extra_source_in_cards_hover_and_series(signed_in, store):
    query = f"?borough={WESTMINSTER}&from=2025-01-01&to=2025-06-30&src=ed,police,las"
    with signed_in("analyst"):
        out = __import__("dashboard.pages.map", fromlist=["render"]).render(query, None)
    las = _n(store, f"""SELECT count(*) FROM incidents WHERE source = 'las' AND borough_code = '{WESTMINSTER}'
                        AND month BETWEEN DATE '2025-01-01' AND DATE '2025-06-01'""")
    assert las > 0
    assert re.search(r"children='([^']*)', id='summary-other'", str(out[SUMMARY])).group(1) == f"{las:,}"
    assert "Ambulance assault call-outs" in str(out[SUMMARY])
    series = {t.name: t for t in go.Figure(out[SERIES]).data}
    assert int(np.nansum(series["Ambulance assault call-outs"].y)) == las
    hover = [row[4] for row in out[MAP]["data"][0]["customdata"]]
    assert all(h.startswith("<br>Ambulance assault call-outs: ") for h in hover)
    with signed_in("analyst"):
        plain = __import__("dashboard.pages.map", fromlist=["render"]).render(query.replace(",las", ""), None)
    assert "summary-other" not in str(plain[SUMMARY])


def test_a_protected_viewer_sees_the_extra_source_through_the_protection(signed_in):
    with signed_in("csp"):  # Hackney, protected counts
        out = __import__("dashboard.pages.map", fromlist=["render"]).render("?src=ed,police,las", None)
    shown = [re.search(r"call-outs: (.*)$", row[4]).group(1) for row in out[MAP]["data"][0]["customdata"]]
    # small counts hidden, a part that would give a hidden one back by subtraction hidden too, the rest rounded
    assert shown and all(v in ("<5", "*", "0") or int(v.replace(",", "")) % 5 == 0 for v in shown)
    assert "<5" in shown


def test_trends_draw_the_chosen_source_and_tasking_counts_it(signed_in, store):
    from dashboard.pages import tasking, trends
    with signed_in("analyst"):
        out = trends.update_view([WESTMINSTER], "2025-01", "2025-06", "count", "police", ["las"])
        series = {t.name: t for t in go.Figure(out[1]).data}
        las = _n(store, f"""SELECT count(*) FROM incidents WHERE source = 'las' AND borough_code = '{WESTMINSTER}'
                            AND month BETWEEN DATE '2025-01-01' AND DATE '2025-06-01'""")
        assert int(np.nansum(series["Ambulance assault call-outs"].y)) == las
        assert "src=ed%2Cpolice%2Clas" in out[-1]
        plain = trends.update_view([WESTMINSTER], "2025-01", "2025-06", "count", "police", [])
        assert "Ambulance assault call-outs" not in {t.name for t in go.Figure(plain[1]).data}
        t_out = tasking.update_view([WESTMINSTER], "2025-03-01", "2025-05-31", "baseline", 20, "busiest", ["las"])
        f = Filters(boroughs=(WESTMINSTER,), start=date(2025, 3, 1), end=date(2025, 5, 31), sources=ALL_SOURCES + ("las",))
        other = queries_ops.tasking_totals(store, f)["other"]
        assert other > 0 and re.search(r"children='([^']*)', id='tasking-other'", str(t_out[0])).group(1) == f"{other:,}"
        assert all(r["total"] == r["ed"] + r["police"] + r["other"] for r in t_out[1])
        assert "other" in [c["field"] for c in t_out[-1]]
        assert sum(r["other"] for r in t_out[1]) > 0
        # a code nobody registered counts nothing and is dropped
        assert "tasking-other" not in str(tasking.update_view([WESTMINSTER], "2025-03-01", "2025-05-31", "baseline", 20,
                                                              "busiest", ["btp"])[0])


def test_the_standard_page_publishes_the_format_and_the_registered_sources(signed_in):
    from dashboard.pages import standard
    with signed_in("csp"):
        page = str(standard.layout())
    assert "Another agency&#x27;s incidents" in page or "Another agency's incidents" in page
    assert "flask --app app load incidents --source CODE FILE" in page
    assert "Ambulance assault call-outs (London Ambulance Service)" in page


def test_an_analyst_sends_another_agencys_file_on_the_upload_page_and_a_data_lead_may_not(with_las, tmp_path):
    import io
    import json
    import time
    from app import create_app
    from dashboard.auth import USERS_KEY
    from data.ingest import jobs as uploads
    from tests.conftest import sign_in
    from tests.fixtures import config_for
    app = create_app(config_for(with_las, demo=False, database_url=f"sqlite:///{tmp_path / 'users.sqlite'}"))
    users = app.server.extensions[USERS_KEY]
    users.add("ana", "Pipit-granite-6620", "analyst", by="test")
    users.add("lead", "Pipit-granite-6620", "health", (), ("RRV03",), by="test")

    def client(who):
        c = app.server.test_client()
        assert sign_in(c, who, "Pipit-granite-6620").status_code == 302
        with c.session_transaction() as s:
            return c, s["csrf"]
    lines = LAS.read_text().splitlines()
    april = "\n".join([lines[0]] + [ln.replace("202503", "202504").replace("2025-03-", "2025-04-") for ln in lines[1:19]])
    lead, token = client("lead")
    r = lead.post("/upload/ed", data={"file": (io.BytesIO(april.encode()), "las_2025-04.csv"), "kind": "las"},
                  content_type="multipart/form-data", headers={"X-CSRF-Token": token})
    assert r.status_code == 403 and "may not send files of that kind" in r.get_json()["error"]
    ana, token = client("ana")
    r = ana.post("/upload/ed", data={"file": (io.BytesIO(april.encode()), "las_2025-04.csv"), "kind": "las"},
                 content_type="multipart/form-data", headers={"X-CSRF-Token": token})
    assert r.status_code == 200
    spool = uploads.Jobs(app.server.extensions[CONFIG_KEY].uploads_path)
    owner = users.by_username("ana").id
    for _ in range(200):
        job = spool.get(r.get_json()["job"], owner)
        if job.state != "checking":
            break
        time.sleep(0.05)
    assert job.state == "checked" and job.summary["rows_ok"] == 18 and job.source == "las"
    uploads.run_load(spool, job, with_las, app.server.extensions[CONFIG_KEY].upload_max_bytes)
    assert spool.get(job.id, owner).receipt["rows_loaded"] == 18
    assert _n(with_las, "SELECT count(*) FROM incidents WHERE source = 'las' AND month = DATE '2025-04-01'") == 18
    assert _n(with_las, "SELECT count(*) FROM load_log WHERE kind = 'incidents' AND loaded_by = 'upload:ana'") == 1


def test_the_trends_csv_holds_the_chosen_source_like_its_chart(client_as, store):
    import csv
    import io
    text = client_as("analyst").get(f"/download/strategic/trends-monthly.csv?borough={WESTMINSTER}"
                                     "&from=2025-01-01&to=2025-06-30&src=ed,police,las").get_data(as_text=True)
    assert "other = Ambulance assault call-outs" in text.splitlines()[0]
    rows = list(csv.DictReader(io.StringIO("\n".join(l for l in text.splitlines() if not l.startswith("#")))))
    las = _n(store, f"""SELECT count(*) FROM incidents WHERE source = 'las' AND borough_code = '{WESTMINSTER}'
                        AND month BETWEEN DATE '2025-01-01' AND DATE '2025-06-01'""")
    assert sum(int(r["other"]) for r in rows) == las
    plain = client_as("analyst").get(f"/download/strategic/trends-monthly.csv?borough={WESTMINSTER}"
                                      "&from=2025-01-01&to=2025-06-30").get_data(as_text=True)
    assert ",other" not in plain.splitlines()[1]
