"""The embedded synthetic London: deterministic demo data in the shapes real files have.

`generate(scale, seed)` draws the world (data/demo/world.py), then ED assault records in the
ISTV minimum data set shape and police crimes in police.uk shape, for three fixed calendar
years (2023-2025) so nothing depends on today's date. scale=1.0 is about real London volumes
(~28,000 ED assault attendances and ~1.05 million police-recorded crimes a year).

ED records carry what a receptionist types; their true coordinates live only in the
`truth_*` columns, which the demo database keeps in a separate `demo_truth` table for
evaluating the geocoder. About 30 % of ED assaults are also reported to the police (the rest
is the "dark figure"); the link is demo ground truth only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from data.demo.world import World, build_world, point_on_segments
from data.ingest.schema import POLICE_VIOLENCE
from data.demo.text import describe
from layers.blocks import from_bng

YEARS = (2023, 2024, 2025)
ED_PER_YEAR = 28_000
POLICE_PER_YEAR = 1_050_000

POLICE_SHARES = {
    "Anti-social behaviour": 0.17, "Bicycle theft": 0.02, "Burglary": 0.06,
    "Criminal damage and arson": 0.05, "Drugs": 0.04, "Other crime": 0.01, "Other theft": 0.12,
    "Possession of weapons": 0.01, "Public order": 0.05, "Robbery": 0.03, "Shoplifting": 0.06,
    "Theft from the person": 0.06, "Vehicle crime": 0.10, POLICE_VIOLENCE: 0.22,
}
# how strongly each category follows the night-time economy (0 = spread like streets)
POLICE_NTE = {
    "Anti-social behaviour": 0.5, "Bicycle theft": 0.5, "Burglary": 0.0, "Criminal damage and arson": 0.2,
    "Drugs": 0.7, "Other crime": 0.3, "Other theft": 0.7, "Possession of weapons": 0.7,
    "Public order": 0.8, "Robbery": 0.7, "Shoplifting": 0.8, "Theft from the person": 1.0,
    "Vehicle crime": 0.1, POLICE_VIOLENCE: 0.6,
}

# ED location type code: (share, assault method probabilities over codes 01..06, 99, report-to-police probability)
_METHODS = ("01", "02", "03", "04", "05", "06", "99")
ED_LOCATIONS = {
    "01": (0.22, (0.60, 0.05, 0.07, 0.20, 0.002, 0.048, 0.03), 0.26),
    "02": (0.38, (0.58, 0.10, 0.16, 0.06, 0.01, 0.05, 0.04), 0.33),
    "03": (0.18, (0.70, 0.10, 0.10, 0.02, 0.0, 0.05, 0.03), 0.30),
    "04": (0.08, (0.66, 0.06, 0.12, 0.06, 0.0, 0.06, 0.04), 0.30),
    "05": (0.06, (0.64, 0.10, 0.12, 0.05, 0.0, 0.05, 0.04), 0.30),
    "06": (0.03, (0.72, 0.08, 0.05, 0.05, 0.0, 0.07, 0.03), 0.30),
    "08": (0.03, (0.65, 0.10, 0.10, 0.05, 0.0, 0.07, 0.03), 0.25),
    "99": (0.02, (0.50, 0.05, 0.05, 0.05, 0.0, 0.05, 0.30), 0.15),
}
WEEKDAY_WEIGHT = np.array([0.11, 0.11, 0.12, 0.13, 0.17, 0.21, 0.15])  # Mon..Sun, "night of"
MONTH_WEIGHT = np.array([0.92, 0.88, 0.95, 1.0, 1.05, 1.1, 1.12, 1.1, 1.0, 0.98, 0.97, 1.1])
# hour offsets from 08:00 of the "night of" day (0 = 08:00, 15 = 23:00, 18 = 02:00)
NIGHT_PROFILE = np.array([1, 1, 1.5, 2, 2, 2, 2.5, 3, 3.5, 4, 5, 6, 8, 10, 13, 16, 18, 17, 14, 9, 5, 3, 2, 1.2], float)
DAY_PROFILE = np.array([3, 4, 5, 6, 6, 6, 6, 6, 6, 7, 8, 8, 9, 9, 8, 7, 5, 4, 3, 2, 2, 1.5, 1.5, 2], float)


@dataclass
class Demo:
    world: World
    ed: pd.DataFrame       # ISTV-shaped records + truth_* columns
    police: pd.DataFrame   # police.uk-shaped records + x, y and demo link


def _days(rng, n) -> np.ndarray:
    """Dates in YEARS weighted by weekday and month-of-year (Fri/Sat nights, summer, December)."""
    days = pd.date_range(f"{YEARS[0]}-01-01", f"{YEARS[-1]}-12-31", freq="D")
    w = WEEKDAY_WEIGHT[days.day_of_week] * MONTH_WEIGHT[days.month - 1]
    return days.values[rng.choice(len(days), n, p=w / w.sum())]


def _segment_choice(rng, world: World, n, nte: float) -> np.ndarray:
    """Segments drawn by street length, bent towards town centres by `nte` (0..1)."""
    seg = world.segments
    length = seg["length_m"].to_numpy()
    density = world.nte_density(seg["x"], seg["y"])
    pop = seg["borough_code"].map(dict(zip(world.boroughs["code"], world.boroughs["population"]))).to_numpy(float)
    seg_per_borough = seg.groupby("borough_code")["length_m"].transform("sum").to_numpy()
    base = length * pop / seg_per_borough
    w = base / base.sum() * (1 - nte) + (length * density) / (length * density).sum() * nte
    return rng.choice(len(seg), n, p=w / w.sum())


def _ed_records(rng, world: World, scale: float) -> pd.DataFrame:

    n = max(200, int(ED_PER_YEAR * len(YEARS) * scale))
    seg, prem = world.segments, world.premises
    codes = list(ED_LOCATIONS)
    loc = np.array(codes)[rng.choice(len(codes), n, p=np.array([ED_LOCATIONS[c][0] for c in codes]) / sum(ED_LOCATIONS[c][0] for c in codes))]
    x, y = np.zeros(n), np.zeros(n)
    seg_idx = _segment_choice(rng, world, n, nte=0.0)
    street_idx = _segment_choice(rng, world, n, nte=0.9)
    use = np.isin(loc, ["02", "06", "08", "99"])
    seg_idx[use] = street_idx[use]
    x[:], y[:] = point_on_segments(rng, seg, seg_idx, side_m=12.0)
    premises_id = np.full(n, None, dtype=object)
    # assaults in licensed premises happen at a venue, weighted by type and town-centre pull
    venue_w = prem["licence_type"].map({"pub": 3, "bar": 3, "nightclub": 8, "restaurant": 0.4,
                                        "late_night_refreshment": 0.8, "off_licence": 0.3}).to_numpy(float)
    venue_w = venue_w * world.nte_density(prem["x"], prem["y"])
    at_venue = np.flatnonzero(loc == "01")
    v = rng.choice(len(prem), len(at_venue), p=venue_w / venue_w.sum())
    x[at_venue] = prem["x"].to_numpy()[v] + rng.normal(0, 4, len(v))
    y[at_venue] = prem["y"].to_numpy()[v] + rng.normal(0, 4, len(v))
    premises_id[at_venue] = prem["premises_id"].to_numpy()[v]
    seg_idx[at_venue] = (prem["block_id"].to_numpy()[v] - 1)
    shops = np.flatnonzero((loc == "05") & (rng.random(n) < 0.6))
    shop_pool = np.flatnonzero(prem["licence_type"].isin(["late_night_refreshment", "off_licence"]).to_numpy())
    s = shop_pool[rng.integers(len(shop_pool), size=len(shops))]
    x[shops], y[shops] = prem["x"].to_numpy()[s] + rng.normal(0, 4, len(s)), prem["y"].to_numpy()[s] + rng.normal(0, 4, len(s))
    premises_id[shops] = prem["premises_id"].to_numpy()[s]
    seg_idx[shops] = prem["block_id"].to_numpy()[s] - 1
    # public transport: at or near a station
    lm = world.landmarks
    stations = np.flatnonzero(lm["kind"].to_numpy() == "station")
    trans = np.flatnonzero(loc == "04")
    st = stations[rng.integers(len(stations), size=len(trans))]
    x[trans] = lm["x"].to_numpy()[st] + rng.normal(0, 25, len(st))
    y[trans] = lm["y"].to_numpy()[st] + rng.normal(0, 25, len(st))
    landmark = np.full(n, None, dtype=object)
    landmark[trans] = lm["name"].to_numpy()[st]
    seg_idx[trans] = cKDTree(seg[["x", "y"]].to_numpy()).query(np.column_stack([x[trans], y[trans]]))[1]

    nights = np.isin(loc, ["01", "02", "04", "05", "99"])
    prof = np.where(nights[:, None], NIGHT_PROFILE / NIGHT_PROFILE.sum(), DAY_PROFILE / DAY_PROFILE.sum())
    hour = (prof.cumsum(axis=1) > rng.random(n)[:, None]).argmax(axis=1)
    assault_at = (_days(rng, n) + np.timedelta64(8, "h") + hour.astype("timedelta64[h]")
                  + rng.integers(0, 60, n).astype("timedelta64[m]"))
    # the night of 31 December ends in the next year: keep every assault inside YEARS
    # (a week earlier keeps its weekday and hour)
    past_end = assault_at >= np.datetime64(f"{YEARS[-1] + 1}-01-01")
    assault_at[past_end] -= np.timedelta64(7, "D")
    delay_min = np.clip(rng.lognormal(np.log(55), 0.8, n), 5, 18 * 60).astype(int)
    arrived_at = assault_at + delay_min.astype("timedelta64[m]")
    method = np.array([_METHODS[rng.choice(len(_METHODS), p=np.array(ED_LOCATIONS[c][1]) / sum(ED_LOCATIONS[c][1]))] for c in loc])
    p_report = np.array([ED_LOCATIONS[c][2] for c in loc]) * np.where(method == "03", 1.5, 1.0)
    reported = rng.random(n) < p_report

    # the attended ED: the nearest, or the second nearest one time in five
    eds = world.ed_sites
    _, near2 = cKDTree(eds[["x", "y"]].to_numpy()).query(np.column_stack([x, y]), k=2)
    ed_idx = np.where(rng.random(n) < 0.8, near2[:, 0], near2[:, 1])
    other = np.where(method == "06", pd.Series(rng.choice(["Bitten", "Pushed down stairs", "Hit with chair", "Dog set on them", "Burnt"], n)), "")
    df = pd.DataFrame({
        "record_id": [f"D{i + 1:07d}" for i in range(n)],
        "site_code": eds["site_code"].to_numpy()[ed_idx],
        "arrival_datetime": arrived_at.astype("datetime64[us]"),
        "assault_datetime": assault_at.astype("datetime64[us]"),
        "assault_method": method,
        "assault_method_other": other,
        "location_type": loc,
        "truth_x": x, "truth_y": y,
        "truth_block_id": seg["block_id"].to_numpy()[seg_idx],
        "truth_premises_id": premises_id,
        "truth_landmark": landmark,
        "reported_to_police": reported,
    })
    df = df.sort_values(["arrival_datetime", "record_id"], kind="stable").reset_index(drop=True)
    df["location_description"], df["truth_described"] = describe(rng, df, world)
    return df


def _police_records(rng, world: World, ed: pd.DataFrame, scale: float) -> pd.DataFrame:
    """police.uk-shaped rows: ED assaults reported to police, then every other crime."""
    seg = world.segments
    reported = ed[ed["reported_to_police"]]
    tree = cKDTree(seg[["x", "y"]].to_numpy())
    _, rep_seg = tree.query(reported[["truth_x", "truth_y"]].to_numpy())
    parts = [pd.DataFrame({
        "seg": rep_seg, "category": POLICE_VIOLENCE,
        "month": reported["assault_datetime"].to_numpy().astype("datetime64[M]"),
        "ed_record_id": reported["record_id"].to_numpy(),
    })]
    n_total = max(1000, int(POLICE_PER_YEAR * len(YEARS) * scale))
    cats = list(POLICE_SHARES)
    counts = rng.multinomial(n_total, np.array([POLICE_SHARES[c] for c in cats]))
    for cat, k in zip(cats, counts):
        if cat == POLICE_VIOLENCE:
            k = max(0, k - len(reported))
        parts.append(pd.DataFrame({
            "seg": _segment_choice(rng, world, k, POLICE_NTE[cat]), "category": cat,
            "month": _days(rng, k).astype("datetime64[M]"), "ed_record_id": None,
        }))
    df = pd.concat(parts, ignore_index=True)
    df = df.sort_values(["month", "category", "seg"], kind="stable").reset_index(drop=True)
    # police.uk publishes anonymised map points: a street's snap point, not the true spot
    df["x"] = seg["x"].to_numpy()[df["seg"]]
    df["y"] = seg["y"].to_numpy()[df["seg"]]
    df["street"] = seg["street"].to_numpy()[df["seg"]]
    df["borough_code"] = seg["borough_code"].to_numpy()[df["seg"]]
    ids = rng.integers(0, 2 ** 63, len(df), dtype=np.int64)
    df["crime_id"] = np.where(df["category"] == "Anti-social behaviour", "", pd.Series(ids).map(lambda v: f"{v:016x}{v % 9973:04x}"))
    df["falls_within"] = np.where(df["borough_code"] == "E09000001", "City of London Police", "Metropolitan Police Service")
    df["location"] = "On or near " + df["street"]
    return df.drop(columns=["seg"])


def generate(scale: float = 0.1, seed: int = 42) -> Demo:
    """The whole synthetic London for a scale and seed (pure: same inputs, same data)."""
    if scale <= 0:
        raise ValueError(f"demo scale must be positive, got {scale}")
    rng = np.random.default_rng(seed)
    world = build_world(rng, scale)
    ed = _ed_records(rng, world, scale)
    police = _police_records(rng, world, ed, scale)
    return Demo(world, ed, police)


def police_uk_csv(police: pd.DataFrame) -> pd.DataFrame:
    """The police rows exactly as a police.uk street-level CSV has them."""
    lat, lon = from_bng(police["x"].to_numpy(), police["y"].to_numpy())
    return pd.DataFrame({
        "Crime ID": police["crime_id"], "Month": pd.to_datetime(police["month"]).dt.strftime("%Y-%m"),
        "Reported by": police["falls_within"], "Falls within": police["falls_within"],
        "Longitude": lon.round(6), "Latitude": lat.round(6), "Location": police["location"],
        "LSOA code": "", "LSOA name": "", "Crime type": police["category"],
        "Last outcome category": "", "Context": "",
    })
