"""A user's boroughs and ED sites as typed by an admin (codes or names, any case), checked against what is known."""
from __future__ import annotations

import difflib
import re
from typing import Iterable

from data.errors import IstvError


class UserError(IstvError, ValueError):
    """A user-management request that cannot be done as asked (users.py re-exports it)."""


def _scope_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower().replace("&", "and"))


def resolve_scope(given: Iterable[str], known: dict[str, str], *, option: str, what: str,
                  elsewhere: dict[str, str] | None = None) -> tuple[str, ...]:
    """The codes of scope values given as a code or a name, in any case, spacing or punctuation.

    known: {code: name} a value may name (the loaded boroughs or ED sites, else the reference
    lists); what: how messages call one of them ("a loaded borough"); elsewhere: {code: name}
    valid in general but not in known (a borough whose boundary is not loaded), named precisely
    when given. Raises UserError: one line naming the value and its close matches.
    """
    by_key = {}
    for code, name in known.items():
        by_key.setdefault(_scope_key(code), code)
        by_key.setdefault(_scope_key(name), code)
    out: list[str] = []
    for value in given:
        key = _scope_key(value)
        code = by_key.get(key)
        if code is None:
            raise UserError(_unknown_scope(value, key, known, option, what, elsewhere or {}))
        if code not in out:
            out.append(code)
    return tuple(out)


def _unknown_scope(value: str, key: str, known: dict[str, str], option: str, what: str,
                   elsewhere: dict[str, str]) -> str:
    label = {code: f"{code} ({name})" for code, name in known.items()}
    if not key:
        return f"{option} {value!r} is empty: expected a code or a name of {what}"
    other = next((c for c, n in elsewhere.items() if key in (_scope_key(c), _scope_key(n)) and c not in known), None)
    if other is not None:
        return f"{option} {value!r} is {other} ({elsewhere[other]}), which is not {what}"
    keys = {}
    for code, name in known.items():
        keys.setdefault(_scope_key(code), code)
        keys.setdefault(_scope_key(name), code)
    # a value inside a name or code ("kingston", "RJ12") says more than a similar spelling
    close = [k for k in keys if len(key) >= 4 and (key in k or k in key)] or \
        difflib.get_close_matches(key, list(keys), n=5, cutoff=0.6)
    matches = list(dict.fromkeys(keys[k] for k in close))[:3]
    if matches:
        hint = "close matches: " + ", ".join(label[c] for c in matches)
    elif len(known) <= 6:
        hint = "expected one of " + (", ".join(label[c] for c in sorted(known)) or "none (nothing loaded yet)")
    else:
        first, last = min(known), max(known)
        hint = f"no close match among the {len(known)} (codes {label[first]} to {label[last]})"
    return f"{option} {value!r} is not {what}; {hint}"
