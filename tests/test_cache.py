"""Results cached per data version (data/store/cache.py): keyed by file version, scope and arguments."""
from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from data.store import queries
from data.store.cache import VersionCache, file_version, per_version
from data.store.filters import Filters
from data.store.queries import ScopedStore
from data.access.roles import Scope
from data.store.db import Store, build


def _drop_police_month(path) -> None:
    def fill(con):
        con.execute("DELETE FROM incidents WHERE source = 'police' AND month = (SELECT max(month) FROM incidents WHERE source = 'police')")
    build(path, fill, from_existing=True)


def test_one_computation_per_key_even_when_many_threads_ask_at_once():
    cache, calls = VersionCache(8), []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return 42

    out = []
    threads = [threading.Thread(target=lambda: out.append(cache.get("k", slow))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert sorted(out, key=lambda r: r[1]) == [(42, False)] + [(42, True)] * 5
    assert (cache.hits, cache.misses) == (5, 1)


def test_a_failed_computation_is_not_cached_and_the_cache_stays_bounded():
    cache = VersionCache(3)

    def boom():
        raise ValueError("no")

    with pytest.raises(ValueError):
        cache.get("k", boom)
    assert cache.get("k", lambda: 1) == (1, False)
    for i in range(10):
        cache.get(i, lambda i=i: i)
    assert len(cache) == 3 and cache.get(9, lambda: -1) == (9, True) and cache.get(0, lambda: -1) == (-1, False)


def test_same_version_scope_and_arguments_hit_and_anything_else_misses(tiny_db_copy):
    calls = []

    @per_version(8)
    def count(store, f: Filters):
        calls.append(f)
        c = queries.month_borough_counts.uncached(store, f)
        return {"ed": int(c["ed"].sum()), "police": int(c["police"].sum())}

    store = Store(tiny_db_copy)
    f = Filters(boroughs=("E09000012",))
    first = count(store, f)
    assert count(store, f) == first and len(calls) == 1                      # same: served from memory
    count(store, Filters(boroughs=("E09000030",)))                           # other arguments
    count(ScopedStore(store, Scope(boroughs=("E09000012",))), f)             # other viewer scope
    assert len(calls) == 3
    _drop_police_month(tiny_db_copy)                                         # a load: a new file version
    after = count(store, f)
    assert len(calls) == 4 and after["police"] < first["police"] and after["ed"] == first["ed"]


def test_a_pinned_request_keeps_its_version_key_across_a_swap(tiny_db_copy):
    store = Store(tiny_db_copy)
    pinned = store.pinned()
    before = file_version(pinned)
    f = Filters()
    old = queries.totals(pinned, f)
    _drop_police_month(tiny_db_copy)
    assert file_version(pinned) == before and file_version(store) != before
    assert queries.totals(pinned, f) == old                                  # the pinned file, from the cache
    assert queries.totals(store.pinned(), f)["police"] < old["police"]       # the new file, computed afresh


def test_callers_cannot_change_what_the_cache_holds(tiny_db):
    store = Store(tiny_db)
    f = Filters()
    a = queries.month_borough_counts(store, f)
    a["ed"] = -1
    del a["month"]
    t = queries.totals(store, f)
    t["ed"] = -1
    b = queries.month_borough_counts(store, f)
    assert "month" in b and (b["ed"] >= 0).all() and queries.totals(store, f)["ed"] >= 0
    pd.testing.assert_frame_equal(b, queries.month_borough_counts.uncached(store, f))


def test_rows_served_from_the_cache_are_still_counted_for_the_request_log(tiny_db):
    seen = []
    scoped = ScopedStore(Store(tiny_db), Scope(), on_rows=seen.append)
    f = Filters(boroughs=("E09000001",), start=None)
    queries.month_borough_counts(scoped, f)
    queries.month_borough_counts(scoped, f)
    assert len(seen) == 2 and seen[0] == seen[1] > 1  # the month rows of one borough, then the same from memory


def test_peek_answers_from_a_richer_cached_result_and_never_computes(tiny_db):
    from datetime import date
    store = Store(tiny_db)
    f = Filters(start=date(2025, 1, 1), end=date(2025, 6, 30), boroughs=("E09000033",))
    for cached in (queries.month_borough_counts, queries.totals):  # other tests (a browser journey) may have asked
        cached.cache.clear()
    assert queries.month_borough_counts.peek(store, f) is None          # nothing computed yet
    plain = queries.totals(store, f)                                     # a plain count
    assert queries.month_borough_counts.peek(store, f) is None          # ... which did not fill the richer cache
    queries.totals.cache.clear()
    c = queries.month_borough_counts(store, f)
    assert queries.month_borough_counts.peek(store, f) is not None
    assert queries.totals(store, f) == plain == {k: int(c[k].sum()) for k in ("ed", "police", "other")}
    # hot blocks rank the same counts whether they come from the block map's counts or their own query
    queries.block_stats.cache.clear()
    own = queries.hot_blocks(store, f)
    queries.block_stats.cache.clear()
    queries.unit_counts(store, f, "block_id")
    pd.testing.assert_frame_equal(queries.hot_blocks(store, f), own)


def test_the_map_unit_is_not_part_of_a_query_key(tiny_db):
    store = Store(tiny_db)
    f = Filters(boroughs=("E09000012",))
    queries.month_borough_counts.cache.clear()
    queries.month_borough_counts(store, f)
    assert queries.month_borough_counts.peek(store, f.with_(unit="block")) is not None   # same counts
    assert queries.month_borough_counts.peek(store, f.with_(sources=("ed",))) is None   # a real filter: not


def test_the_cache_is_bounded_by_bytes_as_well_as_by_count():
    cache = VersionCache(100, max_bytes=3 * 8_000 + 500)
    frame = lambda: pd.DataFrame({"n": range(1000)})  # noqa: E731  8,000 bytes of int64 (+ a RangeIndex)
    for i in range(10):
        cache.get(i, frame)
    assert len(cache) == 3 and cache.bytes <= cache.max_bytes
    assert cache.get(9, lambda: None)[1] and not cache.get(0, frame)[1]   # newest kept, oldest gone
    big = VersionCache(100, max_bytes=10)
    assert big.get("x", frame)[0] is not None and len(big) == 1            # one over-budget result still serves
