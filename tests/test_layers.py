import numpy as np
import pytest
import shapely
from h3.api import basic_int as h3i

from layers.blocks import BlockIndex, from_bng, to_bng
from layers.hexes import cells_to_parent, h3_columns, latlng_to_cells, resolution_for_zoom


def test_parent_by_bits_equals_h3_cell_to_parent():
    rng = np.random.default_rng(0)
    lat, lon = 51.28 + rng.random(500) * 0.42, -0.51 + rng.random(500) * 0.85
    cells = latlng_to_cells(lat, lon, 10)
    for res in (7, 8, 9):
        parents = cells_to_parent(cells, res)
        assert [int(p) for p in parents] == [h3i.cell_to_parent(int(c), res) for c in cells]


def test_h3_columns_leave_missing_points_missing():
    cols = h3_columns([51.5074, np.nan], [-0.1278, -0.1])
    assert cols["h3_r10"].iloc[0] == h3i.latlng_to_cell(51.5074, -0.1278, 10)
    assert cols["h3_r7"].iloc[0] == h3i.latlng_to_cell(51.5074, -0.1278, 7)
    assert all(cols[f"h3_r{r}"].isna().iloc[1] for r in (7, 8, 9, 10))


def test_zoom_picks_finer_hexes_closer_in():
    assert [resolution_for_zoom(z) for z in (8, 9.2, 11.8, 14)] == [7, 8, 9, 10]


@pytest.fixture
def tiny_network():
    # an L of two 100 m streets meeting at a junction at (530000, 180000) near Trafalgar Square,
    # and a third far away
    lines = [shapely.LineString([(530000, 180000), (530100, 180000)]),
             shapely.LineString([(530000, 180000), (530000, 180100)]),
             shapely.LineString([(531000, 181000), (531100, 181000)])]
    return BlockIndex(lines, [11, 12, 13])


def _latlon(xy):
    x, y = np.array(xy, float).T
    return from_bng(x, y)


def test_point_10m_from_a_block_gets_it_and_80m_gets_none(tiny_network):
    lat, lon = _latlon([(530050, 180010), (530050, 179920), (530030, 180080), (531050, 180990)])
    ids, dist = tiny_network.assign(lat, lon, max_distance_m=50)
    assert ids.tolist() == [11, -1, 12, 13]
    assert dist[0] == pytest.approx(10, abs=0.05)
    assert np.isnan(dist[1])
    assert dist[2] == pytest.approx(30, abs=0.05)  # 30 m from the north street, 80 m from the east one
    assert dist[3] == pytest.approx(10, abs=0.05)


def test_equidistant_point_goes_to_lower_block_id_and_missing_coordinates_to_none(tiny_network):
    lat, lon = _latlon([(530010, 180010)])  # 10 m from both streets of the L
    ids, _ = tiny_network.assign(np.append(lat, np.nan), np.append(lon, 0.0))
    assert ids.tolist() == [11, -1]


def test_bng_round_trip_is_sub_millimetre():
    x, y = to_bng(51.5080, -0.1281)
    lat, lon = from_bng(x, y)
    assert (lat, lon) == pytest.approx((51.5080, -0.1281), abs=1e-7)
    assert 529000 < x < 531000 and 179500 < y < 181500  # Trafalgar Square is at about (530000, 180500)
