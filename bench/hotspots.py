"""Hot-spot analysis at London scale, server side: hot_blocks and Gi* over all r9 hexes.

    python -m bench.hotspots --db /tmp/bench/d10m.duckdb [--runs 20]

Times, after one warm-up, p50/p95 of:
- `queries.hot_blocks` for all London over the last 12 months of data (SQL GROUP BY in DuckDB,
  cached block neighbours, vectorised Gi* with the exact negative-binomial test of `local_hotspots`);
- Gi* over every r9 hexagon of London for 12 months (zeros included);
and the same computations done the obvious way in the same run: load the points into pandas,
group, then loop over each unit's neighbours in Python.
"""
from __future__ import annotations

import argparse
import statistics
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd


def timed(fn, runs):
    fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    out.sort()
    return statistics.median(out), out[min(len(out) - 1, int(round(0.95 * (len(out) - 1))))]


def obvious_gi(points: pd.Series, neighbours: dict, ids) -> np.ndarray:
    """Gi* z the textbook way: counts by pandas groupby, local sums by a Python loop over neighbours."""
    counts = points.value_counts()
    x = {i: float(counts.get(i, 0)) for i in ids}
    n = len(ids)
    vals = np.array(list(x.values()))
    mean, s = vals.mean(), np.sqrt((vals ** 2).mean() - vals.mean() ** 2)
    z = np.empty(n)
    for k, i in enumerate(ids):
        nb = [j for j in neighbours.get(i, []) if j in x] + [i]
        w = len(nb)
        local = sum(x[j] for j in nb)
        z[k] = (local - mean * w) / (s * np.sqrt((n * w - w * w) / (n - 1))) if s > 0 else 0.0
    return z


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    from data.store import queries
    from data.store.filters import Filters
    from data.store.db import Store
    from layers.hotspots import local_hotspots
    store = Store(args.db)
    n = int(store.df("SELECT count(*) FROM incidents").iloc[0, 0])
    hi = store.df("SELECT max(month) AS m FROM incidents").iloc[0, 0]
    f = Filters(start=date(hi.year, 1, 1), end=date(hi.year, 12, 31))
    print(f"{args.db}: {n:,} incidents; 12 months {f.start}..{f.end}; {args.runs} runs after one warm-up")

    hb_p50, hb_p95 = timed(lambda: queries.hot_blocks(store, f), args.runs)
    hot = queries.hot_blocks(store, f)

    def hex_gi():
        cells, nb = queries.hex_study_area(store, f, 9)
        c = queries.unit_counts(store, f, "h3_r9").set_index("unit")["total"]
        return local_hotspots(c.reindex(pd.Index(cells, dtype="uint64"), fill_value=0), nb)
    hx_p50, hx_p95 = timed(hex_gi, args.runs)
    from layers.hotspots import neighbours_block, neighbours_hex
    cells, _ = queries.hex_study_area(store, f, 9)
    blocks, _ = queries.block_study_area(store, f)
    nb_hex, nb_blocks = neighbours_hex(cells), neighbours_block(blocks)

    # the obvious way: every point into pandas, then Python loops (z only; neighbour lists given to it for free)
    from data.store.filters import incident_where
    w = incident_where(f, min_confidence="street")
    t = time.perf_counter()
    pts = store.df(f"SELECT block_id, h3_r9 FROM incidents WHERE {w.sql}", w.params)
    load_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    obvious_gi(pts["block_id"].dropna().astype(int), nb_blocks, blocks["block_id"].tolist())
    ob_blocks = (time.perf_counter() - t) * 1000 + load_ms
    t = time.perf_counter()
    obvious_gi(pts["h3_r9"].dropna().astype("uint64"), nb_hex, [int(c) for c in cells])
    ob_hex = (time.perf_counter() - t) * 1000 + load_ms

    print(f"hot_blocks, all London, 12 months ({len(blocks):,} blocks, {len(hot):,} hot): p50 {hb_p50:.0f} ms, p95 {hb_p95:.0f} ms; "
          f"obvious way {ob_blocks:,.0f} ms (x{ob_blocks / hb_p50:.0f})")
    print(f"Gi* over all r9 hexagons ({len(cells):,} cells): p50 {hx_p50:.0f} ms, p95 {hx_p95:.0f} ms; "
          f"obvious way {ob_hex:,.0f} ms (x{ob_hex / hx_p50:.0f}); loading the points alone took {load_ms:,.0f} ms")


if __name__ == "__main__":
    main()
