"""Build the demo database: generate, geocode, locate and store the synthetic London."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import shapely

from data.store import db as store
from data.demo.generate import Demo, generate
from data.demo.world import to_latlon
from data.ingest.enrich import borough_of_points, locate, record_hash
from data.geocode.match import Gazetteer, geocode
from layers.blocks import DEFAULT_MAX_DISTANCE_M, BlockIndex, from_bng
from data.ingest.schema import POLICE_VIOLENCE
from data.ingest.load import NIL_FILE, NIL_RETURN

DEMO_TRUTH_DDL = """
CREATE TABLE demo_truth (
    incident_id BIGINT, record_id VARCHAR, truth_lat DOUBLE, truth_lon DOUBLE, truth_block_id INTEGER,
    truth_premises_id VARCHAR, truth_landmark VARCHAR, truth_described VARCHAR,
    reported_to_police BOOLEAN, police_incident_id BIGINT)
"""


def _wgs84(geoms) -> np.ndarray:
    def flip(xy):
        lat, lon = from_bng(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])
    return shapely.transform(np.asarray(geoms, dtype=object), flip)


def located_violence(demo: Demo, linked: bool = True) -> pd.DataFrame:
    """The demo's police violence as police.uk gives it: lat, lon (6 decimals) and "On or near <street>".

    What a deployment has loaded before its ED files; the geocoder's density prior reads it.
    linked=False leaves out the crimes that are the demo's ED assaults reported to the police.
    """
    p = demo.police[demo.police["category"] == POLICE_VIOLENCE]
    if not linked:
        p = p[p["ed_record_id"].isna()]
    lat, lon = from_bng(p["x"].to_numpy(), p["y"].to_numpy())
    return pd.DataFrame({"lat": lat.round(6), "lon": lon.round(6), "street": p["location"].to_numpy()})


def demo_gazetteer(demo: Demo, lines_wgs=None, located: pd.DataFrame | None = None) -> Gazetteer:
    """The geocoder's gazetteer of a generated demo: premises, street lines, landmarks, town centres,
    EDs, and located police violence (the density prior; pass an empty frame to leave it out)."""
    w = demo.world
    segments = to_latlon(w.segments)
    if lines_wgs is None:
        lines_wgs = _wgs84(segments["geom"].to_numpy())
    if located is None:
        located = located_violence(demo)
    return Gazetteer.build(to_latlon(w.premises), segments[["street", "borough_code", "lat", "lon", "length_m"]],
                           to_latlon(w.landmarks), to_latlon(w.centres), ed_sites=to_latlon(w.ed_sites),
                           street_lines=lines_wgs, located=located if len(located) else None)


def demo_tables(demo: Demo, max_distance_m: float = DEFAULT_MAX_DISTANCE_M, progress=lambda msg: None) -> dict[str, pd.DataFrame]:
    """The store's tables for a generated demo (pure: no I/O)."""
    w = demo.world
    segments = to_latlon(w.segments)
    lines_wgs = _wgs84(segments["geom"].to_numpy())
    boroughs = w.boroughs.copy()
    boroughs["geom_wgs"] = _wgs84(boroughs["geom"].to_numpy())
    blocks = pd.DataFrame({
        "block_id": segments["block_id"].astype("int32"), "street": segments["street"],
        "borough_code": segments["borough_code"], "node_u": segments["node_u"], "node_v": segments["node_v"],
        "length_m": segments["length_m"], "lat": segments["lat"], "lon": segments["lon"],
        "geom_wkb": shapely.to_wkb(lines_wgs),
    })
    index = BlockIndex(w.segments["geom"].to_numpy(), segments["block_id"].to_numpy())
    premises = to_latlon(w.premises)
    prem_loc = locate(premises["lat"], premises["lon"], index, max_distance_m)
    premises_t = pd.concat([premises[["premises_id", "name", "address", "street", "licence_type", "opens", "closes",
                                      "borough_code", "lat", "lon"]], prem_loc], axis=1)
    eds = to_latlon(w.ed_sites)
    landmarks = to_latlon(w.landmarks)

    progress(f"geocoding {len(demo.ed):,} ED location descriptions")
    gaz = demo_gazetteer(demo, lines_wgs)
    ed = demo.ed
    site_pos = eds.set_index("site_code")[["lat", "lon"]]
    near = site_pos.reindex(ed["site_code"])
    geo = geocode(gaz, ed["location_description"], near["lat"].to_numpy(), near["lon"].to_numpy(),
                  ed["location_type"].to_numpy())
    codes, polys = boroughs["code"].tolist(), boroughs["geom_wgs"].tolist()
    ed_loc = locate(geo["lat"], geo["lon"], index, max_distance_m)
    occurred = pd.to_datetime(ed["assault_datetime"])
    ed_t = pd.DataFrame({
        "incident_id": np.arange(1, len(ed) + 1, dtype=np.int64), "source": "ed",
        "occurred_at": occurred, "time_precision": "minute", "arrived_at": pd.to_datetime(ed["arrival_datetime"]),
        "month": occurred.dt.to_period("M").dt.to_timestamp(), "borough_code": borough_of_points(geo["lat"], geo["lon"], codes, polys),
        "lat": geo["lat"], "lon": geo["lon"],
    })
    ed_t = pd.concat([ed_t, ed_loc], axis=1)
    ed_t["category"] = ed["assault_method"].to_numpy()
    ed_t["location_type"] = ed["location_type"].to_numpy()
    ed_t["location_text"] = ed["location_description"].to_numpy()
    ed_t["ed_site"] = ed["site_code"].to_numpy()
    ed_t["geocode_confidence"] = geo["confidence"].to_numpy()
    ed_t["record_hash"] = record_hash(ed, ["site_code", "arrival_datetime", "assault_datetime", "assault_method", "location_type", "location_description", "record_id"])

    progress(f"locating {len(demo.police):,} police crimes")
    pol = demo.police
    plat, plon = from_bng(pol["x"].to_numpy(), pol["y"].to_numpy())
    # police.uk publishes 6 decimals; store what a real file would give
    plat, plon = plat.round(6), plon.round(6)
    month = pd.to_datetime(pol["month"])
    pol_t = pd.DataFrame({
        "incident_id": np.arange(len(ed) + 1, len(ed) + len(pol) + 1, dtype=np.int64), "source": "police",
        "occurred_at": month, "time_precision": "month", "arrived_at": pd.NaT, "month": month,
        "borough_code": borough_of_points(plat, plon, codes, polys), "lat": plat, "lon": plon,
    })
    pol_t = pd.concat([pol_t, locate(plat, plon, index, max_distance_m)], axis=1)
    pol_t["category"] = pol["category"].to_numpy()
    pol_t["location_type"] = None
    pol_t["location_text"] = pol["location"].to_numpy()
    pol_t["ed_site"] = None
    pol_t["geocode_confidence"] = "street"  # police.uk map points are snapped to streets
    pol_t["record_hash"] = record_hash(pol.assign(lat=plat, lon=plon), ["crime_id", "month", "category", "location", "lat", "lon"])
    log, ed_t["load_id"] = demo_submissions(ed_t)
    amb_t = demo_ambulance(ed, int(ed_t["incident_id"].max() + len(pol_t) + 1) if len(ed_t) else len(pol_t) + 1,
                           index, max_distance_m, codes, polys)
    incidents = pd.concat([ed_t, pol_t, amb_t], ignore_index=True)

    ed_ids = dict(zip(ed["record_id"], ed_t["incident_id"]))
    police_link = pd.Series(pol_t["incident_id"].to_numpy(), index=pol["ed_record_id"].to_numpy())
    police_link = police_link[police_link.index.notna()]
    tlat, tlon = from_bng(ed["truth_x"].to_numpy(), ed["truth_y"].to_numpy())
    truth = pd.DataFrame({
        "incident_id": ed["record_id"].map(ed_ids).to_numpy(), "record_id": ed["record_id"],
        "truth_lat": tlat, "truth_lon": tlon, "truth_block_id": ed["truth_block_id"].astype("int32"),
        "truth_premises_id": ed["truth_premises_id"], "truth_landmark": ed["truth_landmark"],
        "truth_described": ed["truth_described"], "reported_to_police": ed["reported_to_police"],
        "police_incident_id": ed["record_id"].map(police_link).astype("Int64"),
    })
    return {
        "boroughs": pd.DataFrame({"code": boroughs["code"], "name": boroughs["name"],
                                  "population": boroughs["population"].astype("int32"), "lat": boroughs["lat"],
                                  "lon": boroughs["lon"], "geom_wkb": shapely.to_wkb(boroughs["geom_wgs"].to_numpy())}),
        "blocks": blocks,
        # town centres are landmarks of kind town_centre: a deployment's geocoder reads area names from here
        "landmarks": pd.concat([landmarks[["name", "kind", "borough_code", "lat", "lon"]],
                                to_latlon(w.centres).assign(kind="town_centre")[["name", "kind", "borough_code", "lat", "lon"]]],
                               ignore_index=True),
        "ed_sites": eds[["site_code", "name", "borough_code", "lat", "lon"]],
        "premises": premises_t,
        "incidents": incidents.sort_values(["source", "month", "borough_code", "incident_id"]).reset_index(drop=True),
        "demo_truth": truth,
        "load_log": log,
        "sources": pd.DataFrame([{**AMBULANCE, "registered_at": pd.Timestamp("2023-01-01")}]),
        "geocode_matches": pd.DataFrame({"incident_id": ed_t["incident_id"].to_numpy(), "matched": geo["matched"].to_numpy(),
                                         "method": geo["method"].to_numpy() if "method" in geo else None,
                                         "score": geo["score"].to_numpy(float) if "score" in geo else np.nan}),
    }


