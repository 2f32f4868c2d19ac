"""Flask CLI commands (`flask --app app ...`): thin shells over data/ functions.

For analysts on the server: no sign-in. Loads write a new database file beside ISTV_DB and
swap it in only when every file loaded, so a failed or interrupted load changes nothing.
"""
from __future__ import annotations

import getpass
import json
from datetime import date
from pathlib import Path

import click
from flask import Flask

from config import CONFIG_KEY
from data.errors import IstvError
from data.ingest.schema import LICENCE_TYPES
from data.demo.build import build_demo_database
from data.ingest.load import add_source, list_sources, load_files
from data.ingest.report import LoadOptions, Progress, shown
from data.ingest.load import validate_files
from data.ingest.schema import data_package
from data.ingest.standard import standard_markdown

FILES = click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
ONE_FILE = click.argument("file", type=click.Path(path_type=Path))
ALLOW_PARTIAL = click.option("--allow-partial", is_flag=True,
                             help="Load even if stored incidents or premises would lose their borough (or street block).")


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2025-01-31") from None


def _os_user() -> str:
    """Who runs the command, for load_log (the shell's user; '' where the OS cannot say)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def _print(reports) -> None:
    for r in reports:
        click.echo(r.summary())
    if len(reports) > 1:
        read = sum(r.rows_read for r in reports)
        replaced = sum(r.replaced for r in reports)
        click.echo(f"total: read {read:,}, loaded {sum(r.rows_loaded for r in reports):,}, quarantined "
                   f"{sum(r.rows_quarantined for r in reports):,}, duplicates skipped {sum(r.duplicates for r in reports):,}"
                   + (f", replaced {replaced:,}" if replaced else ""))


def register_cli(server: Flask) -> None:
    @server.cli.command("demo")
    @click.option("--scale", type=float, default=None, help="Volume relative to real London (default: ISTV_DEMO_SCALE).")
    @click.option("--seed", type=int, default=None, help="Generator seed (default: ISTV_DEMO_SEED).")
    @click.option("--force", is_flag=True, help="Replace an existing database file.")
    def demo(scale, seed, force):
        """Build the synthetic London demo database at ISTV_DB."""
        config = server.extensions[CONFIG_KEY]
        if config.db_path.exists() and not force:
            raise click.ClickException(f"{config.db_path} exists; pass --force to replace it")
        build_demo_database(config.db_path, config.demo_scale if scale is None else scale,
                            config.demo_seed if seed is None else seed,
                            max_distance_m=config.block_max_m, progress=click.echo)

    def run_load(kind: str, files, **options) -> None:
        config = server.extensions[CONFIG_KEY]
        opts = LoadOptions(max_distance_m=config.block_max_m, loaded_by=f"cli:{_os_user()}", **options)
        try:
            reports = load_files(kind, list(files), config.db_path, opts, Progress())
        except (IstvError, ValueError) as exc:
            raise click.ClickException(f"{exc} (nothing was loaded: {config.db_path} is unchanged)") from None
        _print(reports)
        click.echo(f"{config.db_path}: updated; the running app serves the new data on its next request")

    @server.cli.group("sources")
    def sources():
        """Extra incident sources (another agency's incidents), registered by code."""

    @sources.command("add")
    @click.argument("code")
    @click.option("--name", required=True, help="What its records are, e.g. 'Ambulance assault call-outs'.")
    @click.option("--agency", required=True, help="Who sends them, e.g. 'London Ambulance Service'.")
    @click.option("--description", default="", help="A sentence for the data standard page and the maps' legends.")
    def sources_add(code, name, agency, description):
        """Register an extra source (or change its name, agency or description)."""
        config = server.extensions[CONFIG_KEY]
        try:
            new = add_source(config.db_path, code, name, agency, description)
        except (IstvError, ValueError) as exc:
            raise click.ClickException(f"{exc} (nothing was changed)") from None
        click.echo(f"{'registered' if new else 'updated'} source {code.strip().lower()}: {name} ({agency}); load its "
                   f"files with `flask --app app load incidents --source {code.strip().lower()} FILE`")

    @sources.command("list")
    def sources_list():
        """The registered extra sources."""
        config = server.extensions[CONFIG_KEY]
        for row in list_sources(config.db_path):
            click.echo(f"{row['source']}: {row['name']} ({row['agency']}), {row['records']:,} records")

    @server.cli.group("load")
    def load():
        """Load real files into ISTV_DB (created by the first load). Re-loading a file adds no duplicates."""

    @load.command("police")
    @FILES
    def load_police(files):
        """police.uk street-level crime CSVs (one or many months, all categories)."""
        run_load("police", files)

    @load.command("istv")
    @FILES
    @click.option("--site", help="Site code of treatment for CSVs without a site_code column.")
    @click.option("--period-start", callback=_date, help="Reporting period start (YYYY-MM-DD) for CSVs without one.")
    @click.option("--period-end", callback=_date, help="Reporting period end (YYYY-MM-DD) for CSVs without one.")
    def load_istv(files, site, period_start, period_end):
        """ED assault submissions (ISTV minimum data set) as CSV or XML; geocodes their locations."""
        run_load("istv", files, site=site, period_start=period_start, period_end=period_end)

    @load.command("incidents")
    @FILES
    @click.option("--source", required=True, help="Code of the registered extra source (see `sources list`).")
    def load_incidents(files, source):
        """Another agency's incidents (an extra source: ambulance call-outs, transport police, ...)."""
        run_load("incidents", files, source=source)

    @load.command("premises")
    @ONE_FILE
    @click.option("--licence-type", type=click.Choice([c.code for c in LICENCE_TYPES]),
                  help="Licence type for rows without one (lists of pubs often have none).")
    @click.option("--replace", is_flag=True, help="Remove every stored premises first (default: add or replace by premises_id).")
    def load_premises(file, licence_type, replace):
        """A licensed-premises register CSV (WGS84 lat/lon or British National Grid easting/northing)."""
        run_load("premises", [file], licence_type=licence_type, replace=replace)

    @load.command("landmarks")
    @ONE_FILE
    def load_landmarks(file):
        """A landmarks CSV (name,kind,lat,lon) for the geocoder; replaces all landmarks."""
        run_load("landmarks", [file])

    @load.command("boroughs")
    @ONE_FILE
    @click.option("--code-col", help="Column holding the GSS code (default: detected).")
    @click.option("--name-col", help="Column holding the borough name (default: detected).")
    @click.option("--population-col", help="Column holding the population (default: detected, else ONS mid-2021).")
    @click.option("--crs", help="CRS of a file that has none or a wrong one, e.g. EPSG:27700.")
    @ALLOW_PARTIAL
    def load_boroughs(file, code_col, name_col, population_col, crs, allow_partial):
        """Borough boundaries (GeoJSON, GeoPackage or Shapefile, any CRS); replaces them all.

        Refused when stored incidents or premises would lose their borough, or the file lacks a
        borough stored data uses, unless --allow-partial.
        """
        run_load("boroughs", [file], code_col=code_col, name_col=name_col, population_col=population_col, crs=crs,
                 allow_partial=allow_partial)

    @load.command("streets")
    @ONE_FILE
    @click.option("--name-col", help="Column holding the street name (default: detected).")
    @click.option("--crs", help="CRS of a file that has none or a wrong one, e.g. EPSG:27700.")
    @ALLOW_PARTIAL
    def load_streets(file, name_col, crs, allow_partial):
        """A street network (OS Open Roads, OpenStreetMap): split into blocks; replaces them all.

        Refused when stored incidents or premises that have a street block would have none, unless --allow-partial.
        """
        run_load("streets", [file], name_col=name_col, crs=crs, allow_partial=allow_partial)

    @server.cli.group("validate")
    def validate():
        """Run a load's checks on files without writing anything, and print the report."""

    def run_validate(kind: str, files, **options) -> None:
        config = server.extensions[CONFIG_KEY]
        try:
            reports, sample = validate_files(kind, list(files), LoadOptions(max_distance_m=config.block_max_m, **options),
                                             Progress(), db_path=config.db_path)
        except (IstvError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
        _print(reports)
        if len(sample):
            click.echo(f"first {len(sample)} quarantined row(s):")
            for row in sample.itertuples(index=False):
                where = f"{Path(row.file).name}, line {row.line}" + (f", {row.column_name}" if row.column_name else "")
                click.echo(f"  {where}: {shown(row.value)}: {row.rule}")
        click.echo("nothing was written")
        refused = [r for r in reports if r.refused]
        if refused:
            raise click.ClickException("; ".join(f"{r.file}: a load would be refused: {r.refused}" for r in refused))

    for kind, helptext in (("istv", "ED assault submissions (CSV or XML)."), ("police", "police.uk street-level CSVs."),
                           ("premises", "A licensed-premises register CSV."), ("landmarks", "A landmarks CSV.")):
        def command(files, _kind=kind, **options):
            run_validate(_kind, files, **{k: v for k, v in options.items() if v is not None})
        command.__doc__ = helptext
        command = FILES(command)
        if kind == "istv":
            command = click.option("--site")(click.option("--period-start", callback=_date)(
                click.option("--period-end", callback=_date)(command)))
        if kind == "premises":
            command = click.option("--licence-type", type=click.Choice([c.code for c in LICENCE_TYPES]))(command)
        validate.command(kind)(command)

    @validate.command("boroughs")
    @ONE_FILE
    @click.option("--code-col", help="Column holding the GSS code (default: detected).")
    @click.option("--name-col", help="Column holding the borough name (default: detected).")
    @click.option("--population-col", help="Column holding the population (default: detected).")
    @click.option("--crs", help="CRS of a file that has none or a wrong one, e.g. EPSG:27700.")
    def validate_boroughs(file, **options):
        """Borough boundaries: what would load, and whether a load would be refused (against ISTV_DB, read only)."""
        run_validate("boroughs", [file], **{k: v for k, v in options.items() if v is not None})

    @validate.command("streets")
    @ONE_FILE
    @click.option("--name-col", help="Column holding the street name (default: detected).")
    @click.option("--crs", help="CRS of a file that has none or a wrong one, e.g. EPSG:27700.")
    def validate_streets(file, **options):
        """A street network: the blocks it makes, and whether a load would be refused (against ISTV_DB, read only)."""
        run_validate("streets", [file], **{k: v for k, v in options.items() if v is not None})

    @server.cli.command("standard")
    @click.option("--format", "fmt", type=click.Choice(["json", "markdown"]), default="json", show_default=True,
                  help="json: Frictionless Data Package of Table Schemas; markdown: the text of the /standard page.")
    @click.option("--output", type=click.Path(path_type=Path), help="Write to this file instead of standard output.")
    def standard(fmt, output):
        """Publish the London minimum data standard (generated from data/ingest/schema.py)."""
        if fmt == "json":
            text = json.dumps(data_package(), indent=2, ensure_ascii=False) + "\n"
        else:
            text = standard_markdown()
        if output:
            output.write_text(text, encoding="utf-8")
            click.echo(f"wrote {output}")
        else:
            click.echo(text, nl=False)
