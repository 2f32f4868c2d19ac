"""The filter model ⇄ URL query string, so that a view is a shareable link.

Bad or hand-edited values never raise: they fall back to defaults and are reported as notes.
"""
from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlencode

from data.filters import Filters


def to_query(f: Filters) -> str:
    params = {}
    if f.boroughs:
        params["borough"] = ",".join(f.boroughs)
    if f.start:
        params["from"] = f.start.isoformat()
    if f.end:
        params["to"] = f.end.isoformat()
    return "?" + urlencode(params) if params else ""


def from_query(search: str | None, known_boroughs: set[str], default: Filters) -> tuple[Filters, list[str]]:
    """Parse a query string into Filters; unknown values are dropped with a note."""
    notes = []
    qs = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
    f = default
    if "borough" in qs:
        codes = [c for c in qs["borough"][0].split(",") if c]
        good = tuple(c for c in codes if c in known_boroughs)
        if len(good) != len(codes):
            notes.append(f"Ignored unknown borough code(s): {', '.join(c for c in codes if c not in known_boroughs)[:120]}")
        f = f.with_(boroughs=good)
    dates = {"start": default.start, "end": default.end}
    for key, attr in (("from", "start"), ("to", "end")):
        if key in qs:
            try:
                dates[attr] = date.fromisoformat(qs[key][0])
            except ValueError:
                notes.append(f"Ignored '{key}={qs[key][0][:40]}': expected a date like 2025-01-31")
    if dates["start"] and dates["end"] and dates["start"] > dates["end"]:
        notes.append("The start date was after the end date; showing the default period")
        dates = {"start": default.start, "end": default.end}
    return f.with_(**dates), notes
