"""Licensed premises registers and landmark lists → premises and landmarks tables.

Premises are added or replaced by premises_id (a register reloaded next year updates its
rows); `--replace` empties the table first. Coordinates may be WGS84 latitude/longitude or
British National Grid easting/northing; a row with both uses latitude/longitude, and a row
whose latitude/longitude are missing falls back to its easting/northing. Landmarks replace
the whole table on every load.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data.ingest.enrich import borough_of_points
from data.ingest.points import register_keys
from data.ingest.read import map_columns, open_csv, read_csv_table
from data.ingest.report import FileReport, LoadContext
from data.ingest.rules import Check, bbox_rule, check_rows, field_checks, judge, quarantine_file, typed_table
from data.ingest.schema import LANDMARKS, LONDON_BBOX, PREMISES, TableFormat
from data.store.db import scalar
from layers.blocks import from_bng

COORDS = ("lat", "lon", "easting", "northing")


def _read(ctx: LoadContext, path: Path, fmt: TableFormat, defaults: dict[str, str], report: FileReport):
    text = open_csv(path, ctx.workdir)
    cols = map_columns(path, fmt, text.header, supplied=set(defaults))
    if fmt is PREMISES:
        _missing_columns(ctx, cols, report)
    else:
        report.notes += cols.notes
    raw = read_csv_table(ctx.con, text, fmt, cols, defaults)
    report.rows_read = raw.rows + len(raw.rejects)
    return cols, raw


HOURS = {"opens": "opening time", "closes": "closing time"}


def _missing_columns(ctx: LoadContext, cols, report: FileReport) -> None:
    """Warn about a register without licence type or hours columns: pages filter and rank premises by them."""
    report.notes += [n for n in cols.notes if "'licence_type'" not in n]
    hours = [f for f in HOURS if f not in cols.sources]
    if hours:
        names = " and ".join(f"'{f}'" for f in hours)
        report.warnings.append(f"no {names} column{'s' if len(hours) > 1 else ''} (expected "
                               f"{' and '.join(HOURS[f] for f in hours)}, e.g. 23:00): premises are stored without them")
    if "licence_type" not in cols.sources:
        if ctx.options.licence_type:
            report.warnings.append(f"no 'licence_type' column: every premises takes --licence-type {ctx.options.licence_type}")
        else:
            report.warnings.append("no 'licence_type' column: premises are stored without a licence type "
                                   "(pass --licence-type to give them one)")


def _point_columns(con) -> None:
    """Table _typed: view _typed0 plus _plat/_plon, the latitude/longitude or else the easting/northing converted."""
    rows = con.execute("SELECT _line, lat, lon, easting, northing FROM _typed0 ORDER BY _line").df()
    lat, lon = rows["lat"].to_numpy(float), rows["lon"].to_numpy(float)
    e, n = rows["easting"].to_numpy(float), rows["northing"].to_numpy(float)
    use_bng = ~(np.isfinite(lat) & np.isfinite(lon)) & np.isfinite(e) & np.isfinite(n)
    if use_bng.any():
        blat, blon = from_bng(e[use_bng], n[use_bng])
        lat, lon = lat.copy(), lon.copy()
        lat[use_bng], lon[use_bng] = np.round(blat, 6), np.round(blon, 6)
    ok = np.isfinite(lat) & np.isfinite(lon)
    con.register("_points", pd.DataFrame({"_line": rows["_line"].to_numpy(np.int64),
                                          "_plat": np.where(ok, lat, np.nan), "_plon": np.where(ok, lon, np.nan),
                                          "_from_bng": use_bng}))
    con.execute("CREATE OR REPLACE TEMP TABLE _typed AS SELECT t.*, p._plat, p._plon, p._from_bng "
                "FROM _typed0 t JOIN _points p USING (_line) ORDER BY _line")
    con.unregister("_points")


def point_checks() -> list[Check]:
    b = LONDON_BBOX
    return [
        Check("no coordinates (neither latitude/longitude nor easting/northing)", "lat", "_plat IS NULL OR isnan(_plat)",
              "nullif(concat_ws(', ', r_lat, r_lon, r_easting, r_northing), '')"),
        Check(bbox_rule(), "lat",
              f"NOT (_plat BETWEEN {b['lat_min']} AND {b['lat_max']} AND _plon BETWEEN {b['lon_min']} AND {b['lon_max']})",
              "CASE WHEN _from_bng THEN 'easting/northing ' || r_easting || ', ' || r_northing "
              "ELSE r_lat || ', ' || r_lon END"),
    ]


def load_premises_file(ctx: LoadContext, path: Path) -> FileReport:
    """Validate a premises register; unless validating only, add or replace its premises."""
    con = ctx.con
    report = FileReport("premises", str(path))
    defaults = {"licence_type": ctx.options.licence_type} if ctx.options.licence_type else {}
    cols, raw = _read(ctx, path, PREMISES, defaults, report)
    ctx.progress.step(str(path), f"validating {report.rows_read:,} rows", 1, 3)
    typed_table(con, PREMISES, "_typed0", extra=("row_number() OVER (PARTITION BY r_premises_id ORDER BY _line) AS _seq",))
    _point_columns(con)
    checks = [c for c in field_checks(PREMISES) if not (c.kind == "range" and c.field in COORDS)]
    checks += point_checks() + [Check("premises_id repeats an earlier row of this file", "premises_id", "_seq > 1")]
    judge(con, checks)
    report.quarantined = quarantine_file(con, checks, cols, raw, ctx.load_id, str(path))
    good = con.execute("SELECT * FROM _judged WHERE _fail IS NULL ORDER BY _line").df()
    report.rows_loaded = len(good)
    if not ctx.write:
        return report
    keys = ctx.geo.keys(good["_plat"], good["_plon"])
    register_keys(con, "_keys", keys)
    con.register("_good", good[["_line", "_plat", "_plon"]])
    if ctx.options.replace:
        report.notes.append(f"replaced all {scalar(con, 'SELECT count(*) FROM premises'):,} premises stored before")
        con.execute("DELETE FROM premises")
    updated = scalar(con, "SELECT count(*) FROM premises WHERE premises_id IN (SELECT premises_id FROM _judged WHERE _fail IS NULL)")
    if updated:
        report.notes.append(f"{updated:,} premises were already stored: replaced by this file's rows")
    con.execute("DELETE FROM premises WHERE premises_id IN (SELECT premises_id FROM _judged WHERE _fail IS NULL)")
    before = scalar(con, "SELECT count(*) FROM premises")
    con.execute("""INSERT INTO premises (premises_id, name, address, street, licence_type, opens, closes, borough_code,
                                         lat, lon, h3_r7, h3_r8, h3_r9, h3_r10, block_id)
        SELECT j.premises_id, j.name,
               CASE WHEN j.r_postcode IS NULL OR contains(upper(coalesce(j.r_address, '')), upper(j.r_postcode))
                    THEN j.r_address ELSE concat_ws(', ', j.r_address, j.r_postcode) END,
               NULL, j.licence_type, left(j.opens::VARCHAR, 5), left(j.closes::VARCHAR, 5), k.borough_code,
               j._plat, j._plon, k.h3_r7, k.h3_r8, k.h3_r9, k.h3_r10, k.block_id
        FROM _judged j JOIN _keys k ON j._plat = k.lat AND j._plon = k.lon
        WHERE j._fail IS NULL ORDER BY j._line""")
    report.rows_loaded = scalar(con, "SELECT count(*) FROM premises") - before
    con.unregister("_keys")
    con.unregister("_good")
    if scalar(con, "SELECT count(*) FROM premises WHERE licence_type IS NULL"):
        report.notes.append("some premises have no licence type: pass --licence-type to give lists without one a default")
    ctx.progress.step(str(path), "stored", 3, 3, report.rows_read)
    return report


def load_landmarks_file(ctx: LoadContext, path: Path) -> FileReport:
    """Validate a landmarks list (name, kind, lat, lon); unless validating only, replace all landmarks."""
    con = ctx.con
    report = FileReport("landmarks", str(path))
    cols, raw = _read(ctx, path, LANDMARKS, {}, report)
    report.quarantined = check_rows(con, LANDMARKS, field_checks(LANDMARKS), cols, raw, ctx.load_id, str(path))
    good = con.execute("SELECT name, kind, lat, lon FROM _judged WHERE _fail IS NULL ORDER BY _line").df()
    report.rows_loaded = len(good)
    if not ctx.write:
        return report
    good["borough_code"] = borough_of_points(good["lat"], good["lon"], ctx.geo.codes, ctx.geo.polygons)
    report.notes.append(f"replaced {scalar(con, 'SELECT count(*) FROM landmarks'):,} landmarks stored before")
    con.execute("DELETE FROM landmarks")
    con.register("_landmarks", good)
    con.execute("INSERT INTO landmarks (name, kind, borough_code, lat, lon) SELECT name, kind, borough_code, lat, lon FROM _landmarks")
    con.unregister("_landmarks")
    ctx.progress.step(str(path), "stored", 1, 1, report.rows_read)
    return report
