"""Row rules of the standard, run as one vectorised SQL pass, and the quarantine they feed.

The view _raw holds every field as cleaned text (`r_<field>`); `typed_table` adds the typed
value (`<field>`), codes normalised through their accepted spellings; `judge` gives each row
the index of the first rule it breaks (`_fail`, NULL for a good row) in the table _judged. Rule texts and column
labels reach SQL only as bound data (a registered frame), never formatted into statements.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pandas as pd

from data.ingest.read import Columns, RawTable
from data.ingest.schema import LONDON_BBOX, MANDATORY, SPELLINGS, TableFormat

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S",
                    "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S")
TIME_FORMATS = ("%H:%M", "%H:%M:%S")
MALFORMED = "malformed CSV row: not the header's number of fields"
EXPECTED = {
    "date": "a date like 2025-01-31 or 31/01/2025",
    "datetime": "a date and time like 2025-01-31 23:40 or 31/01/2025 23:40",
    "yearmonth": "a month like 2025-01",
    "time": "a time like 23:40",
    "number": "a number",
    "integer": "a whole number",
}


def _formats(formats) -> str:
    return "[" + ", ".join(f"'{f}'" for f in formats) + "]"


def typed_expr(kind: str, raw: str) -> str:
    """SQL turning cleaned text into the field's type (NULL when it does not parse)."""
    if kind == "date":
        return f"try_strptime({raw}, {_formats(DATE_FORMATS)})::DATE"
    if kind == "datetime":
        return f"try_strptime({raw}, {_formats(DATETIME_FORMATS)})"
    if kind == "yearmonth":
        return f"try_strptime({raw}, '%Y-%m')::DATE"
    if kind == "time":
        return f"try_strptime({raw}, {_formats(TIME_FORMATS)})::TIME"
    if kind == "number":
        return f"TRY_CAST({raw} AS DOUBLE)"
    if kind == "integer":
        return f"TRY_CAST({raw} AS BIGINT)"
    return raw


@dataclass(frozen=True)
class Check:
    """A row rule: rows where `fails` (SQL over the typed table) is true break it."""
    rule: str
    field: str
    fails: str
    value: str = ""   # SQL for the offending value; default: the field's raw text
    kind: str = "row"  # missing, type, code, pattern, length, range or row (between fields)

    def value_sql(self) -> str:
        return self.value or f"r_{self.field}"


KEY_SQL = "trim(regexp_replace(lower({x}), '[^a-z0-9]+', ' ', 'g'))"  # = schema.spelling_key


def code_tables(con, fmt: TableFormat) -> None:
    """Tables _codes_<field>(raw, code) of exact spellings and _codekeys_<field>(key, code) of spelling keys."""
    for f in fmt.fields:
        if not f.codes:
            continue
        keys = f.spellings()
        exact = {}
        for c in f.codes:
            for text in (c.code, c.label, *SPELLINGS.get(f.name, {}).get(c.code, ())):
                for variant in (text, text.lower(), text.upper(), text.capitalize()):
                    exact.setdefault(variant, c.code)
        for name, mapping, col in ((f"_codes_{f.name}", exact, "raw"), (f"_codekeys_{f.name}", keys, "key")):
            con.register("_frame", pd.DataFrame({col: pd.Series(list(mapping), dtype=object),
                                                 "code": pd.Series(list(mapping.values()), dtype=object)}))
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _frame")
            con.unregister("_frame")


def typed_parts(fmt: TableFormat, strings: bool = True) -> tuple[list[str], list[str]]:
    """SELECT items and joins (over alias r holding r_<field>) giving each field its typed value.

    Codes are looked up by the exact text first; only text that is not an exact spelling pays
    for the normalised key (lower case, punctuation to spaces). strings=False leaves out text
    fields, whose typed value is their raw text (less to store for big files).
    """
    cols, joins = [], []
    for f in fmt.fields:
        if not strings and f.type == "string":
            continue
        if f.codes:
            e, k = f"_ce_{f.name}", f"_ck_{f.name}"
            cols.append(f"coalesce({e}.code, {k}.code) AS {f.name}")
            joins.append(f"LEFT JOIN _codes_{f.name} {e} ON {e}.raw = r.r_{f.name}")
            joins.append(f"LEFT JOIN _codekeys_{f.name} {k} ON {k}.key = "
                         f"CASE WHEN {e}.code IS NULL THEN {KEY_SQL.format(x=f'r.r_{f.name}')} END")
        else:
            cols.append(f"{typed_expr(f.type, f'r.r_{f.name}')} AS {f.name}")
    return cols, joins


def typed_table(con, fmt: TableFormat, out: str = "_typed", extra: tuple[str, ...] = (), source: str = "_raw") -> None:
    """CREATE VIEW `out` over `source`: each field's typed value beside its raw text."""
    code_tables(con, fmt)
    cols, joins = typed_parts(fmt)
    select = ", ".join(["r.*", *cols, *extra])
    con.execute(f"CREATE OR REPLACE TEMP VIEW {out} AS SELECT {select} FROM {source} r {' '.join(joins)}")


