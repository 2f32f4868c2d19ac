"""ED assault submissions (ISTV minimum data set, CSV or XML) → incidents (source 'ed').

Rows are checked against the standard (data/ingest/schema.py ISTV_ED) plus the rules between fields:
the reporting period runs forwards, an assault is not after the arrival it caused, neither is
after the reporting period, and nothing is in the future. Good rows are geocoded from their
free-text location against what the store holds (premises, streets, landmarks, areas),
preferring places near the attending ED, and what the geocoder matched is kept per record in
geocode_matches. Home or private locations are never geocoded.

A record's identity is its content. The optional record_id (unique within a site's submissions)
de-duplicates re-submissions: a record whose site and record_id are stored already, with other
values, replaces the stored one ("replaced N"); a row repeating the record_id of an earlier row
of the same file with other values is quarantined; exact repeats of a row are reported.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data import reference
from data.geocode.match import Gazetteer, geocode
from data.ingest.points import insert_incidents
from data.ingest.read import gunzipped, map_columns, open_csv, read_csv_table
from data.ingest.report import FileReport, LoadContext
from data.ingest.rules import Check, check_rows, field_checks, good_rows_sql, identity_sql
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
HAS_ID = "r_record_id IS NOT NULL"
# over _raw: where an earlier row of the file has the same site and record_id, the first such
# row's line and whether this row's values differ from it
_SAME_ID = "PARTITION BY upper(r.r_site_code), r.r_record_id ORDER BY r._line"
_VALUES = "md5(concat_ws(chr(31), " + ", ".join(f"coalesce(r.r_{f}, '')" for f in (
    "arrival_datetime", "assault_datetime", "assault_method", "assault_method_other", "assault_location_type",
    "assault_location_description")) + "))"
RECORD_ID_EXTRA = (f"first_value(r._line) OVER ({_SAME_ID}) AS _id_first_line",
                   f"first_value({_VALUES}) OVER ({_SAME_ID}) <> {_VALUES} AS _id_differs")


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
        Check("record_id repeats an earlier row of this file with other values (a record_id names one record "
              "of the site)", "record_id", "r_record_id IS NOT NULL AND _id_differs",
              "r_record_id || ' (line ' || _id_first_line || ' has it)'"),
    ]


def _defaults(ctx: LoadContext) -> dict[str, str]:
    o = ctx.options
    values = {"site_code": o.site, "reporting_period_start": o.period_start and o.period_start.isoformat(),
              "reporting_period_end": o.period_end and o.period_end.isoformat()}
    return {k: v for k, v in values.items() if v}


def _read(ctx: LoadContext, path: Path, defaults: dict[str, str]):
    is_xml(path)  # a missing or unreadable file is named as given
    source = gunzipped(path, ctx.workdir)
    if is_xml(source):
        return read_istv_xml(ctx.con, source, FMT, supplied=set(defaults), defaults=defaults, name=path)
    text = open_csv(source, ctx.workdir, name=path)
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
    report.quarantined = check_rows(con, FMT, field_checks(FMT) + cross_checks(), cols, raw, ctx.load_id, str(path),
                                    extra=RECORD_ID_EXTRA)
    good = scalar(con, "SELECT count(*) FROM _judged WHERE _fail IS NULL")
    # the submission this file is: its site and reporting period (the most common, should rows disagree)
    report.site_code, report.period_start, report.period_end = con.execute(
        """SELECT mode(upper(site_code)), mode(reporting_period_start), mode(reporting_period_end)
           FROM _judged""").fetchone()
    report.sites = tuple(r[0] for r in con.execute(
        "SELECT DISTINCT upper(site_code) FROM _judged WHERE _fail IS NULL AND site_code IS NOT NULL ORDER BY 1").fetchall())
    repeated = _exact_repeats(con, report)
    if not ctx.write:
        report.duplicates = repeated
        report.rows_loaded = good - repeated
        progress.step(str(path), "checked", STAGES, STAGES, report.rows_read)
        return report
    con.execute(f"CREATE OR REPLACE TEMP TABLE _good AS {good_rows_sql(IDENTITY, KEEP, unique=HAS_ID)}")
    # only rows not loaded before are geocoded: re-submissions cost nothing
    rows = con.execute("""SELECT g._line, g.record_hash, upper(g.site_code) AS site_code, g.assault_location_type,
                                 g.r_assault_location_description AS description
                          FROM _good g ANTI JOIN incidents i ON i.record_hash = g.record_hash ORDER BY g._line""").df()
    # stored records of the same site and record_id that a new row replaces (a re-submission)
    replaced = con.execute("""SELECT DISTINCT i.incident_id, g._line FROM _good g
                              JOIN incidents i ON i.source = 'ed' AND i.ed_site = upper(g.site_code)
                                              AND i.source_id = g.r_record_id
                              WHERE g.r_record_id IS NOT NULL AND i.record_hash <> g.record_hash
                                AND g.record_hash NOT IN (SELECT record_hash FROM incidents)""").df()
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
    con.execute("""INSERT OR REPLACE INTO geocode_matches (incident_id, matched, method, score)
                   SELECT i.incident_id, l.matched, l.method, l.score
                   FROM incidents i JOIN _good g ON g.record_hash = i.record_hash JOIN _located l ON l._line = g._line
                   WHERE i.load_id = ?""", [ctx.load_id])
    con.unregister("_located")
    if len(replaced):
        con.register("_replaced", replaced)
        con.execute("DELETE FROM geocode_matches WHERE incident_id IN (SELECT incident_id FROM _replaced)")
        con.execute("DELETE FROM incidents WHERE incident_id IN (SELECT incident_id FROM _replaced)")
        con.unregister("_replaced")
        report.replaced = int(replaced["_line"].nunique())
        report.notes.append(f"replaced {report.replaced:,} record(s) stored before with the same site and record_id "
                            "(a re-submission replaces the earlier record)")
    report.rows_loaded = added.get(ctx.load_id, 0)
    report.duplicates = good - report.rows_loaded
    progress.step(str(path), "stored", STAGES, STAGES, report.rows_read)
    return report


def _exact_repeats(con, report: FileReport) -> int:
    """Report good rows that repeat an earlier row of the file exactly; returns those a load stores once (with a record_id)."""
    h = identity_sql(IDENTITY)
    rows = con.execute(f"""SELECT _line, r_record_id IS NOT NULL AS has_id FROM (
                               SELECT _line, r_record_id, row_number() OVER (PARTITION BY {h} ORDER BY _line) AS n
                               FROM _judged WHERE _fail IS NULL) WHERE n > 1 ORDER BY _line""").fetchall()
    if not rows:
        return 0
    with_id = [line for line, has_id in rows if has_id]
    without = [line for line, has_id in rows if not has_id]

    def lines(ls):
        return ", ".join(str(x) for x in ls[:10]) + (" ..." if len(ls) > 10 else "")
    if with_id:
        report.warnings.append(f"{len(with_id):,} row(s) repeat an earlier row of the file exactly, record_id included "
                               f"(line {lines(with_id)}): one record each, stored once")
    if without:
        report.warnings.append(f"{len(without):,} row(s) repeat an earlier row of the file exactly and have no record_id "
                               f"(line {lines(without)}): kept as separate attendances; check the submission, and give "
                               "records a record_id so that repeats can be told apart")
    return len(with_id)


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
    # rows never geocoded: a home (never mapped) or no description
    private = (rows["assault_location_type"] == PRIVATE_LOCATION).to_numpy()
    matched = np.where(private, "private", "unknown").astype(object)
    method = np.full(len(rows), "absent", dtype=object)
    score = np.zeros(len(rows))
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
            matched[part] = out["matched"].to_numpy(object)
            method[part] = out["method"].to_numpy(object)
            score[part] = out["score"].to_numpy(float)
            ctx.progress.step(file, f"geocoding {min(start + GEOCODE_BATCH, len(todo)):,}/{len(todo):,}", 3, STAGES)
    located = pd.DataFrame({"_line": rows["_line"].to_numpy(np.int64), "lat": lat, "lon": lon,
                            "confidence": pd.Series(confidence, dtype=object), "matched": pd.Series(matched, dtype=object),
                            "method": pd.Series(method, dtype=object), "score": score})
    keys = ctx.geo.keys(lat, lon)
    located = located.merge(keys, on=["lat", "lon"], how="left")
    located["borough_code"] = located["borough_code"].astype(object).where(located["borough_code"].notna(), None)
    placed = int(np.isfinite(lat).sum())
    if len(rows):
        report.notes.append(f"geocoded {placed:,} of {len(rows):,} new records ({placed / len(rows):.0%}); "
                            f"{int((rows['assault_location_type'] == PRIVATE_LOCATION).sum()):,} at home or a private address are never mapped")
    return located
