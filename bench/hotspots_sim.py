"""Local hot-spot test by simulation on a London-sized graph (issue 15): noise, planted clusters.

    python -m bench.hotspots_sim [--db PATH | --hex-rings N] [--reps 20] [--seed 42]
                                 [--previous-reps R] [--json PATH]

Graph: the street blocks of the database (`--db`, default the app's configured ISTV_DB, the demo
database `python app.py` builds on a fresh machine; 53,479 blocks in the 0.25 demo), neighbours
from `neighbours_block` (blocks sharing a junction); or with `--hex-rings N` every H3 resolution-10
cell within N rings of Charing Cross (130 rings = 51,091 cells), neighbours from `neighbours_hex`.
One weights matrix is built once and passed to every call.

Counts are simulated on that graph for each kind (Poisson; negative binomial with size 2, i.e.
variance mu + mu^2 / 2, strongly overdispersed) and mean count per unit (0.05, 0.4, 4):
- noise: every unit has the same mean: every flag is false;
- clusters: 20 clusters, each a random centre unit and its neighbours (its row of the weights
  matrix; centres drawn so that clusters do not overlap), with relative risks
  np.geomspace(1.5, 10, 20) (13 of them >= 3, 6 of them >= 6): a cluster unit's mean is
  mean x RR (negative binomial: same size 2). A cluster is found when any of its units is flagged;
  a flag outside every cluster is false (the quiet neighbours of a cluster included).
`--reps` replications of each (default 20), seeded per (seed, kind, mean, scenario, replication),
so every method sees the same counts and the figures reproduce.

Methods, all "hot" = flagged at a Benjamini-Hochberg false discovery rate of 5 %:
- new: `layers.hotspots_local.local_hotspots(counts, w)["hot"]` (exact negative-binomial tail of
  the neighbourhood sum under a null fitted to the bulk of the counts, plus the unit's own count);
- previous (empirical redraw): Gi* z (`gi_z`) with p from the randomisation null, the neighbourhood
  sum of w_i values drawn with replacement from the study area's own counts (the product's
  `exact_p` until issue 15, copied below as `redraw_p`), two-sided, hot = z > 0 and q < 0.05;
- normal approximation: the same z with p = 2 (1 - Phi(|z|)), hot = z > 0 and q < 0.05.
`--previous-reps R` runs the previous method on the first R replications only (default all).

Prints, per setting and method: the maximum and mean flags on noise; on clusters the clusters
found (mean, of 20), the share found among RR >= 3 and among RR >= 6, and the share of flags
outside every cluster (flags outside / all flags, pooled over replications); then the issue's
targets with PASS/FAIL per method: noise <= 5 flags in every setting, false share <= 10 % in
every cluster setting, at mean 4 >= 80 % of clusters with RR >= 3 found, at mean 0.4 >= 75 % of
those with RR >= 6 (Poisson and negative binomial pooled); then the time per call of each method
(the whole test from counts and the prebuilt matrix: z, p, FDR and flags).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.signal import convolve
from scipy.stats import norm

from layers.hotspots import neighbours_block, neighbours_hex
from layers.hotspots_gi import bh_fdr, gi_z, weights_matrix
from layers.hotspots_local import local_hotspots

CHARING_CROSS = (51.5073, -0.1276)
HEX_RES = 10
KINDS = ("poisson", "negbin")
NB_SIZE = 2.0
MEANS = (0.05, 0.4, 4.0)
N_CLUSTERS = 20
RELATIVE_RISKS = np.geomspace(1.5, 10, N_CLUSTERS)
ALPHA = 0.05
METHODS = ("new", "previous (empirical redraw)", "normal approximation")
TARGET_NOISE_MAX, TARGET_FALSE_SHARE, TARGET_RR3_AT_4, TARGET_RR6_AT_04 = 5, 0.10, 0.80, 0.75


# ---------------------------------------------------------------- graphs

def block_graph(db: Path | None) -> tuple[str, pd.Index, sp.csr_matrix]:
    if db is None:
        from config import Config
        db = Config.from_env().db_path
    db = Path(db)
    if not db.exists():
        sys.exit(f"no database at {db}: build the demo one with `python app.py` (or pass --db PATH, "
                 f"or --hex-rings N for a hexagon graph)")
    import duckdb
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as e:
        sys.exit(f"cannot open {db} read-only: {e}")
    try:
        has = con.execute("select count(*) from information_schema.tables where table_name = 'blocks'").fetchone()[0]
        blocks = con.execute("select block_id, node_u, node_v from blocks order by block_id").df() if has else None
    finally:
        con.close()
    if blocks is None or blocks.empty:
        what = "no table `blocks`" if blocks is None else "an empty table `blocks`"
        sys.exit(f"{db} has {what}: no street blocks to simulate on. Use a database with street blocks "
                 f"(the demo one `python app.py` builds, or one after `load streets`), or --hex-rings 130")
    nb = neighbours_block(blocks)
    ids = pd.Index(blocks["block_id"].to_numpy())
    return f"street blocks of {db}", ids, weights_matrix(ids, nb)


def hex_graph(rings: int) -> tuple[str, pd.Index, sp.csr_matrix]:
    from h3.api import basic_int as h3i
    centre = h3i.latlng_to_cell(*CHARING_CROSS, HEX_RES)
    cells = np.array(sorted(h3i.grid_disk(centre, rings)), dtype=np.uint64)
    ids = pd.Index(cells)
    return f"H3 r{HEX_RES} cells within {rings} rings of Charing Cross", ids, weights_matrix(ids, neighbours_hex(cells))


# ---------------------------------------------------------------- the previous method (copied)

def redraw_p(w: sp.csr_matrix, values: np.ndarray) -> np.ndarray:
    """Two-sided p of each unit's local sum under randomisation: the sum of w_i values drawn with
    replacement from the study area's own counts (w_i-fold convolution of their empirical pmf),
    doubling the smaller tail. Copied from `layers.hotspots_gi.exact_p` as it was before issue 15
    (the product's p_method "exact"), so that this bench keeps measuring it after its removal."""
    y = np.asarray(values, dtype=float)
    one = y.ndim == 1
    y = y[:, None] if one else y
    n = y.shape[0]
    card = np.rint(np.asarray(w.sum(axis=1)).ravel()).astype(np.int64)
    local = np.rint(w @ y).astype(np.int64)
    p = np.ones(y.shape)
    for col in range(y.shape[1]):
        pmf0 = np.bincount(np.rint(y[:, col]).astype(np.int64)) / n if n else np.ones(1)
        pmf = np.ones(1)
        for k in range(1, (card.max() if n else 0) + 1):
            # fft noise can dip just below 0 far out in the tails
            pmf = np.clip(convolve(pmf, pmf0), 0.0, None)
            rows = np.flatnonzero(card == k)
            if len(rows) == 0:
                continue
            upper = np.cumsum(pmf[::-1])[::-1]  # P(L >= l)
            lower = np.cumsum(pmf)  # P(L <= l)
            at = local[rows, col]
            p[rows, col] = np.minimum(1.0, 2.0 * np.minimum(upper[at], lower[at]))
    return p[:, 0] if one else p


def hot_new(y: np.ndarray, ids: pd.Index, w: sp.csr_matrix) -> np.ndarray:
    return local_hotspots(pd.Series(y, index=ids), w, alpha=ALPHA)["hot"].to_numpy()


def hot_previous(y: np.ndarray, ids: pd.Index, w: sp.csr_matrix) -> np.ndarray:
    z = gi_z(w, y)
    return (z > 0) & (bh_fdr(redraw_p(w, y)) < ALPHA)


def hot_normal(y: np.ndarray, ids: pd.Index, w: sp.csr_matrix) -> np.ndarray:
    z = gi_z(w, y)
    return (z > 0) & (bh_fdr(2.0 * norm.sf(np.abs(z))) < ALPHA)


RUNNERS = dict(zip(METHODS, (hot_new, hot_previous, hot_normal)))


# ---------------------------------------------------------------- simulation

def draw(rng: np.random.Generator, kind: str, mu: np.ndarray) -> np.ndarray:
    if kind == "poisson":
        return rng.poisson(mu).astype(float)
    return rng.negative_binomial(NB_SIZE, NB_SIZE / (NB_SIZE + mu)).astype(float)


def plant(rng: np.random.Generator, w: sp.csr_matrix) -> list[np.ndarray]:
    """N_CLUSTERS disjoint clusters: a random centre and its neighbours (its row of w)."""
    n = w.shape[0]
    taken = np.zeros(n, bool)
    clusters: list[np.ndarray] = []
    while len(clusters) < N_CLUSTERS:
        c = int(rng.integers(n))
        units = w.indices[w.indptr[c]:w.indptr[c + 1]]
        if taken[units].any():
            continue
        taken[units] = True
        clusters.append(np.sort(units))
    return clusters


def simulate(ids: pd.Index, w: sp.csr_matrix, reps: int, seed: int, previous_reps: int) -> dict:
    n = len(ids)
    rows, times = [], {m: {mean: [] for mean in MEANS} for m in METHODS}
    for ki, kind in enumerate(KINDS):
        for mi, mean in enumerate(MEANS):
            for si, scenario in enumerate(("noise", "clusters")):
                acc = {m: {"flags": [], "found": [], "found_rr3": 0, "found_rr6": 0,
                           "outside": 0, "reps": 0} for m in METHODS}
                for rep in range(reps):
                    rng = np.random.default_rng([seed, ki, mi, si, rep])
                    mu = np.full(n, mean)
                    in_cluster = np.full(n, -1)
                    if scenario == "clusters":
                        for c, units in enumerate(plant(rng, w)):
                            mu[units] = mean * RELATIVE_RISKS[c]
                            in_cluster[units] = c
                    y = draw(rng, kind, mu)
                    for m in METHODS:
                        if m == METHODS[1] and rep >= previous_reps:
                            continue
                        t0 = time.perf_counter()
                        hot = RUNNERS[m](y, ids, w)
                        times[m][mean].append(time.perf_counter() - t0)
                        a = acc[m]
                        a["reps"] += 1
                        a["flags"].append(int(hot.sum()))
                        if scenario == "clusters":
                            found = np.zeros(N_CLUSTERS, bool)
                            found[np.unique(in_cluster[hot & (in_cluster >= 0)])] = True
                            a["found"].append(int(found.sum()))
                            a["found_rr3"] += int(found[RELATIVE_RISKS >= 3].sum())
                            a["found_rr6"] += int(found[RELATIVE_RISKS >= 6].sum())
                            a["outside"] += int((hot & (in_cluster < 0)).sum())
                for m in METHODS:
                    a = acc[m]
                    r = a["reps"]
                    flagged = sum(a["flags"])
                    row = {"kind": kind, "mean": mean, "scenario": scenario, "method": m, "reps": r,
                           "flags_max": max(a["flags"]), "flags_mean": flagged / r}
                    if scenario == "clusters":
                        row.update({
                            "found_mean": float(np.mean(a["found"])),
                            "found_rr3": a["found_rr3"], "n_rr3": r * int((RELATIVE_RISKS >= 3).sum()),
                            "found_rr6": a["found_rr6"], "n_rr6": r * int((RELATIVE_RISKS >= 6).sum()),
                            "outside": a["outside"], "flagged": flagged,
                        })
                    rows.append(row)
                print(f"  {kind} mean {mean} {scenario}: done", file=sys.stderr, flush=True)
    return {"rows": rows, "times": times}


# ---------------------------------------------------------------- report

def pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f} %" if b else "—"


