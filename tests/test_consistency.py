"""One count, one meaning: for random views (boroughs, period, sources) every page gives the same numbers.

Each case is checked against SQL written out here from the two stated rules, and the pages against
each other:
- the period rule (filters.PERIOD_RULE): with police records in a view its period is counted in whole
  calendar months, widened to the months its dates touch; an ED-only view counts its exact days;
- the located rule (filters.LOCATED_RULE): counts at places (hexagons, blocks, premises radii, a
  selected place) include ED records placed on a street or at a venue; area totals include all.
Pages: map (cards, borough table, hexagon and block counts, day x hour, a selected hexagon), trends
(monthly counts over the counted months), tasking (area totals on blocks), premises (table against
the map's premises overlay and a premises profile).
"""
from __future__ import annotations

import random
import re
from datetime import date, timedelta

import numpy as np
import plotly.graph_objects as go
import pytest
from h3.api import basic_int as h3i

from dashboard.pages import map as map_page
from dashboard.reports_ops import gather_profile, gather_tasking, premises_rows
from data.store import queries
from data.store import queries_trends as qs
from data.store.filters import Filters
from dashboard.url_state import to_query

MAP, SERIES, HEAT, SUMMARY, TABLE = range(5)
CASES = 24
FIRST, LAST = date(2023, 2, 1), date(2025, 11, 30)
SOURCES = (("ed",), ("police",), ("ed", "police"))


def _cases(boroughs: list[str]) -> list[Filters]:
    rng = random.Random(15)
    out = []
    for i in range(CASES):
        chosen = tuple(sorted(rng.sample(boroughs, rng.choice([1, 1, 2, 3])))) if i % 6 else ()
        start = FIRST + timedelta(days=rng.randrange((LAST - FIRST).days - 10))
        end = min(LAST, start + timedelta(days=rng.choice([6, 20, 27, 45, 90, 200])))
        out.append(Filters(boroughs=chosen, start=start, end=end, sources=SOURCES[i % 3]))
    return out


