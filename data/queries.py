"""Every SQL statement of the web app: parameterised queries returning small DataFrames."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from data.filters import Filters, borough_condition, incident_where
from data.roles import UNRESTRICTED, Scope
from data.store import H3_RESOLUTIONS, Store


@dataclass(frozen=True)
class ScopedStore:
    """The store as one viewer may read it: every query here applies `scope`."""
    store: Store
    scope: Scope

    def df(self, sql: str, params=()) -> pd.DataFrame:
        return self.store.df(sql, params)


def _scope(store) -> Scope:
    return store.scope if isinstance(store, ScopedStore) else UNRESTRICTED


def _where(store, f: Filters):
    return incident_where(f, _scope(store))


def boroughs(store) -> pd.DataFrame:
    """code, name, population of every borough the viewer may see, by name."""
    b = borough_condition(Filters(), _scope(store), "code")
    return store.df(f"SELECT code, name, population FROM boroughs WHERE {b.sql} ORDER BY name", b.params)


def borough_outlines(store, codes: tuple[str, ...] = ()) -> pd.DataFrame:
    """code, name and WKB outline of the given boroughs (all the viewer may see when empty)."""
    b = borough_condition(Filters(boroughs=tuple(codes)), _scope(store), "code")
    return store.df(f"SELECT code, name, geom_wkb FROM boroughs WHERE {b.sql} ORDER BY code", b.params)


def date_bounds(store) -> tuple[date, date] | None:
    """First and last day covered by incidents, or None for an empty database."""
    row = store.df("SELECT min(month) AS lo, max(last_day(month)) AS hi FROM incidents").iloc[0]
    if pd.isna(row["lo"]):
        return None
    return row["lo"].date(), row["hi"].date()


def hex_counts(store, f: Filters, res: int) -> pd.DataFrame:
    """Per H3 cell at resolution res: ed, police and total counts of located incidents."""
    if res not in H3_RESOLUTIONS:
        raise ValueError(f"H3 resolution {res} is not stored; expected one of {H3_RESOLUTIONS}")
    w = _where(store, f)
    return store.df(
        f"""SELECT h3_r{res} AS cell,
                   count(*) FILTER (WHERE source = 'ed') AS ed,
                   count(*) FILTER (WHERE source = 'police') AS police,
                   count(*) AS total
            FROM incidents WHERE {w.sql} AND h3_r{res} IS NOT NULL
            GROUP BY cell ORDER BY cell""",
        w.params,
    )


def monthly_series(store, f: Filters) -> pd.DataFrame:
    """Per month: ed and police counts (all months in range, zeros included)."""
    w = _where(store, f)
    return store.df(
        f"""WITH c AS (
                SELECT month, count(*) FILTER (WHERE source = 'ed') AS ed,
                       count(*) FILTER (WHERE source = 'police') AS police
                FROM incidents WHERE {w.sql} GROUP BY month),
            m AS (SELECT range::DATE AS month FROM range(
                    (SELECT min(month) FROM c), (SELECT max(month) FROM c) + INTERVAL 1 MONTH, INTERVAL 1 MONTH))
            SELECT m.month, coalesce(c.ed, 0) AS ed, coalesce(c.police, 0) AS police
            FROM m LEFT JOIN c USING (month) ORDER BY m.month""",
        w.params,
    )


def totals(store, f: Filters) -> dict[str, int]:
    """Total ed and police incidents matching the filter."""
    w = _where(store, f)
    row = store.df(
        f"""SELECT count(*) FILTER (WHERE source = 'ed') AS ed,
                   count(*) FILTER (WHERE source = 'police') AS police
            FROM incidents WHERE {w.sql}""", w.params).iloc[0]
    return {"ed": int(row["ed"]), "police": int(row["police"])}


def borough_table(store, f: Filters) -> pd.DataFrame:
    """Per borough in the selection: name, population, ed and police counts (zeros included)."""
    w = _where(store, f)
    b = borough_condition(f, _scope(store), "b.code")
    return store.df(
        f"""WITH c AS (
                SELECT borough_code, count(*) FILTER (WHERE source = 'ed') AS ed,
                       count(*) FILTER (WHERE source = 'police') AS police
                FROM incidents WHERE {w.sql} GROUP BY borough_code)
            SELECT b.code, b.name, b.population, coalesce(c.ed, 0) AS ed, coalesce(c.police, 0) AS police
            FROM boroughs b LEFT JOIN c ON c.borough_code = b.code
            WHERE {b.sql} ORDER BY b.name""",
        w.params + b.params,
    )


def incident_records(store, f: Filters, limit: int) -> pd.DataFrame:
    """Record-level rows for the selection (at most `limit`), oldest first."""
    w = _where(store, f)
    return store.df(
        f"""SELECT incident_id, source, occurred_at, time_precision, arrived_at, borough_code, lat, lon,
                   block_id, category, location_type, location_text, ed_site, geocode_confidence
            FROM incidents WHERE {w.sql} ORDER BY occurred_at, incident_id LIMIT ?""",
        w.params + [int(limit)],
    )
