"""Tables on AG Grid: column defaults, server-side sort of shown values, request clamping."""
from __future__ import annotations

import pandas as pd

from dashboard.components.grid import COUNT, column, count_key, data_grid, page_request, sort_shown


def test_counts_sort_by_what_is_shown_and_small_cells_tie():
    assert [count_key(v) for v in (7, "12", "1,204", "<5", "*", "–", "", None, "+3", "-2", "25%")] == \
        [7, 12, 1204, 2.5, -1, -1, -1, -1, 3, -2, 25]


def test_sort_shown_orders_values_as_displayed_keeping_ties_in_rank_order():
    shown = pd.DataFrame({"rank": [1, 2, 3, 4, 5], "name": ["b", "A", "c", "a", "d"],
                          "total": [40, "<5", 9, "<5", "*"]})
    asc = sort_shown(shown, [{"colId": "total", "sort": "asc"}], {"rank", "total"})
    # "*" first, the two "<5" in their rank order (a sort never orders the hidden values), then 9, 40
    assert asc["rank"].tolist() == [5, 2, 4, 3, 1]
    desc = sort_shown(shown, [{"colId": "total", "sort": "desc"}], {"rank", "total"})
    assert desc["rank"].tolist() == [1, 3, 2, 4, 5]
    by_name = sort_shown(shown, [{"colId": "name", "sort": "asc"}], {"rank", "total"})
    assert by_name["name"].tolist() == ["A", "a", "b", "c", "d"]
    # unknown columns and bad directions are ignored
    assert sort_shown(shown, [{"colId": "secret", "sort": "asc"}, {"colId": "total", "sort": "up"}], set()).equals(shown)


def test_page_request_is_clamped():
    assert page_request(None, 12) == (0, 12, [])
    assert page_request({"startRow": 24, "endRow": 36, "sortModel": [{"colId": "x", "sort": "asc"}]}, 12) == \
        (24, 36, [{"colId": "x", "sort": "asc"}])
    assert page_request({"startRow": -5, "endRow": 10**9}, 12) == (0, 500, [])
    assert page_request({"startRow": "x"}, 12) == (0, 12, [])
    assert page_request({"startRow": 10, "endRow": 3, "sortModel": "drop table"}, 12) == (10, 10, [])


def test_grid_pins_the_first_column_and_right_aligns_counts():
    grid = data_grid("g", [column("name", "Name"), column("n", "Count", COUNT)], row_id="id", page_size=12, infinite=True)
    first, count = grid.columnDefs
    assert first["pinned"] == "left" and "pinned" not in count
    assert count["type"] == "rightAligned" and count["comparator"] == {"function": "istvCountComparator"}
    assert grid.rowModelType == "infinite" and grid.getRowId == "params.data.id"
    assert grid.dashGridOptions["paginationPageSize"] == 12 and grid.dashGridOptions["cacheBlockSize"] == 12
    assert grid.defaultColDef["resizable"] is True and first["width"] == 70 and "flex" not in first and count["flex"] == 70
    assert column("a", "A", min_width=50, width=120)["flex"] == 120
