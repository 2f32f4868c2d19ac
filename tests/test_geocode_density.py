"""The density prior: located violence (police.uk points) says where along a street, and at which
of several same-named venues, an assault most likely happened.

Coordinates are local metres (x east, y north), converted with from_xy where a gazetteer needs
WGS84, so expected places can be written down by hand.
"""
import math

import numpy as np
import pandas as pd
import pytest
import shapely

from bench.geocode import distance_m
from data.geocode.match import Gazetteer, geocode
from data.geocode.density import density_prior, located_points, rate_field, street_counts

from tests.geocode_helpers import EAST_ED, WEST_ED, _line, _ll


def _crimes(points, street="On or near Long Road"):
    return pd.DataFrame([(*_ll(x, y), street) for x, y in points], columns=["lat", "lon", "street"])


def _g(point_w=1.0):
    return math.exp(-0.5 * (point_w / 75.0) ** 2)  # the spread of one crime at this distance (sigma 75 m)


# --- street_counts: each located crime is shared among the points of its own street -------------

SX, SY = np.array([0.0, 100.0, 0.0]), np.array([0.0, 0.0, 30.0])
SKEYS = ["long road", "long road", "mill lane"]


def test_a_crime_on_a_named_street_is_shared_among_that_streets_points_only():
    counts = street_counts(SX, SY, SKEYS, np.array([0.0]), np.array([10.0]), np.array(["long road"]))
    near, far = _g(10.0), _g(math.hypot(100, 10))           # 0.9912 and 0.4075
    assert counts == pytest.approx([near / (near + far), far / (near + far), 0.0])  # Mill Lane is nearer but not named


def test_a_crime_on_an_unknown_street_is_shared_among_every_point_in_reach():
    counts = street_counts(SX, SY, SKEYS, np.array([0.0]), np.array([25.0]), np.array(["parking area"]))
    w = np.array([_g(25.0), _g(math.hypot(100, 25)), _g(5.0)])
    assert counts == pytest.approx(w / w.sum())
    assert counts.sum() == pytest.approx(1.0)


def test_a_crime_out_of_reach_of_every_street_counts_nowhere():
    counts = street_counts(SX, SY, SKEYS, np.array([0.0, 1000.0]), np.array([10.0, 1000.0]),
                           np.array(["long road", "long road"]))
    assert counts.sum() == pytest.approx(1.0)


def test_located_points_read_police_uk_locations_as_street_keys():
    x, y, keys = located_points(pd.DataFrame({"lat": [51.5, 51.5, np.nan], "lon": [-0.12, -0.12, -0.12],
                                              "street": ["On or near St. John's Rd", None, "On or near High St"]}))
    assert keys.tolist() == ["street johns road", ""]  # the row without coordinates is left out
    assert x == pytest.approx([0.0, 0.0]) and y == pytest.approx([0.0, 0.0])
    assert located_points(None) is None and located_points(pd.DataFrame(columns=["lat", "lon"])) is None


# --- rate_field: crimes per metre of street in a neighbourhood ---------------------------------

LINE_X = np.arange(0.0, 10_001.0, 100.0)   # a 10 km street sampled every 100 m
LINE_Y = np.zeros(len(LINE_X))
LINE_LEN = np.full(len(LINE_X), 100.0)


def test_crimes_spread_like_the_street_give_one_rate_everywhere():
    rate_at = rate_field(LINE_X, LINE_Y, LINE_LEN, LINE_X, LINE_Y)  # one crime per 100 m
    assert rate_at(np.array([0.0, 5000.0, 10_000.0]), np.zeros(3)) == pytest.approx([0.01, 0.01, 0.01])


def test_a_neighbourhood_without_crimes_keeps_a_small_rate():
    crimes_x = np.full(30, 2000.0)
    rate_at = rate_field(LINE_X, LINE_Y, LINE_LEN, crimes_x, np.zeros(30))
    overall = 30 / LINE_LEN.sum()
    near, far = rate_at(np.array([2000.0, 8000.0]), np.zeros(2))
    assert near > 5 * overall
    assert 0 < far < overall / 2


# --- density_prior: the weight of every street point ---------------------------------------------

def test_without_extra_variation_a_point_weighs_its_length_times_the_rate():
    weights, intensity_at = density_prior(LINE_X, LINE_Y, LINE_LEN, ["long road"] * len(LINE_X),
                                          (LINE_X, LINE_Y, np.array(["long road"] * len(LINE_X), object)))
    inner = weights[5:-5]
    assert inner == pytest.approx(np.full(len(inner), inner[0]))
    assert weights.sum() == pytest.approx(len(LINE_X))   # every crime is in reach of the street
    assert intensity_at(np.array([5000.0]), np.array([10.0])) == pytest.approx([0.01])


