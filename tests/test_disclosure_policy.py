"""The disclosure policy table, its configuration and the scopes it gives each role."""
from __future__ import annotations

import numpy as np
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


def test_a_protected_viewers_hot_spots_rest_on_the_whole_months_their_counts_cover(store):
    """The test runs on exact counts, but over the protected viewer's period (whole months), never on the
    days their counts leave out: the flags equal the exact test over those whole months."""
    from datetime import date
    from data.access.roles import Scope
    from data.store import queries
    from data.store.filters import Filters
    from data.store.queries import ScopedStore
    protected = ScopedStore(store, Scope(level="protected", record_level=False))
    days = Filters(boroughs=("E09000033",), start=date(2025, 10, 9), end=date(2025, 12, 17), sources=("ed",))
    months = days.with_(start=date(2025, 10, 1), end=date(2025, 12, 31))
    theirs = queries.block_stats(protected, days).set_index("block_id")
    exact = queries.block_stats(store, months).set_index("block_id")
    by_days = queries.block_stats(store, days).set_index("block_id")
    assert (theirs["hot"] == exact["hot"]).all() and np.allclose(theirs["gi_z"], exact["gi_z"], equal_nan=True)
    assert not np.allclose(by_days["gi_z"], exact["gi_z"], equal_nan=True)  # the days alone: another test