def kind_label(kind: str) -> str:
    return "Poisson" if kind == "poisson" else f"NB (size {NB_SIZE:g})"


def targets(rows: list[dict]) -> list[dict]:
    out = []
    for m in METHODS:
        mine = [r for r in rows if r["method"] == m]
        noise = [r for r in mine if r["scenario"] == "noise"]
        clus = [r for r in mine if r["scenario"] == "clusters"]
        worst_noise = max(noise, key=lambda r: r["flags_max"])
        shares = [(r["outside"] / r["flagged"] if r["flagged"] else 0.0, r) for r in clus]
        worst_share, worst_share_row = max(shares, key=lambda s: s[0])
        at4 = [r for r in clus if r["mean"] == 4.0]
        at04 = [r for r in clus if r["mean"] == 0.4]
        rr3 = sum(r["found_rr3"] for r in at4) / sum(r["n_rr3"] for r in at4)
        rr6 = sum(r["found_rr6"] for r in at04) / sum(r["n_rr6"] for r in at04)
        out.append({
            "method": m,
            "noise_max": worst_noise["flags_max"],
            "noise_where": f"{kind_label(worst_noise['kind'])}, mean {worst_noise['mean']:g}",
            "noise_pass": worst_noise["flags_max"] <= TARGET_NOISE_MAX,
            "false_share": worst_share,
            "false_where": f"{kind_label(worst_share_row['kind'])}, mean {worst_share_row['mean']:g}",
            "false_pass": worst_share <= TARGET_FALSE_SHARE,
            "rr3_at_4": rr3, "rr3_pass": rr3 >= TARGET_RR3_AT_4,
            "rr6_at_04": rr6, "rr6_pass": rr6 >= TARGET_RR6_AT_04,
        })
    return out


