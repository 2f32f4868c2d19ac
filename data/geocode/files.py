"""Gazetteer and description files for the stand-alone geocoder: read, check, write.

Shapes (more columns may exist and are ignored):
- premises CSV `premises_id,name,address,licence_type,lat,lon` (WGS84; address, licence_type optional);
- streets GeoJSON: LineString/MultiLineString features with a `name` property;
- landmarks CSV `name,kind,lat,lon` (kind optional); ED sites CSV `site_code,name,lat,lon`;
- police.uk street-level crime CSVs (`Longitude,Latitude,Location,Crime type`, more columns
  ignored): their violent crimes are the located violence of the geocoder's density prior;
- input CSV `id,description[,site_code][,location_type]`; output CSV `id,lat,lon,confidence,matched,score`.
A problem names the file, the row (counting the header as row 1) and the column.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from data.errors import InputFileError
from data.ingest.schema import POLICE_VIOLENCE

LAT_RANGE, LON_RANGE = (49.0, 61.0), (-9.0, 2.5)  # Great Britain, generously
MISSING = {"", "\\N", "NA", "N/A", "NULL", "null", "nan", "NaN"}
OUTPUT_COLUMNS = ["id", "lat", "lon", "confidence", "matched", "score"]


def _read_csv(path, required: list[str]) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="latin-1")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputFileError(path, f"not a readable CSV file ({str(exc).strip().splitlines()[0]})") from None
    df.columns = [str(c).strip() for c in df.columns]
    lower = {c.lower(): c for c in df.columns}
    missing = [c for c in required if c not in lower]
    if missing:
        raise InputFileError(path, f"missing column(s) {', '.join(missing)}; expected {', '.join(required)}, "
                                   f"found {', '.join(df.columns) or 'no header'}", row=1)
    return df.rename(columns={lower[c.lower()]: c.lower() for c in df.columns if c.lower() in lower})


def _coordinates(df: pd.DataFrame, path, names: dict[str, str] | None = None) -> pd.DataFrame:
    """Parse lat/lon; rows with missing coordinates are dropped (real files have a few).

    names: the file's own names of the lat and lon columns, for messages.
    """
    out = {}
    names = names or {}
    for col, (lo, hi) in (("lat", LAT_RANGE), ("lon", LON_RANGE)):
        text = df[col].str.strip()
        values = pd.to_numeric(text.where(~text.isin(MISSING)), errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~text.isin(MISSING).to_numpy() & ~((values >= lo) & (values <= hi)))
        if len(bad):
            i = int(bad[0])
            raise InputFileError(path, f"{df[col].iat[i]!r} is not a WGS84 {'latitude' if col == 'lat' else 'longitude'} "
                                       f"in Great Britain (expected a number from {lo} to {hi}; "
                                       f"British National Grid metres must be converted first)", row=i + 2,
                                 column=names.get(col, col))
        out[col] = values
    df = df.assign(lat=out["lat"], lon=out["lon"])
    return df[np.isfinite(df["lat"]) & np.isfinite(df["lon"])].reset_index(drop=True)


def read_premises(path) -> pd.DataFrame:
    """Premises CSV → premises_id, name, lat, lon (+ address, licence_type, street if present)."""
    df = _coordinates(_read_csv(path, ["premises_id", "name", "lat", "lon"]), path)
    keep = [c for c in ("premises_id", "name", "address", "licence_type", "street", "borough_code", "lat", "lon") if c in df]
    return df[keep]


def read_landmarks(path) -> pd.DataFrame:
    """Landmarks CSV → name, kind, lat, lon."""
    df = _coordinates(_read_csv(path, ["name", "lat", "lon"]), path)
    if "kind" not in df:
        df["kind"] = "other"
    return df[["name", "kind", "lat", "lon"]]


def read_ed_sites(path) -> pd.DataFrame:
    """ED sites CSV → site_code, name, lat, lon."""
    df = _coordinates(_read_csv(path, ["site_code", "lat", "lon"]), path)
    if "name" not in df:
        df["name"] = df["site_code"]
    return df[["site_code", "name", "lat", "lon"]]


def read_input(path) -> pd.DataFrame:
    """Descriptions CSV → id, description, site_code, location_type (empty when the file has none)."""
    df = _read_csv(path, ["id", "description"])
    for col in ("site_code", "location_type"):
        if col not in df:
            df[col] = ""
    df["location_type"] = df["location_type"].str.strip().str.zfill(2).where(df["location_type"].str.strip() != "", "")
    return df[["id", "description", "site_code", "location_type"]]


def read_police(path) -> pd.DataFrame:
    """police.uk street-level CSV → lat, lon, street ("On or near ...") of its violent crimes."""
    df = _read_csv(path, ["longitude", "latitude", "crime type"])
    df = _coordinates(df.rename(columns={"latitude": "lat", "longitude": "lon"}), path, {"lat": "Latitude", "lon": "Longitude"})
    df = df[df["crime type"].str.strip().str.lower() == POLICE_VIOLENCE.lower()].reset_index(drop=True)
    street = df["location"] if "location" in df else pd.Series(None, index=df.index, dtype=object)
    return pd.DataFrame({"lat": df["lat"], "lon": df["lon"], "street": street.to_numpy(object)})


def _street_name(value) -> str | None:
    """A feature's street name; OSM exports sometimes hold a list ("['A Road', 'B Road']")."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str) and value.startswith("["):
        try:
            items = ast.literal_eval(value)
            value = items[0] if isinstance(items, (list, tuple)) and items else None
        except (ValueError, SyntaxError):
            pass
    if value is None or not str(value).strip():
        return None
    return str(value).strip()


