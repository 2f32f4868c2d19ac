"""Load-test client side: one user's HTTP session replaying Dash callbacks, the request recorder and
helpers that walk a Dash layout and its dependencies. Part of `bench/load.py`.
"""
from __future__ import annotations

import http.cookiejar
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from bench.load_server import PASSWORD


# ---- one browser ----------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Recorder:
    """Every request's (step, label, status, ms, ok, t) from all threads."""

    def __init__(self):
        self.rows: list[tuple] = []
        self.lock = threading.Lock()
        self.t0 = time.perf_counter()

    def add(self, *row) -> None:
        with self.lock:
            self.rows.append(row + (time.perf_counter() - self.t0,))


class Browser:
    """A cookie jar and a urllib opener: one user's session; records each request."""

    def __init__(self, base: str, rec: Recorder | None = None, timeout: float = 60):
        self.base, self.rec, self.timeout = base, rec, timeout
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect)
        self.step = ""
        self.deps: dict[str, dict] = {}

    def request(self, method: str, path: str, label: str, body: bytes | None = None, ctype: str | None = None,
                expect=(200,)) -> tuple[int, bytes]:
        req = urllib.request.Request(self.base + path, data=body, method=method)
        if ctype:
            req.add_header("Content-Type", ctype)
        t = time.perf_counter()
        try:
            with self.opener.open(req, timeout=self.timeout) as r:
                status, data = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, data = e.code, e.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
            status, data = 0, str(e).encode()
        ms = (time.perf_counter() - t) * 1000
        if self.rec is not None:
            self.rec.add(self.step, label, status, ms, status in expect)
        return status, data

    def get(self, path: str, label: str, expect=(200,)):
        return self.request("GET", path, label, expect=expect)

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        _, page = self.get("/login", "GET /login")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token, "next": "/"})
        self.request("POST", "/login", "POST /login", form.encode(), "application/x-www-form-urlencoded", expect=(302,))

    def load_dependencies(self) -> None:
        status, body = self.get("/_dash-dependencies", "GET /_dash-dependencies")
        if status == 200:
            self.deps = {d["output"]: d for d in json.loads(body)}

    def callback(self, output: str, label: str, values: dict, changed: list[str]) -> dict:
        """POST one callback by its output string; values maps 'id.prop' (or an ALL input's id) to the value."""
        dep = self.deps.get(output)
        if dep is None:
            if self.rec is not None:
                self.rec.add(self.step, label, -1, 0.0, False)
            return {}
        payload = {"output": output, "outputs": _outputs(output), "changedPropIds": changed,
                   "inputs": [_value(i, values) for i in dep["inputs"]], "state": [_value(s, values) for s in dep["state"]]}
        status, body = self.request("POST", "/_dash-update-component", label, json.dumps(payload).encode(),
                                    "application/json", expect=(200, 204))
        return json.loads(body).get("response", {}) if status == 200 else {}

    def page(self, path: str, search: str = "") -> dict:
        r = self.callback("..page.children...page-title.data..", "page callback",
                          {"url.pathname": path, "url.search": search}, ["url.pathname"])
        return r.get("page", {}).get("children", {})


def _outputs(output: str):
    if not output.startswith(".."):
        i, p = output.rsplit(".", 1)
        return {"id": i, "property": p}
    return [dict(zip(("id", "property"), o.rsplit(".", 1))) for o in output[2:-2].split("...")]


def _value(spec: dict, values: dict):
    key = spec["id"] if spec["id"].startswith("{") else f"{spec['id']}.{spec['property']}"
    if key in values and isinstance(values[key], list) and spec["id"].startswith("{"):
        return values[key]  # an ALL pattern input: the list of matching controls
    return {"id": spec["id"], "property": spec["property"], "value": values.get(key)}


def walk(tree):
    """Every component (dict with props) in a Dash layout tree."""
    if isinstance(tree, list):
        for t in tree:
            yield from walk(t)
    elif isinstance(tree, dict) and "props" in tree:
        yield tree
        for v in tree["props"].values():
            yield from walk(v)


def prop_values(layout) -> dict:
    """'id.prop' → value for every component prop in a layout (the values its controls start with)."""
    out = {}
    for c in walk(layout):
        cid = c["props"].get("id")
        if isinstance(cid, str):
            for k, v in c["props"].items():
                out[f"{cid}.{k}"] = v
    return out


def filter_controls(layout, kind: str) -> list[dict]:
    return [{"id": c["props"]["id"], "property": "value", "value": c["props"].get("value")}
            for c in walk(layout) if isinstance(c["props"].get("id"), dict) and c["props"]["id"].get("type") == kind]


def _dep(b: Browser, prefix: str) -> str:
    return next((k for k in b.deps if k.startswith(prefix)), prefix)
