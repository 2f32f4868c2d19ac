"""Security headers on every response: pages, Dash callbacks, downloads, packs, errors and redirects.

The Content-Security-Policy lets the browser run only the app's own scripts (the files Dash serves
from /_dash-component-suites/ and /assets/) plus Dash's inline renderer script by its hash, and
fetch nothing from another host. Static files keep their caching; everything else is `no-store`
because it holds data a signed-in person saw (a shared or kiosk machine must not keep it).
"""
from __future__ import annotations

from collections.abc import Sequence

from flask import Response, request

from config import Config

STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
STATIC_PATHS = ("/_favicon.ico",)
# Responses that set their own Cache-Control (`private`, never `public`): the base map's tiles (geography,
# no incident data, at URLs naming the data version) and glyph fonts. Their errors are still no-store.
SELF_CACHED_PREFIXES = ("/basemap/",)
HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(script_hashes: Sequence[str] = ()) -> str:
    """The policy string; script_hashes are CSP source expressions ("'sha256-...'") of allowed inline scripts."""
    directives = {
        "default-src": ["'self'"],
        # Dash's bundles and our assets are files from this host; the one inline script Dash writes
        # into its index page (`var renderer = new DashRenderer();`) is allowed by its hash. No
        # 'unsafe-inline', no 'unsafe-eval': plotly.js (incl. its map traces), AG Grid, Bootstrap
        # components and Dash ran every page for every role without one eval (test_csp_browser.py).
        "script-src": ["'self'", *script_hashes],
        # MapLibre (plotly's scattermap/choroplethmap) starts its workers from a blob: URL of its
        # bundled worker code; blocked, the map never finishes loading. Only workers, not page scripts.
        "worker-src": ["blob:"],
        # 'unsafe-inline' for styles only, as without it Chromium blocked: React's `style` attributes,
        # the <style> elements plotly.js and AG Grid inject at run time, the login page's and packs'
        # own inline CSS. Styles run no code; scripts stay hash-only.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],  # plotly's images and icons are data:, MapLibre's blob:
        "connect-src": ["'self'"],  # callbacks, map styles, tiles and glyphs: this host only
        "font-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],  # the login and sign-out forms post here
        "frame-ancestors": ["'none'"],  # with X-Frame-Options: DENY for older browsers (clickjacking)
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def is_static(path: str) -> bool:
    """Versioned files Dash serves (bundles, assets, favicon): these may be cached."""
    return path.startswith(STATIC_PREFIXES) or path in STATIC_PATHS


def security_headers(path: str, *, production: bool, script_hashes: Sequence[str] = ()) -> dict[str, str]:
    """The headers every response to `path` carries (HSTS only in production, which is served over HTTPS)."""
    headers = {
        "Content-Security-Policy": content_security_policy(script_hashes),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    if production:
        headers["Strict-Transport-Security"] = HSTS
    if not is_static(path):
        headers["Cache-Control"] = "no-store"
    return headers


def apply_headers(response: Response, path: str, *, production: bool,
                  script_hashes: Sequence[str] = ()) -> Response:
    """Set the security headers on a response (replacing any the handler set) and return it."""
    headers = security_headers(path, production=production, script_hashes=script_hashes)
    own = response.headers.get("Cache-Control", "")
    if (path.startswith(SELF_CACHED_PREFIXES) and response.status_code == 200 and own.startswith("private")
            and "Cache-Control" in headers):
        del headers["Cache-Control"]
    for name, value in headers.items():
        response.headers[name] = value
    return response


def init_headers(app, config: Config) -> None:
    """Register the headers on the Dash app's server (after_request runs for errors and redirects too)."""
    server = app.server

    @server.after_request
    def add_security_headers(response: Response) -> Response:
        # Hashed at response time, not at start-up: callbacks (and any inline clientside ones) are
        # registered after this runs. Hashing a few short strings costs microseconds.
        return apply_headers(response, request.path, production=config.production, script_hashes=app.csp_hashes())
