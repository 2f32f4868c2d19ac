"""What a load did to each file (the summary users read and load_log keeps) and progress output."""
from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, TextIO

import pandas as pd

from data.store.db import scalar
from layers.blocks import DEFAULT_MAX_DISTANCE_M


EMPTY = "(empty)"


def shown(value) -> str:
    """A value as messages show it: repr of the text, or (empty) for a missing or blank one (never None or nan)."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT:
        return EMPTY
    text = str(value)
    return EMPTY if not text.strip() else repr(text)


@dataclass
class FileReport:
    """read = loaded + quarantined + duplicates, for every file.

    replaced: loaded records that took the place of a stored one (an ED re-submission of the same
    site and record_id); they count as loaded. refused: why a load of the file would be refused
    (set when only validating; a load raises instead).
    """
    kind: str
    file: str
    rows_read: int = 0
    rows_loaded: int = 0
    duplicates: int = 0
    replaced: int = 0
    quarantined: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refused: str | None = None
    seconds: float = 0.0
    site_code: str | None = None       # ED submissions: the site and reporting period the file covers
    period_start: date | None = None
    period_end: date | None = None
    sites: tuple[str, ...] = ()        # ED submissions: every site code among the file's good rows

    @property
    def rows_quarantined(self) -> int:
        return sum(self.quarantined.values())

    def summary(self) -> str:
        """One paragraph: counts, then quarantine reasons, warnings, notes and a refusal."""
        name = Path(self.file).name
        lines = [f"{self.kind} {name}: read {self.rows_read:,}, loaded {self.rows_loaded:,}, "
                 f"quarantined {self.rows_quarantined:,}, duplicates skipped {self.duplicates:,}"
                 + (f", replaced {self.replaced:,}" if self.replaced else "")]
        for rule, n in sorted(self.quarantined.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  quarantined {n:,}: {rule}")
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  note: {n}" for n in self.notes]
        if self.refused:
            lines.append(f"  refused: {self.refused}")
        return "\n".join(lines)

    def log_row(self, load_id: int, loaded_at: datetime, loaded_by: str | None = None) -> list:
        message = "; ".join([f"warning: {w}" for w in self.warnings] + self.notes) or None
        return [load_id, loaded_at, self.kind, self.file, self.rows_read, self.rows_loaded, self.rows_quarantined,
                self.duplicates, self.replaced, message, json.dumps(dict(sorted(self.quarantined.items()))),
                self.site_code, self.period_start, self.period_end, loaded_by or None]


def write_log(con, report: FileReport, load_id: int, loaded_at: datetime, loaded_by: str | None = None) -> None:
    con.execute("""INSERT INTO load_log (load_id, loaded_at, kind, file, rows_read, rows_loaded, rows_quarantined,
                   duplicates, replaced, message, reasons, site_code, period_start, period_end, loaded_by)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                report.log_row(load_id, loaded_at, loaded_by))


def next_load_id(con) -> int:
    return scalar(con, "SELECT coalesce(max(load_id), 0) + 1 FROM load_log")


class Progress:
    """Progress lines: a redrawn bar with rows/s on a terminal, plain log lines otherwise."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None, clock: Callable[[], float] = time.perf_counter):
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.start = clock()
        self.rows = 0
        self._open_line = False

    def log(self, message: str) -> None:
        """A line that stays (summaries, notes)."""
        if self._open_line:
            self.stream.write("\n")
            self._open_line = False
        self.stream.write(message + "\n")
        self.stream.flush()

    def step(self, file: str, stage: str, done: int, total: int, rows: int = 0) -> None:
        """Stage `done` of `total` for one file; `rows` more rows finished."""
        self.rows += rows
        elapsed = max(self.clock() - self.start, 1e-9)
        rate = f"{self.rows / elapsed:,.0f} rows/s" if self.rows else ""
        name = Path(file).name
        if self.tty:
            width = 24
            filled = int(width * done / max(total, 1))
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {name}: {stage:<44.44} {rate:>16}")
            self._open_line = True
        else:
            self.stream.write(f"{name}: {stage}" + (f" ({rate})" if rate else "") + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self._open_line:
            self.stream.write("\n")
            self._open_line = False
            self.stream.flush()


class Silent(Progress):
    def __init__(self):
        super().__init__(stream=None, tty=False)

    def log(self, message: str) -> None:
        pass

    def step(self, *args, **kwargs) -> None:
        pass


@dataclass
class LoadOptions:
    """Choices a loader takes from the command line."""
    site: str | None = None                 # istv: site code for CSVs without one
    period_start: date | None = None        # istv: reporting period for CSVs without one
    period_end: date | None = None
    licence_type: str | None = None         # premises: default licence type
    replace: bool = False                   # premises: empty the table first
    code_col: str | None = None             # boroughs
    name_col: str | None = None             # boroughs, streets
    population_col: str | None = None       # boroughs
    crs: str | None = None                  # geographic files without (or with a wrong) CRS
    allow_partial: bool = False             # boroughs, streets: load even if stored points lose their borough/block
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M
    write: bool = True                      # False: validate only
    loaded_by: str = ""                     # who loads ('upload:<username>', 'cli:<OS user>'), kept in load_log
    file_name: str | None = None            # one uploaded file: the name its sender gave it (not the stored copy's)
    source: str | None = None               # incidents: the registered extra source the files belong to


@dataclass
class LoadContext:
    """Everything a loader needs besides its file: the open database and what it already holds."""
    con: object
    geo: object                      # data.ingest.points.Geography
    load_id: int
    workdir: Path
    progress: Progress
    options: LoadOptions
    now: datetime

    @property
    def write(self) -> bool:
        return self.options.write
