"""Reading an AG Grid the way a person sees it: the cells on screen, by row and column."""
from __future__ import annotations

import time

ROWS_JS = """(id) => {
  const root = document.getElementById(id);
  if (!root) { return []; }
  const rows = {};
  root.querySelectorAll('.ag-row[row-index]').forEach(r => {
    const i = +r.getAttribute('row-index');
    rows[i] = rows[i] || {};
    r.querySelectorAll('.ag-cell[col-id]').forEach(c => { rows[i][c.getAttribute('col-id')] = c.innerText.trim(); });
  });
  return Object.keys(rows).map(Number).sort((a, b) => a - b).map(k => rows[k]);
}"""

FIT_JS = """(id) => {
  const root = document.getElementById(id);
  const box = root.getBoundingClientRect();
  const viewport = root.querySelector('.ag-center-cols-viewport');
  const headers = [...root.querySelectorAll('.ag-header-cell[col-id]')].map(h => {
    const r = h.getBoundingClientRect();
    const text = h.querySelector('.ag-header-cell-text');
    return {col: h.getAttribute('col-id'), left: r.left, right: r.right, width: r.width,
            cut: !!text && text.scrollWidth > text.clientWidth + 1};
  });
  return {left: box.left, right: box.right, scroll: viewport.scrollWidth, client: viewport.clientWidth, headers};
}"""


def grid_rows(page, grid_id: str) -> list[dict]:
    """The rendered rows of a grid, top to bottom, each {column id: text shown}."""
    return page.evaluate(ROWS_JS, grid_id)


def wait_for_rows(page, grid_id: str, timeout: float = 30000) -> None:
    page.wait_for_function(f"document.querySelectorAll('#{grid_id} .ag-row[row-index] .ag-cell').length > 0",
                           timeout=timeout)


def columns_fit(page, grid_id: str, expected: list[str]) -> list[str]:
    """Problems with the grid's width: a column missing, outside the grid, its header cut short, or a sideways scroll."""
    fit = page.evaluate(FIT_JS, grid_id)
    problems = []
    shown = {h["col"]: h for h in fit["headers"]}
    for col in expected:
        h = shown.get(col)
        if h is None:
            problems.append(f"{col}: not drawn")
        elif h["left"] < fit["left"] - 1 or h["right"] > fit["right"] + 1 or h["width"] < 30:
            problems.append(f"{col}: clipped ({h['left']:.0f}-{h['right']:.0f} in {fit['left']:.0f}-{fit['right']:.0f})")
        elif h["cut"]:
            problems.append(f"{col}: header text cut short")
    if fit["scroll"] > fit["client"] + 1:
        problems.append(f"scrolls sideways: {fit['scroll']} px of content in {fit['client']} px")
    return problems


def fits_at(page, grid_id: str, expected: list[str], width: int, timeout: float = 10.0) -> list[str]:
    """columns_fit after the window is resized to `width` px (polled: the grid re-sizes its columns)."""
    page.set_viewport_size({"width": width, "height": 900})
    deadline = time.monotonic() + timeout
    while True:
        problems = columns_fit(page, grid_id, expected)
        if not problems or time.monotonic() > deadline:
            return problems
        page.wait_for_timeout(100)
