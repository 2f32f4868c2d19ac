"""When a description really names a venue, and which of several: the rules learnt on real registers.

Real premises registers hold names made only of words that say what kind of place ("The Court",
"The Saint", "Circus"), and a receptionist's "tottenham ct rd" or "in the street" is made of the
same words. Real descriptions also say where ("red lion soho", "the globe nr baker st stn"), and a
venue of that name far from the named place is another one, not a weaker match. So:
- generic names: a venue key made only of generic words (text.GENERIC_WORDS) names a venue only
  when its full name is typed ("the saint", not "st"; `text.literal`), and, for licensed premises,
  the record says it is one (a venue-type word is typed or the location type is 01 licensed
  premises / 05 shop); a street whose key is generic ("Down Street" is "street") only when all
  its words are typed;
- station words: "stn", "station", "tube" that belong to no street and no distinctive name say
  the place is a station: only landmarks of kind station may answer;
- qualifiers: areas (landmarks of kind area or town_centre, station neighbourhoods, boroughs) and
  landmarks named beside a venue say where it is: only the venues in or near them count, and a
  venue name none of whose places is near them is not placed at venue confidence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from data.geocode.text import VENUE_TYPES, is_generic, literal, name_spans, tokens

STATION_WORDS = frozenset({"station", "tube", "underground", "overground", "rail", "dlr"})
LICENSED_CODES = frozenset({"01", "05"})    # ISTV location types where a venue is expected
TYPED_VENUE_WORDS = VENUE_TYPES | {"ph", "tavern", "inn", "wine"}
AREA_NEAR_M = 2000.0        # a venue is "in" a named town centre no farther than this ...
AREA_SLACK_M = 300.0        # ... and when no other area is nearer by more than this
NEIGHBOURHOOD_NEAR_M = 1000.0   # the same for a neighbourhood ("soho") or a station's
NEIGHBOURHOOD_SIGMA_M = 500.0   # ... where the nearer its middle, the likelier
OUTSIDE_WEIGHT = 0.1        # near a named area, but nearer another: ten times less likely meant
LANDMARK_NEAR_M = 500.0     # "the globe nr baker st stn": a venue this near the named landmark ...
LANDMARK_SIGMA_M = 300.0    # ... the nearer the likelier
STREET_CONFLICT_M = 1000.0  # a venue named with a street none of its places is this near: they disagree


@dataclass
class Ask:
    """What a description says besides the venue's name, for the rules above."""
    raw: str                                   # the description as typed
    licensed: bool                             # a venue-type word, or a licensed location type
    speller: object = None                     # the gazetteer's Speller, for `spelt`
    station: bool = False                      # a station word that names no street or venue
    areas: list[str] = field(default_factory=list)       # area keys named
    streets: list[str] = field(default_factory=list)     # street keys named
    landmarks: list[str] = field(default_factory=list)   # venue keys of landmarks named
    failed: set = field(default_factory=set)   # venue keys none of whose places is in the named area
    conflict: bool = False                     # a venue and a street named far apart

    # the forms of the text the generic-name rule compares with, made only when it is asked
    @cached_property
    def lit(self) -> str:
        """The text in `text.literal` form (" the saint pub ")."""
        return literal(self.raw)

    @cached_property
    def spelt(self) -> str:
        """`lit` with each misspelt word corrected where the vocabulary offers one word (" crescent arms ")."""
        fixes = [self.speller.correct(w) if self.speller is not None else () for w in self.lit.split()]
        return " " + " ".join(f[0] if len(f) == 1 else w for f, w in zip(fixes, self.lit.split())) + " "

    @cached_property
    def said(self) -> str:
        """Its words (`text.tokens`: abbreviations expanded), space-padded."""
        return " " + " ".join(tokens(self.raw)) + " "


def read(g, raw: str, words: list[str], location_type) -> tuple[list, Ask]:
    """The name spans of a description's (spelt) content words under the rules, and what else it says.

    A generic name not typed in full names nothing: the spans are looked for again without it, so
    that the words it took ("court" in "tottenham court road") can belong to another name.
    """
    ask = Ask(raw, licensed(words, location_type), g.speller)
    spans, skip = name_spans(g, words), set()
    for _ in range(3):
        missed = untyped_generic(g, spans, ask) - skip
        if not missed:
            break
        skip |= missed
        spans = name_spans(g, words, frozenset(skip))
    ask.station = station_named(words, spans)
    venue_keys = [k for _, _, kind, k in spans if kind == "venue"]
    ask.streets = [k for _, _, kind, k in spans if kind == "street"]
    if venue_keys:  # only venues are qualified
        ask.areas, ask.landmarks = qualifiers(g, [k for _, _, kind, k in spans if kind == "area"], ask.streets, venue_keys)
    return spans, ask


