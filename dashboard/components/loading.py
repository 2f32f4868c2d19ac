"""A loading state for anything slower than 300 ms: the old content dims under a spinner while a
callback redraws it (never stale content that looks current, never a flash on quick updates)."""
from __future__ import annotations

from dash import dcc

DELAY_MS = 300


def loading(child, *targets: tuple[str, str]) -> dcc.Loading:
    """`child` wrapped so it dims while a callback computes one of `targets` ((id, property) pairs)."""
    return dcc.Loading(child, target_components={i: p for i, p in targets} if targets else None,
                       delay_show=DELAY_MS, overlay_style={"visibility": "visible", "opacity": 0.5}, type="circle")
