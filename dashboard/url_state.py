"""The filter model ⇄ URL query string, so that a view is a shareable link.

Bad or hand-edited values never raise: they fall back to defaults and are reported as notes
the page shows. Page-specific view state (colour mode, selection, map position) travels in
the same query string through `extra` parameters.
"""
from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlencode

from h3.api import basic_int as h3i

from data.store.filters import ALL_SOURCES, EXTRA_CODE, PLACE_KINDS, UNITS, Filters
from data.ingest.schema import ASSAULT_METHODS, CONFIDENCE_ORDER, POLICE_CATEGORIES

HISTORY = "view-url"      # store a page writes its view's query string to (assets/history.js puts it in the address bar)
HISTORY_POP = "view-pop"  # store Back/Forward within a page sets: the router rebuilds the page from that query
MAX_QUERY = 4000  # characters: longer query strings are ignored rather than parsed
METHOD_CODES = tuple(m.code for m in ASSAULT_METHODS)


def parse_day(value) -> date | None:
    """A date picker's value ('2025-03-01' or '2025-03-01T00:00:00') as a date; None when empty or malformed."""
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def parse_month(value) -> date | None:
    """A month picker's value ('2025-03' or any date in it) as the first day of that month; None when bad."""
    try:
        return date.fromisoformat(str(value)[:7] + "-01") if value else None
    except ValueError:
        return None


def _place_str(place) -> str:
    kind, ident = place
    return f"block:{int(ident)}" if kind == "block" else f"{kind}:{h3i.int_to_str(int(ident))}"


def to_query(f: Filters, default: Filters | None = None, extra: dict | None = None) -> str:
    """The query string (with '?', or '' when empty) for a filter; values equal to `default` are left out."""
    d = default or Filters()
    p: dict[str, str] = {}
    if f.boroughs:
        p["borough"] = ",".join(f.boroughs)
    if f.start:
        p["from"] = f.start.isoformat()
    if f.end:
        p["to"] = f.end.isoformat()
    if f.sources != d.sources:
        p["src"] = ",".join(f.sources) or "none"
    if f.police_categories != d.police_categories:
        p["pcat"] = "|".join(f.police_categories) or "all"
    if f.assault_methods != d.assault_methods:
        p["method"] = ",".join(f.assault_methods)
    if f.hours is not None:
        p["hours"] = f"{f.hours[0]}-{f.hours[1]}"
    if f.weekdays:
        p["days"] = ",".join(str(x) for x in f.weekdays)
    if f.min_confidence != d.min_confidence:
        p["conf"] = f.min_confidence
    if f.unit != d.unit:
        p["unit"] = f.unit
    if f.place is not None:
        p["place"] = _place_str(f.place)
    for k, v in (extra or {}).items():
        if v not in (None, ""):
            p[k] = str(v)
    return "?" + urlencode(p) if p else ""


class _Sources:
    """The built-in sources and any well-formed extra source code (`in` only)."""
    def __contains__(self, code) -> bool:
        return code in ALL_SOURCES or bool(EXTRA_CODE.match(str(code)))


def _list(raw: str, allowed, name: str, notes: list, sep: str = ",") -> tuple | None:
    values = [v for v in raw.split(sep) if v]
    good = tuple(v for v in values if v in allowed)
    if len(good) != len(values):
        notes.append(f"Ignored unknown {name}: {', '.join(v for v in values if v not in allowed)[:120]}")
    return good


def _parse_place(raw: str):
    kind, _, ident = raw.partition(":")
    if kind not in PLACE_KINDS:
        raise ValueError(raw)
    if kind == "block":
        return kind, int(ident)
    cell = h3i.str_to_int(ident)
    if not h3i.is_valid_cell(cell) or f"h3_r{h3i.get_resolution(cell)}" != kind:
        raise ValueError(raw)
    return kind, cell


def from_query(search: str | None, known_boroughs: set[str], default: Filters,
               extra_keys: tuple[str, ...] = (), known_sources=None) -> tuple[Filters, list[str]] | tuple[Filters, list[str], dict]:
    """Parse a query string into Filters (and, when extra_keys are given, those raw values).

    Every unknown or malformed value is dropped with a note; the rest of the link still works.
    """
    notes: list[str] = []
    search = search or ""
    if len(search) > MAX_QUERY:
        notes.append(f"The link was {len(search):,} characters long; it was ignored and the default view shown")
        search = ""
    qs = {k: v[0] for k, v in parse_qs(search.lstrip("?"), keep_blank_values=False).items()}
    values: dict = {}
    if "borough" in qs:
        values["boroughs"] = _list(qs["borough"], known_boroughs, "borough code(s)", notes)
    dates = {"start": default.start, "end": default.end}
    for key, attr in (("from", "start"), ("to", "end")):
        if key in qs:
            try:
                dates[attr] = date.fromisoformat(qs[key])
            except ValueError:
                notes.append(f"Ignored '{key}={qs[key][:40]}': expected a date like 2025-01-31")
    if dates["start"] and dates["end"] and dates["start"] > dates["end"]:
        notes.append("The start date was after the end date; showing the default period")
        dates = {"start": default.start, "end": default.end}
    values.update(dates)
    if "src" in qs:
        # known_sources: the built-in and registered sources (None: any well-formed extra code, which counts
        # nothing unless registered)
        allowed = _Sources() if known_sources is None else set(known_sources)
        values["sources"] = () if qs["src"] == "none" else _list(qs["src"], allowed, "source(s)", notes)
    if "pcat" in qs:
        values["police_categories"] = () if qs["pcat"] == "all" else _list(qs["pcat"], POLICE_CATEGORIES, "police category", notes, "|")
    if "method" in qs:
        values["assault_methods"] = _list(qs["method"], METHOD_CODES, "assault method(s)", notes)
    if "hours" in qs:
        try:
            lo, hi = (int(x) for x in qs["hours"].split("-"))
            if not (0 <= lo <= 24 and 0 <= hi <= 24 and lo != hi):
                raise ValueError
            values["hours"] = (lo, hi)
        except ValueError:
            notes.append(f"Ignored 'hours={qs['hours'][:40]}': expected two hours like 22-6")
    if "days" in qs:
        days = _list(qs["days"], [str(i) for i in range(7)], "weekday(s)", notes)
        values["weekdays"] = tuple(int(x) for x in days)
    if "conf" in qs:
        if qs["conf"] in CONFIDENCE_ORDER:
            values["min_confidence"] = qs["conf"]
        else:
            notes.append(f"Ignored 'conf={qs['conf'][:40]}': expected one of {', '.join(CONFIDENCE_ORDER)}")
    if "unit" in qs:
        if qs["unit"] in UNITS:
            values["unit"] = qs["unit"]
        else:
            notes.append(f"Ignored 'unit={qs['unit'][:40]}': expected hex or block")
    if "place" in qs:
        try:
            values["place"] = _parse_place(qs["place"])
        except ValueError:  # h3 errors are ValueErrors too
            notes.append(f"Ignored 'place={qs['place'][:40]}': not a hexagon or street block id")
    f = default.with_(**values)
    if extra_keys:
        return f, notes, {k: qs[k][:200] for k in extra_keys if k in qs}
    return f, notes


def history_entry(search: str, push: bool = True) -> dict:
    """What a page writes to HISTORY: its query string, and whether an action of the person may add a
    history entry for it (False: replace the current one, e.g. moving the map)."""
    return {"search": search, "push": push}
