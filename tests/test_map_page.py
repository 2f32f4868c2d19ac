"""The map page's callbacks called as functions, checked against SQL written out independently."""
import json
import re
from datetime import date

import numpy as np
import pytest
import plotly.graph_objects as go
from dash import Patch, no_update
from h3.api import basic_int as h3i

from dashboard import map_view
from dashboard.pages import map as map_page
from dashboard.url_state import from_query, to_query
from data.store import queries
from data.store.filters import Filters

WESTMINSTER, HACKNEY = "E09000033", "E09000012"
MAP, SERIES, HEAT, SUMMARY, TABLE, HREF, SELECTION, KEY = range(8)
LOCATED = "h3_r8 IS NOT NULL AND (source = 'police' OR geocode_confidence IN ('street', 'venue'))"


def _sql(store, where, params=()):
    return int(store.df(f"SELECT count(*) AS n FROM incidents WHERE {where}", list(params))["n"].iat[0])


def _period(source, start, end):
    if source == "ed":
        return f"source = 'ed' AND occurred_at >= DATE '{start}' AND occurred_at < DATE '{end}' + 1"
    return f"source = 'police' AND category = 'Violence and sexual offences' AND month BETWEEN DATE '{start}' AND DATE '{end}'"


def _card(summary, card_id):
    return re.search(rf"children='([^']*)', id='{card_id}'", str(summary)).group(1)


def _unit_totals(fig_map):
    """Sum of the map's hover totals (record-level roles see exact numbers)."""
    return sum(int(row[2]) for row in fig_map["data"][0]["customdata"])


def test_render_numbers_equal_sql(signed_in, store):
    boroughs = f"borough_code IN ('{WESTMINSTER}', '{HACKNEY}')"
    with signed_in("analyst"):
        out = map_page.render(f"?borough={WESTMINSTER},{HACKNEY}&from=2024-03-01&to=2024-08-31", None)
    ed = _sql(store, f"{boroughs} AND {_period('ed', '2024-03-01', '2024-08-31')}")
    police = _sql(store, f"{boroughs} AND {_period('police', '2024-03-01', '2024-08-31')}")
    located = _sql(store, f"{boroughs} AND {LOCATED} AND ({_period('ed', '2024-03-01', '2024-08-31')} OR {_period('police', '2024-03-01', '2024-08-31')})")
    assert ed > 10 and police > 100 and located < ed + police
    assert out[MAP]["data"][0]["type"] == "choroplethmap" and _unit_totals(out[MAP]) == located
    series = {t.name: t for t in go.Figure(out[SERIES]).data}
    assert int(np.nansum(series["ED assaults"].y)) == ed and int(np.nansum(series["Police violence"].y)) == police
    assert str(series["ED assaults"].x[0])[:7] == "2024-03" and len(series["ED assaults"].x) == 6
    assert int(np.nansum(np.asarray(go.Figure(out[HEAT]).data[0].z, float))) == ed  # the day x hour chart holds every ED record
    assert _card(out[SUMMARY], "summary-ed") == f"{ed:,}" and _card(out[SUMMARY], "summary-police") == f"{police:,}"
    assert "Westminster" in str(out[TABLE]) and "Camden" not in str(out[TABLE])
    assert out[HREF] == f"/download/boroughs.csv?borough={WESTMINSTER}%2C{HACKNEY}&from=2024-03-01&to=2024-08-31"


def test_change_against_previous_equal_period(signed_in, store):
    with signed_in("analyst"):
        out = map_page.render(f"?borough={HACKNEY}&from=2025-04-01&to=2025-06-30", None)
    now = _sql(store, f"borough_code = '{HACKNEY}' AND {_period('ed', '2025-04-01', '2025-06-30')}")
    before = _sql(store, f"borough_code = '{HACKNEY}' AND {_period('ed', '2025-01-01', '2025-03-31')}")  # the 3 whole months before
    # per day of exposure: April-June (91 days) against January-March (90 days)
    assert f"{now / (before * 91 / 90) - 1:+.0%} vs previous period" in str(out[SUMMARY])