def bbox_rule() -> str:
    b = LONDON_BBOX
    return (f"outside Greater London's bounding area (latitude {b['lat_min']} to {b['lat_max']}, "
            f"longitude {b['lon_min']} to {b['lon_max']})")


def field_checks(fmt: TableFormat, skip: set[str] = frozenset(), missing_rules: dict[str, str] | None = None) -> list[Check]:
    """The rules every field of a format implies: presence, type, code list, pattern, length, range."""
    checks = []
    missing_rules = missing_rules or {}
    for f in fmt.fields:
        if f.name in skip:
            continue
        raw = f"r_{f.name}"
        if f.level == MANDATORY:
            checks.append(Check(missing_rules.get(f.name, "missing mandatory value"), f.name, f"{raw} IS NULL", kind="missing"))
        if f.codes:
            listed = ", ".join(c.code for c in f.codes) if len(f.codes) <= 9 else f"the {len(f.codes)} listed codes"
            checks.append(Check(f"unknown code: expected one of {listed} or an accepted spelling", f.name,
                                f"{raw} IS NOT NULL AND {f.name} IS NULL", kind="code"))
        elif f.type in EXPECTED:
            checks.append(Check(f"not {EXPECTED[f.type]}", f.name, f"{raw} IS NOT NULL AND {f.name} IS NULL", kind="type"))
        if f.pattern:
            checks.append(Check(f"not a valid {f.title.lower()} (pattern {f.pattern})", f.name,
                                f"{raw} IS NOT NULL AND NOT regexp_full_match({raw}, '{f.pattern}')", kind="pattern"))
        if f.max_length:
            checks.append(Check(f"longer than {f.max_length} characters", f.name, f"length({raw}) > {f.max_length}", kind="length"))
        if f.minimum is not None and f.name in ("lat", "lon"):
            checks.append(Check(bbox_rule(), f.name, f"{f.name} NOT BETWEEN {f.minimum} AND {f.maximum}", kind="range"))
        elif f.minimum is not None:
            checks.append(Check(f"outside the range {f.minimum:g} to {f.maximum:g}", f.name,
                                f"{f.name} NOT BETWEEN {f.minimum} AND {f.maximum}", kind="range"))
    return checks


def fail_sql(checks: list[Check]) -> str:
    """SQL for the index of the first check a row breaks (NULL: none)."""
    if not checks:
        return "NULL::INTEGER"
    return "(CASE " + " ".join(f"WHEN coalesce({c.fails}, false) THEN {i}" for i, c in enumerate(checks)) + " END)::INTEGER"


def judge(con, checks: list[Check], typed: str = "_typed") -> None:
    """CREATE TABLE _judged: `typed` plus _fail, the index of the first check a row breaks."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _judged AS SELECT *, {fail_sql(checks)} AS _fail FROM {typed}")


def scan_record_sql(cols: Columns, columns: int) -> tuple[str, list]:
    """The quarantined row as the file had it, under the file's own column names (from _scan s)."""
    return "json_object(" + ", ".join(f"?, s.c{i}" for i in range(columns)) + ")::VARCHAR", list(cols.header[:columns])


def field_record_sql(fmt: TableFormat) -> str:
    """The quarantined row as read, under the standard's field names (from _judged j)."""
    return "json_object(" + ", ".join(f"'{f.name}', j.r_{f.name}" for f in fmt.fields) + ")::VARCHAR"


def value_sql(checks: list[Check]) -> str:
    """SQL for the offending value of a row that broke check number _fail."""
    return "CASE _fail " + " ".join(f"WHEN {i} THEN ({c.value_sql()})::VARCHAR" for i, c in enumerate(checks)) + " END"


