"""Tables on AG Grid (dash-ag-grid): one look for every table in the product.

Columns resize, the first column stays pinned while the rest scroll, counts are right-aligned and
sort as numbers even where the disclosure policy shows "<5" or "*", and the columns are sized to
the width of the page in proportion (headers wrap instead of widening a column).
"""
from __future__ import annotations

import dash_ag_grid as dag
import pandas as pd

from data.access.disclosure import SMALL

COUNT, TEXT = "count", "text"
# where a protected value sorts: "<5" with the small counts it stands for, "*" and blanks first
SMALL_KEY, HIDDEN_KEY = 2.5, -1.0


def column(field: str, header: str, kind: str = TEXT, *, min_width: int = 70, width: int | None = None,
           sortable: bool = True, **extra) -> dict:
    """One column definition: kind COUNT is right-aligned and sorts protected values in place.

    Columns share the grid's width in proportion to `width` (default: min_width) and never shrink
    below min_width; past that the grid scrolls sideways with the first column pinned.
    """
    col = {"field": field, "headerName": header, "minWidth": min_width, "flex": width or min_width, "sortable": sortable}
    if kind == COUNT:
        col.update(type="rightAligned", comparator={"function": "istvCountComparator"})
    col.update(extra)
    return col


def pinned(columns: list[dict]) -> list[dict]:
    """Column definitions with the first one pinned to the left (what data_grid shows; a callback that
    changes a grid's columns returns these)."""
    first = {k: v for k, v in columns[0].items() if k != "flex"}  # a pinned column keeps its width
    return [dict(first, pinned="left", lockPinned=True, width=first["minWidth"])] + [dict(c) for c in columns[1:]]


def data_grid(grid_id: str, columns: list[dict], *, row_id: str | None = None, page_size: int | None = None,
              infinite: bool = False, height: str | None = None, **props) -> dag.AgGrid:
    """An AgGrid with the product's defaults; the first column is pinned to the left.

    infinite: rows come from the server a page at a time (`getRowsRequest` → `getRowsResponse`),
    sorted there too; otherwise `rowData` holds every row and the browser sorts.
    height: a CSS height for long tables (rows scroll inside); None grows the grid to its rows.
    """
    columns = pinned(columns)
    options = {"suppressCellFocus": False, "enableCellTextSelection": True, "ensureDomOrder": True,
               "tooltipShowDelay": 300, "suppressDragLeaveHidesColumns": True,
               # every column is drawn (they are sized to fit), so a test and a screen reader see them all
               "suppressColumnVirtualisation": True}
    if page_size:
        options.update(pagination=True, paginationPageSize=page_size, paginationPageSizeSelector=False)
    if infinite:
        options.update(cacheBlockSize=page_size or 100, maxBlocksInCache=20, infiniteInitialRowCount=1)
    if height is None:
        options["domLayout"] = "autoHeight"
    grid = dict(
        id=grid_id, columnDefs=columns,
        defaultColDef={"resizable": True, "wrapHeaderText": True, "autoHeaderHeight": True, "suppressMovable": True,
                       "cellStyle": {"fontSize": "0.8rem"}},
        dashGridOptions=options, className="ag-theme-quartz istv-grid",
        style={"height": height} if height else {"width": "100%"},
    )
    if row_id:
        grid["getRowId"] = f"params.data.{row_id}"
    if infinite:
        grid["rowModelType"] = "infinite"
    grid.update(props)
    return dag.AgGrid(**grid)


def count_key(value) -> float:
    """Where a shown count sorts: its number; "<5" among the small counts; "*", blanks and text first."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and pd.notna(value):
        return float(value)
    if value == SMALL:
        return SMALL_KEY
    text = str(value if value is not None else "").replace(",", "").rstrip("%").strip()
    try:
        return float(text.lstrip("+"))
    except ValueError:  # "*", "–", blanks: nothing to order by
        return HIDDEN_KEY


def sort_shown(shown: pd.DataFrame, sort_model: list[dict] | None, count_columns: set[str]) -> pd.DataFrame:
    """The rows in the order an AG Grid sort model asks for, sorting the values as shown (never the
    hidden values behind "<5"), ties kept in their current order. Unknown columns are ignored."""
    order = [s for s in (sort_model or []) if isinstance(s, dict) and s.get("colId") in shown.columns
             and s.get("sort") in ("asc", "desc")]
    if not order:
        return shown
    keys, ascending = [], []
    for s in order:
        col = s["colId"]
        key = shown[col].map(count_key) if col in count_columns else shown[col].astype(str).str.casefold()
        keys.append(key.rename(f"__k{len(keys)}").reset_index(drop=True))
        ascending.append(s["sort"] == "asc")
    frame = pd.concat(keys, axis=1)
    idx = frame.sort_values(list(frame.columns), ascending=ascending, kind="stable").index
    return shown.iloc[idx.to_numpy()]


def page_request(request: dict | None, page_size: int, limit: int = 500) -> tuple[int, int, list[dict]]:
    """(start, end, sort model) of an infinite-model request, clamped to sane bounds (a hand-made
    request cannot ask for a million rows)."""
    request = request if isinstance(request, dict) else {}
    try:
        start = max(0, int(request.get("startRow") or 0))
        end = int(request.get("endRow") or start + page_size)
    except (TypeError, ValueError):
        start, end = 0, page_size
    end = max(start, min(end, start + limit))
    sort_model = request.get("sortModel") if isinstance(request.get("sortModel"), list) else []
    return start, end, sort_model
