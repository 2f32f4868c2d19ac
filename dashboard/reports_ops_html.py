"""Printable HTML packs: the licensing evidence pack and the police tasking pack.

Plain functions: frames that already went through `audited_export` (so disclosure applied)
in, one standalone HTML document out. Charts are the pages' own Plotly figures drawn as inline
SVG by `draw` (dashboard.static_charts.figure_svg), so the page prints to PDF from the browser
without scripts or network access and shows what the screen shows.
"""
from __future__ import annotations

from datetime import date
from html import escape

from typing import Callable

import numpy as np
import pandas as pd

from dashboard import figures, figures_ops, figures_print
from dashboard.reports_ops import LICENCE_LABELS, LISTS, TASKING_MODES, Profile, Tasking, hot_flag
from data.access.disclosure import SMALL, THRESHOLD
from data.store.filters import LOCATED_RULE, PERIOD_RULE
from data.store.queries_ops import previous_window
from data.ingest.schema import POLICE_VIOLENCE

NUMERIC = ("ed", "police", "total", "previous_total", "change", "ed_per_police")
PRINT_CSS = """
body { padding: 1.5rem; font-size: 0.9rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 1.4rem; }
table { font-size: 0.8rem; } .chart svg { max-width: 100%; height: auto; }
.method li { margin-bottom: 0.2rem; }
@media print {
  .no-print { display: none !important; }
  body { padding: 0; font-size: 10pt; }
  h2 { break-after: avoid; } tr, svg, .keep { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  @page { size: A4; margin: 14mm; }
}
"""


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="stylesheet" href="/assets/00-bootstrap-5.3.9.min.css"><style>{PRINT_CSS}</style></head>'
            f'<body><main class="container-fluid" style="max-width: 60rem">'
            f'<div class="no-print mb-3"><button class="btn btn-primary btn-sm" type="button" id="print-pack">'
            f'Print or save as PDF</button></div>{body}</main><script src="/assets/print.js"></script></body></html>')


