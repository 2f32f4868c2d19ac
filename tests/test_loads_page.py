"""The Loads page (analysts): the load log and the quarantined rows, checked against SQL on real files."""
from __future__ import annotations

import io

import pandas as pd

from dashboard.pages import loads
from tests.conftest import REAL_PASSWORD, sign_in


def _client(real_app, username):
    c = real_app.server.test_client()
    assert sign_in(c, username, REAL_PASSWORD).status_code == 302
    return c


def test_every_loaded_file_is_listed_with_reconciled_counts(real_app, real_db):
    from data.store.db import Store
    from data.store import queries_loads
    store = Store(real_db)
    log = queries_loads.load_log(store)
    truth = store.df("SELECT count(*) AS n, sum(rows_read) AS r FROM load_log").iloc[0]
    assert len(log) == truth["n"] and int(log["rows_read"].sum()) == truth["r"]
    rows = loads.log_rows(log)
    # read = loaded + quarantined + duplicates, for every file
    assert all(r["rows_read"] == r["rows_loaded"] + r["rows_quarantined"] + r["duplicates"] for r in rows)
    ed = [r for r in rows if r["kind"] == "istv"]
    assert len(ed) == 5 and {r["file"].rsplit("/", 1)[-1] for r in ed} >= {"ed_RJ122_2025-03.csv", "ed_RRV03_2025-02.csv"}


def test_quarantine_filtered_by_file_and_rule_equals_sql(real_app, real_db):
    from flask_login import login_user
    from dashboard.auth import USERS_KEY
    from data.store.db import Store
    store = Store(real_db)
    q = store.df("SELECT load_id, file, rule, count(*) AS n FROM quarantine GROUP BY ALL ORDER BY n DESC").iloc[0]
    with real_app.server.test_request_context("/"):
        login_user(real_app.server.extensions[USERS_KEY].by_username("r-analyst"))
        data, text, href = loads.quarantine_view(loads.file_key(q["load_id"], q["file"]), q["rule"])
        everything, _, _ = loads.quarantine_view(None, None)
    assert len(data) == q["n"] and {r["rule"] for r in data} == {q["rule"]} and f"{q['n']:,} quarantined rows" == text
    assert len(everything) == int(store.df("SELECT count(*) AS n FROM quarantine")["n"].iat[0])
    assert href.startswith("/download/quarantine.csv?file=")


def test_quarantine_csv_for_analysts_only_and_audited(real_app, real_db):
    from dashboard.auth import USERS_KEY
    from data.store.db import Store
    n = int(Store(real_db).df("SELECT count(*) AS n FROM quarantine")["n"].iat[0])
    r = _client(real_app, "r-analyst").get("/download/quarantine.csv")
    assert r.status_code == 200
    frame = pd.read_csv(io.StringIO(r.get_data(as_text=True)), dtype=str, keep_default_na=False)
    assert len(frame) == n and {"file", "line", "column_name", "value", "rule", "record"} <= set(frame.columns)
    for who in ("r-licensing", "r-csp", "r-health", "r-police"):
        assert _client(real_app, who).get("/download/quarantine.csv").status_code == 403
        event = real_app.server.extensions[USERS_KEY].events(limit=1, action="export_refused")[0]
        assert event.username == who and '"export": "quarantine"' in event.detail


def test_files_received_one_row_per_submission_against_sql(real_app, real_db):
    from flask_login import login_user
    from dashboard.auth import USERS_KEY
    from dashboard.pages import quality
    from data.store.db import Store
    store = Store(real_db)
    truth = store.df("""SELECT l.site_code, l.rows_read, l.rows_quarantined,
                               (SELECT count(*) FROM incidents i WHERE i.load_id = l.load_id AND i.source = 'ed') AS loaded
                        FROM load_log l WHERE l.kind = 'istv' ORDER BY l.period_start DESC, l.site_code""")
    with real_app.server.test_request_context("/"):
        login_user(real_app.server.extensions[USERS_KEY].by_username("r-analyst"))
        rows = quality.files_received(None, "2025-01", "2025-05")
        login_user(real_app.server.extensions[USERS_KEY].by_username("r-health"))
        own = quality.files_received(None, "2025-01", "2025-05")
        other = quality.files_received("RRV03", "2025-01", "2025-05")
    assert [(r["site"], r["rows_read"], r["rows_loaded"], r["rows_quarantined"]) for r in rows] == \
        [(s, int(n), int(lo), int(q)) for s, n, q, lo in truth.itertuples(index=False)]
    assert [r["period"] for r in rows if r["site"] == "RRV03"] == ["01 Feb 2025 to 28 Feb 2025", "01 Jan 2025 to 31 Jan 2025"]
    assert {r["site"] for r in own} == {"RJ122"} and len(own) == 3  # an ED lead sees their own ED's files
    assert {r["site"] for r in other} == {"RJ122"}  # asking for another ED's files gives only their own
    assert not [r for r in rows if r["site"] == "RRV03" and r["period"].startswith("01 Mar")]  # no file: no row, not a 0
