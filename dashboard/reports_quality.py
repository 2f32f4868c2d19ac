"""Data quality: the numbers the quality page and the printable monthly ED feedback report share,
and the report itself (standalone HTML with inline SVG charts, so it prints without a browser app).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Callable

import numpy as np
import pandas as pd

from dashboard import figures_strategic as fs
from data.access import disclosure
from data.store import queries_trends as qs

FIELDS = qs.FIELDS
REPORT_MONTH_COLUMNS = ("Month", "Records", "All fields complete", "Placed on a street or venue", "Median delay",
                        "Submitted after month end")
LEVEL_LABELS = {"venue": "Venue", "street": "Street", "area": "Area only", "none": "Not placed"}
NO_SUBMISSIONS = "no submissions loaded yet"
BENCHMARK = "All London EDs"
METHOD = (
    "Records are ED assault attendances (ISTV minimum data set, NHS ISB 1594) of the site, counted in the month "
    "of the assault. A field is complete when it holds a value: an empty free-text location, a '99' (unknown) "
    "assault method or location type, or a missing date-time counts as incomplete. 'All fields complete' needs all "
    "five. Geocoding levels: venue (a named venue or landmark, within metres), street (on the named street), "
    "area only (a town centre or borough centre) and not placed (private, absent or unrecognised). 'Placed' means "
    "street or venue: only those records count on street blocks. Delay is the median minutes from the assault to "
    "arrival, over records with both times and arrival not before the assault. Timeliness is the days from the end "
    "of the month to the first load of the site's records for that month. Hot blocks are the street blocks found hot "
    "over the 12 months to the report's month (ED records placed on a street or venue plus police-recorded violence; "
    "Getis-Ord Gi* with an exact negative-binomial test at a 5 % false discovery rate over London's blocks; a month "
    "alone holds too few assaults per block for the test to find much); 'only ED data revealed' lists blocks hot on "
    "ED records alone and not hot on police records alone. Roles without "
    "record-level access see counts from 1 to 4 as '<5', and percentages, medians and days built from fewer "
    "than 5 records, or from which a count of 1 to 4 could be worked out, as '*'.")


def with_percentages(q: pd.DataFrame) -> pd.DataFrame:
    """The quality counts with pct_<field>, pct_all, pct_<level> and pct_placed (0-100; NaN without records)."""
    out = q.copy()
    n = out["records"].where(out["records"] > 0)
    for key, *_ in FIELDS:
        out[f"pct_{key}"] = out[key] / n * 100
    out["pct_all"] = out["all_complete"] / n * 100
    for level in qs.CONFIDENCE_LEVELS:
        out[f"pct_{level}"] = out[f"conf_{level}"] / n * 100
    out["placed"] = out["conf_venue"] + out["conf_street"]
    out["pct_placed"] = out["placed"] / n * 100
    return out


@dataclass(frozen=True)
class QualityView:
    """The data-quality numbers of a set of ED sites over whole months."""
    sites: tuple[str, ...]
    first: date
    last: date
    monthly: pd.DataFrame       # per month of the selection, with percentages and days_after_month_end
    league: pd.DataFrame        # per ED site the viewer may see, with name and median days late
    total: pd.DataFrame         # one row: the selection over the window
    benchmark: pd.DataFrame     # one row: every London ED over the window
    submissions: bool           # any ED load in load_log


def compute(store, sites: tuple[str, ...], first: date, last: date, bench_store=None) -> QualityView:
    """All data-quality numbers for the sites (empty = every site the viewer may see) from first's to last's month;
    the all-London benchmark from bench_store (default: store), which may be protected when store is exact."""
    first, last = qs.month_start(first), qs.month_start(last)
    monthly = with_percentages(qs.quality(store, sites, first, last, "month"))
    timely = qs.timeliness(store, sites, first, last)
    per_month = timely.groupby("month", as_index=False)["days_after_month_end"].median()
    monthly = monthly.merge(per_month, on="month", how="left")
    names = qs.ed_sites(store).rename(columns={"site_code": "ed_site"})
    league = with_percentages(qs.quality(store, (), first, last, "site"))
    league = names.merge(league, on="ed_site", how="left")
    league[["records"]] = league[["records"]].fillna(0).astype("int64")
    per_site = timely.groupby("site", as_index=False)["days_after_month_end"].median().rename(columns={"site": "ed_site"})
    league = league.merge(per_site, on="ed_site", how="left")
    league = league.sort_values(["pct_all", "records", "name"], ascending=[False, False, True],
                                na_position="last", kind="stable").reset_index(drop=True)
    league["rank"] = np.where(league["records"] > 0, np.arange(1, len(league) + 1), 0)
    total = with_percentages(qs.quality(store, sites, first, last, "all"))
    total["days_after_month_end"] = timely["days_after_month_end"].median() if len(timely) else np.nan
    bench = with_percentages(qs.quality(bench_store or store, (), first, last, "all", benchmark=True))
    return QualityView(tuple(sites), first, last, monthly, league, total, bench, qs.has_submissions(store))


# ---- display values ---------------------------------------------------------------------------

def _hide(records, record_level: bool) -> bool:
    return not record_level and disclosure.is_small(records)


def reveals_small(part, records) -> bool:
    """A share part/records would let a reader work out a count of 1-4 (of the part or of the rest)."""
    return disclosure.is_small(records) or disclosure.is_small(part) or disclosure.is_small(records - part)


def pct(value, records, record_level: bool, part=None) -> str:
    """A percentage for display; '*' when it is built from, or reveals, a count of 1-4 the viewer may not see."""
    if _hide(records, record_level) or (not record_level and part is not None and reveals_small(part, records)):
        return disclosure.SECONDARY
    return "–" if value is None or pd.isna(value) else f"{value:.1f} %"


def minutes(value, records, record_level: bool) -> str:
    if _hide(records, record_level):
        return disclosure.SECONDARY
    return "–" if value is None or pd.isna(value) else f"{value:.0f} min"


def days(value, records, record_level: bool, submissions: bool) -> str:
    if not submissions:
        return NO_SUBMISSIONS
    if _hide(records, record_level):
        return disclosure.SECONDARY
    return "not loaded" if value is None or pd.isna(value) else f"{float(value):g} days"


def display(q: pd.DataFrame, record_level: bool, submissions: bool, label: str) -> pd.DataFrame:
    """One text row per row of q (month or site), in the columns people read and CSV exports hold."""
    rows = []
    for _, r in q.iterrows():
        n = r["records"]
        row = {"": r[label], "Records": r["records"]}
        for key, title, *_ in FIELDS:
            row[title] = pct(r.get(f"pct_{key}"), n, record_level, r.get(key))
        row["All fields complete"] = pct(r.get("pct_all"), n, record_level, r.get("all_complete"))
        for level in qs.CONFIDENCE_LEVELS:
            row[f"Geocoded: {LEVEL_LABELS[level]}"] = pct(r.get(f"pct_{level}"), n, record_level, r.get(f"conf_{level}"))
        row["Placed on a street or venue"] = pct(r.get("pct_placed"), n, record_level, r.get("placed"))
        row["Median delay"] = minutes(r.get("median_delay_min"), n, record_level)
        # without any ED load in load_log the cards say so once; a column of the same words says nothing more
        row["Submitted after month end"] = days(r.get("days_after_month_end"), n, record_level, True) if submissions else "–"
        rows.append(row)
    cols = ["", "Records"] + [t for _, t, *_ in FIELDS] + ["All fields complete"] + \
        [f"Geocoded: {LEVEL_LABELS[c]}" for c in qs.CONFIDENCE_LEVELS] + ["Placed on a street or venue", "Median delay",
                                                                        "Submitted after month end"]
    return pd.DataFrame(rows, columns=cols)


# ---- the printable report -----------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="/assets/00-bootstrap-5.3.9.min.css">
<style>
body {{ padding: 1.5rem; max-width: 60rem; margin: auto; }} table {{ font-size: .85rem; }}
h2 {{ font-size: 1.15rem; margin-top: 1.5rem; }} .method {{ font-size: .8rem; color: #444; }}
@media print {{ .no-print {{ display: none; }} body {{ padding: 0; max-width: none; }}
  section {{ break-inside: avoid; }} a {{ color: inherit; text-decoration: none; }} }}
</style></head><body>
<div class="no-print mb-3"><button class="btn btn-sm btn-primary" type="button" id="print-pack">Print</button>
<a class="btn btn-sm btn-outline-secondary" href="/quality{back}">Back to data quality</a></div>
{body}
<script src="/assets/print.js"></script>
</body></html>"""