def report(title: str, n: int, w: sp.csr_matrix, args, res: dict) -> str:
    card = np.asarray(w.sum(axis=1)).ravel() - 1
    lines = [
        f"### {title}",
        "",
        f"{n:,} units, {int(card.sum()) // 2:,} neighbour pairs, neighbours per unit median "
        f"{np.median(card):g} (min {card.min():g}, max {card.max():g}); {args.reps} replications "
        f"per setting, seed {args.seed}"
        + (f"; previous method on the first {min(args.previous_reps, args.reps)} replications only"
           if args.previous_reps < args.reps else "") + ".",
        "",
        "| kind | mean | method | noise: max flags | noise: mean flags | clusters found (of 20, mean) "
        "| found, RR ≥ 3 | found, RR ≥ 6 | flags outside clusters |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rows = res["rows"]
    by_key = {(r["kind"], r["mean"], r["scenario"], r["method"]): r for r in rows}
    for kind in KINDS:
        for mean in MEANS:
            for m in METHODS:
                nz, cl = by_key[kind, mean, "noise", m], by_key[kind, mean, "clusters", m]
                per_run = f"{cl['outside'] / cl['reps']:.1f} of {cl['flagged'] / cl['reps']:.1f} a run"
                lines.append(
                    f"| {kind_label(kind)} | {mean:g} | {m} | {nz['flags_max']} | {nz['flags_mean']:.1f} "
                    f"| {cl['found_mean']:.1f} | {pct(cl['found_rr3'], cl['n_rr3'])} "
                    f"| {pct(cl['found_rr6'], cl['n_rr6'])} "
                    f"| {pct(cl['outside'], cl['flagged'])} ({per_run}) |")
    t = targets(rows)

    def mark(ok: bool) -> str:
        return "PASS" if ok else "**FAIL**"

    lines += [
        "",
        "Issue 15's targets (worst setting; found shares pooled over Poisson and NB):",
        "",
        "| method | noise: max flags ≤ 5, every setting | flags outside clusters ≤ 10 %, every setting "
        "| mean 4: found, RR ≥ 3 ≥ 80 % | mean 0.4: found, RR ≥ 6 ≥ 75 % |",
        "|---|---|---|---|---|",
    ]
    for r in t:
        lines.append(
            f"| {r['method']} | {mark(r['noise_pass'])} {r['noise_max']} ({r['noise_where']}) "
            f"| {mark(r['false_pass'])} {100 * r['false_share']:.1f} % ({r['false_where']}) "
            f"| {mark(r['rr3_pass'])} {100 * r['rr3_at_4']:.1f} % "
            f"| {mark(r['rr6_pass'])} {100 * r['rr6_at_04']:.1f} % |")
    lines += ["", "Time per call (the whole test on a prebuilt weights matrix), p50 / max ms over every call:", "",
              "| method | " + " | ".join(f"mean {m:g}" for m in MEANS) + " |",
              "|---|" + "---|" * len(MEANS)]
    for m in METHODS:
        cells = []
        for mean in MEANS:
            ts = np.array(res["times"][m][mean]) * 1000
            cells.append(f"{np.median(ts):.0f} / {ts.max():.0f} ({len(ts)} calls)")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    res["targets"] = t
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=None, help="DuckDB file with street blocks (default: ISTV_DB)")
    ap.add_argument("--hex-rings", type=int, default=None,
                    help=f"simulate on H3 r{HEX_RES} cells within N rings of Charing Cross instead of street blocks")
    ap.add_argument("--reps", type=int, default=20, help="replications per setting")
    ap.add_argument("--previous-reps", type=int, default=None,
                    help="run the previous (empirical redraw) method on the first R replications only")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = ap.parse_args(argv)
    if args.reps < 1:
        ap.error("--reps must be at least 1")
    args.previous_reps = args.reps if args.previous_reps is None else max(1, min(args.previous_reps, args.reps))
    t0 = time.perf_counter()
    if args.hex_rings is not None:
        if args.db is not None:
            ap.error("give --db or --hex-rings, not both")
        title, ids, w = hex_graph(args.hex_rings)
    else:
        title, ids, w = block_graph(args.db)
    print(f"graph: {title}, {len(ids):,} units, built in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    t0 = time.perf_counter()
    res = simulate(ids, w, args.reps, args.seed, args.previous_reps)
    print(report(f"{title}: {len(ids):,} units", len(ids), w, args, res))
    print(f"\n(simulation {time.perf_counter() - t0:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps({
            "graph": title, "units": len(ids), "reps": args.reps, "previous_reps": args.previous_reps,
            "seed": args.seed, "rows": res["rows"], "targets": res["targets"],
            "times_ms": {m: {str(k): [1000 * t for t in v] for k, v in d.items()} for m, d in res["times"].items()},
        }, indent=1))


if __name__ == "__main__":
    main()
