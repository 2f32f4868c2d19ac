"""What the base map is cut from: street lines with names, borough outlines and names, landmarks.

Geography only, no incident data: the same for every viewer, so read unscoped (like
`queries.block_shapes`), once per data version by the caller (dashboard/basemap.py).
"""
from __future__ import annotations

import pandas as pd

from data.store.queries import raw_of


def basemap_frames(store) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(blocks: block_id, street, borough_code, geom_wkb; boroughs: code, name, lat, lon, geom_wkb;
    landmarks: name, kind, borough_code, lat, lon)."""
    raw = raw_of(store)
    blocks = raw.df("SELECT block_id, street, borough_code, geom_wkb FROM blocks WHERE geom_wkb IS NOT NULL "
                    "ORDER BY block_id")
    boroughs = raw.df("SELECT code, name, lat, lon, geom_wkb FROM boroughs ORDER BY code")
    landmarks = raw.df("SELECT name, kind, borough_code, lat, lon FROM landmarks "
                       "WHERE lat IS NOT NULL AND lon IS NOT NULL ORDER BY name")
    return blocks, boroughs, landmarks