def _table(df: pd.DataFrame, headers: dict[str, str], cls: str = "") -> str:
    right = ' class="text-end"'
    head = "".join(f"<th{right if c in NUMERIC else ''}>{escape(h)}</th>" for c, h in headers.items())
    rows = []
    for _, r in df.iterrows():
        cells = []
        for c in headers:
            v = r[c]
            text = "" if v is None or (not isinstance(v, str) and pd.isna(v)) else f"{v:,}" if isinstance(v, (int, np.integer)) else str(v)
            cells.append(f"<td{right if c in NUMERIC else ''}>{escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="table table-sm table-striped {cls}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


Draw = Callable[[dict, int, int], str]  # (figure, width px, height px) -> HTML of the chart
WIDE, NARROW = 900, 440


def _period(f) -> str:
    return f"{f.start:%d %b %Y} to {f.end:%d %b %Y}"


def _disclosure_text(record_level: bool) -> str:
    """The disclosure level this pack was made at (record_level: the viewer sees exact counts)."""
    if record_level:
        return ("Disclosure level: exact. All counts are exact. Do not pass this pack to anyone without an "
                "agreement for exact figures of these boroughs: the protected level perturbs and rounds every count "
                f"and shows counts under {THRESHOLD} as '{SMALL}' (docs/disclosure.md).")
    return ("Disclosure level: protected. Every count was perturbed by a small fixed amount (cell-key method) and "
            f"rounded to 5; counts under {THRESHOLD} are shown as '{SMALL}', and a figure that would reveal one (a share, "
            "a difference, a total beside one small part) as '*'. Charts leave such values undrawn.")


def evidence_pack_html(p: Profile, shown: pd.DataFrame, record_level: bool, generated: date, boroughs: str,
                       draw: Draw) -> str:
    """The evidence pack for a licence review hearing; `shown` is `evidence_frame(p)` after disclosure;
    its charts are the premises profile's figures."""
    prem = p.premises
    f = p.filters
    sec = {name: g.reset_index(drop=True) for name, g in shown.groupby("section", sort=False)}
    summary = sec["summary"].rename(columns={"item": "measure"})
    monthly, methods, named = sec["monthly"], sec["method"], sec["named_monthly"]

    rl = record_level
    line = draw(figures.monthly_series(p.monthly, rl), WIDE, 340)
    bars = draw(figures_ops.bar_counts(list(p.methods["label"]), p.methods["ed"], rl,
                                       title="ED assaults by method").to_dict(), WIDE, 300)
    heat = draw(figures_ops.hour_of_week(p.day_hour, rl, "ED assaults by weekday and hour").to_dict(), WIDE, 320)
    named_bars = draw(figures_ops.bar_counts([f"{m:%b %y}" for m in p.named["month"]], p.named["named"], rl,
                                             colour="#1f4e99", name="ED records naming the venue",
                                             title="ED records naming the venue per month").to_dict(), WIDE, 300)
    mini = draw(figures_print.premises_print_map(prem, p.block, p.radius_m), NARROW, 320)
    flag = hot_flag(p.in_hot, p.next_to_hot) or "not in or next to a hot block"
    details = pd.DataFrame({"k": ["Premises", "Address", "Licence type", "Hours", "Borough", "Premises id",
                                  "Hot block (this period)"],
                            "v": [prem["name"], prem["address"], LICENCE_LABELS.get(prem["licence_type"], prem["licence_type"]),
                                  f"{prem['opens']}-{prem['closes']}", boroughs, prem["premises_id"], flag]})
    body = f"""
<h1>Evidence pack: {escape(str(prem['name']))}</h1>
<p class="text-muted">ISTV London · period {_period(f)} (previous period {_period(previous_window(f))}) ·
radius {p.radius_m:g} m · produced {generated:%d %B %Y}</p>
<div class="row keep"><div class="col-7">{_table(details, {'k': '', 'v': ''})}</div><div class="col-5">{mini}</div></div>
<h2>Summary</h2>{_table(summary, {'measure': 'Measure', 'ed': 'ED assaults', 'police': 'Police violence'}, 'summary')}
<h2>Method statement</h2>
<ul class="method">
<li><b>Radius:</b> incidents whose mapped point lies within {p.radius_m:g} m (straight line) of the premises' point.</li>
<li><b>Sources:</b> ED assault attendances shared by London Emergency Departments under ISTV (the ISB 1594
minimum data set), and police-recorded crime of the category '{escape(POLICE_VIOLENCE)}' from police.uk.</li>
<li><b>Confidence levels used:</b> ED records placed at a named venue or on a named street (geocode confidence
'venue' or 'street'); records placed only at an area centre, or not placed, are left out of distance counts.
'ED records naming the venue' counts the ED records whose free-text location the geocoder matched to this
premises, at any confidence, wherever they were placed.</li>
<li><b>Times:</b> ED records carry the date and time of the assault (the 22:00-06:00 share and the weekday-hour
chart use it). police.uk records carry only the month and a location anonymised to a nearby map point, and
have no time of day.</li>
<li><b>Hot blocks:</b> a street block is hot when the local test marks it (Getis-Ord Gi* with an exact
negative-binomial test, 5 % false discovery rate over the blocks of the premises' borough) in this period; nothing
else is called hot. 'Next to' means the premises' block shares a junction with a hot block.</li>
<li><b>Period:</b> {escape(PERIOD_RULE)}</li>
<li><b>Disclosure:</b> {escape(_disclosure_text(record_level))}</li>
</ul>
<h2>Incidents per month</h2>{line}
{_table(monthly.rename(columns={'item': 'month'}), {'month': 'Month', 'ed': 'ED assaults', 'police': 'Police violence'})}
<h2>Weapons (ED assault method)</h2>{bars}
{_table(methods.rename(columns={'item': 'method'}), {'method': 'Method', 'ed': 'ED assaults'})}
<h2>When: weekday and hour (ED assaults)</h2>{heat}
<h2>ED records naming the venue</h2>{named_bars}
{_table(named.rename(columns={'item': 'month'}), {'month': 'Month', 'ed': 'ED records naming the venue'})}
<p class="small text-muted mt-4">Synthetic data in demo mode. Produced by ISTV London from data held under an
information-sharing agreement; this export was recorded in the audit log.</p>"""
    return _page(f"Evidence pack · {prem['name']}", body)


def tasking_pack_html(t: Tasking, shown: pd.DataFrame, outlines: pd.DataFrame, record_level: bool,
                      generated: date, boroughs: str, totals_shown: dict, draw: Draw, method: str = "") -> str:
    """The tasking pack: the listed blocks of the window on a static map and in a table, dated and
    labelled, the tasking page's weekday-by-hour chart and the method statement."""
    f, cmp = t.filters, t.compare
    what = LISTS[t.listing]
    mini = draw(figures_print.tasking_print_map(t.table, t.lines, outlines, f"{what} of the window, by rank",
                                                "Hot block" if t.listing == "hot" else "Busiest block"), WIDE, 560)
    hours = draw(figures_ops.hour_of_week(t.day_hour, record_level, "ED assaults on these blocks by weekday and hour")
                 .to_dict(), WIDE, 320)
    cmp_label = TASKING_MODES[t.mode].lower()
    headers = {"rank": "#", "street": "Street", "borough": "Borough", "ed": "ED", "police": "Police", "total": "Total",
               "per_100m": "Per 100 m", "hot": "Hot spot", "pattern": "Pattern", "expected": "Expected", "change": "Change",
               "change_class": "Class", "peak_days": "Peak days", "peak_hours": "Peak hours",
               "ed_per_police": "ED per police", "ed_excess": "More ED than police"}
    none = ("<p><b>No block is a significant hot spot in this window.</b> Too few incidents, or none clustered beyond "
            "chance; the busiest blocks are a ranking by count, not a finding.</p>"
            if t.listing == "hot" and t.hot_count == 0 else "")
    body = f"""
<h1>Tasking pack</h1>
<p class="lead mb-1">{escape(boroughs)} · window {_period(f)} against {escape(cmp_label)} ({_period(cmp)})</p>
<p class="text-muted">ISTV London · produced {generated:%d %B %Y} · filters: boroughs {escape(boroughs)};
sources ED and police ('{escape(POLICE_VIOLENCE)}'); ED records placed on a street or better</p>
<p>ED assaults on the area's blocks in the window: <b id="pack-ed">{escape(str(totals_shown['ed']))}</b> ·
police violence: <b id="pack-police">{escape(str(totals_shown['police']))}</b> · significant hot blocks:
<b id="pack-hot">{t.hot_count}</b></p>{none}
<div class="keep">{mini}</div>
<h2>{escape(what)}</h2>{_table(shown, headers, 'hot-blocks')}
<h2>When: weekday and hour (ED assaults on these blocks)</h2>{hours}
<h2>Method statement</h2>
<ul class="method">
<li><b>Units and study area:</b> street blocks (a street between two junctions) of the selected boroughs (all the
viewer may see when none are); neighbours are blocks sharing a junction.</li>
<li><b>Hot blocks:</b> Getis-Ord Gi* on ED + police counts with an exact negative-binomial test of each block's
neighbourhood count, the model fitted to the area's ordinary blocks (robust to the hot spots themselves), 5 % false
discovery rate over every block of the area; the block's own count must be unusual too. Nothing else is called hot.
'Busiest blocks' is a ranking by count, not a test.</li>
<li><b>Change:</b> '{escape(cmp_label)}' gives each block's expected count per window (scaled by days); an exact test of
the two counts over every block of the area (5 % FDR) names a change rising, falling, new or gone only when significant.</li>
<li><b>Period:</b> {escape(PERIOD_RULE)}</li>
<li><b>Located:</b> {escape(LOCATED_RULE)}</li>
<li><b>More ED than police:</b> ED assaults outnumber police-recorded violence at the block significantly more than in
the area (exact binomial test, 5 % FDR). Police data alone under-represents violence there; it does not show the
assaults went unreported, and ED + police is not a count of distinct assaults (the records cannot be matched).</li>
<li><b>This view:</b> {escape(method)}</li>
<li><b>Disclosure:</b> {escape(_disclosure_text(record_level))}</li>
</ul>
<p class="small text-muted mt-4">Synthetic data in demo mode. This export was recorded in the audit log.</p>"""
    return _page("Tasking pack", body)