AMBULANCE = {"source": "las", "name": "Ambulance assault call-outs", "agency": "London Ambulance Service",
             "description": "Synthetic demo: ambulance call-outs to assaults, about a third of the ED attendances (those "
                            "brought by ambulance) plus call-outs whose patient was not taken to an ED."}
CONVEYED, NOT_CONVEYED = 0.35, 0.12  # shares of ED attendances: brought in by ambulance; treated at the scene


def demo_ambulance(ed: pd.DataFrame, first_id: int, index, max_distance_m: float, codes, polys) -> pd.DataFrame:
    """Ambulance call-outs correlated with the ED attendances: a share of them (called minutes before the
    assault's arrival, at the true place of the assault, coordinates as an ambulance service records them)
    and call-outs near other assaults' places on other days whose patient went to no ED."""
    rng = np.random.default_rng(20250)
    n = len(ed)
    took = np.flatnonzero(rng.random(n) < CONVEYED)
    scene = rng.choice(n, int(n * NOT_CONVEYED), replace=True) if n else np.array([], dtype=int)
    rows = np.concatenate([took, scene])
    if not len(rows):
        return pd.DataFrame()
    x = ed["truth_x"].to_numpy(float)[rows] + rng.normal(0, 15, len(rows))
    y = ed["truth_y"].to_numpy(float)[rows] + rng.normal(0, 15, len(rows))
    lat, lon = from_bng(x, y)
    lat, lon = lat.round(5), lon.round(5)
    when = pd.to_datetime(ed["assault_datetime"]).to_numpy()[rows] + pd.to_timedelta(rng.integers(2, 12, len(rows)), unit="min")
    shift = np.concatenate([np.zeros(len(took)), rng.integers(-20, 21, len(scene))])  # other days, same places
    when = pd.DatetimeIndex(when) + pd.to_timedelta(shift, unit="D")
    method = ed["assault_method"].to_numpy()[rows]
    weapon = np.isin(method, ["03", "05"])
    out = pd.DataFrame({
        "incident_id": np.arange(first_id, first_id + len(rows), dtype=np.int64), "source": AMBULANCE["source"],
        "occurred_at": when, "time_precision": "minute", "arrived_at": pd.NaT,
        "month": when.to_period("M").to_timestamp(), "borough_code": borough_of_points(lat, lon, codes, polys),
        "lat": lat, "lon": lon})
    out = pd.concat([out, locate(lat, lon, index, max_distance_m)], axis=1)
    out["category"] = np.where(weapon, "Assault - stab or gunshot", "Assault")
    out["location_type"] = None
    out["location_text"] = None
    out["ed_site"] = None
    out["geocode_confidence"] = "street"
    out["severity"] = np.where(weapon, "C1", np.where(rng.random(len(rows)) < 0.5, "C2", "C3"))
    out["source_id"] = [f"LAS-D{i:07d}" for i in range(len(rows))]
    out["record_hash"] = record_hash(out, ["source", "source_id", "occurred_at", "lat", "lon"])
    # the demo covers whole years: call-outs moved past its last day are left out (and before its first)
    first, last = pd.to_datetime(ed["assault_datetime"]).min(), pd.to_datetime(ed["assault_datetime"]).max()
    return out[(out["occurred_at"] >= first.normalize()) & (out["occurred_at"] <= last)].reset_index(drop=True)


