"""What the protected level costs in accuracy (issue 16): error on borough x month counts and hot-spot agreement.

    python -m bench.disclosure [--db PATH]

On a database (default: the app's ISTV_DB, the demo), for the protected level with the default
parameters (cell-key noise -2..+2, rounding to 5, threshold 5): the mean and largest absolute
error of borough x month counts (ED and police, 2025), the share of cells shown as "<5", and the
agreement of hot blocks (the local test) computed from protected counts with those from exact
counts, for one month and for a year, London-wide.
"""
from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import numpy as np

from config import Config
from data.access.roles import Scope
from data.store import queries
from data.store.db import Store
from data.store.filters import Filters
from data.store.queries import ScopedStore

PROTECTED = Scope(record_level=False, level="protected")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=None)
    args = ap.parse_args()
    path = args.db or Config.from_env().db_path
    store = Store(path)
    hi = store.df("SELECT max(month) AS m FROM incidents").iloc[0, 0]
    year = Filters(start=date(hi.year, 1, 1), end=date(hi.year, 12, 31))
    t0 = time.perf_counter()
    exact = queries.month_borough_counts(store, year)
    shown = queries.month_borough_counts(ScopedStore(store, PROTECTED), year)
    print(f"{path}: {len(exact):,} borough x month cells of {year.start.year}")
    print("| source | mean count | mean abs error | largest error | relative error (mean) | cells shown '<5' |")
    print("|---|---|---|---|---|---|")
    for col in ("ed", "police"):
        e, s = exact[col].to_numpy(), shown[col].to_numpy()
        err = np.abs(s - e)
        rel = err[e > 0] / e[e > 0]
        print(f"| {col} | {e.mean():.1f} | {err.mean():.2f} | {err.max()} | {rel.mean():.1%} | {np.mean((s > 0) & (s < 5)):.1%} |")
    print()
    print("| window | hot blocks (exact) | hot blocks (protected) | both | share of exact ones kept | Jaccard |")
    print("|---|---|---|---|---|---|")
    month = Filters(start=date(hi.year, hi.month, 1), end=(year.end if hi.month == 12 else date(hi.year, hi.month + 1, 1)))
    month = month.with_(end=date(hi.year, hi.month, 28)).counted()
    for label, f in (("one month", month), ("one year", year)):
        a = set(queries.hot_blocks(store, f)["block_id"])
        b = set(queries.hot_blocks(ScopedStore(store, PROTECTED), f)["block_id"])
        both = len(a & b)
        print(f"| {label} | {len(a):,} | {len(b):,} | {both:,} | {both / len(a) if a else float('nan'):.1%} | "
              f"{both / len(a | b) if a | b else float('nan'):.2f} |")
    print(f"\n({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
