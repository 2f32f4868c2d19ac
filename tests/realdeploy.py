"""A deployment built only from real files, with the README's commands (`flask --app app load ...`).

../shared/realdata (the 33 boroughs, Westminster's OpenStreetMap streets, 2,678 London pubs as
premises, six months of City of London police.uk files) plus ED submissions written to the
published standard in tests/data/realdeploy (two EDs, January to March 2025, with one month missing
for UCH and six rows that break the standard). Nothing of the demo is used.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask import Flask

from cli import register_cli
from config import CONFIG_KEY, Config

REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata"
ED_FILES = sorted((Path(__file__).resolve().parent / "data" / "realdeploy").glob("ed_*.csv"))
CITY_POLICE = "*city-of-london-street.csv"


def require_real() -> Path:
    """The realdata folder, or a skip (a failure with REQUIRE_REALDATA=1, as in CI)."""
    if not REAL.is_dir():
        if os.environ.get("REQUIRE_REALDATA") == "1":
            pytest.fail(f"REQUIRE_REALDATA=1 but the real data samples are not at {REAL}")
        pytest.skip(f"real data samples (realdata) not present at {REAL}")
    return REAL


def build_real_database(db: Path) -> list[str]:
    """Run the load commands a new deployment runs; returns their output. Raises if one fails."""
    server = Flask("realdeploy")
    server.extensions[CONFIG_KEY] = Config(db_path=db, demo=False)
    register_cli(server)
    runner = server.test_cli_runner()
    steps = [
        ["load", "boroughs", str(REAL / "london_boroughs.geojson")],
        ["load", "streets", str(REAL / "westminster_streets_osm.geojson")],
        ["load", "premises", str(REAL / "london_pubs.csv"), "--licence-type", "pub"],
        ["load", "police", *map(str, sorted((REAL / "police_uk").glob(CITY_POLICE)))],
        ["load", "istv", *map(str, ED_FILES)],
    ]
    outputs = []
    for args in steps:
        result = runner.invoke(args=args)
        if result.exit_code != 0:
            raise AssertionError(f"`flask --app app {' '.join(args[:2])}` failed: {result.output}")
        outputs.append(result.output)
    return outputs
