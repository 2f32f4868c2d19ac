"""The password rule (NIST SP 800-63B style): length and a blocklist, no composition rules.

At least 10 characters (12 for admins), not one of 19,646 common passwords (the list Django ships,
BSD licence: common-passwords.txt.gz beside this module), and not containing the username.
"""
from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

MIN_PASSWORD = 10
MIN_ADMIN_PASSWORD = 12


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    with gzip.open(Path(__file__).with_name("common-passwords.txt.gz"), "rt", encoding="utf-8") as f:
        return frozenset(line.strip().lower() for line in f if line.strip())


def password_problem(password: str, username: str = "", role: str = "") -> str | None:
    """Why a password may not be used (None when it may)."""
    least = MIN_ADMIN_PASSWORD if role == "admin" else MIN_PASSWORD
    if len(password) < least:
        return f"passwords need at least {least} characters{' for an admin' if role == 'admin' else ''}"
    lowered = password.lower()
    if lowered in common_passwords() or len(set(password)) < 4:
        return "that password is one of the most common ones: choose another"
    if username and len(username) >= 3 and username.lower() in lowered:
        return "the password must not contain the username"
    return None
