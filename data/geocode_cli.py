"""`flask --app app geocode`: re-geocode stored ED records, or geocode a file against any gazetteer.

    flask --app app geocode --rerun
    flask --app app geocode --premises P.csv --streets S.geojson [--landmarks L.csv]
                            [--ed-sites E.csv] [--police CRIMES.csv ...] --input IN.csv --output OUT.csv
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import click
import pandas as pd
from flask import Flask

from data import geocode_files as files
from data.geocode_files import from_wkb
from data.errors import IstvError
from data.geocode import Gazetteer, geocode

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


def _demo_ed_sites() -> pd.DataFrame:
    from data import london
    return pd.DataFrame([(e.code, e.name, e.lat, e.lon) for e in london.ED_SITES], columns=["site_code", "name", "lat", "lon"])


def _stored_ed_sites(db_path: Path) -> pd.DataFrame | None:
    from data.store import Store
    try:
        sites = Store(db_path).df("SELECT site_code, name, lat, lon FROM ed_sites")
    except IstvError:
        return None
    return sites if len(sites) else None


def regeocode_store(con, max_distance_m: float, progress: Callable[[str], None] = lambda m: None) -> dict[str, int]:
    """Geocode every stored ED record again with the stored gazetteer and update its point keys.

    con: a writable DuckDB connection (inside store.build(..., from_existing=True)).
    """
    from data.enrich import borough_of_points, locate
    from layers.blocks import BlockIndex, lines_to_bng

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
    con.register("_geocoded", update)
    try:
        con.execute(UPDATE_SQL)
    finally:
        con.unregister("_geocoded")
    counts = geo["confidence"].value_counts().to_dict()
    progress(f"re-geocoded {len(ed):,} records in {time.perf_counter() - t0:.1f}s: "
             + ", ".join(f"{k} {counts.get(k, 0):,}" for k in ("venue", "street", "area", "none")))
    return counts


def register_cli(server: Flask) -> None:
    """Add the `geocode` command to the Flask app's CLI."""

    @server.cli.command("geocode")
    @click.option("--rerun", is_flag=True, help="Geocode the stored ED records again with the stored gazetteer.")
    @click.option("--premises", type=click.Path(path_type=Path), help="Premises CSV: premises_id,name,address,licence_type,lat,lon.")
    @click.option("--streets", type=click.Path(path_type=Path), help="Streets GeoJSON: LineString features with a name.")
    @click.option("--landmarks", type=click.Path(path_type=Path), help="Landmarks CSV: name,kind,lat,lon.")
    @click.option("--ed-sites", "ed_sites", type=click.Path(path_type=Path),
                  help="ED sites CSV: site_code,name,lat,lon (default: the loaded database's, else the demo list).")
    @click.option("--police", type=click.Path(path_type=Path), multiple=True,
                  help="police.uk street-level CSV (repeatable): its violent crimes say where assaults concentrate.")
    @click.option("--input", "input_path", type=click.Path(path_type=Path), help="Descriptions CSV: id,description[,site_code][,location_type].")
    @click.option("--output", "output_path", type=click.Path(path_type=Path), help="Where to write id,lat,lon,confidence,matched,score.")
    def geocode_command(rerun, premises, streets, landmarks, ed_sites, police, input_path, output_path):
        """Geocode free-text assault locations (stored records, or a file against given gazetteer files)."""
        from dashboard.context import CONFIG_KEY
        config = server.extensions.get(CONFIG_KEY)
        try:
            if rerun:
                if input_path or output_path:
                    raise click.UsageError("--rerun works on the stored records; do not give --input/--output")
                from data import store
                if config is None or not Path(config.db_path).exists():
                    raise click.ClickException(f"{getattr(config, 'db_path', 'ISTV_DB')}: no database to re-geocode; load data first")
                counts: dict = {}
                store.build(config.db_path, lambda con: counts.update(
                    regeocode_store(con, config.block_max_m, click.echo)), from_existing=True)
                return
            if not input_path or not output_path:
                raise click.UsageError("give --rerun, or --input IN.csv and --output OUT.csv with gazetteer files")
            if not (premises or streets or landmarks):
                raise click.UsageError("give at least one gazetteer file: --premises, --streets or --landmarks")
            sites = ed_sites
            if sites is None:
                sites = (_stored_ed_sites(config.db_path) if config is not None and Path(config.db_path).exists() else None)
                if sites is None:
                    sites = _demo_ed_sites()
            counts = geocode_file(premises, streets, landmarks, sites, input_path, output_path, police)
        except IstvError as exc:
            raise click.ClickException(str(exc)) from None
        total = sum(counts.values())
        click.echo(f"wrote {output_path}: {total:,} records; "
                   + ", ".join(f"{k} {counts.get(k, 0):,}" for k in ("venue", "street", "area", "none")))
