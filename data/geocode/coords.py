"""Local metres around central London and the cleaning of point tables, shared by the geocoder's modules."""
from __future__ import annotations

import numpy as np
import pandas as pd

LAT0, LON0 = 51.5, -0.12
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0 * np.cos(np.radians(LAT0))


def to_xy(lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 → local metres (equirectangular around central London; < 1 % error in London)."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    return (lon - LON0) * M_PER_DEG_LON, (lat - LAT0) * M_PER_DEG_LAT


def from_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Local metres → WGS84 (lat, lon)."""
    return np.asarray(y, float) / M_PER_DEG_LAT + LAT0, np.asarray(x, float) / M_PER_DEG_LON + LON0


def clean(df: pd.DataFrame | None, cols: list[str]) -> pd.DataFrame:
    if df is None:
        return pd.DataFrame(columns=cols)
    df = df.reset_index(drop=True)
    ok = pd.to_numeric(df["lat"], errors="coerce").notna() & pd.to_numeric(df["lon"], errors="coerce").notna()
    return df[ok].reset_index(drop=True)
