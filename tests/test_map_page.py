"""The map page's callback called as a function, checked against direct SQL counts."""
from datetime import date

import numpy as np
import pytest

from dashboard.pages import map as map_page
from dashboard.url_state import from_query, to_query
from data import queries
from data.filters import Filters

WESTMINSTER, HACKNEY = "E09000033", "E09000012"


def _sql_count(store, boroughs, start, end, source, res=None):
    """Independent ground truth: written out, not built from data.filters."""
    where = ["borough_code IN (SELECT unnest(?::VARCHAR[]))"]
    if source == "ed":
        where.append("source = 'ed' AND occurred_at >= ?::DATE AND occurred_at < ?::DATE + 1")
    else:
        where.append("source = 'police' AND category = 'Violence and sexual offences' AND month >= ?::DATE AND month <= ?::DATE")
    if res:
        where.append(f"h3_r{res} IS NOT NULL")
    return int(store.df(f"SELECT count(*) AS n FROM incidents WHERE {' AND '.join(where)}",
                        [list(boroughs), start, end])["n"].iat[0])


def test_map_callback_totals_equal_sql(signed_in, store):
    with signed_in("analyst"):
        fig_map, fig_series, summary, table, href, search = map_page.update_view([WESTMINSTER, HACKNEY], "2024-03-01", "2024-08-31")
    ed = _sql_count(store, [WESTMINSTER, HACKNEY], "2024-03-01", "2024-08-31", "ed")
    police = _sql_count(store, [WESTMINSTER, HACKNEY], "2024-03-01", "2024-08-31", "police")
    assert ed > 10 and police > 100
    hexes = fig_map.data[0]
    assert hexes.type == "choroplethmap"
    assert int(np.sum(hexes.z)) == ed + police  # every ED record with a borough has a point
    assert sum(int(t.split("<br>")[0].split(": ")[1]) for t in hexes.text) == ed
    series = {t.name: t for t in fig_series.data}
    assert int(np.sum(series["ED assaults"].y)) == ed
    assert int(np.sum(series["Police violence"].y)) == police
    assert str(series["ED assaults"].x[0])[:7] == "2024-03" and len(series["ED assaults"].x) == 6
    assert search == f"?borough={WESTMINSTER}%2C{HACKNEY}&from=2024-03-01&to=2024-08-31"
    assert f"{ed:,}" in str(summary) and f"{police:,}" in str(summary)
    assert href == "/download/boroughs.csv" + search
    assert "Westminster" in str(table) and "Hackney" in str(table) and "Camden" not in str(table)


def test_whole_london_counts_unlocated_ed_records_in_the_series_only(signed_in, store):
    with signed_in("analyst"):
        fig_map, fig_series, *_ = map_page.update_view([], "2025-01-01", "2025-12-31")
    all_ed = int(store.df("SELECT count(*) AS n FROM incidents WHERE source='ed' AND year(occurred_at) = 2025")["n"].iat[0])
    located = int(store.df("SELECT count(*) AS n FROM incidents WHERE source='ed' AND year(occurred_at) = 2025 AND h3_r8 IS NOT NULL")["n"].iat[0])
    assert located < all_ed
    assert int(np.sum(fig_series.data[0].y)) == all_ed
    assert sum(int(t.split("<br>")[0].split(": ")[1]) for t in fig_map.data[0].text) == located


def test_hex_counts_group_at_the_asked_resolution(store):
    f = Filters(boroughs=(WESTMINSTER,), start=date(2025, 1, 1), end=date(2025, 12, 31))
    r7, r9 = queries.hex_counts(store, f, 7), queries.hex_counts(store, f, 9)
    assert r7["total"].sum() == r9["total"].sum()
    assert len(r9) > len(r7)
    with pytest.raises(ValueError, match="not stored"):
        queries.hex_counts(store, f, 5)


def test_empty_selection_says_so(signed_in):
    with signed_in("analyst"):
        fig_map, fig_series, *_ = map_page.update_view([WESTMINSTER], "2019-01-01", "2019-02-01")
    assert len(fig_map.data) == 1  # only the borough outline
    assert "No incidents" in fig_map.layout.annotations[0].text
    assert "No incidents" in fig_series.layout.annotations[0].text


def test_reversed_dates_from_a_crafted_request_are_swapped(signed_in):
    with signed_in("analyst"):
        a = map_page.update_view([WESTMINSTER], "2024-08-31", "2024-03-01")
        b = map_page.update_view([WESTMINSTER], "2024-03-01", "2024-08-31")
    assert a[-1] == b[-1]


def test_default_period_is_last_twelve_months():
    assert map_page.default_filters((date(2023, 1, 1), date(2025, 12, 31))).start == date(2025, 1, 1)
    assert map_page.default_filters((date(2023, 1, 1), date(2025, 6, 30))).start == date(2024, 7, 1)
    assert map_page.default_filters((date(2025, 3, 1), date(2025, 6, 30))).start == date(2025, 3, 1)


def test_url_round_trip_and_bad_values_fall_back_with_a_note():
    known = {WESTMINSTER, HACKNEY}
    default = Filters(start=date(2025, 1, 1), end=date(2025, 12, 31))
    f = Filters(boroughs=(HACKNEY,), start=date(2024, 2, 1), end=date(2024, 5, 31))
    assert from_query(to_query(f), known, default) == (f, [])
    g, notes = from_query("?borough=E09000012,XX&from=yesterday&to=2024-01-01", known, default)
    assert g.boroughs == (HACKNEY,) and g.start == default.start and g.end == default.end
    assert len(notes) == 3 and "XX" in notes[0] and "from=yesterday" in notes[1] and "start date" in notes[2]


def test_pages_render_and_unknown_path_says_not_found(client_as, signed_in):
    assert client_as("analyst").get("/").status_code == 200
    from dashboard import shell
    with signed_in("analyst"):
        assert "Page not found" in str(shell.render("/nowhere", ""))
        page = str(shell.render("/", "?borough=E09000033&from=bad"))
    assert "Ignored 'from=bad'" in page and "E09000033" in page
