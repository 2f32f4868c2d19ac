"""The one filter model: every page reads it from the URL and every query takes it.

Empty tuples mean "all". The date range is inclusive.

The one period model (PERIOD_RULE): police.uk records carry only a month, so whenever police
records are in a view its period is counted in whole calendar months, widened to the months
the asked-for dates touch (4-31 Dec counts 1-31 Dec), for ED and police alike; a view of ED
records only counts exactly the days asked for. `Filters.counted()` is that period and
`incident_where` always applies it, so every page, export and pack counts the same days.
police.uk records have no time of day or weekday either: while an hour or weekday filter is
set, police records are left out (counting them would compare a filtered ED count with an
unfiltered police one), so such a view is ED only and counts its exact days.

The one "located" rule (LOCATED): a count at a place (a hexagon, a street block, a premises'
radius, a selected unit) counts ED records placed on a street or better, never those placed
only at an area's centre; police records are always placed (police.uk map points). Totals of
an area (a borough, London) count every record of the area.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from data.access.roles import UNRESTRICTED, Scope
from data.ingest.schema import ASSAULT_METHODS, CONFIDENCE_ORDER, POLICE_CATEGORIES, POLICE_VIOLENCE, SOURCES

ALL_SOURCES = tuple(s.code for s in SOURCES)  # the built-in sources, the default view: ED and police.uk
EXTRA_CODE = re.compile(r"^[a-z][a-z0-9_]{1,19}$")  # a registered extra source (data/ingest/extra.py)
UNITS = ("hex", "block")
PLACE_KINDS = ("h3_r7", "h3_r8", "h3_r9", "h3_r10", "block")

LOCATED = "street"
LOCATED_RULE = ("Counts at a place (hexagon, street block, premises radius) include ED assaults (and other agencies' "
                "incidents) placed on a street or at a venue, not those placed only at an area's centre; borough and "
                "London totals include every record.")
PERIOD_RULE = ("police.uk gives only the month of a crime (and other agencies' sources may too), so while police or "
               "another agency's records are shown the period is counted in whole calendar months (widened to the "
               "months the dates touch), for every source alike; ED-only views count the exact days.")


@dataclass(frozen=True)
class Filters:
    boroughs: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    sources: tuple[str, ...] = ALL_SOURCES
    police_categories: tuple[str, ...] = (POLICE_VIOLENCE,)
    assault_methods: tuple[str, ...] = ()
    hours: tuple[int, int] | None = None      # (from, to): from:00 up to to:00, wrapping midnight; (22, 6) = 22:00-05:59
    weekdays: tuple[int, ...] = ()           # 0 = Monday ... 6 = Sunday
    min_confidence: str = "none"             # ED records located at least this well ('none' = every record)
    unit: str = "hex"                        # the map's spatial unit: 'hex' or 'block'
    place: tuple[str, int] | None = None     # one hex or block: ('h3_r8', cell) or ('block', block_id)

    def __post_init__(self):
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"date range starts {self.start} after it ends {self.end}")
        _check_subset("source", [x for x in self.sources if not EXTRA_CODE.match(str(x))], ALL_SOURCES)
        _check_subset("police category", self.police_categories, POLICE_CATEGORIES)
        _check_subset("assault method", self.assault_methods, tuple(m.code for m in ASSAULT_METHODS))
        _check_subset("weekday", self.weekdays, tuple(range(7)))
        if self.hours is not None and (len(self.hours) != 2 or not all(0 <= h <= 24 for h in self.hours)
                                       or self.hours[0] == self.hours[1]):
            raise ValueError(f"hours {self.hours!r}: expected two different hours from 0 to 24")
        if self.min_confidence not in CONFIDENCE_ORDER:
            raise ValueError(f"confidence {self.min_confidence!r}: expected one of {list(CONFIDENCE_ORDER)}")
        if self.unit not in UNITS:
            raise ValueError(f"unit {self.unit!r}: expected one of {list(UNITS)}")
        if self.place is not None and (len(self.place) != 2 or self.place[0] not in PLACE_KINDS):
            raise ValueError(f"place {self.place!r}: expected (one of {list(PLACE_KINDS)}, id)")

    def with_(self, **changes) -> "Filters":
        return replace(self, **changes)

    @property
    def with_police(self) -> bool:
        """True when police.uk records can match this filter (police asked for, no hour or weekday filter)."""
        return "police" in self.sources and not self.timed

    @property
    def extras(self) -> tuple[str, ...]:
        """The extra (registered, another agency's) sources asked for."""
        return tuple(x for x in self.sources if x not in ALL_SOURCES)

    @property
    def in_months(self) -> bool:
        """True when records that may carry only a month are in the view: police.uk or another agency's
        (with an hour or weekday filter only exact-time records count, so the days are exact)."""
        return not self.timed and ("police" in self.sources or bool(self.extras))

    def counted(self) -> "Filters":
        """The filter over the period it counts (PERIOD_RULE): whole months while month-only records are in it."""
        if not self.in_months or (self.start is None and self.end is None):
            return self
        start = self.start.replace(day=1) if self.start else None
        end = _month_end(self.end) if self.end else None
        return self if (start, end) == (self.start, self.end) else replace(self, start=start, end=end)

    def only(self, *sources: str) -> "Filters":
        """The same view's counted period, over some of its sources: ED assaults of a view that also
        shows police records count over the same whole months as the view's cards."""
        return replace(self.counted(), sources=tuple(sources))

    @property
    def widened(self) -> bool:
        """True when the counted period is wider than the dates asked for."""
        c = self.counted()
        return (c.start, c.end) != (self.start, self.end)

    def days(self) -> int:
        """Days of exposure of the counted period (needs a start and an end)."""
        c = self.counted()
        if c.start is None or c.end is None:
            raise ValueError("a period needs a start and an end date to have a length")
        return (c.end - c.start).days + 1

    def cache_key(self) -> "Filters":
        """What query results depend on: the filter without the map's display unit (no query reads
        `unit`), so switching hexagons to street blocks reuses the series, totals and table."""
        return replace(self, unit="hex")

    @property
    def timed(self) -> bool:
        """True when an hour or weekday filter is set (police.uk records cannot match it)."""
        return self.hours is not None or bool(self.weekdays)

    def previous(self, windows: int = 1) -> "Filters":
        """The same filter over the `windows` equal windows just before its counted period.

        A counted period of whole calendar months compares with as many whole months before
        it, times `windows` (police.uk counts by month: 2025 against all of 2024, not against
        2 Jan - 31 Dec 2024 in a leap year); any other period with as many days, times `windows`.
        Comparisons divide by `days()` of each side (counts per day of exposure).
        """
        self = self.counted()
        if self.start is None or self.end is None:
            raise ValueError("a previous period needs a start and an end date")
        if int(windows) != windows or windows < 1:
            raise ValueError(f"windows was {windows!r}; expected a whole number, 1 or more")
        if self.start.day == 1 and (self.end + timedelta(days=1)).day == 1:
            months = ((self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1) * windows
            first = self.start.year * 12 + self.start.month - 1 - months
            start = date(first // 12, first % 12 + 1, 1)
            return self.with_(start=start, end=self.start - timedelta(days=1))
        days = ((self.end - self.start).days + 1) * windows
        return self.with_(start=self.start - timedelta(days=days), end=self.start - timedelta(days=1))


def windows_before(f: "Filters", n: int) -> list["Filters"]:
    """The n equal windows ending with f's counted period, oldest first (the last one is f counted)."""
    f = f.counted()
    out = [f]
    for k in range(1, n):
        back = f.previous(k)
        nearer = f.previous(k - 1).start if k > 1 else f.start
        out.append(back.with_(end=nearer - timedelta(days=1)))
    return out[::-1]


def _month_end(d: date) -> date:
    nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _check_subset(what: str, values, allowed) -> None:
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValueError(f"unknown {what} {unknown[:5]!r}; expected some of {list(allowed)[:20]}")


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


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join('?' * len(values))})"


def counted_for(f: Filters, scope: Scope = UNRESTRICTED) -> Filters:
    """The filter over the period a viewer's counts cover: PERIOD_RULE's, and whole months for protected viewers."""
    f = f.counted()
    if scope.months_only and f.start is not None and f.end is not None:
        # protected viewers count whole months only: no single-day windows to difference (docs/disclosure.md)
        f = f.with_(start=f.start.replace(day=1), end=_month_end(f.end))
    return f


def window_case(windows, scope: Scope = UNRESTRICTED) -> Where:
    """A SQL list of the indices of the windows (each as `incident_where` counts it) a record falls in, to
    UNNEST: one grouped query counts many windows. A record may be in several (protected viewers' windows
    widen to whole months and can overlap), as it is in each window's own query."""
    items, params = [], []
    for i, w in enumerate(windows):
        c = counted_for(w, scope)
        items.append(f"CASE WHEN (CASE WHEN time_precision = 'month' THEN month >= ?::DATE AND month <= ?::DATE "
                     f"ELSE occurred_at >= ?::DATE AND occurred_at < ?::DATE END) THEN {int(i)} END")
        params += [c.start, c.end, c.start, c.end + timedelta(days=1)]
    return Where("[" + ", ".join(items) + "]", params)


def _placed_and_timed(f: Filters, level: int, params: list) -> str:
    """' AND ...' for records placed at least at confidence `level` (LOCATED at one place) and in the filter's
    hours and weekdays (records with a time: ED, another agency's timed ones); appends the parameters."""
    cond = ""
    level = max(level, CONFIDENCE_ORDER[LOCATED] if f.place is not None else 0)
    if level > 0:
        allowed = [c for c, i in CONFIDENCE_ORDER.items() if i >= level]
        cond += " AND " + _in("geocode_confidence", allowed)
        params += allowed
    if f.hours is not None:
        lo, hi = f.hours
        op = "AND" if lo < hi else "OR"  # (22, 6) wraps midnight
        cond += f" AND (hour(occurred_at) >= ? {op} hour(occurred_at) < ?)"
        params += [lo, hi]
    if f.weekdays:
        cond += " AND " + _in("isodow(occurred_at) - 1", f.weekdays)
        params += list(f.weekdays)
    return cond


def incident_where(f: Filters, scope: Scope = UNRESTRICTED, *, min_confidence: str | None = None) -> Where:
    """The WHERE clause (without the keyword) selecting the incidents a filter asks for,
    within the viewer's scope, over its counted period (PERIOD_RULE). min_confidence raises the
    filter's (counts at places ask for LOCATED); a filter on one place always applies LOCATED."""
    f = counted_for(f, scope)
    b = borough_condition(f, scope)
    parts, params = [b.sql], list(b.params)
    # `month` (the first day of every record's month) bounds both precisions, and unlike the CASE
    # it lets DuckDB skip whole row groups by their min/max (incidents are stored by month):
    # a 12-month view of 3 years reads a third of the file
    if f.start is not None:
        parts.append("month >= ?::DATE AND (CASE WHEN time_precision = 'month' THEN month >= ?::DATE ELSE occurred_at >= ?::DATE END)")
        params += [f.start.replace(day=1), f.start, f.start]
    if f.end is not None:
        parts.append("month <= ?::DATE AND (CASE WHEN time_precision = 'month' THEN month <= ?::DATE ELSE occurred_at < ?::DATE END)")
        params += [f.end, f.end, f.end + timedelta(days=1)]
    source_parts = []
    if "ed" in f.sources:
        cond = "source = 'ed'"
        if f.assault_methods:
            cond += " AND " + _in("category", f.assault_methods)
            params += list(f.assault_methods)
        cond += _placed_and_timed(f, max(CONFIDENCE_ORDER[min_confidence or "none"], CONFIDENCE_ORDER[f.min_confidence]),
                                  params)
        source_parts.append(f"({cond})")
    if "police" in f.sources and not f.timed:
        cond = "source = 'police'"
        if f.police_categories:
            cond += " AND " + _in("category", f.police_categories)
            params += list(f.police_categories)
        source_parts.append(f"({cond})")
    if f.extras:  # another agency's incidents: placed like ED records, timed ones only under an hour filter
        cond = _in("source", f.extras) + (" AND time_precision = 'minute'" if f.timed else "")
        params += list(f.extras)
        cond += _placed_and_timed(f, CONFIDENCE_ORDER[min_confidence or "none"], params)
        source_parts.append(f"({cond})")
    parts.append("(" + (" OR ".join(source_parts) or "FALSE") + ")")
    if f.place is not None:
        kind, ident = f.place
        parts.append(f"{'block_id' if kind == 'block' else kind} = ?")  # kind is checked against PLACE_KINDS
        params.append(int(ident))
    return Where(" AND ".join(parts), params)
