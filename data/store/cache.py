"""Results cached per data version: what many users ask for alike is computed once.

A tasking meeting's twenty people open the same default views at the same moment; the
premises ranking (all premises x both periods) or the hot blocks of London cost 0.1-0.6 s of
CPU each time. `per_version` caches a query function's result keyed by

* the database file version the request is pinned to (inode, mtime, size: a load writes a new
  file, so a new key, and old entries simply age out),
* the viewer's scope (two users with different boroughs never share an entry), and
* the call's arguments (the frozen `Filters`, by its `cache_key()`, and plain values).

Concurrent calls for the same key wait for the first instead of all computing (single flight).
Results are shared between requests: DataFrames are handed out as shallow copies (pandas
copy-on-write keeps the cached data intact whatever the caller does); other results must be
immutable (tuples, frozensets, numbers) or flat dicts (copied).
"""
from __future__ import annotations

import functools
import os
import threading
from collections import OrderedDict
from concurrent.futures import Future

import pandas as pd

from data.access.roles import UNRESTRICTED


def raw_store(store):
    """The Store (or PinnedStore) under a ScopedStore."""
    return getattr(store, "store", store)


def file_version(store) -> tuple[str, tuple]:
    """(path, identity) of the file this store reads: the pinned version for a pinned store."""
    raw = raw_store(store)
    ident = getattr(raw, "identity", None)
    if ident is None:
        st = os.stat(raw.path)
        ident = (st.st_ino, st.st_mtime_ns, st.st_size)
    return str(raw.path), ident


def _shared(value):
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return value.copy(deep=False)
    return dict(value) if isinstance(value, dict) else value


def size_of(value) -> int:
    """Bytes a cached result holds, roughly: DataFrames and Series by their columns, bytes (map tiles)
    by their length, tuples by their parts, else nothing worth counting (totals, sets of block ids)."""
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, tuple):
        return sum(size_of(v) for v in value)
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(index=True, deep=False).sum())
    if isinstance(value, pd.Series):
        return int(value.memory_usage(index=True, deep=False))
    return 0


class VersionCache:
    """A bounded LRU map from key to result, computing each missing key once (single flight).

    Bounded by count (maxsize) and by bytes (max_bytes): at 10M incidents one per-block count is
    10 MB, so a count alone would let a worker grow by gigabytes."""

    def __init__(self, maxsize: int, max_bytes: int | None = None):
        self.maxsize, self.max_bytes = maxsize, max_bytes
        self._items: OrderedDict = OrderedDict()
        self._sizes: dict = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def bytes(self) -> int:
        return sum(self._sizes.values())

    def _evict(self, keep) -> None:
        # oldest first, never the entry just made; under self._lock
        while len(self._items) > self.maxsize or (self.max_bytes is not None and self.bytes > self.max_bytes
                                                  and len(self._items) > 1):
            oldest = next(k for k in self._items if k != keep)
            del self._items[oldest]
            self._sizes.pop(oldest, None)

    def get(self, key, compute):
        """(result, hit): the cached result for key, computing it when missing (hit False)."""
        with self._lock:
            fut = self._items.get(key)
            if fut is not None:
                self._items.move_to_end(key)
                self.hits += 1
                owner = False
            else:
                fut = self._items[key] = Future()
                self.misses += 1
                owner = True
                self._evict(key)
        if owner:
            try:
                value = compute()
            except BaseException as exc:  # a failed computation is not cached: the next call tries again
                with self._lock:
                    if self._items.get(key) is fut:
                        del self._items[key]
                fut.set_exception(exc)
            else:
                fut.set_result(value)
                with self._lock:
                    if self._items.get(key) is fut:
                        self._sizes[key] = size_of(value)
                        self._evict(key)
        return fut.result(), not owner

    def peek(self, key):
        """The finished result for key, or None (never computes, never waits)."""
        with self._lock:
            fut = self._items.get(key)
        if fut is None or not fut.done() or fut.exception() is not None:
            return None
        return fut.result()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._sizes.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)


_CACHES: list[VersionCache] = []


def clear_all() -> None:
    """Empty every result cache (benchmarks measure the uncached path with it)."""
    for cache in _CACHES:
        cache.clear()


MAX_BYTES = 64 * 1024 * 1024   # per cached function, per worker


def version_cache(maxsize: int, max_bytes: int | None = MAX_BYTES) -> VersionCache:
    """A VersionCache that `clear_all` empties too, for callers that make their own keys (they must
    include the file version, as `per_version` does)."""
    cache = VersionCache(maxsize, max_bytes)
    _CACHES.append(cache)
    return cache


def per_version(maxsize: int = 32, max_bytes: int = MAX_BYTES):
    """Cache fn(store, *args, **kwargs) per (file version, viewer scope, arguments); see the module."""
    def wrap(fn):
        cache = VersionCache(maxsize, max_bytes)
        _CACHES.append(cache)

        def key_of(store, args, kwargs):
            args = tuple(a.cache_key() if hasattr(a, "cache_key") else a for a in args)
            return file_version(store), getattr(store, "scope", UNRESTRICTED), args, tuple(sorted(kwargs.items()))

        @functools.wraps(fn)
        def cached(store, *args, **kwargs):
            value, hit = cache.get(key_of(store, args, kwargs), lambda: fn(store, *args, **kwargs))
            on_rows = getattr(store, "on_rows", None)
            if hit and on_rows is not None and isinstance(value, pd.DataFrame):
                on_rows(len(value))  # the request log counts rows served from the cache too
            return _shared(value)

        def peek(store, *args, **kwargs):
            """The cached result of this call if one is ready, else None: lets a cheaper query
            be answered from a richer one that the same request already ran."""
            value = cache.peek(key_of(store, args, kwargs))
            return None if value is None else _shared(value)

        cached.cache = cache
        cached.uncached = fn
        cached.peek = peek
        return cached
    return wrap
