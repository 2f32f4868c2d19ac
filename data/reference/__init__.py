"""London reference data every deployment shares: the 33 boroughs and the Type 1 emergency departments.

Read from the CSV files beside this module (plain data, edited without touching code):
- boroughs.csv: GSS code, name, area centroid (WGS84) and approximate ONS mid-2021 population
  rounded to 100 (GLA statistical boundaries, Open Government Licence v3.0; contains OS data
  © Crown copyright and database right).
- ed_sites.csv: NHS ODS site code, name, borough and approximate position of each Type 1 ED;
  `code_verified` is "no" where the ODS code could not be confirmed.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent


class Borough(NamedTuple):
    code: str
    name: str
    lat: float
    lon: float
    population: int


class EdSite(NamedTuple):
    code: str
    name: str
    borough_code: str
    lat: float
    lon: float


def _rows(name: str) -> list[dict]:
    with open(HERE / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


BOROUGHS: tuple[Borough, ...] = tuple(
    Borough(r["gss_code"], r["name"], float(r["lat"]), float(r["lon"]), int(r["population"]))
    for r in _rows("boroughs.csv"))
ED_SITES: tuple[EdSite, ...] = tuple(
    EdSite(r["site_code"], r["name"], r["borough_code"], float(r["lat"]), float(r["lon"]))
    for r in _rows("ed_sites.csv"))
BOROUGH_NAMES: dict[str, str] = {b.code: b.name for b in BOROUGHS}