def demo_submissions(ed: pd.DataFrame, seed: int = 1594) -> tuple[pd.DataFrame, np.ndarray]:
    """The monthly ED files the demo's records would have come in: one per site and month, loaded 2 to 25
    days after the month ended (a few late), for the submission tracker and the data-quality page.

    Returns load_log rows and each ED record's load_id.
    """
    rng = np.random.default_rng(seed)
    keys = pd.DataFrame({"site": ed["ed_site"].to_numpy(), "month": pd.to_datetime(ed["month"]).to_numpy()})
    # every site sends every month, a month without an assault as a nil return (0 rows)
    every = pd.MultiIndex.from_product([sorted(keys["site"].unique()),
                                        pd.date_range(keys["month"].min(), keys["month"].max(), freq="MS")],
                                       names=["site", "month"])
    files = (keys.value_counts().rename("rows").reindex(every, fill_value=0).reset_index()
             .sort_values(["month", "site"], kind="stable").reset_index(drop=True))
    files["load_id"] = np.arange(1, len(files) + 1, dtype=np.int64)
    month_end = files["month"] + pd.offsets.MonthEnd(0)
    delay = np.where(rng.random(len(files)) < 0.1, rng.integers(16, 45, len(files)), rng.integers(2, 15, len(files)))
    log = pd.DataFrame({
        "load_id": files["load_id"].astype("int32"),
        "loaded_at": month_end + pd.to_timedelta(delay, unit="D") + pd.to_timedelta(rng.integers(8 * 60, 18 * 60, len(files)), unit="min"),
        "kind": "istv", "file": [f"demo_{s}_{m:%Y-%m}.csv" if n else NIL_FILE
                                 for s, m, n in zip(files["site"], files["month"], files["rows"])],
        "rows_read": files["rows"], "rows_loaded": files["rows"], "rows_quarantined": 0, "duplicates": 0, "replaced": 0,
        "message": np.where(files["rows"] > 0, "synthetic demo submission", NIL_RETURN), "reasons": "{}",
        "site_code": files["site"],
        "period_start": files["month"].dt.date, "period_end": month_end.dt.date, "loaded_by": "demo"})
    ids = keys.merge(files[["site", "month", "load_id"]], on=["site", "month"], how="left")["load_id"].to_numpy()
    return log, ids


