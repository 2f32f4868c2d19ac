"""ED submissions sent through the browser: the checks before anything is written, the load, the jobs
that carry them, the route that receives them and the submission tracker, on a database built only
from real files (tests/realdeploy.py) with March 2025 of UCH (RRV03) missing."""
from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import threading
import time
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from data.errors import InputFileError
from data.ingest import jobs as uploads
from data.ingest.submission import SubmissionRules, check_submission, field_of, how_to_fix, load_submission
from data.store import queries_submissions as qsub
from data.store import queries_trends as qs
from data.store.db import Store, writer_lock
from data.store.queries import ScopedStore
from data.access.roles import Scope
from tests.conftest import sign_in
from tests.fixtures import config_for

FILES = Path(__file__).resolve().parent / "data" / "upload"
ERRORS, FIXED = FILES / "ed_RRV03_2025-03_errors.csv", FILES / "ed_RRV03_2025-03.csv"
NOW = datetime(2025, 6, 1)
PASSWORD = "Pipit-granite-6620"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def real_copy(real_db, tmp_path) -> Path:
    path = tmp_path / "istv.duckdb"
    shutil.copyfile(real_db, path)
    return path


def _sql(db: Path, sql: str, params=()):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


# ---- the checks -----------------------------------------------------------------------------------

def test_a_file_with_errors_is_summarised_and_every_problem_row_says_how_to_fix_it():
    checked = check_submission(ERRORS, ERRORS.name, SubmissionRules(sites=("RRV03",)), now=NOW)
    s = checked.summary()
    assert checked.refused is None and checked.loadable
    assert (s["site"], s["period_start"], s["period_end"]) == ("RRV03", "2025-03-01", "2025-03-31")
    assert (s["rows_read"], s["rows_ok"], s["rows_quarantined"]) == (20, 17, 3)
    p = checked.problems
    assert list(p["line"]) == [5, 10, 16]  # the file's own line numbers (header = line 1)
    assert list(p["value"]) == ["7", "", "31/04/2025 01:54"]
    assert "Assault method" in p["how_to_fix"].iat[0] and "04" in p["how_to_fix"].iat[0]
    assert p["how_to_fix"].iat[1].startswith("Fill in Assault date and time")
    assert p["how_to_fix"].iat[2].startswith("Write Assault date and time as a date and time")


def test_the_file_columns_map_back_to_the_standards_fields():
    assert field_of("Assault Date + Assault Time") == "assault_datetime"
    assert field_of("Site Code (of Treatment)") == "site_code"
    assert field_of("weapon") == "assault_method"
    assert field_of("no such column") is None
    assert "double quotes" in how_to_fix(None, "malformed CSV row: not the header's number of fields")


@pytest.mark.parametrize("rules, name, expected", [
    (SubmissionRules(sites=("RJ122",)), ERRORS.name,
     "the file is site RRV03's submission (its site code of treatment); you may submit for RJ122 only"),
    (SubmissionRules(sites=()), ERRORS.name, "you may submit for no site only"),
    (SubmissionRules(month=date(2025, 4, 1)), ERRORS.name,
     "reporting period is 01 Mar 2025 to 31 Mar 2025 (its reporting period start and end dates), not April 2025"),
    (SubmissionRules(max_bytes=1000), ERRORS.name, "larger than the"),
    (SubmissionRules(), "march.xlsx", "not a CSV or XML file"),
])
def test_files_a_sender_may_not_load_are_refused_with_the_reason(rules, name, expected):
    checked = check_submission(ERRORS, name, rules, now=NOW)
    assert checked.refused is not None and expected in checked.refused, checked.refused
    assert checked.refused.startswith(name) and not checked.loadable


def test_the_right_month_and_site_pass(tmp_path):
    ok = check_submission(FIXED, FIXED.name, SubmissionRules(sites=("RRV03",), month=date(2025, 3, 1)), now=NOW)
    assert ok.refused is None and ok.summary()["rows_ok"] == 20 and ok.problems.empty


