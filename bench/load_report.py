"""Load-test reporting: nearest-rank percentiles and the per-step result table. Part of `bench/load.py`."""
from __future__ import annotations

from collections import defaultdict

from bench.load_client import Recorder
from bench.load_journeys import STEPS


# ---- reporting -------------------------------------------------------------------------------

def percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_ms:
        return float("nan")
    return sorted_ms[min(len(sorted_ms) - 1, max(0, int(round(q / 100 * len(sorted_ms) + 0.5)) - 1))]


def report(rec: Recorder) -> dict:
    """Print the per-step table; return the overall figures."""
    by = defaultdict(list)
    for step, label, status, ms, ok, _ in rec.rows:
        by[(step, label)].append((ms, ok, status))
    order = {s: i for i, s in enumerate(STEPS)}
    print(f"{'step':16} {'request':26} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>6}")
    for (step, label), vals in sorted(by.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])):
        ms = sorted(v[0] for v in vals)
        bad = [v[2] for v in vals if not v[1]]
        print(f"{step:16} {label:26} {len(ms):5} {percentile(ms, 50):8.0f} {percentile(ms, 95):8.0f} "
              f"{percentile(ms, 99):8.0f} {ms[-1]:8.0f} {len(bad):6}" + (f"  statuses {sorted(set(bad))}" if bad else ""))
    all_ms = sorted(r[3] for r in rec.rows)
    errors = sum(1 for r in rec.rows if not r[4])
    span = max((r[5] for r in rec.rows), default=0) - min((r[5] - r[3] / 1000 for r in rec.rows), default=0)
    out = {"requests": len(all_ms), "errors": errors, "seconds": span, "rps": len(all_ms) / span if span else 0.0,
           "p50": percentile(all_ms, 50), "p95": percentile(all_ms, 95), "p99": percentile(all_ms, 99),
           "max": all_ms[-1] if all_ms else float("nan")}
    print(f"{'all':16} {'':26} {out['requests']:5} {out['p50']:8.0f} {out['p95']:8.0f} {out['p99']:8.0f} "
          f"{out['max']:8.0f} {errors:6}")
    print(f"{out['requests']:,} requests in {span:.0f} s: {out['rps']:.1f} requests/s, {errors} errors")
    return out
