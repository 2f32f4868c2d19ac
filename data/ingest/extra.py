"""Extra incident sources: another agency's incidents (ambulance assault call-outs, violence on the
transport network, ...) in one declared format (schema.EXTRA_INCIDENTS), each source registered by code.

A source is registered once (`flask --app app sources add las --name ... --agency ...`), then its files
load with `flask --app app load incidents --source las FILE` or on the Upload page. Rows need a date and
time (precision 'minute') or at least a month ('month': counted like police.uk months), and coordinates
(placed as given, like police.uk map points: 'street') or a location description, which the ED
geocoder places. A row whose incident_id is stored for the source with other values replaces it.
"""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from data.errors import InputFileError
from data.geocode.match import Gazetteer, geocode
from data.ingest.points import insert_incidents, register_keys
from data.ingest.read import gunzipped, map_columns, open_csv, read_csv_table
from data.ingest.report import FileReport, LoadContext
from data.ingest.rules import Check, bbox_rule, check_rows, field_checks, good_rows_sql
from data.ingest.schema import EXTRA_INCIDENTS, LONDON_BBOX
from data.store.db import scalar

FMT = EXTRA_INCIDENTS
BUILT_IN = ("ed", "police")
CODE = re.compile(r"^[a-z][a-z0-9_]{1,19}$")
VALUES = ["incident_id", "datetime", "month", "lat", "lon", "r_location", "category", "r_severity"]
_SAME_ID = "PARTITION BY r.r_incident_id ORDER BY r._line"
_RAW = "md5(concat_ws(chr(31), " + ", ".join(f"coalesce(r.r_{f}, '')" for f in (
    "datetime", "month", "lat", "lon", "location", "category", "severity")) + "))"
ID_EXTRA = (f"first_value(r._line) OVER ({_SAME_ID}) AS _id_first_line",
            f"first_value({_RAW}) OVER ({_SAME_ID}) <> {_RAW} AS _id_differs")
KEEP = ["incident_id", "datetime", "month", "lat", "lon", "r_location", "category", "r_severity"]
STAGES = 4


def check_code(code: str) -> str:
    """A source code as stored: lower case letters, digits and _, 2 to 20 characters, not a built-in one."""
    code = (code or "").strip().lower()
    if not CODE.match(code):
        raise ValueError(f"source code {code!r}: expected 2 to 20 lower-case letters, digits or _, starting with a letter")
    if code in BUILT_IN:
        raise ValueError(f"source code {code!r} is built in (ED and police.uk files have their own loaders)")
    return code


def register_source(con, code: str, name: str, agency: str, description: str, now: datetime) -> bool:
    """Add or update a source's name, agency and description; True when it is new."""
    code = check_code(code)
    if not (name or "").strip() or not (agency or "").strip():
        raise ValueError("a source needs a name (what its records are) and an agency (who sends them)")
    new = not scalar(con, "SELECT count(*) FROM sources WHERE source = ?", [code])
    con.execute("""INSERT OR REPLACE INTO sources (source, name, agency, description, registered_at)
                   VALUES (?, ?, ?, ?, coalesce((SELECT registered_at FROM sources WHERE source = ?), ?))""",
                [code, name.strip()[:100], agency.strip()[:100], (description or "").strip()[:500], code, now])
    return new


def registered(con) -> pd.DataFrame:
    return con.execute("SELECT source, name, agency, description FROM sources ORDER BY source").df()


def cross_checks() -> list[Check]:
    b = LONDON_BBOX
    return [
        Check("no date: neither a date and time nor a month", "datetime", "datetime IS NULL AND month IS NULL",
              "coalesce(r_datetime, r_month, '')"),
        Check("only one of latitude and longitude", "lat", "(lat IS NULL) <> (lon IS NULL)",
              "concat_ws(', ', r_lat, r_lon)"),
        Check("no place: neither coordinates nor a location description", "location",
              "lat IS NULL AND lon IS NULL AND r_location IS NULL", "''"),
        Check("date in the future", "datetime", "coalesce(datetime, month) > (SELECT now FROM _clock)",
              "coalesce(r_datetime, r_month)"),
        Check(bbox_rule(), "lat", f"lat IS NOT NULL AND NOT (lat BETWEEN {b['lat_min']} AND {b['lat_max']} "
                                  f"AND lon BETWEEN {b['lon_min']} AND {b['lon_max']})", "r_lat || ', ' || r_lon"),
    ]


