"""Read an input file into a DuckDB table of text columns named after the standard's fields.

File-level checks happen here, before any row is looked at: the file opens, is text (UTF-8,
UTF-8 with BOM, UTF-16 with BOM or Windows-1252), has a header, and has every mandatory
column (under its standard name or an accepted variant). Anything else is an InputFileError
naming the file. Rows that do not split into the header's number of fields are kept aside as
`rejects` for the quarantine, not lost.
"""
from __future__ import annotations


import codecs
import csv
import gzip
import io
import zlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from data.errors import InputFileError
from data.ingest.report import shown
from data.ingest.schema import MANDATORY, MISSING_VALUES, REQUIRED, TableFormat, header_key
from data.store.db import process_alive, scalar

CHUNK = 1 << 20


@dataclass
class Columns:
    """How a file's columns map onto a format's fields."""
    sources: dict[str, list[int]]            # field → file column index(es): one, or date + time parts
    header: list[str]                        # the file's header as written
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def label(self, name: str) -> str:
        """The file's own name(s) for a field, for messages."""
        idx = self.sources.get(name)
        return " + ".join(self.header[i] for i in idx) if idx else name


def _part_names(part: str) -> set[str]:
    head, _, tail = part.rpartition("_")  # assault_date → also "date of assault"
    return {header_key(part), header_key(f"{tail} of {head}")}


def field_keys(fmt: TableFormat) -> dict[str, tuple[str, int | None]]:
    """header_key → (field, part index or None) for every accepted spelling of every field."""
    keys: dict[str, tuple[str, int | None]] = {}
    for f in fmt.fields:
        for name in (f.name, f.title, *f.aliases):
            keys.setdefault(header_key(name), (f.name, None))
        for i, part in enumerate(f.parts or ()):
            for k in _part_names(part):
                keys.setdefault(k, (f.name, i))
    return keys


def map_columns(path, fmt: TableFormat, header: list[str], supplied: set[str] = frozenset()) -> Columns:
    """Match a header to a format's fields; raise InputFileError when a mandatory one is missing.

    supplied: fields the loader gets some other way (command-line defaults), not required here.
    """
    keys = field_keys(fmt)
    whole: dict[str, int] = {}
    parts: dict[str, dict[int, int]] = {}
    ignored = []
    for i, name in enumerate(header):
        hit = keys.get(header_key(name))
        if hit is None:
            ignored.append(name)
            continue
        fname, part = hit
        if part is None:
            if fname in whole:
                raise InputFileError(path, f"columns {header[whole[fname]]!r} and {name!r} both give "
                                           f"{fname!r}; keep one of them", row=1)
            whole[fname] = i
        else:
            parts.setdefault(fname, {})[part] = i
    sources: dict[str, list[int]] = {name: [i] for name, i in whole.items()}
    for fname, got in parts.items():
        if fname in sources:
            ignored += [header[i] for i in got.values()]
        elif len(got) == 2:
            sources[fname] = [got[0], got[1]]
        else:
            f = fmt.field(fname)
            have, want = (f.parts[0], f.parts[1]) if 0 in got else (f.parts[1], f.parts[0])
            raise InputFileError(path, f"has {have!r} but no {want!r} column; {f.title!r} needs both "
                                       f"(or one {fname!r} column)", row=1)
    cols = Columns(sources, list(header), ignored)
    missing = [f for f in fmt.fields if f.level == MANDATORY and f.name not in sources and f.name not in supplied]
    if missing:
        expected = ", ".join(f"{f.title!r} ({f.name})" for f in missing)
        found = ", ".join(shown(h) for h in header[:15]) + (" ..." if len(header) > 15 else "")
        raise InputFileError(path, f"missing mandatory column(s) {expected} for a {fmt.title} file; "
                                   f"the header has {found}", row=1)
    if fmt.coordinates and not any(a in sources and b in sources for a, b, _ in fmt.coordinates):
        pairs = " or ".join(f"{a!r} and {b!r}" for a, b, _ in fmt.coordinates)
        raise InputFileError(path, f"no coordinate columns: expected {pairs}", row=1)
    for f in fmt.fields:
        in_pair = any(f.name in pair[:2] for pair in fmt.coordinates)
        if f.level == REQUIRED and f.name not in sources and f.name not in supplied and not in_pair:
            cols.notes.append(f"no {f.name!r} column: left blank")
    return cols


