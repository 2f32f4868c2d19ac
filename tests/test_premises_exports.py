"""Premises downloads through the HTTP edge: evidence pack (HTML + CSV) and the list, scoped, suppressed, audited."""
from __future__ import annotations

import io
import json
import re
from datetime import date

import pandas as pd

from dashboard.reports_ops import evidence_frame, gather_profile
from data.store import queries_ops
from data.store.filters import Filters

WESTMINSTER, CAMDEN = "E09000033", "E09000007"
VIEW = f"?borough={WESTMINSTER}&from=2025-01-01&to=2025-12-31"
Y2025 = Filters(boroughs=(WESTMINSTER,), start=date(2025, 1, 1), end=date(2025, 12, 31))


def _busy(store) -> str:
    ev = queries_ops.premises_evidence(store, Y2025, 50)
    return ev.sort_values(["ed", "police", "premises_id"], ascending=[False, False, True]).iloc[0]["premises_id"]


def _audits(dash_app, action="export"):
    from dashboard.auth import USERS_KEY
    return [e for e in dash_app.server.extensions[USERS_KEY].events(limit=50, action=action)]


def test_evidence_csv_holds_the_profile_numbers_and_is_audited(client_as, store, dash_app):
    pid = _busy(store)
    r = client_as("analyst").get(f"/download/premises/{pid}/evidence.csv{VIEW}")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    csv = pd.read_csv(io.StringIO(r.get_data(as_text=True)), dtype={"ed": object, "police": object})
    p = gather_profile(store, Y2025, pid, 50)
    truth = store.df("""SELECT count(*) FILTER (WHERE source = 'ed') AS ed, count(*) FILTER (WHERE source = 'police') AS police
                        FROM incidents i, (SELECT lat AS plat, lon AS plon FROM premises WHERE premises_id = ?) p
                        WHERE borough_code = ? AND 6371008.8 * 2 * asin(sqrt(pow(sin(radians(i.lat - plat) / 2), 2)
                              + cos(radians(plat)) * cos(radians(i.lat)) * pow(sin(radians(i.lon - plon) / 2), 2))) <= 50
                          AND ((source = 'ed' AND geocode_confidence IN ('venue', 'street') AND year(occurred_at) = 2025)
                               OR (source = 'police' AND category = 'Violence and sexual offences' AND year(month) = 2025))""",
                     [pid, WESTMINSTER]).iloc[0]
    row = csv[csv["item"] == "Incidents within 50 m, this period"].iloc[0]
    assert (int(row["ed"]), int(row["police"])) == (truth["ed"], truth["police"]) == (p.ed, p.police)
    assert csv.loc[csv["section"] == "monthly", "ed"].astype(int).sum() == truth["ed"]
    assert len(csv) == len(evidence_frame(p))
    last = _audits(dash_app)[0]
    assert last.username == "analyst" and f"premises-evidence:{pid}" in last.detail and last.rows == len(csv)


def test_evidence_html_has_details_method_numbers_and_prints(client_as, store):
    pid = _busy(store)
    html = client_as("analyst").get(f"/download/premises/{pid}/evidence.html{VIEW}&r=75").get_data(as_text=True)
    p = gather_profile(store, Y2025, pid, 75)
    name = store.df("SELECT name FROM premises WHERE premises_id = ?", [pid]).iat[0, 0]
    assert f"Evidence pack: {name}" in html.replace("&#x27;", "'")
    assert "Method statement" in html and "within 75 m" in html and "'venue' or 'street'" in html.replace("&#x27;", "'")
    assert "Disclosure:" in html and "01 Jan 2025 to 31 Dec 2025" in html and "01 Jan 2024 to 31 Dec 2024" in html
    # the only script is the print button's file: no inline code (the CSP allows none)
    assert "@media print" in html and html.count("<svg") >= 5
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/assets/print.js">'] and "onclick" not in html
    summary = re.search(r"Incidents within 75 m, this period</td><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td>", html)
    assert summary and (int(summary.group(1)), int(summary.group(2))) == (p.ed, p.police)


def test_licensing_evidence_is_exact_and_stays_in_borough(client_as, store):
    # the disclosure policy: licensing officers have an agreement for exact aggregates of their boroughs
    c = client_as("licensing")
    pid = _busy(store)
    csv = pd.read_csv(io.StringIO(c.get(f"/download/premises/{pid}/evidence.csv{VIEW}").get_data(as_text=True)),
                      dtype=str, keep_default_na=False)
    values = [v for v in list(csv["ed"]) + list(csv["police"]) if v != ""]
    assert values and all(v.isdigit() for v in values) and any(0 < int(v) < 5 for v in values)
    html = c.get(f"/download/premises/{pid}/evidence.html{VIEW}").get_data(as_text=True)
    assert "Disclosure level: exact" in html
    camden = store.df("SELECT premises_id FROM premises WHERE borough_code = ? LIMIT 1", [CAMDEN]).iat[0, 0]
    assert c.get(f"/download/premises/{camden}/evidence.html?borough={CAMDEN}").status_code == 404
    assert c.get(f"/download/premises/{camden}/evidence.csv").status_code == 404


def test_roles_without_the_premises_page_get_403(client_as, store):
    pid = _busy(store)
    for path in (f"/download/premises/{pid}/evidence.html", "/download/premises/list.csv"):
        assert client_as("csp").get(path).status_code == 403
        assert client_as("health").get(path).status_code == 403


def test_list_csv_is_the_filtered_table(client_as, store, dash_app):
    r = client_as("licensing").get(f"/download/premises/list.csv?type=pub&min=3&borough={CAMDEN},{WESTMINSTER}")
    csv = pd.read_csv(io.StringIO(r.get_data(as_text=True)), dtype=str, keep_default_na=False)
    ev = queries_ops.premises_evidence(store, Filters(boroughs=(WESTMINSTER,), start=date(2025, 1, 1), end=date(2025, 12, 31)), 50)
    expected = ev[(ev["licence_type"] == "pub") & (ev["total"] >= 3)]
    assert sorted(csv["premises_id"]) == sorted(expected["premises_id"]) and len(csv) > 0
    assert set(csv["licence_type"]) == {"Pub"} and set(csv["radius_m"]) == {"50"}
    assert all(v.isdigit() for col in ("ed", "police", "total") for v in csv[col])  # exact for licensing
    detail = json.loads(_audits(dash_app)[0].detail)
    assert detail["export"] == "premises" and detail["filters"]["scope"] == [WESTMINSTER]
