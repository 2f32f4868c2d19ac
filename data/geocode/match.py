"""Geocode free-text assault locations against a gazetteer, with a confidence level.

A description is normalised (data/geocode/text.py), misspelt words are corrected against
the gazetteer's vocabulary, and every word span that names a venue, street or area is
found. When a name exists in many places (London has dozens of High Streets and Red Lions)
each candidate is weighed by its prior (venue type, and where located violence concentrates:
see `density_prior` in data/geocode/gazetteer.py), by the attending ED's catchment (was that ED
the nearest or second nearest to the place?), by the record's coded location type (a "shop or
takeaway" is not a pub) and, for venues, by whether the description also names the venue's
street, area or a landmark near it. Which spans name a venue at all (a name made only of generic
words such as "The Court" must be typed in full; "stn" names only stations) and which places an
area word leaves (only the venues in it, else none) are the rules of data/geocode/qualify.py,
learnt on real registers (bench/geocode_real.py). The answer is the point holding the most weight within a radius; the shares of
all the weight near it decide the confidence: a venue must be more likely right than not, a
street point must be within 500 m of the truth four times in five (a venue branch is placed at
street confidence when it is more likely the one than 500 m off: `VENUE_ODDS`). A wrong point is worse than
none: when no place holds enough weight the record drops to `area` or `none`. Private or absent
locations get `none` and are never put on the map.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import shapely

from data.geocode import qualify
from data.geocode.coords import from_xy, to_xy
from data.geocode.gazetteer import Gazetteer, Places
from data.geocode.qualify import Ask
from data.geocode.text import PRIVATE_WORDS, TRANSIT_WORDS, UNKNOWN_WORDS, VENUE_TYPES, content, spell, tokens

__all__ = ["Gazetteer", "geocode", "geocode_one", "COLUMNS"]

COLUMNS = ["lat", "lon", "confidence", "matched", "score", "method"]
# how often an assault victim attends the nearest ED, the second nearest, ... (relative)
ED_RANK_WEIGHT = np.array([1.0, 0.3, 0.04, 0.01, 0.004])
ED_DECAY_M = 12_000.0       # used alone when no ED sites are known
ED_RANK_SLACK_M = 150.0     # an ED this much nearer than the attending one still counts as a tie
MAX_CANDIDATES = 600        # the heaviest candidates kept for clustering
STREET_OF_VENUE = 25.0      # weight factor when the description names the venue's street
OTHER_STREET = 0.15         # ... and when it names a street the venue is not on
# the answer is the point with the most weight within RADIUS of it; a confidence level needs more
# than MIN_SHARE of all the weight within RADIUS and at least MIN_SURE within SURE_RADIUS. A venue
# must be more likely right than not; a street point may be off by a block, but not by a mile.
RADIUS = {"venue": 50.0, "street": 250.0, "area": 1500.0}
SURE_RADIUS = {"venue": 500.0, "street": 500.0, "area": 1500.0}
MIN_SHARE = {"venue": 0.5, "street": 0.0, "area": 0.0}
MIN_SURE = {"venue": 0.0, "street": 0.8, "area": 0.6}
JUNCTION_M = 20.0          # line ends this close meet at a junction
JUNCTION_PULL_M = 250.0    # how far along a street that ends at the corner to place the point
JUNCTION_LONG_M = 1000.0
# "fairfax bar": weight factor of a Fairfax Bar over a plain Fairfax. Large: the typed word is
# usually right, and a plain Fairfax wins only where no Fairfax Bar is in the ED's catchment
TYPE_WORD_MATCH = 30.0
# a venue name with several likely branches is still placed (street confidence) when the chance
# that the likeliest is the one exceeds VENUE_ODDS times the chance the truth is beyond
# SURE_RADIUS from it: a near miss costs little, a far one is a wrong point on the map. Calibrated
# on the demo (bench/geocode.py): 0.9 places more and reaches the wrong-placement limit sooner
VENUE_ODDS = 1.0
FUZZY_PENALTY = 0.9         # score factor per corrected word
# licence types that fit a record's coded ISTV location type: 05 "shop or takeaway" is a takeaway
# (late-night refreshment) or an off-licence; 01 "licensed premises" fits every licence type, and
# LICENCE_WEIGHT already prefers the on-trade. A miscoded record keeps a little weight on the others.
TYPE_FIT = {"05": {"late_night_refreshment": 1.0, "off_licence": 1.0}}
CODES_USED = frozenset(TYPE_FIT) | qualify.LICENSED_CODES  # location types that can change an answer
TYPE_MISFIT = 0.1
AREA_WORDS = frozenset({"area", "vicinity", "somewhere", "centre", "center"})
_POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})\b")


def _likelihood(g: Gazetteer, places: Places, idx: np.ndarray, near) -> np.ndarray:
    """Catchment prior: how likely a victim at each place attends the ED at `near`."""
    if near is None:
        return np.ones(len(idx))
    d = np.hypot(places.x[idx] - near[0], places.y[idx] - near[1])
    if places.ed_dist.shape[1] == 0:
        return np.exp(-d / ED_DECAY_M)
    rank = (places.ed_dist[idx] < (d - ED_RANK_SLACK_M)[:, None]).sum(axis=1)
    return ED_RANK_WEIGHT[np.minimum(rank, len(ED_RANK_WEIGHT) - 1)]


def _cluster(x: np.ndarray, y: np.ndarray, w: np.ndarray, radius: float, sure_radius: float) -> tuple[int, float, float]:
    """Index of the point holding the most weight within `radius`, and the shares of all weight
    within `radius` and within `sure_radius` of it."""
    total = w.sum()
    if len(w) == 1 or total <= 0:
        return 0, float(total > 0), float(total > 0)
    keep = np.arange(len(w))
    if len(w) > MAX_CANDIDATES:
        keep = np.argsort(-w, kind="stable")[:MAX_CANDIDATES]
    kx, ky, kw = x[keep], y[keep], w[keep]
    d2 = (kx[:, None] - kx[None, :]) ** 2 + (ky[:, None] - ky[None, :]) ** 2
    mass = (d2 <= radius * radius) @ kw
    j = int(np.argmax(mass))
    return int(keep[j]), float(mass[j] / total), float(kw[d2[j] <= sure_radius * sure_radius].sum() / total)


def _answer(places: Places, idx, share, confidence, method, fuzz):
    lat, lon = from_xy(places.x[idx], places.y[idx])
    return float(lat), float(lon), confidence, str(places.label[idx]), round(share * fuzz, 3), method


def _resolve(g: Gazetteer, places: Places, cand: np.ndarray, w: np.ndarray, confidence: str):
    """(index, share, sure share) of the best cluster for one confidence level, or None without
    weight: the shares of the weight within RADIUS and within SURE_RADIUS of the answer."""
    if len(cand) == 0 or w.sum() <= 0:
        return None
    j, share, sure = _cluster(places.x[cand], places.y[cand], w, RADIUS[confidence], SURE_RADIUS[confidence])
    return int(cand[j]), share, sure


def _sure(best, confidence: str) -> bool:
    """Does a resolved cluster hold enough weight for this confidence level?"""
    return best is not None and best[1] > MIN_SHARE[confidence] and best[2] >= MIN_SURE[confidence]


def _venue_weight(g: Gazetteer, cand: np.ndarray, near, location_type) -> np.ndarray:
    """Prior times catchment, times how well each candidate's licence type fits the coded location type."""
    w = g.venues.prior[cand] * _likelihood(g, g.venues, cand, near)
    fit = TYPE_FIT.get(location_type)
    if fit is None or len(g.venue_kind) == 0:
        return w
    kinds = g.venue_kind[cand]
    return w * np.array([1.0 if k is None else fit.get(k, TYPE_MISFIT) for k in kinds])


