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
        shapely.prepare(poly)
        inside = ok & (out == None) & shapely.contains_xy(poly, lon, lat)  # noqa: E711
        out[inside] = code
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


def record_hash(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Stable 64-bit hash of each row's values in `columns` (for idempotent re-loads)."""
    return pd.util.hash_pandas_object(df[columns].astype(str), index=False).to_numpy(np.uint64)
