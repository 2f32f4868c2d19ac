"""The monthly ED feedback report and the data-quality CSV exports, fetched as a signed-in user."""
from __future__ import annotations

import io
import re

import pandas as pd

from dashboard import reports_quality as rq
from data.store import queries
from data.store import queries_trends as qs
from data.store.filters import Filters
from datetime import date

SITE, MONTH = "RJ122", "2025-11"
REPORT = f"/download/strategic/quality-report.html?site={SITE}&month={MONTH}"


def _n(store, sql, params=()):
    return int(store.df(sql, params).iloc[0, 0])


def _audit(dash_app, action="export"):
    from dashboard.auth import USERS_KEY
    return dash_app.server.extensions[USERS_KEY].events(action=action, limit=5)


def test_report_shows_the_month_against_sql_and_the_method(client_as, store, dash_app):
    r = client_as("analyst").get(REPORT)
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    n = _n(store, "SELECT count(*) FROM incidents WHERE source='ed' AND ed_site=? AND month='2025-11-01'", [SITE])
    assert f'id="report-records">{n:,} assault records in November 2025' in page
    complete = _n(store, """SELECT count(*) FROM incidents WHERE source='ed' AND ed_site=? AND month='2025-11-01'
                            AND arrived_at IS NOT NULL AND occurred_at IS NOT NULL AND category <> '99'
                            AND location_type <> '99' AND trim(location_text) <> ''""", [SITE])
    assert f"All fields complete: <b>{complete / n * 100:.1f} %</b>" in page
    assert "no submissions loaded yet" not in page  # the demo records its monthly files in load_log
    assert rq.METHOD[:80] in page and 'id="report-method"' in page
    assert "<svg" in page and "@media print" in page
    months = re.findall(r'<tr><td>(\w{3} \d{4})</td>', page.split('id="report-months"')[1].split("</table>")[0])
    assert months[0] == "Dec 2024" and months[-1] == "Nov 2025" and len(months) == 12
    events = _audit(dash_app)
    assert events[0].username == "analyst" and '"quality-report"' in events[0].detail


def test_report_hot_blocks_agree_with_the_hot_block_definition(client_as, store):
    page = client_as("analyst").get(REPORT).get_data(as_text=True)
    f = Filters(start=date(2024, 12, 1), end=date(2025, 11, 30))  # the 12 months to the report's month
    hot = set(queries.hot_blocks(store, f)["block_id"])
    ed_hot = set(queries.hot_blocks(store, f.with_(sources=("ed",)))["block_id"])
    police_hot = set(queries.hot_blocks(store, f.with_(sources=("police",)))["block_id"])
    mine = store.df("""SELECT block_id, count(*) AS n FROM incidents WHERE source='ed' AND ed_site=?
                       AND month BETWEEN '2024-12-01' AND '2025-11-01'
                       AND block_id IS NOT NULL AND geocode_confidence IN ('venue','street') GROUP BY block_id""", [SITE])
    in_hot = int(mine.loc[mine["block_id"].isin(hot), "n"].sum())
    assert f'id="report-hot">{in_hot:,} of your {int(mine["n"].sum()):,} records' in page
    revealed = sorted((ed_hot - police_hot) & set(mine["block_id"]))
    assert revealed, "the fixture should have blocks only ED data revealed"
    table = page.split('id="report-ed-only"')[1].split("</table>")[0]
    assert sorted(int(b) for b in re.findall(r"<tr><td>(\d+)</td>", table)) == revealed
    assert f"On ED records alone, {len(ed_hot - police_hot):,} hot blocks were found that police records alone did not show" in page


def test_report_scope_and_permissions(client_as, dash_app):
    health = client_as("health")
    assert health.get(REPORT).status_code == 200
    assert health.get(f"/download/strategic/quality-report.html?site=RJZ01&month={MONTH}").status_code == 403
    assert health.get(f"/download/strategic/quality-report.html?site={SITE}&month=soon").status_code == 400
    assert client_as("csp").get(REPORT).status_code == 403  # no view_quality
    assert dash_app.server.test_client().get(REPORT).status_code == 401


def test_health_report_shows_its_own_site_exactly_and_london_protected(client_as, store):
    # the latest month of 2025 in which this ED has 5 or more records (its total is then shown)
    busy = store.df("""SELECT strftime(month, '%Y-%m') AS m, count(*) AS n FROM incidents WHERE source='ed' AND ed_site=?
                       AND year(month) = 2025 GROUP BY month HAVING count(*) >= 5 ORDER BY month DESC LIMIT 1""", [SITE])
    month, n = busy["m"].iat[0], int(busy["n"].iat[0])
    page = client_as("health").get(f"/download/strategic/quality-report.html?site={SITE}&month={month}").get_data(as_text=True)
    assert f"{n:,} assault records" in page
    assert "All fields complete: <b>*" not in page  # the old failure: the lead's own figures hidden from them
    assert re.search(r"All fields complete: <b>\d+\.\d %</b>", page)


