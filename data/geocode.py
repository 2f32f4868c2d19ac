"""Geocode free-text assault locations against a gazetteer, with a confidence level.

The gazetteer is built from what is loaded: premises names, street names per borough,
landmarks and town-centre (area) names. Matching looks up every word n-gram of the
normalised text; when a name exists in several places, the one nearest the attending ED
wins (people are mostly taken to a nearby ED). Private or absent locations get `none` and
are never forced onto a map point.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

ABBREVIATIONS = {
    "st": "street", "str": "street", "rd": "road", "ave": "avenue", "av": "avenue", "ln": "lane",
    "pl": "place", "sq": "square", "gdns": "gardens", "terr": "terrace", "cres": "crescent",
    "stn": "station", "o/s": "outside", "nr": "near", "opp": "opposite", "&": "and",
}
# words that say where relative to a place, or what kind of place, but are not its name
FILLER = {"outside", "near", "opposite", "in", "inside", "at", "on", "by", "the", "of", "corner",
          "bus", "stop", "pub", "bar", "club", "tube", "area", "junction", "and"}
PRIVATE = re.compile(r"\b(home|house|flat|address|hostel|bedroom|residence|party)\b")
UNKNOWN = re.compile(r"^\W*$|^(unknown|declined|not stated|n/?k|not known|unable|cant remember|can't remember|\?)")
MAX_NGRAM = 6


def normalise(text: str) -> list[str]:
    """Lower-case tokens with abbreviations expanded and punctuation and numbers dropped."""
    text = str(text).lower().replace("'", "").replace("’", "")
    tokens = re.findall(r"o/s|[a-z0-9&]+", text)
    out = []
    for t in tokens:
        t = ABBREVIATIONS.get(t, t)
        if not t.isdigit():
            out.append(t)
    return out


def _key(name: str) -> str:
    tokens = normalise(name)
    if tokens and tokens[0] == "the":
        tokens = tokens[1:]
    return " ".join(tokens)


@dataclass
class Gazetteer:
    """name key → candidate places; each place is (lat, lon, matched label)."""
    venues: dict[str, list[tuple[float, float, str]]] = field(default_factory=dict)
    streets: dict[str, list[tuple[float, float, str]]] = field(default_factory=dict)
    areas: dict[str, list[tuple[float, float, str]]] = field(default_factory=dict)

    @classmethod
    def build(cls, premises: pd.DataFrame, street_points: pd.DataFrame,
              landmarks: pd.DataFrame | None = None, areas: pd.DataFrame | None = None) -> "Gazetteer":
        """premises: premises_id, name, lat, lon; street_points: street, borough_code, lat, lon
        (one row per street and borough); landmarks/areas: name, lat, lon."""
        g = cls()
        for pid, name, lat, lon in premises[["premises_id", "name", "lat", "lon"]].itertuples(index=False):
            g.venues.setdefault(_key(name), []).append((lat, lon, f"premises:{pid}"))
        if landmarks is not None:
            for name, lat, lon in landmarks[["name", "lat", "lon"]].itertuples(index=False):
                key = _key(name)
                g.venues.setdefault(key, []).append((lat, lon, f"landmark:{name}"))
                if key.endswith(" station"):  # "brixton" alone names an area, not the station
                    g.areas.setdefault(key[: -len(" station")], []).append((lat, lon, f"area:{name}"))
        for street, borough, lat, lon in street_points[["street", "borough_code", "lat", "lon"]].itertuples(index=False):
            g.streets.setdefault(_key(street), []).append((lat, lon, f"street:{street}|{borough}"))
        if areas is not None:
            for name, lat, lon in areas[["name", "lat", "lon"]].itertuples(index=False):
                g.areas.setdefault(_key(name), []).append((lat, lon, f"area:{name}"))
        return g


CONFIDENCE_OF = {"venues": "venue", "streets": "street", "areas": "area"}


def _nearest(cands, near: tuple[float, float] | None):
    if near is None or len(cands) == 1:
        return cands[0]
    lat0, lon0 = near
    d = [(c[0] - lat0) ** 2 + ((c[1] - lon0) * 0.62) ** 2 for c in cands]
    return cands[int(np.argmin(d))]


def geocode_one(g: Gazetteer, text: str, near: tuple[float, float] | None = None) -> tuple[float, float, str, str]:
    """(lat, lon, confidence, matched) for one description; lat/lon NaN when not placed."""
    raw = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
    low = raw.strip().lower()
    if UNKNOWN.match(low):
        return np.nan, np.nan, "none", "unknown"
    if PRIVATE.search(low):
        return np.nan, np.nan, "none", "private"
    tokens = normalise(raw)
    for table in ("venues", "streets", "areas"):
        index = getattr(g, table)
        best = None
        for n in range(min(MAX_NGRAM, len(tokens)), 0, -1):
            for i in range(len(tokens) - n + 1):
                gram = tokens[i:i + n]
                if n == 1 and gram[0] in FILLER:
                    continue
                cands = index.get(" ".join(gram))
                if cands:
                    best = _nearest(cands, near)
                    break
            if best:
                break
        if best:
            return best[0], best[1], CONFIDENCE_OF[table], best[2]
    return np.nan, np.nan, "none", "unmatched"


def geocode(g: Gazetteer, texts, near_lat=None, near_lon=None) -> pd.DataFrame:
    """Geocode many descriptions; near_*: the attending ED's location per record (optional)."""
    texts = list(texts)
    rows = []
    for i, text in enumerate(texts):
        near = None
        if near_lat is not None and np.isfinite(near_lat[i]):
            near = (float(near_lat[i]), float(near_lon[i]))
        rows.append(geocode_one(g, text, near))
    return pd.DataFrame(rows, columns=["lat", "lon", "confidence", "matched"])
