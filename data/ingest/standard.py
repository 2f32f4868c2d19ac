"""The standard for people: rows and code lists from data/ingest/schema.py, and its Markdown text.

The /standard page and `flask --app app standard --format markdown` both render these rows,
and the JSON form is `data.ingest.schema.data_package()`: one source, three views.
"""
from __future__ import annotations

from data.ingest.schema import (FORMATS, GEO_FILES, LEVELS, LONDON_BBOX, MISSING_VALUES, SPELLINGS, STANDARD_VERSION, Code,
                         Field, TableFormat, spelling_key)

TYPE_TEXT = {
    "string": "text", "code": "code", "date": "date (YYYY-MM-DD or DD/MM/YYYY)",
    "datetime": "date and time (YYYY-MM-DD HH:MM or DD/MM/YYYY HH:MM)", "yearmonth": "month (YYYY-MM)",
    "time": "time (HH:MM)", "number": "number", "integer": "whole number",
}


def rules_text(f: Field) -> str:
    """What a value must be, beyond its type."""
    parts = []
    if f.codes:
        parts.append("one of the codes below, or an accepted spelling")
    if f.pattern:
        parts.append(f"pattern {f.pattern}")
    if f.minimum is not None:
        parts.append(f"{f.minimum:g} to {f.maximum:g}")
    if f.max_length:
        parts.append(f"at most {f.max_length} characters")
    if f.parts:
        parts.append(f"may come as two columns {f.parts[0]} + {f.parts[1]}")
    return "; ".join(parts)


def field_rows(fmt: TableFormat) -> list[dict[str, str]]:
    """One row per field: name, title, type, level, rules, accepted names, description."""
    return [{"name": f.name, "title": f.title, "type": TYPE_TEXT[f.type], "level": f.level, "rules": rules_text(f),
             "also": ", ".join(f.aliases), "description": f.description} for f in fmt.fields]


def code_lists() -> list[tuple[str, list[str], tuple[Code, ...], dict[str, list[str]]]]:
    """(title, fields using it, codes, accepted spellings per code) for every code list."""
    seen: dict[tuple, tuple[str, list[str], tuple[Code, ...], dict[str, list[str]]]] = {}
    for fmt in FORMATS.values():
        for f in fmt.fields:
            if not f.codes:
                continue
            key = tuple(f.codes)
            if key not in seen:
                extra = {c.code: [s for s in SPELLINGS.get(f.name, {}).get(c.code, ()) if spelling_key(s) != spelling_key(c.code)]
                         for c in f.codes}
                seen[key] = (f.title, [], f.codes, extra)
            seen[key][1].append(f"{fmt.name}.{f.name}")
    return list(seen.values())


def _table(header: list[str], rows: list[list[str]]) -> str:
    def cell(v: str) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def general_rules() -> list[str]:
    b = LONDON_BBOX
    return [
        "Files are CSV with a header row (XML also for ED submissions), encoded UTF-8, UTF-8 with BOM or "
        "Windows-1252, separated by commas or semicolons.",
        "Column names are matched ignoring case, spaces and punctuation; the names under 'also accepted' work too. "
        "Other columns are ignored.",
        "Dates are YYYY-MM-DD (ISO 8601) or DD/MM/YYYY (UK); dates and times add HH:MM or HH:MM:SS after a space "
        "(or ISO's 'T'); months are YYYY-MM; times are HH:MM.",
        f"Blank cells and {', '.join(repr(v) for v in MISSING_VALUES if v)} mean 'no value'.",
        f"Points must lie in Greater London's bounding area: latitude {b['lat_min']} to {b['lat_max']}, "
        f"longitude {b['lon_min']} to {b['lon_max']}.",
        "A row that breaks a rule is quarantined (kept with its line, column, value and the rule) and the good rows "
        "load; a file that cannot be read or lacks a mandatory column is refused whole and nothing changes.",
        "Re-loading a file, or loading overlapping files, adds no duplicates.",
    ] + [f"{level.capitalize()}: {text}" for level, text in LEVELS.items()]


def standard_markdown() -> str:
    """The whole standard as Markdown."""
    out = [f"# ISTV London minimum data standard (version {STANDARD_VERSION})", "",
           "Generated from `data/ingest/schema.py`; the same standard as JSON: `flask --app app standard --format json`.", "",
           "## General rules", ""]
    out += [f"- {r}" for r in general_rules()] + [""]
    for fmt in FORMATS.values():
        out += [f"## {fmt.title} (`load {fmt.name}`)", "", fmt.description, ""]
        rows = field_rows(fmt)
        out += [_table(["field", "title", "type", "level", "rules", "also accepted", "description"],
                       [[f"`{r['name']}`", r["title"], r["type"], r["level"], r["rules"], r["also"], r["description"]]
                        for r in rows]), ""]
    out += ["## Code lists", ""]
    for title, used, codes, extra in code_lists():
        out += [f"### {title}", "", f"Used by: {', '.join(used)}.", ""]
        out += [_table(["code", "label", "description", "accepted spellings"],
                       [[f"`{c.code}`", c.label, c.description, ", ".join(extra[c.code])] for c in codes]), ""]
    out += ["## Geographic files", ""]
    out += [f"- **{title}** (`load {name}`): {text}" for name, (title, text) in GEO_FILES.items()]
    return "\n".join(out) + "\n"
