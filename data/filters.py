"""The one filter model: every page reads it from the URL and every query takes it.

Empty tuples mean "all". The date range is inclusive; police.uk records carry only a month,
so they match when their month starts inside the range.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from data.roles import UNRESTRICTED, Scope
from data.schema import POLICE_VIOLENCE, SOURCES

ALL_SOURCES = tuple(s.code for s in SOURCES)


@dataclass(frozen=True)
class Filters:
    boroughs: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    sources: tuple[str, ...] = ALL_SOURCES
    police_categories: tuple[str, ...] = (POLICE_VIOLENCE,)
    assault_methods: tuple[str, ...] = ()

    def __post_init__(self):
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"date range starts {self.start} after it ends {self.end}")
        unknown = set(self.sources) - set(ALL_SOURCES)
        if unknown:
            raise ValueError(f"unknown source {sorted(unknown)}; expected some of {list(ALL_SOURCES)}")

    def with_(self, **changes) -> "Filters":
        return replace(self, **changes)


@dataclass(frozen=True)
class Where:
    """A SQL condition over `incidents` and its bound parameters."""
    sql: str
    params: list = field(default_factory=list)


def borough_condition(f: Filters, scope: Scope, column: str = "borough_code") -> Where:
    """The boroughs a filter asks for, intersected with what the viewer may see."""
    boroughs = scope.boroughs_for(f.boroughs)
    if boroughs is None:
        return Where("TRUE")
    if not boroughs:
        return Where("FALSE")
    return Where(f"{column} IN ({', '.join('?' * len(boroughs))})", list(boroughs))


def incident_where(f: Filters, scope: Scope = UNRESTRICTED) -> Where:
    """The WHERE clause (without the keyword) selecting the incidents a filter asks for,
    within the viewer's scope."""
    b = borough_condition(f, scope)
    parts, params = [b.sql], list(b.params)
    if f.start is not None:
        parts.append("(CASE WHEN time_precision = 'month' THEN month >= date_trunc('month', ?::DATE) ELSE occurred_at >= ?::DATE END)")
        params += [f.start, f.start]
    if f.end is not None:
        parts.append("(CASE WHEN time_precision = 'month' THEN month <= ?::DATE ELSE occurred_at < ?::DATE END)")
        params += [f.end, f.end + timedelta(days=1)]
    source_parts = []
    if "ed" in f.sources:
        cond = "source = 'ed'"
        if f.assault_methods:
            cond += f" AND category IN ({', '.join('?' * len(f.assault_methods))})"
            params += list(f.assault_methods)
        source_parts.append(f"({cond})")
    if "police" in f.sources:
        cond = "source = 'police'"
        if f.police_categories:
            cond += f" AND category IN ({', '.join('?' * len(f.police_categories))})"
            params += list(f.police_categories)
        source_parts.append(f"({cond})")
    parts.append("(" + (" OR ".join(source_parts) or "FALSE") + ")")
    return Where(" AND ".join(parts), params)
