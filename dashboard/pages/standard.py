"""The London minimum data standard, for people: generated from data/ingest/schema.py like the JSON form."""
from __future__ import annotations

import json
from enum import StrEnum

import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from data.ingest.standard import code_lists, field_rows, general_rules
from flask import has_request_context
from flask_login import current_user

from dashboard.context import current_store
from data.ingest.schema import EXTRA_INCIDENTS, FORMATS, GEO_FILES, STANDARD_VERSION, data_package
from data.store import queries

# the standard holds no data: every role may read it
PATH, TITLE, PERMISSION = "/standard", "Data standard", "view_standard"
JSON_NAME = "istv-london-standard.json"
JSON_PATH = "/standard.json"


class Ids(StrEnum):
    DOWNLOAD = "standard-download"
    BUTTON = "standard-download-button"


def _fields_table(fmt) -> dbc.Table:
    head = html.Thead(html.Tr([html.Th(h) for h in ("Field", "Level", "Type", "Rules", "Also accepted", "Meaning")]))
    rows = [html.Tr([html.Td([html.Code(r["name"]), html.Div(r["title"], className="small text-muted")]),
                     html.Td(dbc.Badge(r["level"], color={"mandatory": "danger", "required": "warning"}.get(r["level"], "secondary"))),
                     html.Td(r["type"]), html.Td(r["rules"]), html.Td(r["also"], className="small"),
                     html.Td(r["description"])], id=f"standard-{fmt.name}-{r['name']}")
            for r in field_rows(fmt)]
    return dbc.Table([head, html.Tbody(rows)], bordered=False, striped=True, size="sm", responsive=True)


def _codes_table(codes, extra) -> dbc.Table:
    head = html.Thead(html.Tr([html.Th(h) for h in ("Code", "Label", "Description", "Accepted spellings")]))
    rows = [html.Tr([html.Td(html.Code(c.code)), html.Td(c.label), html.Td(c.description),
                     html.Td(", ".join(extra[c.code]), className="small")]) for c in codes]
    return dbc.Table([head, html.Tbody(rows)], bordered=False, striped=True, size="sm", responsive=True)


def _registered_sources() -> html.Div:
    """The extra sources this deployment has registered (names only: no data), for the extra format."""
    if not has_request_context() or not current_user or not current_user.is_authenticated:
        return None
    extra = queries.extra_sources(current_store())
    if not len(extra):
        return html.P(["No extra source is registered in this deployment yet: ",
                       html.Code("flask --app app sources add CODE --name NAME --agency AGENCY"), "."],
                      className="small", id="standard-sources")
    return html.Div([html.P("Sources registered in this deployment (choose them on the map, trends and tasking pages; "
                            "analysts send their files on the Upload page):", className="small mb-1"),
                     html.Ul([html.Li([html.Code(c), f" {n} ({a})" + (f": {d}" if d else "")])
                              for c, n, a, d in zip(extra["source"], extra["name"], extra["agency"], extra["description"])],
                             className="small")], id="standard-sources")


def _load_command(fmt) -> str:
    return f"flask --app app load {fmt.name}" + (" --source CODE" if fmt is EXTRA_INCIDENTS else "") + " FILE"


def layout(search: str = "") -> html.Div:
    formats = [html.Section([
        html.H3(fmt.title, className="h5 mt-4"),
        html.P([fmt.description, " Load with ", html.Code(_load_command(fmt))]),
        _registered_sources() if fmt is EXTRA_INCIDENTS else None,
        _fields_table(fmt),
    ], id=f"standard-{fmt.name}") for fmt in FORMATS.values()]
    lists = [html.Section([
        html.H4(title, className="h6 mt-3"), html.P(f"Used by {', '.join(used)}.", className="small text-muted"),
        _codes_table(codes, extra),
    ]) for title, used, codes, extra in code_lists()]
    return html.Div([
        dbc.Row([
            dbc.Col([html.H1(f"London minimum data standard (version {STANDARD_VERSION})", className="h4"),
                     html.P("What the files loaded into ISTV London must hold: the NHS ISTV minimum data set "
                            "(ISB 1594) for ED submissions, with London's codes, and the other files the "
                            "product reads. This page and the JSON download are generated from one definition.")], md=9),
            dbc.Col([dbc.Button("Download JSON (Frictionless Table Schema)", id=Ids.BUTTON, color="primary", size="sm"),
                     dcc.Download(id=Ids.DOWNLOAD),
                     html.Div(["also at ", html.Code(JSON_PATH), " and ", html.Code("flask --app app standard")],
                              className="small text-muted mt-1")], md=3, className="text-md-end"),
        ]),
        html.H3("General rules", className="h5 mt-2"),
        html.Ul([html.Li(r) for r in general_rules()]),
        *formats,
        html.H3("Code lists", className="h5 mt-4"),
        *lists,
        html.H3("Geographic files", className="h5 mt-4"),
        html.Ul([html.Li([html.Strong(title), f" (load {name}): {text}"]) for name, (title, text) in GEO_FILES.items()]),
    ], id="standard-page")


def download_json(n_clicks):
    """Callback body: the standard as a Frictionless Data Package file."""
    return dcc.send_string(json.dumps(data_package(), indent=2, ensure_ascii=False), JSON_NAME)


def register_callbacks(app) -> None:
    app.callback(Output(Ids.DOWNLOAD, "data"), Input(Ids.BUTTON, "n_clicks"), prevent_initial_call=True)(download_json)


def standard_json_response():
    """GET /standard.json: the same package at a fixed address, for tools that read the standard."""
    from flask import Response
    return Response(json.dumps(data_package(), indent=2, ensure_ascii=False), mimetype="application/json")


def register_routes(server) -> None:
    server.add_url_rule(JSON_PATH, "standard_json", standard_json_response)
