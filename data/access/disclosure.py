"""Statistical disclosure control: one rule for tables, hovers, maps and exports (docs/disclosure.md).

Two layers:
- **At the source, for the protected level** (`protect_frame`, applied by the store to every count
  its queries return for a protected viewer): cell-key perturbation. Every record has a fixed key
  (the low byte of its stored record hash, uniform on 0..255); a cell's key is the sum of its
  records' keys mod 256, so the same set of records always gets the same noise (asking again gives
  the same answer) and two cells that differ by one record get unrelated noise (differencing them
  does not cancel it). The noise comes from a fixed table (`NOISE`), -2..+2, and a non-empty cell
  never becomes 0. The method is the ONS cell-key method used for Census 2021 outputs.
  Then every protected count at or above the threshold is rounded to the rounding base (NHS
  Digital's rule for HES and ECDS since 2018 suppresses 1-7 and rounds the rest to 5; ours is
  configurable). Sums the app makes of protected counts are sums of protected values.
- **At display** (`show`, `suppress_parts`, `ratio`): for a viewer without exact counts, a count
  below the threshold shows as "<5", and a figure that would let someone work a suppressed count
  out (a total beside one suppressed part, a ratio of a suppressed count) is suppressed too ("*").
The `record_level` argument of the display functions means "this viewer sees exact counts".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SMALL = "<5"
SECONDARY = "*"   # suppressed because it would reveal a small count
THRESHOLD = 5
KEY_SUFFIX = "__key"  # a query's column "ed__key" holds the sum of the record keys of its count "ed"
KEY_RANGE = 256
# the perturbation table: cell key (0..255) -> noise, as cumulative upper bounds of the key
NOISE = ((13, -2), (64, -1), (192, 0), (243, 1), (256, 2))  # P = 5 %, 20 %, 50 %, 20 %, 5 %


@dataclass(frozen=True)
class Protection:
    """The protected level's parameters (ISTV_DISCLOSURE_THRESHOLD, _ROUNDING, _PERTURB)."""
    threshold: int = THRESHOLD
    rounding: int = 5
    perturb: bool = True


ACTIVE = [Protection()]  # set once at start from the configuration (`configure`)


def configure(protection: Protection) -> None:
    ACTIVE[0] = protection


def noise(cell_keys) -> np.ndarray:
    """The perturbation of cells with these keys (sums of record keys): -2..+2 from `NOISE`."""
    k = np.asarray(cell_keys, dtype=np.int64) % KEY_RANGE
    bounds = np.array([b for b, _ in NOISE])
    values = np.array([v for _, v in NOISE])
    return values[np.searchsorted(bounds, k, side="right")]


def perturb(counts, cell_keys, protection: Protection | None = None) -> np.ndarray:
    """Protected counts: 0 stays 0; anything else becomes count + noise (at least 1, with perturbation on),
    then, at or above the threshold, the nearest multiple of the rounding base. Below the threshold
    the value stays as it is: every display shows it as "<5"."""
    p = protection or ACTIVE[0]
    n = np.asarray(counts, dtype=np.int64)
    out = n.copy()
    if p.perturb:
        out = n + noise(np.nan_to_num(np.asarray(cell_keys, dtype=float)).astype(np.int64))
        out = np.where(n > 0, np.maximum(out, 1), 0)
    if p.rounding > 1:
        up = (p.rounding * np.floor(out / p.rounding + 0.5)).astype(np.int64)
        out = np.where(out >= p.threshold, np.maximum(up, p.threshold), out)
    return out


def protect_frame(df: pd.DataFrame, protected: bool, protection: Protection | None = None) -> pd.DataFrame:
    """A query's result as a viewer may have it: every count with a KEY_SUFFIX column beside it is
    perturbed when `protected`; the key columns are always dropped."""
    keys = [c for c in df.columns if c.endswith(KEY_SUFFIX)]
    if not keys:
        return df
    out = df.drop(columns=keys)
    if protected:
        for k in keys:
            col = k[: -len(KEY_SUFFIX)]
            out[col] = perturb(df[col].fillna(0).to_numpy(), df[k].fillna(0).to_numpy(), protection)
    return out


def is_small(n) -> bool:
    return n is not None and not pd.isna(n) and 0 < n < ACTIVE[0].threshold


def show(n, record_level: bool) -> int | str:
    """One count as a viewer may see it: "<5" below the threshold without exact counts."""
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