def test_broken_files_are_refused_naming_the_file_as_sent_not_the_stored_copy(tmp_path):
    stored = tmp_path / "abc" / "x.csv"
    stored.parent.mkdir()
    text = ERRORS.read_text().splitlines()
    stored.write_text("\n".join([text[0].replace("Assault Method,", "Weapon Used,")] + text[1:]) + "\n")
    checked = check_submission(stored, "march.csv", SubmissionRules(), now=NOW)
    assert checked.refused.startswith("march.csv") and str(tmp_path) not in checked.refused
    assert "Assault method" in checked.refused or "assault_method" in checked.refused
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert check_submission(empty, "empty.csv", SubmissionRules(), now=NOW).refused == "empty.csv: the file is empty"
    two = tmp_path / "two.csv"
    lines = FIXED.read_text().splitlines()
    two.write_text("\n".join(lines[:5] + [lines[5].replace("RRV03,", "RJ122,", 1)]) + "\n")
    assert "holds records of 2 sites (RJ122, RRV03)" in check_submission(two, "two.csv", SubmissionRules(), now=NOW).refused
    header = tmp_path / "header.csv"
    header.write_text(lines[0] + "\n")
    assert "nothing to load" in check_submission(header, "header.csv", SubmissionRules(), now=NOW).refused


# ---- the load -------------------------------------------------------------------------------------

def test_a_refused_file_leaves_the_database_byte_for_byte_unchanged(real_copy):
    before = _digest(real_copy)
    with pytest.raises(InputFileError, match="you may submit for RJ122 only"):
        load_submission(ERRORS, ERRORS.name, SubmissionRules(sites=("RJ122",)), real_copy, "upload:x", now=NOW)
    with pytest.raises(InputFileError, match="not April 2025"):
        load_submission(ERRORS, ERRORS.name, SubmissionRules(month=date(2025, 4, 1)), real_copy, "upload:x", now=NOW)
    assert _digest(real_copy) == before


def test_loading_stores_the_good_rows_with_who_sent_them_and_a_resubmission_replaces_by_record_id(real_copy, tmp_path):
    site_march = "SELECT count(*) FROM incidents WHERE source = 'ed' AND ed_site = 'RRV03' AND month = DATE '2025-03-01'"
    assert _sql(real_copy, site_march) == [(0,)]
    report = load_submission(ERRORS, ERRORS.name, SubmissionRules(sites=("RRV03",)), real_copy, "upload:lead", now=NOW)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined, report.replaced) == (20, 17, 3, 0)
    assert _sql(real_copy, site_march) == [(17,)]
    log = _sql(real_copy, """SELECT file, loaded_by, site_code, period_start, rows_loaded, rows_quarantined FROM load_log
                             ORDER BY load_id DESC LIMIT 1""")
    assert log == [(ERRORS.name, "upload:lead", "RRV03", date(2025, 3, 1), 17, 3)]
    assert _sql(real_copy, "SELECT DISTINCT file FROM quarantine WHERE load_id = (SELECT max(load_id) FROM load_log)") \
        == [(ERRORS.name,)]
    # the fixed file: the 17 stored records are the same, the 3 fixed ones are new
    again = load_submission(FIXED, FIXED.name, SubmissionRules(sites=("RRV03",)), real_copy, "upload:lead", now=NOW)
    assert (again.rows_loaded, again.duplicates, again.replaced) == (3, 17, 0)
    assert _sql(real_copy, site_march) == [(20,)]
    # the ED corrects one record's location and sends the month again: it replaces that record
    lines = FIXED.read_text().splitlines()
    lines[1] = lines[1].replace("Oxford Street", "Old Compton Street")
    changed = tmp_path / "ed_RRV03_2025-03_v2.csv"
    changed.write_text("\n".join(lines) + "\n")
    third = load_submission(changed, changed.name, SubmissionRules(sites=("RRV03",)), real_copy, "upload:lead", now=NOW)
    assert (third.rows_loaded, third.replaced, third.duplicates) == (1, 1, 19)
    assert _sql(real_copy, site_march) == [(20,)]
    assert _sql(real_copy, "SELECT location_text FROM incidents WHERE source_id = 'RRV03-202503-001'") == [("Old Compton Street",)]


