"""Normalisation rules of the geocoder, one by one."""
import pytest

from types import SimpleNamespace

from data.geocode.text import Speller, absent_kind, area_keys, content, name_key, name_spans, spell, station_keys, tokens, venue_keys


def test_case_and_punctuation_are_dropped():
    assert tokens("O/S THE Red-Lion!!, High St.") == ["outside", "the", "red", "lion", "high", "street"]


@pytest.mark.parametrize("short, long", [
    ("st", "street"), ("rd", "road"), ("ave", "avenue"), ("ln", "lane"), ("pl", "place"), ("sq", "square"),
    ("o/s", "outside"), ("nr", "near"), ("opp", "opposite"), ("&", "and"), ("stn", "station"), ("gdns", "gardens"),
])
def test_abbreviations_expand(short, long):
    assert tokens(f"x {short} y") == ["x", long, "y"]


def test_house_numbers_are_dropped():
    assert tokens("o/s 62 Tudor St") == ["outside", "tudor", "street"]


def test_position_words_and_articles_are_not_part_of_a_name():
    assert content(tokens("outside the Crown, opposite the station")) == ["crown", "station"]
    assert name_key("o/s Rose & Crown") == name_key("The Rose and Crown") == "rose crown"
    assert name_key("nr Duke of York") == "duke york"


def test_apostrophes_do_not_matter():
    assert name_key("King's Head") == name_key("kings head") == name_key("KINGS’ HEAD") == "kings head"


def test_venue_type_words_are_optional():
    assert venue_keys("Sky Bar") == ["sky bar", "sky"]
    assert venue_keys("The Red Lion") == ["red lion"]
    assert venue_keys("Club Aquarium") == ["club aquarium", "aquarium"]


def test_station_names_and_their_neighbourhood():
    keys, area = station_keys("Brixton station")
    assert "brixton station" in keys and "brixton tube" in keys and area == "brixton"
    assert station_keys("Hyde Park") == (["hyde park"], None)


@pytest.mark.parametrize("text, kind", [
    ("", "unknown"), ("   ", "unknown"), ("UNKNOWN", "unknown"), ("n/k", "unknown"), ("pt unable to say", "unknown"),
    ("?", "unknown"), ("declined", "unknown"),
    ("home", "private"), ("friend's house", "private"), ("at work", "private"), ("partners flat", "private"),
    ("o/s red lion", None), ("bus stop high st", None),
])
def test_absent_and_private_locations(text, kind):
    assert absent_kind(tokens(text)) == kind


def test_speller_corrects_one_slip_to_the_gazetteer_vocabulary():
    s = Speller(["victoria", "wetherspoons", "crown", "lion"])
    assert s.correct("vitcoria") == ("victoria",)      # swapped letters
    assert s.correct("victora") == ("victoria",)       # dropped letter
    assert s.correct("victtoria") == ("victoria",)     # doubled letter
    assert s.correct("wetherspons") == ("wetherspoons",)
    assert s.correct("cown") == ("crown",)


def test_speller_leaves_known_short_and_distant_words_alone():
    s = Speller(["victoria", "star", "stag"])
    assert s.correct("victoria") == ()                 # already a name word
    assert s.correct("stab") == ()                     # "star" is too short a target to guess
    assert s.correct("outside") == ()                  # a common word, not a misspelt name
    assert s.correct("vctra") == ()                    # two edits on a short word: too far


def test_speller_reports_ties_for_the_caller_to_settle():
    s = Speller(["cellar", "cedar"])
    assert set(s.correct("celar")) == {"cellar", "cedar"}


def _index(venues=(), streets=(), areas=()):
    """A stand-in gazetteer: just the name indexes and a speller over their words."""
    keys = lambda names: {name_key(n): [0] for n in names}  # noqa: E731
    g = SimpleNamespace(venues=SimpleNamespace(keys=keys(venues)), streets=SimpleNamespace(keys=keys(streets)),
                        areas=SimpleNamespace(keys=keys(areas)))
    g.speller = Speller({w for index in (g.venues.keys, g.streets.keys, g.areas.keys) for k in index for w in k.split()})
    return g


def test_a_spelling_tie_goes_to_the_word_that_makes_the_longest_name():
    g = _index(venues=["St Mary's Tavern"], streets=["St Mark's Crescent", "Marsh Lane"])
    # "mars" is one slip from marks, marsh and marys; only "marks" makes a three-word name here
    assert spell(g, content(tokens("o/s st mar's cres"))) == (["street", "marks", "crescent"], 1)


def test_a_spelling_tie_that_names_nothing_or_two_things_alike_stays_as_typed():
    g = _index(venues=["The Cellar", "The Cedar"])
    assert spell(g, ["celar"]) == (["celar"], 0)
    g = _index(venues=["The Cellar", "Cedar Tree"])
    assert spell(g, ["celar"]) == (["cellar"], 1)   # "cedar" is a name word, but only "cellar" is a name by itself
    assert spell(g, ["celar", "tree"]) == (["cedar", "tree"], 1)


def test_spans_prefer_the_longest_name_and_keep_a_name_of_two_kinds_for_both():
    g = _index(venues=["Trafalgar Square", "Crescent"], streets=["Trafalgar Square", "St Mark's Crescent"])
    assert name_spans(g, ["near", "trafalgar", "square"]) == [(1, 3, "street", "trafalgar square"),
                                                               (1, 3, "venue", "trafalgar square")]
    assert name_spans(g, ["street", "marks", "crescent"]) == [(0, 3, "street", "street marks crescent")]


def test_area_names_are_also_known_by_their_parts():
    assert area_keys("Bank / City") == ["bank city", "bank", "city"]
    assert area_keys("Islington (Upper Street)") == ["islington upper street", "islington", "upper street"]


def test_a_short_name_word_is_put_in_only_where_it_completes_a_longer_name():
    g = _index(venues=["The Laurel Arms", "Burger King", "The Arms"], streets=["Mill Lane"])
    assert spell(g, ["laurel", "arns"]) == (["laurel", "arms"], 1)      # "arms" completes The Laurel Arms
    assert spell(g, ["burger", "kimg"]) == (["burger", "king"], 1)
    assert spell(g, ["arns"]) == (["arns"], 0)                          # alone it could be anything
    assert spell(g, ["arns", "mill", "lane"]) == (["arns", "mill", "lane"], 0)  # "arms" alone is no longer name


def test_the_speller_offers_short_words_only_to_the_caller():
    s = Speller(["arms", "king", "kind", "victoria"])
    assert s.correct("arns") == ()                      # never taken alone
    assert s.correct_short("arns") == ("arms",)
    assert set(s.correct_short("kint")) == {"king", "kind"}     # a tie: `spell` keeps the one that makes a name
    assert s.correct_short("victoria") == () and s.correct_short("arms") == ()