def test_a_stretch_with_many_more_crimes_than_its_neighbourhood_holds_most_of_the_weight():
    crimes_x = np.concatenate([np.full(40, 7000.0), LINE_X[::10]])  # a hot stretch and a thin background
    weights, intensity_at = density_prior(LINE_X, LINE_Y, LINE_LEN, ["long road"] * len(LINE_X),
                                          (crimes_x, np.zeros(len(crimes_x)), np.array(["long road"] * len(crimes_x), object)))
    within_250 = np.abs(LINE_X - 7000) <= 250
    assert weights[within_250].sum() / weights.sum() > 0.6
    hot, cold = intensity_at(np.array([7000.0, 2000.0]), np.zeros(2))
    assert hot > 10 * cold


# --- the geocoder with a density prior -----------------------------------------------------------

def _gazetteer(located=None, premises=None):
    lines = [("High Street", "W", _line((-5400, 200), (-4600, 200))),
             ("Church Road", "W", _line((-5000, 200), (-5000, 800))),
             ("Long Road", "W", _line((-6000, -2000), (-3000, -2000))),
             ("High Street", "E", _line((4600, 200), (5400, 200)))]
    streets = pd.DataFrame({"street": [s for s, _, _ in lines], "borough_code": [b for _, b, _ in lines],
                            "lat": 0.0, "lon": 0.0})
    eds = pd.DataFrame([("EDW", "West Hospital", *_ll(*WEST_ED)), ("EDE", "East Hospital", *_ll(*EAST_ED))],
                       columns=["site_code", "name", "lat", "lon"])
    return Gazetteer.build(premises, streets, ed_sites=eds, street_lines=[g for _, _, g in lines], located=located)


def _one(g, text, ed=WEST_ED, location_type=None):
    lat, lon = (np.nan, np.nan) if ed is None else _ll(*ed)
    return geocode(g, [text], [lat], [lon], None if location_type is None else [location_type]).iloc[0]


def _metres_from(row, x, y) -> float:
    return float(distance_m(row["lat"], row["lon"], *_ll(x, y)))


def test_a_long_street_is_placed_where_located_violence_concentrates():
    assert _one(_gazetteer(), "long road")["confidence"] == "area"      # 3 km and nothing to go by
    hot = _crimes([(-3300 + dx, -2000) for dx in range(-60, 61, 10)] * 3)  # 39 crimes at the east end
    row = _one(_gazetteer(hot), "long road")
    assert (row["confidence"], row["matched"]) == ("street", "street:Long Road|W")
    assert _metres_from(row, -3300, -2000) < 150


def test_located_violence_settles_which_of_two_same_named_streets():
    hot = _crimes([(5000 + dx, 200) for dx in range(-300, 301, 25)] * 2, "On or near High Street")
    assert _one(_gazetteer(), "high street", ed=None)["confidence"] == "none"
    row = _one(_gazetteer(hot), "high street", ed=None)
    assert row["matched"] == "street:High Street|E" and row["confidence"] in ("street", "area")


def _premises(*rows):
    return pd.DataFrame([(pid, name, kind, *_ll(x, y)) for pid, name, kind, x, y in rows],
                        columns=["premises_id", "name", "licence_type", "lat", "lon"])


def test_located_violence_breaks_a_tie_between_same_named_venues():
    crowns = _premises(("C1", "The Crown", "pub", -6000, -1000), ("C2", "The Crown", "pub", -4000, -1000))
    tie = _one(_gazetteer(premises=crowns), "o/s the crown")
    assert tie["confidence"] != "venue"                       # 50/50 is not a venue match
    hot = _crimes([(-4000 + dx, -1000) for dx in range(-40, 41, 10)] * 4, "On or near Crown Yard")
    row = _one(_gazetteer(hot, crowns), "o/s the crown")
    assert (row["confidence"], row["matched"]) == ("venue", "premises:C2")


def test_a_stored_gazetteer_takes_its_density_prior_from_the_stored_police_violence(tmp_path):
    from data.store import db as store
    from data.ingest.schema import POLICE_VIOLENCE

    def fill(con):
        con.execute("INSERT INTO blocks (block_id, street, borough_code, length_m, lat, lon, geom_wkb) "
                    "VALUES (1, 'Long Road', 'W', 3000, ?, ?, ?)",
                    [*_ll(-4500, -2000), shapely.to_wkb(_line((-6000, -2000), (-3000, -2000)))])
        con.execute("INSERT INTO ed_sites (site_code, name, lat, lon) VALUES ('EDW', 'West Hospital', ?, ?)", [*_ll(*WEST_ED)])
        rows = [(POLICE_VIOLENCE, -3300 + dx) for dx in range(-60, 61, 10)] * 3 + [("Burglary", -5700)] * 60
        for i, (category, x) in enumerate(rows):
            con.execute("INSERT INTO incidents (incident_id, source, month, lat, lon, category, location_text, record_hash) "
                        "VALUES (?, 'police', DATE '2025-01-01', ?, ?, ?, 'On or near Long Road', ?)",
                        [i + 1, *_ll(x, -2000), category, i + 1])

    store.build(tmp_path / "s.duckdb", fill)
    g = Gazetteer.from_store(store.Store(tmp_path / "s.duckdb"))
    row = _one(g, "long road")
    assert row["confidence"] == "street" and _metres_from(row, -3300, -2000) < 150  # the violence, not the burglaries
