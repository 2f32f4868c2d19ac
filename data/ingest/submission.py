"""One ED submission sent through the browser: checked before anything is written, then loaded.

`check_submission` runs the CLI's own validation (`validate_files`) on the file and adds what a
submission from a person must also satisfy: a size limit, a file type the standard accepts, one
site only, a site the sender may submit for (an ED's data lead: their own sites), and the month
the sender says it covers. Every problem row comes back with how to fix it. Nothing is written.

`load_submission` loads a checked file through the same loader as `flask --app app load istv`
(atomic: a new database file swapped in only when the file loaded), refusing what the check
refused. A re-submission of a month replaces records by site and record_id, as the standard says.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from data.errors import InputFileError, IstvError
from data.ingest.extra import cross_checks as extra_checks
from data.ingest.istv import cross_checks
from data.ingest.load import load_files, validate_files
from data.ingest.report import FileReport, LoadOptions, Progress, Silent
from data.ingest.rules import EXPECTED, MALFORMED, field_checks
from data.ingest.schema import EXTRA_INCIDENTS, ISTV_ED, spelling_key

SUFFIXES = (".csv", ".xml", ".csv.gz", ".xml.gz")
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
PROBLEM_COLUMNS = ["line", "column", "value", "rule", "how_to_fix"]


@dataclass(frozen=True)
class SubmissionRules:
    """What a sender may submit. sites None: any site (analysts); month None: the file's own period.

    source: the registered extra source the file belongs to (another agency's incidents), or None for
    an ED submission; site and month rules are an ED submission's."""
    sites: tuple[str, ...] | None = None
    month: date | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    source: str | None = None

    @property
    def kind(self) -> str:
        return "incidents" if self.source else "istv"


@dataclass
class Checked:
    """A checked submission: its report, its problem rows (with how to fix each) and, if refused, why."""
    name: str
    size: int
    report: FileReport | None = None
    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBLEM_COLUMNS))
    refused: str | None = None

    @property
    def loadable(self) -> bool:
        return self.refused is None and self.report is not None and self.report.rows_loaded > 0

    def summary(self) -> dict:
        """What the page and the audit log show: plain values only."""
        r = self.report
        return {"file": self.name, "bytes": self.size, "refused": self.refused, "kind": r and r.kind,
                "site": r and r.site_code, "period_start": r and r.period_start and r.period_start.isoformat(),
                "period_end": r and r.period_end and r.period_end.isoformat(),
                "rows_read": r.rows_read if r else 0, "rows_ok": r.rows_loaded if r else 0,
                "rows_quarantined": r.rows_quarantined if r else 0, "duplicates": r.duplicates if r else 0,
                "reasons": dict(r.quarantined) if r else {}, "warnings": list(r.warnings) if r else [],
                "notes": list(r.notes) if r else []}


def display_name(name: str) -> str:
    """The file name as sent, reduced to a safe base name (no folders, no control characters)."""
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = re.sub(r"[^A-Za-z0-9._ ()-]+", "_", base).strip(" .")
    return base[:120] or "upload.csv"


def _advice() -> dict[tuple[str, str], str]:
    """(field, rule) → how to fix a row that broke it, for every rule of the ED standard and the extra format."""
    out: dict[tuple[str, str], str] = {}
    for fmt, check in ([(ISTV_ED, c) for c in field_checks(ISTV_ED) + cross_checks()]
                       + [(EXTRA_INCIDENTS, c) for c in field_checks(EXTRA_INCIDENTS) + extra_checks()]):
        f = fmt.field(check.field)
        example = f" (for example {f.example})" if f.example else ""
        if check.kind == "missing":
            tip = f"Fill in {f.title}{example}; it is mandatory in every row."
        elif check.kind == "code":
            tip = f"Use a code of the data standard's list for {f.title}{example}; the Data standard page lists them."
        elif check.kind == "type":
            tip = f"Write {f.title} as {EXPECTED[f.type]}."
        elif check.kind == "pattern":
            tip = f"Write {f.title} as the ED's ODS site code, 3 to 12 letters or digits{example}."
        elif check.kind == "length":
            tip = f"Shorten {f.title} to {f.max_length} characters."
        elif "future" in check.rule or "the future" in check.rule:
            tip = f"Check {f.title}: it is later than the day the file was checked (a typing error in the year?)."
        elif "reporting period" in check.rule and "starts" in check.rule:
            tip = "Give the reporting period's first day as its start and its last day as its end."
        elif "period" in check.rule:
            tip = (f"Check {f.title}: it falls after the reporting period. Send the record with the period it belongs "
                   "to, or correct the date.")
        elif "arrival" in check.rule:
            tip = "Check the assault and arrival times: the assault cannot be after the patient arrived at the ED."
        elif check.field == "record_id":
            tip = "Give each record its own record_id; a record_id names one record of the site."
        elif check.field == "incident_id":
            tip = "Give each incident its own incident_id; an incident_id names one incident of the source."
        elif "no date" in check.rule:
            tip = "Give the date and time (for example 2025-03-14 23:05), or at least the month (2025-03)."
        elif "no place" in check.rule:
            tip = "Give latitude and longitude, or a location description (a venue, a street, a landmark)."
        elif "only one of" in check.rule:
            tip = "Give both latitude and longitude, or neither (and a location description)."
        elif check.kind == "range" or "bounding" in check.rule:
            tip = "Check the coordinates: they are outside Greater London (latitude and longitude swapped?)."
        else:
            tip = f"Check {f.title} against the data standard."
        out[(f.name, check.rule)] = tip
    return out


ADVICE = _advice()
MALFORMED_TIP = "Give this line as many fields as the header (a comma inside a text needs the text in double quotes)."


