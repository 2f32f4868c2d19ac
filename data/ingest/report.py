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

from data.store.db import scalar
from layers.blocks import DEFAULT_MAX_DISTANCE_M


@dataclass
class FileReport:
    """read = loaded + quarantined + duplicates, for every file."""
    kind: str
    file: str
    rows_read: int = 0
    rows_loaded: int = 0
    duplicates: int = 0
    quarantined: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_quarantined(self) -> int:
        return sum(self.quarantined.values())

    def summary(self) -> str:
        """One paragraph: counts, then quarantine reasons, then notes."""
        name = Path(self.file).name
        lines = [f"{self.kind} {name}: read {self.rows_read:,}, loaded {self.rows_loaded:,}, "
                 f"quarantined {self.rows_quarantined:,}, duplicates skipped {self.duplicates:,}"]
        for rule, n in sorted(self.quarantined.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  quarantined {n:,}: {rule}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def log_row(self, load_id: int, loaded_at: datetime) -> list:
        return [load_id, loaded_at, self.kind, self.file, self.rows_read, self.rows_loaded, self.rows_quarantined,
                self.duplicates, "; ".join(self.notes) or None, json.dumps(dict(sorted(self.quarantined.items())))]


def write_log(con, report: FileReport, load_id: int, loaded_at: datetime) -> None:
    con.execute("""INSERT INTO load_log (load_id, loaded_at, kind, file, rows_read, rows_loaded, rows_quarantined,
                   duplicates, message, reasons) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", report.log_row(load_id, loaded_at))


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
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M
    write: bool = True                      # False: validate only


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
