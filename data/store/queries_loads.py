"""What each load read, kept and refused: the load log and the quarantine, for the analysts who load files.

Quarantined rows are whole input rows that broke a rule before any borough was known, so they
are record-level and unscoped: only roles that load data (analysts, admins) read them.
"""
from __future__ import annotations

import pandas as pd

from data.store.queries import raw_of

LOG_COLUMNS = ("load_id", "loaded_at", "kind", "file", "rows_read", "rows_loaded", "rows_quarantined", "duplicates")


def _columns(store, table: str) -> set[str]:
    return set(raw_of(store).df(f"SELECT * FROM {table} LIMIT 0").columns)  # table: a constant of this module


def load_log(store) -> pd.DataFrame:
    """One row per loaded file, newest first, with the quarantined rows it left (every column the store has)."""
    have = _columns(store, "load_log")
    extra = [c for c in ("replaced", "site_code", "period_start", "period_end") if c in have]
    cols = ", ".join(list(LOG_COLUMNS) + extra)
    return raw_of(store).df(f"SELECT {cols}, message FROM load_log ORDER BY load_id DESC, file")


def quarantine_reasons(store, load_id: int | None = None) -> pd.DataFrame:
    """rule, rows: how many quarantined rows each rule accounts for (of one load, or all)."""
    where, params = ("WHERE load_id = ?", [int(load_id)]) if load_id is not None else ("", [])
    return raw_of(store).df(f"SELECT rule, count(*) AS rows FROM quarantine {where} GROUP BY rule ORDER BY rows DESC, rule",
                            params)


def quarantine_rows(store, load_id: int | None = None, rule: str | None = None, file: str | None = None,
                    limit: int = 5000) -> pd.DataFrame:
    """The quarantined rows (file, line, column, value, rule, the whole input row), by file and line."""
    conds, params = [], []
    if load_id is not None:
        conds.append("q.load_id = ?")
        params.append(int(load_id))
    if file:
        conds.append("q.file = ?")
        params.append(str(file))
    if rule:
        conds.append("q.rule = ?")
        params.append(str(rule))
    where = ("WHERE " + " AND ".join(conds)) if conds else ""
    return raw_of(store).df(
        f"""SELECT q.load_id, l.kind, q.file, q.line, q.column_name, q.value, q.rule, q.record
            FROM quarantine q LEFT JOIN (SELECT DISTINCT load_id, kind FROM load_log) l USING (load_id)
            {where} ORDER BY q.load_id DESC, q.file, q.line LIMIT ?""", params + [int(limit)])
