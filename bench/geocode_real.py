"""The geocoder on real-style London descriptions against a gazetteer built from real files.

    python -m bench.geocode_real [--baseline HEAD] [--realdata ../shared/realdata] [--misses]

Builds a database the way a deployment does (`flask --app app load ...`: the 33 boroughs, the
Westminster OpenStreetMap streets, the 2,678 London pubs with licence type pub, and the
hand-made landmarks register tests/data/geocode_real/landmarks.csv), adds the reference ED
sites, builds the gazetteer from the store (`Gazetteer.from_store`, as loads and
`geocode --rerun` do), geocodes tests/data/geocode_real/descriptions.csv with each record's
attending ED and coded location type, and compares with the hand-checked true points:
- counts per confidence level;
- right: placed within 100 m / 250 m of the true point, per true kind (venue, street, area);
- wrong: placed at venue or street confidence more than 500 m from the true point, or placed at
  venue or street confidence at all when the truth is private or no place.
--baseline REF adds a column with data/geocode as at a git revision (the code before a change),
everything else as in the working tree. The real files are not part of the repository
(../shared/realdata, see its README.md); the cases and how their true points were found are in
tests/data/geocode_real/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "data" / "geocode_real"
REAL = ROOT.parent / "shared" / "realdata"
NOW = datetime(2025, 6, 1, 12, 0)
WRONG_M = 500.0
STRONG = ("venue", "street")
KINDS = ("venue", "street", "area", "private", "none")


def distance_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in metres (NaN where either point is missing)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, float)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * np.arcsin(np.sqrt(a))


def real_database(realdata: Path, db: Path, landmarks: Path = CASES / "landmarks.csv") -> Path:
    """A store loaded with the loader from the real files and the landmarks register, plus the reference EDs."""
    from data.geocode.rerun import reference_ed_sites
    from data.ingest.load import load_files
    from data.ingest.report import LoadOptions

    load_files("boroughs", [realdata / "london_boroughs.geojson"], db, now=NOW)
    load_files("streets", [realdata / "westminster_streets_osm.geojson"], db, now=NOW)
    load_files("premises", [realdata / "london_pubs.csv"], db, LoadOptions(licence_type="pub"), now=NOW)
    load_files("landmarks", [landmarks], db, now=NOW)
    con = duckdb.connect(str(db))
    try:  # ED sites reach a real store with the first ISTV load; add the reference list directly
        sites = reference_ed_sites()
        con.register("_sites", sites)
        con.execute("INSERT INTO ed_sites (site_code, name, lat, lon) SELECT site_code, name, lat, lon FROM _sites")
        con.unregister("_sites")
    finally:
        con.close()
    return db


def real_gazetteer(realdata: Path = REAL, workdir: Path | None = None, landmarks: Path = CASES / "landmarks.csv"):
    """The gazetteer of a store built from the real files (see `real_database`)."""
    from data.geocode.match import Gazetteer

    with tempfile.TemporaryDirectory() as tmp:
        db = real_database(Path(realdata), Path(workdir or tmp) / "real.duckdb", landmarks)
        con = duckdb.connect(str(db), read_only=True)
        try:
            return Gazetteer.from_store(con)
        finally:
            con.close()


def read_cases(path: Path = CASES / "descriptions.csv") -> pd.DataFrame:
    cases = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in ("true_lat", "true_lon"):
        cases[col] = pd.to_numeric(cases[col].replace("", np.nan))
    return cases


def run_cases(gaz, cases: pd.DataFrame) -> pd.DataFrame:
    """geocode() every case with its attending ED and location type; the cases with the result and distance."""
    from data.geocode.match import geocode
    from data.geocode.rerun import reference_ed_sites

    sites = reference_ed_sites().set_index("site_code")
    near = sites.reindex(cases["site_code"])
    out = geocode(gaz, cases["description"].tolist(), near["lat"].to_numpy(), near["lon"].to_numpy(),
                  cases["location_type"].tolist())
    res = pd.concat([cases.reset_index(drop=True), out], axis=1)
    res["d_m"] = distance_m(res["lat"], res["lon"], res["true_lat"], res["true_lon"])
    return res


def wrong(res: pd.DataFrame) -> pd.Series:
    """Placed at venue or street confidence more than WRONG_M from the truth, or where there is no place."""
    strong = res["confidence"].isin(STRONG)
    no_truth = res["true_lat"].isna()
    return strong & (no_truth | (res["d_m"] > WRONG_M))


def table(res: pd.DataFrame) -> dict:
    """The figures of one run."""
    f = {"descriptions": len(res)}
    for c in ("venue", "street", "area", "none"):
        f[f"given {c}"] = int((res["confidence"] == c).sum())
    placed = res["confidence"] != "none"
    for k in ("venue", "street", "area"):
        due = res["true_kind"] == k
        f[f"true {k}"] = int(due.sum())
        for m in (100, 250):
            f[f"true {k} within {m} m"] = int((due & placed & (res["d_m"] <= m)).sum())
    absent = res["true_kind"].isin(["private", "none"])
    f["true private or no place"] = int(absent.sum())
    f["private or no place, placed"] = int((absent & placed).sum())
    f["wrong"] = int(wrong(res).sum())
    return f


def format_table(columns: dict[str, dict]) -> str:
    """A Markdown table of the figures of one or more runs (column name → `table` figures)."""
    names = list(columns)
    first = columns[names[0]]
    rows = [f"| | {' | '.join(names)} |", "|---|" + "---|" * len(names)]

    def cell(f, key, of=None, digits=0):
        n = f[key]
        return f"{n} ({n / max(f[of], 1):.{digits}%})" if of else f"{n}"
    rows.append(f"| descriptions | {' | '.join(cell(columns[c], 'descriptions') for c in names)} |")
    for conf in ("venue", "street", "area", "none"):
        rows.append(f"| given {conf} confidence | {' | '.join(cell(columns[c], 'given ' + conf) for c in names)} |")
    for k in ("venue", "street", "area"):
        for m in (100, 250):
            rows.append(f"| true {k} ({first['true ' + k]}), placed within {m} m | "
                        f"{' | '.join(cell(columns[c], f'true {k} within {m} m', 'true ' + k) for c in names)} |")
    rows.append(f"| private or no place ({first['true private or no place']}), placed | "
                f"{' | '.join(cell(columns[c], 'private or no place, placed') for c in names)} |")
    rows.append(f"| **wrong**: venue or street confidence > {WRONG_M:.0f} m off, or where there is no place | "
                f"{' | '.join(cell(columns[c], 'wrong', 'descriptions', 1) for c in names)} |")
    return "\n".join(rows)


def baseline_figures(ref: str, realdata: Path, cases: Path) -> dict:
    """The figures with data/geocode as at git revision `ref` (everything else as in the working tree).

    The working tree's `data` package is copied to a temporary folder, its data/geocode replaced by
    the files at `ref`, and this script run there in a subprocess.
    """
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "data", Path(tmp) / "data", ignore=shutil.ignore_patterns("*.duckdb*", "__pycache__"))
        geo = Path(tmp) / "data" / "geocode"
        shutil.rmtree(geo)
        geo.mkdir()
        names = subprocess.run(["git", "ls-tree", "--name-only", ref, "data/geocode/"], cwd=ROOT, check=True,
                               capture_output=True, text=True).stdout.split()
        for name in names:
            text = subprocess.run(["git", "show", f"{ref}:{name}"], cwd=ROOT, check=True, capture_output=True).stdout
            (Path(tmp) / name).write_bytes(text)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([tmp, str(ROOT)])}
        out = subprocess.run([sys.executable, "-m", "bench.geocode_real", "--json", "--realdata", str(realdata),
                              "--cases", str(cases)], cwd=tmp, env=env, check=True, capture_output=True, text=True)
        return json.loads(out.stdout)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--realdata", type=Path, default=REAL)
    p.add_argument("--cases", type=Path, default=CASES / "descriptions.csv")
    p.add_argument("--baseline", metavar="REF", help="also run data/geocode as at this git revision (e.g. HEAD)")
    p.add_argument("--misses", action="store_true", help="print every description not placed within 250 m")
    p.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if not (a.realdata / "london_pubs.csv").is_file():
        raise SystemExit(f"real data samples not found at {a.realdata}")
    res = run_cases(real_gazetteer(a.realdata), read_cases(a.cases))
    if a.json:
        print(json.dumps(table(res)))
        return
    columns = {}
    if a.baseline:
        columns[f"data/geocode at {a.baseline}"] = baseline_figures(a.baseline, a.realdata, a.cases)
    columns["working tree"] = table(res)
    print(format_table(columns))
    if a.misses:
        show = res[wrong(res) | ~((res["d_m"] <= 250) | (res["true_lat"].isna() & (res["confidence"] == "none")))]
        cols = ["id", "description", "true_kind", "confidence", "matched", "method", "d_m"]
        with pd.option_context("display.width", 250, "display.max_colwidth", 60, "display.max_rows", 500):
            print(show[cols].round({"d_m": 0}).to_string(index=False))


if __name__ == "__main__":
    main()