# ---- jobs -----------------------------------------------------------------------------------------

def _job(spool: uploads.Jobs, path: Path, owner="7", sites=None, month=None) -> uploads.Job:
    with open(path, "rb") as stream:
        return spool.create(owner, "lead", path.name, stream, 10_000_000, sites, month)


def test_a_job_is_its_owners_only_and_an_id_must_be_one(tmp_path):
    spool = uploads.Jobs(tmp_path / "spool")
    job = _job(spool, ERRORS)
    assert spool.get(job.id, "7").name == ERRORS.name
    assert spool.get(job.id, "8") is None                         # another user
    assert spool.get("../" + job.id, "7") is None and spool.get(None, "7") is None
    assert (tmp_path / "spool").stat().st_mode & 0o777 == 0o700
    uploads.run_check(spool, job, 10_000_000, now=NOW)
    done = spool.get(job.id, "7")
    assert done.state == "checked" and done.summary["rows_quarantined"] == 3 and done.fraction == 1.0
    assert list(spool.problems(done)["line"]) == ["5", "10", "16"]


def test_an_upload_larger_than_the_limit_is_cut_and_refused(tmp_path):
    spool = uploads.Jobs(tmp_path / "spool")
    job = spool.create("7", "lead", "big.csv", io.BytesIO(b"x" * 5000), 1000, None, None)
    assert job.size == 1001  # kept only enough to know
    uploads.run_check(spool, job, 1000, now=NOW)
    assert spool.get(job.id, "7").state == "refused" and "larger than" in spool.get(job.id, "7").message


def test_a_job_whose_worker_died_says_so(tmp_path):
    spool = uploads.Jobs(tmp_path / "spool")
    job = _job(spool, ERRORS)
    job.state, job.pid = "loading", 2 ** 22 + 12345  # no such process
    spool.save(job)
    assert spool.get(job.id, "7").state == "failed" and "nothing was loaded" in spool.get(job.id, "7").message


def test_a_second_load_waits_for_the_first_and_then_loads_all(real_copy, tmp_path):
    spool = uploads.Jobs(tmp_path / "spool")
    job = _job(spool, FIXED, sites=["RRV03"])
    uploads.run_check(spool, job, 10_000_000, now=NOW)
    seen = []
    with writer_lock(real_copy):  # another load is writing
        thread = uploads.start(uploads.run_load, spool, job, real_copy, 10_000_000, now=NOW, poll_s=0.05)
        for _ in range(200):
            state = spool.get(job.id, "7").state
            if state == "waiting":
                seen.append(state)
                break
            time.sleep(0.02)
        assert _sql(real_copy, "SELECT count(*) FROM incidents WHERE ed_site = 'RRV03' AND month = DATE '2025-03-01'") == [(0,)]
    thread.join(30)
    done = spool.get(job.id, "7")
    assert seen == ["waiting"] and done.state == "loaded", done.message
    assert done.receipt["rows_loaded"] == 20 and done.receipt["site"] == "RRV03"


# ---- the tracker ----------------------------------------------------------------------------------

@pytest.mark.parametrize("month, received, today, expected", [
    (date(2025, 3, 1), None, date(2025, 3, 20), "open"),
    (date(2025, 3, 1), None, date(2025, 4, 15), "due"),
    (date(2025, 3, 1), None, date(2025, 4, 16), "overdue"),
    (date(2025, 3, 1), datetime(2025, 4, 15, 23, 59), date(2025, 6, 1), "received"),
    (date(2025, 3, 1), datetime(2025, 4, 16, 0, 1), date(2025, 6, 1), "late"),
    (date(2025, 1, 1), None, date(2025, 2, 28), "overdue"),
])
def test_status_of_a_month(month, received, today, expected):
    assert qsub.status(month, received, today, 15) == expected


