"""Callback outputs handed to Dash JSON-native (dashboard/jsonable.py): same bytes, orjson's fast path."""
from __future__ import annotations

import numpy as np
import orjson
import plotly.graph_objects as go
import plotly.io._json as plotly_json
from dash import Patch, html, no_update
from plotly.io.json import to_json_plotly

from dashboard.jsonable import plain, plain_outputs
from tests.test_auth import WESTMINSTER, map_request


def test_figures_components_and_patches_encode_to_the_same_json():
    fig = go.Figure(go.Scatter(x=np.array(["2025-01-01", "2025-02-01"], dtype="datetime64[D]"), y=np.array([1.5, np.nan])))
    div = html.Div([html.B("12", id="n"), " premises"], className="x")
    patch = Patch()
    patch["data"][0]["z"] = np.arange(3)
    for value in (fig, div, patch, {"a": [1, None, "b"]}, [div, div], "text", 7):
        out = plain(value)
        orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)  # JSON-native now
        assert to_json_plotly(out) == to_json_plotly(value)
    assert plain(patch)["__dash_patch_update"] == "__dash_patch_update"


def test_plain_data_is_passed_through_untouched_and_no_update_stays_itself():
    geo = {"type": "FeatureCollection", "features": [{"id": "a", "geometry": {"coordinates": [[[0.1, 51.5]]]}}]}
    assert plain(geo) is geo
    assert plain(no_update) is no_update
    many = plain_outputs((geo, html.B("x"), no_update))
    assert many[0] is geo and many[1] == {"props": {"children": "x"}, "type": "B", "namespace": "dash_html_components"}
    assert many[2] is no_update


def test_a_map_render_through_dash_never_takes_the_slow_encoder(client_as, monkeypatch):
    """Dash's encoder walks every element in Python when any part of a response is not JSON-native
    (~100 ms for the all-London map); the render's whole response must not need that."""
    walked = []
    original = plotly_json.clean_to_json_compatible

    def spy(obj, **kwargs):
        if isinstance(obj, dict) and "response" in obj:
            walked.append(obj)
        return original(obj, **kwargs)

    monkeypatch.setattr(plotly_json, "clean_to_json_compatible", spy)
    r = client_as("analyst").post("/_dash-update-component", json=map_request([WESTMINSTER]))
    assert r.status_code == 200 and r.json["response"]["map-hexes"]["figure"]["data"]
    assert walked == []