def typed_in_full(g, cand: np.ndarray, ask: Ask) -> np.ndarray:
    """The candidates of a generic key whose full name is in the text (premises: only for a licensed record)."""
    if len(cand) == 0 or len(g.venue_literal) == 0:
        return cand[:0]
    keep = []
    for c in cand:
        name = g.venue_literal[c]
        if name and (f" {name} " in ask.lit or f" {name} " in ask.spelt) and (ask.licensed or g.venue_class[c] != "premises"):
            keep.append(c)
    return np.array(keep, dtype=cand.dtype)


def untyped_generic(g, spans, ask: Ask) -> set[tuple[str, str]]:
    """(kind, key) of the venue and street spans made only of generic words whose places are not
    named in full: a venue by its `literal` name ("the saint"); a street whose key lost words of
    its name by all of them ("down street", whose key is "street" because "down" says where)."""
    out = set()
    for _, _, kind, key in spans:
        if not is_generic(key):
            continue
        if kind == "venue" and len(typed_in_full(g, g.venues.keys[key], ask)) == 0:
            out.add((kind, key))
        elif kind == "street":
            names = {str(label).split(":", 1)[-1].split("|")[0] for label in g.streets.label[g.streets.keys[key]]}
            full = {" ".join(tokens(n)) for n in names}
            if key not in full and not any(f" {f} " in ask.said for f in full):
                out.add((kind, key))
    return out


def station_named(words: list[str], spans) -> bool:
    """Is there a station word that is part of no street, area or venue name? A venue name of
    station words alone ("the station") does not count as one: it is how people say "a station"."""
    if not any(w in STATION_WORDS for w in words):
        return False
    inside = set()
    for i, j, kind, key in spans:
        if kind != "venue" or not all(w in STATION_WORDS for w in key.split()):
            inside.update(range(i, j))
    return any(w in STATION_WORDS and t not in inside for t, w in enumerate(words))


def licensed(words: list[str], location_type) -> bool:
    return location_type in LICENSED_CODES or any(w in TYPED_VENUE_WORDS for w in words)


def candidates(g, key: str, ask: Ask) -> np.ndarray:
    """The venues a key may name under the rules: typed in full when generic, stations after a station word."""
    cand = g.venues.keys[key]
    if is_generic(key):
        cand = typed_in_full(g, cand, ask)
    if ask.station and len(g.venue_class):
        cand = cand[g.venue_class[cand] == "station"]
    return cand


def _area_inside(g, cand: np.ndarray, keys: list[str]) -> np.ndarray:
    """How much each venue is in one of the named areas (0: not in it).

    A borough: the venue's borough code (1). A town centre: within AREA_NEAR_M of it (a
    neighbourhood, "Soho", or a station's neighbourhood: NEIGHBOURHOOD_NEAR_M); in it (1) when no
    other area but a borough is nearer by more than AREA_SLACK_M, only near it (OUTSIDE_WEIGHT)
    otherwise. For a neighbourhood the nearer its middle the likelier besides (a Gaussian of
    NEIGHBOURHOOD_SIGMA_M), so that of three All Bar Ones "in Covent Garden" the one on the piazza
    is meant, not the one at its edge.
    """
    idx = np.unique(np.concatenate([g.areas.keys[k] for k in keys]))
    all_cls = g.area_class if len(g.area_class) else np.full(len(g.areas), "town_centre", object)
    cls = all_cls[idx]
    out = np.zeros(len(cand))
    codes = [g.area_borough[i] for i in idx[cls == "borough"]]
    if codes and len(g.venue_borough):
        out = np.maximum(out, [1.0 if b in codes else 0.0 for b in g.venue_borough[cand]])
    hoods = idx[cls != "borough"]
    if len(hoods) == 0:
        return out
    pool = np.flatnonzero(all_cls != "borough")  # borough centroids are no neighbourhoods to compare with
    vx, vy = g.venues.x[cand][:, None], g.venues.y[cand][:, None]
    d = np.hypot(vx - g.areas.x[hoods][None, :], vy - g.areas.y[hoods][None, :])
    d_min = np.hypot(vx - g.areas.x[pool][None, :], vy - g.areas.y[pool][None, :]).min(axis=1, keepdims=True)
    small = np.isin(all_cls[hoods], ["area", "station"])[None, :]
    near = d <= np.where(small, NEIGHBOURHOOD_NEAR_M, AREA_NEAR_M)
    weight = np.where(small, np.exp(-0.5 * (d / NEIGHBOURHOOD_SIGMA_M) ** 2), 1.0)
    weight = weight * np.where(d <= d_min + AREA_SLACK_M, 1.0, OUTSIDE_WEIGHT)
    return np.maximum(out, np.where(near, weight, 0.0).max(axis=1))


