"""Geocoder accuracy and speed on the demo's ground truth.

    python -m bench.geocode [--scale 0.1] [--seed 42] [--density violence|unlinked|none]
                            [--no-location-type] [--ablation] [--misses N]

Generates the synthetic London, builds the gazetteer from what a deployment would have loaded
(premises, street lines, landmarks, town centres, EDs and, for the density prior, the located
police violence), geocodes every ED description with the attending ED and the record's coded
location type as context, and compares with the true location:
- venue: records that name a venue existing in the gazetteer, placed (street or better)
  within 50 m of the truth;
- street: records that give only a street (or a corner), placed within 250 m;
- wrong: confidence street or better but more than 500 m from the truth, as a share of all
  placed records (confidence other than none);
- precision and recall per confidence level (see `confidence_table`);
- descriptions per second (one geocode() call over all records, gazetteer already built).
The default scale (0.1) is quick; the app's default demo is --scale 0.25: report both. With
streets as long as real ones (data/demo/world.py), an oracle that knows the exact street piece
and the true density reaches about 83.5 % street-only within 250 m at either scale: that is the
ceiling for the street figure on the demo, before any confidence threshold.
--density unlinked leaves out the police rows that are the demo's ED assaults reported to the
police, to show how much of the prior's gain rests on them; --ablation prints the figures with
and without each idea (density prior, location type).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

# what each truth label should get, and how close "right" is for that level (metres)
EXPECTED = {"venue": "venue", "landmark": "venue", "street": "street", "area": "area",
            "private": "none", "none": "none"}
RIGHT_WITHIN_M = {"venue": 50.0, "landmark": 100.0, "street": 250.0, "area": 2000.0}
WRONG_M = 500.0
PLACED = ("venue", "street")


def distance_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in metres (NaN where either point is missing)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, float)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * np.arcsin(np.sqrt(a))


def evaluate(result: pd.DataFrame, truth: pd.DataFrame, gazetteer_premises: set | None = None) -> dict:
    """Headline figures. result: geocode() output; truth: truth_lat, truth_lon, truth_described,
    truth_premises_id (same row order)."""
    d = distance_m(result["lat"], result["lon"], truth["truth_lat"], truth["truth_lon"])
    conf = result["confidence"].to_numpy(object)
    kind = truth["truth_described"].to_numpy(object)
    strong = np.isin(conf, PLACED)
    venue = kind == "venue"
    if gazetteer_premises is not None:
        venue &= truth["truth_premises_id"].isin(gazetteer_premises).to_numpy()
    street = kind == "street"
    placed = conf != "none"
    wrong = strong & (d > WRONG_M)
    return {
        "records": len(result),
        "venue_records": int(venue.sum()),
        "venue_within_50m": float((strong & (d <= 50))[venue].mean()) if venue.any() else np.nan,
        "venue_within_50m_any_confidence": float((d <= 50)[venue].mean()) if venue.any() else np.nan,
        "street_records": int(street.sum()),
        "street_within_250m": float((strong & (d <= 250))[street].mean()) if street.any() else np.nan,
        "street_within_250m_any_confidence": float((d <= 250)[street].mean()) if street.any() else np.nan,
        "placed": int(placed.sum()),
        "wrong": int(wrong.sum()),
        "wrong_share_of_placed": float(wrong.sum() / max(placed.sum(), 1)),
    }


def confidence_table(result: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Precision and recall per confidence level.

    A record is right at a level when it got that level and, for venue/street/area, lies
    within RIGHT_WITHIN_M of the truth (venue: 50 m for premises, 100 m for landmarks).
    precision = right / records given the level; recall = right / records whose truth calls
    for the level (venue and landmark → venue, street → street, area → area, private and
    none → none).
    """
    d = distance_m(result["lat"], result["lon"], truth["truth_lat"], truth["truth_lon"])
    conf = result["confidence"].to_numpy(object)
    kind = truth["truth_described"].to_numpy(object)
    expected = np.array([EXPECTED.get(k, "none") for k in kind], dtype=object)
    tol = np.array([RIGHT_WITHIN_M.get(k, RIGHT_WITHIN_M.get(c, 0.0)) for k, c in zip(kind, conf)])
    rows = []
    for level in ("venue", "street", "area", "none"):
        given = conf == level
        if level == "none":
            right = given & (expected == "none")
        else:
            level_tol = np.where(expected == level, tol, RIGHT_WITHIN_M["landmark" if level == "venue" else level])
            right = given & (d <= level_tol)
        due = expected == level
        rows.append({"confidence": level, "given": int(given.sum()), "due": int(due.sum()),
                     "precision": right.sum() / given.sum() if given.any() else np.nan,
                     "recall": (right & due).sum() / due.sum() if due.any() else np.nan})
    return pd.DataFrame(rows)


def bench_gazetteer(demo, density: str = "violence"):
    """The demo's gazetteer (as data.demo.build.demo_gazetteer) with the density prior's located violence."""
    from data.demo.build import _wgs84, located_violence
    from data.demo.world import to_latlon
    from data.geocode.match import Gazetteer

    w = demo.world
    segments = to_latlon(w.segments)
    located = None if density == "none" else located_violence(demo, linked=density != "unlinked")
    return Gazetteer.build(to_latlon(w.premises), segments[["street", "borough_code", "lat", "lon", "length_m"]],
                           to_latlon(w.landmarks), to_latlon(w.centres), ed_sites=to_latlon(w.ed_sites),
                           street_lines=_wgs84(w.segments["geom"].to_numpy()), located=located)


