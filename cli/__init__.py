"""The `flask --app app ...` commands for analysts and admins on the server: thin shells over data/."""
from __future__ import annotations

from flask import Flask

from cli import data, geocode, users


def register_cli(server: Flask) -> None:
    """Add every command group to the Flask app's CLI."""
    for module in (data, users, geocode):
        module.register_cli(server)