# --- text files ---------------------------------------------------------------------------

GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == GZIP_MAGIC
    except OSError as exc:
        raise InputFileError(path, f"cannot be read ({exc.strerror or exc})") from None


def gunzipped(path: Path, workdir: Path) -> Path:
    """The file itself, or for a gzip-compressed file a decompressed copy in workdir (same name without .gz)."""
    path = Path(path)
    if not path.is_file() or not is_gzip(path):
        return path
    name = path.name[:-3] if path.name.lower().endswith(".gz") and len(path.name) > 3 else path.name + ".unzipped"
    out = Path(workdir) / name
    n = 0
    while out.exists():  # two files of one load with the same name
        n += 1
        out = Path(workdir) / f"{n}-{name}"
    try:
        with gzip.open(path, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
    except (OSError, EOFError, zlib.error) as exc:
        out.unlink(missing_ok=True)
        raise InputFileError(path, f"is gzip-compressed but cannot be decompressed ({exc}): decompress it first "
                                   "(gunzip) and load the result") from None
    return out


def detect_encoding(path: Path) -> str:
    """'utf-8', 'utf-8-sig', 'utf-16' or 'cp1252'; InputFileError for binary files."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
            if head.startswith(codecs.BOM_UTF8):
                encoding = "utf-8-sig"
            elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                return "utf-16"
            else:
                encoding = "utf-8"
            if head.startswith(b"PK\x03\x04"):
                raise InputFileError(path, "is a zip archive or Excel workbook, not a text file: save it as CSV (UTF-8)")
            if b"\x00" in head:
                raise InputFileError(path, "is not a text file (it contains NUL bytes): expected CSV or XML")
            fh.seek(0)
            decoder = codecs.getincrementaldecoder("utf-8")()
            while chunk := fh.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return encoding
    except UnicodeDecodeError:
        return "cp1252"
    except OSError as exc:
        raise InputFileError(path, f"cannot be read ({exc.strerror or exc})") from None


def transcode(path: Path, encoding: str, workdir: Path) -> Path:
    """A UTF-8 copy of a non-UTF-8 text file (DuckDB reads only UTF-8)."""
    out = workdir / (path.name + ".utf8")
    try:
        with open(path, encoding=encoding, errors="strict", newline="") as src, open(out, "w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(CHUNK):
                dst.write(chunk)
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"is neither UTF-8 nor Windows-1252 text (byte {exc.object[exc.start]:#04x} "
                                   f"at offset {exc.start}): save it as CSV UTF-8") from None
    return out


def first_line(path: Path, encoding: str) -> str:
    with open(path, encoding=encoding, newline="") as fh:
        text = fh.read(64 * 1024)
    for i, ch in enumerate(text):
        if ch in "\r\n":
            return text[:i]
    return text


def sniff_delimiter(line: str) -> str:
    """The delimiter of a header line: comma, semicolon or tab, whichever splits it most."""
    counts = {d: 0 for d in ",;\t"}
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    return max(counts, key=lambda d: (counts[d], d == ","))


@dataclass
class TextFile:
    path: Path            # as given, for messages
    readable: Path        # UTF-8 file DuckDB reads (a decompressed or transcoded copy where needed)
    encoding: str
    delimiter: str
    header: list[str]


def open_csv(path: Path, workdir: Path, name: Path | None = None) -> TextFile:
    """Check a CSV file at file level and return how to read it.

    A gzip-compressed file is read through a decompressed copy in workdir. name: the file as the
    user gave it, for messages, when path is already a copy of it.
    """
    path = Path(path)
    shown = Path(name) if name is not None else path
    if not path.is_file():
        raise InputFileError(shown, "no such file" if not path.exists() else "is not a file")
    if path.stat().st_size == 0:
        raise InputFileError(shown, "is empty: expected a CSV file with a header row")
    source = gunzipped(path, workdir)
    if source != path and source.stat().st_size == 0:
        raise InputFileError(shown, "is empty once decompressed: expected a CSV file with a header row")
    try:
        encoding = detect_encoding(source)
        readable = source if encoding in ("utf-8", "utf-8-sig") else transcode(source, encoding, workdir)
    except InputFileError as exc:  # name the file the user gave, not a decompressed copy
        raise InputFileError(shown, exc.problem) from None
    line = first_line(readable, "utf-8-sig")
    if not line.strip():
        raise InputFileError(shown, "has no header row: the first line is blank", row=1)
    if line.lstrip().startswith("<"):
        raise InputFileError(shown, "looks like XML or HTML, not CSV")
    delimiter = sniff_delimiter(line)
    header = [h.strip() for h in next(csv.reader(io.StringIO(line), delimiter=delimiter))]
    return TextFile(shown, readable, encoding, delimiter, header)


_MISSING_SQL = "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in MISSING_VALUES) + "]"


def _clean(expr: str, tokens: bool) -> str:
    # trim only values that need it: trimming every long value costs more than the whole parse.
    # tokens: also turn the missing-value words into NULL (the CSV reader already does, as nullstr)
    trimmed = f"CASE WHEN starts_with({expr}, ' ') OR ends_with({expr}, ' ') THEN nullif(trim({expr}), '') ELSE {expr} END"
    return f"CASE WHEN list_contains({_MISSING_SQL}, {expr}) THEN NULL ELSE {trimmed} END" if tokens else trimmed


def raw_select(fmt: TableFormat, cols: Columns, defaults: dict[str, str], tokens: bool = False) -> str:
    """SELECT list giving each field as cleaned text r_<field> from _scan's c<i> (and d_<field> defaults)."""
    out = []
    for f in fmt.fields:
        idx = cols.sources.get(f.name)
        if not idx:
            expr = "NULL::VARCHAR"
        elif len(idx) == 1:
            expr = _clean(f"c{idx[0]}", tokens)
        else:
            expr = f"nullif(concat_ws(' ', {_clean(f'c{idx[0]}', tokens)}, {_clean(f'c{idx[1]}', tokens)}), '')"
        if f.name in defaults:
            expr = f"coalesce({expr}, d_{f.name})"
        out.append(f"{expr} AS r_{f.name}")
    return ", ".join(out)


@dataclass
class RawTable:
    """The file's rows: table _scan (c0..cN text as read, _line) and view _raw (_line, r_<field>)."""
    rows: int                 # good rows in the table
    rejects: pd.DataFrame     # line, problem (the reader's words), text of rows with the wrong number of fields
    columns: int = 0          # columns of _scan (c0 .. c{columns-1})


def _finish(con, fmt: TableFormat, cols: Columns, defaults: dict[str, str] | None, raw: RawTable,
            tokens: bool = False) -> RawTable:
    defaults = defaults or {}
    for name, value in defaults.items():  # values given on the command line fill what the file leaves blank
        con.execute(f"ALTER TABLE _scan ADD COLUMN d_{name} VARCHAR")
        con.execute(f"UPDATE _scan SET d_{name} = ?", [value])
    con.execute(f"CREATE OR REPLACE TEMP VIEW _raw AS SELECT _file, _line, {raw_select(fmt, cols, defaults, tokens)} FROM _scan")
    return raw


def csv_scan_sql(text: TextFile, i: int = 0) -> tuple[str, list]:
    """SELECT of a CSV file's rows: _file (= i), c0..cN as text, _line; malformed rows go to table _rej<i>."""
    names = [f"c{j}" for j in range(len(text.header))]
    spec = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    sql = (f"""SELECT {i} AS _file, {', '.join(names)}, _ord + 1 AS _line
               FROM read_csv(?, header = true, delim = ?, quote = '"', escape = '"', auto_detect = false,
                             columns = {spec}, nullstr = {_MISSING_SQL}, store_rejects = true,
                             rejects_table = '_rej{i}', rejects_scan = '_rejscan{i}')
               WITH ORDINALITY AS t({', '.join(names)}, _ord)""")
    return sql, [str(text.readable), text.delimiter]


def scan_error(text: TextFile, exc: duckdb.Error) -> InputFileError:
    return InputFileError(text.path, f"cannot be read as CSV: {str(exc).splitlines()[0][:200]}")


def collect_rejects(con, i: int = 0) -> pd.DataFrame:
    """line, problem, text of the rows scan i could not split into the header's fields."""
    # a row short of several fields has one error per missing field: one quarantine entry per line
    rejects = con.execute(f"""SELECT line, first(error_message ORDER BY column_idx) AS error_message,
                                     first(csv_line) AS csv_line FROM _rej{i} GROUP BY line ORDER BY line""").df()
    return pd.DataFrame({"line": rejects["line"].astype("int64"),
                         "problem": rejects["error_message"].astype(str),
                         "text": rejects["csv_line"].astype(str).str.strip("\r\n")})


def line_map(n: int, rejects: pd.DataFrame) -> pd.DataFrame:
    """_old → _new line numbers of n good rows: they sit on the lines rejected rows do not occupy."""
    lines = np.setdiff1d(np.arange(2, n + len(rejects) + 2), rejects["line"].to_numpy())[:n]
    return pd.DataFrame({"_old": np.arange(2, n + 2), "_new": lines})


def read_csv_table(con: duckdb.DuckDBPyConnection, text: TextFile, fmt: TableFormat, cols: Columns,
                   defaults: dict[str, str] | None = None) -> RawTable:
    """Read a CSV file into _scan and _raw; malformed rows become rejects."""
    sql, params = csv_scan_sql(text)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _scan AS {sql}", params)
    except duckdb.Error as exc:
        raise scan_error(text, exc) from None
    rejects = collect_rejects(con)
    n = scalar(con, "SELECT count(*) FROM _scan")
    if len(rejects):
        con.register("_lines", line_map(n, rejects))
        con.execute("CREATE OR REPLACE TEMP TABLE _scan AS SELECT s.* REPLACE (l._new AS _line) "
                    "FROM _scan s JOIN _lines l ON s._line = l._old ORDER BY _line")
        con.unregister("_lines")
    return _finish(con, fmt, cols, defaults, RawTable(n, rejects, len(text.header)))


def frame_table(con, frame: pd.DataFrame, fmt: TableFormat, cols: Columns,
                defaults: dict[str, str] | None = None) -> RawTable:
    """Create _scan and _raw from a DataFrame of text columns (XML records) plus a _line column."""
    n = len(cols.header)
    frame = frame.set_axis([f"c{i}" for i in range(n)] + ["_line"], axis=1)
    con.register("_frame", frame)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _scan AS SELECT 0 AS _file, "
                f"{', '.join(f'c{i}::VARCHAR AS c{i}' for i in range(n))}, _line::BIGINT AS _line FROM _frame ORDER BY _line")
    con.unregister("_frame")
    empty = pd.DataFrame({"line": pd.Series([], dtype="int64"), "problem": [], "text": []})
    return _finish(con, fmt, cols, defaults, RawTable(len(frame), empty, n), tokens=True)


def workdir_for(db_path: Path | None) -> tempfile.TemporaryDirectory:
    """A scratch directory for transcoded copies, beside the database when there is one.

    Directories left by loads that were killed are removed first (their pid is in the name).
    """
    base = Path(db_path).parent if db_path is not None else None
    if base is not None:
        os.makedirs(base, exist_ok=True)
        for old in base.glob(".istv-load-*"):
            pid = old.name.split("-")[2]
            if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
    return tempfile.TemporaryDirectory(prefix=f".istv-load-{os.getpid()}-", dir=base)