def field_of(label: str | None, fmt=ISTV_ED) -> str | None:
    """The standard's field a quarantine column label names (the file's own header, an alias, or
    'Date + Time' for a date and a time column read together); None when it names none."""
    if not label:
        return None
    key = spelling_key(str(label).split(" + ")[0])
    for f in fmt.fields:
        if key in {spelling_key(n) for n in (f.name, f.title, *f.aliases, *(f.parts or ()))}:
            return f.name
    return None


def how_to_fix(column: str | None, rule: str) -> str:
    """Advice for one quarantined row, from its column label and the rule it broke."""
    if rule == MALFORMED:
        return MALFORMED_TIP
    return (ADVICE.get((field_of(column) or "", rule)) or ADVICE.get((field_of(column, EXTRA_INCIDENTS) or "", rule))
            or next((tip for (c, r), tip in ADVICE.items() if r == rule), "Check this value against the data standard."))


def problems_frame(sample: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows (file, line, column_name, value, rule) as the problem table people read."""
    if sample.empty:
        return pd.DataFrame(columns=PROBLEM_COLUMNS)
    return pd.DataFrame({
        "line": sample["line"].astype("int64"),
        "column": sample["column_name"].astype(object).where(sample["column_name"].notna(), ""),
        "value": sample["value"].astype(object).where(sample["value"].notna(), ""),
        "rule": sample["rule"].astype(object),
        "how_to_fix": [how_to_fix(c, r) for c, r in zip(sample["column_name"], sample["rule"])],
    })


def _named(text: str, path: Path, name: str) -> str:
    """A message about the stored copy, naming the file as the sender called it."""
    return str(text).replace(str(path), name).replace(str(path.parent) + "/", "")


def _month_of(d: date) -> str:
    return f"{d:%B %Y}"


def submission_refusal(report: FileReport, rules: SubmissionRules) -> str | None:
    """Why a checked file may not be loaded by this sender (None: it may)."""
    if rules.source:
        return ("no row of the file can be loaded: every row broke a rule of the data standard (see the problems below)"
                if report.rows_loaded == 0 and report.rows_read > 0 else
                "the file has a header but no rows: nothing to load" if report.rows_read == 0 else None)
    sites = report.sites or ((report.site_code,) if report.site_code else ())
    if len(sites) > 1:
        return (f"the file holds records of {len(sites)} sites ({', '.join(sites[:5])}); send one file per ED site")
    if rules.sites is not None and sites and sites[0] not in rules.sites:
        mine = ", ".join(rules.sites) or "no site"
        return (f"the file is site {sites[0]}'s submission (its site code of treatment); you may submit for "
                f"{mine} only. Check you chose your own ED's file")
    if rules.month is not None and report.period_start and report.period_end:
        first = rules.month.replace(day=1)
        inside = report.period_start >= first and (report.period_end.year, report.period_end.month) == (first.year, first.month)
        if not inside:
            return (f"the file's reporting period is {report.period_start:%d %b %Y} to {report.period_end:%d %b %Y} "
                    f"(its reporting period start and end dates), not {_month_of(first)} as chosen. "
                    "Choose the month the file covers, or send that month's file")
    if report.rows_loaded == 0 and report.rows_read > 0:
        return "no row of the file can be loaded: every row broke a rule of the data standard (see the problems below)"
    if report.rows_read == 0:
        return "the file has a header but no rows: nothing to load"
    return None


def check_submission(path: Path, name: str, rules: SubmissionRules, *, progress: Progress | None = None,
                     now: datetime | None = None, examples: int = 100_000) -> Checked:
    """Check an uploaded ED file (stored at `path`, sent as `name`) without writing anything."""
    path = Path(path)
    size = path.stat().st_size if path.exists() else 0
    checked = Checked(name=name, size=size)
    if size > rules.max_bytes:
        checked.refused = (f"{name}: {size / 1e6:,.1f} MB is larger than the {rules.max_bytes / 1e6:,.0f} MB limit "
                           "(ISTV_UPLOAD_MAX_MB); send the month in parts or ask an analyst to load it")
        return checked
    if not name.lower().endswith(SUFFIXES):
        checked.refused = (f"{name}: not a CSV or XML file (expected a name ending in {', '.join(SUFFIXES)}); "
                           "export the month from the ED system as CSV or ISTV XML")
        return checked
    if size == 0:
        checked.refused = f"{name}: the file is empty"
        return checked
    try:
        reports, sample = validate_files(rules.kind, [path], LoadOptions(source=rules.source),
                                         progress=progress or Silent(), now=now, examples=examples)
    except (IstvError, ValueError, UnicodeError) as exc:
        checked.refused = _named(str(exc), path, name)
        return checked
    report = reports[0]
    report.file = name
    report.warnings = [_named(w, path, name) for w in report.warnings]
    report.notes = [_named(n, path, name) for n in report.notes]
    checked.report = report
    checked.problems = problems_frame(sample)
    why = submission_refusal(report, rules)
    checked.refused = f"{name}: {why}" if why else None
    return checked


def load_submission(path: Path, name: str, rules: SubmissionRules, db_path: Path, loaded_by: str, *,
                    progress: Progress | None = None, now: datetime | None = None,
                    max_distance_m: float | None = None) -> FileReport:
    """Check again, then load the file atomically; raises InputFileError when the check refuses it."""
    path = Path(path)
    checked = check_submission(path, name, rules, now=now, examples=0)
    if checked.refused:
        raise InputFileError(name, checked.refused.removeprefix(f"{name}: "))
    options = LoadOptions(loaded_by=loaded_by, file_name=name, source=rules.source,
                          **({"max_distance_m": max_distance_m} if max_distance_m else {}))
    reports = load_files(rules.kind, [path], db_path, options, progress or Silent(), now=now)
    return reports[0]