def insert_tables(con, tables: dict[str, pd.DataFrame]) -> None:
    """Append DataFrames to the store's tables by column name."""
    for name, df in tables.items():
        con.register("_frame", df)
        cols = ", ".join(f'"{c}"' for c in df.columns)
        con.execute(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM _frame')  # names are ours, not user input
        con.unregister("_frame")


def build_demo_database(path: Path | str, scale: float, seed: int, *,
                        max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
                        progress: Callable[[str], None] = print) -> dict[str, int]:
    """Generate the demo and write it atomically to `path`; returns rows per table."""
    t0 = time.perf_counter()
    progress(f"building the synthetic London demo (scale {scale}, seed {seed}) ...")
    demo = generate(scale, seed)
    progress(f"generated {len(demo.world.segments):,} street blocks, {len(demo.world.premises):,} premises, "
             f"{len(demo.ed):,} ED assaults, {len(demo.police):,} police crimes ({time.perf_counter() - t0:.1f}s)")
    tables = demo_tables(demo, max_distance_m, progress)

    def fill(con):
        con.execute(DEMO_TRUTH_DDL)  # geocode_matches is part of the store's schema (data/store/db.py)
        insert_tables(con, tables)
        con.execute("INSERT INTO meta VALUES ('demo', ?), ('demo_scale', ?), ('demo_seed', ?)", ["1", str(scale), str(seed)])

    progress(f"writing {path}")
    store.build(path, fill)
    counts = {name: len(df) for name, df in tables.items()}
    progress(f"demo database ready in {time.perf_counter() - t0:.1f}s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return counts
