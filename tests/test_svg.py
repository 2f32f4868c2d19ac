import numpy as np

from dashboard.svg import bar_chart, heatmap, line_chart, map_svg


def test_line_chart_breaks_lines_at_gaps_and_escapes_labels():
    s = line_chart(["Jan", "Feb", "<Mar>"], {"ED": [1, None, 3], "Police & co": [5, 6, 7]})
    assert s.count("<polyline") == 3  # ED in two runs around the gap, police in one
    assert "&lt;Mar&gt;" in s and "Police &amp; co" in s


def test_bar_chart_prints_value_labels():
    s = bar_chart(["a", "b"], [3, 40], value_labels=["<5", "40"])
    assert s.count("<rect") == 2 and "&lt;5" in s and ">40<" in s


def test_heatmap_skips_missing_cells_and_map_fits_points():
    s = heatmap(["Mon", "Tue"], ["0", "1"], np.array([[1, 2], [np.nan, 4]]))
    assert s.count("<rect") == 3
    m = map_svg([[(-0.1, 51.5), (-0.09, 51.51)]], [(-0.1, 51.5, "Pub")], highlight=[[(-0.1, 51.5), (-0.095, 51.505)]])
    assert m.count("<polyline") == 2 and "Pub" in m
    assert "Nothing to map" in map_svg([], [])
