"""Sign in as each demo role and see what that role may see, and only that."""
from __future__ import annotations

import pytest

from tests.browser.grid import grid_rows
from tests.browser.test_map_browser import BOROUGHS, _traces, _wait_for_plots, sign_in

DATA = {"Map", "Premises", "Tasking", "Trends", "Data quality"}
EXPECT = {  # role: (nav links, borough options in the filter); pages everyone sees (the data standard) come on top
    "admin": (DATA | {"Users", "Audit", "Loads", "Submissions", "Upload"}, 33),
    "analyst": (DATA | {"Loads", "Submissions", "Upload"}, 33),
    "police": ({"Map", "Premises", "Tasking", "Trends"}, 33),
    "licensing": ({"Map", "Premises", "Trends"}, 1),
    "csp": ({"Map", "Trends"}, 1),
    "health": ({"Map", "Trends", "Data quality", "Submissions", "Upload"}, 33),
}


def test_login_page_lists_demo_users_and_rejects_a_wrong_password(page, live_server):
    page.goto(live_server + "/admin/users")
    assert "/login?next=/admin/users" in page.url
    assert page.locator("#demo-users tbody tr").count() == 6
    page.fill("#username", "csp")
    page.fill("#password", "not-the-password")
    page.click("#sign-in")
    assert "Wrong username or password" in page.locator("#login-error").inner_text()


@pytest.mark.parametrize("role", list(EXPECT))
def test_each_role_sees_its_pages_and_boroughs(page, live_server, store, role):
    links, n_boroughs = EXPECT[role]
    sign_in(page, live_server, role)
    _wait_for_plots(page)
    from dashboard.shell import PAGES
    everyone = {p.TITLE for p in PAGES.values() if p.PERMISSION == "view_standard"}
    assert set(page.locator(".navbar .nav-link").all_inner_texts()) == (links & {p.TITLE for p in PAGES.values()}) | everyone
    page.locator(BOROUGHS).click()
    # Dash 4 draws checklists and radio items as listboxes too: count the open dropdown's options only
    assert page.locator("[role=listbox]:not([id*='map-filter']) [role=option]:visible").count() == n_boroughs
    page.keyboard.press("Escape")
    if role == "csp":  # Hackney only: the chart holds Hackney's ED assaults and nothing else
        hackney = int(store.df("SELECT count(*) FROM incidents WHERE source='ed' AND borough_code='E09000012' "
                               "AND year(occurred_at)=2025").iloc[0, 0])
        assert _traces(page, "map-series")["ED assaults"][1] <= hackney  # small months are gaps, not counts
        assert page.locator("#map-borough-table tbody tr").all_inner_texts()[0].startswith("Hackney")
        assert page.locator("#map-borough-table tbody tr").count() == 1
    page.goto(live_server + "/admin/users")
    if role == "admin":
        page.wait_for_selector("#users-list .ag-row[row-index] .ag-cell[col-id=username]")
        names = {r["username"] for r in grid_rows(page, "users-list")}
        assert {"admin", "analyst", "police", "licensing", "csp", "health"} <= names
    else:
        page.wait_for_selector("#forbidden")
    page.click("#sign-out")
    page.wait_for_url("**/login")
