"""police.uk street-level crime CSVs → incidents (source 'police').

Each row becomes one incident dated the first of its month (time_precision 'month'), at its
anonymised map point (geocode_confidence 'street': police.uk snaps points to streets). Rows
without a map point, outside Greater London's bounding area, with an unknown month or crime
type go to the quarantine. Files with the same layout are read, checked and stored together
in a few set-based statements (a year of London is ~1M rows).
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from data.errors import InputFileError
from data.ingest_points import insert_incidents, point_key_table
from data.ingest_read import Columns, TextFile, collect_rejects, csv_scan_sql, line_map, map_columns, open_csv, raw_select
from data.ingest_report import FileReport, LoadContext
from data.ingest_rules import (code_tables, fail_sql, field_checks, field_record_sql, good_rows_sql, quarantine,
                               typed_parts)
from data.schema import POLICE_UK
from data.store import scalar

FMT = POLICE_UK
MISSING = {"lat": "no coordinates (police.uk publishes some crimes without a map point)",
           "lon": "no coordinates (police.uk publishes some crimes without a map point)"}
# Without a crime ID (anti-social behaviour) a row is what it says. Coordinates count as integer
# micro-degrees, since files write "-0.106220" or "-0.10622" for the same point; the outcome is
# left out, since police.uk updates it in later releases.
IDENTITY = ["r_crime_id", "month", "r_reported_by", "r_falls_within", "round(lat * 1e6)::BIGINT",
            "round(lon * 1e6)::BIGINT", "r_location", "r_lsoa_code", "crime_type"]
# A crime ID is police.uk's persistent 64-hex-digit identifier: its first 16 digits already are
# a hash, so it needs no hashing, and a re-published crime stays one crime.
ID_HASH = "CASE WHEN length(r_crime_id) = 64 THEN TRY_CAST('0x' || left(r_crime_id, 16) AS UBIGINT) END"
KEEP = ["month", "lat", "lon", "crime_type", "r_location", "r_crime_id", "r_lsoa_code"]


def open_police_file(ctx: LoadContext, path: Path) -> tuple[TextFile, Columns]:
    """File-level checks of one police.uk file (before any row is read)."""
    text = open_csv(path, ctx.workdir)
    return text, map_columns(path, FMT, text.header)


def load_police_files(ctx: LoadContext, paths: list[Path], load_ids: list[int]) -> list[FileReport]:
    """Validate police.uk files; unless validating only, add their good new rows to incidents."""
    opened = [open_police_file(ctx, Path(p)) for p in paths]
    groups: dict[tuple, list[int]] = {}
    for i, (text, _) in enumerate(opened):
        groups.setdefault((text.delimiter, tuple(text.header)), []).append(i)
    reports = [FileReport("police", str(p)) for p in paths]
    for members in groups.values():
        _load_group(ctx, [(i, opened[i][0], opened[i][1], load_ids[i]) for i in members], reports)
    return reports


def _load_group(ctx: LoadContext, items, reports: list[FileReport]) -> None:
    con, progress = ctx.con, ctx.progress
    label = items[0][1].path if len(items) == 1 else f"{len(items)} files"
    cols = items[0][2]
    progress.step(str(label), "reading and validating", 1, 4)
    scans, params = [], []
    for i, text, _, _ in items:
        sql, p = csv_scan_sql(text, i)
        scans.append(sql)
        params += p
    code_tables(con, FMT)
    typed, joins = typed_parts(FMT)
    checks = field_checks(FMT, missing_rules=MISSING)
    try:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _judged AS
            WITH s AS ({' UNION ALL '.join(scans)}),
                 r AS (SELECT _file, _line, {raw_select(FMT, cols, {})} FROM s),
                 t AS (SELECT r.*, {', '.join(typed)} FROM r {' '.join(joins)})
            SELECT *, {fail_sql(checks)} AS _fail FROM t""", params)
    except duckdb.Error as exc:
        bad = next((t for _, t, _, _ in items if _unreadable(con, t)), items[0][1])
        raise InputFileError(bad.path, f"cannot be read as CSV: {str(exc).splitlines()[0][:200]}") from None
    rejects = {i: collect_rejects(con, i) for i, _, _, _ in items}
    counts = dict(con.execute("SELECT _file, count(*) FROM _judged GROUP BY _file").fetchall())
    for i, bad in rejects.items():
        if len(bad):  # rows after a malformed line sit one line further down
            con.register("_lines", line_map(counts.get(i, 0), bad))
            con.execute("UPDATE _judged SET _line = l._new FROM _lines l WHERE _judged._file = ? AND _judged._line = l._old", [i])
            con.unregister("_lines")
    files = pd.DataFrame({"_file": [i for i, *_ in items], "load_id": [lid for *_, lid in items],
                          "file": [str(t.path) for _, t, _, _ in items]})
    by_file = quarantine(con, checks, cols, files, rejects, (field_record_sql(FMT), []))
    good = dict(con.execute("SELECT _file, count(*) FROM _judged WHERE _fail IS NULL GROUP BY _file").fetchall())
    for i, text, c, load_id in items:
        r = reports[i]
        r.rows_read = counts.get(i, 0) + len(rejects[i])
        r.quarantined = by_file[i]
        r.rows_loaded = good.get(i, 0)
        r.notes += c.notes
    if not ctx.write:
        progress.step(str(label), "checked", 4, 4, sum(reports[i].rows_read for i, *_ in items))
        return
    progress.step(str(label), "locating points", 2, 4)
    point_key_table(con, ctx.geo, "SELECT lat, lon FROM _judged WHERE _fail IS NULL")
    progress.step(str(label), "storing", 3, 4)
    # ids in file order: each file's rows follow the previous file's last line
    offsets = {}
    total = 0
    for i, *_ in items:
        offsets[i] = total
        total += scalar(con, "SELECT coalesce(max(_line), 0) FROM _judged WHERE _file = ?", [i]) + 1
    con.register("_offsets", pd.DataFrame({"_file": list(offsets), "_offset": list(offsets.values()),
                                           "load_id": [lid for *_, lid in items]}))
    added = insert_incidents(con, f"""
        SELECT o._offset + g._line AS _id, 'police' AS source, g.month::TIMESTAMP AS occurred_at,
               'month' AS time_precision, NULL::TIMESTAMP AS arrived_at, g.month, k.borough_code, g.lat, g.lon,
               k.h3_r7, k.h3_r8, k.h3_r9, k.h3_r10, k.block_id, g.crime_type AS category,
               NULL AS location_type, g.r_location AS location_text, NULL AS ed_site,
               'street' AS geocode_confidence, g.record_hash, g.r_crime_id AS source_id,
               g.r_lsoa_code AS lsoa_code, o.load_id
        FROM ({good_rows_sql(IDENTITY, KEEP, given=ID_HASH)}) g
        JOIN _pointkeys k ON g.lat = k.lat AND g.lon = k.lon JOIN _offsets o USING (_file)""")
    con.unregister("_offsets")
    for i, *_, load_id in items:
        r = reports[i]
        r.duplicates = r.rows_loaded - added.get(load_id, 0)
        r.rows_loaded = added.get(load_id, 0)
    _notes(ctx, items, reports)
    progress.step(str(label), "stored", 4, 4, sum(reports[i].rows_read for i, *_ in items))


def _notes(ctx: LoadContext, items, reports: list[FileReport]) -> None:
    geo = ctx.geo
    outside = dict(ctx.con.execute("""SELECT _file, count(*) FROM (SELECT DISTINCT _file, lat, lon FROM _judged
                                      WHERE _fail IS NULL) p JOIN _pointkeys k USING (lat, lon)
                                      WHERE k.borough_code IS NULL GROUP BY _file""").fetchall())
    for i, *_ in items:
        r = reports[i]
        if not geo.codes:
            r.notes.append("no borough boundaries loaded: rows have no borough yet (load boroughs: they are assigned then)")
        elif outside.get(i):
            r.notes.append(f"{outside[i]:,} map point(s) inside the bounding area but outside every borough polygon: "
                           "kept without a borough")
        if geo.blocks is None:
            r.notes.append("no street network loaded: rows have no street block yet (load streets: they are assigned then)")


def _unreadable(con, text: TextFile) -> bool:
    """True when one file alone fails to scan (to name the culprit of a failed group read)."""
    sql, params = csv_scan_sql(text, 999)
    try:
        con.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()
        return False
    except duckdb.Error:
        return True
