"""What the loaded data covers: which months each source has, which ED sent which months, where
streets and premises are loaded. Missing data is a gap, not a zero: pages read this to say so.

Coverage is a fact about the loads, not about anyone's incidents: it is read unscoped, and only
yes/no facts (months, boroughs, site codes) leave this module, never counts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from data.store.cache import per_version
from data.store.queries import raw_of


@dataclass(frozen=True)
class Coverage:
    police_months: frozenset[date]            # months with any police.uk record loaded
    ed_months: frozenset[date]                # months with any ED record loaded
    ed_site_months: dict[str, frozenset[date]]  # per ED site, the months it sent records for
    police_boroughs: frozenset[str]           # boroughs with any police record
    ed_boroughs: frozenset[str]               # boroughs with any ED record placed in them
    street_boroughs: frozenset[str]           # boroughs with street blocks loaded
    premises_boroughs: frozenset[str]         # boroughs with licensed premises loaded

    def months(self, source: str) -> frozenset[date]:
        return self.ed_months if source == "ed" else self.police_months

    def both_months(self) -> frozenset[date]:
        return self.ed_months & self.police_months


def _months(series) -> frozenset[date]:
    return frozenset(pd.Timestamp(m).date().replace(day=1) for m in series)


@per_version(4)
def _coverage(store) -> Coverage:
    inc = store.df("""SELECT source, month, borough_code, ed_site FROM incidents
                      GROUP BY source, month, borough_code, ed_site""")
    police, ed = inc[inc["source"] == "police"], inc[inc["source"] == "ed"]
    sites = {str(s): _months(g["month"]) for s, g in ed.groupby("ed_site") if s is not None}
    blocks = store.df("SELECT DISTINCT borough_code FROM blocks WHERE borough_code IS NOT NULL")["borough_code"]
    premises = store.df("SELECT DISTINCT borough_code FROM premises WHERE borough_code IS NOT NULL")["borough_code"]
    return Coverage(
        police_months=_months(police["month"]), ed_months=_months(ed["month"]), ed_site_months=sites,
        police_boroughs=frozenset(police["borough_code"].dropna()), ed_boroughs=frozenset(ed["borough_code"].dropna()),
        street_boroughs=frozenset(blocks), premises_boroughs=frozenset(premises))


def coverage(store) -> Coverage:
    """What the loaded data covers (one computation per data version, shared by every viewer)."""
    return _coverage(raw_of(store))


def mask_uncovered(monthly: pd.DataFrame, cov: Coverage, columns=("ed", "police")) -> pd.DataFrame:
    """A month,ed,police frame with the months a source has no data for set to missing (NaN), not 0."""
    out = monthly.copy()
    months = pd.to_datetime(out["month"]).dt.date.map(lambda d: d.replace(day=1))
    for col in columns:
        if col in out:
            covered = months.isin(cov.months(col))
            out[col] = out[col].astype("float64").where(covered)
    return out
