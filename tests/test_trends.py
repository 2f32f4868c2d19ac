"""Trends: pure steps on hand-built months, the page callback and exports against SQL on the demo fixture."""
from __future__ import annotations

import io
from datetime import date

import numpy as np
import plotly.graph_objects as go
import pandas as pd
import pytest

from dashboard import figures_strategic as fs
from dashboard.pages import trends as page
from data.store import queries_trends as qs
from data.store.filters import Filters

HACKNEY, WESTMINSTER = "E09000012", "E09000033"


def _months(first: date, values_ed, values_police) -> pd.DataFrame:
    months = [qs.add_months(first, i) for i in range(len(values_ed))]
    return pd.DataFrame({"month": pd.to_datetime(months), "ed": values_ed, "police": values_police})


def test_month_arithmetic():
    assert qs.add_months(date(2025, 11, 17), 2) == date(2026, 1, 1)
    assert qs.add_months(date(2025, 1, 31), -13) == date(2023, 12, 1)
    assert qs.month_end(date(2024, 2, 10)) == date(2024, 2, 29)
    assert qs.months_between(date(2023, 1, 1), date(2025, 12, 31)) == 36
    f = qs.whole_months(Filters(start=date(2024, 3, 15), end=date(2024, 5, 2)))
    assert (f.start, f.end) == (date(2024, 3, 1), date(2024, 5, 31))


def test_rolling_sums_rates_and_ratio_by_hand():
    counts = _months(date(2023, 1, 1), list(range(1, 15)), [10] * 14)  # ED 1..14, police 10 a month
    t = qs.trend_frame(counts, date(2023, 1, 1), date(2023, 11, 1), pop=2000)
    assert t["month"].iloc[0] == pd.Timestamp("2023-11-01") and len(t) == 4
    assert np.isnan(t["ed_12m"].iloc[0])                       # Nov 2023 has only 11 months behind it
    assert t["ed_12m"].iloc[1:].tolist() == [78, 90, 102]      # 1+..+12, 2+..+13, 3+..+14
    assert t["police_12m"].iloc[1] == 120
    assert t["ed_12m_rate"].iloc[1] == pytest.approx(78 / 2000 * 1000)
    assert t["ratio"].iloc[0] == pytest.approx(1.1) and t["ratio_12m"].iloc[3] == pytest.approx(102 / 120)
    # data that starts later than the counts: rolling sums reaching before it are unknown
    late = qs.trend_frame(counts, date(2023, 3, 1), date(2023, 11, 1), pop=2000)
    assert late["ed_12m"].isna().sum() == 3 and late["ed_12m"].iloc[3] == 102


def test_year_on_year_by_hand():
    counts = _months(date(2023, 1, 1), [1] * 12 + [2] * 12, [5] * 24)
    y = qs.year_on_year(counts, date(2023, 1, 1), date(2024, 12, 31))
    assert y["ed"]["current"] == 24 and y["ed"]["previous"] == 12 and y["ed"]["change_pct"] == pytest.approx(100.0)
    assert y["police"]["change_pct"] == pytest.approx(0.0)
    short = qs.year_on_year(counts, date(2023, 2, 1), date(2024, 12, 31))
    assert short["ed"]["previous"] is None and short["ed"]["change_pct"] is None


def test_seasonality_by_hand():
    counts = _months(date(2023, 1, 1), [i % 12 + 1 for i in range(14)], [0] * 14)  # Jan=1 ... Dec=12, Jan=1, Feb=2
    t = qs.trend_frame(counts, date(2023, 1, 1), date(2023, 1, 1), pop=1)
    s = qs.seasonality(t).set_index("month_of_year")
    assert s.loc[1, "months"] == 2 and s.loc[1, "ed"] == 2 and s.loc[1, "ed_mean"] == 1.0
    assert s.loc[12, "months"] == 1 and s.loc[12, "ed_mean"] == 12.0


def test_ranking_needs_a_known_measure(store):
    with pytest.raises(ValueError, match="rank by 'harm'"):
        qs.borough_ranking(store, Filters(), 12, "harm")


def _sql(store, sql, params=()):
    return store.df(sql, params)


