"""The Content-Security-Policy in a real browser: every page each role may open renders under it with
no violation, no page error and no request to another host; the printable packs print without inline
script."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from dashboard.shell import PAGES
from data.access.roles import ROLES
from data.access.users import DEMO_USERS

WESTMINSTER = "E09000033"
# what shows that a page has rendered its data (its main graph or grid), by path
READY = {
    "/": "#map-hexes .js-plotly-plot",
    "/premises": "#premises-table .ag-row",
    "/tasking": "#tasking-map .js-plotly-plot",
    "/trends": "#trends-ranking .js-plotly-plot",
    "/quality": "#quality-trend .js-plotly-plot",
    "/standard": "#standard-page",
    "/submissions": "#submissions-table, #submissions-empty",
    "/upload": "#upload-page",
    "/loads": "#loads-log .ag-root-wrapper",  # the demo is built, not loaded: its load log may be empty
    "/admin/users": "#users-list .ag-row",
    "/admin/audit": "#audit-list .ag-row",
}
# the page has settled: no Dash callback in flight, every plot drawn, every MapLibre map done loading
# its style, sources and tiles (its workers are running by then)
SETTLED = """() => {
  const root = document.querySelector('#page');
  if (!root || !root.children.length) return false;
  if (document.querySelector('._dash-loading, [data-dash-is-loading="true"]')) return false;
  for (const gd of root.querySelectorAll('.js-plotly-plot')) {
    const full = gd._fullLayout;
    if (!full) return false;
    for (const key of Object.keys(full)) {
      const sub = /^map[0-9]*$/.test(key) && full[key] && full[key]._subplot;
      if (sub && !(sub.map && sub.map.loaded())) return false;
    }
  }
  return true;
}"""
LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  const v = e.violatedDirective + ' ' + e.blockedURI;
  window.__csp.push(v);
  if (window.__istvViolation) { window.__istvViolation(v + ' @ ' + location.pathname); }
});
window.__printed = 0;
window.print = () => { window.__printed += 1; };  // the print dialog would block the test
"""


class Watch:
    """Everything one browser context reports: CSP violations, page errors, console messages, hosts."""

    def __init__(self, context, base: str):
        self.violations: list[str] = []
        self.errors: list[str] = []
        self.console: list[str] = []
        self.hosts: set[str] = set()
        self.app_host = urlsplit(base).netloc
        context.expose_function("__istvViolation", lambda v: self.violations.append(v))
        context.add_init_script(LISTEN)
        context.on("request", self._request)
        context.on("page", self.attach)

    def attach(self, page):
        page.on("pageerror", lambda exc: self.errors.append(f"{urlsplit(page.url).path}: {exc}"))
        page.on("console", lambda m: self.console.append(f"{m.type} {urlsplit(page.url).path}: {m.text}"))

    def _request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme not in ("data", "blob"):
            self.hosts.add(parts.netloc)

    def problems(self) -> dict:
        # a policy refusal shows in the console too ("Refused to ...", "violates ... Content Security
        # Policy"); console errors of any kind are listed, as a blocked resource may surface as one
        console = [m for m in self.console if m.startswith("error ") or "Content Security Policy" in m or "Refused to" in m]
        return {k: v for k, v in {
            "violations": self.violations, "console": console, "page errors": self.errors,
            "other hosts": sorted(self.hosts - {self.app_host}),
        }.items() if v}


def _pages_for(role: str) -> list[str]:
    return [path for path, mod in PAGES.items() if mod.PERMISSION in ROLES[role].permissions]


def _has_policy(response) -> bool:
    return "script-src 'self'" in response.headers.get("content-security-policy", "")


def sign_in(page, base: str, username: str):
    """Sign in through the login form; both the login page and the first page carry the policy."""
    password = next(p for u, p, *_ in DEMO_USERS if u == username)
    assert _has_policy(page.goto(base + "/login")), "no CSP on the login page"
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_response(lambda r: r.request.resource_type == "document" and urlsplit(r.url).path == "/") as first:
        page.click("#sign-in")
    assert _has_policy(first.value), "no CSP on the first page"
    page.wait_for_selector("#nav-user")


def _wait_rendered(page, path: str, watch: Watch):
    try:
        page.wait_for_selector(READY[path], timeout=20000)
        page.wait_for_function(SETTLED, timeout=20000)
    except Exception as exc:  # a blocked script or worker shows as a page that never renders: say why
        raise AssertionError(f"{path} did not render: {watch.problems()}") from exc
    assert page.locator("#forbidden").count() == 0, path


def test_every_page_covers_a_ready_signal():
    assert set(READY) == set(PAGES)


@pytest.mark.parametrize("role", [u for u, *_ in DEMO_USERS])
def test_every_page_of_every_role_runs_under_the_policy(browser, live_server, role):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        watch = Watch(context, live_server)
        page = context.new_page()
        sign_in(page, live_server, role)
        paths = _pages_for(role)
        assert paths[0] == "/" and "/standard" in paths
        # the map is the first page after signing in; the others are opened as a person does, from
        # the navigation bar (one document, so the bundles are not loaded and parsed again per page)
        _wait_rendered(page, "/", watch)
        for path in paths[1:]:
            page.click(f".navbar .nav-link[href='{path}']")
            _wait_rendered(page, path, watch)
        assert page.evaluate("() => window.__csp") == [], watch.problems()  # this document, every page opened in it
        assert watch.problems() == {}, role
    finally:
        context.close()


def test_premises_profile_runs_under_the_policy(browser, live_server, store):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        watch = Watch(context, live_server)
        page = context.new_page()
        sign_in(page, live_server, "analyst")
        pid = store.df("SELECT premises_id FROM premises WHERE borough_code = ? ORDER BY premises_id LIMIT 1",
                       [WESTMINSTER]).iloc[0, 0]
        # a premises profile: its mini-map labels the premises by name (a MapLibre text layer)
        page.goto(f"{live_server}/premises?borough={WESTMINSTER}&premises={pid}")
        page.wait_for_selector("#profile-map .js-plotly-plot", timeout=20000)
        _wait_rendered(page, "/premises", watch)
        assert page.evaluate("() => window.__csp") == [], watch.problems()
        assert watch.problems() == {}
    finally:
        context.close()


def test_packs_print_without_inline_script(browser, live_server, store):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        watch = Watch(context, live_server)
        page = context.new_page()
        sign_in(page, live_server, "analyst")
        pid = store.df("SELECT premises_id FROM premises WHERE borough_code = ? ORDER BY premises_id LIMIT 1",
                       [WESTMINSTER]).iloc[0, 0]
        for path in (f"/download/premises/{pid}/evidence.html?borough={WESTMINSTER}",
                     f"/download/tasking/pack.html?borough={WESTMINSTER}",
                     "/download/strategic/quality-report.html?site=RJ122&month=2025-11"):
            response = page.goto(live_server + path)
            assert response.status == 200, path
            assert _has_policy(response), path
            button = page.locator("#print-pack")
            assert button.is_visible(), path
            assert button.inner_text() in ("Print or save as PDF", "Print"), path
            button.click()
            page.wait_for_function("() => window.__printed === 1", timeout=5000)  # a function: CSP blocks eval of a string
            assert page.evaluate("() => window.__csp") == [], path
        assert watch.problems() == {}
    finally:
        context.close()