def read_streets(path) -> pd.DataFrame:
    """Streets GeoJSON → street, lat, lon (line midpoint), geometry (WGS84 line); unnamed lines skipped.

    Two-way streets that appear once per direction are kept once.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"not valid GeoJSON ({exc.__class__.__name__}: {exc})") from None
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise InputFileError(path, "expected a GeoJSON FeatureCollection with a 'features' list")
    names, geoms = [], []
    for i, f in enumerate(features):
        geom = (f or {}).get("geometry") or {}
        kind = geom.get("type")
        if kind not in ("LineString", "MultiLineString"):
            raise InputFileError(path, f"feature {i + 1} has geometry {kind!r}; expected LineString or MultiLineString",
                                 column="geometry")
        name = _street_name((f.get("properties") or {}).get("name"))
        if name is None:
            continue
        try:
            line = shape(geom)
        except (ValueError, TypeError, AttributeError) as exc:
            raise InputFileError(path, f"feature {i + 1} has unreadable coordinates ({exc})", column="geometry") from None
        if line.is_empty:
            continue
        x0, y0, x1, y1 = line.bounds
        if not (LON_RANGE[0] <= x0 and x1 <= LON_RANGE[1] and LAT_RANGE[0] <= y0 and y1 <= LAT_RANGE[1]):
            raise InputFileError(path, f"feature {i + 1} ({name}) lies outside Great Britain in WGS84 "
                                       "(expected [longitude, latitude] coordinates)", column="geometry")
        names.append(name)
        geoms.append(line)
    lines = np.array(geoms, dtype=object)
    if len(lines):
        same = pd.Series(shapely.to_wkb(shapely.normalize(lines))).duplicated().to_numpy()
        names, lines = [n for n, s in zip(names, same) if not s], lines[~same]
    mid = shapely.line_interpolate_point(lines, 0.5, normalized=True) if len(lines) else np.array([], object)
    return pd.DataFrame({"street": names, "lat": shapely.get_y(mid) if len(lines) else [],
                         "lon": shapely.get_x(mid) if len(lines) else [], "geometry": lines})


def from_wkb(values) -> np.ndarray:
    """Shapely geometries from WKB values (DuckDB gives BLOBs as bytearray, shapely wants bytes)."""
    return shapely.from_wkb(np.array([None if v is None else bytes(v) for v in values], dtype=object))


def write_output(path, ids, result: pd.DataFrame) -> None:
    """Write id,lat,lon,confidence,matched,score (lat/lon empty when not placed)."""
    out = pd.DataFrame({"id": list(ids), "lat": result["lat"].round(6).to_numpy(), "lon": result["lon"].round(6).to_numpy(),
                        "confidence": result["confidence"].to_numpy(), "matched": result["matched"].to_numpy(),
                        "score": result["score"].to_numpy()})
    out.to_csv(path, index=False, columns=OUTPUT_COLUMNS, na_rep="")