def run(scale: float, seed: int, misses: int = 0, density: str = "violence", location_type: bool = True,
        demo=None) -> dict:
    from data.demo.generate import generate
    from data.geocode.match import geocode
    from layers.blocks import from_bng

    t0 = time.perf_counter()
    demo = demo if demo is not None else generate(scale, seed)
    t1 = time.perf_counter()
    gaz = bench_gazetteer(demo, density)
    t2 = time.perf_counter()
    ed = demo.ed
    eds = demo.world.ed_sites.set_index("site_code")
    near_lat, near_lon = from_bng(eds["x"].reindex(ed["site_code"]).to_numpy(), eds["y"].reindex(ed["site_code"]).to_numpy())
    texts = ed["location_description"].tolist()
    codes = ed["location_type"].tolist() if location_type else None
    t3 = time.perf_counter()
    result = geocode(gaz, texts, near_lat, near_lon, codes)
    t4 = time.perf_counter()
    tlat, tlon = from_bng(ed["truth_x"].to_numpy(), ed["truth_y"].to_numpy())
    truth = pd.DataFrame({"truth_lat": tlat, "truth_lon": tlon, "truth_described": ed["truth_described"].to_numpy(),
                          "truth_premises_id": ed["truth_premises_id"].to_numpy()})
    figures = evaluate(result, truth, set(demo.world.premises["premises_id"]))
    figures.update(scale=scale, seed=seed, generate_s=t1 - t0, gazetteer_s=t2 - t1, geocode_s=t4 - t3,
                   per_second=len(texts) / (t4 - t3), density=density, location_type=location_type)
    table = confidence_table(result, truth)
    if misses:
        d = distance_m(result["lat"], result["lon"], tlat, tlon)
        show = pd.DataFrame({"text": texts, "truth": truth["truth_described"], "conf": result["confidence"],
                             "matched": result["matched"], "method": result["method"], "score": result["score"],
                             "d_m": d.round()})
        bad = show[(show["truth"].isin(["venue", "street"]) & ~((show["d_m"] <= 250) & show["conf"].isin(PLACED)))
                   | (show["conf"].isin(PLACED) & (show["d_m"] > WRONG_M))]
        print(bad.sample(min(misses, len(bad)), random_state=0).to_string())
        print(show.groupby(["truth", "conf"]).size().unstack(fill_value=0))
    return {"figures": figures, "table": table, "demo": demo}


def ablation(scale: float, seed: int) -> pd.DataFrame:
    """Headline figures without and with each idea, on one generated demo."""
    from data.demo.generate import generate

    demo = generate(scale, seed)
    rows = []
    for label, density, location_type in (("no density prior, no location type", "none", False),
                                          ("location type only", "none", True),
                                          ("density prior only", "violence", False),
                                          ("density prior without the ED-linked police rows", "unlinked", True),
                                          ("density prior and location type", "violence", True)):
        f = run(scale, seed, density=density, location_type=location_type, demo=demo)["figures"]
        rows.append({"configuration": label, "venue_50m": f["venue_within_50m"], "street_250m": f["street_within_250m"],
                     "wrong": f["wrong_share_of_placed"], "placed": f["placed"]})
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--density", choices=("violence", "unlinked", "none"), default="violence",
                   help="located police violence for the density prior (unlinked: without the ED-linked rows)")
    p.add_argument("--no-location-type", action="store_true", help="ignore the records' coded location type")
    p.add_argument("--ablation", action="store_true", help="figures without and with each idea")
    p.add_argument("--misses", type=int, default=0, help="print this many failed records")
    a = p.parse_args(argv)
    if a.ablation:
        print(ablation(a.scale, a.seed).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        return
    out = run(a.scale, a.seed, a.misses, a.density, not a.no_location_type)
    f = out["figures"]
    print(f"demo scale {f['scale']}, seed {f['seed']}: {f['records']:,} ED descriptions "
          f"(generate {f['generate_s']:.1f}s, gazetteer {f['gazetteer_s']:.1f}s; density prior: {f['density']}, "
          f"location type: {'used' if f['location_type'] else 'ignored'})")
    print(f"venue named, within 50 m (street or better): {f['venue_within_50m']:.1%} of {f['venue_records']:,}"
          f"  [any confidence {f['venue_within_50m_any_confidence']:.1%}]   target >= 90%")
    print(f"street only, within 250 m (street or better): {f['street_within_250m']:.1%} of {f['street_records']:,}"
          f"  [any confidence {f['street_within_250m_any_confidence']:.1%}]   target >= 85%")
    print(f"wrong (street or better, > 500 m): {f['wrong_share_of_placed']:.2%} of {f['placed']:,} placed"
          f"   target <= 2%")
    print(f"speed: {f['per_second']:,.0f} descriptions/s ({f['geocode_s']:.2f}s)   target >= 2,000/s")
    print(out["table"].to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