def _ed_police_months(store, borough, first, last):
    return _sql(store, """
        SELECT m.month, coalesce(e.n, 0) AS ed, coalesce(p.n, 0) AS police
        FROM (SELECT range::DATE AS month FROM range(?::DATE, ?::DATE + INTERVAL 1 MONTH, INTERVAL 1 MONTH)) m
        LEFT JOIN (SELECT date_trunc('month', occurred_at)::DATE AS month, count(*) AS n FROM incidents
                   WHERE source='ed' AND borough_code=? GROUP BY 1) e USING (month)
        LEFT JOIN (SELECT month, count(*) AS n FROM incidents WHERE source='police' AND borough_code=?
                   AND category='Violence and sexual offences' GROUP BY 1) p USING (month)
        ORDER BY m.month""", [first, last, borough, borough])


def test_callback_numbers_equal_sql(signed_in, store):
    with signed_in("analyst"):
        cards, monthly, rolling, ratio, season, ranking, href, href_b, search = page.update_view(
            [WESTMINSTER], "2024-01", "2025-12", "count", "police")
    want = _ed_police_months(store, WESTMINSTER, "2023-01-01", "2025-12-01")
    window = want[want["month"] >= pd.Timestamp("2024-01-01")]
    series = {t.name: t for t in go.Figure(monthly).data}
    assert np.asarray(series["ED assaults"].y, float).tolist() == window["ed"].astype(float).tolist()
    assert np.asarray(series["Police violence"].y, float).tolist() == window["police"].astype(float).tolist()
    roll = {t.name: np.asarray(t.y, float) for t in rolling.data}
    assert roll["ED assaults"][0] == want["ed"].iloc[1:13].sum()       # Feb 2023 .. Jan 2024
    assert roll["Police violence"][-1] == want["police"].iloc[-12:].sum()
    ed25, ed24 = want["ed"].iloc[-12:].sum(), want["ed"].iloc[-24:-12].sum()
    police25 = want["police"].iloc[-12:].sum()
    assert f"'{ed25:,}'" in str(cards) and f"{(ed25 - ed24) / ed24 * 100:+.1f} %" in str(cards)
    pop = int(_sql(store, "SELECT population FROM boroughs WHERE code=?", [WESTMINSTER]).iloc[0, 0])
    assert f"{police25 * 1000 / pop:.2f} per 1,000 residents" in str(cards)
    assert f"'{ed25 / police25:.2f}'" in str(cards)
    assert np.asarray(ratio.data[1].y, float)[-1] == pytest.approx(ed25 / police25)
    jan = window[window["month"].dt.month == 1]
    assert np.asarray(season.data[0].y, float)[0] == pytest.approx(jan["ed"].mean())
    assert search == f"?borough={WESTMINSTER}&from=2024-01-01&to=2025-12-31"
    assert href == "/download/strategic/trends-monthly.csv" + search
    bar = ranking.data[0]
    assert len(bar.y) == 33 and bar.y[-1] == "City of London"   # highest rate at the top
    wm = list(bar.y).index("Westminster")
    assert bar.marker.color[wm] == fs.HIGHLIGHT and bar.marker.color[0] == fs.OTHER
    police_w = _sql(store, """SELECT count(*) FROM incidents WHERE source='police' AND borough_code=? AND
                             category='Violence and sexual offences' AND month BETWEEN '2024-01-01' AND '2025-12-01'""",
                    [WESTMINSTER]).iloc[0, 0]
    assert bar.x[wm] == pytest.approx(police_w / pop * 1000 * 12 / 24)


def test_scoped_user_gets_nothing_from_another_borough(signed_in):
    with signed_in("csp"):
        cards, monthly, *_, ranking, _, _, _ = page.update_view([WESTMINSTER], "2024-01", "2025-12", "rate", "ed")
        own = page.update_view([], "2024-01", "2025-12", "count", "police")
    assert "No incidents" in go.Figure(monthly).layout.annotations[0].text
    assert list(ranking.data[0].y) == ["Hackney"]
    assert list(own[5].data[0].y) == ["Hackney"] and own[5].data[0].marker.color == (fs.HIGHLIGHT,)


