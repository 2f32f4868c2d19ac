"""The submission tracker: for each ED site and month, whether its file came, when and from whom,
how much of it loaded, and whether a missing month is overdue.

A site's month is received when a loaded ED file of that site has a reporting period overlapping
the month (load_log: site_code, period_start, period_end). Records are the site's ED records stored
now for the month of the assault (a re-submission replaces records, so this is what counts today).
A month is due on `due_day` of the next month; a month with no file after that day is overdue,
a file received after it is late. Sites are limited to the viewer's ED-site scope (site_condition).
"""
from __future__ import annotations

import calendar
from datetime import date

import pandas as pd

from data.ingest.schema import LOCATION_TYPES
from data.store.counting import counted
from data.store.queries_trends import FIELDS, _columns, add_months, month_start, site_condition

STATUSES = ("received", "late", "overdue", "due", "open")
STATUS_LABELS = {"received": "Received on time", "late": "Received late", "overdue": "Overdue",
                 "due": "Not yet due", "open": "Month not ended"}
TRACKER_COLUMNS = ["site_code", "name", "month", "files", "first_loaded", "first_by", "last_loaded", "rows_read",
                   "rows_quarantined", "records", "all_complete", "due", "status"]


def due_date(month: date, due_day: int) -> date:
    """The day a month's file is due: `due_day` of the next month (the month's last day if shorter)."""
    nxt = add_months(month_start(month), 1)
    return nxt.replace(day=min(max(1, due_day), calendar.monthrange(nxt.year, nxt.month)[1]))


def status(month: date, first_loaded, today: date, due_day: int) -> str:
    """received | late | overdue | due | open for one site and month (see STATUS_LABELS)."""
    due = due_date(month, due_day)
    if first_loaded is not None and not pd.isna(first_loaded):
        return "received" if pd.Timestamp(first_loaded).date() <= due else "late"
    if today < add_months(month_start(month), 1):
        return "open"
    return "overdue" if today > due else "due"


def received(store, sites: tuple[str, ...], first: date, last: date) -> pd.DataFrame:
    """Per site and month covered by a loaded ED file: files, first and last load, who sent the first, rows."""
    cols = _columns(store, "load_log")
    if not {"site_code", "period_start", "period_end"} <= cols:
        return pd.DataFrame(columns=["site_code", "month", "files", "first_loaded", "first_by", "last_loaded",
                                     "rows_read", "rows_quarantined"])
    by = "l.loaded_by" if "loaded_by" in cols else "NULL::VARCHAR"
    s, sp = site_condition(store, sites, "upper(l.site_code)")
    return store.df(
        f"""SELECT upper(l.site_code) AS site_code, m.range::DATE AS month, count(l.load_id) AS files,
                   min(l.loaded_at) AS first_loaded, arg_min({by}, l.loaded_at) AS first_by,
                   max(l.loaded_at) AS last_loaded, sum(l.rows_read) AS rows_read,
                   sum(l.rows_quarantined) AS rows_quarantined
            FROM load_log l, range(date_trunc('month', l.period_start), date_trunc('month', l.period_end) + INTERVAL 1 MONTH,
                                   INTERVAL 1 MONTH) m
            WHERE l.kind = 'istv' AND l.site_code IS NOT NULL AND l.period_start IS NOT NULL
              AND l.period_end >= l.period_start AND {s} AND m.range >= ? AND m.range <= ?
            GROUP BY ALL ORDER BY site_code, month""",
        sp + [month_start(first), month_start(last)])


def records(store, sites: tuple[str, ...], first: date, last: date) -> pd.DataFrame:
    """Per site and month of the assault: ED records stored now and those with every field of the standard."""
    s, sp = site_condition(store, sites)
    every = " AND ".join(f"({cond})" for *_, cond in FIELDS)
    return store.df(
        f"""SELECT ed_site AS site_code, month, {counted("records")}, {counted("all_complete", every)}
            FROM incidents WHERE source = 'ed' AND month >= ? AND month <= ? AND {s}
            GROUP BY ALL ORDER BY site_code, month""",
        [month_start(first), month_start(last)] + sp)


def months_of(first: date, last: date) -> list[date]:
    out, m = [], month_start(first)
    while m <= month_start(last):
        out.append(m)
        m = add_months(m, 1)
    return out


