"""The premises profile: mini-map, monthly series, hour of week, weapons, named-venue records, pack links."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import figures, figures_ops
from dashboard.reports_ops import LICENCE_LABELS, Profile, change, exposure_ratio, hot_flag, share
from data.store import queries_ops
from data.access.disclosure import show


def _fact(label: str, value, ident: str | None = None) -> dbc.Col:
    value = f"{value:,}" if isinstance(value, int) else value
    return dbc.Col(dbc.Card(dbc.CardBody([html.Div(label, className="small text-muted"),
                                          html.Div(value, className="fs-5 fw-bold", id=ident)]), className="h-100"), xs=6, md=2)


def profile_view(store, p: Profile, style: str, pack_html: str, pack_csv: str) -> html.Div:
    """The profile as Dash components; small counts hidden for roles without record-level access."""
    rl = store.scope.exact
    prem = p.premises
    pid = prem["premises_id"]
    if store.scope.record_level:  # individual records only with a record-level agreement
        near = {"records": queries_ops.nearby_records(store, p.filters, pid, p.radius_m)}
    else:
        near = {"hexes": queries_ops.nearby_hexes(store, p.filters, pid, p.radius_m)}
    mini = figures_ops.premises_map(prem, p.block, p.radius_m, record_level=rl and store.scope.record_level, style=style,
                                    **near)
    monthly = figures.monthly_series(p.monthly, rl)
    named = p.named
    total, prev = p.ed + p.police, p.previous["ed"] + p.previous["police"]
    flag = hot_flag(p.in_hot, p.next_to_hot) or "not in or next to a hot block"
    return html.Div([
        html.Div([
            html.H3(prem["name"], className="h5 mb-0", id="profile-name"),
            html.Span(f"{prem['address']} · {LICENCE_LABELS.get(prem['licence_type'], prem['licence_type'])} · "
                      f"{prem['opens']}-{prem['closes']} · {flag}", className="text-muted ms-2 me-auto small"),
            html.A("Evidence pack", href=pack_html, target="_blank", id="profile-pack",
                   className="btn btn-sm btn-primary me-1"),
            html.A("Evidence CSV", href=pack_csv, id="profile-pack-csv", className="btn btn-sm btn-outline-secondary"),
        ], className="d-flex align-items-center flex-wrap mb-2"),
        dbc.Row([
            _fact(f"ED assaults within {p.radius_m:g} m", show(p.ed, rl), "profile-ed"),
            _fact("Police violence", show(p.police, rl), "profile-police"),
            _fact("Previous period (both)", show(prev, rl), "profile-prev"),
            _fact("Change", change(total, prev, rl, exposure_ratio(p.filters)), "profile-change"),
            _fact("ED 22:00-06:00", share(p.ed_night, p.ed, rl), "profile-night"),
            _fact("ED naming the venue", show(int(named["named"].sum()), rl), "profile-named"),
        ], className="g-2 mb-2"),
        dbc.Row([
            dbc.Col(dcc.Graph(id="profile-map", figure=mini, style={"height": "42vh"}), lg=5),
            dbc.Col(dcc.Graph(id="profile-series", figure=monthly, style={"height": "42vh"}), lg=7),
        ], className="g-2"),
        dbc.Row([
            dbc.Col(dcc.Graph(id="profile-hours", figure=figures_ops.hour_of_week(p.day_hour, rl, "ED assaults by weekday and hour"),
                              style={"height": "34vh"}), lg=5),
            dbc.Col(dcc.Graph(id="profile-methods", style={"height": "34vh"}, figure=figures_ops.bar_counts(
                list(p.methods["label"]), p.methods["ed"], rl, title="Weapon (ED assault method)")), lg=4),
            dbc.Col(dcc.Graph(id="profile-named-series", style={"height": "34vh"}, figure=figures_ops.bar_counts(
                [f"{m:%b %y}" for m in named["month"]], named["named"], rl, colour="#1f4e99",
                name="ED records naming the venue", title="ED records naming the venue")), lg=3),
        ], className="g-2"),
    ], id="premises-profile-body")
