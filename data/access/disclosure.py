"""Statistical disclosure control: one rule for tables, hovers, maps and exports.

For viewers without record-level access, counts from 1 to 4 are shown as "<5", and a figure
that would let someone work a suppressed count out (a total beside one suppressed part, a
ratio of a suppressed count) is suppressed too.
"""
from __future__ import annotations

import pandas as pd

SMALL = "<5"
SECONDARY = "*"   # suppressed because it would reveal a small count
THRESHOLD = 5


def is_small(n) -> bool:
    return n is not None and not pd.isna(n) and 0 < n < THRESHOLD


def show(n, record_level: bool) -> int | str:
    """One count as a viewer may see it."""
    if pd.isna(n):
        return ""
    return int(n) if record_level or not is_small(n) else SMALL


def suppress_parts(df: pd.DataFrame, parts: list[str], record_level: bool, total: str | None = None) -> pd.DataFrame:
    """Counts in `parts` (and an optional `total`) as display values, row by row.

    A small part is "<5"; when exactly one part of a row is small and a total is shown, the
    other parts become "*" so that total minus parts cannot reveal it. A small total is "<5".
    """
    out = df.copy()
    cols = parts + ([total] if total else [])
    for c in cols:
        out[c] = out[c].astype(object)
    if record_level:
        return out
    small = df[parts].apply(lambda s: s.map(is_small))
    n_small = small.sum(axis=1)
    total_small = df[total].map(is_small) if total else pd.Series(True, index=df.index)
    for c in parts:
        out.loc[small[c], c] = SMALL
        # total minus the other parts would give the small one back (unless the total is hidden too)
        out.loc[~small[c] & (n_small == 1) & ~total_small, c] = SECONDARY
    if total:
        out.loc[total_small, total] = SMALL
    return out


def ratio(numerator, denominator, record_level: bool, digits: int = 2) -> str:
    """A ratio of two counts, or "–" when it is undefined or would reveal a small count."""
    if not denominator:
        return "–"
    if not record_level and (is_small(numerator) or is_small(denominator)):
        return SECONDARY
    return f"{numerator / denominator:.{digits}f}"
