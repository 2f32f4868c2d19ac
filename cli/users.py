"""`flask --app app users add|disable|enable|list|reset-password`: user management on the server.

A scope's boroughs are given as GSS codes or names (any case) and checked against the boroughs
loaded into ISTV_DB (the 33 of data/reference/boroughs.csv while none are); ED sites against the
loaded ed_sites table and data/reference/ed_sites.csv. A scope naming nothing real would show the
user empty pages, or, for a typo'd borough, nothing at all.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from config import CONFIG_KEY
from data import reference
from data.access.roles import ROLES
from data.access.scopes import UserError, resolve_scope
from data.errors import IstvError
from data.store.db import Store


def _loaded(db_path, sql: str) -> dict[str, str]:
    """{code: name} from the served database; empty when there is none or it cannot be read."""
    if db_path is None or not Path(db_path).exists():
        return {}
    try:
        frame = Store(db_path).df(sql)
    except (IstvError, OSError):
        return {}
    return {str(c): str(n) if n is not None else "" for c, n in zip(frame.iloc[:, 0], frame.iloc[:, 1])}


def known_boroughs(db_path) -> tuple[dict[str, str], str]:
    """The boroughs a scope may name, and how messages call one of them."""
    loaded = _loaded(db_path, "SELECT code, name FROM boroughs ORDER BY code")
    if loaded:
        return loaded, f"one of the {len(loaded)} boroughs loaded"
    return dict(reference.BOROUGH_NAMES), "a London borough (data/reference/boroughs.csv)"


def known_ed_sites(db_path) -> dict[str, str]:
    """The ED sites a scope may name: the loaded ed_sites table and the reference list of London's Type 1 EDs."""
    sites = {s.code: s.name for s in reference.ED_SITES}
    sites.update(_loaded(db_path, "SELECT site_code, name FROM ed_sites ORDER BY site_code"))
    return sites


def register_cli(server: Flask) -> None:
    group = click.Group("users", help="Manage users (admins on the server; every change is audited).")

    def store():
        return server.extensions["istv_users"]

    @group.command("add")
    @click.argument("username")
    @click.option("--role", required=True, type=click.Choice(list(ROLES)))
    @click.option("--borough", "boroughs", multiple=True,
                  help="GSS code or name, any case (E09000033, 'Westminster'); repeat for several.")
    @click.option("--ed-site", "ed_sites", multiple=True, help="ED site code (health role), e.g. RJ122; repeat for several.")
    @click.password_option(help="Asked for when not given.")
    def add(username, role, boroughs, ed_sites, password):
        """Add a user."""
        try:
            boroughs, ed_sites = _scope(boroughs, ed_sites)
            store().add(username, password, role, boroughs, ed_sites, by="cli")
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"added {username} ({role})" + (f", boroughs {', '.join(boroughs)}" if boroughs else "")
                   + (f", ED sites {', '.join(ed_sites)}" if ed_sites else ""))

    @group.command("disable")
    @click.argument("username")
    def disable(username):
        """Disable a user (users are never deleted: the audit log refers to them)."""
        _update(username, active=False)
        click.echo(f"disabled {username}")

    @group.command("enable")
    @click.argument("username")
    def enable(username):
        """Enable a disabled user."""
        _update(username, active=True)
        click.echo(f"enabled {username}")

    @group.command("reset-password")
    @click.argument("username")
    @click.password_option()
    def reset(username, password):
        """Set a new password."""
        _update(username, password=password)
        click.echo(f"password reset for {username}")

    @group.command("list")
    def list_users():
        """List users with role, scope and state."""
        for u in store().list():
            state = "active" if u.active else "disabled"
            click.echo(f"{u.username:20} {u.role:10} {state:9} boroughs={u.boroughs or 'all'} "
                       f"ed_sites={u.ed_sites or '-'}{' demo' if u.is_demo else ''}")

    def _scope(boroughs, ed_sites) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Borough codes and ED site codes of the given values; UserError for one that names nothing known."""
        config = server.extensions.get(CONFIG_KEY)
        db_path = getattr(config, "db_path", None)
        if boroughs:
            known, what = known_boroughs(db_path)
            boroughs = resolve_scope(boroughs, known, option="--borough", what=what, elsewhere=reference.BOROUGH_NAMES)
        if ed_sites:
            ed_sites = resolve_scope(ed_sites, known_ed_sites(db_path), option="--ed-site",
                                     what="a known ED site (the loaded ed_sites or data/reference/ed_sites.csv)")
        return tuple(boroughs), tuple(ed_sites)

    def _update(username, **changes):
        try:
            store().update(username, by="cli", **changes)
        except UserError as exc:
            raise click.ClickException(str(exc)) from None

    server.cli.add_command(group)
