"""The geocoder on a tiny hand-built London: EDs west and east, 10 km apart, each with a Red Lion
and a High Street nearby, and a third ED to the north.

Coordinates are laid out in local metres (x east, y north) and converted with from_xy, so
expected places can be written down by hand.
"""
import numpy as np
import pandas as pd
import pytest

from bench.geocode import distance_m
from data.geocode.match import COLUMNS, Gazetteer, geocode


from tests.geocode_helpers import EAST_ED, WEST_ED, _line, _ll


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    premises = pd.DataFrame([
        ("W1", "The Red Lion", "12 High Street", "pub", *_ll(-4800, 210)),
        ("E1", "The Red Lion", "3 Mill Lane", "pub", *_ll(5300, -590)),
        ("W2", "Wetherspoons", "40 High Street", "pub", *_ll(-4700, 190)),
        ("E2", "Istanbul Kebab House", "2 Mill Lane", "restaurant", *_ll(5100, -590)),
    ], columns=["premises_id", "name", "address", "licence_type", "lat", "lon"])
    lines = [("High Street", "W", _line((-5400, 200), (-4600, 200))),
             ("High Street", "E", _line((4600, 200), (5400, 200))),
             ("Church Road", "W", _line((-5000, 200), (-5000, 800))),
             ("Mill Lane", "E", _line((5000, -600), (5600, -600))),
             ("Long Road", "W", _line((-6000, -2000), (-3000, -2000)))]
    streets = pd.DataFrame({"street": [s for s, _, _ in lines], "borough_code": [b for _, b, _ in lines],
                            "lat": 0.0, "lon": 0.0})
    landmarks = pd.DataFrame([("Westville station", "station", *_ll(-5200, -100))], columns=["name", "kind", "lat", "lon"])
    areas = pd.DataFrame([("Eastford", *_ll(5000, 300))], columns=["name", "lat", "lon"])
    eds = pd.DataFrame([("EDW", "West Hospital", *_ll(*WEST_ED)), ("EDE", "East Hospital", *_ll(*EAST_ED)),
                        ("EDN", "North Hospital", *_ll(0, 6000))],
                       columns=["site_code", "name", "lat", "lon"])
    return Gazetteer.build(premises, streets, landmarks, areas, ed_sites=eds, street_lines=[g for _, _, g in lines])


def _one(gaz, text, ed=None):
    lat, lon = (np.nan, np.nan) if ed is None else _ll(*ed)
    return geocode(gaz, [text], [lat], [lon]).iloc[0]


def _metres_from(row, x, y) -> float:
    lat, lon = _ll(x, y)
    return float(distance_m(row["lat"], row["lon"], lat, lon))


def test_output_has_one_row_per_text_and_the_documented_columns(gaz):
    out = geocode(gaz, ["red lion", None, "home"], [np.nan] * 3, [np.nan] * 3)
    assert list(out.columns) == COLUMNS and len(out) == 3
    assert out["lat"].dtype == float


def test_same_named_venues_are_told_apart_by_the_attending_eds_catchment(gaz):
    west, east = _one(gaz, "o/s red lion", WEST_ED), _one(gaz, "o/s red lion", EAST_ED)
    assert (west["confidence"], west["matched"]) == ("venue", "premises:W1")
    assert (east["confidence"], east["matched"]) == ("venue", "premises:E1")
    # with no ED to go by, two equally likely Red Lions 10 km apart are not a venue match
    unknown = _one(gaz, "red lion")
    assert unknown["confidence"] in ("area", "none")


def test_a_street_named_with_the_venue_beats_the_catchment(gaz):
    row = _one(gaz, "RED LION, MILL LANE", WEST_ED)
    assert (row["confidence"], row["matched"], row["method"]) == ("venue", "premises:E1", "venue+street")


def test_chain_slang_and_misspellings_find_the_venue(gaz):
    assert _one(gaz, "spoons", WEST_ED)["matched"] == "premises:W2"
    row = _one(gaz, "o/s wetherspons", WEST_ED)
    assert (row["matched"], row["method"]) == ("premises:W2", "venue fuzzy")
    assert row["score"] == pytest.approx(0.9, abs=0.01)  # one corrected word costs a tenth


def test_the_wrong_venue_type_does_not_hide_the_venue(gaz):
    assert _one(gaz, "red lion club", EAST_ED)["matched"] == "premises:E1"


@pytest.mark.parametrize("text, matched", [
    ("home", "private"), ("friend's house", "private"), ("at work", "private"), ("", "unknown"),
    (None, "unknown"), ("declined", "unknown"), ("on the bus", "transit"), ("xyzzy plugh", "unmatched"),
])
def test_private_and_absent_locations_are_never_mapped(gaz, text, matched):
    row = _one(gaz, text, WEST_ED)
    assert row["confidence"] == "none" and row["matched"] == matched
    assert np.isnan(row["lat"]) and np.isnan(row["lon"])


def test_a_venue_whose_name_has_a_private_word_is_still_a_venue(gaz):
    assert _one(gaz, "istanbul kebab house", EAST_ED)["matched"] == "premises:E2"


