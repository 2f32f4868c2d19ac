"""A database built only with `flask --app app load ...` from real files serves the premises queries.

The premises page and its exports join `geocode_matches` (what the geocoder matched for each ED
record). It belongs to the store's schema: every ED load writes one row per loaded record and
`geocode --rerun` replaces them, so a real deployment never needs the demo builder for it.
"""
from __future__ import annotations

from datetime import date

import pytest
from flask import Flask

from cli.data import register_cli as register_data_cli
from cli.geocode import register_cli as register_geocode_cli
from config import CONFIG_KEY
from data.store import queries_ops
from data.store.db import Store
from data.store.filters import Filters
from tests.fixtures import config_for
from tests.test_ingest_fixtures import DATA, REAL, needs_real, rows

pytestmark = needs_real
JANUARY = Filters(start=date(2025, 1, 1), end=date(2025, 1, 31))
# City of London pubs named in a second ED submission (each name appears once in london_pubs.csv),
# plus a home and a blank description
CITY_ED = """reporting_period_start,reporting_period_end,site_code,arrival_datetime,assault_datetime,assault_method,assault_method_other,assault_location_type,assault_location_description,record_id
2025-01-01,2025-01-31,R1H12,2025-01-10 23:50,2025-01-10 23:15,04,,01,outside the Astronomer Middlesex Street,C1
2025-01-01,2025-01-31,R1H12,2025-01-11 00:40,2025-01-11 00:05,01,,01,Bavarian Beerhouse crutched friars,C2
2025-01-01,2025-01-31,R1H12,2025-01-12 01:10,2025-01-12 00:20,01,,01,inside the Bishops Finger West Smithfield,C3
2025-01-01,2025-01-31,R1H12,2025-01-13 02:00,2025-01-13 01:30,01,,03,at home,C4
2025-01-01,2025-01-31,R1H12,2025-01-14 02:00,2025-01-14 01:30,99,,99,,C5
"""


def _runner(db):
    server = Flask("real-only")
    server.extensions[CONFIG_KEY] = config_for(db)
    register_data_cli(server)
    register_geocode_cli(server)
    return server.test_cli_runner()


@pytest.fixture(scope="module")
def real_only(tmp_path_factory):
    """Boroughs, pubs as premises, the City police months and two ED submissions, loaded by the CLI."""
    tmp = tmp_path_factory.mktemp("real_only")
    db = tmp / "istv.duckdb"
    city_ed = tmp / "r1h12-2025-01.csv"
    city_ed.write_text(CITY_ED)
    cli = _runner(db)
    for args in (["boroughs", str(REAL / "london_boroughs.geojson")],
                 ["premises", str(REAL / "london_pubs.csv"), "--licence-type", "pub"],
                 ["police", *map(str, sorted((REAL / "police_uk").glob("*city-of-london*.csv")))],
                 ["istv", str(DATA / "ed_submission.csv"), str(city_ed)]):
        out = cli.invoke(args=["load", *args])
        assert out.exit_code == 0, out.output
    assert rows(db, "SELECT count(*) FROM meta WHERE key = 'demo'") == [(0,)]
    return db


def _one_row_per_ed_record(db) -> None:
    ed = rows(db, "SELECT incident_id FROM incidents WHERE source = 'ed' ORDER BY 1")
    assert len(ed) == 4 + 5  # the good rows of ed_submission.csv and all five of the City file
    assert rows(db, "SELECT incident_id FROM geocode_matches ORDER BY 1") == ed


def _named_expected(db) -> dict[str, int]:
    """ED records of January whose match names a stored premises, counted per premises in SQL."""
    return dict(rows(db, """SELECT p.premises_id, count(*) FROM incidents i JOIN geocode_matches g USING (incident_id)
                            JOIN premises p ON g.matched = 'premises:' || p.premises_id
                            WHERE i.source = 'ed' AND i.occurred_at >= DATE '2025-01-01'
                              AND i.occurred_at < DATE '2025-02-01' GROUP BY 1"""))


def test_every_loaded_ed_record_has_its_geocoder_match(real_only):
    _one_row_per_ed_record(real_only)
    by_text = dict(rows(real_only, """SELECT i.location_text, g.matched FROM incidents i JOIN geocode_matches g
                                      USING (incident_id) WHERE i.ed_site = 'R1H12' AND i.location_text IS NOT NULL"""))
    assert by_text["at home"] == "private"  # a home is never geocoded, and the match says why
    assert rows(real_only, """SELECT g.matched, g.method, g.score FROM incidents i JOIN geocode_matches g USING (incident_id)
                              WHERE i.source_id = 'C5'""") == [("unknown", "absent", 0.0)]
    # the City pubs named by their (unique) names are matched to those premises
    named = rows(real_only, """SELECT i.source_id, p.name FROM incidents i JOIN geocode_matches g USING (incident_id)
                               JOIN premises p ON g.matched = 'premises:' || p.premises_id
                               WHERE i.ed_site = 'R1H12' ORDER BY 1""")
    assert named == [("C1", "Astronomer"), ("C2", "Bavarian Beerhouse"), ("C3", "Bishops Finger")]


def test_the_premises_queries_run_on_a_database_built_only_from_real_files(real_only):
    store = Store(real_only)
    expected = _named_expected(real_only)
    assert len(expected) >= 3
    named = queries_ops.named_counts(store, JANUARY)
    assert dict(zip(named["premises_id"], named["named"])) == expected
    evidence = queries_ops.premises_evidence(store, JANUARY, 50.0)
    assert len(evidence) == rows(real_only, "SELECT count(*) FROM premises")[0][0] == 2675
    got = evidence.loc[evidence["named"] > 0].set_index("premises_id")["named"].to_dict()
    assert got == expected
    assert evidence["prev_named"].sum() == 0  # nothing was loaded for December's ED


def test_geocode_rerun_replaces_the_matches_one_row_per_record(real_only):
    before = rows(real_only, "SELECT incident_id, matched FROM geocode_matches ORDER BY 1")
    out = _runner(real_only).invoke(args=["geocode", "--rerun"])
    assert out.exit_code == 0, out.output
    _one_row_per_ed_record(real_only)
    # the same gazetteer gives the same matches as the load did
    assert rows(real_only, "SELECT incident_id, matched FROM geocode_matches ORDER BY 1") == before
    named = queries_ops.named_counts(Store(real_only), JANUARY)
    assert dict(zip(named["premises_id"], named["named"])) == _named_expected(real_only)