def _csv(r) -> tuple[str, pd.DataFrame]:
    text = r.get_data(as_text=True)
    return text.splitlines()[0], pd.read_csv(io.StringIO(text), comment="#", dtype=str, keep_default_na=False)


def test_quality_csv_exports_hold_the_page_numbers_and_the_method(client_as, store, dash_app):
    c = client_as("analyst")
    head, months = _csv(c.get(f"/download/strategic/quality-months.csv?site={SITE}&from=2025-01-01&to=2025-12-31"))
    assert head.startswith("# ISTV London data quality (months)") and "Method: Records are ED assault" in head
    want = store.df("""SELECT strftime(month, '%b %Y') AS m, count(*) AS n FROM incidents WHERE source='ed' AND ed_site=?
                       AND year(month)=2025 GROUP BY month ORDER BY month""", [SITE])
    assert months["Month"].tolist() == want["m"].tolist()
    assert months["Records"].astype(int).tolist() == want["n"].tolist()
    head, league = _csv(c.get("/download/strategic/quality-league.csv?from=2025-01-01&to=2025-12-31"))
    per_site = store.df("SELECT ed_site, count(*) AS n FROM incidents WHERE source='ed' AND year(month)=2025 GROUP BY ed_site")
    got = {re.search(r"\((\w+)\)$", e).group(1): int(n) for e, n in zip(league["ED"], league["Records"]) if e != rq.BENCHMARK}
    assert got == dict(zip(per_site["ed_site"], per_site["n"]))
    assert int(league.loc[league["ED"] == rq.BENCHMARK, "Records"].iat[0]) == int(per_site["n"].sum())
    assert _audit(dash_app)[0].detail.count("quality-league") == 1


def test_health_league_export_is_its_own_ed_and_london(client_as):
    _, league = _csv(client_as("health").get("/download/strategic/quality-league.csv?from=2025-01-01&to=2025-12-31"))
    assert league["ED"].tolist() == ["St Thomas' Hospital (RJ122)", rq.BENCHMARK]
    _, months = _csv(client_as("health").get(f"/download/strategic/quality-months.csv?site={SITE}&from=2025-01-01&to=2025-12-31"))
    assert "<5" not in months["Records"].tolist() and "*" not in months["Median delay"].tolist()  # its own ED: exact


def test_timeliness_months_need_whole_months(store):
    assert qs.months_between(date(2024, 12, 1), date(2025, 11, 30)) == 12


def test_report_says_what_changed_since_last_month_which_locations_to_write_better_and_what_they_contributed(
        client_as, store):
    page = client_as("analyst").get(REPORT).get_data(as_text=True)
    where = "source='ed' AND ed_site=? AND month=?"
    for month, label in (("2025-10-01", "October 2025"), ("2025-11-01", "November 2025")):
        n = _n(store, f"SELECT count(*) FROM incidents WHERE {where}", [SITE, month])
        placed = _n(store, f"SELECT count(*) FROM incidents WHERE {where} AND geocode_confidence IN ('venue', 'street')",
                    [SITE, month])
        since = page.split('id="report-since"')[1].split("</table>")[0]
        assert f"{placed / n * 100:.1f} %" in since.split("Placed on a street or venue")[1].split("</tr>")[0], label
        assert label in since
    # every kind of location that could not be placed, counted as SQL counts it (home addresses are no problem)
    locations = page.split('id="report-locations"')[1].split("</ul>")[0]
    not_home = f"{where} AND location_type <> '03'"
    unknown = _n(store, f"""SELECT count(*) FROM incidents WHERE {not_home} AND coalesce(trim(location_text), '') <> ''
                            AND coalesce(geocode_confidence, 'none') = 'none'""", [SITE, "2025-11-01"])
    area = _n(store, f"""SELECT count(*) FROM incidents WHERE {not_home} AND coalesce(trim(location_text), '') <> ''
                         AND geocode_confidence = 'area'""", [SITE, "2025-11-01"])
    for count, text in ((unknown, "Not recognised"), (area, "Only an area")):
        assert (f"<b>{count:,}</b> {text}" in locations) if count else (text not in locations)
    assert unknown + area > 0
    kind = "coalesce(geocode_confidence, 'none') = 'none'" if unknown else "geocode_confidence = 'area'"
    top = store.df(f"""SELECT trim(location_text) AS t, count(*) AS n FROM incidents WHERE {not_home}
                       AND coalesce(trim(location_text), '') <> '' AND {kind}
                       GROUP BY 1 ORDER BY n DESC, t LIMIT 1""", [SITE, "2025-11-01"])
    assert f"&lsquo;{top['t'].iat[0]}&rsquo;" in locations
    assert "Entries that were placed at the venue" in page
    month_hot = re.search(r'id="report-month-hot">([\d,]+) of your ([\d,]+) assaults placed', page)
    located = _n(store, f"""SELECT count(*) FROM incidents WHERE {where} AND block_id IS NOT NULL
                            AND geocode_confidence IN ('venue', 'street')""", [SITE, "2025-11-01"])
    assert int(month_hot.group(2).replace(",", "")) == located
    assert 0 <= int(month_hot.group(1).replace(",", "")) <= located
