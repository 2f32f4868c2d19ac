"""Finding your way on the map: place names in hovers, search within the viewer's boroughs, the selected
unit's outline, the legend beside the map and the view state the history keeps — against SQL and geometry."""
from __future__ import annotations

import json

import numpy as np
import pytest
from h3.api import basic_int as h3i

from dashboard import map_view
from dashboard.pages import map as map_page
from dashboard.url_state import history_entry
from data.access.roles import Scope
from data.store import queries_places as qp
from data.store.queries import ScopedStore

HACKNEY, WESTMINSTER = "E09000012", "E09000033"


def _metres(lat1, lon1, lat2, lon2):
    return float(np.hypot((lat1 - lat2) * 111_320, (lon1 - lon2) * 111_320 * np.cos(np.radians(51.5))))


def test_block_description_names_the_streets_at_its_two_junctions(store):
    # a block whose two ends meet differently named streets, found by SQL written out here
    row = store.df("""
        WITH ends AS (SELECT block_id, street, node_u AS node, 0 AS side FROM blocks UNION ALL
                      SELECT block_id, street, node_v, 1 FROM blocks)
        SELECT e.block_id, e.street, e.side, list_sort(list_distinct(list(o.street))) AS others
        FROM ends e JOIN ends o ON o.node = e.node AND o.block_id <> e.block_id AND o.street <> e.street
        GROUP BY ALL ORDER BY e.block_id, e.side""")
    both = row.groupby("block_id").filter(lambda g: len(g) == 2).head(20)
    assert len(both) >= 2
    for block_id, g in both.groupby("block_id"):
        a, b = (list(x)[0] for x in g.sort_values("side")["others"])  # alphabetically first other street at each end
        name = qp.block_places(store, [block_id])[0]
        street = g["street"].iloc[0]
        expect = f"{street}, between {min(a, b)} and {max(a, b)}" if a != b else f"{street}, near {a}"
        assert name == expect
    assert qp.block_places(store, [10**9]) == [""]
    assert qp.describe_block(None, None, None) == "Unnamed street"
    assert qp.describe_block("High Street", "Mill Lane", None) == "High Street, near Mill Lane"


def test_hexagon_is_named_after_the_nearest_landmark_or_street(store):
    lm = store.df("SELECT name, lat, lon FROM landmarks ORDER BY name LIMIT 1").iloc[0]
    cell = h3i.latlng_to_cell(lm["lat"], lm["lon"], 10)
    lat, lon = h3i.cell_to_latlng(cell)
    assert _metres(lat, lon, lm["lat"], lm["lon"]) < qp.LANDMARK_NEAR_M
    named = qp.nearest_places(store, [lat], [lon])[0]
    nearest = store.df("""SELECT name FROM landmarks ORDER BY pow(lat - ?, 2) + pow((lon - ?) * cos(radians(51.5)), 2)
                          LIMIT 1""", [lat, lon])["name"].iloc[0]
    assert named == f"near {nearest}"
    assert qp.nearest_places(store, [51.0], [-0.9]) == [""]  # nothing named within reach: no made-up name


def test_search_finds_streets_premises_landmarks_within_the_viewers_boroughs(store):
    street = store.df("""SELECT street FROM blocks WHERE borough_code = ? AND street NOT IN
                         (SELECT street FROM blocks WHERE borough_code <> ?) ORDER BY street LIMIT 1""",
                      [WESTMINSTER, WESTMINSTER])["street"].iloc[0]
    hits = qp.search(store, street[:-1], premises=True)
    mine = [h for h in hits if h.value.startswith("street:") and h.label.startswith(street)]
    assert mine, hits
    blk = store.df("SELECT street, borough_code, lat, lon FROM blocks WHERE block_id = ?", [mine[0].block_id]).iloc[0]
    assert blk["street"] == street and blk["borough_code"] == WESTMINSTER
    centre = store.df("SELECT avg(lat) AS lat, avg(lon) AS lon FROM blocks WHERE street = ? AND borough_code = ?",
                      [street, WESTMINSTER]).iloc[0]
    assert _metres(mine[0].lat, mine[0].lon, centre["lat"], centre["lon"]) < 1
    # a viewer scoped to Hackney finds nothing of Westminster, and a crafted value is refused
    hackney = ScopedStore(store, Scope(boroughs=(HACKNEY,)))
    assert not [h for h in qp.search(hackney, street[:-1], premises=True) if h.label.startswith(street)]
    assert qp.resolve(hackney, mine[0].value, premises=True) is None
    assert qp.resolve(store, mine[0].value, premises=True).block_id == mine[0].block_id
    prem = store.df("SELECT premises_id, name FROM premises WHERE borough_code = ? ORDER BY name LIMIT 1", [HACKNEY]).iloc[0]
    found = qp.search(hackney, prem["name"], premises=True)
    assert any(h.value == f"premises:{prem['premises_id']}" for h in found)
    assert not any(h.value.startswith("premises:") for h in qp.search(hackney, prem["name"], premises=False))
    assert qp.resolve(hackney, f"premises:{prem['premises_id']}", premises=False) is None
    lm = store.df("SELECT name, borough_code FROM landmarks ORDER BY name LIMIT 1").iloc[0]
    assert any(h.value == f"landmark:{lm['name']}|{lm['borough_code']}" for h in qp.search(store, lm["name"], premises=False))
    for bad in ("", "x", "%", "_%_", "' OR 1=1 --", "street:abc", "premises:"):
        assert qp.resolve(store, bad, premises=True) is None
        qp.search(store, bad, premises=True)  # no error for any text
    assert qp.search(store, "%%", premises=True) == []  # LIKE wildcards are searched as text