def test_street_is_placed_on_that_street_in_the_eds_catchment(gaz):
    row = _one(gaz, "nr high st", EAST_ED)
    assert row["confidence"] == "street" and row["matched"] == "street:High Street|E"
    assert _metres_from(row, 5000, 200) <= 450  # on the 800 m eastern High Street


def test_a_long_street_is_not_placed_with_street_confidence(gaz):
    # 3 km of road and nothing to say which part: the point could be 1.5 km out
    assert _one(gaz, "long road", WEST_ED)["confidence"] == "area"


def test_a_corner_is_placed_on_the_block_of_the_street_that_ends_there(gaz):
    row = _one(gaz, "corner of church rd and high street", WEST_ED)
    assert (row["confidence"], row["method"]) == ("street", "junction")
    assert _metres_from(row, -5000, 450) < 5  # 250 m up Church Road from where it meets High Street


def test_landmarks_by_station_words_and_areas(gaz):
    stn = _one(gaz, "nr westvile stn", WEST_ED)
    assert (stn["confidence"], stn["matched"]) == ("venue", "landmark:Westville station")
    area = _one(gaz, "eastford area", EAST_ED)
    assert (area["confidence"], area["matched"]) == ("area", "area:Eastford")


def test_saying_area_caps_the_confidence(gaz):
    assert _one(gaz, "mill lane area", EAST_ED)["confidence"] == "area"


def test_repeated_descriptions_are_answered_alike(gaz):
    out = geocode(gaz, ["red lion"] * 3 + ["red lion"], [_ll(*WEST_ED)[0]] * 3 + [_ll(*EAST_ED)[0]],
                  [_ll(*WEST_ED)[1]] * 3 + [_ll(*EAST_ED)[1]])
    assert out["matched"].tolist() == ["premises:W1"] * 3 + ["premises:E1"]


def test_without_ed_sites_distance_to_the_ed_is_the_prior():
    premises = pd.DataFrame([("A", "The Crown", *_ll(0, 0)), ("B", "The Crown", *_ll(20_000, 0))],
                            columns=["premises_id", "name", "lat", "lon"])
    g = Gazetteer.build(premises, None)
    assert geocode(g, ["the crown"], [_ll(500, 0)[0]], [_ll(500, 0)[1]])["matched"].iat[0] == "premises:A"
    assert geocode(g, ["the crown"], [_ll(19_000, 0)[0]], [_ll(19_000, 0)[1]])["matched"].iat[0] == "premises:B"


def test_postcodes_place_a_record_when_a_lookup_is_loaded():
    pcs = pd.DataFrame([("SW1A 1AA", 51.501, -0.1416)], columns=["postcode", "lat", "lon"])
    g = Gazetteer.build(None, None, postcodes=pcs)
    row = geocode(g, ["o/s sw1a1aa"]).iloc[0]
    assert (row["confidence"], row["matched"], row["lat"]) == ("street", "postcode:SW1A 1AA", 51.501)


def _tiny(premises_rows):
    premises = pd.DataFrame([(pid, name, kind, *_ll(x, y)) for pid, name, kind, x, y in premises_rows],
                            columns=["premises_id", "name", "licence_type", "lat", "lon"])
    eds = pd.DataFrame([("EDW", "West Hospital", *_ll(*WEST_ED)), ("EDE", "East Hospital", *_ll(*EAST_ED))],
                       columns=["site_code", "name", "lat", "lon"])
    return Gazetteer.build(premises, None, ed_sites=eds)


def _coded(gaz, text, code):
    lat, lon = _ll(*WEST_ED)
    return geocode(gaz, [text], [lat], [lon], [code]).iloc[0]


def test_the_coded_location_type_shop_or_takeaway_picks_the_takeaway():
    # a pub and a takeaway both called The Star, 1 km apart, both nearest the western ED
    g = _tiny([("PUB", "The Star", "pub", -5500, 500), ("TKW", "The Star", "late_night_refreshment", -4500, 500)])
    for code in (None, "01", "02"):  # licensed premises, or nothing said: the pub weighs 3 to the takeaway's 1
        row = _coded(g, "the star", code)
        assert (row["confidence"], row["matched"], row["score"]) == ("venue", "premises:PUB", 0.75)
    row = _coded(g, "the star", "05")  # shop or takeaway: the pub keeps a tenth of its weight, 0.3 against 1
    assert (row["confidence"], row["matched"], row["score"]) == ("venue", "premises:TKW", pytest.approx(1 / 1.3, abs=0.001))


def test_same_named_venues_within_a_streets_reach_give_street_confidence():
    g = _tiny([("K1", "Kebab House", "late_night_refreshment", -5000, 500),
               ("K2", "Kebab House", "late_night_refreshment", -4800, 500)])
    row = _one(g, "o/s kebab house", WEST_ED)
    assert (row["confidence"], row["method"]) == ("street", "venue-street")  # 50/50 between two doors 200 m apart
    assert _metres_from(row, -4900, 500) <= 101