def test_previous_period_of_whole_months_is_whole_months():
    f = Filters(start=date(2025, 1, 1), end=date(2025, 12, 31)).previous()
    assert (f.start, f.end) == (date(2024, 1, 1), date(2024, 12, 31))  # not 2 Jan - 31 Dec in a leap year
    f = Filters(start=date(2025, 3, 1), end=date(2025, 3, 31)).previous()
    assert (f.start, f.end) == (date(2025, 2, 1), date(2025, 2, 28))
    f = Filters(start=date(2025, 12, 4), end=date(2025, 12, 31)).previous()
    assert (f.start, f.end) == (date(2025, 11, 1), date(2025, 11, 30))  # with police: counted as December
    f = Filters(start=date(2025, 12, 4), end=date(2025, 12, 31), sources=("ed",)).previous()
    assert (f.start, f.end) == (date(2025, 11, 6), date(2025, 12, 3))  # ED only: 28 days against 28 days


def _z_by_location(fig) -> dict:
    trace = fig["data"][0]
    return dict(zip(trace["locations"], trace["z"]))


def test_values_only_change_is_a_patch_only_over_the_same_shapes(signed_in):
    with signed_in("analyst"):
        first = map_page.render(f"?borough={HACKNEY}", None)
        same_shapes = map_page.render(f"?borough={HACKNEY}&conf=street", first[KEY])  # the map counts street+ anyway
        fresh_same = map_page.render(f"?borough={HACKNEY}&conf=street", None)
        fewer = map_page.render(f"?borough={HACKNEY}&src=ed", first[KEY])
        fresh_fewer = map_page.render(f"?borough={HACKNEY}&src=ed", None)
        other = map_page.render(f"?borough={WESTMINSTER}", first[KEY])
    # a Patch carries values for exactly the shapes already drawn; otherwise the figure is redrawn
    for out, fresh in ((same_shapes, fresh_same), (fewer, fresh_fewer)):
        if out[MAP] is no_update:  # the same shapes and values: the figure on screen is left alone, and is right
            assert out[KEY] == first[KEY] == fresh[KEY] and _z_by_location(first[MAP]) == _z_by_location(fresh[MAP])
            continue
        if isinstance(out[MAP], Patch):
            assert out[KEY] == fresh[KEY] and out[KEY].split("#")[0] == first[KEY].split("#")[0]
            ops = {tuple(op["location"]): op["params"]["value"] for op in out[MAP].to_plotly_json()["operations"]}
            assert not any("geojson" in str(loc) or "locations" in str(loc) for loc in ops)
            z = ops[("data", 0, "z")]
            assert len(z) == len(first[MAP]["data"][0]["locations"])
            # per shape: the patched value of every hexagon is what a reload of the same URL shows for it
            assert dict(zip(first[MAP]["data"][0]["locations"], z)) == _z_by_location(fresh[MAP])
        else:
            assert out[KEY] != first[KEY] and out[KEY] == fresh[KEY]
            assert _z_by_location(out[MAP]) == _z_by_location(fresh[MAP])
    assert same_shapes[MAP] is no_update  # the same shapes and the same values: nothing is sent or redrawn
    with signed_in("analyst"):
        dimmer = map_page.render(f"?borough={HACKNEY}&op=0.4", first[KEY])
    ops = {tuple(op["location"]): op["params"]["value"] for op in dimmer[MAP].to_plotly_json()["operations"]}
    assert ops[("data", 0, "marker", "opacity")] == 0.4 and len(ops[("data", 0, "z")]) == len(first[MAP]["data"][0]["z"])
    # leaving out police removes hexagons: never a values-only update over the old shapes
    assert not isinstance(fewer[MAP], Patch)
    assert not isinstance(other[MAP], Patch) and other[KEY] != first[KEY]


