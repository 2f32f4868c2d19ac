"""Gi* speed on London-sized graphs, against the obvious per-unit Python loop.

    python -m bench.hotspots_core [--runs 20] [--seed 42] [--hex-rings 100] [--grid 224]

Two graphs:
- hexes: every H3 r9 cell within `hex-rings` grid steps of Charing Cross (100 rings =
  30,301 cells, a disk of ~32 km radius: London's ~15,000-30,000 r9 cells), neighbours
  from `neighbours_hex` (6 each inside the disk);
- blocks: a square street grid of grid x grid junctions whose edges are the blocks
  (224 -> 99,904 blocks, London has ~100,000), neighbours from `neighbours_block` (blocks
  sharing a junction: 6 inside the grid).
Counts are Poisson(0.8) with a fixed seed. For each graph: time to build the neighbour
dict (once), then `gi_star` (normal p) and `local_hotspots` end to end (weights matrix built from the dict on every call,
as a page does, plus p, BH-FDR and flags), the z-scores alone from a prebuilt weights
matrix, and the baseline (a Python loop over the neighbour dict with dict lookups summing
each unit's neighbourhood, then the same z formula: z only, no p or FDR), p50 / p95 over
`runs` timed calls after one warm-up, and the baseline / gi_star ratios. The two z vectors are
checked to agree within 1e-9. Target: gi_star <= 200 ms on both graphs. Then the
number of hot spots each flags on pure Poisson noise at several mean counts per
unit (all of them false: the noise has no spatial pattern).
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pandas as pd
from h3.api import basic_int as h3i

from layers.hotspots import gi_star, local_hotspots, neighbours_block, neighbours_hex, weights_matrix
from layers.hotspots_gi import gi_z

CHARING_CROSS = (51.5073, -0.1276)


def loop_gi_star(counts: pd.Series, neighbours: dict) -> np.ndarray:
    """The obvious way: one Python pass per unit over its neighbour list."""
    value = dict(zip(counts.index.tolist(), counts.to_numpy(dtype=float).tolist()))
    n = len(value)
    mean = sum(value.values()) / n
    sd = math.sqrt(sum(v * v for v in value.values()) / n - mean * mean)
    out = []
    for unit, y in value.items():
        local, card = y, 1
        for other in neighbours.get(unit, ()):
            if other in value and other != unit:
                local += value[other]
                card += 1
        den = sd * math.sqrt(card * (n - card) / (n - 1))
        out.append((local - card * mean) / den if den > 0 else 0.0)
    return np.array(out)


def hex_graph(rings: int) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    cells = np.array(sorted(h3i.grid_disk(h3i.latlng_to_cell(*CHARING_CROSS, 9), rings)), dtype=np.uint64)
    return cells, time.perf_counter() - t0


def block_table(side: int) -> pd.DataFrame:
    node = np.arange(side * side).reshape(side, side)
    u = np.concatenate([node[:, :-1].ravel(), node[:-1, :].ravel()])
    v = np.concatenate([node[:, 1:].ravel(), node[1:, :].ravel()])
    return pd.DataFrame({"block_id": np.arange(len(u)), "node_u": u, "node_v": v})


def timed(fn, runs: int) -> tuple[np.ndarray, object]:
    result = fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return np.array(times) * 1000, result


def bench_graph(name: str, counts: pd.Series, neighbours: dict, build_s: float, runs: int) -> dict:
    fast_ms, fast = timed(lambda: gi_star(counts, neighbours), runs)
    exact_ms, exact = timed(lambda: local_hotspots(counts, neighbours), runs)
    loop_ms, slow = timed(lambda: loop_gi_star(counts, neighbours), runs)
    w = weights_matrix(counts.index, neighbours)
    y = counts.to_numpy(dtype=float)
    core_ms, _ = timed(lambda: gi_z(w, y), runs)
    agree = float(np.abs(fast["gi_z"].to_numpy() - slow).max())
    if agree > 1e-9:
        raise SystemExit(f"{name}: gi_star and the loop disagree by {agree}")
    row = {
        "graph": name, "units": len(counts),
        "mean_neighbours": round(sum(map(len, neighbours.values())) / len(neighbours), 2),
        "neighbours_build_ms": round(build_s * 1000, 1),
        "gi_star_p50_ms": round(float(np.percentile(fast_ms, 50)), 1),
        "gi_star_p95_ms": round(float(np.percentile(fast_ms, 95)), 1),
        "local_hotspots_p50_ms": round(float(np.percentile(exact_ms, 50)), 1),
        "local_hotspots_p95_ms": round(float(np.percentile(exact_ms, 95)), 1),
        "z_only_prebuilt_weights_p50_ms": round(float(np.percentile(core_ms, 50)), 2),
        "loop_p50_ms": round(float(np.percentile(loop_ms, 50)), 1),
        "loop_p95_ms": round(float(np.percentile(loop_ms, 95)), 1),
        "hot_normal": int(fast["hot"].sum()), "cold_normal": int(fast["cold"].sum()),
        "hot_local": int(exact["hot"].sum()), "cold_local": int(exact["cold"].sum()),
    }
    row["loop_over_gi_star_p50"] = round(row["loop_p50_ms"] / row["gi_star_p50_ms"], 1)
    row["loop_over_z_only_p50"] = round(row["loop_p50_ms"] / row["z_only_prebuilt_weights_p50_ms"], 1)
    return row


def null_check(name: str, ids, neighbours: dict, rng, rates=(0.05, 0.2, 0.5, 1.0, 3.0)) -> dict:
    """Hot spots flagged on pure Poisson noise (no spatial pattern: every one is false)."""
    row = {"graph": name}
    for rate in rates:
        counts = pd.Series(rng.poisson(rate, len(ids)), index=ids)
        row[f"rate {rate}: normal"] = int(gi_star(counts, neighbours)["hot"].sum())
        row[f"rate {rate}: local_hotspots"] = int(local_hotspots(counts, neighbours)["hot"].sum())
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--hex-rings", type=int, default=100)
    ap.add_argument("--grid", type=int, default=224)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    cells, disk_s = hex_graph(args.hex_rings)
    t0 = time.perf_counter()
    hex_nb = neighbours_hex(cells)
    hex_s = time.perf_counter() - t0
    hex_counts = pd.Series(rng.poisson(0.8, len(cells)), index=pd.Index(cells))

    blocks = block_table(args.grid)
    t0 = time.perf_counter()
    block_nb = neighbours_block(blocks)
    block_s = time.perf_counter() - t0
    block_counts = pd.Series(rng.poisson(0.8, len(blocks)), index=blocks["block_id"].to_numpy())

    rows = [bench_graph("H3 r9 hexes", hex_counts, hex_nb, hex_s, args.runs),
            bench_graph("street blocks (grid)", block_counts, block_nb, block_s, args.runs)]
    print(f"(grid_disk for the hex study area: {disk_s * 1000:.0f} ms, not counted)")
    print(pd.DataFrame(rows).set_index("graph").T.to_string())
    print("\nfalse hot spots at FDR 0.05 on pure Poisson noise, by mean count per unit:")
    nulls = [null_check("H3 r9 hexes", hex_counts.index, hex_nb, rng),
             null_check("street blocks (grid)", block_counts.index, block_nb, rng)]
    print(pd.DataFrame(nulls).set_index("graph").T.to_string())


if __name__ == "__main__":
    main()