def test_due_day_is_the_months_last_day_when_shorter():
    assert qsub.due_date(date(2025, 1, 1), 28) == date(2025, 2, 28)
    assert qsub.due_date(date(2024, 12, 1), 15) == date(2025, 1, 15)


def test_tracker_figures_equal_sql_and_a_data_lead_sees_only_their_sites(real_copy):
    load_submission(ERRORS, ERRORS.name, SubmissionRules(sites=("RRV03",)), real_copy, "upload:lead", now=NOW)
    store = Store(real_copy)
    sites = qs.ed_sites(store)
    t = qsub.tracker(store, sites, date(2025, 1, 1), date(2025, 4, 1), date(2025, 5, 1), 15)
    assert len(t) == 2 * 4
    for r in t.to_dict("records"):
        records, complete = _sql(real_copy, """SELECT count(*), count(*) FILTER (WHERE arrived_at IS NOT NULL
                                 AND occurred_at IS NOT NULL AND category <> '99' AND location_type <> '99'
                                 AND trim(location_text) <> '') FROM incidents
                                 WHERE source = 'ed' AND ed_site = ? AND month = ?""", [r["site_code"], r["month"]])[0]
        files, read, quarantined = _sql(real_copy, """SELECT count(*), coalesce(sum(rows_read), 0),
                                        coalesce(sum(rows_quarantined), 0) FROM load_log WHERE kind = 'istv'
                                        AND site_code = ? AND period_start <= ? AND period_end >= ?""",
                                        [r["site_code"], qs.month_end(r["month"]), r["month"]])[0]
        assert (r["records"], r["all_complete"], r["files"], r["rows_read"], r["rows_quarantined"]) == \
            (records, complete, files, read, quarantined), r
    by = {(r["site_code"], f"{r['month']:%Y-%m}"): r for r in t.to_dict("records")}
    assert by[("RRV03", "2025-03")]["first_by"] == "upload:lead" and by[("RRV03", "2025-03")]["records"] == 17
    assert by[("RRV03", "2025-04")]["status"] == "due"  # April has ended; its file is due on 15 May
    assert by[("RJ122", "2025-03")]["files"] == 1
    lead = ScopedStore(store, Scope(ed_sites=("RRV03",), record_level=False, level="protected", own_sites_exact=True))
    assert set(qs.ed_sites(lead)["site_code"]) == {"RRV03"}
    assert set(qsub.received(lead, ("RJ122", "RRV03"), date(2025, 1, 1), date(2025, 4, 1))["site_code"]) == {"RRV03"}
    assert set(qsub.records(lead, ("RJ122",), date(2025, 1, 1), date(2025, 4, 1))["site_code"]) == set()


def test_a_missing_month_is_overdue_once_its_due_day_has_passed(real_copy):
    store = Store(real_copy)
    t = qsub.tracker(store, qs.ed_sites(store), date(2025, 3, 1), date(2025, 3, 1), date(2025, 4, 16), 15)
    assert dict(zip(t["site_code"], t["status"])) == {"RJ122": "late", "RRV03": "overdue"}


# ---- the route and the page's callbacks -----------------------------------------------------------

@pytest.fixture
def upload_app(real_copy, tmp_path):
    from app import create_app
    from dashboard.auth import USERS_KEY
    app = create_app(config_for(real_copy, demo=False, database_url=f"sqlite:///{tmp_path / 'users.sqlite'}",
                                upload_max_mb=0.01))
    users = app.server.extensions[USERS_KEY]
    users.add("lead", PASSWORD, "health", (), ("RRV03",), by="test")
    users.add("other-lead", PASSWORD, "health", (), ("RJ122",), by="test")
    users.add("partner", PASSWORD, "csp", ("E09000033",), (), by="test")
    return app


def _client(app, who):
    c = app.server.test_client()
    assert sign_in(c, who, PASSWORD).status_code == 302
    with c.session_transaction() as s:
        token = s["csrf"]
    return c, token