def counted(f: Filters) -> tuple[date, date]:
    """The period rule, written out again: whole months while police records are in the view."""
    if "police" not in f.sources:
        return f.start, f.end
    nxt = date(f.end.year + f.end.month // 12, f.end.month % 12 + 1, 1)
    return f.start.replace(day=1), nxt - timedelta(days=1)


def _where(f: Filters, located: bool = False) -> tuple[str, list]:
    lo, hi = counted(f)
    parts = []
    if "ed" in f.sources:
        placed = " AND geocode_confidence IN ('venue', 'street')" if located else ""
        parts.append(f"(source = 'ed' AND occurred_at >= ?::DATE AND occurred_at < ?::DATE + 1{placed})")
    if "police" in f.sources:
        parts.append("(source = 'police' AND category = 'Violence and sexual offences' AND month BETWEEN ?::DATE AND ?::DATE)")
    params = [lo, hi] * len(parts)
    sql = "(" + " OR ".join(parts) + ")"
    if f.boroughs:
        sql += f" AND borough_code IN ({', '.join('?' * len(f.boroughs))})"
        params += list(f.boroughs)
    return sql, params


def truth(store, f: Filters, located: bool = False, extra: str = "") -> dict[str, int]:
    sql, params = _where(f, located)
    row = store.df(f"""SELECT count(*) FILTER (WHERE source = 'ed') AS ed, count(*) FILTER (WHERE source = 'police') AS police
                       FROM incidents WHERE {sql} {extra}""", params).iloc[0]
    return {"ed": int(row["ed"]), "police": int(row["police"])}


def _card(summary, card_id) -> int:
    text = re.search(rf"children='([^']*)', id='{card_id}'", str(summary)).group(1)
    return int(text.replace(",", ""))


def _table_sum(table) -> tuple[int, int]:
    """Sum of the ED and police columns of the map's borough table, read row by row."""
    rows = re.findall(r"Tr\(\[Td\('[^']*'\), Td\(children=([^,]+), className='text-end'\), "
                      r"Td\(children=([^,]+), className='text-end'\)", str(table))
    assert rows, "no borough rows found in the table"
    return (sum(int(e.strip("'").replace(",", "")) for e, _ in rows),
            sum(int(p.strip("'").replace(",", "")) for _, p in rows))


def _heat_sum(fig) -> int:
    data = go.Figure(fig).data
    return int(np.nansum(np.asarray(data[0].z, float))) if data else 0  # no ED record: an empty chart


@pytest.fixture(scope="module")
def cases(tiny_db):
    from data.store.db import Store
    codes = Store(tiny_db).df("SELECT DISTINCT borough_code FROM incidents WHERE borough_code IS NOT NULL")
    return _cases(sorted(codes["borough_code"]))


def test_the_cases_cover_every_kind_of_view(cases):
    assert len(cases) >= 20
    assert {c.sources for c in cases} == set(SOURCES)
    assert any(not c.boroughs for c in cases) and any(len(c.boroughs) > 1 for c in cases)
    assert any(c.start.day != 1 for c in cases if "police" in c.sources)  # periods the rule widens


def test_every_page_agrees_with_the_rules_and_with_each_other(signed_in, store, cases):
    checked = 0
    for f in cases:
        area, placed = truth(store, f), truth(store, f, located=True, extra="AND block_id IS NOT NULL")
        with signed_in("analyst"):  # record-level: exact numbers on screen
            out = map_page.render(to_query(f), None)
        label = f"case {f}"
        # map cards and borough table: every record of the boroughs, counted period
        if "ed" in f.sources:
            assert _card(out[SUMMARY], "summary-ed") == area["ed"], label
        if "police" in f.sources:
            assert _card(out[SUMMARY], "summary-police") == area["police"], label
        assert _table_sum(out[TABLE]) == (area["ed"], area["police"]), label
        # the series and the day x hour chart cover the same counted period
        series = {t.name: t for t in go.Figure(out[SERIES]).data}
        if "ed" in f.sources:
            assert int(np.nansum(series["ED assaults"].y)) == area["ed"], label
            assert _heat_sum(out[HEAT]) == area["ed"], label
        # trends: whole calendar months (its stated rule), the months the period touches; with police in
        # the view those are exactly the counted months, so trends equals the cards
        lo, hi = counted(f)
        last = date(hi.year + hi.month // 12, hi.month % 12 + 1, 1) - timedelta(days=1)
        months = f.with_(start=lo.replace(day=1), end=last)
        trend = qs.monthly_counts(store, months, months.start, months.end)
        want = truth(store, months)
        for k in f.sources:
            assert int(trend[k].sum()) == want[k], label
        if "police" in f.sources:
            assert (int(trend["ed"].sum()) if "ed" in f.sources else 0, int(trend["police"].sum())) == \
                (area["ed"] if "ed" in f.sources else 0, area["police"]), label
        # counts at places: hexagons and blocks (the located rule), equal to each other's area
        hexes = queries.unit_counts(store, f, "h3_r8")
        assert (int(hexes["ed"].sum()), int(hexes["police"].sum())) == tuple(
            truth(store, f, located=True, extra="AND h3_r8 IS NOT NULL").values()), label
        blocks = queries.unit_counts(store, f, "block_id")
        assert (int(blocks["ed"].sum()), int(blocks["police"].sum())) == tuple(placed.values()), label
        # tasking: the blocks of the view's boroughs, the same counted period and located rule
        t = gather_tasking(store, f, "year", 10, "busiest")
        study = queries.block_study_area(store, f)[0]["block_id"]
        on_study = blocks.loc[blocks["unit"].isin(study)]
        assert t.totals == {k: int(on_study[k].sum()) for k in ("ed", "police", "other")}, label
        assert (t.filters.start, t.filters.end) == counted(f), label
        checked += 1
    assert checked == len(cases)


def test_a_selected_place_counts_what_its_hover_says(signed_in, store, cases):
    for f in cases[:8]:
        hexes = queries.unit_counts(store, f, "h3_r8")
        if hexes.empty:
            continue
        ordered = hexes.sort_values(["total", "unit"], ascending=[False, True])
        cell = int(ordered["unit"].iloc[0])  # (a row of mixed columns would pass the uint64 id through a float)
        busiest = ordered.iloc[0]
        place = f.with_(place=("h3_r8", cell))
        with signed_in("analyst"):
            out = map_page.render(to_query(place), None)
        series = {t.name: t for t in go.Figure(out[SERIES]).data}
        total = sum(int(np.nansum(t.y)) for t in series.values())
        assert total == int(busiest["total"]), f"{f} {h3i.int_to_str(cell)}"
        if "ed" in f.sources:
            assert _heat_sum(out[HEAT]) == int(busiest["ed"])


def test_premises_table_profile_and_map_overlay_agree(store, cases):
    for f in cases[::4]:
        table = premises_rows(store, f, 50.0).set_index("premises_id")
        overlay = queries.premises_near(store, f, 50.0).set_index("premises_id")
        common = table.index.intersection(overlay.index)
        assert len(common) == len(table), f
        assert (table.loc[common, "ed"] == overlay.loc[common, "ed"]).all(), f
        assert (table.loc[common, "police"] == overlay.loc[common, "police"]).all(), f
        busy = table.sort_values("total", ascending=False).head(2)
        for pid, row in busy.iterrows():
            p = gather_profile(store, f, pid, 50.0)
            assert (p.ed, p.police) == (int(row["ed"]), int(row["police"])), (f, pid)
