"""Coverage notes: plain sentences saying where the loaded data stops, so missing data never reads as zero.

Pure: a `Coverage` (data/store/queries_coverage.py) and the view in, sentences out.
"""
from __future__ import annotations

from datetime import date

from data.store.queries_coverage import Coverage

SOURCE_NAMES = {"ed": "ED", "police": "police"}


def months_in(start: date | None, end: date | None, known: frozenset[date]) -> list[date]:
    """The first days of the calendar months a period touches (all known months when open-ended)."""
    if start is None or end is None:
        return sorted(known)
    out, m = [], start.replace(day=1)
    while m <= end:
        out.append(m)
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    return out


def month_ranges(months: list[date]) -> str:
    """'Jan-Mar 2025, Jun 2025' for a sorted list of month starts."""
    if not months:
        return ""
    runs, first, prev = [], months[0], months[0]
    for m in months[1:] + [None]:
        nxt = None if prev is None else date(prev.year + (prev.month == 12), prev.month % 12 + 1, 1)
        if m is not None and m == nxt:
            prev = m
            continue
        if first == prev:
            runs.append(f"{first:%b %Y}")
        elif first.year == prev.year:
            runs.append(f"{first:%b}-{prev:%b %Y}")
        else:
            runs.append(f"{first:%b %Y}-{prev:%b %Y}")
        first = prev = m
    return ", ".join(runs)


def _names(codes, names: dict[str, str], most: int = 4) -> str:
    shown = sorted(names.get(c, c) for c in codes)
    return ", ".join(shown[:most]) + (f" and {len(shown) - most} more" if len(shown) > most else "")


def coverage_notes(cov: Coverage, start: date | None, end: date | None, sources, boroughs: list[str],
                   names: dict[str, str], unit: str | None = None, premises: bool = False) -> list[str]:
    """Sentences on what is not loaded for this view.

    boroughs: the boroughs in view (the chosen ones, else every borough the viewer may see).
    """
    notes = []
    for source in ("ed", "police"):
        if source not in sources:
            continue
        have = cov.months(source)
        if not have:
            notes.append(f"No {SOURCE_NAMES[source]} records are loaded: {SOURCE_NAMES[source]} counts are missing, not zero.")
            continue
        missing = [m for m in months_in(start, end, have) if m not in have]
        if missing:
            notes.append(f"No {SOURCE_NAMES[source]} records are loaded for {month_ranges(missing)}: "
                         "those months are gaps, not zeros.")
    if "ed" in sources and cov.ed_months:
        period = [m for m in months_in(start, end, cov.ed_months) if m in cov.ed_months]
        short = {site: [m for m in period if m not in got] for site, got in cov.ed_site_months.items()}
        short = {s: ms for s, ms in short.items() if ms and len(ms) < len(period)}
        if short:
            notes.append("Some EDs sent nothing for some months: " + "; ".join(
                f"{site}: {month_ranges(ms)}" for site, ms in sorted(short.items())[:4]) + ".")
    if "police" in sources and cov.police_months:
        without = [b for b in boroughs if b not in cov.police_boroughs]
        if without and len(without) < len(boroughs):
            notes.append(f"No police records are loaded for {len(without)} of the {len(boroughs)} boroughs in view "
                         f"({_names(without, names)}): their police counts are missing, not zero.")
        elif without:
            notes.append("No police records are loaded for the boroughs in view: police counts are missing, not zero.")
    if unit == "block":
        without = [b for b in boroughs if b not in cov.street_boroughs]
        if without:
            notes.append(f"No street network is loaded for {_names(without, names)}: incidents there count in the "
                         "totals but cannot be drawn as street blocks (load streets to see them).")
    if premises:
        without = [b for b in boroughs if b not in cov.premises_boroughs]
        if without:
            notes.append(f"No licensed premises are loaded for {_names(without, names)}.")
    return notes
