import hashlib

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from data.demo import london
from data.demo.generate import generate
from data.ingest.enrich import record_hash
from data.ingest.schema import POLICE_CATEGORIES


def _digest(demo) -> str:
    h = hashlib.sha256()
    h.update(record_hash(demo.ed, list(demo.ed.columns)).tobytes())
    h.update(record_hash(demo.police, list(demo.police.columns)).tobytes())
    h.update(record_hash(demo.world.premises, list(demo.world.premises.columns)).tobytes())
    return h.hexdigest()


def test_same_seed_and_scale_give_identical_data_and_another_seed_differs():
    a, b, c = generate(0.004, 3), generate(0.004, 3), generate(0.004, 4)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_default_scale_volumes():
    """The app's default scale (0.25): quarter of real London volumes, over three years."""
    d = generate(0.25, 42)
    assert len(d.ed) == 21_000 and len(d.police) == 787_500
    assert 45_000 < len(d.world.segments) < 65_000
    assert len(d.world.premises) == 7_500
    assert set(d.police["category"]) == set(POLICE_CATEGORIES)
    vso = (d.police["category"] == "Violence and sexual offences").mean()
    assert 0.2 < vso < 0.24
    assert d.world.segments.groupby("street").ngroups > 5_000  # named streets of many blocks


def _fri_sat_night(ts: pd.Series) -> pd.Series:
    wd, h = ts.dt.day_of_week, ts.dt.hour
    return ((wd == 4) & (h >= 20)) | ((wd == 5) & ((h < 4) | (h >= 20))) | ((wd == 6) & (h < 4))


def test_demo_realism(store):
    inc = store.df("SELECT * FROM incidents")
    truth = store.df("SELECT * FROM demo_truth")
    ed = inc[inc["source"] == "ed"]
    share = _fri_sat_night(ed["occurred_at"]).mean()
    uniform = 2 * 8 / (7 * 24)  # 16 of the week's 168 hours
    assert 0.18 < share < 0.35 and share > 2 * uniform
    assert 0.2 <= truth["reported_to_police"].mean() <= 0.45
    # each reported assault has a police violence record in the same month
    linked = truth.dropna(subset=["police_incident_id"]).merge(
        inc[["incident_id", "month", "category"]], left_on="police_incident_id", right_on="incident_id")
    assert len(linked) == truth["reported_to_police"].sum()
    assert (linked["category"] == "Violence and sexual offences").all()
    assert (pd.to_datetime(linked["month"]) == ed.set_index("incident_id").loc[linked["incident_id_x"], "month"].to_numpy()).all()
    # arrival is after the assault, by a plausible delay
    delay = (ed["arrived_at"] - ed["occurred_at"]).dt.total_seconds() / 60
    assert delay.min() >= 5 and 30 < delay.median() < 120


def test_premises_cluster_in_town_centres_and_everything_is_in_london(store):
    prem = store.df("SELECT lat, lon FROM premises")
    centres = pd.DataFrame([c._asdict() for c in london.TOWN_CENTRES])
    km = np.array([np.cos(np.radians(51.5)) * 111.32, 110.57])
    tree = cKDTree(centres[["lon", "lat"]].to_numpy() * km)
    dist, _ = tree.query(prem[["lon", "lat"]].to_numpy() * km)
    assert (dist <= 1.0).mean() > 0.6
    outline = shapely.Polygon(london.LONDON_OUTLINE)
    for table in ("incidents", "premises", "blocks"):
        pts = store.df(f"SELECT lat, lon FROM {table} WHERE lat IS NOT NULL")
        assert shapely.contains_xy(outline, pts["lon"], pts["lat"]).all(), table


def test_every_borough_has_ed_and_police_incidents(store):
    by = store.df("SELECT borough_code, source, count(*) AS n FROM incidents WHERE borough_code IS NOT NULL GROUP BY ALL")
    codes = {b.code for b in london.BOROUGHS}
    assert set(by[by["source"] == "police"]["borough_code"]) == codes
    assert len(set(by[by["source"] == "ed"]["borough_code"])) >= 30
    assert store.df("SELECT count(*) AS n FROM boroughs")["n"].iat[0] == 33


def test_ed_records_look_typed_by_receptionists(store):
    text = store.df("SELECT location_text FROM incidents WHERE source = 'ed'")["location_text"].fillna("")
    assert text.str.contains(r"\bo/s\b", case=False).mean() > 0.02
    assert text.str.contains(r"^(?:at )?home$", case=False).mean() > 0.02
    assert (text == "").mean() > 0.002
    assert text.str.contains(r"\b(?:st|rd|ave)\b", case=False).mean() > 0.05


def test_police_rows_have_police_uk_shape():
    from data.demo.generate import police_uk_csv
    d = generate(0.004, 1)
    csv = police_uk_csv(d.police)
    assert list(csv.columns) == ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
                                 "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
    assert csv["Month"].str.fullmatch(r"202[345]-\d\d").all()
    assert csv["Location"].str.startswith("On or near ").all()
    asb = csv["Crime type"] == "Anti-social behaviour"
    assert (csv.loc[asb, "Crime ID"] == "").all() and (csv.loc[~asb, "Crime ID"].str.len() == 20).all()


def test_street_lengths_are_long_tailed_like_real_london():
    """Named streets per borough: in Westminster mostly 100-300 m with a few arterials over 1 km
    (calibrated to real Westminster, see data/demo/world.py), and most names local to a borough."""
    from data.demo.world import build_world
    w = build_world(np.random.default_rng(7), 0.25)
    per = w.segments.groupby(["borough_code", "street"])["length_m"].sum()
    wm = per.loc["E09000033"]
    assert 100 < wm.median() < 220 and 300 < wm.quantile(0.9) < 700
    assert 0.85 < (wm <= 500).mean() < 0.97 and 0.01 < (wm > 1000).mean() < 0.08
    assert 0.02 < (per > 1000).mean() < 0.12  # arterials all over London
    boroughs_per_name = per.reset_index().groupby("street")["borough_code"].nunique()
    assert (boroughs_per_name == 1).mean() > 0.6
