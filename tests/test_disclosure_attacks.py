"""Attacks on the protected level, run as the demo CSP manager (protected, Hackney) against the app's
callbacks and downloads: each tries to work a true count of 1-4 back out, the way issue 16 did on the
old code, and each must fail. On the old code (counts shown exactly unless 1-4, any period, viewport
clipping) every one of them recovered the counts it aimed at.
"""
from __future__ import annotations

import io
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard.pages import map as map_page
from dashboard.reports_ops import gather_profile
from data.access.disclosure import NOISE, noise, perturb, protect_frame, Protection
from data.access.roles import Scope
from data.store import queries
from data.store.filters import Filters
from data.store.queries import ScopedStore

HACKNEY = "E09000012"
SUMMARY, TABLE = 3, 4
PROTECTED = Scope(boroughs=(HACKNEY,), record_level=False, level="protected")


def _card(out, card_id) -> str:
    return re.search(rf"children='([^']*)', id='{card_id}'", str(out[SUMMARY])).group(1)


def _number(text: str) -> int | None:
    return int(text.replace(",", "")) if re.fullmatch(r"[\d,]+", text) else None


# --- the method itself ----------------------------------------------------------------------------

def test_the_noise_table_and_the_same_answer_every_time():
    keys = np.arange(256)
    shares = {v: float(np.mean(noise(keys) == v)) for v in (-2, -1, 0, 1, 2)}
    assert shares == pytest.approx({-2: 13 / 256, -1: 51 / 256, 0: 128 / 256, 1: 51 / 256, 2: 13 / 256})
    assert NOISE[-1][0] == 256
    counts, cell_keys = np.array([0, 1, 3, 7, 23, 140]), np.array([5, 0, 255, 70, 200, 12])
    once = perturb(counts, cell_keys, Protection())
    assert (once == perturb(counts, cell_keys, Protection())).all()  # asked again: the same answer
    assert once[0] == 0 and (once[1:3] >= 1).all()                  # zeros stay zero, records never vanish
    assert all(v % 5 == 0 for v in once[3:])                       # 5 or more: rounded to 5
    assert (perturb(counts, cell_keys, Protection(rounding=1, perturb=False)) == counts).all()


