"""The receptionist's free text: how assault locations are typed into an ED system.

Deliberately messy (typos, abbreviations, missing words, wrong venue types, blanks) so that
geocoding accuracy figures mean something. This module shares no code with data/geocode.py.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

_SHORT = {"Street": ("st", "St", "str"), "Road": ("rd", "Rd"), "Avenue": ("ave", "av"), "Lane": ("ln", "lane"),
          "Place": ("pl",), "Square": ("sq",), "Gardens": ("gdns",), "Terrace": ("terr",), "Crescent": ("cres",)}
PRIVATE = ("home", "at home", "HOME", "own home", "friends house", "friend's flat", "partners flat",
           "at a house party", "home address", "in the house", "mums house", "hostel room")
UNKNOWN = ("", "", "unknown", "UNKNOWN", "declined", "not stated", "n/k", "?", "pt unable to say", "cant remember")
TRANSIT = ("on the bus", "bus", "on a train", "tube", "night bus", "on the overground")
VENUE_TYPES = (" pub", " bar", " club", " pub", "")


def typo(rng, word: str) -> str:
    """One keyboard slip: a swapped, dropped or doubled letter."""
    if len(word) < 4:
        return word
    i = int(rng.integers(1, len(word) - 2))
    kind = rng.integers(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


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
    if name.startswith("The ") and rng.random() < 0.6:
        name = name[4:]
    if rng.random() < 0.25:  # the wrong or an added venue type
        name += VENUE_TYPES[int(rng.integers(len(VENUE_TYPES)))]
    return name


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
    _, nearest_centre = cKDTree(world.centres[["x", "y"]].to_numpy()).query(ed[["truth_x", "truth_y"]].to_numpy())
    text = np.empty(len(ed), dtype=object)
    kind = np.empty(len(ed), dtype=object)
    for i, (loc, block, pid, lmk) in enumerate(ed[["location_type", "truth_block_id", "truth_premises_id", "truth_landmark"]].itertuples(index=False)):
        street = street_of_block[block]
        r = rng.random()
        if loc in ("03",) or (loc == "06" and r < 0.5):
            t, k = PRIVATE[int(rng.integers(len(PRIVATE)))] if loc == "03" else "at work", "private"
        elif loc == "99" or r < 0.04:
            t, k = UNKNOWN[int(rng.integers(len(UNKNOWN)))], "none"
        elif isinstance(pid, str):
            venue = _venue(rng, prem.at[pid, "name"])
            s = rng.random()
            if s < 0.35:
                t = venue
            elif s < 0.6:
                t = f"{('o/s', 'outside', 'in', 'inside')[int(rng.integers(4))]} {venue}"
            elif s < 0.85:
                t = f"{venue} {_street(rng, street)}"
            else:
                t = f"o/s {venue}, {_street(rng, street)}"
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
                t, k = centre_names[nearest_centre[i]] + " area", "area"
            elif s < 0.2:
                u, v = ends[block]
                others = [o for o in node_streets.get(u, []) + node_streets.get(v, []) if o != street]
                t = f"corner of {_street(rng, street)} and {_street(rng, others[0])}" if others else street
                k = "street"
            else:
                pre = ("", "", "o/s ", "nr ", "near ", "bus stop ", f"o/s {int(rng.integers(1, 200))} ", "on ")[int(rng.integers(8))]
                t, k = pre + _street(rng, street), "street"
            t = _mess(rng, t, 0.08)
        text[i], kind[i] = t, k
    return text, kind
