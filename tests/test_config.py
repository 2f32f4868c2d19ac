from pathlib import Path

import pytest

from config import Config, ConfigError


def test_defaults_and_overrides():
    c = Config.from_env({})
    assert c.port == 8050 and c.demo and c.demo_scale == 0.25 and c.map_style == "istv"
    c = Config.from_env({"ISTV_DB": "/x/y.duckdb", "PORT": "9000", "ISTV_DEMO": "0", "ISTV_ENV": "production"})
    assert c.db_path == Path("/x/y.duckdb") and c.port == 9000 and not c.demo and c.production


@pytest.mark.parametrize("env, message", [
    ({"PORT": "eighty"}, "PORT='eighty' is not a valid int"),
    ({"ISTV_DEMO_SCALE": "-1"}, "must not be negative"),
    ({"ISTV_ENV": "staging"}, "expected 'development' or 'production'"),
    ({"ISTV_DEMO": "yes"}, "expected 0 or 1"),
])
def test_bad_values_say_which_setting_and_what_was_expected(env, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_env(env)
