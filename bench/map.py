"""Server time and payload of each map interaction, through the real Dash endpoint.

    python -m bench.map --db data/istv.duckdb [--runs 30]

Signs in as the demo analyst with Flask's test client (no network, so the figures are server
time: routing, auth, queries, figures and JSON), then posts the map's render callback with the
state each interaction produces: a filter change (full figure and values-only Patch), a unit
switch to street blocks, a click on the busiest hexagon, a brush on the series. Reports p50/p95
over --runs after one warm-up, twice: "first" with the result caches emptied and the view the
interaction starts from rendered untimed (a view nobody has asked for since the load), "again"
for the same view asked for again; then response sizes, and the map figure's own full and
values-only (Patch) bytes.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from h3.api import basic_int as h3i

OUTPUTS = (("map-hexes", "figure"), ("map-series", "figure"), ("map-dayhour", "figure"), ("map-summary", "children"),
           ("map-borough-table", "children"), ("map-download", "href"), ("map-selection", "children"), ("map-geo-key", "data"),
           ("map-method", "children"), ("map-legend", "children"), ("map-outline", "data"))


def payload(state: str, geo_key: str | None) -> dict:
    return {"output": ".." + "...".join(f"{i}.{p}" for i, p in OUTPUTS) + "..",
            "outputs": [{"id": i, "property": p} for i, p in OUTPUTS],
            "inputs": [{"id": "map-state", "property": "data", "value": state}],
            "state": [{"id": "map-geo-key", "property": "data", "value": geo_key}], "changedPropIds": ["map-state.data"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=Path("data/istv.duckdb"))
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    from app import create_app
    from config import Config
    from data.store.cache import clear_all
    from data.store.db import Store
    from data.access.users import UserStore
    tmp = Path(tempfile.mkdtemp())
    users = f"sqlite:///{tmp / 'users.sqlite'}"
    UserStore(users).add("bench", "Bittern-ledger-4471", "analyst", by="bench")
    app = create_app(Config(db_path=args.db, demo=False, database_url=users, secret_key="bench-secret-7c1e4a9f2d8b6e3a5c0f9d2b7e4a1c8f"))
    client = app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": "bench", "password": "Bittern-ledger-4471", "csrf_token": token})
    store = Store(args.db)
    n = int(store.df("SELECT count(*) FROM incidents").iloc[0, 0])
    hi = store.df("SELECT max(month) AS m FROM incidents").iloc[0, 0]
    period = f"from={hi.year}-01-01&to={hi.year}-12-31"
    busiest = int(store.df(f"SELECT h3_r8 FROM incidents WHERE h3_r8 IS NOT NULL AND year(month) = {hi.year} "
                           "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").iloc[0, 0])

    def post(state, key):
        t = time.perf_counter()
        r = client.post("/_dash-update-component", json=payload(state, key))
        dt = (time.perf_counter() - t) * 1000
        if r.status_code != 200:
            raise SystemExit(f"{state}: HTTP {r.status_code}: {r.get_data(as_text=True)[:300]}")
        return dt, len(r.data), r.json["response"]["map-geo-key"]["data"]

    _, full_bytes, key = post(f"?{period}", None)
    cases = {
        "filter change, all London hexes (full figure)": (f"?{period}&src=ed", None),
        "filter change, values only (Patch)": (f"?{period}&src=ed", key),
        "colour mode Gi*, values only (Patch)": (f"?{period}&color=gi", key),
        "borough filter (Hackney, full)": (f"?{period}&borough=E09000012", None),
        "unit switch to street blocks (all London)": (f"?{period}&unit=block", None),
        "unit switch to street blocks (Hackney)": (f"?{period}&unit=block&borough=E09000012", None),
        "click the busiest hexagon": (f"?{period}&place=h3_r8:{h3i.int_to_str(busiest)}", key),
        "brush March-May on the series": (f"?{period}&sel={hi.year}-03-01..{hi.year}-05-31", key),
    }
    print(f"{args.db}: {n:,} incidents; {args.runs} runs per interaction after one warm-up")
    print("first: the result caches emptied, the view the interaction starts from (all London, the period) rendered")
    print("       untimed, then the interaction timed: what one user meets on a view nobody has asked for since the load;")
    print("again: the same view asked for again (another user, or the same one coming back)")
    print(f"{'interaction':48} {'first p50':>9} {'first p95':>9} {'again p50':>9} {'again p95':>9} {'bytes':>11}")
    for name, (state, k) in cases.items():
        post(state, k)
        figures, size = {}, 0
        for mode in ("first", "again"):
            times = []
            for _ in range(args.runs):
                if mode == "first":
                    clear_all()
                    post(f"?{period}", None)
                dt, size, _ = post(state, k)
                times.append(dt)
            times.sort()
            figures[mode] = (statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))])
        (a, b), (c, d) = figures["first"], figures["again"]
        print(f"{name:48} {a:9.0f} {b:9.0f} {c:9.0f} {d:9.0f} {size:11,}")
    _, patch_bytes, _ = post(f"?{period}&src=ed", key)
    print(f"all-London hex response {full_bytes:,} bytes; values-only update {patch_bytes:,} bytes "
          f"({patch_bytes / full_bytes:.1%} of the full response)")
    # the map's own part: the full figure against the Patch that replaces its values
    full_map = len(json.dumps(client.post("/_dash-update-component", json=payload(f"?{period}", None)).json["response"]["map-hexes"]))
    patch_map = len(json.dumps(client.post("/_dash-update-component", json=payload(f"?{period}&src=ed", key)).json["response"]["map-hexes"]))
    print(f"map figure alone: full {full_map:,} bytes; values-only Patch {patch_map:,} bytes ({patch_map / full_map:.1%})")


if __name__ == "__main__":
    main()