def table_html(df: pd.DataFrame, table_id: str) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return (f'<table class="table table-sm table-striped" id="{table_id}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _cell(v) -> str:
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


def field_table(total: pd.DataFrame, bench: pd.DataFrame, record_level: bool) -> pd.DataFrame:
    """This site's completeness and geocoding for the month beside all London EDs."""
    t, b = total.iloc[0], bench.iloc[0] if len(bench) else None
    n = t["records"]
    rows = []
    for key, title, level, _ in FIELDS:
        incomplete = int(n - t[key])
        rows.append({"Field": title, "Level": level,
                     "Incomplete records": disclosure.show(incomplete, record_level) if incomplete else 0,
                     "Complete": pct(t[f"pct_{key}"], n, record_level, t[key]),
                     BENCHMARK: "–" if b is None else pct(b[f"pct_{key}"], b["records"], record_level, b[key])})
    rows.append({"Field": "All fields complete", "Level": "", "Incomplete records": "",
                 "Complete": pct(t["pct_all"], n, record_level, t["all_complete"]),
                 BENCHMARK: "–" if b is None else pct(b["pct_all"], b["records"], record_level, b["all_complete"])})
    for level in qs.CONFIDENCE_LEVELS:
        rows.append({"Field": f"Geocoded: {LEVEL_LABELS[level]}", "Level": "", "Incomplete records": "",
                     "Complete": pct(t[f"pct_{level}"], n, record_level, t[f"conf_{level}"]),
                     BENCHMARK: "–" if b is None else pct(b[f"pct_{level}"], b["records"], record_level, b[f"conf_{level}"])})
    return pd.DataFrame(rows)


def since_last_month(view: QualityView, previous: QualityView, record_level: bool) -> pd.DataFrame:
    """This month against the one before: records, every field complete, placed on a street or venue, and what
    changed (percentage points); shares through the same disclosure rule as every other share here."""
    rows = [v.total.iloc[0] if len(v.total) else None for v in (previous, view)]
    counts = [0 if t is None else int(t["records"]) for t in rows]
    months = [f"{previous.first:%B %Y}", f"{view.first:%B %Y}"]
    out = [{"": "Records", **{m: _n(n, record_level) for m, n in zip(months, counts)}, "Change": ""}]
    for label, pct_col, part in (("All fields complete", "pct_all", "all_complete"),
                                 ("Placed on a street or venue", "pct_placed", "placed")):
        texts = [pct(t[pct_col], n, record_level, t[part]) if n else "–" for t, n in zip(rows, counts)]
        # the change only between two shares the viewer may see
        shown = [float(t[pct_col]) if text.endswith("%") else None for t, text in zip(rows, texts)]
        b, v = shown
        change = "–" if b is None or v is None else (
            f"{v - b:+.1f} points: better" if v - b >= 0.05 else f"{v - b:+.1f} points: worse" if v - b <= -0.05 else "the same")
        out.append({"": label, **dict(zip(months, texts)), "Change": change})
    return pd.DataFrame(out)


def locations_html(feedback: pd.DataFrame, good: list[str], records: int, record_level: bool) -> str:
    """The month's locations that could not be placed, by kind with their commonest texts, and good examples."""
    if feedback.empty:
        return '<p id="report-locations">Every location written this month was placed on a street or at a venue.</p>'
    items = []
    for r in feedback.to_dict("records"):
        examples = ", ".join(f"&lsquo;{escape(t)}&rsquo;" for t in r["examples"]) if record_level else ""
        items.append(f'<li><b>{escape(_n(int(r["records"]), record_level))}</b> {escape(r["problem"])}'
                     + (f": {examples}" if examples else "") + "</li>")
    good_text = ("<p>Entries that were placed at the venue, from your own records: "
                 + ", ".join(f"&lsquo;{escape(t)}&rsquo;" for t in good)
                 + ". Name the venue or the street and the nearest junction or landmark; "
                 "&lsquo;home&rsquo; is enough for a private address.</p>") if good and record_level else ""
    return (f'<ul id="report-locations">{"".join(items)}</ul>{good_text}')


def report_html(site: pd.Series, month: date, view: QualityView, trend: QualityView, contribution: dict,
                months_table: pd.DataFrame, blocks_table: pd.DataFrame, record_level: bool, back: str,
                draw: Callable[[dict, int, int], str], previous: QualityView | None = None,
                feedback: tuple[pd.DataFrame, list[str]] | None = None, this_month: dict | None = None) -> str:
    """The monthly feedback report of one ED: its month, its last 12 months, and what its data made possible.

    months_table and blocks_table come already through disclosure control and the audited export;
    draw turns the quality page's own chart into inline SVG (dashboard.static_charts).
    """
    name = f"{site['name']} ({site['site_code']})"
    t = view.total.iloc[0] if len(view.total) else None
    n = 0 if t is None else int(t["records"])
    shown_n = disclosure.show(n, record_level)
    title = f"ISTV data-quality feedback: {name}, {month:%B %Y}"
    parts = [f'<h1 class="h3">{escape(title)}</h1>',
             f'<p class="lead" id="report-records">{shown_n if isinstance(shown_n, str) else f"{shown_n:,}"} assault '
             f'records in {month:%B %Y}.</p>']
    if n:
        delay = minutes(t["median_delay_min"], n, record_level)
        late = days(t["days_after_month_end"], n, record_level, view.submissions)
        parts.append(f'<p id="report-summary">All fields complete: <b>{pct(t["pct_all"], n, record_level, t["all_complete"])}</b> · '
                     f'placed on a street or venue: <b>{pct(t["pct_placed"], n, record_level, t["placed"])}</b> · median delay '
                     f'from assault to arrival: <b>{delay}</b> · submitted: <b>{escape(late)}</b>'
                     f'{"" if late == NO_SUBMISSIONS or late in ("*", "not loaded") else " after the end of the month"}.</p>')
        parts.append('<section><h2>Completeness and geocoding this month</h2>'
                     + table_html(field_table(view.total, view.benchmark, record_level), "report-fields") + "</section>")
    if previous is not None:
        parts.append('<section><h2>Since last month</h2>'
                     + table_html(since_last_month(view, previous, record_level), "report-since") + "</section>")
    if feedback is not None and n:
        parts.append('<section><h2>Locations to write better</h2><p>Only records placed on a street or at a venue count '
                     'on street blocks and hot blocks. These could not be placed:</p>'
                     + locations_html(*feedback, n, record_level) + "</section>")
    if this_month is not None:
        parts.append(
            '<section><h2>What your data contributed this month</h2>'
            f'<p id="report-month-hot">{escape(_n(this_month["in_hot"], record_level))} of your '
            f'{escape(_n(this_month["located"], record_level))} assaults placed on a street block in {month:%B %Y} were at '
            f'one of London\'s {this_month["hot_blocks"]:,} hot blocks of the month: the places a tasking meeting reviews.</p>'
            "</section>")
    chart = draw(fs.quality_trend_chart(trend.monthly, FIELDS, record_level)
                 .update_layout(title={"text": "Data quality over 12 months", "x": 0}, margin={"t": 40}).to_dict(), 900, 380)
    parts.append(f'<section><h2>The last 12 months</h2>{chart}{table_html(months_table[list(REPORT_MONTH_COLUMNS)], "report-months")}</section>')
    located, in_hot = contribution["located"], contribution["in_hot"]
    parts.append(
        '<section><h2>What your data made possible over the last 12 months</h2>'
        f'<p id="report-hot">{escape(_n(in_hot, record_level))} of your {escape(_n(located, record_level))} records placed on a street '
        f'block in the 12 months to {month:%B %Y} fell in one of London\'s {contribution["hot_blocks"]:,} hot blocks of those '
        f'months (ED and police records together). On ED records alone, {contribution["ed_only_blocks"]:,} hot blocks '
        f'were found that police records alone did not show; your records were in {len(blocks_table):,} of them:</p>'
        + (table_html(blocks_table, "report-ed-only") if len(blocks_table) else "<p>None in these 12 months.</p>") + "</section>")
    parts.append(f'<section><h2>Method</h2><p class="method" id="report-method">{escape(METHOD)}</p></section>')
    return _PAGE.format(title=escape(title), back=escape(back), body="\n".join(parts))


def _n(v: int, record_level: bool) -> str:
    s = disclosure.show(v, record_level)
    return s if isinstance(s, str) else f"{s:,}"
