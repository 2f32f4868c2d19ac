"""The real public samples in ../shared/realdata load with exact counts (skipped when absent)."""
from __future__ import annotations

from collections import Counter

import pytest

from data.store import queries
from data.store.filters import Filters
from data.ingest.rules import bbox_rule
from data.store.db import Store
from tests.test_ingest_fixtures import REAL, count, load, needs_real, quarantined, rows

pytestmark = needs_real
NO_POINT = "no coordinates (police.uk publishes some crimes without a map point)"
# file: (read, loaded, quarantined by reason, duplicates). The City files repeat some crime IDs
# (at another point, or with another outcome): each ID is one crime, stored once, so loaded =
# the distinct crime IDs of located rows + the anti-social behaviour rows (no ID), as
# test_loaded_is_one_row_per_crime_id_plus_the_anti_social_behaviour_rows counts them with pandas
POLICE = {
    "2024-12-city-of-london-street.csv": (766, 664, {NO_POINT: 89}, 13),
    "2025-01-city-of-london-street.csv": (629, 557, {NO_POINT: 62}, 10),
    "2025-01-metropolitan-street-subset.csv": (71, 71, {}, 0),
    "2025-02-city-of-london-street.csv": (701, 634, {NO_POINT: 62}, 5),
    "2025-03-city-of-london-street.csv": (763, 704, {NO_POINT: 52, bbox_rule(): 1}, 6),
    "2025-04-city-of-london-street.csv": (738, 681, {NO_POINT: 42, bbox_rule(): 4}, 11),
    "2025-05-city-of-london-street.csv": (778, 712, {NO_POINT: 42, bbox_rule(): 7}, 17),
}


@pytest.fixture(scope="module")
def london(tmp_path_factory):
    """A database built only from the real files: boroughs, Westminster streets, pubs, all police months."""
    db = tmp_path_factory.mktemp("real") / "istv.duckdb"
    reports = {}
    reports["boroughs"] = load("boroughs", REAL / "london_boroughs.geojson", db)
    reports["streets"] = load("streets", REAL / "westminster_streets_osm.geojson", db)
    reports["premises"] = load("premises", REAL / "london_pubs.csv", db, licence_type="pub")
    reports["police"] = load("police", sorted((REAL / "police_uk").glob("*.csv")), db)
    return db, reports


def test_every_police_file_is_counted_exactly(london):
    _, reports = london
    got = {r.file.rsplit("/", 1)[-1]: (r.rows_read, r.rows_loaded, dict(r.quarantined), r.duplicates)
           for r in reports["police"]}
    assert got == POLICE
    assert all(r.rows_read == r.rows_loaded + r.rows_quarantined + r.duplicates for r in reports["police"])


def test_loaded_is_one_row_per_crime_id_plus_the_anti_social_behaviour_rows(london):
    import pandas as pd
    db, reports = london
    for r in reports["police"]:
        raw = pd.read_csv(r.file, dtype=str, keep_default_na=False)
        lat, lon = pd.to_numeric(raw["Latitude"], errors="coerce"), pd.to_numeric(raw["Longitude"], errors="coerce")
        located = raw[lat.between(51.28, 51.70) & lon.between(-0.52, 0.34)]
        ids = located.loc[located["Crime ID"] != "", "Crime ID"]
        assert r.rows_loaded == ids.nunique() + int((located["Crime ID"] == "").sum()), r.file
    assert rows(db, "SELECT count(*) - count(DISTINCT source_id) FROM incidents WHERE source_id IS NOT NULL") == [(0,)]


def test_police_rows_outside_london_are_quarantined_with_their_point(london):
    db, _ = london
    outside = rows(db, """SELECT value FROM quarantine JOIN load_log USING (load_id)
                          WHERE kind = 'police' AND rule = ? ORDER BY load_id, line""", [bbox_rule()])
    assert len(outside) == 12
    assert ("-1.778270",) in outside  # Swindon, in the March City of London file


def test_the_33_boroughs_and_every_loaded_crime_in_one(london):
    db, reports = london
    [b] = reports["boroughs"]
    assert (b.rows_read, b.rows_loaded) == (33, 33)
    assert rows(db, "SELECT min(code), max(code), count(*) FROM boroughs") == [("E09000001", "E09000033", 33)]
    assert count(db, "incidents", "borough_code IS NULL") == 0
    # the City of London force's crimes fall mostly in the City
    assert rows(db, "SELECT borough_code FROM incidents GROUP BY 1 ORDER BY count(*) DESC LIMIT 1") == [("E09000001",)]


def test_westminster_network_directed_duplicates_become_one_block(london):
    db, reports = london
    [s] = reports["streets"]
    assert (s.rows_read, s.rows_loaded) == (7478, 7478)
    n, length, named = rows(db, "SELECT count(*), sum(length_m), count(street) FROM blocks")[0]
    # 7,478 directed edges hold 4,733 distinct undirected lines (353,504.5 m, against 567,420 m counted per
    # direction); 78 pairs of them meet where no third street does and share a name, so 4,655 blocks
    assert (n, named) == (4655, 4589)
    assert length == pytest.approx(353_504.5, abs=1.0)
    assert rows(db, "SELECT count(*) FROM (SELECT node_u, node_v, geom_wkb FROM blocks GROUP BY ALL HAVING count(*) > 1)") == [(0,)]
    assert count(db, "blocks", "street = 'Oxford Street'") > 10


def test_pubs_with_national_grid_and_wgs84(london):
    db, reports = london
    [p] = reports["premises"]
    assert (p.rows_read, p.rows_loaded, dict(p.quarantined)) == (2678, 2675, {bbox_rule(): 3})
    assert [line for line, *_ in quarantined(db, p_load_id(db))] == [1137, 2104, 2305]  # '\N' coordinates
    assert Counter(r[0] for r in rows(db, "SELECT licence_type FROM premises")) == {"pub": 2675}
    assert count(db, "premises", "borough_code = 'E09000033' AND block_id IS NOT NULL") > 300


def p_load_id(db) -> int:
    return rows(db, "SELECT load_id FROM load_log WHERE kind = 'premises'")[0][0]


def test_the_dashboard_queries_show_real_london(london):
    db, _ = london
    store = Store(db)
    assert len(queries.borough_outlines(store, ())) == 33
    f = Filters()
    cells = queries.hex_counts(store, f, 8)
    assert cells["police"].sum() == count(db, "incidents", "category = 'Violence and sexual offences'") > 0
    series = queries.monthly_series(store, f)
    assert [m.strftime("%Y-%m") for m in series["month"]] == ["2024-12", "2025-01", "2025-02", "2025-03", "2025-04", "2025-05"]