def _venue_candidates(g: Gazetteer, key: str, ask: Ask) -> tuple[np.ndarray, np.ndarray]:
    """Venues a key may name under the rules of data/geocode/qualify.py, and a weight factor for each.

    A key ending in a venue-type word ("fairfax bar") also names the venues known without it
    (The Fairfax, a pub): people add the wrong type. Those that carry the typed word weigh
    TYPE_WORD_MATCH times more.
    """
    cand = qualify.candidates(g, key, ask)
    words = key.split()
    if len(words) > 1 and words[-1] in VENUE_TYPES:
        bare = " ".join(words[:-1])
        if bare in g.venues.keys:
            wider = qualify.candidates(g, bare, ask)
            if len(wider) > len(cand):
                return wider, np.where(np.isin(wider, cand), TYPE_WORD_MATCH, 1.0)
    return cand, np.ones(len(cand))


def _venue(g: Gazetteer, key: str, street_keys: set[str], ask: Ask, near, fuzz, location_type=None):
    cand, typed = _venue_candidates(g, key, ask)
    if len(cand) == 0:
        return None
    w = _venue_weight(g, cand, near, location_type) * typed
    method = "venue"
    qualified = qualify.inside(g, key, cand, ask)
    if qualified is not None:
        ins, binding = qualified
        if not ins.any():  # "red lion soho" and no Red Lion in Soho: not a Red Lion elsewhere
            ask.failed.add(key)
            return None
        w = w * ins
        method = "venue+area" if binding or ins.max() > qualify.OUTSIDE_WEIGHT else method
    if street_keys:
        street_keys = {g.street_alias.get(k, k) for k in street_keys}
        on = np.array([bool(g.venue_streets[i] & street_keys) for i in cand])
        if on.any():
            method = "venue+street"
        elif any(k not in g.areas.keys and k != key and k not in ask.landmarks for k in street_keys):
            # "red lion, mill lane" and no Red Lion on Mill Lane: not that venue; the street will do,
            # unless every Red Lion is far from every Mill Lane: then they name different places.
            # A street that is also an area or a landmark ("trafalgar sq") only says where, as above
            named = [k for k in street_keys if k not in g.areas.keys and k != key and k not in ask.landmarks]
            ask.conflict = ask.conflict or qualify.street_conflict(
                g, cand, named, lambda places, idx: _likelihood(g, places, idx, near))
            return None
        w = w * np.where(on, STREET_OF_VENUE, OTHER_STREET)
    best = _resolve(g, g.venues, cand, w, "venue")
    if best is not None and fuzz < 1 and _likelihood(g, g.venues, np.array([best[0]]), near)[0] < ED_RANK_WEIGHT[1]:
        return None  # a corrected spelling that lands beyond the ED's catchment ("mcdonalds" → McDonaghs Bar, NW9)
    if _sure(best, "venue"):
        return _answer(g.venues, best[0], best[1], "venue", method, fuzz)
    # several of that name, but (nearly) all within a street's reach, or the likeliest more likely right than far off
    if _sure(best, "street") or _likely(best):
        return _answer(g.venues, best[0], best[2], "street", method.replace("venue", "venue-street", 1), fuzz)
    return None


