"""`flask --app app load|validate|standard` as analysts run them: summaries, one-line errors, exit status."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from flask import Flask

from config import Config
from config import CONFIG_KEY
from cli.data import register_cli
from data.ingest.schema import data_package
from data.store.db import Store
from tests.test_ingest_fixtures import DATA, digest, load

ROOT = Path(__file__).resolve().parents[1]


def _env(db: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISTV_")}
    env.update(ISTV_DB=str(db), ISTV_DEMO="0")
    return env


def flask(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=_env(db),
                          capture_output=True, text=True, timeout=120)


def test_flask_app_cli_refuses_a_bad_file_in_one_line_and_leaves_the_database_unchanged(tmp_path):
    db = tmp_path / "istv.duckdb"
    load("police", DATA / "police_2025-01.csv", db)
    before = digest(db)
    bad = tmp_path / "ed.csv"
    bad.write_text("site_code,assault_method\nRJ122,01\n")
    out = flask(db, "load", "istv", str(bad))
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        f"Error: {bad}, row 1: missing mandatory column(s) 'Reporting period start date' (reporting_period_start), "
        "'Reporting period end date' (reporting_period_end), 'Assault date and time' (assault_datetime), "
        "'Assault location type' (assault_location_type) for a ED assault submission (ISTV minimum data set) file; "
        f"the header has 'site_code', 'assault_method' (nothing was loaded: {db} is unchanged)"]
    assert "Traceback" not in out.stderr and digest(db) == before


@pytest.fixture
def cli(tmp_path):
    """The data commands on a bare Flask app (what `flask --app app` adds them to), run in-process."""
    server = Flask(__name__)
    server.extensions[CONFIG_KEY] = Config(db_path=tmp_path / "istv.duckdb", demo=False)
    register_cli(server)
    return server.test_cli_runner()


def test_validate_prints_the_report_and_writes_nothing(cli, tmp_path):
    out = cli.invoke(args=["validate", "istv", str(DATA / "ed_submission.csv")])
    assert out.exit_code == 0, out.output
    assert "istv ed_submission.csv: read 9, loaded 4, quarantined 5, duplicates skipped 0" in out.stdout
    assert "ed_submission.csv, line 7, Assault Method: 'spoon': unknown code" in out.stdout
    assert out.stdout.rstrip().endswith("nothing was written")
    assert not (tmp_path / "istv.duckdb").exists()


def test_standard_json_is_the_schemas_package_and_markdown_goes_to_a_file(cli, tmp_path):
    out = cli.invoke(args=["standard", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == json.loads(json.dumps(data_package()))
    out = cli.invoke(args=["standard", "--format", "markdown", "--output", str(tmp_path / "standard.md")])
    assert out.exit_code == 0 and (tmp_path / "standard.md").read_text().startswith("# ISTV London minimum data standard")


def test_every_kind_loads_through_the_cli_on_an_empty_deployment(cli, tmp_path):
    for args in (["boroughs", str(DATA / "boroughs_bng.geojson")], ["streets", str(DATA / "streets_tiny.geojson")],
                 ["premises", str(DATA / "premises_register.csv"), "--licence-type", "pub"],
                 ["landmarks", str(DATA / "landmarks.csv")], ["istv", str(DATA / "ed_submission.xml")],
                 ["police", str(DATA / "police_2025-01.csv"), str(DATA / "police_2025-01_republished.csv")]):
        out = cli.invoke(args=["load", *args])
        assert out.exit_code == 0, out.output
        assert f"{args[0]} {Path(args[1]).name}: read " in out.stdout
    assert "updated; the running app serves the new data on its next request" in out.stdout
    assert "total: read 15, loaded 7, quarantined 5, duplicates skipped 3" in out.stdout
    assert "\r" not in out.stdout  # not a terminal: plain log lines, no progress bar


@pytest.mark.parametrize("args, message", [
    (["load", "premises", "a.csv", "b.csv"], "Got unexpected extra argument"),
    (["load", "premises", "x.csv", "--licence-type", "tavern"], "'tavern' is not one of 'pub'"),
    (["load", "istv", "x.csv", "--period-start", "31/01/2025"], "'31/01/2025' is not a date like 2025-01-31"),
])
def test_bad_arguments_are_usage_errors(cli, args, message):
    out = cli.invoke(args=args)
    assert out.exit_code == 2 and message in out.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_app_serves_a_database_built_only_from_loaded_files(tmp_path):
    db = tmp_path / "istv.duckdb"
    load("boroughs", DATA / "boroughs_bng.geojson", db)
    load("police", DATA / "police_2025-01.csv", db)
    Store(db).check()
    port = _free_port()
    env = _env(db) | {"PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        status, deadline = None, time.time() + 60
        while status is None and time.time() < deadline and proc.poll() is None:
            try:
                status = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                time.sleep(0.3)
        assert status is not None and status < 500, proc.stdout.read() if proc.poll() is not None else status
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert not list(tmp_path.glob("*demo*"))
