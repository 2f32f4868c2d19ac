"""`flask --app app users add|disable|enable|list|reset-password`: user management on the server."""
from __future__ import annotations

import click
from flask import Flask

from data.access.roles import ROLES
from data.access.users import UserError


def register_cli(server: Flask) -> None:
    group = click.Group("users", help="Manage users (admins on the server; every change is audited).")

    def store():
        return server.extensions["istv_users"]

    @group.command("add")
    @click.argument("username")
    @click.option("--role", required=True, type=click.Choice(list(ROLES)))
    @click.option("--borough", "boroughs", multiple=True, help="GSS code; repeat for several.")
    @click.option("--ed-site", "ed_sites", multiple=True, help="ED site code (health role); repeat for several.")
    @click.password_option(help="Asked for when not given.")
    def add(username, role, boroughs, ed_sites, password):
        """Add a user."""
        try:
            store().add(username, password, role, boroughs, ed_sites, by="cli")
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"added {username} ({role})")

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

    def _update(username, **changes):
        try:
            store().update(username, by="cli", **changes)
        except UserError as exc:
            raise click.ClickException(str(exc)) from None

    server.cli.add_command(group)
