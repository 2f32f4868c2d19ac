"""Flask CLI commands (`flask --app app ...`): thin shells over data/ functions."""
from __future__ import annotations

import click
from flask import Flask

from dashboard.context import CONFIG_KEY


def register_cli(server: Flask) -> None:
    @server.cli.command("demo")
    @click.option("--scale", type=float, default=None, help="Volume relative to real London (default: ISTV_DEMO_SCALE).")
    @click.option("--seed", type=int, default=None, help="Generator seed (default: ISTV_DEMO_SEED).")
    @click.option("--force", is_flag=True, help="Replace an existing database file.")
    def demo(scale, seed, force):
        """Build the synthetic London demo database at ISTV_DB."""
        from data.demo_build import build_demo_database
        config = server.extensions[CONFIG_KEY]
        if config.db_path.exists() and not force:
            raise click.ClickException(f"{config.db_path} exists; pass --force to replace it")
        build_demo_database(config.db_path, config.demo_scale if scale is None else scale,
                            config.demo_seed if seed is None else seed,
                            max_distance_m=config.block_max_m, progress=click.echo)