def _post(client, token, path=ERRORS, name=None, month="", headers=None):
    data = {"file": (io.BytesIO(path.read_bytes()), name or path.name), "month": month}
    return client.post("/upload/ed", data=data, content_type="multipart/form-data",
                       headers={"X-CSRF-Token": token} if headers is None else headers)


def _events(app, action):
    from dashboard.auth import USERS_KEY
    return app.server.extensions[USERS_KEY].events(action=action, limit=20)


def _finished(app, job_id, owner, states=("checked", "refused", "loaded", "failed")):
    from config import CONFIG_KEY
    spool = uploads.Jobs(app.server.extensions[CONFIG_KEY].uploads_path)
    for _ in range(300):
        job = spool.get(job_id, owner)
        if job is not None and job.state in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_the_upload_route_refuses_anyone_without_the_right_and_audits_it(upload_app):
    anonymous = upload_app.server.test_client()
    r = anonymous.post("/upload/ed", data={"file": (io.BytesIO(b"x"), "a.csv")}, content_type="multipart/form-data")
    assert r.status_code == 401
    partner, token = _client(upload_app, "partner")
    r = _post(partner, token)
    assert r.status_code == 403 and "may not upload" in r.get_json()["error"]
    assert json.loads(_events(upload_app, "denied")[0].detail)["what"] == "upload"
    lead, token = _client(upload_app, "lead")
    r = _post(lead, token, headers={})
    assert r.status_code == 400 and "reload it" in r.get_json()["error"]
    r = _post(lead, "not-the-token")
    assert r.status_code == 400


def test_a_file_over_the_limit_is_refused_before_it_is_read(upload_app):
    lead, token = _client(upload_app, "lead")
    big = io.BytesIO(ERRORS.read_bytes() * 20)  # ~45 kB against a 10 kB limit (+ the form's allowance)
    r = lead.post("/upload/ed", data={"file": (big, "big.csv")}, content_type="multipart/form-data",
                  headers={"X-CSRF-Token": token})
    assert r.status_code == 200  # under the form's allowance: the check refuses it by size, before reading it
    job = _finished(upload_app, r.get_json()["job"], upload_app.server.extensions["istv_users"].by_username("lead").id)
    assert job.state == "refused" and "larger than the" in job.message
    huge = io.BytesIO(b"x" * 400_000)
    r = lead.post("/upload/ed", data={"file": (huge, "huge.csv")}, content_type="multipart/form-data",
                  headers={"X-CSRF-Token": token})
    assert r.status_code == 413 and "0.01 MB limit" in r.get_json()["error"]


def test_a_data_lead_checks_fixes_and_loads_their_month_with_a_receipt(upload_app, real_copy):
    from flask_login import login_user
    from dashboard.auth import USERS_KEY
    from dashboard.pages import upload as page
    users = upload_app.server.extensions[USERS_KEY]
    lead_user, other = users.by_username("lead"), users.by_username("other-lead")
    lead, token = _client(upload_app, "lead")
    r = _post(lead, token, month="2025-03")
    assert r.status_code == 200
    job = _finished(upload_app, r.get_json()["job"], lead_user.id)
    assert job.state == "checked" and job.summary["rows_quarantined"] == 3
    csv_text = lead.get(f"/download/upload-problems.csv?job={job.id}").get_data(as_text=True)
    assert "Line,Field,Value,Rule broken,How to fix" in csv_text and "31/04/2025 01:54" in csv_text
    other_client, _ = _client(upload_app, "other-lead")
    assert other_client.get(f"/download/upload-problems.csv?job={job.id}").status_code == 404  # not theirs
    with upload_app.server.test_request_context("/"):
        login_user(other)
        assert "not yours" in str(page.job_view(1, job.id)[0])
        page.start_load(1, job.id)
        assert spool_state(upload_app, job, lead_user) == "checked"  # another's upload is not started
    # the fixed file, then Load
    r = _post(lead, token, path=FIXED, month="2025-03")
    fixed = _finished(upload_app, r.get_json()["job"], lead_user.id)
    before = _digest(real_copy)
    with upload_app.server.test_request_context("/"):
        login_user(lead_user)
        status, summary, rows, box, href, disabled, label, *_ = page.job_view(1, fixed.id)
        assert disabled is False and label == "Load 20 rows" and rows == []
        page.start_load(1, fixed.id)
    done = _finished(upload_app, fixed.id, lead_user.id, ("loaded", "failed"))
    assert done.state == "loaded", done.message
    assert done.receipt["rows_loaded"] == 20 and _digest(real_copy) != before
    receipt = json.loads(_events(upload_app, "upload_loaded")[0].detail)
    assert receipt["rows_loaded"] == 20 and receipt["file"] == FIXED.name
    assert [e.username for e in _events(upload_app, "upload_received")] == ["lead", "lead"]
    assert _sql(real_copy, "SELECT loaded_by FROM load_log ORDER BY load_id DESC LIMIT 1") == [("upload:lead",)]


