"""Give points their spatial keys: borough, H3 cells and street block."""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from layers.blocks import DEFAULT_MAX_DISTANCE_M, BlockIndex
from layers.hexes import h3_columns


def borough_of_points(lat, lon, codes, polygons) -> np.ndarray:
    """GSS code of the borough polygon (WGS84) containing each point, None outside all."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    out = np.full(len(lat), None, dtype=object)
    ok = np.isfinite(lat) & np.isfinite(lon)
    for code, poly in zip(codes, polygons):
        x0, y0, x1, y1 = shapely.bounds(poly)
        # the bounding box test is cheap and rules out most points before the exact test
        idx = np.flatnonzero(ok & (out == None) & (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1))  # noqa: E711
        if len(idx):
            shapely.prepare(poly)
            out[idx[shapely.contains_xy(poly, lon[idx], lat[idx])]] = code
    return out


def locate(lat, lon, blocks: BlockIndex | None, max_distance_m: float = DEFAULT_MAX_DISTANCE_M) -> pd.DataFrame:
    """Columns h3_r7..h3_r10 and block_id (nullable) for points."""
    cols = h3_columns(lat, lon)
    out = pd.DataFrame(cols)
    if blocks is None:
        out["block_id"] = pd.array([pd.NA] * len(out), dtype="Int32")
    else:
        ids, _ = blocks.assign(lat, lon, max_distance_m)
        out["block_id"] = pd.array(np.where(ids < 0, 0, ids), dtype="Int32")
        out.loc[ids < 0, "block_id"] = pd.NA
    return out


def point_keys(lat, lon, boroughs: tuple[list, list] | None, blocks: BlockIndex | None,
               max_distance_m: float = DEFAULT_MAX_DISTANCE_M) -> pd.DataFrame:
    """lat, lon, borough_code, h3_r7..h3_r10 and block_id of distinct points (NaN rows dropped).

    boroughs: (codes, WGS84 polygons) or None. Real point data repeats locations (police.uk
    publishes a limited set of snap points), so callers pass distinct points and join back.
    """
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    lat, lon = lat[ok], lon[ok]
    out = pd.DataFrame({"lat": lat, "lon": lon})
    out["borough_code"] = pd.Series(borough_of_points(lat, lon, *boroughs) if boroughs else np.full(len(lat), None, object),
                                    dtype=object)
    return pd.concat([out, locate(lat, lon, blocks, max_distance_m)], axis=1)


def record_hash(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Stable 64-bit hash of each row's values in `columns` (for idempotent re-loads)."""
    return pd.util.hash_pandas_object(df[columns].astype(str), index=False).to_numpy(np.uint64)