def tracker(store, sites: pd.DataFrame, first: date, last: date, today: date, due_day: int) -> pd.DataFrame:
    """Every site (site_code, name) x month from first to last, with what was received and its status."""
    codes = tuple(sites["site_code"])
    months = months_of(first, last)
    grid = pd.DataFrame([(c, n, m) for c, n in zip(sites["site_code"], sites["name"]) for m in months],
                        columns=["site_code", "name", "month"])
    if grid.empty:
        return pd.DataFrame(columns=TRACKER_COLUMNS)
    got = received(store, codes, first, last)
    recs = records(store, codes, first, last)
    for frame in (got, recs):
        frame["month"] = pd.to_datetime(frame["month"]).dt.date
    out = grid.merge(got, on=["site_code", "month"], how="left").merge(recs, on=["site_code", "month"], how="left")
    for col in ("files", "rows_read", "rows_quarantined", "records", "all_complete"):
        out[col] = out[col].fillna(0).astype("int64")
    out["first_by"] = out["first_by"].astype(object).where(out["first_by"].notna(), "")
    out["due"] = [due_date(m, due_day) for m in out["month"]]
    out["status"] = [status(m, None if pd.isna(f) else f, today, due_day)
                     for m, f in zip(out["month"], out["first_loaded"])]
    return out[TRACKER_COLUMNS]


# ---- feedback to the ED's receptionists: which free-text locations could not be placed ------------

PROBLEM_KINDS = {  # kind: (what the receptionist reads, SQL over incidents)
    "blank": ("No location written", "coalesce(trim(location_text), '') = ''"),
    "area": ("Only an area (a town or borough), not a street or venue",
             "coalesce(trim(location_text), '') <> '' AND geocode_confidence = 'area'"),
    "unknown": ("Not recognised as a London street, venue or landmark",
                "coalesce(trim(location_text), '') <> '' AND coalesce(geocode_confidence, 'none') = 'none'"),
}
EXAMPLES = 3


def location_feedback(store, site: str, month: date, good_from: date) -> tuple[pd.DataFrame, list[str]]:
    """The site's records of the month whose location could not be placed on a street, by kind, with the
    commonest texts of each; and its commonest texts placed at a venue since `good_from` (good examples).

    Home or private locations are never placed and are not a problem. Returns (kind, problem, records,
    records__key, examples) and the good texts. The texts are the site's own records: callers show them
    only to viewers who see the site's records exactly (its data lead, analysts)."""
    private = [c.code for c in LOCATION_TYPES if c.label.startswith("Home")]
    s, sp = site_condition(store, (site,))
    kinds = "CASE " + " ".join(f"WHEN {cond} THEN '{k}'" for k, (_, cond) in PROBLEM_KINDS.items()) + " END"
    base = (f"source = 'ed' AND {s} AND coalesce(location_type, '') NOT IN ({', '.join('?' * len(private))})")
    rows = store.df(f"""SELECT kind, {counted("records")} FROM (SELECT *, {kinds} AS kind FROM incidents
                        WHERE {base} AND month = ?) WHERE kind IS NOT NULL GROUP BY kind""",
                    sp + private + [month_start(month)])
    texts = store.df(f"""SELECT kind, text FROM (
                             SELECT kind, text, row_number() OVER (PARTITION BY kind ORDER BY count(*) DESC, text) AS n
                             FROM (SELECT {kinds} AS kind, trim(location_text) AS text FROM incidents
                                   WHERE {base} AND month = ?) WHERE kind IN ('area', 'unknown') GROUP BY kind, text)
                         WHERE n <= ? ORDER BY kind, n""", sp + private + [month_start(month), EXAMPLES])
    good = store.df(f"""SELECT trim(location_text) AS text FROM incidents
                        WHERE {base} AND month >= ? AND month <= ? AND geocode_confidence = 'venue'
                          AND coalesce(trim(location_text), '') <> ''
                        GROUP BY ALL ORDER BY count(*) DESC, text LIMIT ?""",
                    sp + private + [month_start(good_from), month_start(month), EXAMPLES])
    order = {k: i for i, k in enumerate(PROBLEM_KINDS)}
    rows["problem"] = rows["kind"].map(lambda k: PROBLEM_KINDS[k][0])
    rows["examples"] = rows["kind"].map(lambda k: list(texts.loc[texts["kind"] == k, "text"]))
    rows = rows.sort_values("kind", key=lambda c: c.map(order)).reset_index(drop=True)
    return rows, list(good["text"])
