"""`flask --app app geocode`: re-geocode stored ED records, or geocode a file against any gazetteer.

    flask --app app geocode --rerun
    flask --app app geocode --premises P.csv --streets S.geojson [--landmarks L.csv]
                            [--ed-sites E.csv] [--police CRIMES.csv ...] --input IN.csv --output OUT.csv
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from config import CONFIG_KEY
from data.errors import IstvError
from data.geocode import rerun as geocode_again
from data.store import db as store


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
        config = server.extensions.get(CONFIG_KEY)
        try:
            if rerun:
                if input_path or output_path:
                    raise click.UsageError("--rerun works on the stored records; do not give --input/--output")
                if config is None or not Path(config.db_path).exists():
                    raise click.ClickException(f"{getattr(config, 'db_path', 'ISTV_DB')}: no database to re-geocode; load data first")
                counts: dict = {}
                store.build(config.db_path, lambda con: counts.update(
                    geocode_again.regeocode_store(con, config.block_max_m, click.echo)), from_existing=True)
                return
            if not input_path or not output_path:
                raise click.UsageError("give --rerun, or --input IN.csv and --output OUT.csv with gazetteer files")
            if not (premises or streets or landmarks):
                raise click.UsageError("give at least one gazetteer file: --premises, --streets or --landmarks")
            sites = ed_sites
            if sites is None:
                sites = (geocode_again.stored_ed_sites(config.db_path) if config is not None and Path(config.db_path).exists() else None)
                if sites is None:
                    sites = geocode_again.reference_ed_sites()
            counts = geocode_again.geocode_file(premises, streets, landmarks, sites, input_path, output_path, police)
        except IstvError as exc:
            raise click.ClickException(str(exc)) from None
        total = sum(counts.values())
        click.echo(f"wrote {output_path}: {total:,} records; "
                   + ", ".join(f"{k} {counts.get(k, 0):,}" for k in ("venue", "street", "area", "none")))
