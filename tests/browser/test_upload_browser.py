"""An ED's data lead in Chromium, on a database built only from real files (UCH's March 2025 missing):
sends a file with errors, reads the problems, sends the fixed file, loads it, and finds the month on
the Submissions page and its records on the map. No request leaves the app's host."""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import serving
from tests.fixtures import config_for

FILES = Path(__file__).resolve().parents[1] / "data" / "upload"
PASSWORD = "Pipit-granite-6620"
MARCH_ED = "/?from=2025-03-01&to=2025-03-31&src=ed"


@pytest.fixture(scope="module")
def upload_server(real_db, tmp_path_factory):
    from app import create_app
    from dashboard.auth import USERS_KEY
    folder = tmp_path_factory.mktemp("uploadjourney")
    db = folder / "istv.duckdb"
    shutil.copyfile(real_db, db)
    app = create_app(config_for(db, demo=False, database_url=f"sqlite:///{folder / 'users.sqlite'}"))
    app.server.extensions[USERS_KEY].add("uch-lead", PASSWORD, "health", (), ("RRV03",), by="test")
    with serving(app) as base:
        yield base


def _ed_on_map(page, base) -> int:
    page.goto(base + MARCH_ED)
    page.wait_for_function("() => /\\d/.test((document.querySelector('#summary-ed') || {}).innerText || '')",
                           timeout=30000)
    return int(re.sub(r"[^\d]", "", page.inner_text("#summary-ed").split("\n")[0]) or 0)


def _check(page, path: Path, name_in_summary: str) -> None:
    page.set_input_files("#upload-file input[type=file]", str(path))
    page.wait_for_function("(n) => document.querySelector('#upload-chosen').innerText.includes(n)", arg=path.name)
    page.click("#upload-check")
    page.wait_for_function("(n) => { const c = document.querySelector('#upload-summary-card');"
                           " return c && c.innerText.includes(n); }", arg=name_in_summary, timeout=30000)


def test_a_data_lead_sends_a_month_fixes_it_loads_it_and_finds_it(browser, upload_server):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    outside, failures = [], []
    host = urlsplit(upload_server).netloc
    context.on("request", lambda r: urlsplit(r.url).netloc not in (host, "") and not r.url.startswith("data:")
               and outside.append(r.url))
    context.on("response", lambda r: r.status >= 500 and failures.append(f"{r.status} {r.url}"))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(upload_server + "/login")
    page.fill("#username", "uch-lead")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_selector("#nav-user", timeout=20000)
    before = _ed_on_map(page, upload_server)

    page.click(".navbar .nav-link[href='/upload']")
    page.wait_for_selector("#upload-check")
    assert "University College Hospital (RRV03)" in page.inner_text("#upload-who")
    _check(page, FILES / "ed_RRV03_2025-03_errors.csv", "ed_RRV03_2025-03_errors.csv")
    summary = page.inner_text("#upload-summary-card")
    assert re.search(r"Rows read\s+20", summary) and re.search(r"Rows that can be loaded\s+17", summary)
    assert re.search(r"Rows with problems\s+3", summary)
    page.wait_for_selector("#upload-problems .ag-center-cols-container .ag-row")
    lines = page.eval_on_selector_all("#upload-problems .ag-row .ag-cell[col-id=line]", "els => els.map(e => e.innerText)")
    assert sorted(set(lines), key=int) == ["5", "10", "16"]
    fixes = page.eval_on_selector_all("#upload-problems .ag-row .ag-cell[col-id=how_to_fix]", "els => els.map(e => e.innerText)")
    assert any(f.startswith("Fill in Assault date and time") for f in fixes)
    assert page.inner_text("#upload-load").startswith("Load 17 rows (3 with problems stay out")
    with page.expect_download() as download:
        page.click("#upload-problems-csv")
    text = Path(download.value.path()).read_text()
    assert "Line,Field,Value,Rule broken,How to fix" in text and "31/04/2025 01:54" in text

    _check(page, FILES / "ed_RRV03_2025-03.csv", "ed_RRV03_2025-03.csv")
    assert re.search(r"Rows that can be loaded\s+20", page.inner_text("#upload-summary-card"))
    page.wait_for_selector("#upload-load:not([disabled])")
    assert page.inner_text("#upload-load") == "Load 20 rows"
    page.click("#upload-load")
    page.wait_for_selector("#upload-receipt-text", timeout=60000)
    assert "20 rows loaded, 0 quarantined" in page.inner_text("#upload-receipt-text")

    page.click("#upload-receipt a[href='/submissions']")
    cell = "#submissions-table td[data-site=RRV03][data-month='2025-03']"
    page.wait_for_selector(cell, timeout=30000)
    assert page.get_attribute(cell, "data-status") in ("received", "late")
    assert page.inner_text(cell).split("\n")[-1].strip() == "20"
    assert page.get_attribute("#submissions-table td[data-site=RRV03][data-month='2025-04']", "data-status") == "overdue"
    assert page.locator("#submissions-table td[data-site=RJ122]").count() == 0  # another ED's months are not hers

    after = _ed_on_map(page, upload_server)
    assert after > before, (before, after)  # London's March ED count, protected for her: 16 -> 36 records
    assert outside == [] and failures == [] and errors == [], (outside, failures, errors)
    context.close()
