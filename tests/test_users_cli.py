"""`flask --app app users add`: a scope's boroughs by GSS code or name, ED sites by code, checked
against what is loaded (or the reference lists), with one-line errors naming close matches."""
from __future__ import annotations

import pytest
from flask import Flask

from cli.users import register_cli
from config import CONFIG_KEY
from data.access.scopes import resolve_scope
from data.access.users import UserError, UserStore
from data.reference import BOROUGH_NAMES
from tests.fixtures import config_for
from tests.test_ingest_fixtures import DATA, load

PASSWORD = "plum-harbour-lantern-42"


@pytest.fixture
def users(tmp_path):
    """(runner, user store, database path) of the users commands on a bare Flask app."""
    server = Flask("users-cli")
    server.extensions[CONFIG_KEY] = config_for(tmp_path / "istv.duckdb")
    store = UserStore(f"sqlite:///{tmp_path / 'users.sqlite'}")
    server.extensions["istv_users"] = store
    register_cli(server)
    return server.test_cli_runner(), store, tmp_path / "istv.duckdb"


def _add(runner, *args):
    return runner.invoke(args=["users", "add", *args, "--password", PASSWORD])


def _one_line_error(out) -> str:
    assert out.exit_code == 1 and "Traceback" not in out.output
    [line] = out.output.strip().splitlines()
    return line


def test_boroughs_by_code_or_name_in_any_case_without_loaded_boroughs(users):
    runner, store, _ = users
    out = _add(runner, "ana", "--role", "csp", "--borough", "Westminster", "--borough", "city of london",
               "--borough", "e09000033", "--borough", "Kensington & Chelsea")
    assert out.exit_code == 0, out.output
    assert out.output.strip() == "added ana (csp), boroughs E09000033, E09000001, E09000020"
    assert store.by_username("ana").borough_list == ("E09000033", "E09000001", "E09000020")


@pytest.mark.parametrize("value, message", [
    ("E09999999", "Error: --borough 'E09999999' is not a London borough (data/reference/boroughs.csv); no close match "
                  "among the 33 (codes E09000001 (City of London) to E09000033 (Westminster))"),
    ("Westmister", "Error: --borough 'Westmister' is not a London borough (data/reference/boroughs.csv); close matches: "
                   "E09000033 (Westminster)"),
    ("kingston", "Error: --borough 'kingston' is not a London borough (data/reference/boroughs.csv); close matches: "
                 "E09000021 (Kingston upon Thames)"),
    ("E0900003", "Error: --borough 'E0900003' is not a London borough (data/reference/boroughs.csv); close matches: "
                 "E09000030 (Tower Hamlets), E09000031 (Waltham Forest), E09000032 (Wandsworth)"),
])
def test_an_unknown_borough_is_one_line_with_close_matches_and_adds_nobody(users, value, message):
    runner, store, _ = users
    assert _one_line_error(_add(runner, "bo", "--role", "csp", "--borough", value)) == message
    assert store.by_username("bo") is None


def test_boroughs_are_checked_against_those_loaded(users):
    runner, store, db = users
    load("boroughs", DATA / "boroughs_bng.geojson", db)  # Camden and Westminster only
    assert _add(runner, "cam", "--role", "licensing", "--borough", "CAMDEN").exit_code == 0
    assert store.by_username("cam").borough_list == ("E09000007",)
    assert _one_line_error(_add(runner, "city", "--role", "csp", "--borough", "City of London")) == (
        "Error: --borough 'City of London' is E09000001 (City of London), which is not one of the 2 boroughs loaded")
    assert _one_line_error(_add(runner, "x", "--role", "csp", "--borough", "E09999999")) == (
        "Error: --borough 'E09999999' is not one of the 2 boroughs loaded; expected one of E09000007 (Camden), "
        "E09000033 (Westminster)")


def test_ed_sites_by_code_in_any_case_and_unknown_ones_refused(users):
    runner, store, db = users
    out = _add(runner, "nurse", "--role", "health", "--ed-site", "rj122", "--ed-site", "St George's Hospital")
    assert out.exit_code == 0, out.output
    assert store.by_username("nurse").ed_site_list == ("RJ122", "RJ701")
    assert _one_line_error(_add(runner, "n2", "--role", "health", "--ed-site", "RJ12")) == (
        "Error: --ed-site 'RJ12' is not a known ED site (the loaded ed_sites or data/reference/ed_sites.csv); "
        "close matches: RJ122 (St Thomas' Hospital)")
    assert _one_line_error(_add(runner, "n3", "--role", "health", "--ed-site", "ZZZ99")).startswith(
        "Error: --ed-site 'ZZZ99' is not a known ED site (the loaded ed_sites or data/reference/ed_sites.csv); "
        "no close match among the 27")
    assert store.by_username("n2") is None and store.by_username("n3") is None


def test_bad_arguments_stay_usage_errors(users):
    runner, _, _ = users
    out = runner.invoke(args=["users", "add", "u", "--role", "mayor", "--password", PASSWORD])
    assert out.exit_code == 2 and "Traceback" not in out.output


def test_resolve_scope_maps_every_reference_name_and_code_back_to_its_code():
    for code, name in BOROUGH_NAMES.items():
        assert resolve_scope([name.upper(), code.lower(), f"  {name}  "], BOROUGH_NAMES, option="--borough",
                             what="a borough") == (code,)
    with pytest.raises(UserError, match="--borough '' is empty"):
        resolve_scope([""], BOROUGH_NAMES, option="--borough", what="a borough")