def test_search_result_moves_the_map_and_selects_the_place(signed_in, store):
    street = store.df("SELECT street, block_id FROM blocks WHERE borough_code = ? ORDER BY block_id LIMIT 1",
                      [HACKNEY])
    hit = qp.search(store, street["street"].iloc[0], premises=True)[0]
    with signed_in("analyst"):
        default = map_page.default_filters(None)
        st = map_page.parse_state("?unit=block", {HACKNEY}, default)
        from dash._callback_context import context_value
        from dash._utils import AttributeDict
        inputs = [{"id": {"type": map_page.FILTER, "name": "unit"}, "property": "value", "value": "block"}]
        context_value.set(AttributeDict(inputs_list=[inputs], triggered_inputs=[{"prop_id": f"{map_page.Ids.SEARCH}.value",
                                                                                 "value": hit.value}],
                                        states_list=[], outputs_list=[]))
        q, entry, fly = map_page.collect(["block"], None, None, None, None, None, None, hit.value, st.query(default))
    state = map_page.parse_state(q, {HACKNEY}, default)
    assert state.f.place == ("block", hit.block_id) and state.zoom == hit.zoom
    blk = store.df("SELECT lat, lon FROM blocks WHERE block_id = ?", [hit.block_id]).iloc[0]  # the map centres on it
    assert _metres(state.center["lat"], state.center["lon"], blk["lat"], blk["lon"]) < 15
    assert entry == history_entry(q, push=True)
    # the map is moved there even when nothing else on it changes (assets/map.js jumps to `fly`)
    assert fly["zoom"] == hit.zoom and _metres(fly["lat"], fly["lon"], state.center["lat"], state.center["lon"]) < 10


def test_selected_unit_is_outlined_and_the_legend_sits_beside_the_map(signed_in, store):
    cell = store.df(f"SELECT h3_r9 AS c FROM incidents WHERE borough_code = '{HACKNEY}' AND h3_r9 IS NOT NULL LIMIT 1")["c"].iloc[0]
    with signed_in("analyst"):
        out = map_page.render(f"?borough={HACKNEY}&place=h3_r9:{int(cell):x}&v=51.545,-0.055,12.5", None)
    fig = out[0]
    units = fig["data"][0]
    ring = h3i.cell_to_boundary(int(cell))
    coords = out[10]  # drawn by assets/map.js on the map itself: a click redraws the line, not every hexagon
    assert len(coords) == len(ring) + 1 and coords[0] == coords[-1]
    assert np.allclose([c[1] for c in coords[:-1]], [p[0] for p in ring])
    assert np.allclose([c[0] for c in coords[:-1]], [p[1] for p in ring])
    assert units["showscale"] is False and fig["layout"]["showlegend"] is False  # no key drawn on the map
    legend = json.dumps(out[9], default=str)
    assert "Hexagons: incidents" in legend and "100+" in legend and "selected place" in legend
    assert all(t.startswith("Hexagon") for t in units["text"])
    with signed_in("analyst"):
        gi = map_page.render(f"?borough={HACKNEY}&color=gi&premises=1&layers=units-top&op=0.4", None)
    legend = json.dumps(gi[9], default=str)
    assert "hot, FDR < 5 %" in legend and "late night refreshment" in legend and "under" in legend
    premises = [t for t in gi[0]["data"] if t["name"].startswith("premises")]
    assert premises and all(t["below"] == "plotly-trace-layer-units-fill" for t in premises)
    assert gi[0]["data"][0]["marker"]["opacity"] == 0.4
    assert all(t["cluster"]["enabled"] for t in premises)


def test_view_state_keeps_layers_and_opacity_and_refuses_nonsense():
    default = map_page.default_filters(None)
    st = map_view.parse_state("?op=0.6&layers=units-top", set(), default)
    assert st.opacity == 0.6 and not st.premises_on_top
    assert "op=0.6" in st.query(default) and "layers=units-top" in st.query(default)
    odd = map_view.parse_state("?op=banana", set(), default)
    assert odd.opacity == 0.85 and any("op=banana" in n for n in odd.notes)
    assert map_view.parse_state("?op=7", set(), default).opacity == 1.0  # the nearest offered value


@pytest.mark.parametrize("text,found", [("Mill", True), ("zzqx", False), ("E1", None), ("SW1A 1AA", None)])
def test_search_options_are_labelled_and_none_when_nothing_matches(signed_in, text, found):
    with signed_in("analyst"):
        opts = map_page.search_options(text, None, [])
    assert all(o["label"].split(":")[0] in ("Street", "Premises", "Landmark", "Postcode") and ":" in o["value"]
               for o in opts)
    if found is not None:
        assert bool(opts) == found  # nothing found: no option to choose (the box says so itself)


def test_a_selected_street_block_is_outlined_around_its_line(signed_in, store):
    blk = store.df("SELECT block_id, lat, lon, length_m FROM blocks WHERE borough_code = ? AND length_m > 40 "
                   "ORDER BY block_id LIMIT 1", [HACKNEY]).iloc[0]
    with signed_in("analyst"):
        out = map_page.render(f"?borough={HACKNEY}&unit=block&place=block:{int(blk['block_id'])}", None)
    coords = np.asarray(out[10])
    assert len(coords) >= 5 and (coords[0] == coords[-1]).all()  # a closed ring
    # around the block: every corner within half a street plus its length of the block's middle
    d = [_metres(lat, lon, blk["lat"], blk["lon"]) for lon, lat in coords]
    assert max(d) < blk["length_m"] / 2 + 30 and "street block" in str(out[6])
