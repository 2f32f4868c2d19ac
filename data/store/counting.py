"""Counts with their cell keys: how every count query of the store is written.

`counted("ed", "source = 'ed'")` is `count(*) FILTER (WHERE source = 'ed') AS ed` plus the sum of
the same records' keys as `ed__key`. The store hands results to viewers through
`data.access.disclosure.protect_frame`, which perturbs each keyed count for a protected viewer
and drops the keys for everyone (tests/test_disclosure_keys.py checks that no count query of
the store goes without its key).
"""
from __future__ import annotations

from data.access.disclosure import KEY_RANGE, KEY_SUFFIX


def record_key(alias: str = "") -> str:
    """A record's fixed key: the low byte of its stored record hash (uniform on 0..255)."""
    return f"({alias + '.' if alias else ''}record_hash % {KEY_RANGE})::INTEGER"


def counted(name: str, condition: str | None = None, alias: str = "") -> str:
    """`count(*) [FILTER (WHERE condition)] AS name` and the sum of the same records' keys."""
    where = f" FILTER (WHERE {condition})" if condition else ""
    return f"count(*){where} AS {name}, sum({record_key(alias)}){where} AS {name}{KEY_SUFFIX}"
