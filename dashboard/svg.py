"""Small static charts as inline SVG for printable reports (no browser, no internet, prints cleanly).

Plain functions: data in, an SVG string out. Text is escaped; sizes are in CSS pixels.
"""
from __future__ import annotations

from html import escape

import numpy as np

FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _frame(width: int, height: int, body: str, title: str = "") -> str:
    label = f'<title>{escape(title)}</title>' if title else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img">{label}{body}</svg>')


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    mag = 10 ** np.floor(np.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * mag:
            return float(m * mag)
    return float(v)


def line_chart(x_labels: list[str], series: dict[str, list[float]], colours: dict[str, str] | None = None,
               width: int = 640, height: int = 220, title: str = "") -> str:
    """Lines over categorical x labels (months); None values are gaps."""
    colours = colours or {}
    left, right, top, bottom = 44, 10, 24, 30
    n = len(x_labels)
    vals = [v for s in series.values() for v in s if v is not None]
    ymax = _nice_max(max(vals) if vals else 0)
    xs = lambda i: left + (width - left - right) * (i / max(n - 1, 1))  # noqa: E731
    ys = lambda v: top + (height - top - bottom) * (1 - v / ymax)  # noqa: E731
    parts = [f'<line x1="{left}" y1="{ys(0):.1f}" x2="{width - right}" y2="{ys(0):.1f}" stroke="#999"/>']
    for frac in (0.5, 1.0):
        y = ys(ymax * frac)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{ymax * frac:,.0f}</text>')
    step = max(1, n // 8)
    for i in range(0, n, step):
        anchor = "end" if i == n - 1 and n > 1 else "start" if i == 0 else "middle"  # keep edge labels inside
        parts.append(f'<text x="{xs(i):.1f}" y="{height - 10}" text-anchor="{anchor}" {FONT}>{escape(str(x_labels[i]))}</text>')
    for k, (name, values) in enumerate(series.items()):
        colour = colours.get(name, ("#c0392b", "#2c3e50", "#7f8c8d")[k % 3])
        runs, run = [], []
        for i, v in enumerate(values):
            if v is None or (isinstance(v, float) and np.isnan(v)):
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(f"{xs(i):.1f},{ys(v):.1f}")
        if run:
            runs.append(run)
        for r in runs:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(r)}"/>')
        parts.append(f'<rect x="{left + 140 * k}" y="6" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{left + 14 + 140 * k}" y="15" {FONT}>{escape(name)}</text>')
    return _frame(width, height, "".join(parts), title)


def bar_chart(labels: list[str], values: list[float], width: int = 640, height: int = 220,
              colour: str = "#d7301f", title: str = "", value_labels: list[str] | None = None) -> str:
    """Vertical bars with their value above each (value_labels override, e.g. '<5')."""
    left, right, top, bottom = 10, 10, 18, 34
    n = max(len(values), 1)
    ymax = _nice_max(max(values) if len(values) else 0)
    bw = (width - left - right) / n
    parts = []
    for i, (lab, v) in enumerate(zip(labels, values)):
        h = (height - top - bottom) * (v / ymax)
        x = left + i * bw
        text = value_labels[i] if value_labels else f"{v:,.0f}"
        parts.append(f'<rect x="{x + 2:.1f}" y="{height - bottom - h:.1f}" width="{bw - 4:.1f}" height="{h:.1f}" fill="{colour}"/>'
                     f'<text x="{x + bw / 2:.1f}" y="{height - bottom - h - 3:.1f}" text-anchor="middle" {FONT}>{escape(str(text))}</text>'
                     f'<text x="{x + bw / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle" {FONT}>{escape(str(lab))[:14]}</text>')
    return _frame(width, height, "".join(parts), title)


def heatmap(rows: list[str], cols: list[str], values: np.ndarray, width: int = 640, height: int = 200,
            title: str = "") -> str:
    """A grid of cells shaded by value (e.g. weekday x hour); values NaN are blank."""
    values = np.asarray(values, float)
    left, top = 40, 14
    cw = (width - left - 4) / max(len(cols), 1)
    ch = (height - top - 4) / max(len(rows), 1)
    vmax = np.nanmax(values) if np.isfinite(values).any() and np.nanmax(values) > 0 else 1.0
    parts = []
    for j, c in enumerate(cols):
        if j % 3 == 0:
            parts.append(f'<text x="{left + j * cw + cw / 2:.1f}" y="10" text-anchor="middle" {FONT}>{escape(str(c))}</text>')
    for i, r in enumerate(rows):
        parts.append(f'<text x="{left - 4}" y="{top + i * ch + ch / 2 + 4:.1f}" text-anchor="end" {FONT}>{escape(str(r))}</text>')
        for j in range(len(cols)):
            v = values[i, j]
            if not np.isfinite(v):
                continue
            shade = int(255 - 200 * (v / vmax))
            parts.append(f'<rect x="{left + j * cw:.1f}" y="{top + i * ch:.1f}" width="{cw - 1:.1f}" height="{ch - 1:.1f}" '
                         f'fill="rgb(255,{shade},{max(shade - 40, 0)})"><title>{escape(str(r))} {escape(str(c))}: {v:,.0f}</title></rect>')
    return _frame(width, height, "".join(parts), title)


def map_svg(lines: list[list[tuple[float, float]]], points: list[tuple[float, float, str]] | None = None,
            outlines: list[list[tuple[float, float]]] | None = None, highlight: list[list[tuple[float, float]]] | None = None,
            width: int = 640, height: int = 420, title: str = "") -> str:
    """A static map: outlines (grey), lines (dark), highlighted lines (red), points (lon, lat, label).

    Coordinates are (lon, lat); the view fits everything given, with longitude scaled by cos(latitude).
    """
    everything = [p for group in (lines, outlines or [], highlight or []) for line in group for p in line]
    everything += [(x, y) for x, y, _ in points or []]
    if not everything:
        return _frame(width, height, f'<text x="10" y="20" {FONT}>Nothing to map</text>', title)
    xs, ys = np.array([p[0] for p in everything]), np.array([p[1] for p in everything])
    k = np.cos(np.radians(ys.mean()))
    minx, maxx, miny, maxy = xs.min(), xs.max(), ys.min(), ys.max()
    span = max((maxx - minx) * k, maxy - miny, 1e-4) * 1.1
    scale = min(width, height) / span
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    proj = lambda lon, lat: (width / 2 + (lon - cx) * k * scale, height / 2 - (lat - cy) * scale)  # noqa: E731

    def path(line, colour, w):
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (proj(*p) for p in line))
        return f'<polyline fill="none" stroke="{colour}" stroke-width="{w}" points="{pts}"/>'

    parts = [path(o, "#bbb", 1) for o in outlines or []] + [path(line, "#555", 1.2) for line in lines]
    parts += [path(line, "#d7301f", 4) for line in highlight or []]
    for lon, lat, label in points or []:
        x, y = proj(lon, lat)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#2c3e50"/><text x="{x + 6:.1f}" y="{y + 4:.1f}" {FONT}>{escape(label)}</text>')
    return _frame(width, height, "".join(parts), title)