def test_a_venue_that_is_not_on_the_named_street_yields_to_the_street(gaz):
    # the only Red Lion near the western ED is on High Street, 200 m from Church Road
    row = _one(gaz, "o/s red lion, church rd", WEST_ED)
    assert (row["confidence"], row["matched"]) == ("street", "street:Church Road|W")


@pytest.mark.parametrize("slang, pid", [("wethers", "W"), ("kentucky", "K"), ("bk", "B"), ("maccies", "M")])
def test_chain_slang_names_the_chain(slang, pid):
    g = _tiny([("W", "Wetherspoons", "pub", -5000, 500), ("K", "KFC", "late_night_refreshment", -5000, 800),
               ("B", "Burger King", "late_night_refreshment", -5000, 1100), ("M", "McDonald's", "late_night_refreshment", -5000, 1400)])
    assert _one(g, f"outside {slang}", WEST_ED)["matched"] == f"premises:{pid}"


def test_a_wrong_venue_type_word_falls_back_to_the_venue_without_it():
    # "fairfax bar": the only Fairfax Bar is 35 km east, beyond four nearer EDs; a Fairfax pub by the western ED
    premises = pd.DataFrame([("BAR", "Fairfax Bar", "bar", *_ll(35000, 500)), ("PUB", "The Fairfax", "pub", *_ll(-5000, 500))],
                            columns=["premises_id", "name", "licence_type", "lat", "lon"])
    eds = pd.DataFrame([(f"ED{x}", f"Hospital {x}", *_ll(x, 0)) for x in (-5000, 5000, 15000, 25000, 35000)],
                       columns=["site_code", "name", "lat", "lon"])
    g = Gazetteer.build(premises, None, ed_sites=eds)
    assert _one(g, "the fairfax bar", WEST_ED)["matched"] == "premises:PUB"
    assert _one(g, "the fairfax bar", (35000, 0))["matched"] == "premises:BAR"
    # in the same catchment the typed word decides: Fairfax Bar weighs 30 times as much
    g = _tiny([("BAR", "Fairfax Bar", "bar", -4000, 500), ("PUB", "The Fairfax", "pub", -5000, 500)])
    row = _one(g, "fairfax bar", WEST_ED)
    assert (row["confidence"], row["matched"]) == ("venue", "premises:BAR")


def test_a_place_that_is_also_an_area_qualifies_the_venue_named_with_it():
    # Leicester Square is a landmark and an area; "rosa's thai, leicester square" means the Rosa's Thai there
    premises = pd.DataFrame([(pid, "Rosa's Thai", "restaurant", *_ll(x, y)) for pid, x, y in
                             (("SQ", -4900, 300), ("FAR", -5100, -1800))],
                            columns=["premises_id", "name", "licence_type", "lat", "lon"])
    landmarks = pd.DataFrame([("Leicester Square", "square", *_ll(-4800, 200))], columns=["name", "kind", "lat", "lon"])
    areas = pd.DataFrame([("Leicester Square", *_ll(-4800, 200)), ("Southville", *_ll(-5100, -2000))],
                         columns=["name", "lat", "lon"])
    eds = pd.DataFrame([("EDW", "West Hospital", *_ll(*WEST_ED))], columns=["site_code", "name", "lat", "lon"])
    g = Gazetteer.build(premises, None, landmarks, areas, ed_sites=eds)
    row = _one(g, "ROSAS THAI, LEICESTER SQUARE", WEST_ED)
    assert (row["confidence"], row["matched"], row["method"]) == ("venue", "premises:SQ", "venue+area")
    assert _one(g, "o/s leicester square", WEST_ED)["matched"] == "landmark:Leicester Square"  # alone, the place itself


def test_the_likeliest_of_several_branches_is_placed_only_when_far_misses_are_less_likely():
    from data.geocode.match import VENUE_ODDS, _likely
    assert VENUE_ODDS == 1.0   # (index, share within 50 m, share within 500 m)
    assert _likely((0, 0.45, 0.6)) and not _likely((0, 0.4, 0.6)) and not _likely((0, 0.5, 0.5)) and not _likely(None)
    # three Greggs in the western catchment, each 1.5 km from the others: a third right, two thirds far
    apart = _tiny([("W1", "Greggs", "late_night_refreshment", -5000, 0),
                   ("W2", "Greggs", "late_night_refreshment", -5000, 1500),
                   ("W3", "Greggs", "late_night_refreshment", -5000, -1500)])
    assert _one(apart, "greggs", WEST_ED)["confidence"] in ("area", "none")
    # two of them a door apart (busier, so each a bit more likely than the third): the likeliest
    # door is more likely right than the lone one is, so it is placed, at street confidence
    close = _tiny([("W1", "Greggs", "late_night_refreshment", -5000, 500),
                   ("W2", "Greggs", "late_night_refreshment", -5000, 600),
                   ("W3", "Greggs", "late_night_refreshment", -5000, 3500)])
    row = _one(close, "greggs", WEST_ED)
    assert (row["confidence"], row["method"]) == ("street", "venue-street")
    assert _metres_from(row, -5000, 550) <= 51
