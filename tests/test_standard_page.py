"""The /standard page and its JSON come from data/ingest/schema.py: every field and code appears."""
from __future__ import annotations

import json

from flask import Flask

from dashboard.pages import standard
from data.ingest.schema import FORMATS, data_package


def _walk(component):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            yield from _walk(child)


def _text(component) -> str:
    out = []
    for c in _walk(component):
        if isinstance(getattr(c, "children", None), str):
            out.append(c.children)
    return " ".join(out)


def test_page_has_a_row_for_every_field_of_every_format():
    page = standard.layout("")
    ids = {getattr(c, "id", None) for c in _walk(page)}
    for fmt in FORMATS.values():
        assert f"standard-{fmt.name}" in ids
        assert {f"standard-{fmt.name}-{f.name}" for f in fmt.fields} <= ids


def test_page_shows_every_code_with_its_label_and_accepted_spellings():
    text = _text(standard.layout(""))
    for fmt in FORMATS.values():
        for f in fmt.fields:
            assert all(c.label in text for c in f.codes)
    assert "knife, knife sharp object, stab, stabbed" in text  # spellings accepted for 03 Knife or sharp object
    assert "Greater London's bounding area" in text


def test_download_and_route_give_the_frictionless_package():
    sent = standard.download_json(1)
    assert sent["filename"] == "istv-london-standard.json"
    assert json.loads(sent["content"]) == json.loads(json.dumps(data_package()))
    server = Flask(__name__)
    standard.register_routes(server)
    response = server.test_client().get("/standard.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json()["resources"][0]["name"] == "istv"
    assert standard.PERMISSION == "view_standard"