def quarantine(con, checks: list[Check], cols: Columns, files: pd.DataFrame, rejects: dict[int, pd.DataFrame],
               inline: bool = False) -> dict[int, Counter]:
    """Copy every failing row of _judged (and every malformed line) into `quarantine`.

    files: _file, load_id, file (the name users gave). The stored record is the row from _scan
    under the file's column names, or with inline, _judged's own _value and _record columns
    (big files keep only what good rows need). Returns rows per rule for each _file.
    """
    if inline:
        record_sql, record_params, scan_join, values = "j._record", [], "", "j._value"
    else:
        record_sql, record_params = scan_record_sql(cols, len(cols.header))
        scan_join, values = "JOIN _scan s USING (_file, _line)", value_sql(checks).replace("CASE _fail", "CASE j._fail", 1)
    rules = pd.DataFrame({"_fail": range(len(checks)), "column_name": [cols.label(c.field) for c in checks],
                          "rule": [c.rule for c in checks]})
    con.register("_rules", rules)
    con.register("_files", files)
    counts: dict[int, Counter] = {int(i): Counter() for i in files["_file"]}
    if checks:
        con.execute(f"""INSERT INTO quarantine (load_id, file, line, column_name, value, rule, record)
                        SELECT f.load_id, f.file, j._line, q.column_name, {values}, q.rule, {record_sql}
                        FROM _judged j JOIN _rules q USING (_fail) JOIN _files f USING (_file) {scan_join}
                        ORDER BY j._file, j._line""", record_params)
        for i, rule, n in con.execute("""SELECT j._file, q.rule, count(*) FROM _judged j JOIN _rules q USING (_fail)
                                         GROUP BY ALL""").fetchall():
            counts[int(i)][rule] = n
    for i, bad in rejects.items():
        if len(bad):
            con.register("_rejects", bad)
            con.execute("""INSERT INTO quarantine (load_id, file, line, column_name, value, rule, record)
                           SELECT f.load_id, f.file, r.line, NULL, r.problem, ?, r.text
                           FROM _rejects r, _files f WHERE f._file = ?""", [MALFORMED, i])
            con.unregister("_rejects")
            counts[i][MALFORMED] += len(bad)
    con.unregister("_rules")
    con.unregister("_files")
    return counts


def check_rows(con, fmt: TableFormat, checks: list[Check], cols: Columns, raw: RawTable, load_id: int, file: str,
               extra: tuple[str, ...] = ()) -> Counter:
    """Type, judge and quarantine the rows of one file's _raw; leaves _judged for the loader."""
    typed_table(con, fmt, extra=extra)
    judge(con, checks)
    return quarantine_file(con, checks, cols, raw, load_id, file)


def quarantine_file(con, checks: list[Check], cols: Columns, raw: RawTable, load_id: int, file: str) -> Counter:
    """quarantine() for one file read into _scan."""
    files = pd.DataFrame({"_file": [0], "load_id": [load_id], "file": [file]})
    return quarantine(con, checks, cols, files, {0: raw.rejects})[0]


def identity_sql(identity: list[str], given: str | None = None) -> str:
    """SQL for a row's 64-bit identity: its own identifier (`given`) where it has one, else its content hash."""
    h = content_hash_sql(identity)
    return f"coalesce({given}, {h})" if given else h


def content_hash_sql(parts: list[str]) -> str:
    """SQL for a stable 64-bit hash of a row's identity: MD5 of its normalised values."""
    # the first 16 hex digits of an MD5: stable across versions, unlike DuckDB's hash()
    return "('0x' || left(md5(concat_ws(chr(31), " + ", ".join(f"coalesce(({p})::VARCHAR, '')" for p in parts) + ")), 16))::UBIGINT"


def good_rows_sql(identity: list[str] | None, columns: list[str], source: str = "_judged", given: str | None = None,
                  unique: str | None = None) -> str:
    """SELECT of the good rows of `source` (one or more files) with record_hash.

    Two identical rows in a file are two events (e.g. two anti-social behaviour reports at one
    point in one month); the n-th copy hashes with n, so reloading the file or an overlapping
    one matches each copy to itself and adds nothing. A record in several files of one load
    is kept from the first. Only repeated rows pay for the numbering.
    given: SQL for a row's own 64-bit identity where it has one (NULL: hash the content).
    identity None: `source` already has the hash as _h (see identity_sql).
    unique: SQL, true for rows that carry their own identifier (a police.uk Crime ID, an ED
    record_id): a repeat of such a row in a file is the same record, kept once (the first).
    """
    keep = ", ".join(dict.fromkeys(["_file", "_line", *columns]))
    h = "_h" if identity is None else identity_sql(identity, given)
    u = f", ({unique}) AS _u" if unique else ""
    once = "WHERE _occ = 0 OR NOT coalesce(_u, false)" if unique else ""
    return f"""WITH h AS (SELECT {keep}, {h} AS _h{u} FROM {source} WHERE _fail IS NULL),
                    d AS (SELECT _file, _h FROM h GROUP BY _file, _h HAVING count(*) > 1),
                    n AS (SELECT {keep}, _h AS record_hash FROM h ANTI JOIN d USING (_file, _h)
                          UNION ALL
                          SELECT {keep}, CASE WHEN _occ = 0 THEN _h
                                 ELSE ('0x' || left(md5(_h::VARCHAR || ':' || _occ::VARCHAR), 16))::UBIGINT END
                          FROM (SELECT *, row_number() OVER (PARTITION BY _file, _h ORDER BY _line) - 1 AS _occ
                                FROM h SEMI JOIN d USING (_file, _h)) {once}),
                    x AS (SELECT record_hash, min(_file) AS _first FROM n GROUP BY record_hash HAVING count(*) > 1)
               SELECT n.* FROM n LEFT JOIN x USING (record_hash) WHERE x._first IS NULL OR n._file = x._first"""
