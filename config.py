"""All settings, read once from the environment into a frozen Config.

`SETTINGS` is the one table of what can be set: name, default and help. README documents
every entry (tests/test_docs.py checks that), and `Config.from_env` is the only reader of
os.environ in the product.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

ROOT = Path(__file__).resolve().parent
DEFAULT_SECRET = "dev-insecure-change-me"  # never accepted: it is public (earlier versions defaulted to it)
SECRET_FILE = ".istv-secret-key"  # beside ISTV_DB when ISTV_SECRET_KEY is empty; mode 0600
# where create_app keeps the store and the settings on the Flask app (app.extensions[KEY])
STORE_KEY, CONFIG_KEY, LEVELS_KEY = "istv_store", "istv_config", "istv_disclosure_levels"


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("ISTV_DB", str(ROOT / "data" / "istv.duckdb"), "Path of the DuckDB file the app serves."),
    Setting("ISTV_ENV", "development", "`development` or `production` (production refuses unsafe settings)."),
    Setting("ISTV_SECRET_KEY", "", "Key that signs session cookies: at least 32 characters, not guessable. Empty: a random key is made on first start and kept in `.istv-secret-key` beside ISTV_DB, readable only by the app's user. Several app servers sharing users must share one key."),
    Setting("ISTV_DEMO", "1", "`1`: build the synthetic demo London when the database file is missing; `0`: refuse to start without a database."),
    Setting("ISTV_DEMO_SCALE", "0.25", "Demo volume relative to real London (1.0 ≈ real volumes)."),
    Setting("ISTV_DEMO_SEED", "42", "Seed of the demo generator (same seed and scale → identical data)."),
    Setting("ISTV_MAP_STYLE", "istv", "Map base style: `istv` (default) draws streets, street names, boroughs and landmarks from the loaded data, with tiles and fonts served by the app itself (works offline, nothing fetched from another host); `white-bg`: a plain white background; a named Plotly style (e.g. `carto-positron`) needs internet access to outside tile and font servers, which many NHS and police networks block."),
    Setting("ISTV_CHROMIUM", "", "Browser that draws the printable packs' charts (Debian's `chromium`); empty: `chromium` on the PATH. Without one, packs have tables and a note instead of charts."),
    Setting("ISTV_BLOCK_MAX_M", "50", "Maximum distance in metres from a point to its street block; farther points get no block."),
    Setting("DATABASE_URL", "", "SQLAlchemy URL of the users and audit store; empty: a SQLite file `users.sqlite` beside ISTV_DB. Use PostgreSQL when several app servers share users."),
    Setting("ISTV_SESSION_MINUTES", "30", "Minutes of inactivity after which a signed-in session expires."),
    Setting("ISTV_SESSION_HOURS", "12", "Hours after sign-in after which a session ends however active it is."),
    Setting("ISTV_TRUSTED_PROXIES", "0", "How many reverse proxies in front of the app set X-Forwarded-For; 0: use the connection's address. Only set it behind your own proxy, or anyone can claim any address."),
    Setting("ISTV_QUERY_TIMEOUT_S", "20", "Seconds a web query may run before it is stopped and the user asked to narrow the filter."),
    Setting("ISTV_MAX_REQUEST_BYTES", "1000000", "Largest request body the web app accepts (bytes); larger ones get 413."),
    Setting("ISTV_UPLOAD_MAX_MB", "50", "Largest ED file (megabytes) a data lead or analyst may upload in the browser; larger files are refused before they are read (load them with the CLI)."),
    Setting("ISTV_UPLOAD_DIR", "", "Folder holding uploaded files while they are checked and loaded (kept a day); empty: `uploads` beside ISTV_DB."),
    Setting("ISTV_SUBMISSION_DUE_DAY", "15", "Day of the next month by which an ED's monthly file is due; the submission tracker marks months without a file after that day as overdue."),
    Setting("ISTV_DISCLOSURE", "", "Per-role disclosure levels overriding the policy table (docs/disclosure.md), e.g. `licensing=protected,csp=exact`; levels `record`, `exact`, `protected`."),
    Setting("ISTV_DISCLOSURE_THRESHOLD", "5", "Protected level: protected counts below this show as `<5` (the threshold)."),
    Setting("ISTV_DISCLOSURE_ROUNDING", "5", "Protected level: counts at or above the threshold are rounded to a multiple of this (1: no rounding)."),
    Setting("ISTV_DISCLOSURE_PERTURB", "1", "Protected level: `1` adds cell-key perturbation (-2 to +2, the same every time a cell is asked for); `0` rounds and thresholds only."),
    Setting("HOST", "127.0.0.1", "Address the development server listens on."),
    Setting("PORT", "8050", "Port of the development server (the Procfile passes $PORT to gunicorn)."),
)


class ConfigError(ValueError):
    """A setting has a value the product cannot use."""


def _due_day(text: str) -> int:
    try:
        day = int(text)
    except ValueError:
        day = 0
    if not 1 <= day <= 28:
        raise ConfigError(f"ISTV_SUBMISSION_DUE_DAY={text!r}: expected a day of the month from 1 to 28")
    return day


def secret_problem(secret: str) -> str | None:
    """Why a secret key is unfit to sign sessions (None when it is fine): a forged cookie is a signed-in admin."""
    if secret == DEFAULT_SECRET:
        return "ISTV_SECRET_KEY is the published development default"
    if len(secret) < 32:
        return f"ISTV_SECRET_KEY has {len(secret)} characters; use at least 32 random ones"
    if len(set(secret)) < 10:
        return f"ISTV_SECRET_KEY uses only {len(set(secret))} different characters; use a random value"
    return None


@dataclass(frozen=True)
class Config:
    db_path: Path
    env: str = "development"
    secret_key: str = ""
    demo: bool = True
    demo_scale: float = 0.25
    demo_seed: int = 42
    map_style: str = "istv"
    chromium: str = ""
    block_max_m: float = 50.0
    database_url: str = ""
    session_minutes: int = 30
    session_hours: float = 12.0
    trusted_proxies: int = 0
    query_timeout_s: float = 20.0
    max_request_bytes: int = 1_000_000
    upload_max_mb: float = 50.0
    upload_dir: str = ""
    submission_due_day: int = 15
    disclosure: str = ""
    disclosure_threshold: int = 5
    disclosure_rounding: int = 5
    disclosure_perturb: bool = True
    host: str = "127.0.0.1"
    port: int = 8050

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def upload_max_bytes(self) -> int:
        return int(self.upload_max_mb * 1024 * 1024)

    @property
    def uploads_path(self) -> Path:
        return Path(self.upload_dir) if self.upload_dir else self.db_path.parent / "uploads"

    @property
    def users_url(self) -> str:
        return self.database_url or f"sqlite:///{self.db_path.parent / 'users.sqlite'}"

    def production_problems(self) -> list[str]:
        """Why this config is unsafe to run with ISTV_ENV=production (empty when it is fine)."""
        problems = []
        if self.demo:
            problems.append("ISTV_DEMO=1 builds and serves synthetic data; set ISTV_DEMO=0")
        return problems

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if environ is None else environ
        raw = {s.env: env.get(s.env, s.default) for s in SETTINGS}

        def number(name: str, kind: type):
            try:
                value = kind(raw[name])
            except ValueError:
                raise ConfigError(f"{name}={raw[name]!r} is not a valid {kind.__name__}") from None
            if value < 0:
                raise ConfigError(f"{name}={raw[name]!r} must not be negative")
            return value

        if raw["ISTV_ENV"] not in ("development", "production"):
            raise ConfigError(f"ISTV_ENV={raw['ISTV_ENV']!r}: expected 'development' or 'production'")
        if raw["ISTV_DEMO"] not in ("0", "1"):
            raise ConfigError(f"ISTV_DEMO={raw['ISTV_DEMO']!r}: expected 0 or 1")
        if raw["ISTV_DISCLOSURE_PERTURB"] not in ("0", "1"):
            raise ConfigError(f"ISTV_DISCLOSURE_PERTURB={raw['ISTV_DISCLOSURE_PERTURB']!r}: expected 0 or 1")
        if number("ISTV_DISCLOSURE_THRESHOLD", int) < 1 or number("ISTV_DISCLOSURE_ROUNDING", int) < 1:
            raise ConfigError("ISTV_DISCLOSURE_THRESHOLD and ISTV_DISCLOSURE_ROUNDING must be 1 or more")
        return cls(
            db_path=Path(raw["ISTV_DB"]),
            env=raw["ISTV_ENV"],
            secret_key=raw["ISTV_SECRET_KEY"],
            demo=raw["ISTV_DEMO"] == "1",
            demo_scale=number("ISTV_DEMO_SCALE", float),
            demo_seed=number("ISTV_DEMO_SEED", int),
            map_style=raw["ISTV_MAP_STYLE"],
            chromium=raw["ISTV_CHROMIUM"],
            database_url=raw["DATABASE_URL"],
            session_minutes=max(1, number("ISTV_SESSION_MINUTES", int)),
            session_hours=max(0.1, number("ISTV_SESSION_HOURS", float)),
            trusted_proxies=number("ISTV_TRUSTED_PROXIES", int),
            query_timeout_s=number("ISTV_QUERY_TIMEOUT_S", float),
            max_request_bytes=number("ISTV_MAX_REQUEST_BYTES", int),
            upload_max_mb=number("ISTV_UPLOAD_MAX_MB", float),
            upload_dir=raw["ISTV_UPLOAD_DIR"],
            submission_due_day=_due_day(raw["ISTV_SUBMISSION_DUE_DAY"]),
            block_max_m=number("ISTV_BLOCK_MAX_M", float),
            disclosure=raw["ISTV_DISCLOSURE"],
            disclosure_threshold=number("ISTV_DISCLOSURE_THRESHOLD", int),
            disclosure_rounding=number("ISTV_DISCLOSURE_ROUNDING", int),
            disclosure_perturb=raw["ISTV_DISCLOSURE_PERTURB"] == "1",
            host=raw["HOST"],
            port=number("PORT", int),
        )
