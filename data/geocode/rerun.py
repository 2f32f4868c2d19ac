"""Geocode again: the stored ED records against the stored gazetteer, or a file against gazetteer files.

The `flask --app app geocode` command (cli/geocode.py) is a thin shell over these functions.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import pandas as pd

from data.geocode import files
from data.geocode.files import from_wkb
from data import reference
from data.errors import IstvError
from data.ingest.enrich import borough_of_points, locate
from data.store.db import Store, upgrade_schema
from layers.blocks import BlockIndex, lines_to_bng
from data.geocode.match import Gazetteer, geocode

H3_COLS = ("h3_r7", "h3_r8", "h3_r9", "h3_r10")
UPDATE_SQL = """
UPDATE incidents SET lat = g.lat, lon = g.lon, borough_code = g.borough_code, block_id = g.block_id,
    h3_r7 = g.h3_r7, h3_r8 = g.h3_r8, h3_r9 = g.h3_r9, h3_r10 = g.h3_r10, geocode_confidence = g.geocode_confidence
FROM _geocoded AS g WHERE incidents.incident_id = g.incident_id
"""


def geocode_file(premises: Path | None, streets: Path | None, landmarks: Path | None, ed_sites: Path | pd.DataFrame | None,
                 input_path: Path, output_path: Path, police: tuple[Path, ...] = ()) -> dict[str, int]:
    """Geocode IN.csv against the given gazetteer files and write OUT.csv; returns records per confidence.

    police: police.uk street-level CSVs whose violent crimes feed the density prior.
    """
    prem = files.read_premises(premises) if premises else None
    street_df = files.read_streets(streets) if streets else None
    marks = files.read_landmarks(landmarks) if landmarks else None
    sites = files.read_ed_sites(ed_sites) if isinstance(ed_sites, (str, Path)) else ed_sites
    located = pd.concat([files.read_police(p) for p in police], ignore_index=True) if police else None
    records = files.read_input(input_path)
    gaz = Gazetteer.build(prem, street_df, marks, None, ed_sites=sites, located=located,
                          street_lines=None if street_df is None else street_df["geometry"].to_numpy())
    near_lat = near_lon = None
    if sites is not None and len(sites):
        pos = sites.drop_duplicates("site_code").set_index("site_code")[["lat", "lon"]].astype(float)
        near = pos.reindex(records["site_code"].str.strip())
        near_lat, near_lon = near["lat"].to_numpy(), near["lon"].to_numpy()
    result = geocode(gaz, records["description"], near_lat, near_lon, records["location_type"])
    files.write_output(output_path, records["id"], result)
    return result["confidence"].value_counts().to_dict()


def reference_ed_sites() -> pd.DataFrame:
    """The London Type 1 EDs shipped with the product (data/reference), as site_code,name,lat,lon."""
    return pd.DataFrame([(e.code, e.name, e.lat, e.lon) for e in reference.ED_SITES], columns=["site_code", "name", "lat", "lon"])


def stored_ed_sites(db_path: Path) -> pd.DataFrame | None:
    try:
        sites = Store(db_path).df("SELECT site_code, name, lat, lon FROM ed_sites")
    except IstvError:
        return None
    return sites if len(sites) else None


def regeocode_store(con, max_distance_m: float, progress: Callable[[str], None] = lambda m: None) -> dict[str, int]:
    """Geocode every stored ED record again with the stored gazetteer and update its point keys.

    What the geocoder matched for each record replaces the table geocode_matches (one row per ED
    record). con: a writable DuckDB connection (inside store.build(..., from_existing=True)).
    """
    t0 = time.perf_counter()
    gaz = Gazetteer.from_store(con)
    ed = con.execute("SELECT incident_id, location_text, ed_site, location_type FROM incidents WHERE source = 'ed' "
                     "ORDER BY incident_id").df()
    sites = con.execute("SELECT site_code, lat, lon FROM ed_sites").df().drop_duplicates("site_code").set_index("site_code")
    near = sites.reindex(ed["ed_site"])
    progress(f"geocoding {len(ed):,} stored ED descriptions")
    geo = geocode(gaz, ed["location_text"], near["lat"].to_numpy(), near["lon"].to_numpy(), ed["location_type"])
    blocks = con.execute("SELECT block_id, geom_wkb FROM blocks WHERE geom_wkb IS NOT NULL").df()
    index = None
    if len(blocks):
        index = BlockIndex(lines_to_bng(from_wkb(blocks["geom_wkb"])), blocks["block_id"].to_numpy())
    boroughs = con.execute("SELECT code, geom_wkb FROM boroughs WHERE geom_wkb IS NOT NULL").df()
    keys = locate(geo["lat"], geo["lon"], index, max_distance_m)
    update = pd.DataFrame({
        "incident_id": ed["incident_id"].to_numpy(), "lat": geo["lat"].to_numpy(), "lon": geo["lon"].to_numpy(),
        "borough_code": borough_of_points(geo["lat"], geo["lon"], boroughs["code"].tolist(),
                                          list(from_wkb(boroughs["geom_wkb"]))),
        "block_id": keys["block_id"], "geocode_confidence": geo["confidence"].to_numpy(),
    })
    for col in H3_COLS:
        update[col] = keys[col].to_numpy()
    matches = pd.DataFrame({"incident_id": ed["incident_id"].to_numpy(), "matched": geo["matched"].to_numpy(object),
                            "method": geo["method"].to_numpy(object), "score": geo["score"].to_numpy(float)})
    upgrade_schema(con)  # a file written before geocode_matches was part of the store's schema
    con.register("_geocoded", update)
    con.register("_matches", matches)
    try:
        con.execute(UPDATE_SQL)
        con.execute("DELETE FROM geocode_matches")
        con.execute("INSERT INTO geocode_matches (incident_id, matched, method, score) "
                    "SELECT incident_id, matched, method, score FROM _matches")
    finally:
        con.unregister("_geocoded")
        con.unregister("_matches")
    counts = geo["confidence"].value_counts().to_dict()
    progress(f"re-geocoded {len(ed):,} records in {time.perf_counter() - t0:.1f}s: "
             + ", ".join(f"{k} {counts.get(k, 0):,}" for k in ("venue", "street", "area", "none")))
    return counts
