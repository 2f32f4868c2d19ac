"""Every SQL statement of the web app: parameterised queries returning small DataFrames."""
from __future__ import annotations

from datetime import date

import pandas as pd

from data.filters import Filters, incident_where
from data.store import H3_RESOLUTIONS, Store


def boroughs(store: Store) -> pd.DataFrame:
    """code, name, population of every borough, by name."""
    return store.df("SELECT code, name, population FROM boroughs ORDER BY name")


def borough_outlines(store: Store, codes: tuple[str, ...] = ()) -> pd.DataFrame:
    """code, name and WKB outline of the given boroughs (all when empty)."""
    if codes:
        return store.df(f"SELECT code, name, geom_wkb FROM boroughs WHERE code IN ({', '.join('?' * len(codes))}) ORDER BY code", list(codes))
    return store.df("SELECT code, name, geom_wkb FROM boroughs ORDER BY code")


def date_bounds(store: Store) -> tuple[date, date] | None:
    """First and last day covered by incidents, or None for an empty database."""
    row = store.df("SELECT min(month) AS lo, max(last_day(month)) AS hi FROM incidents").iloc[0]
    if pd.isna(row["lo"]):
        return None
    return row["lo"].date(), row["hi"].date()


def hex_counts(store: Store, f: Filters, res: int) -> pd.DataFrame:
    """Per H3 cell at resolution res: ed, police and total counts of located incidents."""
    if res not in H3_RESOLUTIONS:
        raise ValueError(f"H3 resolution {res} is not stored; expected one of {H3_RESOLUTIONS}")
    w = incident_where(f)
    return store.df(
        f"""SELECT h3_r{res} AS cell,
                   count(*) FILTER (WHERE source = 'ed') AS ed,
                   count(*) FILTER (WHERE source = 'police') AS police,
                   count(*) AS total
            FROM incidents WHERE {w.sql} AND h3_r{res} IS NOT NULL
            GROUP BY cell ORDER BY cell""",
        w.params,
    )


def monthly_series(store: Store, f: Filters) -> pd.DataFrame:
    """Per month: ed and police counts (all months in range, zeros included)."""
    w = incident_where(f)
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


def totals(store: Store, f: Filters) -> dict[str, int]:
    """Total ed and police incidents matching the filter."""
    w = incident_where(f)
    row = store.df(
        f"""SELECT count(*) FILTER (WHERE source = 'ed') AS ed,
                   count(*) FILTER (WHERE source = 'police') AS police
            FROM incidents WHERE {w.sql}""", w.params).iloc[0]
    return {"ed": int(row["ed"]), "police": int(row["police"])}