def test_small_counts_are_gaps_for_aggregate_roles(signed_in, store):
    with signed_in("csp"):
        _, monthly, *_ = page.update_view([HACKNEY], "2024-01", "2025-12", "count", "police")
    want = _ed_police_months(store, HACKNEY, "2024-01-01", "2025-12-01")
    small = want["ed"].between(1, 4)
    ed = np.asarray(go.Figure(monthly).data[0].y, float)
    assert small.any() and np.isnan(ed[small.to_numpy()]).all()
    assert list(np.asarray(go.Figure(monthly).data[0].text)[small.to_numpy()]) == ["<5"] * int(small.sum())


def test_bad_link_values_fall_back_with_notes(signed_in):
    with signed_in("analyst"):
        text = str(page.layout("?measure=loud&rank=harm&from=2024-02-10"))
    assert "Ignored 'measure=loud'" in text and "Ignored 'rank=harm'" in text and "whole months" in text


def test_trend_exports_hold_the_numbers_and_the_method(client_as, store, dash_app):
    r = client_as("csp").get(f"/download/strategic/trends-monthly.csv?borough={HACKNEY}&from=2024-01-01&to=2025-12-31")
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    assert text.startswith("# ISTV London trends (monthly), Jan 2024 to Dec 2025. Method:")
    got = pd.read_csv(io.StringIO(text), comment="#", dtype=str, keep_default_na=False)
    want = _ed_police_months(store, HACKNEY, "2024-01-01", "2025-12-01")
    # csp is protected: each month perturbed by at most 2 then rounded to 5 (or "<5"), never exact by construction
    police = got["police"].astype(int).to_numpy()
    assert (police % 5 == 0).all() and (abs(police - want["police"].to_numpy()) <= 4).all()
    assert (police != want["police"].to_numpy()).any()
    for shown, n in zip(got["ed"], want["ed"]):
        assert shown == "0" if n == 0 else (shown == "<5" or (int(shown) % 5 == 0 and abs(int(shown) - n) <= 4))
    r = client_as("analyst").get("/download/strategic/trends-boroughs.csv?from=2025-01-01&to=2025-12-31")
    got = pd.read_csv(io.StringIO(r.get_data(as_text=True)), comment="#")
    want = _sql(store, """SELECT borough_code, count(*) AS n FROM incidents WHERE source='police'
                          AND category='Violence and sexual offences' AND year(month)=2025 GROUP BY 1""")
    assert dict(zip(got["code"], got["police"])) == dict(zip(want["borough_code"], want["n"]))
    assert got["rank"].tolist() == list(range(1, 34))
    from dashboard.auth import USERS_KEY
    assert '"trends-boroughs"' in dash_app.server.extensions[USERS_KEY].events(action="export", limit=1)[0].detail
    assert client_as("csp").get("/download/strategic/trends-other.csv").status_code == 404


# ---- how concentrated is violence ---------------------------------------------------------------

ON_BLOCKS = """((i.source = 'ed' AND i.geocode_confidence IN ('venue', 'street'))
                OR (i.source = 'police' AND i.category = 'Violence and sexual offences'))"""


def _block_counts(store, borough, first, last):
    """Every block of the borough with its incidents by the map's rule, counted here in plain SQL."""
    return _sql(store, f"""
        SELECT b.block_id, b.length_m, count(i.incident_id) AS n FROM blocks b
        LEFT JOIN incidents i ON i.block_id = b.block_id AND i.borough_code = ? AND {ON_BLOCKS}
                              AND i.month BETWEEN ? AND ?
        WHERE b.borough_code = ? GROUP BY ALL ORDER BY b.block_id""", [borough, first, last, borough])


def test_block_incidents_are_the_block_maps_counts(store):
    from data.store import queries
    f = Filters(boroughs=(HACKNEY,), start=date(2025, 1, 1), end=date(2025, 12, 31))
    got = qs.block_incidents(store, f)
    want = _block_counts(store, HACKNEY, "2025-01-01", "2025-12-01")
    assert got["block_id"].tolist() == want["block_id"].tolist()            # every block, zeros included
    assert got["incidents"].tolist() == want["n"].tolist()
    assert (got["incidents"] == 0).any() and (got["borough_code"] == HACKNEY).all()
    on_map = queries.unit_counts(store, f, "block_id").set_index("unit")["total"]
    assert got.set_index("block_id")["incidents"].loc[on_map.index.intersection(got["block_id"])].tolist() == \
        on_map.loc[on_map.index.intersection(got["block_id"])].tolist()