def load_extra_file(ctx: LoadContext, path: Path) -> FileReport:
    """Validate one file of an extra source; unless validating only, place and add its good new rows."""
    con, progress = ctx.con, ctx.progress
    source = ctx.options.source
    report = FileReport("incidents", str(path))
    if not source:
        raise InputFileError(path, "which source is this file? Give its code (--source, or choose it on the Upload page)")
    code = check_code(source)
    if ctx.write and not scalar(con, "SELECT count(*) FROM sources WHERE source = ?", [code]):
        raise InputFileError(path, f"source {code!r} is not registered: register it first with "
                                   f"`flask --app app sources add {code} --name NAME --agency AGENCY`")
    report.notes.append(f"source {code}")
    text = open_csv(gunzipped(path, ctx.workdir), ctx.workdir, name=path)
    cols = map_columns(path, FMT, text.header)
    if not ({"datetime", "month"} & set(cols.sources)):
        raise InputFileError(path, "no date column: expected 'datetime' (a date and time) or 'month' (YYYY-MM)")
    if not ({"lat", "location"} & set(cols.sources)):
        raise InputFileError(path, "no place column: expected 'lat' and 'lon', or 'location' (a description)")
    report.notes += cols.notes
    raw = read_csv_table(con, text, FMT, cols)
    report.rows_read = raw.rows + len(raw.rejects)
    progress.step(str(path), f"validating {report.rows_read:,} rows", 1, STAGES)
    con.execute("CREATE OR REPLACE TEMP TABLE _clock AS SELECT ?::TIMESTAMP AS now", [ctx.now])
    checks = [c for c in field_checks(FMT) if not (c.kind == "range" and c.field in ("lat", "lon"))] + cross_checks()
    report.quarantined = check_rows(con, FMT, checks, cols, raw, ctx.load_id, str(path), extra=ID_EXTRA)
    good = scalar(con, "SELECT count(*) FROM _judged WHERE _fail IS NULL")
    if not ctx.write:
        report.rows_loaded = good
        progress.step(str(path), "checked", STAGES, STAGES, report.rows_read)
        return report
    # a record's identity: its source (a checked code, safe as a literal) and its values
    con.execute(f"CREATE OR REPLACE TEMP TABLE _good AS {good_rows_sql([repr(code)] + VALUES, KEEP, unique='true')}")
    rows = con.execute("""SELECT _line, incident_id, record_hash, datetime, month, lat, lon, r_location
                          FROM _good ORDER BY _line""").df()
    replaced = con.execute("""SELECT DISTINCT i.incident_id FROM _good g JOIN incidents i
                              ON i.source = ? AND i.source_id = g.incident_id AND i.record_hash <> g.record_hash
                              WHERE g.record_hash NOT IN (SELECT record_hash FROM incidents)""", [code]).df()
    located = _place(ctx, rows, report, str(path))
    progress.step(str(path), "storing", 3, STAGES)
    con.register("_located", located)
    added = insert_incidents(con, """
        SELECT g._line AS _id, ? AS source, coalesce(g.datetime, g.month::TIMESTAMP) AS occurred_at,
               CASE WHEN g.datetime IS NULL THEN 'month' ELSE 'minute' END AS time_precision, NULL AS arrived_at,
               date_trunc('month', coalesce(g.datetime, g.month::TIMESTAMP))::DATE AS month,
               l.borough_code, l.lat, l.lon, l.h3_r7, l.h3_r8, l.h3_r9, l.h3_r10, l.block_id,
               g.category, NULL AS location_type, g.r_location AS location_text, NULL AS ed_site,
               l.confidence AS geocode_confidence, g.record_hash, g.incident_id AS source_id,
               NULL AS lsoa_code, ?::INTEGER AS load_id
        FROM _good g JOIN _located l USING (_line)""", [code, ctx.load_id])
    con.unregister("_located")
    con.execute("""UPDATE incidents SET severity = g.r_severity FROM _good g
                   WHERE incidents.record_hash = g.record_hash AND incidents.load_id = ?""", [ctx.load_id])
    if len(replaced):
        con.register("_replaced", replaced)
        con.execute("DELETE FROM incidents WHERE incident_id IN (SELECT incident_id FROM _replaced)")
        con.unregister("_replaced")
        report.replaced = len(replaced)
        report.notes.append(f"replaced {report.replaced:,} incident(s) stored before with the same incident_id")
    report.rows_loaded = added.get(ctx.load_id, 0)
    report.duplicates = good - report.rows_loaded
    progress.step(str(path), "stored", STAGES, STAGES, report.rows_read)
    return report


def _place(ctx: LoadContext, rows: pd.DataFrame, report: FileReport, file: str) -> pd.DataFrame:
    """_line, lat, lon, confidence and spatial keys: coordinates as given, else the geocoded description."""
    lat, lon = rows["lat"].to_numpy(float).copy(), rows["lon"].to_numpy(float).copy()
    confidence = np.where(np.isfinite(lat), "street", "none").astype(object)
    todo = np.flatnonzero(~np.isfinite(lat) & rows["r_location"].notna().to_numpy())
    if len(todo):
        if "g" not in ctx.geo.cache:
            ctx.progress.step(file, "building the gazetteer", 2, STAGES)
            ctx.geo.cache["g"] = Gazetteer.from_store(ctx.con)
        out = geocode(ctx.geo.cache["g"], rows["r_location"].to_numpy()[todo])
        lat[todo], lon[todo] = out["lat"].to_numpy(float), out["lon"].to_numpy(float)
        confidence[todo] = out["confidence"].to_numpy(object)
        placed = int(np.isfinite(out["lat"].to_numpy(float)).sum())
        report.notes.append(f"geocoded {placed:,} of {len(todo):,} incidents given by description ({placed / len(todo):.0%})")
    located = pd.DataFrame({"_line": rows["_line"].to_numpy(np.int64), "lat": lat, "lon": lon,
                            "confidence": pd.Series(confidence, dtype=object)})
    located = located.merge(ctx.geo.keys(lat, lon), on=["lat", "lon"], how="left")
    located["borough_code"] = located["borough_code"].astype(object).where(located["borough_code"].notna(), None)
    return located