def test_clicked_hex_filters_series_and_heatmap_to_that_place(signed_in, store):
    cell = int(store.df(f"SELECT h3_r8, count(*) n FROM incidents WHERE borough_code = '{HACKNEY}' AND {LOCATED} "
                        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1").iloc[0, 0])
    with signed_in("analyst"):
        out = map_page.render(f"?borough={HACKNEY}&place=h3_r8:{h3i.int_to_str(cell)}", None)
    # a selected place counts what its hover counts: ED records placed on a street or better (LOCATED)
    ed = _sql(store, f"h3_r8 = {cell} AND {LOCATED} AND {_period('ed', '2025-01-01', '2025-12-31')}")
    police = _sql(store, f"h3_r8 = {cell} AND {_period('police', '2025-01-01', '2025-12-31')}")
    series = {t.name: t for t in go.Figure(out[SERIES]).data}
    assert int(np.nansum(series["ED assaults"].y)) == ed and int(np.nansum(series["Police violence"].y)) == police
    assert int(np.nansum(np.asarray(go.Figure(out[HEAT]).data[0].z, float))) == ed
    assert "hexagon" in out[SELECTION]
    assert map_page._place_from_click({"points": [{"curveNumber": 0, "location": h3i.int_to_str(cell)}]}, "hex", 8) == ("h3_r8", cell)
    assert map_page._place_from_click({"points": [{"curveNumber": 2, "location": "x"}]}, "hex", 8) is None
    assert map_page.whole_months(date(2025, 2, 12), date(2025, 5, 9)) == (date(2025, 2, 1), date(2025, 5, 31))
    assert map_page.whole_months(date(2024, 12, 3), date(2024, 12, 3)) == (date(2024, 12, 1), date(2024, 12, 31))


def test_brushed_period_narrows_map_and_summary(signed_in, store):
    with signed_in("analyst"):
        out = map_page.render(f"?borough={HACKNEY}&sel=2025-03-01..2025-04-30", None)
    located = _sql(store, f"borough_code = '{HACKNEY}' AND {LOCATED} AND ({_period('ed', '2025-03-01', '2025-04-30')} OR {_period('police', '2025-03-01', '2025-04-30')})")
    ed = _sql(store, f"borough_code = '{HACKNEY}' AND {_period('ed', '2025-03-01', '2025-04-30')}")
    assert _unit_totals(out[MAP]) == located
    assert _card(out[SUMMARY], "summary-ed") == f"{ed:,}"
    assert len(go.Figure(out[SERIES]).data[0].x) == 12  # the series keeps the whole period, with the brush drawn on it
    assert go.Figure(out[SERIES]).layout.shapes[0].x0 is not None


def test_blocks_with_gi_and_change_colours(signed_in, store):
    with signed_in("analyst"):
        gi = map_page.render(f"?borough={HACKNEY}&unit=block&color=gi", None)
        ch = map_page.render(f"?borough={HACKNEY}&unit=block&color=change", None)
    blocks = _sql(store, f"borough_code = '{HACKNEY}' AND block_id IS NOT NULL AND {LOCATED} AND "
                         f"({_period('ed', '2025-01-01', '2025-12-31')} OR {_period('police', '2025-01-01', '2025-12-31')})")
    assert _unit_totals(gi[MAP]) == blocks
    units = gi[MAP]["data"][0]
    assert units["colorbar"]["title"]["text"].startswith("Hot spots (Gi*") and set(units["z"]) <= {0, 1, 2, 3, 4}
    # blocks just over the borough line (points of Hackney snapped to a neighbouring borough's block) have no Gi*
    assert sum("Gi* z = " in row[4] for row in units["customdata"]) >= 0.9 * len(units["customdata"])
    hot = queries.hot_blocks(store, Filters(boroughs=(HACKNEY,), start=date(2025, 1, 1), end=date(2025, 12, 31)))
    rows = dict(zip(units["locations"], units["customdata"]))
    top = hot.iloc[0]
    assert "Hot block #1 " in rows[str(int(top["block_id"]))][4]
    assert sum("Hot block #" in row[4] for row in units["customdata"]) == len(hot)
    changes = ch[MAP]["data"][0]
    assert changes["colorbar"]["ticktext"] == ["gone", "falling", "steady", "rising", "new"]
    assert all("Change:" in row[4] for row in changes["customdata"])
    method = str(gi[8])
    assert "Gi* with an exact negative-binomial test on street blocks, 5 % false discovery rate over the selected boroughs" in method
    assert "exact binomial test" in str(ch[8]) and "per day" in str(ch[8])


def test_hot_spots_do_not_depend_on_where_the_map_is(signed_in):
    # two map positions over Hackney at hexagon resolution 9: the same cells get the same test results
    views = ("51.5450,-0.0550,12.20", "51.5600,-0.0800,12.20")
    with signed_in("analyst"):
        outs = [map_page.render(f"?borough={HACKNEY}&color=gi&v={v}", None) for v in views]
    tested = [dict(zip(o[MAP]["data"][0]["locations"], zip(o[MAP]["data"][0]["z"], (r[4] for r in o[MAP]["data"][0]["customdata"]))))
              for o in outs]
    common = set(tested[0]) & set(tested[1])
    assert len(common) > 50
    assert all(tested[0][c] == tested[1][c] for c in common)  # class and "Gi* z = .., q = .." per cell
    assert outs[0][MAP]["data"][0]["locations"] == outs[1][MAP]["data"][0]["locations"]  # the whole study area, not the screen
    with signed_in("analyst"):  # finer than the test's resolution: drawn, uncoloured, and said so
        fine = map_page.render(f"?borough={HACKNEY}&color=gi&v=51.5450,-0.0550,14", None)
    assert set(fine[MAP]["data"][0]["z"]) == {2} and "resolution 9" in json.dumps(fine[MAP]["layout"]["annotations"])


def test_premises_overlay_counts_incidents_within_50m(signed_in, store):
    with signed_in("analyst"):
        out = map_page.render(f"?borough={HACKNEY}&premises=1", None)
    markers = [t for t in out[MAP]["data"] if t["type"] == "scattermap" and t.get("customdata")]
    n_premises = int(store.df(f"SELECT count(*) FROM premises WHERE borough_code = '{HACKNEY}'").iloc[0, 0])
    assert markers and sum(len(t["customdata"]) for t in markers) == n_premises
    f = Filters(boroughs=(HACKNEY,), start=date(2025, 1, 1), end=date(2025, 12, 31))
    near = queries.premises_near(store, f).set_index("premises_id")
    busiest = near.sort_values("ed", ascending=False).iloc[0]
    inc = store.df(f"SELECT source, lat, lon FROM incidents WHERE lat IS NOT NULL AND {LOCATED} AND "
                   f"({_period('ed', '2025-01-01', '2025-12-31')} OR {_period('police', '2025-01-01', '2025-12-31')})")
    d = 6371008.8 * 2 * np.arcsin(np.sqrt(np.sin(np.radians(inc["lat"] - busiest["lat"]) / 2) ** 2 + np.cos(np.radians(busiest["lat"]))
                                          * np.cos(np.radians(inc["lat"])) * np.sin(np.radians(inc["lon"] - busiest["lon"]) / 2) ** 2))
    assert busiest["ed"] == ((d <= 50) & (inc["source"] == "ed")).sum() > 0
    assert busiest["police"] == ((d <= 50) & (inc["source"] == "police")).sum()


@pytest.mark.parametrize("role", ["csp", "health"])
def test_premises_overlay_is_withheld_from_roles_without_the_premises_page(signed_in, store, role):
    """Premises names, hours and nearby counts are the premises page's: the map's overlay needs its permission."""
    with signed_in(role):
        out = map_page.render(f"?borough={HACKNEY}&premises=1", None)
        state = map_page.parse_state("?premises=1", {HACKNEY}, map_page.default_filters(None))
    assert [t["name"] for t in out[MAP]["data"]] == ["units", "Borough boundaries"]  # no premises markers
    ids = store.df("SELECT premises_id FROM premises WHERE borough_code = ?", [HACKNEY])["premises_id"]
    text = json.dumps(out, default=str)
    assert len(ids) and not any(f'"{pid}"' in text for pid in ids)
    assert state.premises  # the link may ask; the server does not answer
    with signed_in("licensing"):  # licensing officers have the premises page: they get the overlay
        own = map_page.render("?premises=1", None)
    assert [t["name"] for t in own[MAP]["data"]][2:] == ["premises outline", "premises"]


def test_empty_selection_says_so(signed_in):
    with signed_in("analyst"):
        out = map_page.render(f"?borough={WESTMINSTER}&from=2019-01-01&to=2019-02-01", None)
    assert "No incidents" in out[MAP]["layout"]["annotations"][0]["text"]
    assert "No incidents" in go.Figure(out[SERIES]).layout.annotations[0].text


def test_bad_url_values_fall_back_with_notes(signed_in):
    default = Filters(start=date(2025, 1, 1), end=date(2025, 12, 31))
    st = map_view.parse_state("?borough=E09000012,XX&from=yesterday&color=purple&sel=a..b&v=0,0,30&unit=zz", {HACKNEY}, default)
    assert st.f.boroughs == (HACKNEY,) and st.f.start == default.start and st.color == "count" and st.sel is None
    assert len(st.notes) == 6
    with signed_in("analyst"):
        page = str(map_page.layout("?borough=E09000033&from=bad&" + "x=1&" * 2000))
    assert "link was" in page  # an oversized query string is ignored as a whole


def test_url_round_trip():
    known = {WESTMINSTER, HACKNEY}
    default = Filters(start=date(2025, 1, 1), end=date(2025, 12, 31))
    f = Filters(boroughs=(HACKNEY,), start=date(2024, 2, 1), end=date(2024, 5, 31), sources=("ed",), assault_methods=("03", "04"),
                hours=(22, 6), weekdays=(4, 5), min_confidence="street", unit="block", place=("block", 12))
    assert from_query(to_query(f, default), known, default) == (f, [])
    st = map_view.State(f=f, color="gi", premises=True, sel=(date(2024, 3, 1), date(2024, 3, 31)), center={"lat": 51.5, "lon": -0.1}, zoom=12.0)
    back = map_view.parse_state(st.query(default), known, default)
    assert (back.f, back.color, back.premises, back.sel, back.zoom) == (f, "gi", True, st.sel, 12.0)


def test_hour_and_weekday_filters_count_ed_only(signed_in, store):
    with signed_in("analyst"):
        out = map_page.render(f"?borough={HACKNEY}&hours=22-4&days=4,5", None)
    ed = _sql(store, f"borough_code = '{HACKNEY}' AND {_period('ed', '2025-01-01', '2025-12-31')} "
                     "AND (hour(occurred_at) >= 22 OR hour(occurred_at) < 4) AND dayofweek(occurred_at) IN (5, 6)")
    series = {t.name: t for t in go.Figure(out[SERIES]).data}
    assert int(np.nansum(series["ED assaults"].y)) == ed and np.nansum(series["Police violence"].y) == 0


def test_pages_render_and_unknown_path_says_not_found(client_as, signed_in):
    assert client_as("analyst").get("/").status_code == 200
    from dashboard import shell
    with signed_in("analyst"):
        missing, title = shell.render("/nowhere", "")
        assert "Page not found" in str(missing) and title == "Page not found · ISTV London"
        page, title = shell.render("/", "?borough=E09000033&from=bad")
        assert title == "Map · ISTV London"
    assert "Ignored 'from=bad'" in str(page) and "E09000033" in str(page)


def test_dict_figures_carry_what_go_figure_would_have_resolved():
    """The series and heatmap are plain dicts: named colour scales plotly.js does not know must be
    sent as colours, and the default template kept (the look go.Figure gives)."""
    import pandas as pd
    from dashboard import figures, figures_map
    heat = figures_map.day_hour_heatmap(pd.DataFrame({"weekday": [5], "hour": [23], "n": [7]}), True)
    assert heat["data"][0]["colorscale"] == [list(c) for c in go.Heatmap(colorscale="OrRd").colorscale]
    assert heat["data"][0]["z"][5][23] == 7 and heat["layout"]["template"]["layout"]["colorway"]
    series = figures.monthly_series(pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-02-01"]),
                                                  "ed": [3, 9], "police": [40, 0]}), record_level=False)
    ed, ed_small, police = series["data"]
    assert ed["y"] == [None, 9.0] and ed["text"] == ["<5", "9"] and ed_small["x"] == ["2025-01-01"]
    assert police["y"] == [40.0, 0.0] and series["layout"]["template"] == figures.TEMPLATE


