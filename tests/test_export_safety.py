"""Export safety (issue #18): formula cells neutralised, filenames sanitised, the role checked before any
query with every refusal audited, and the full view recorded in every export audit row."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import duckdb
import pandas as pd
import pytest

from data.store import queries_ops
from data.store.db import PinnedStore, Store
from tests.conftest import sign_in
from tests.fixtures import config_for

WESTMINSTER, HACKNEY = "E09000033", "E09000012"
VIEW = f"?borough={WESTMINSTER}&from=2025-01-01&to=2025-12-31"
ROLES = ("admin", "analyst", "police", "licensing", "csp", "health")
UPLOAD_FILE = Path(__file__).resolve().parent / "data" / "upload" / "ed_RRV03_2025-03_errors.csv"
EVIL_NAME = '=HYPERLINK("http://evil","x")'
EVIL_ADDRESS = "@SUM(1) High Street"


def _users(dash_app):
    from dashboard.auth import USERS_KEY
    return dash_app.server.extensions[USERS_KEY]


def _last_id(users) -> int:
    events = users.events(limit=1)
    return events[0].id if events else 0


def _new_events(users, since: int, action: str):
    return [e for e in users.events(limit=50, action=action) if e.id > since]


def _westminster_premises(store) -> list[str]:
    """Westminster premises, busiest first (so a licensing officer may see them and they have evidence)."""
    from datetime import date
    from data.store.filters import Filters
    ev = queries_ops.premises_evidence(store, Filters(boroughs=(WESTMINSTER,), start=date(2025, 1, 1),
                                                      end=date(2025, 12, 31)), 50)
    return list(ev.sort_values(["ed", "police", "premises_id"], ascending=[False, False, True])["premises_id"])


# ---- the neutraliser ----------------------------------------------------------------------------

def test_neutraliser_quotes_formulas_and_leaves_numbers_alone():
    from dashboard.exports import neutralise
    frame = pd.DataFrame({
        "text": ["=1+2", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1)", "\t=1", "\r=1", "Pub",
                 "<5", "*", "12%"],
        "change": ["+3", "-2", "-1.5", "+0.5 %", "0", "-", "12%", "+1,234", "–", "-12%"],
        "n": [1, -2, 3, 4, 5, 6, 7, 8, 9, -10],
        "x": [-0.5, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    })
    out = neutralise(frame)
    assert out["text"].tolist() == ["'=1+2", "'+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0", "'@SUM(1)",
                                    "'\t=1", "'\r=1", "Pub", "<5", "*", "12%"]
    # signed numbers stay numbers; a lone "-" is not a number, so it is quoted like any other text
    assert out["change"].tolist() == ["+3", "-2", "-1.5", "+0.5 %", "0", "'-", "12%", "+1,234", "–", "-12%"]
    assert out["n"].tolist() == [1, -2, 3, 4, 5, 6, 7, 8, 9, -10] and out["n"].dtype == frame["n"].dtype
    assert out["x"].tolist() == frame["x"].tolist() and out["x"].dtype == frame["x"].dtype
    assert frame["text"].iat[0] == "=1+2"  # the caller's frame is not changed


def test_csv_response_keeps_comment_lines_and_quotes_embedded_quotes(dash_app):
    from dashboard.exports import csv_response
    with dash_app.server.test_request_context("/"):
        r = csv_response(pd.DataFrame({"name": ['=HYPERLINK("a","b")', "Ok"], "n": [-3, 4]}), "x.csv",
                         preamble_lines=["# ISTV London trends, method: ED = assaults", "# second\r\n=1+1 line"])
    text = r.get_data(as_text=True)
    lines = text.splitlines()
    assert lines[0] == "# ISTV London trends, method: ED = assaults"
    assert lines[1].startswith("#") and "=1+1" in lines[1] and len(lines) == 5  # a line break cannot add a row
    rows = list(csv.reader(io.StringIO("\n".join(lines[2:]))))
    assert rows == [["name", "n"], ["'=HYPERLINK(\"a\",\"b\")", "-3"], ["Ok", "4"]]


# ---- end to end on a database holding hostile text --------------------------------------------

@pytest.fixture
def hostile_app(tiny_db_copy, tmp_path, store):
    """The app on a copy of the tiny database whose premises and ED location text hold formulas."""
    from app import create_app
    pids = _westminster_premises(store)
    target, renamed = pids[0], pids[1]
    con = duckdb.connect(str(tiny_db_copy))
    con.execute("UPDATE premises SET name = ?, address = ? WHERE premises_id = ?", [EVIL_NAME, EVIL_ADDRESS, target])
    # a premises id with a quote and a non-ASCII letter (ids come from loaded files too)
    new_id = 'P\u00e9"' + renamed
    con.execute("UPDATE premises SET premises_id = ? WHERE premises_id = ?", [new_id, renamed])
    con.execute("UPDATE geocode_matches SET matched = ? WHERE matched = ?", ["premises:" + new_id, "premises:" + renamed])
    ids = [r[0] for r in con.execute(
        """SELECT incident_id FROM incidents WHERE source = 'ed' AND borough_code = ? AND month = '2025-01-01'
           ORDER BY occurred_at, incident_id LIMIT 3""", [WESTMINSTER]).fetchall()]
    for i, text in zip(ids, ("=cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "\t=1+1")):
        con.execute("UPDATE incidents SET location_text = ? WHERE incident_id = ?", [text, i])
    con.close()
    app = create_app(config_for(tiny_db_copy, demo=True, database_url=f"sqlite:///{tmp_path / 'users.sqlite'}"))
    return app, target, renamed, new_id, ids


def _client(app, who):
    c = app.server.test_client()
    assert sign_in(c, who).status_code == 302
    return c


def _frame(r) -> pd.DataFrame:
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return pd.read_csv(io.StringIO(r.get_data(as_text=True)), dtype=str, keep_default_na=False)


def test_hostile_premises_and_location_text_are_neutralised_and_counts_unchanged(hostile_app, client_as):
    app, target, renamed, new_id, ids = hostile_app
    evil = _client(app, "analyst")
    plain = client_as("analyst")  # the same data without the hostile text

    got = _frame(evil.get("/download/premises/list.csv" + VIEW)).set_index("premises_id")
    want = _frame(plain.get("/download/premises/list.csv" + VIEW)).set_index("premises_id")
    assert got.loc[target, "name"] == "'" + EVIL_NAME and got.loc[target, "address"] == "'" + EVIL_ADDRESS
    counts = ["ed", "police", "total", "night", "glass", "named", "prev_total", "change"]
    assert len(got) == len(want) > 10
    assert got.loc[target, counts].tolist() == want.loc[target, counts].tolist()
    got = got.rename(index={new_id: renamed})
    assert got[counts].sort_index().equals(want[counts].sort_index())
    assert got.loc[renamed, "name"] == want.loc[renamed, "name"]
    # no cell of the file would be run as a formula
    for col in got.columns:
        assert not got[col].str.match(r"[=@\t\r]").any(), col

    evidence = _frame(evil.get(f"/download/premises/{target}/evidence.csv" + VIEW))
    assert evidence.equals(_frame(plain.get(f"/download/premises/{target}/evidence.csv" + VIEW)))
    assert int(evidence.loc[evidence["section"] == "monthly", "ed"].astype(int).sum()) > 0

    # record-level export: the ED location text from the loaded file
    records = f"/download/incidents.csv?borough={WESTMINSTER}&from=2025-01-01&to=2025-01-31"
    r = evil.get(records)
    rows = _frame(r).set_index("incident_id")
    assert rows.loc[str(ids[0]), "location_text"] == "'=cmd|' /C calc'!A0"
    assert rows.loc[str(ids[1]), "location_text"] == "'-2+3+cmd|' /C calc'!A0"
    assert rows.loc[str(ids[2]), "location_text"] == "'\t=1+1"
    assert all(float(v) < 0 for v in rows["lon"])  # London's negative longitudes stay plain numbers
    plain_rows = _frame(plain.get(records))
    assert len(rows) == len(plain_rows) > 3


def test_a_real_download_of_a_hostile_premises_id_has_a_safe_rfc6266_filename(hostile_app):
    app, _, renamed, new_id, _ = hostile_app
    r = _client(app, "analyst").get(f"/download/premises/{quote(new_id, safe='')}/evidence.csv" + VIEW)
    assert r.status_code == 200
    header = r.headers["Content-Disposition"]
    ascii_name = "istv-evidence-P__" + renamed + ".csv"
    assert header == (f'attachment; filename="{ascii_name}"; '
                      f"filename*=UTF-8''istv-evidence-P%C3%A9_{renamed}.csv")
    assert header.count('"') == 2 and "\r" not in header and "\n" not in header


# ---- filenames ----------------------------------------------------------------------------------

def test_filename_sanitiser_and_content_disposition():
    from dashboard.exports import content_disposition, safe_filename
    assert safe_filename("istv-trends-monthly.csv") == "istv-trends-monthly.csv"
    assert safe_filename('istv-evidence-a"b\r\nX-Evil: 1/..\\\u00e9.csv') == "istv-evidence-a_b__X-Evil__1_..__.csv"
    header = content_disposition('istv-evidence-a"b\r\nSet-Cookie: x=1;\u00e9.csv')
    assert header.startswith('attachment; filename="istv-evidence-a_b__Set-Cookie__x_1__.csv"; filename*=UTF-8\'\'')
    assert header.endswith("istv-evidence-a_b__Set-Cookie__x_1_%C3%A9.csv")
    assert header.count('"') == 2 and "\r" not in header and "\n" not in header and header.isascii()


def test_hostile_premises_id_in_the_url_never_reaches_a_header(client_as):
    c = client_as("analyst")
    for raw in ('a"b', "a\r\nX-Evil: 1", "caf\u00e9", "a/b", 'x";filename="evil.exe'):
        r = c.get(f"/download/premises/{quote(raw, safe='')}/evidence.csv")
        assert r.status_code == 404
        assert "X-Evil" not in r.headers
        for value in r.headers.values():
            assert "\r" not in value and "\n" not in value and "evil.exe" not in value


def test_every_csv_download_sends_both_filename_forms(client_as, store):
    pid = _westminster_premises(store)[0]
    c = client_as("analyst")
    for path, name in (("/download/boroughs.csv", "istv-boroughs.csv"), ("/download/premises/list.csv", "istv-premises.csv"),
                       (f"/download/premises/{pid}/evidence.csv", f"istv-evidence-{pid}.csv"),
                       ("/download/tasking/pack.csv", "istv-tasking-pack.csv"),
                       ("/download/strategic/trends-monthly.csv", "istv-trends-monthly.csv"),
                       ("/download/strategic/quality-league.csv", "istv-quality-league.csv")):
        r = c.get(path)
        assert r.status_code == 200 and r.mimetype == "text/csv", path
        assert r.headers["Content-Disposition"] == f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"


# ---- role x download matrix ---------------------------------------------------------------------

EVERYONE = set(ROLES)
RECORD_LEVEL = {"admin", "analyst", "police"}
PREMISES = {"admin", "analyst", "police", "licensing"}
TASKING = {"admin", "analyst", "police"}
QUALITY = {"admin", "analyst", "health"}
LOADERS = {"admin", "analyst"}  # quarantined rows are whole input rows: the roles that load files
SUBMITTERS = {"admin", "analyst", "health"}  # upload ED files (a data lead: their own sites)
NO_STORE = {"upload-problems"}  # reads the sender's own upload, not the store


def _matrix(pid: str) -> dict[str, list[tuple[str, str, set[str]]]]:
    """Every download rule → (url, export name, roles allowed): written by hand from the roles table."""
    return {
        "/download/<name>.csv": [("/download/boroughs.csv", "boroughs", EVERYONE),
                                 (f"/download/incidents.csv?borough={HACKNEY}&from=2025-01-01&to=2025-01-31",
                                  "incidents", RECORD_LEVEL)],
        "/download/premises/list.csv": [("/download/premises/list.csv" + VIEW, "premises", PREMISES)],
        "/download/premises/<premises_id>/evidence.csv": [
            (f"/download/premises/{pid}/evidence.csv" + VIEW, f"premises-evidence:{pid}", PREMISES)],
        "/download/premises/<premises_id>/evidence.html": [
            (f"/download/premises/{pid}/evidence.html" + VIEW, f"premises-evidence:{pid}", PREMISES)],
        "/download/tasking/pack.csv": [("/download/tasking/pack.csv", "tasking-pack", TASKING)],
        "/download/tasking/pack.html": [("/download/tasking/pack.html", "tasking-pack", TASKING)],
        "/download/strategic/trends-<name>.csv": [("/download/strategic/trends-monthly.csv", "trends-monthly", EVERYONE),
                                                  ("/download/strategic/trends-boroughs.csv", "trends-boroughs", EVERYONE)],
        "/download/strategic/quality-<name>.csv": [
            ("/download/strategic/quality-months.csv?site=RJ122", "quality-months", QUALITY),
            ("/download/strategic/quality-league.csv", "quality-league", QUALITY)],
        "/download/strategic/quality-report.html": [
            ("/download/strategic/quality-report.html?site=RJ122&month=2025-11", "quality-report", QUALITY)],
        "/download/quarantine.csv": [("/download/quarantine.csv", "quarantine", LOADERS)],
        "/download/submissions.csv": [("/download/submissions.csv?from=2025-01&to=2025-03", "submissions", QUALITY)],
        # {job}: an upload of the role's own user (tests/test_upload.py checks another's is refused)
        "/download/upload-problems.csv": [("/download/upload-problems.csv?job={job}", "upload-problems", SUBMITTERS)],
        # anything else under /download/ is not found (not the app's HTML page), for every role
        "/download/<path:rest>": [("/download/no/such/file.csv?hours=22-6", None, set())],
    }


def _uploads_of_each_role(dash_app) -> dict[str, str]:
    """role → the id of a checked upload its demo user sent (every role, allowed to upload or not)."""
    from config import CONFIG_KEY
    from data.ingest.jobs import Jobs, run_check
    config = dash_app.server.extensions[CONFIG_KEY]
    spool = Jobs(config.uploads_path)
    out = {}
    for who in ROLES:
        user = _users(dash_app).by_username(who)
        with open(UPLOAD_FILE, "rb") as stream:
            job = spool.create(user.id, who, UPLOAD_FILE.name, stream, config.upload_max_bytes, None, None)
        run_check(spool, job, config.upload_max_bytes, now=datetime(2025, 6, 1))
        out[who] = job.id
    return out


@pytest.fixture
def store_calls(monkeypatch):
    """Every store read in the process, recorded (a refusal must come before any)."""
    calls: list[str] = []

    def spy(cls, name):
        real = getattr(cls, name)

        def wrapper(self, *args, **kwargs):
            calls.append(f"{cls.__name__}.{name}")
            return real(self, *args, **kwargs)
        monkeypatch.setattr(cls, name, wrapper)
    for cls, name in ((Store, "df"), (Store, "pinned"), (Store, "cursor"), (PinnedStore, "df"), (PinnedStore, "cursor")):
        spy(cls, name)
    return calls


def test_every_download_for_every_role_is_allowed_or_refused_before_any_query_and_audited(
        dash_app, client_as, store, store_calls):
    users = _users(dash_app)
    pid = _westminster_premises(store)[0]
    matrix = _matrix(pid)
    rules = {r.rule for r in dash_app.server.url_map.iter_rules() if r.rule.startswith("/download/")}
    assert rules == set(matrix), "a download route without an entry in this matrix"
    clients = {who: client_as(who) for who in ROLES}
    jobs = _uploads_of_each_role(dash_app)
    outcomes = {}
    for rule, cases in matrix.items():
        for pattern, export, allowed in cases:
            for who in ROLES:
                url = pattern.replace("{job}", jobs[who])
                since = _last_id(users)
                store_calls.clear()
                r = clients[who].get(url)
                outcomes[(url, who)] = r.status_code
                if export is None:
                    assert r.status_code == 404 and store_calls == [], (url, who)
                    assert _users(dash_app).events(limit=1)[0].id == since
                    continue
                if who in allowed:
                    assert r.status_code == 200, (url, who, r.get_data(as_text=True)[:200])
                    assert store_calls or export in NO_STORE, "an allowed export reads the store"
                    done = _new_events(users, since, "export")
                    assert [e.username for e in done] == [who] and json.loads(done[0].detail)["export"] == export
                    continue
                assert r.status_code == 403, (url, who, r.status_code)
                assert store_calls == [], (url, who, store_calls)
                refused = _new_events(users, since, "export_refused")
                assert len(refused) == 1, (url, who)
                detail = json.loads(refused[0].detail)
                assert refused[0].username == who and detail["export"] == export
                assert refused[0].ip == "127.0.0.1"
                assert set(detail["filters"]) >= {"boroughs", "start", "end", "hours", "weekdays", "place"}
                assert detail["query"] == url.partition("?")[2]
                assert _new_events(users, since, "export") == []
    assert sorted(set(outcomes.values())) == [200, 403, 404]


def test_unknown_exports_stay_404(client_as):
    c = client_as("licensing")
    for path in ("/download/nothing.csv", "/download/strategic/trends-nothing.csv", "/download/strategic/quality-x.csv",
                 "/download/premises/NO-SUCH-ID/evidence.csv"):
        assert c.get(path).status_code == 404, path


def test_record_level_refusal_comes_before_the_row_cap(client_as, dash_app, monkeypatch, store_calls):
    import dashboard.exports as exports
    monkeypatch.setattr(exports, "MAX_RECORDS", 0)  # every filter now matches "too many" records
    users = _users(dash_app)
    assert client_as("analyst").get("/download/incidents.csv").status_code == 413  # the cap is reached by a query
    for who in ("licensing", "csp", "health"):
        since = _last_id(users)
        store_calls.clear()
        r = client_as(who).get("/download/incidents.csv?hours=22-6&from=2023-01-01&to=2025-12-31")
        assert r.status_code == 403 and store_calls == []
        (event,) = _new_events(users, since, "export_refused")
        detail = json.loads(event.detail)
        assert event.username == who and detail["export"] == "incidents"
        assert detail["filters"]["hours"] == [22, 6] and detail["filters"]["start"] == "2023-01-01"


def test_a_quality_report_for_another_ed_is_refused_and_audited(client_as, dash_app):
    users = _users(dash_app)
    since = _last_id(users)
    r = client_as("health").get("/download/strategic/quality-report.html?site=RJZ01&month=2025-11")
    assert r.status_code == 403
    (event,) = _new_events(users, since, "export_refused")
    detail = json.loads(event.detail)
    assert event.username == "health" and detail["export"] == "quality-report"
    assert detail["view"] == {"site": "RJZ01", "month": "2025-11"}


# ---- the audit row holds the whole view ---------------------------------------------------------

def test_export_audit_rows_hold_every_filter_and_the_page_view(client_as, dash_app, store):
    users = _users(dash_app)
    block = int(store.df("SELECT block_id FROM incidents WHERE block_id IS NOT NULL AND borough_code = ? "
                         "ORDER BY block_id LIMIT 1", [WESTMINSTER]).iat[0, 0])
    query = (f"borough={WESTMINSTER}&from=2025-01-01&to=2025-06-30&src=ed&method=03,04&hours=22-6&days=4,5"
             f"&conf=street&unit=block&place=block:{block}")
    since = _last_id(users)
    assert client_as("analyst").get("/download/boroughs.csv?" + query).status_code == 200
    (event,) = _new_events(users, since, "export")
    detail = json.loads(event.detail)
    assert detail["export"] == "boroughs" and detail["query"] == query
    assert detail["filters"] == {
        "boroughs": [WESTMINSTER], "start": "2025-01-01", "end": "2025-06-30", "sources": ["ed"],
        "police_categories": ["Violence and sexual offences"], "assault_methods": ["03", "04"], "hours": [22, 6],
        "weekdays": [4, 5], "min_confidence": "street", "unit": "block", "place": ["block", block], "scope": []}

    # a page's own view parameters, for a scoped user (the scope is recorded beside the filter)
    since = _last_id(users)
    premises = query + "&r=75&type=pub,bar&min=2&q=Tavern"
    assert client_as("licensing").get("/download/premises/list.csv?" + premises).status_code == 200
    (event,) = _new_events(users, since, "export")
    detail = json.loads(event.detail)
    assert detail["filters"]["hours"] == [22, 6] and detail["filters"]["weekdays"] == [4, 5]
    assert detail["filters"]["place"] == ["block", block] and detail["filters"]["assault_methods"] == ["03", "04"]
    assert detail["filters"]["scope"] == [WESTMINSTER]
    assert detail["view"] == {"radius": 75, "types": ["pub", "bar"], "min": 2, "q": "Tavern", "premises": None}
    assert detail["query"] == premises

    since = _last_id(users)
    assert client_as("analyst").get("/download/tasking/pack.csv?cmp=year&top=10&hours=20-4").status_code == 200
    (event,) = _new_events(users, since, "export")
    detail = json.loads(event.detail)
    assert detail["view"] == {"cmp": "year", "top": 10, "list": "hot"} and detail["filters"]["hours"] == [20, 4]

    since = _last_id(users)
    assert client_as("csp").get("/download/strategic/trends-boroughs.csv?measure=rate&rank=ed&days=0").status_code == 200
    (event,) = _new_events(users, since, "export")
    detail = json.loads(event.detail)
    assert detail["view"] == {"measure": "rate", "rank": "ed"} and detail["filters"]["weekdays"] == [0]

    since = _last_id(users)
    q = "site=RJ122&from=2025-01-01&to=2025-03-31"
    assert client_as("health").get("/download/strategic/quality-months.csv?" + q).status_code == 200
    (event,) = _new_events(users, since, "export")
    detail = json.loads(event.detail)
    assert detail["view"] == {"site": "RJ122"} and detail["query"] == q
    assert (detail["filters"]["start"], detail["filters"]["end"]) == ("2025-01-01", "2025-03-31")


def test_the_audited_query_string_is_truncated(client_as, dash_app):
    users = _users(dash_app)
    since = _last_id(users)
    long_q = "q=" + "x" * 3000
    assert client_as("analyst").get("/download/premises/list.csv?" + long_q).status_code == 200
    (event,) = _new_events(users, since, "export")
    assert json.loads(event.detail)["query"] == long_q[:2000]