def test_every_count_query_carries_its_cell_key():
    """A count of incidents written without `counted` would reach protected viewers exact."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "data" / "store"
    bare = []
    for path in root.glob("*.py"):
        text = path.read_text()
        for n, line in enumerate(text.splitlines(), 1):
            m = re.search(r"count\((\*|i\.incident_id)\)[^,]*? AS (\w+)", line)
            if not m or path.name == "counting.py" or "FROM load_log" in line or "FROM quarantine" in line:
                continue
            if f"{m.group(2)}__key" not in text:
                bare.append(f"{path.name}:{n}: {line.strip()[:80]}")
    assert bare == [], "count queries without a cell key (use data.store.counting.counted)"


def test_the_store_protects_for_protected_viewers_only(store):
    f = Filters(boroughs=(HACKNEY,), start=date(2025, 1, 1), end=date(2025, 12, 31))
    exact = queries.month_borough_counts(store, f)
    shown = queries.month_borough_counts(ScopedStore(store, PROTECTED), f)
    assert (shown["month"].tolist(), shown["borough_code"].tolist()) == (exact["month"].tolist(), exact["borough_code"].tolist())
    for col in ("ed", "police"):
        diff = shown[col].to_numpy() - exact[col].to_numpy()
        assert (np.abs(diff) <= 4).all() and (diff != 0).any()
        big = shown[col].to_numpy() >= 5
        assert (shown[col].to_numpy()[big] % 5 == 0).all()
    assert "ed__key" not in exact.columns and "ed__key" not in shown.columns
    assert protect_frame(pd.DataFrame({"n": [3], "n__key": [7]}), False).columns.tolist() == ["n"]


# --- attacks through the pages --------------------------------------------------------------------

def _truth(store, where: str, params=()) -> int:
    return int(store.df(f"SELECT count(*) FROM incidents WHERE {where}", list(params)).iloc[0, 0])


def _small_days(store) -> list[date]:
    days = store.df("""SELECT CAST(occurred_at AS DATE) AS d FROM incidents WHERE borough_code = ? AND source = 'ed'
                       AND year(occurred_at) = 2025 GROUP BY d HAVING count(*) BETWEEN 1 AND 4 ORDER BY d""", [HACKNEY])
    return [d.date() for d in pd.to_datetime(days["d"])][:12]


def test_differencing_by_one_day_learns_nothing(signed_in, store):
    # the old attack: a period, then the same period without its first day; the difference is that day
    days = _small_days(store)
    assert len(days) >= 5
    recovered = 0
    with signed_in("csp"):
        for d in days:
            end = date(2025, 12, 31)
            with_day = map_page.render(f"?borough={HACKNEY}&from={d}&to={end}&src=ed", None)
            without = map_page.render(f"?borough={HACKNEY}&from={d + pd.Timedelta(days=1)}&to={end}&src=ed", None)
            true = _truth(store, "borough_code = ? AND source = 'ed' AND CAST(occurred_at AS DATE) = ?", [HACKNEY, d])
            a, b = _number(_card(with_day, "summary-ed")), _number(_card(without, "summary-ed"))
            recovered += int(a is not None and b is not None and a - b == true)
    assert recovered == 0


def test_differencing_by_hour_window_never_gives_a_count_of_1_to_4(signed_in, store):
    # the old attack: 22:00-06:00 against 23:00-06:00 on one weekday over a year: the difference is 22:xx
    hits = tries = 0
    with signed_in("csp"):
        for weekday in range(7):
            q = f"?borough={HACKNEY}&from=2025-01-01&to=2025-12-31&days={weekday}"
            wide = map_page.render(q + "&hours=22-6", None)
            narrow = map_page.render(q + "&hours=23-6", None)
            true = _truth(store, "borough_code = ? AND source = 'ed' AND hour(occurred_at) = 22 AND year(occurred_at) = 2025 "
                                 "AND isodow(occurred_at) - 1 = ?", [HACKNEY, weekday])
            a, b = _number(_card(wide, "summary-ed")), _number(_card(narrow, "summary-ed"))
            if 0 < true < 5:
                tries += 1
                hits += int(a is not None and b is not None and a - b == true)
    assert tries > 0 and hits == 0  # differences of protected counts are multiples of 5


def test_parts_and_totals_come_from_the_same_protected_values(signed_in):
    with signed_in("csp"):
        out = map_page.render(f"?borough={HACKNEY}&from=2025-01-01&to=2025-12-31", None)
    card = _number(_card(out, "summary-ed"))
    rows = re.findall(r"Tr\(\[Td\('Hackney'\), Td\(children=([^,]+), className='text-end'\)", str(out[TABLE]))
    assert rows and card is not None and int(rows[0].strip("'").replace(",", "")) == card


def test_moving_the_map_does_not_change_a_hexagon(signed_in):
    views = ("51.5450,-0.0550,13.60", "51.5451,-0.0550,13.60", "51.5600,-0.0800,13.60")
    with signed_in("csp"):
        outs = [map_page.render(f"?borough={HACKNEY}&v={v}", None) for v in views]
    values = [dict(zip(o[0]["data"][0]["locations"], (row[2] for row in o[0]["data"][0]["customdata"]))) for o in outs]
    assert values[0] == values[1] == values[2]  # the whole study area, never clipped to the screen


def test_rolling_sums_give_back_only_protected_months(client_as, store):
    r = client_as("csp").get(f"/download/strategic/trends-monthly.csv?borough={HACKNEY}&from=2024-01-01&to=2025-12-31")
    got = pd.read_csv(io.StringIO(r.get_data(as_text=True)), comment="#", dtype=str, keep_default_na=False)
    truth = store.df("""SELECT month, count(*) FILTER (WHERE source = 'ed') AS ed FROM incidents
                        WHERE borough_code = ? AND month BETWEEN '2023-01-01' AND '2025-12-01' GROUP BY month ORDER BY month""",
                     [HACKNEY]).set_index("month")["ed"]
    assert "ed_12m" in got.columns or "ed_rolling_12m" in got.columns
    col = "ed_12m" if "ed_12m" in got.columns else "ed_rolling_12m"
    rolling = pd.to_numeric(got[col], errors="coerce")
    derived = rolling.diff()  # m[t] - m[t-12]: what an attacker works back from the rolling sums
    small = [i for i, m in enumerate(pd.to_datetime(got["month"])) if 0 < truth.get(m, 0) < 5]
    assert small
    exact = 0
    for i in small[1:]:
        m = pd.to_datetime(got["month"].iloc[i])
        before = truth.get(m - pd.DateOffset(months=12), 0)
        if not np.isnan(derived.iloc[i]):
            exact += int(derived.iloc[i] == truth[m] - before)
    assert exact < len(small) - 1 or len(small) <= 2  # never a systematic recovery


def test_hidden_day_hour_cells_are_not_the_total_minus_the_shown_ones(signed_in, store):
    # the old attack: the day x hour chart's "<5" cells add up to the card's total minus the cells shown
    exact_hits = tries = 0
    periods = [(date(y, 1, 1), date(y, 12, 31)) for y in (2023, 2024, 2025)] + \
              [(date(2025, m, 1), (pd.Timestamp(date(2025, m + 2, 1)) + pd.offsets.MonthEnd(0)).date()) for m in (1, 4, 7, 10)]
    with signed_in("csp"):
        for start, end in periods:
            out = map_page.render(f"?borough={HACKNEY}&from={start}&to={end}&src=ed", None)
            total = _number(_card(out, "summary-ed"))
            heat = out[2]["data"]
            if total is None or not heat:
                continue
            shown = sum(v for row in heat[0]["z"] for v in row if v is not None)
            hidden_true = int(store.df("""SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM incidents
                                          WHERE borough_code = ? AND source = 'ed' AND month BETWEEN ? AND ?
                                          GROUP BY isodow(occurred_at), hour(occurred_at) HAVING count(*) < 5)""",
                                       [HACKNEY, start, end]).iloc[0, 0])
            if hidden_true:
                tries += 1
                exact_hits += int(total - shown == hidden_true)
    assert tries >= 3 and exact_hits <= tries // 2  # never a systematic recovery (the old code: every period)


def test_premises_profile_counts_are_protected_when_the_role_is(store):
    # with ISTV_DISCLOSURE=licensing=protected the profile (aggregated from its rows) goes through the protection
    westminster = "E09000033"
    f = Filters(boroughs=(westminster,), start=date(2025, 1, 1), end=date(2025, 12, 31))
    busy = store.df("""SELECT p.premises_id FROM premises p WHERE p.borough_code = ? ORDER BY p.premises_id""",
                    [westminster])["premises_id"].tolist()
    protected = ScopedStore(store, Scope(boroughs=(westminster,), record_level=False, level="protected"))
    differs = checked = 0
    for pid in busy[:40]:
        exact, shown = gather_profile(store, f, pid, 100.0), gather_profile(protected, f, pid, 100.0)
        if exact is None or exact.monthly["police"].sum() == 0:
            continue
        checked += 1
        months = shown.monthly["police"].to_numpy()
        assert ((months == 0) | (months < 5) | (months % 5 == 0)).all()
        assert (np.abs(months - exact.monthly["police"].to_numpy()) <= 4).all()
        differs += int((months != exact.monthly["police"].to_numpy()).any())
        assert shown.methods["ed"].sum() >= 0 and list(shown.day_hour.columns) == ["weekday", "hour", "n"]
    assert checked >= 5 and differs >= 1


def test_differencing_by_one_category_never_gives_a_count_of_1_to_4(signed_in, store):
    # the old attack: every assault method, then every method but one: the difference is that method's count
    others = "01,02,04,05,06,99"
    hits = tries = 0
    with signed_in("csp"):
        for year in (2023, 2024, 2025):
            q = f"?borough={HACKNEY}&from={year}-01-01&to={year}-12-31&src=ed"
            every = _number(_card(map_page.render(q, None), "summary-ed"))
            but_knives = _number(_card(map_page.render(q + f"&method={others}", None), "summary-ed"))
            knives = _truth(store, "borough_code = ? AND source = 'ed' AND category = '03' AND year(occurred_at) = ?",
                            [HACKNEY, year])
            if 0 < knives < 5:
                tries += 1
                hits += int(every is not None and but_knives is not None and every - but_knives == knives)
    assert tries >= 1 and hits == 0



def test_shares_and_ratios_do_not_give_a_small_count_back(signed_in, store):
    # the old attack: a ratio or share beside a shown count (ED per police x police) gives the hidden part back
    recovered = tries = 0
    with signed_in("csp"):
        for month in range(1, 13):
            start = date(2025, month, 1)
            end = (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date()
            out = map_page.render(f"?borough={HACKNEY}&from={start}&to={end}", None)
            true = _truth(store, "borough_code = ? AND source = 'ed' AND month = ?", [HACKNEY, start])
            ratio, police = _card(out, "summary-ratio"), _number(_card(out, "summary-police"))
            if 0 < true < 5:
                tries += 1
                if re.fullmatch(r"\d+\.\d+", ratio) and police:
                    recovered += int(round(float(ratio) * police) == true)
    assert tries >= 3 and recovered == 0