def _top_share(counts: pd.Series, share: float) -> tuple[int, int]:
    k = int(np.ceil(share * len(counts) - 1e-9))
    return k, int(counts.sort_values(ascending=False).iloc[:k].sum())


def test_concentration_headline_and_chart_equal_sql(signed_in, store):
    with signed_in("analyst"):
        panel, chart = page.update_concentration([WESTMINSTER], "2025-01", "2025-12")
    want = _block_counts(store, WESTMINSTER, "2025-01-01", "2025-12-01")
    total = int(want["n"].sum())
    k, held = _top_share(want["n"], 0.05)
    text = str(panel)
    assert (f"The busiest 5 % of street blocks ({k:,} of {len(want):,}) hold {fs.share_text(held / total)} "
            "of the view's incidents on street blocks; at random (by street length) they would hold") in text
    assert f"{total:,} incidents on {len(want):,} street blocks" in text
    observed = {round(x, 6): y for x, y in zip(chart.data[0].x, chart.data[0].y)}
    k10, held10 = _top_share(want["n"], 0.10)
    assert observed[round(k10 / len(want) * 100, 6)] == pytest.approx(held10 / total * 100)
    rand = np.asarray(chart.data[1].y, float)
    assert rand[0] == 0 and rand[-1] == pytest.approx(100) and (np.diff(rand) >= -1e-9).all()
    c = qs.block_concentration(store, Filters(boroughs=(WESTMINSTER,), start=date(2025, 1, 1), end=date(2025, 12, 31)))
    assert f"they would hold {fs.share_text(c.table.loc[0.05, 'random'])}." in text
    assert c.table["blocks"].tolist() == [int(np.ceil(x * len(want) - 1e-9)) for x in (0.01, 0.05, 0.1, 0.2, 0.5)]


def test_shown_cumulative_by_hand():
    held = [0, 3, 8, 10, 17, 19, 20]   # of 20: 3 is small; 10 is 2 after 8; 17 and 19 leave 3 and 1
    assert fs.shown_cumulative(held, 20, False).tolist() == [True, False, True, False, False, False, True]
    assert fs.shown_cumulative(held, 20, True).all()
    assert not fs.shown_cumulative([0, 2, 4], 4, False).any()


def test_concentration_shares_never_reveal_a_small_count(signed_in, store):
    # Hackney, September 2024: 6 incidents on 440 blocks
    want = _block_counts(store, HACKNEY, "2024-09-01", "2024-09-01")
    total = int(want["n"].sum())
    assert 5 <= total < 10
    with signed_in("csp"):
        panel, chart = page.update_concentration([], "2024-09", "2024-09")
    with signed_in("analyst"):
        full, _ = page.update_concentration([HACKNEY], "2024-09", "2024-09")
    body = panel.children[1].children[1]                          # the table's tbody
    rows = [[td.children for td in tr.children] for tr in body.children]
    hidden = 0
    assert len(rows) == 5
    for busiest, _, observed, random, ratio in rows:
        k, held = _top_share(want["n"], float(busiest.rstrip(" %")) / 100)
        reveals = 0 < held < 5 or 0 < total - held < 5
        if reveals:
            assert observed == ratio == "*"
        hidden += observed == "*"
        assert random != "*"
    assert hidden and "* hidden" in str(panel)
    assert "*" not in str(full.children[1])                     # record-level access sees every share
    y = np.asarray(chart.data[0].y, float)
    held_at = [_top_share(want["n"], x / 100)[1] for x in chart.data[0].x]
    shown = [h for h, v in zip(held_at, y) if not np.isnan(v)]
    assert np.isnan(y).any() and all(h == 0 or h >= 5 for h in shown + [total - h for h in shown])
    assert all(b - a == 0 or b - a >= 5 for a, b in zip(shown, shown[1:]))