def test_block_polygons_are_built_once_and_follow_a_changed_line(store):
    import shapely
    from dashboard import figures_map
    shapes = store.df("SELECT block_id, geom_wkb FROM blocks ORDER BY block_id LIMIT 5")
    first = figures_map.block_geojson(shapes)
    again = figures_map.block_geojson(shapes.iloc[::-1])
    assert [f["id"] for f in again["features"]] == [f["id"] for f in first["features"]][::-1]
    assert again["features"][-1] is first["features"][0]          # the same object: built once
    poly = shapely.geometry.shape(first["features"][0]["geometry"])
    line = shapely.from_wkb(bytes(shapes["geom_wkb"].iat[0]))
    assert poly.contains(shapely.centroid(line)) or poly.distance(line) < 1e-5
    moved = shapes.head(1).assign(geom_wkb=[shapely.to_wkb(shapely.affinity.translate(line, 0.01, 0))])
    shifted = figures_map.block_geojson(moved)["features"][0]      # same id, new line: a new polygon
    assert shifted["id"] == first["features"][0]["id"] and shifted["geometry"] != first["features"][0]["geometry"]


def test_protected_day_hour_cells_have_their_own_grey_and_key():
    import pandas as pd
    from dashboard import figures_map
    dh = pd.DataFrame({"weekday": [5, 1], "hour": [23, 2], "n": [7, 2]})
    heat = figures_map.day_hour_heatmap(dh, False)
    values, grey = heat["data"]
    assert values["z"][1][2] is None and values["text"][1][2] == "<5" and values["z"][5][23] == 7
    assert grey["z"][1][2] == 1.0 and grey["z"][5][23] is None and grey["showlegend"] and "protected" in grey["name"]
    assert len(figures_map.day_hour_heatmap(dh, True)["data"]) == 1