def _likely(best) -> bool:
    """Is the likeliest branch of a venue name (best: index, share within RADIUS, share within
    SURE_RADIUS) worth placing: its share more than VENUE_ODDS times the share far from it?
    A coin toss between two branches far apart is not."""
    return best is not None and best[1] > VENUE_ODDS * (1.0 - best[2])


def _venue_area(g: Gazetteer, key: str, ask: Ask, near, fuzz, location_type=None):
    """A venue name that fits several places: their area, when most of the weight lies in one."""
    cand, typed = _venue_candidates(g, key, ask)
    if key in ask.failed or len(cand) == 0:
        return None
    w = _venue_weight(g, cand, near, location_type) * typed
    qualified = qualify.inside(g, key, cand, ask)
    if qualified is not None:
        w = w * qualified[0]
    best = _resolve(g, g.venues, cand, w, "area")
    if _sure(best, "area"):
        return _answer(g.venues, best[0], best[2], "area", "venue-area", fuzz)
    return None


def _point_likelihood(g: Gazetteer, x: np.ndarray, y: np.ndarray, near) -> np.ndarray:
    """The catchment prior for points that are not gazetteer places (junctions)."""
    if near is None:
        return np.ones(len(x))
    d = np.hypot(x - near[0], y - near[1])
    if len(g.ed_xy) == 0:
        return np.exp(-d / ED_DECAY_M)
    ed = np.hypot(x[:, None] - g.ed_xy[None, :, 0], y[:, None] - g.ed_xy[None, :, 1])
    rank = (ed < (d - ED_RANK_SLACK_M)[:, None]).sum(axis=1)
    return ED_RANK_WEIGHT[np.minimum(rank, len(ED_RANK_WEIGHT) - 1)]


