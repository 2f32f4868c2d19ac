"""The strategic pages as people use them: a CSP manager's trends, an ED lead's data quality and report."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from data.access.roles import Scope
from data.store import queries_trends as qs
from data.store.filters import Filters
from data.store.queries import ScopedStore
from tests.browser.test_map_browser import sign_in

HACKNEY, SITE = "E09000012", "RJ122"


def _n(store, sql, params=()):
    return int(store.df(sql, params).iloc[0, 0])


def _shown(n: int) -> str:
    return "<5" if 0 < n < 5 else f"{n:,}"


def _choose(page, dropdown_id: str, typed: str, option: str):
    # Dash 4's single-value dropdown moves the focus to the selected option once its list opens, so
    # keys typed straight after the click may or may not reach the search box: type into the box itself
    page.locator(f"#{dropdown_id}").click()
    page.locator("input.dash-dropdown-search:visible").fill(typed)
    page.locator("[role=option]", has_text=option).first.click()
    page.keyboard.press("Escape")


def test_csp_trends_journey(page, live_server, store, artifacts):
    sign_in(page, live_server, "csp")
    page.click("text=Trends")
    page.wait_for_selector("#trends-card-ed")
    ed = _n(store, "SELECT count(*) FROM incidents WHERE source='ed' AND borough_code=? AND year(occurred_at)=2025", [HACKNEY])
    police = _n(store, "SELECT count(*) FROM incidents WHERE source='police' AND borough_code=? AND year(month)=2025 "
                       "AND category='Violence and sexual offences'", [HACKNEY])
    # csp is protected: the 12-month cards are sums of the protected months (perturbed, rounded to 5)
    protected = ScopedStore(store, Scope(boroughs=(HACKNEY,), record_level=False, level="protected"))
    months = qs.monthly_counts(protected, Filters(boroughs=(HACKNEY,)), date(2025, 1, 1), date(2025, 12, 31))
    shown_ed, shown_police = int(months["ed"].sum()), int(months["police"].sum())
    assert abs(shown_ed - ed) <= 4 * 12 and abs(shown_police - police) <= 4 * 12
    page.wait_for_function(f"document.querySelector('#trends-card-ed').innerText === '{_shown(shown_ed)}'", timeout=15000)
    assert page.locator("#trends-card-police").inner_text() == f"{shown_police:,}"
    page.wait_for_selector("#trends-ranking .js-plotly-plot")
    assert "Hackney" in page.locator("#trends-ranking").inner_text()
    assert "Westminster" not in page.locator("#trends-ranking").inner_text()  # outside the CSP's scope

    _choose(page, "trends-from", "Jan 2024", "Jan 2024")
    page.get_by_text("per 1,000 residents", exact=True).click()
    page.wait_for_function("location.search.includes('from=2024-01-01') && location.search.includes('measure=rate')", timeout=15000)
    page.wait_for_function("document.querySelector('#trends-rolling').innerText.includes('per 1,000 residents')", timeout=15000)
    page.get_by_text("How to read this page").click()
    page.wait_for_selector("text=compares two different recordings of violence")
    page.screenshot(path=str(artifacts / "trends-csp.png"), full_page=True)

    with page.expect_download() as dl:
        page.click("#trends-download")
    text = Path(dl.value.path()).read_text()
    assert text.startswith("# ISTV London trends (monthly), Jan 2024 to Dec 2025. Method:")
    assert "2025-12," in text and "\n2023-" not in text
    assert page.errors == []


def test_ed_lead_quality_journey_to_the_report(page, live_server, store, artifacts):
    sign_in(page, live_server, "health")
    page.click("text=Data quality")
    page.wait_for_selector("#quality-card-records")
    assert "King's College" not in page.locator("#quality-league").inner_text()
    _choose(page, "quality-site", "St Thomas", "St Thomas")
    n = _n(store, "SELECT count(*) FROM incidents WHERE source='ed' AND ed_site=? AND year(month)=2025", [SITE])
    page.wait_for_function(f"location.search.includes('site={SITE}')", timeout=15000)
    assert page.locator("#quality-card-records").inner_text() == _shown(n)
    # the demo's monthly files (load_log): the median of the year's days from month end to the file
    days = store.df("""SELECT median(date_diff('day', period_end, loaded_at::DATE)) AS d FROM load_log
                       WHERE kind = 'istv' AND site_code = ? AND year(period_start) = 2025""", [SITE])["d"].iat[0]
    assert page.locator("#quality-card-timely").inner_text() == f"{float(days):g} days"
    assert "All London EDs" in page.locator("#quality-league").inner_text()
    page.screenshot(path=str(artifacts / "quality-health.png"), full_page=True)

    with page.context.expect_page() as popup:
        page.click("#quality-report-link")
    report = popup.value
    report.wait_for_selector("#report-records")
    dec = _n(store, "SELECT count(*) FROM incidents WHERE source='ed' AND ed_site=? AND month='2025-12-01'", [SITE])
    assert report.locator("h1").inner_text().startswith("ISTV data-quality feedback: St Thomas' Hospital (RJ122), December 2025")
    assert report.locator("#report-records").inner_text().startswith(f"{_shown(dec)} assault records")
    assert "What your data made possible" in report.inner_text("body")
    assert report.locator("#report-method").is_visible()
    report.screenshot(path=str(artifacts / "quality-report-health.png"), full_page=True)

    with page.expect_download() as dl:
        page.click("#quality-download-months")
    text = Path(dl.value.path()).read_text()
    assert "Method: Records are ED assault attendances" in text.splitlines()[0]
    assert "Dec 2025," in text
