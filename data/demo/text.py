"""The receptionist's free text: how assault locations are typed into an ED system.

Deliberately messy so that geocoding accuracy figures mean something: typos (swapped,
dropped, doubled and wrong neighbouring letters), abbreviations, missing words ("rose crown",
no "The"), dropped or added apostrophes, brand slang for chains (some of it no gazetteer
knows), the wrong venue type ("red lion club"), house numbers, blanks and refusals. Like real
receptionists, it sometimes adds what it knows about the place: the street, the town centre,
a venue next to a street spot, the cross street.

This module shares no code with the geocoder (data/geocode*.py): its spellings are written
independently, so the geocoder cannot pass by construction.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

_SHORT = {"Street": ("st", "St", "str", "St."), "Road": ("rd", "Rd", "Rd."), "Avenue": ("ave", "av"),
          "Lane": ("ln", "lane"), "Place": ("pl",), "Square": ("sq",), "Gardens": ("gdns",),
          "Terrace": ("terr",), "Crescent": ("cres",), "Parade": ("pde",), "Grove": ("gr",)}
PRIVATE = ("home", "at home", "HOME", "own home", "friends house", "friend's flat", "partners flat",
           "at a house party", "home address", "in the house", "mums house", "hostel room", "ex's flat")
UNKNOWN = ("", "", "unknown", "UNKNOWN", "declined", "not stated", "n/k", "?", "pt unable to say", "cant remember",
           "pt refused", "NK")
TRANSIT = ("on the bus", "bus", "on a train", "tube", "night bus", "on the overground")
VENUE_TYPES = (" pub", " bar", " club", " pub", "")
# how people write chain names; some of these (wethers, kentucky) no gazetteer will know
SLANG = {
    "Wetherspoons": ("spoons", "Wetherspoon", "weatherspoons", "wethers", "spoons pub"),
    "McDonald's": ("maccies", "mcdonalds", "McDonalds", "mcds", "maccy d's"),
    "Nando's": ("nandos", "Nandos"), "KFC": ("kfc", "kentucky"), "Tesco Express": ("tesco", "tescos", "Tesco"),
    "Sainsbury's Local": ("sainsburys", "Sainsburys"), "Co-op": ("coop", "co op"),
    "M&S Simply Food": ("m&s", "marks and spencer", "M and S"), "O'Neill's": ("oneills", "o neills"),
    "Slug and Lettuce": ("the slug", "slug & lettuce"), "Little Waitrose": ("waitrose",),
    "Burger King": ("burger king", "BK"), "Greggs": ("greggs", "gregs"),
}
_KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbour(rng, ch: str) -> str:
    for row in _KEYBOARD:
        i = row.find(ch.lower())
        if i >= 0:
            options = row[max(0, i - 1):i] + row[i + 1:i + 2]
            return options[int(rng.integers(len(options)))] if options else ch
    return ch


def typo(rng, word: str) -> str:
    """One keyboard slip: a swapped, dropped, doubled or wrong neighbouring letter."""
    if len(word) < 4:
        return word
    i = int(rng.integers(1, len(word) - 2))
    kind = rng.integers(4)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    return word[:i] + _neighbour(rng, word[i]) + word[i + 1:]


def _mess(rng, text: str, p_typo: float) -> str:
    words = text.split()
    out = [typo(rng, w) if len(w) > 4 and rng.random() < p_typo else w for w in words]
    text = " ".join(out)
    r = rng.random()
    return text.lower() if r < 0.55 else text.upper() if r < 0.7 else text


def _street(rng, name: str) -> str:
    parts = name.split()
    if parts and parts[-1] in _SHORT and rng.random() < 0.5:
        opts = _SHORT[parts[-1]]
        parts[-1] = opts[int(rng.integers(len(opts)))]
    return " ".join(parts)


def _venue(rng, name: str) -> str:
    """A venue name as typed: slang, no 'The', missing 'and', apostrophes, the wrong venue type."""
    if name in SLANG and rng.random() < 0.4:
        opts = SLANG[name]
        return opts[int(rng.integers(len(opts)))]
    if name.startswith("The ") and rng.random() < 0.6:
        name = name[4:]
    r = rng.random()
    if " and " in name and r < 0.15:
        name = name.replace(" and ", " & ")
    elif " and " in name and r < 0.25:
        name = name.replace(" and ", " ")
    elif " of " in name and r < 0.2:
        name = name.replace(" of ", " ")
    if "'" in name and rng.random() < 0.4:
        name = name.replace("'", "")
    elif name.endswith("s") and "'" not in name and rng.random() < 0.05:
        name = name[:-1] + "'s"
    if rng.random() < 0.25:  # the wrong or an added venue type
        name += VENUE_TYPES[int(rng.integers(len(VENUE_TYPES)))]
    return name


def _centre_short(name: str) -> str:
    """'Islington (Upper Street)' → 'Islington', 'Bank / City' → 'Bank': how people say it."""
    return name.split("(")[0].split("/")[0].strip()


def describe(rng, ed: pd.DataFrame, world) -> tuple[np.ndarray, np.ndarray]:
    """Free-text location and what it truly names ('venue', 'street', 'landmark', 'area', 'private', 'none')."""
    prem = world.premises.set_index("premises_id")
    seg = world.segments
    street_of_block = dict(zip(seg["block_id"], seg["street"]))
    node_streets: dict[int, list[str]] = {}
    for u, v, s in seg[["node_u", "node_v", "street"]].itertuples(index=False):
        node_streets.setdefault(u, []).append(s)
        node_streets.setdefault(v, []).append(s)
    ends = dict(zip(seg["block_id"], zip(seg["node_u"], seg["node_v"])))
    centre_names = world.centres["name"].to_numpy()
    truth_xy = ed[["truth_x", "truth_y"]].to_numpy()
    centre_d, nearest_centre = cKDTree(world.centres[["x", "y"]].to_numpy()).query(truth_xy)
    prem_d, nearest_prem = cKDTree(world.premises[["x", "y"]].to_numpy()).query(truth_xy)
    prem_names = world.premises["name"].to_numpy()
    text = np.empty(len(ed), dtype=object)
    kind = np.empty(len(ed), dtype=object)
    for i, (loc, block, pid, lmk) in enumerate(ed[["location_type", "truth_block_id", "truth_premises_id", "truth_landmark"]].itertuples(index=False)):
        street = street_of_block[block]
        centre = _centre_short(centre_names[nearest_centre[i]])
        r = rng.random()
        if loc in ("03",) or (loc == "06" and r < 0.5):
            t, k = PRIVATE[int(rng.integers(len(PRIVATE)))] if loc == "03" else "at work", "private"
        elif loc == "99" or r < 0.04:
            t, k = UNKNOWN[int(rng.integers(len(UNKNOWN)))], "none"
        elif isinstance(pid, str):
            venue = _venue(rng, prem.at[pid, "name"])
            s = rng.random()
            if s < 0.3:
                t = venue
            elif s < 0.5:
                t = f"{('o/s', 'outside', 'in', 'inside', 'at')[int(rng.integers(5))]} {venue}"
            elif s < 0.72:
                t = f"{venue} {_street(rng, street)}"
            elif s < 0.85:
                t = f"o/s {venue}, {_street(rng, street)}"
            elif centre_d[i] < 2000:
                t = (f"{venue} {centre}", f"{venue}, {centre}", f"{venue} in {centre}")[int(rng.integers(3))]
            else:
                t = venue
            t, k = _mess(rng, t, 0.12), "venue"
        elif isinstance(lmk, str):
            name = lmk.replace(" station", "")
            s = rng.random()
            if s < 0.15:
                t, k = TRANSIT[int(rng.integers(len(TRANSIT)))], "none"
            else:
                t = (f"{name} stn", f"nr {name} station", f"{name} station", f"outside {name} tube")[int(rng.integers(4))]
                t, k = _mess(rng, t, 0.08), "landmark"
        else:
            s = rng.random()
            if s < 0.08:
                t, k = f"{centre} area", "area"
            elif s < 0.2:
                u, v = ends[block]
                others = [o for o in node_streets.get(u, []) + node_streets.get(v, []) if o != street]
                t = f"corner of {_street(rng, street)} and {_street(rng, others[0])}" if others else street
                k = "street"
            elif s < 0.32 and prem_d[i] < 60:  # a street spot told by the shop or pub next to it
                ref = _venue(rng, prem_names[nearest_prem[i]])
                t = (f"{_street(rng, street)} o/s {ref}", f"o/s {ref} on {_street(rng, street)}",
                     f"{_street(rng, street)} nr {ref}")[int(rng.integers(3))]
                k = "street"
            else:
                pre = ("", "", "o/s ", "nr ", "near ", "bus stop ", f"o/s {int(rng.integers(1, 200))} ", "on ")[int(rng.integers(8))]
                t, k = pre + _street(rng, street), "street"
            t = _mess(rng, t, 0.08)
        text[i], kind[i] = t, k
    return text, kind