def spool_state(app, job, user):
    from config import CONFIG_KEY
    return uploads.Jobs(app.server.extensions[CONFIG_KEY].uploads_path).get(job.id, user.id).state


def test_another_sites_file_is_refused_for_a_data_lead(upload_app, real_copy):
    from dashboard.auth import USERS_KEY
    other = upload_app.server.extensions[USERS_KEY].by_username("other-lead")
    client, token = _client(upload_app, "other-lead")
    before = _digest(real_copy)
    job = _finished(upload_app, _post(client, token).get_json()["job"], other.id)
    assert job.state == "refused" and "site RRV03's submission" in job.message and "RJ122 only" in job.message
    assert json.loads(_events(upload_app, "upload_refused")[0].detail)["refused"] == job.message
    assert _digest(real_copy) == before


def test_the_demo_database_checks_files_but_never_loads_them(dash_app, signed_in):
    from config import CONFIG_KEY
    from dashboard.pages import upload as page
    config = dash_app.server.extensions[CONFIG_KEY]
    with signed_in("analyst") as user:
        spool = uploads.Jobs(config.uploads_path)
        with open(FIXED, "rb") as stream:
            job = spool.create(user.id, "analyst", FIXED.name, stream, config.upload_max_bytes, None, None)
        uploads.run_check(spool, job, config.upload_max_bytes, now=NOW)
        assert spool.get(job.id, user.id).state == "checked"
        assert page.job_view(1, job.id)[5] is True  # Load stays disabled
        page.start_load(1, job.id)
        assert spool.get(job.id, user.id).state == "checked"
        assert "upload-demo" in str(page.layout())


def test_a_nil_return_marks_a_month_received_with_no_records_and_is_refused_over_records(upload_app, real_copy):
    from flask_login import login_user
    from dashboard.auth import USERS_KEY
    from dashboard.pages import upload as page
    lead = upload_app.server.extensions[USERS_KEY].by_username("lead")
    with upload_app.server.test_request_context("/"):
        login_user(lead)
        assert page.nil_return(1, "RJ122", "2025-03") is page.no_update  # not her site: refused, audited
        job_id = page.nil_return(1, "RRV03", "2025-03")
    job = _finished(upload_app, job_id, lead.id, ("loaded", "failed"))
    assert job.state == "loaded" and job.receipt["nil"] and job.receipt["period_end"] == "2025-03-31"
    assert json.loads(_events(upload_app, "upload_refused")[0].detail)["site"] == "RJ122"
    store = Store(real_copy)
    t = qsub.tracker(store, qs.ed_sites(store), date(2025, 3, 1), date(2025, 3, 1), date(2025, 6, 1), 15)
    row = t.set_index("site_code").loc["RRV03"]
    assert row["status"] == "late" and row["records"] == 0 and row["files"] == 1 and row["first_by"] == "upload:lead"
    # February has records of the site: a nil return would contradict them
    with upload_app.server.test_request_context("/"):
        login_user(lead)
        again = page.nil_return(1, "RRV03", "2025-02")
    failed = _finished(upload_app, again, lead.id, ("loaded", "failed"))
    assert failed.state == "failed" and "has 17 records for February 2025 already" in failed.message
