"""The docs stay true: the README's two commands run, every `flask --app app` command shown exists and
answers --help, every setting, role and borough code is documented, every link resolves."""
from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import click
import pytest

from config import SETTINGS
from data.access.roles import ROLES
from data.reference import BOROUGHS, ED_SITES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = {p.name: p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))}
RUN_APP = "pip install -r requirements.txt && python app.py"
RUN_TESTS = "pip install -r requirements-dev.txt && python -m pytest"
# `flask --app app WORDS`: the words up to the first option, placeholder or comment
FLASK = re.compile(r"flask --app app ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)*)")


def test_readme_shows_the_two_commands_and_ci_runs_the_test_one():
    lines = [line.strip() for line in README.splitlines()]
    assert RUN_APP in lines and RUN_TESTS in lines
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert RUN_TESTS in [line.strip() for line in ci]
    assert "3.11" in README and "venv" in README


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-dev.txt"])
def test_every_pinned_requirement_is_what_is_installed(name):
    """`pip install -r` of the README gives this environment: each pin names an installable distribution."""
    wrong = []
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-r"):
            continue
        package, _, version = line.partition("==")
        package = package.split("[")[0]  # psycopg[binary]: the distribution is psycopg
        assert version, f"{name}: {line!r} is not pinned"
        try:
            installed = metadata.version(package)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong.append(f"{package}: pinned {version}, installed {installed}")
    assert wrong == []


def _shown_commands() -> list[tuple[str, list[str]]]:
    found = []
    for source, text in [("README.md", README)] + [(f"docs/{k}", v) for k, v in DOCS.items()]:
        for match in FLASK.finditer(text):
            found.append((source, match.group(1).split()))
    return found


@pytest.fixture(scope="module")
def cli_app(tmp_path_factory):
    from app import create_app
    from tests.fixtures import config_for
    tmp = tmp_path_factory.mktemp("docs")
    return create_app(config_for(tmp / "none.duckdb", database_url=f"sqlite:///{tmp / 'users.sqlite'}"),
                      prepare_database=False).server


def test_every_flask_command_shown_in_the_docs_answers_help(cli_app):
    shown = _shown_commands()
    assert len(shown) >= 15  # the data-loading walk-through and the command list at least
    runner = cli_app.test_cli_runner()
    failures = []
    for source, words in shown:
        group, path = cli_app.cli, []
        ctx = click.Context(group)
        for word in words:
            sub = group.get_command(ctx, word) if isinstance(group, click.Group) else None
            if sub is None:
                break
            path.append(word)
            group = sub
        if not path:
            failures.append(f"{source}: `flask --app app {' '.join(words)}` is not a command")
            continue
        result = runner.invoke(args=path + ["--help"])
        if result.exit_code != 0:
            failures.append(f"{source}: `flask --app app {' '.join(path)} --help` exited {result.exit_code}")
    assert failures == []


def test_every_setting_role_and_code_is_documented():
    ops, security, loading = DOCS["operations.md"], DOCS["security.md"], DOCS["data-loading.md"]
    assert [s.env for s in SETTINGS if f"`{s.env}`" not in ops] == []
    assert [r for r in ROLES if f"`{r}`" not in security] == []
    assert [b.code for b in BOROUGHS if f"`{b.code}`" not in loading] == []
    assert [s.code for s in ED_SITES if f"`{s.code}`" not in loading] == []


def test_every_relative_link_resolves():
    broken = []
    for source, text in [("README.md", README)] + [(f"docs/{k}", v) for k, v in DOCS.items()]:
        base = ROOT if source == "README.md" else ROOT / "docs"
        for target in re.findall(r"\]\(([^)#\s]+)\)", text):
            if not target.startswith(("http://", "https://", "mailto:")) and not (base / target).exists():
                broken.append(f"{source}: {target}")
    assert broken == []
