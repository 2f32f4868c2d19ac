"""ED submissions in the ISTV XML schema's structure, read safely.

The structure: one SubmissionHeader group (reporting period start and end dates, site code
of treatment) and one Assault group per attendance, each holding the data elements as child
elements named after them (e.g. AssaultDateAndTime, AssaultLocationDescription). Element names
are matched like CSV headers (case, spaces, underscores and namespaces ignored; the same
variants accepted). Parsing goes through defusedxml: no DTDs, no entity expansion, no
external entities, so a hostile file cannot read local files or exhaust memory.
"""
from __future__ import annotations

import xml.sax
from pathlib import Path

import pandas as pd

from data.errors import InputFileError
from data.ingest.read import Columns, RawTable, frame_table, map_columns
from data.ingest.schema import TableFormat, header_key

RECORD_ELEMENTS = {"assault", "assaultrecord", "assaultdetails", "attendance", "record"}


def is_xml(path: Path) -> bool:
    """True when the file's first non-blank character (after any BOM) is '<'."""
    if not Path(path).is_file():
        raise InputFileError(path, "no such file" if not Path(path).exists() else "is not a file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        raise InputFileError(path, f"cannot be read ({exc.strerror or exc})") from None
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if head.startswith(bom):
            head = head[len(bom):].replace(b"\x00", b"")
    return head.lstrip().startswith(b"<")


class _Handler(xml.sax.ContentHandler):
    def __init__(self):
        super().__init__()
        self.header: dict[str, str] = {}
        self.records: list[dict[str, str]] = []
        self.names: dict[str, None] = {}      # element names in first-seen order
        self._record: dict[str, str] | None = None
        self._text: list[str] = []
        self._leaf = False
        self._locator = None

    def setDocumentLocator(self, locator):
        self._locator = locator

    def startElement(self, name, attrs):
        local = name.rsplit(":", 1)[-1]
        self._text, self._leaf = [], True
        if header_key(local) in RECORD_ELEMENTS and self._record is None:
            self._record = {"_line": self._locator.getLineNumber() if self._locator else len(self.records) + 1}
            self._leaf = False

    def characters(self, content):
        self._text.append(content)

    def endElement(self, name):
        local = name.rsplit(":", 1)[-1]
        if self._record is not None and header_key(local) in RECORD_ELEMENTS:
            self.records.append(self._record)
            self._record = None
        elif self._leaf:
            value = "".join(self._text).strip()
            (self._record if self._record is not None else self.header)[local] = value
            self.names.setdefault(local, None)
        self._leaf = False
        self._text = []


def parse(path: Path, name: Path | None = None) -> _Handler:
    """Parse safely, turning every parser complaint into a one-line InputFileError (naming `name`, else path)."""
    import defusedxml.sax
    from defusedxml import DefusedXmlException

    shown = name if name is not None else path
    handler = _Handler()
    try:
        defusedxml.sax.parse(str(path), handler, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise InputFileError(shown, "declares a DTD or entities, which are refused for safety: "
                                    "remove the <!DOCTYPE ...> part") from None
    except xml.sax.SAXParseException as exc:
        raise InputFileError(shown, f"is not well-formed XML: {exc.getMessage()}", row=exc.getLineNumber()) from None
    except OSError as exc:
        raise InputFileError(shown, f"cannot be read ({exc.strerror or exc})") from None
    return handler


def read_istv_xml(con, path: Path, fmt: TableFormat, supplied: set[str] = frozenset(),
                  defaults: dict[str, str] | None = None, name: Path | None = None) -> tuple[Columns, RawTable]:
    """Create _scan and _raw like a CSV read would, one row per Assault element (_line: its line).

    name: the file as the user gave it, for messages, when path is a decompressed copy of it.
    """
    shown = name if name is not None else path
    h = parse(path, shown)
    if not h.records:
        raise InputFileError(shown, "is XML but holds no Assault elements: expected an ISTV submission "
                                    "(SubmissionHeader, then one Assault per attendance)")
    names = list(h.names)
    cols = map_columns(shown, fmt, names, supplied)
    frame = pd.DataFrame({str(i): pd.Series([r.get(n, h.header.get(n)) for r in h.records], dtype=object)
                          for i, n in enumerate(names)})
    lines = [r["_line"] for r in h.records]
    if len(set(lines)) < len(lines):  # several records on one line (minified XML): number the records
        lines = list(range(1, len(lines) + 1))
        cols.notes.append("several Assault elements share a line: quarantine 'line' numbers count Assault elements")
    frame["_line"] = lines
    return cols, frame_table(con, frame, fmt, cols, defaults)