def _corners(la: np.ndarray, lb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points where lines of street a meet lines of street b, and for each the a-line that
    ends there (-1 when a carries on through the corner or crosses b mid-line)."""
    starts, ends = shapely.get_point(la, 0), shapely.get_point(la, -1)
    ea = np.concatenate([starts, ends])
    owner = np.concatenate([np.arange(len(la)), np.arange(len(la))])
    hit = (shapely.distance(ea[:, None], lb[None, :]) <= JUNCTION_M).any(axis=1)
    pts = list(shapely.get_coordinates(ea[hit]))
    line_of = list(owner[hit])
    eb = np.concatenate([shapely.get_point(lb, 0), shapely.get_point(lb, -1)])
    d = shapely.distance(eb[:, None], la[None, :])
    for i, j in zip(*np.nonzero(d <= JUNCTION_M)):  # b ends on a, maybe mid-line ("T" junction)
        p = shapely.line_interpolate_point(la[j], shapely.line_locate_point(la[j], eb[i]))
        pts.append((p.x, p.y))
        line_of.append(-1)
    if not pts:
        crossing = shapely.get_parts(shapely.intersection(la[:, None], lb[None, :]).ravel())
        crossing = crossing[shapely.get_type_id(crossing) == 0]
        return shapely.get_coordinates(crossing), np.full(len(crossing), -1)
    pts, line_of = np.array(pts, float), np.array(line_of)
    # an a-line only counts as ending at the corner when no other a-line touches it there
    for n, (x, y) in enumerate(pts):
        if line_of[n] >= 0:
            touching = shapely.distance(shapely.points(x, y), la) <= JUNCTION_M
            if touching.sum() > 1:
                line_of[n] = -1
    return pts, line_of


def _junction(g: Gazetteer, a: str, b: str, near, fuzz):
    """Where streets a and b meet; along a's block from there when a ends at the corner."""
    la, lb = g.street_lines.get(a), g.street_lines.get(b)
    if la is None or lb is None:
        return None
    pts, line_of = _corners(la, lb)
    if len(pts) == 0:
        return None
    x, y = pts[:, 0].copy(), pts[:, 1].copy()
    reach = np.zeros(len(x))
    for n in range(len(x)):
        if line_of[n] < 0:
            continue
        line = la[line_of[n]]
        length = shapely.length(line)
        reach[n] = length
        at = shapely.line_locate_point(line, shapely.points(x[n], y[n]))
        along = min(length / 2, JUNCTION_PULL_M)
        p = shapely.line_interpolate_point(line, along if at < length / 2 else length - along)
        x[n], y[n] = p.x, p.y
    w = _point_likelihood(g, x, y, near)
    j, _, share = _cluster(x, y, w, RADIUS["street"], SURE_RADIUS["street"])
    if share < MIN_SURE["street"]:
        return None
    lat, lon = from_xy(x[j], y[j])
    # a block longer than this leaves the spot too open for street confidence
    confidence = "street" if reach[j] <= JUNCTION_LONG_M else "area"
    return float(lat), float(lon), confidence, f"junction:{a}|{b}", round(share * fuzz, 3), "junction"


def _street(g: Gazetteer, keys: list[str], near, fuzz):
    """A street (the first named); a second street named pulls towards where they meet."""
    cand = g.streets.keys[keys[0]]
    w = g.streets.prior[cand] * _likelihood(g, g.streets, cand, near)
    if len(keys) > 1:
        other = g.streets.keys[keys[1]]
        d = np.min(np.hypot(g.streets.x[cand][:, None] - g.streets.x[other][None, :],
                            g.streets.y[cand][:, None] - g.streets.y[other][None, :]), axis=1) \
            if len(cand) * len(other) < 400_000 else np.zeros(len(cand))
        w = w * np.where(d < 300, 10.0, 1.0)
    best = _resolve(g, g.streets, cand, w, "street")
    if best is None:
        return None
    if _sure(best, "street"):
        return _answer(g.streets, best[0], best[2], "street", "street", fuzz)
    area = _resolve(g, g.streets, cand, w, "area")
    if _sure(area, "area"):
        return _answer(g.streets, area[0], area[2], "area", "street-area", fuzz)
    return None


def _area(g: Gazetteer, key: str, near, fuzz):
    cand = g.areas.keys[key]
    w = g.areas.prior[cand] * _likelihood(g, g.areas, cand, near)
    best = _resolve(g, g.areas, cand, w, "area")
    if _sure(best, "area"):
        return _answer(g.areas, best[0], best[2], "area", "area", fuzz)
    return None


def _none(matched: str, method: str = "none"):
    return np.nan, np.nan, "none", matched, 0.0, method


def geocode_one(g: Gazetteer, text, near: tuple[float, float] | None = None, location_type: str | None = None):
    """(lat, lon, confidence, matched, score, method) for one description.

    near: the attending ED in local metres (see `geocode`); location_type: the record's ISTV
    location type code ('01', '05', ...); lat/lon are NaN when not placed.
    """
    raw = text if isinstance(text, str) else ""
    words = tokens(raw)
    if not words or all(w in UNKNOWN_WORDS for w in words):
        return _none("unknown", "absent")
    if g.postcodes:
        m = _POSTCODE.search(raw.upper())
        if m and (m.group(1) + m.group(2)) in g.postcodes:
            lat, lon = g.postcodes[m.group(1) + m.group(2)]
            return lat, lon, "street", f"postcode:{m.group(1)} {m.group(2)}", 1.0, "postcode"
    words, fixed = spell(g, content(words))
    fuzz = FUZZY_PENALTY ** fixed
    spans, ask = qualify.read(g, raw, words, location_type)
    covered = {t for i, j, _, _ in spans for t in range(i, j)}
    if any(w in PRIVATE_WORDS for t, w in enumerate(words) if t not in covered):
        return _none("private", "absent")
    if not spans:
        return _none("transit" if any(w in TRANSIT_WORDS for w in words) else "unmatched",
                     "absent" if any(w in TRANSIT_WORDS for w in words) else "none")
    venue_keys = [k for _, _, kind, k in spans if kind == "venue"]
    street_keys = [k for _, _, kind, k in spans if kind == "street"]
    area_keys = [k for _, _, kind, k in spans if kind == "area"]
    if any(k not in area_keys for k in venue_keys):
        # "rosa's thai, leicester square": a place that is also an area only says where the venue is,
        # unless a venue-type word follows it ("the victoria pub, nr victoria stn")
        typed = {k for _, j, kind, k in spans if kind == "venue" and j < len(words) and words[j] in VENUE_TYPES}
        venue_keys = [k for k in venue_keys if k not in area_keys or k in typed]
    method_fuzz = " fuzzy" if fixed else ""
    if any(w in AREA_WORDS for t, w in enumerate(words) if t not in covered):  # "brick lane area": the writer says it is not the exact spot
        for key in area_keys + street_keys + venue_keys:
            places = g.areas if key in area_keys else g.streets if key in street_keys else g.venues
            cand = places.keys[key] if places is not g.venues else qualify.candidates(g, key, ask)
            if len(cand) == 0:
                continue
            hit = _resolve(g, places, cand, places.prior[cand] * _likelihood(g, places, cand, near), "area")
            if _sure(hit, "area"):
                return _answer(places, hit[0], hit[2], "area", "area" + method_fuzz, fuzz)
        return _none("ambiguous:" + (area_keys + street_keys + venue_keys)[0], "ambiguous")
    for key in venue_keys:
        hit = _venue(g, key, set(street_keys), ask, near, fuzz, location_type)
        if hit:
            return hit[:5] + (hit[5] + method_fuzz,)
    if len(street_keys) >= 2 and not ask.conflict:
        hit = _junction(g, street_keys[0], street_keys[1], near, fuzz)
        if hit:
            return hit[:5] + (hit[5] + method_fuzz,)
    if street_keys and not ask.conflict:  # a venue named far from every such street: neither is sure
        hit = _street(g, street_keys, near, fuzz)
        if hit and (hit[2] == "street" or not venue_keys):
            return hit[:5] + (hit[5] + method_fuzz,)
    for key in venue_keys:
        hit = _venue_area(g, key, ask, near, fuzz, location_type)
        if hit:
            return hit[:5] + (hit[5] + method_fuzz,)
    for key in area_keys:
        hit = _area(g, key, near, fuzz)
        if hit:
            return hit[:5] + (hit[5] + method_fuzz,)
    return _none("ambiguous:" + (venue_keys + street_keys + area_keys)[0], "ambiguous")


def geocode(g: Gazetteer, texts, near_lat=None, near_lon=None, location_types=None) -> pd.DataFrame:
    """Geocode descriptions; near_lat/near_lon: the attending ED's location per record (optional, NaN allowed);
    location_types: each record's ISTV location type code (optional; '01' and '05' weigh venues by licence type).

    Returns one row per text with columns lat, lon, confidence (venue/street/area/none),
    matched (what was matched: premises:ID, landmark:NAME, ed_site:CODE, street:NAME|BOROUGH,
    junction:A|B, area:NAME, postcode:PC, or why nothing was: unknown, private, transit,
    unmatched, ambiguous:KEY), score (0-1) and method.
    """
    texts = list(texts)
    n = len(texts)
    nx = ny = None
    if near_lat is not None and near_lon is not None:
        nx, ny = to_xy(np.asarray(near_lat, float), np.asarray(near_lon, float))
    codes = [None] * n if location_types is None else [c if isinstance(c, str) else None for c in location_types]
    cache: dict = {}
    rows = []
    for i, text in enumerate(texts):
        near = None
        if nx is not None and np.isfinite(nx[i]) and np.isfinite(ny[i]):
            near = (round(float(nx[i]), 1), round(float(ny[i]), 1))
        code = codes[i] if codes[i] in CODES_USED else None  # other codes do not change the answer: share the cache
        key = (text if isinstance(text, str) else "", near, code)
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = geocode_one(g, text, near, code)
        rows.append(hit)
    out = pd.DataFrame(rows, columns=COLUMNS, index=range(n))
    out["lat"] = out["lat"].astype(float)
    out["lon"] = out["lon"].astype(float)
    return out