def test_concentration_of_a_small_total_is_hidden(store):
    city = "E09000001"
    want = _block_counts(store, city, "2024-02-01", "2024-02-01")
    c = qs.block_concentration(store, Filters(boroughs=(city,), start=date(2024, 2, 1), end=date(2024, 2, 29)))
    assert c.total == want["n"].sum() and 0 < c.total < 5
    panel, chart = page.concentration_panel(c, record_level=False)
    assert "Fewer than 5 incidents are on street blocks in this view, so the shares are hidden (*)." in str(panel)
    assert f"<5 incidents on {len(want)} street blocks" in str(panel)
    rows = fs.concentration_rows(c.table, c.curve, c.total, False)
    assert set(rows[["observed", "random", "ratio"]].stack()) == {"*"}
    assert "shares hidden" in chart.layout.annotations[0].text and not chart.data
    full, chart = page.concentration_panel(c, record_level=True)
    assert "The busiest 5 %" in str(full) and len(chart.data) == 2


def test_concentration_without_blocks_or_incidents(store, tiny_db_copy):
    import duckdb
    from data.store.db import Store
    nothing = qs.block_concentration(store, Filters(start=date(2010, 1, 1), end=date(2010, 1, 31)))
    assert nothing.blocks > 0 and nothing.total == 0 and nothing.table.empty
    panel, chart = page.concentration_panel(nothing, record_level=True)
    assert panel.children == "No incidents on street blocks in this view, so no concentration."
    with duckdb.connect(str(tiny_db_copy)) as con:
        con.execute("DELETE FROM blocks")
    bare = qs.block_concentration(Store(tiny_db_copy), Filters(start=date(2025, 1, 1), end=date(2025, 12, 31)))
    panel, chart = page.concentration_panel(bare, record_level=False)
    assert (bare.blocks, bare.total) == (0, 0)
    assert panel.children == "No street network loaded for these boroughs, so no concentration."
    assert "No street network loaded" in chart.layout.annotations[0].text


def test_the_ratio_is_named_for_what_it_is(signed_in):
    with signed_in("analyst"):
        text = str(page.layout(""))
        cards, _, _, ratio, *_ = page.update_view([WESTMINSTER], "2024-01", "2025-12", "count", "police")
    assert "dark figure" not in text.lower() and "dark figure" not in str(cards).lower()
    assert "ED assaults per police-recorded violent crime" in text
    assert "ED assaults per police-recorded violent crime, 12 months" in str(cards)
    assert "not a count of distinct assaults" in text and "cannot be matched" in text
    assert "unreported violence" not in text.replace("is not a measure of unreported violence", "")
    assert ratio.layout.yaxis.title.text == "ED assaults per police-recorded violent crime"
    assert "How concentrated is violence" in text
    for words in ("police.uk gives only the month", "date of assault", "per 1,000 residents",
                  "200 random allocations (seed 0)", "placed on a street or better", "Disclosure"):
        assert words in text


def test_concentration_panel_says_which_blocks_have_no_length():
    from layers.concentration import table_and_curve
    counts = pd.Series([30, 10, 0, 0, 5, 0, 0, 0, 0, 0], index=range(10))
    lengths = pd.Series([50.0, np.nan, 100, 100, 100, 100, 100, 100, 100, 0], index=range(10))
    table, curve = table_and_curve(counts, lengths)
    c = qs.Concentration(10, 45, 2, table, curve)
    panel, chart = page.concentration_panel(c, record_level=False)
    text = str(panel)
    assert "The busiest 5 % of street blocks (1 of 10) hold 67 % of the view's incidents on street blocks" in text
    assert "45 incidents on 10 street blocks" in text
    assert "2 blocks have no recorded length: they count as blocks but get no incidents at random" in text
    assert np.asarray(chart.data[0].y, float)[1] == pytest.approx(30 / 45 * 100)


def test_protected_points_are_marked_not_blank():
    import numpy as np
    import pandas as pd
    from dashboard import figures_strategic as fs
    trend = pd.DataFrame({"month": pd.date_range("2025-01-01", periods=4, freq="MS"),
                          "ed_12m": [3.0, 12.0, 2.0, np.nan], "police_12m": [40.0, 41.0, 42.0, 43.0]})
    fig = fs.rolling_chart(trend, "count", record_level=False)
    marks = [t for t in fig.data if "protected" in (t.name or "")]
    assert [t.name for t in marks] == ["ED assaults: protected (<5)"]
    assert list(marks[0].x) == list(trend["month"][[0, 2]]) and list(marks[0].y) == [0, 0]  # not the no-data month
    assert not [t for t in fs.rolling_chart(trend, "count", record_level=True).data if "protected" in (t.name or "")]
