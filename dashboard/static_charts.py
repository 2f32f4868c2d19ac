"""Static SVG of the pages' own Plotly figures, for the printable packs and reports.

Plotly's exporter (kaleido) drives a headless Chromium: Debian's `chromium` package, found on the
PATH or at ISTV_CHROMIUM. One browser per worker process, started on the first pack (never before
gunicorn forks its workers), with two tabs; calls from the worker's threads queue on one event loop.
Offline by construction: plotly.js comes from the plotly package, MathJax is off, and the browser
is given a proxy that does not exist, so nothing it does can reach another host.

Without Chromium a pack still has every number in its tables; each chart is replaced by a note
saying why it is missing and how to add it.
"""
from __future__ import annotations

import asyncio
import atexit
import logging
import os
import shutil
import threading
from html import escape

import plotly.graph_objects as go

DEAD_PROXY = "127.0.0.1:9"  # the discard port: refused at once, so Chromium's own background calls go nowhere
RENDER_TIMEOUT_S = 60
log = logging.getLogger("istv.charts")


class ChartsUnavailable(RuntimeError):
    """No Chromium to draw charts with (or it would not start)."""


def find_chromium(configured: str = "") -> str | None:
    """The browser to draw with: ISTV_CHROMIUM when set, else `chromium` on the PATH."""
    if configured:
        return configured if os.path.exists(configured) or shutil.which(configured) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


class ChartRenderer:
    """A headless Chromium kept open by kaleido; `svg(figure)` returns the figure as SVG text."""

    def __init__(self, browser: str | None, tabs: int = 2):
        if not browser:
            raise ChartsUnavailable("no Chromium found (install Debian's `chromium` package or set ISTV_CHROMIUM)")
        import kaleido  # heavy, and only needed once a pack is asked for
        logging.getLogger("choreographer").setLevel(logging.CRITICAL)  # a harmless JSON error is logged at close
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="istv-charts", daemon=True)
        self._thread.start()
        self._kaleido = kaleido.Kaleido(n=tabs, timeout=RENDER_TIMEOUT_S, mathjax=False, path=browser,
                                        proxy_server=DEAD_PROXY)
        try:
            self._run(self._kaleido.open())
        except Exception as exc:  # noqa: BLE001  kaleido raises RuntimeError subclasses and timeouts
            self._loop.call_soon_threadsafe(self._loop.stop)
            raise ChartsUnavailable(f"Chromium at {browser} would not start: {exc}") from None
        atexit.register(self.close)

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(RENDER_TIMEOUT_S)

    def svg(self, figure: dict | go.Figure, width: int, height: int) -> str:
        spec = figure.to_dict() if isinstance(figure, go.Figure) else figure
        data = self._run(self._kaleido.calc_fig(spec, opts={"format": "svg", "width": width, "height": height}))
        return data.decode("utf-8") if isinstance(data, bytes) else str(data)

    def close(self) -> None:
        try:
            self._run(self._kaleido.close())
        except Exception:  # noqa: BLE001  closing at exit: nothing left to tell anyone
            pass
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)


_lock = threading.Lock()
_renderers: dict[tuple[int, str], ChartRenderer | ChartsUnavailable] = {}


def renderer(configured: str = "") -> ChartRenderer:
    """This process's renderer (started on first use; a failed start is remembered, not retried per chart)."""
    key = (os.getpid(), configured)
    with _lock:
        found = _renderers.get(key)
        if found is None:
            try:
                found = ChartRenderer(find_chromium(configured))
            except ChartsUnavailable as exc:
                log.warning("charts unavailable: %s", exc)
                found = exc
            _renderers[key] = found
    if isinstance(found, ChartsUnavailable):
        raise found
    return found


def figure_svg(figure: dict | go.Figure, width: int, height: int, configured: str = "") -> str:
    """A figure as inline SVG for a printable page, or a note saying why the chart is missing."""
    try:
        svg = renderer(configured).svg(figure, width, height)
    except ChartsUnavailable as exc:
        return _missing(str(exc))
    except Exception as exc:  # noqa: BLE001  a chart that fails must not take the pack's numbers with it
        log.exception("chart not drawn")
        return _missing(f"the chart could not be drawn ({type(exc).__name__})")
    # the figure's own XML prolog would be invalid inside an HTML page
    start = svg.find("<svg")
    return f'<div class="chart">{svg[start:] if start >= 0 else svg}</div>'


def _missing(reason: str) -> str:
    return f'<p class="chart-missing text-muted small">[Chart not drawn: {escape(reason)}. The table holds the same numbers.]</p>'


def pack_draw(config):
    """The `draw` function the packs take: this deployment's Chromium, figure → inline SVG."""
    return lambda figure, width, height: figure_svg(figure, width, height, getattr(config, "chromium", ""))
