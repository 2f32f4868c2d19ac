"""Tasking pack through the HTTP edge: CSV and printable HTML hold the page's numbers, dated and labelled."""
from __future__ import annotations

import io
import json
import re

import pandas as pd

WESTMINSTER, HACKNEY = "E09000033", "E09000012"
VIEW = f"?borough={WESTMINSTER}%2C{HACKNEY}&from=2025-12-04&to=2025-12-31&list=busiest"  # counted: all December


def _truth(store, start, end):
    return store.df("""
        SELECT block_id, count(*) FILTER (WHERE source = 'ed') AS ed, count(*) FILTER (WHERE source = 'police') AS police
        FROM incidents WHERE block_id IS NOT NULL AND borough_code IN (?, ?) AND (
            (source = 'ed' AND geocode_confidence IN ('venue', 'street') AND CAST(occurred_at AS DATE) BETWEEN ?::DATE AND ?::DATE)
         OR (source = 'police' AND category = 'Violence and sexual offences'
             AND month BETWEEN ?::DATE AND ?::DATE))
        GROUP BY block_id""", [WESTMINSTER, HACKNEY, start, end, start, end]).set_index("block_id")


def test_pack_csv_and_html_hold_the_same_numbers_as_sql(client_as, store, dash_app):
    c = client_as("analyst")  # record-level like police; tests/test_auth.py locks the demo police user out
    r = c.get("/download/tasking/pack.csv" + VIEW)
    assert r.status_code == 200 and "istv-tasking-pack.csv" in r.headers["Content-Disposition"]
    csv = pd.read_csv(io.StringIO(r.get_data(as_text=True)), keep_default_na=False)
    truth, before = _truth(store, "2025-12-01", "2025-12-31"), _truth(store, "2024-12-01", "2025-11-30")
    assert len(csv) == 20 and list(csv["rank"]) == list(range(1, len(csv) + 1))
    for _, row in csv.iterrows():
        t = truth.loc[row["block_id"]]
        prev = before.loc[row["block_id"]].sum() if row["block_id"] in before.index else 0
        assert (row["ed"], row["police"], row["total"]) == (t["ed"], t["police"], t["ed"] + t["police"])
        assert float(row["expected"]) == round(prev * 31 / 365, 1)
        assert row["change_class"] in ("new", "gone", "rising", "falling", "steady")
    html = c.get("/download/tasking/pack.html" + VIEW).get_data(as_text=True)
    assert "Westminster, Hackney" in html and "01 Dec 2025 to 31 Dec 2025" in html and "01 Dec 2024 to 30 Nov 2025" in html
    assert re.search(r"produced \d{2} \w+ \d{4}", html) and "Method statement" in html
    assert "whole calendar months" in html and "negative-binomial" in html and "Busiest blocks" in html
    assert "@media print" in html and "<svg" in html
    ed = re.search(r'id="pack-ed">([\d,]+)<', html).group(1)
    assert int(ed.replace(",", "")) == truth["ed"].sum()
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td>", html)
    assert [(int(a), int(e), int(p), int(t)) for a, _, _, e, p, t in rows] == \
        [(int(r["rank"]), int(r["ed"]), int(r["police"]), int(r["total"])) for _, r in csv.iterrows()]
    from dashboard.auth import USERS_KEY
    events = dash_app.server.extensions[USERS_KEY].events(limit=5, action="export")
    assert [json.loads(e.detail)["export"] for e in events[:2]] == ["tasking-pack", "tasking-pack"]


def test_year_comparison_is_labelled(client_as):
    html = client_as("analyst").get("/download/tasking/pack.html?cmp=year&top=10&list=busiest").get_data(as_text=True)
    assert "All London" in html and "same months a year earlier (01 Dec 2024 to 31 Dec 2024)" in html
    assert html.count("<tr><td>") == 10


def test_roles_without_tasking_get_403(client_as):
    for who in ("licensing", "csp", "health"):
        for path in ("/download/tasking/pack.html", "/download/tasking/pack.csv"):
            assert client_as(who).get(path).status_code == 403
