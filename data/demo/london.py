"""Real-world material for the deterministic synthetic London: read from london.json beside this module.

Sources:
- Boroughs and EDs: data/reference (shared with real deployments).
- LONDON_OUTLINE: union of the 33 borough polygons, simplified in EPSG:27700 with a 500 m
  tolerance, converted to WGS84 and rounded to 5 decimals; (lon, lat), counter-clockwise, open
  ring. Derived from GLA statistical boundaries, Open Government Licence v3.0; contains OS data
  © Crown copyright and database right.
- Town centres (weight: night-time-economy intensity 1.0 .. 5.0) and landmarks (kind: station,
  park, shopping_centre, square, market): real places with approximate coordinates, each checked
  to lie inside its borough's boundary and inside LONDON_OUTLINE.
- Premises and street-name material is generic vocabulary for generated names.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from data.reference import BOROUGHS, ED_SITES, Borough, EdSite

__all__ = ["BOROUGHS", "ED_SITES", "Borough", "EdSite", "TownCentre", "Landmark", "TOWN_CENTRES", "LANDMARKS",
           "PUB_NAMES", "BAR_NAMES", "CLUB_NAMES", "RESTAURANT_NAMES", "OFF_LICENCE_NAMES", "CHAINS",
           "STREET_STEMS", "STREET_SUFFIXES", "LONDON_OUTLINE"]


class TownCentre(NamedTuple):
    name: str
    borough_code: str
    lat: float
    lon: float
    weight: float
    high_street: str


class Landmark(NamedTuple):
    name: str
    kind: str
    borough_code: str
    lat: float
    lon: float


_DATA = json.loads((Path(__file__).resolve().parent / "london.json").read_text(encoding="utf-8"))

TOWN_CENTRES: tuple[TownCentre, ...] = tuple(TownCentre(*row) for row in _DATA["town_centres"])
LANDMARKS: tuple[Landmark, ...] = tuple(Landmark(*row) for row in _DATA["landmarks"])
PUB_NAMES: tuple[str, ...] = tuple(_DATA["pub_names"])
BAR_NAMES: tuple[str, ...] = tuple(_DATA["bar_names"])
CLUB_NAMES: tuple[str, ...] = tuple(_DATA["club_names"])
RESTAURANT_NAMES: tuple[str, ...] = tuple(_DATA["restaurant_names"])
OFF_LICENCE_NAMES: tuple[str, ...] = tuple(_DATA["off_licence_names"])
CHAINS: tuple[str, ...] = tuple(_DATA["chains"])
STREET_STEMS: tuple[str, ...] = tuple(_DATA["street_stems"])
STREET_SUFFIXES: tuple[str, ...] = tuple(_DATA["street_suffixes"])
LONDON_OUTLINE: tuple[tuple[float, float], ...] = tuple(tuple(p) for p in _DATA["london_outline"])