def inside(g, key: str, cand: np.ndarray, ask: Ask) -> tuple[np.ndarray, bool] | None:
    """How much each candidate of venue key `key` is in or near the areas and landmarks named
    beside it (0: not), and whether that is binding; None when no place is named.

    A key that is itself an area ("mayfair", "victoria") qualifies itself when nothing else is
    named: it names the area, or a venue of that name in it, not The Mayfair in Wandsworth. That
    is binding unless the record says licensed premises or names a street: then a venue of that
    name elsewhere stays possible, OUTSIDE_WEIGHT times less likely ("elephant and castle", 01).
    """
    areas = [k for k in ask.areas if k != key]
    binding = True
    if not areas and key in ask.areas and not ask.landmarks:
        areas, binding = [key], not (ask.licensed or ask.streets)
    marks = [k for k in ask.landmarks if k != key]
    if not areas and not marks:
        return None
    out = _area_inside(g, cand, areas) if areas else np.zeros(len(cand))
    for k in [k for k in areas if k in ask.streets]:  # "kings rd": Chelsea's King's Road, or a King's Road
        street = {g.street_alias.get(k, k)}
        out = np.maximum(out, [1.0 if g.venue_streets[c] & street else 0.0 for c in cand])
    for k in marks:
        points = g.venues.keys[k]
        d = np.hypot(g.venues.x[cand][:, None] - g.venues.x[points][None, :],
                     g.venues.y[cand][:, None] - g.venues.y[points][None, :]).min(axis=1)
        out = np.maximum(out, np.where(d <= LANDMARK_NEAR_M, np.exp(-0.5 * (d / LANDMARK_SIGMA_M) ** 2), 0.0))
    return (out, True) if binding else (np.maximum(out, OUTSIDE_WEIGHT), False)


def street_conflict(g, cand: np.ndarray, street_keys, likelihood) -> bool:
    """Do a venue and a street named together disagree: every place of the venue far (more than
    STREET_CONFLICT_M) from every point of the street, and the street less likely for the attending
    ED than the venue? Then the street may be another of that name that is not loaded ("white lion,
    james st": James Street, Covent Garden is pedestrian; the loaded one is in Marylebone), and
    neither is placed at street confidence. likelihood(places, idx): the catchment prior."""
    pts = np.concatenate([g.streets.keys[k] for k in street_keys]) if street_keys else np.array([], int)
    if len(cand) == 0 or len(pts) == 0:
        return False
    d = np.hypot(g.venues.x[cand][:, None] - g.streets.x[pts][None, :], g.venues.y[cand][:, None] - g.streets.y[pts][None, :])
    if d.min() <= STREET_CONFLICT_M:
        return False
    return bool(likelihood(g.streets, pts).max() < likelihood(g.venues, cand).max())


def qualifiers(g, area_keys: list[str], street_keys: list[str], venue_keys: list[str]) -> tuple[list[str], list[str]]:
    """The area keys and landmark venue keys that say where a venue is.

    A street that is also a station's neighbourhood ("great portland st") is a street, checked as
    one; a place that is a landmark and a wider area ("leicester square" in the demo's town
    centre "Leicester Square / Covent Garden") is the area.
    """
    def wide(k):
        return len(g.area_class) == 0 or (g.area_class[g.areas.keys[k]] != "station").any()
    areas = [k for k in area_keys if k not in street_keys or wide(k)]
    marks = [k for k in venue_keys if len(g.venue_class) and (g.venue_class[g.venues.keys[k]] != "premises").any()
             and not (k in area_keys and wide(k))]
    return areas, marks
