"""The disclosure policy table, its configuration and the scopes it gives each role."""
from __future__ import annotations

import pytest

from app import create_app
from config import ConfigError
from data.access.roles import DISCLOSURE, ROLES, disclosure_levels
from data.access.users import User
from tests.fixtures import config_for


def _user(role: str, boroughs: str = "", sites: str = "") -> User:
    return User(username=f"u-{role}", role=role, boroughs=boroughs, ed_sites=sites, active=True, password_hash="x")


def test_every_role_has_a_level_and_the_defaults_are_the_documented_ones():
    assert set(DISCLOSURE) == set(ROLES)
    assert DISCLOSURE == {"admin": "record", "analyst": "record", "police": "record",
                          "licensing": "exact", "csp": "protected", "health": "protected"}


def test_overrides_are_checked_by_name():
    assert disclosure_levels("licensing=protected, csp=exact")["licensing"] == "protected"
    assert disclosure_levels("")["csp"] == "protected"
    with pytest.raises(ValueError, match="unknown role 'mayor'"):
        disclosure_levels("mayor=exact")
    with pytest.raises(ValueError, match="csp='secret'; expected one of record, exact, protected"):
        disclosure_levels("csp=secret")
    with pytest.raises(ValueError, match="licensing has no record-level permission"):
        disclosure_levels("licensing=record")


def test_scopes_follow_the_policy():
    lic = _user("licensing", "E09000033").scope()
    assert (lic.level, lic.exact, lic.record_level) == ("exact", True, False)
    csp = _user("csp", "E09000012").scope()
    assert (csp.level, csp.exact) == ("protected", False)
    health = _user("health", sites="RJ122").scope()
    assert not health.exact and health.exact_for_sites(("RJ122",)) and not health.exact_for_sites(("RJZ01",))
    assert not health.exact_for_sites(())
    police = _user("police").scope({**DISCLOSURE, "police": "protected"})
    assert (police.level, police.record_level, police.exact) == ("protected", False, False)


def test_a_bad_policy_stops_the_app_with_its_name(tmp_path):
    with pytest.raises(ConfigError, match="unknown role 'mayor'"):
        create_app(config_for(tmp_path / "none.duckdb", disclosure="mayor=exact"), prepare_database=False)
