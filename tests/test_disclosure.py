"""Disclosure control on a hand-made database where Hackney has exactly 3 ED assaults."""
from __future__ import annotations

import pandas as pd
import pytest
import shapely

from app import create_app
from dashboard.pages import map as map_page
from data.access import disclosure
from data.demo.build import insert_tables
from data.ingest.enrich import locate
from data.store.db import build
from tests.conftest import sign_in
from tests.fixtures import config_for

HACKNEY, WESTMINSTER = "E09000012", "E09000033"


def _square(lon, lat, d=0.02):
    return shapely.to_wkb(shapely.box(lon - d, lat - d, lon + d, lat + d))


def _incidents(rows):
    df = pd.DataFrame(rows, columns=["source", "occurred_at", "borough_code", "lat", "lon", "category"])
    df["occurred_at"] = pd.to_datetime(df["occurred_at"])
    df["month"] = df["occurred_at"].dt.to_period("M").dt.to_timestamp()
    df["time_precision"] = df["source"].map({"ed": "minute", "police": "month"})
    df["incident_id"] = range(1, len(df) + 1)
    df["record_hash"] = pd.Series(range(1, len(df) + 1), dtype="uint64")
    df["geocode_confidence"] = "street"
    return pd.concat([df, locate(df["lat"], df["lon"], None)], axis=1)


@pytest.fixture(scope="module")
def small_app(tmp_path_factory):
    path = tmp_path_factory.mktemp("small") / "small.duckdb"
    ed = [("ed", "2025-01-10 23:30", HACKNEY, 51.5450, -0.0550, "04")] * 3
    police = [("police", "2025-01-01 00:00", HACKNEY, 51.5600, -0.0700, "Violence and sexual offences")] * 12
    west = [("police", "2025-01-01 00:00", WESTMINSTER, 51.5130, -0.1340, "Violence and sexual offences")] * 20
    tables = {
        "boroughs": pd.DataFrame({"code": [HACKNEY, WESTMINSTER], "name": ["Hackney", "Westminster"],
                                  "population": [259_200, 204_300], "lat": [51.55, 51.51], "lon": [-0.06, -0.14],
                                  "geom_wkb": [_square(-0.06, 51.55), _square(-0.14, 51.51)]}),
        "incidents": _incidents(ed + police + west),
    }
    build(path, lambda con: insert_tables(con, tables))
    return create_app(config_for(path, demo=True, database_url=f"sqlite:///{path.parent / 'users.sqlite'}"))


def _view(app, username):
    from flask_login import login_user
    from dashboard.auth import USERS_KEY
    with app.server.test_request_context("/"):
        login_user(app.server.extensions[USERS_KEY].by_username(username))
        fig_map, fig_series, _, summary, table, *_ = map_page.render(f"?borough={HACKNEY}&from=2025-01-01&to=2025-01-31", None)
        return fig_map, fig_series, summary, table


def test_analyst_sees_three_everywhere(small_app):
    fig_map, fig_series, summary, table = _view(small_app, "analyst")
    units = fig_map["data"][0]
    assert [row[:3] for row in units["customdata"] if row[0] == 3] == [[3, 0, 3]]
    assert units["colorbar"]["ticktext"][0] == "1–4"
    assert "'3'" in str(table) or "children=3" in str(table)
    assert fig_series["data"][0]["y"] == [3]
    assert "summary-ed" in str(summary) and "'3'" in str(summary)
    c = small_app.server.test_client()
    sign_in(c, "analyst")
    csv = c.get(f"/download/boroughs.csv?borough={HACKNEY}&from=2025-01-01&to=2025-01-31").get_data(as_text=True)
    assert csv.splitlines()[1] == f"{HACKNEY},Hackney,259200,3,12"


def test_csp_sees_fewer_than_five_everywhere(small_app):
    fig_map, fig_series, summary, table = _view(small_app, "csp")
    units = fig_map["data"][0]
    assert units["colorbar"]["ticktext"][0] == "fewer than 5"
    small = [row for z, row in zip(units["z"], units["customdata"]) if z == 0]
    assert len(small) == 1 and small[0][:3] == ["<5", 0, "<5"]
    assert not any(3 in row[:3] for row in units["customdata"])
    assert "<5" in str(table) and "'3'" not in str(table)
    assert fig_series["data"][0]["text"][0] == "<5" and fig_series["data"][0]["y"][0] is None
    assert "'<5'" in str(summary) and "'*'" in str(summary)  # the ED/police ratio would reveal it
    c = small_app.server.test_client()
    sign_in(c, "csp")
    csv = c.get(f"/download/boroughs.csv?borough={HACKNEY}&from=2025-01-01&to=2025-01-31").get_data(as_text=True)
    # csp is protected: 12 police crimes are perturbed (at most 2) and rounded to 5
    assert csv.splitlines()[1] in (f"{HACKNEY},Hackney,259200,<5,10", f"{HACKNEY},Hackney,259200,<5,15")


def test_disclosure_rules_on_a_table():
    df = pd.DataFrame({"ed": [3, 0, 7, 2], "police": [9, 4, 8, 1], "total": [12, 4, 15, 3]})
    shown = disclosure.suppress_parts(df, ["ed", "police"], record_level=False, total="total")
    assert shown.to_dict("list") == {"ed": ["<5", 0, 7, "<5"], "police": ["*", "<5", 8, "<5"], "total": [12, "<5", 15, "<5"]}
    assert disclosure.suppress_parts(df, ["ed", "police"], True, "total").to_dict("list") == df.to_dict("list")
    assert disclosure.ratio(3, 12, False) == "*" and disclosure.ratio(30, 12, False) == "2.50"
    assert disclosure.ratio(3, 0, True) == "–" and disclosure.show(0, False) == 0 and disclosure.show(4, False) == "<5"
