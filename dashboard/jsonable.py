"""Callback outputs in the form Dash's encoder sends fastest.

Dash encodes a callback's response with plotly's `to_json_plotly`: it first tries `orjson.dumps`
on the whole response, and when any part is not JSON-native (a `go.Figure`, an html component, a
Patch) it falls back to walking every element in Python, the map's 30,000 GeoJSON coordinates
included (~100 ms a render, more than the render's queries). `plain` gives each output its JSON
form once, so the whole response takes orjson's path; the bytes sent are the same.
"""
from __future__ import annotations

import orjson
from dash._no_update import NoUpdate
from plotly.io.json import to_json_plotly

ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY  # as plotly's orjson engine


def plain(value):
    """value as JSON-native data (dicts, lists, numbers, strings, numpy arrays) that encodes to the
    same JSON; `no_update` stays itself (Dash drops it before encoding)."""
    if NoUpdate.is_no_update(value):
        return value
    if isinstance(value, dict) and "data" in value and "layout" in value and isinstance(value["data"], list):
        # a figure dict: the figure modules build these JSON-native (tests/test_jsonable.py checks the
        # map's whole response), and checking 900 KB of block polygons again costs 4 ms
        return value
    try:
        orjson.dumps(value, option=ORJSON_OPTIONS)
        return value
    except TypeError:
        return orjson.loads(to_json_plotly(value))


def plain_outputs(result):
    """A callback's return value with each output made plain (a tuple is a multi-output return)."""
    if isinstance(result, tuple):
        return tuple(plain(v) for v in result)
    return plain(result)
