"""ED assault submissions (ISTV minimum data set, CSV or XML) → incidents (source 'ed').

Rows are checked against the standard (data/ingest/schema.py ISTV_ED) plus the rules between fields:
the reporting period runs forwards, an assault is not after the arrival it caused, neither is
after the reporting period, and nothing is in the future. Good rows are geocoded from their
free-text location against what the store holds (premises, streets, landmarks, areas),
preferring places near the attending ED. Home or private locations are never geocoded.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data import reference
from data.geocode.match import Gazetteer, geocode
from data.ingest.points import insert_incidents
from data.ingest.read import map_columns, open_csv, read_csv_table
from data.ingest.report import FileReport, LoadContext
from data.ingest.rules import Check, check_rows, field_checks, good_rows_sql
from data.ingest.istv_xml import is_xml, read_istv_xml
from data.ingest.schema import ISTV_ED, LOCATION_TYPES
from data.store.db import scalar

FMT = ISTV_ED
PRIVATE_LOCATION = next(c.code for c in LOCATION_TYPES if c.label.startswith("Home"))
IDENTITY = ["upper(site_code)", "arrival_datetime", "assault_datetime", "assault_method", "r_assault_method_other",
            "assault_location_type", "r_assault_location_description", "r_record_id"]
KEEP = ["site_code", "arrival_datetime", "assault_datetime", "assault_method", "assault_location_type",
        "r_assault_location_description", "r_record_id"]
GEOCODE_BATCH = 2000
STAGES = 5


def cross_checks() -> list[Check]:
    """Rules between fields, after every field passed its own rules."""
    return [
        Check("reporting period ends before it starts", "reporting_period_end",
              "reporting_period_end < reporting_period_start",
              "r_reporting_period_start || ' to ' || r_reporting_period_end"),
        Check("assault after arrival at the ED", "assault_datetime", "assault_datetime > arrival_datetime",
              "r_assault_datetime || ' (arrival ' || r_arrival_datetime || ')'"),
        Check("arrival after the end of the reporting period", "arrival_datetime",
              "arrival_datetime >= reporting_period_end + INTERVAL 1 DAY",
              "r_arrival_datetime || ' (period ends ' || r_reporting_period_end || ')'"),
        Check("assault after the end of the reporting period", "assault_datetime",
              "assault_datetime >= reporting_period_end + INTERVAL 1 DAY",
              "r_assault_datetime || ' (period ends ' || r_reporting_period_end || ')'"),
        Check("assault date in the future", "assault_datetime", "assault_datetime > (SELECT now FROM _clock)"),
        Check("arrival date in the future", "arrival_datetime", "arrival_datetime > (SELECT now FROM _clock)"),
    ]


def _defaults(ctx: LoadContext) -> dict[str, str]:
    o = ctx.options
    values = {"site_code": o.site, "reporting_period_start": o.period_start and o.period_start.isoformat(),
              "reporting_period_end": o.period_end and o.period_end.isoformat()}
    return {k: v for k, v in values.items() if v}


def _read(ctx: LoadContext, path: Path, defaults: dict[str, str]):
    if is_xml(path):
        return read_istv_xml(ctx.con, path, FMT, supplied=set(defaults), defaults=defaults)
    text = open_csv(path, ctx.workdir)
    cols = map_columns(path, FMT, text.header, supplied=set(defaults))
    return cols, read_csv_table(ctx.con, text, FMT, cols, defaults)


def load_istv_file(ctx: LoadContext, path: Path) -> FileReport:
    """Validate one ED submission; unless validating only, geocode and add its good new rows."""
    con, progress = ctx.con, ctx.progress
    report = FileReport("istv", str(path))
    cols, raw = _read(ctx, path, _defaults(ctx))
    report.notes += cols.notes
    report.rows_read = raw.rows + len(raw.rejects)
    progress.step(str(path), f"validating {report.rows_read:,} rows", 1, STAGES)
    con.execute("CREATE OR REPLACE TEMP TABLE _clock AS SELECT ?::TIMESTAMP AS now", [ctx.now])
    report.quarantined = check_rows(con, FMT, field_checks(FMT) + cross_checks(), cols, raw, ctx.load_id, str(path))
    good = scalar(con, "SELECT count(*) FROM _judged WHERE _fail IS NULL")
    if not ctx.write:
        report.rows_loaded = good
        progress.step(str(path), "checked", STAGES, STAGES, report.rows_read)
        return report
    con.execute(f"CREATE OR REPLACE TEMP TABLE _good AS {good_rows_sql(IDENTITY, KEEP)}")
    # only rows not loaded before are geocoded: re-submissions cost nothing
    rows = con.execute("""SELECT g._line, g.record_hash, upper(g.site_code) AS site_code, g.assault_location_type,
                                 g.r_assault_location_description AS description
                          FROM _good g ANTI JOIN incidents i ON i.record_hash = g.record_hash ORDER BY g._line""").df()
    located = _geocode(ctx, rows, report, str(path))
    progress.step(str(path), "storing", 4, STAGES)
    con.register("_located", located)
    added = insert_incidents(con, """
        SELECT g._line AS _id, 'ed' AS source, g.assault_datetime AS occurred_at, 'minute' AS time_precision,
               g.arrival_datetime AS arrived_at, date_trunc('month', g.assault_datetime)::DATE AS month,
               l.borough_code, l.lat, l.lon, l.h3_r7, l.h3_r8, l.h3_r9, l.h3_r10, l.block_id,
               g.assault_method AS category, g.assault_location_type AS location_type,
               g.r_assault_location_description AS location_text, upper(g.site_code) AS ed_site,
               l.confidence AS geocode_confidence, g.record_hash, g.r_record_id AS source_id,
               NULL AS lsoa_code, ?::INTEGER AS load_id
        FROM _good g JOIN _located l USING (_line)""", [ctx.load_id])
    report.rows_loaded = added.get(ctx.load_id, 0)
    con.unregister("_located")
    report.duplicates = good - report.rows_loaded
    progress.step(str(path), "stored", STAGES, STAGES, report.rows_read)
    return report


def _sites(con) -> pd.DataFrame:
    """ED sites with coordinates: the store's, then the reference list of London's Type 1 EDs."""
    stored = con.execute("SELECT site_code, name, borough_code, lat, lon FROM ed_sites").df()
    ref = pd.DataFrame([(s.code, s.name, s.borough_code, s.lat, s.lon) for s in reference.ED_SITES],
                       columns=["site_code", "name", "borough_code", "lat", "lon"])
    return pd.concat([stored, ref[~ref["site_code"].isin(stored["site_code"])]], ignore_index=True)


def _geocode(ctx: LoadContext, rows: pd.DataFrame, report: FileReport, file: str) -> pd.DataFrame:
    """_line, lat, lon, confidence and spatial keys of each row to store."""
    con = ctx.con
    sites = _sites(con).drop_duplicates("site_code").set_index("site_code")
    unknown = sorted(set(rows["site_code"]) - set(sites.index))
    if unknown:
        report.notes.append(f"site code(s) {', '.join(unknown[:5])} not among known ED sites: their records are "
                            "geocoded without preferring places near the ED")
    fresh = sorted(set(rows["site_code"]) & set(sites.index) - set(con.execute("SELECT site_code FROM ed_sites").df()["site_code"]))
    if fresh:
        con.register("_sites", sites.loc[fresh].reset_index())
        con.execute("INSERT INTO ed_sites SELECT site_code, name, borough_code, lat, lon FROM _sites")
        con.unregister("_sites")
    near = sites.reindex(rows["site_code"])
    lat = np.full(len(rows), np.nan)
    lon = np.full(len(rows), np.nan)
    confidence = np.full(len(rows), "none", dtype=object)
    todo = np.flatnonzero((rows["assault_location_type"] != PRIVATE_LOCATION).to_numpy() & rows["description"].notna().to_numpy())
    if len(todo):
        cache = ctx.geo.cache
        if "g" not in cache:
            ctx.progress.step(file, "building the gazetteer", 2, STAGES)
            cache["g"] = Gazetteer.from_store(con)  # as `flask --app app geocode --rerun` builds it
        texts = rows["description"].to_numpy()
        types = rows["assault_location_type"].to_numpy(object)
        for start in range(0, len(todo), GEOCODE_BATCH):
            part = todo[start:start + GEOCODE_BATCH]
            out = geocode(cache["g"], texts[part], near["lat"].to_numpy(float)[part], near["lon"].to_numpy(float)[part],
                          types[part])
            lat[part], lon[part] = out["lat"].to_numpy(float), out["lon"].to_numpy(float)
            confidence[part] = out["confidence"].to_numpy(object)
            ctx.progress.step(file, f"geocoding {min(start + GEOCODE_BATCH, len(todo)):,}/{len(todo):,}", 3, STAGES)
    located = pd.DataFrame({"_line": rows["_line"].to_numpy(np.int64), "lat": lat, "lon": lon,
                            "confidence": pd.Series(confidence, dtype=object)})
    keys = ctx.geo.keys(lat, lon)
    located = located.merge(keys, on=["lat", "lon"], how="left")
    located["borough_code"] = located["borough_code"].astype(object).where(located["borough_code"].notna(), None)
    placed = int(np.isfinite(lat).sum())
    if len(rows):
        report.notes.append(f"geocoded {placed:,} of {len(rows):,} new records ({placed / len(rows):.0%}); "
                            f"{int((rows['assault_location_type'] == PRIVATE_LOCATION).sum()):,} at home or a private address are never mapped")
    return located
