"""police.uk street-level crime CSVs → incidents (source 'police').

Each row becomes one incident dated the first of its month (time_precision 'month'), at its
anonymised map point (geocode_confidence 'street': police.uk snaps points to streets). Rows
without a map point, outside Greater London's bounding area, with an unknown month or crime
type go to the quarantine. Files with the same layout are read, checked and stored together
in a few set-based statements (a year of London is ~1M rows).
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import duckdb
import pandas as pd

from data.errors import InputFileError
from data.ingest.points import insert_incidents, point_key_table
from data.ingest.read import Columns, TextFile, collect_rejects, csv_scan_sql, line_map, map_columns, open_csv, raw_select
from data.ingest.report import FileReport, LoadContext
from data.ingest.rules import (code_tables, fail_sql, field_checks, field_record_sql, good_rows_sql, identity_sql,
                               quarantine, typed_parts, value_sql)
from data.ingest.schema import POLICE_UK
from data.store.db import scalar

FMT = POLICE_UK
MISSING = {"lat": "no coordinates (police.uk publishes some crimes without a map point)",
           "lon": "no coordinates (police.uk publishes some crimes without a map point)"}
# Without a crime ID (anti-social behaviour) a row is what it says. Coordinates count as integer
# micro-degrees, since files write "-0.106220" or "-0.10622" for the same point; the outcome is
# left out, since police.uk updates it in later releases.
IDENTITY = ["r_crime_id", "month", "r_reported_by", "r_falls_within", "round(lat * 1e6)::BIGINT",
            "round(lon * 1e6)::BIGINT", "r_location", "r_lsoa_code", "crime_type"]
# A crime ID is police.uk's persistent 64-hex-digit identifier: its first 16 digits already are
# a hash, so it needs no hashing, and a re-published crime stays one crime. Another non-empty ID
# is hashed on its own (not with the row's content), so it too names one crime. Rows repeating a
# crime ID in one file (police.uk files hold a few, at another point or with another outcome) are
# that one crime: the first is kept. The ID is stored as the incident's source_id.
ID_HASH = ("CASE WHEN r_crime_id IS NOT NULL THEN coalesce("
           "CASE WHEN length(r_crime_id) = 64 THEN TRY_CAST('0x' || left(r_crime_id, 16) AS UBIGINT) END, "
           "('0x' || left(md5('crime_id:' || r_crime_id), 16))::UBIGINT) END")
HAS_ID = "r_crime_id IS NOT NULL"
KEEP = ["month", "lat", "lon", "crime_type", "r_location", "r_lsoa_code", "r_crime_id"]


def open_police_file(ctx: LoadContext, path: Path) -> tuple[TextFile, Columns]:
    """File-level checks of one police.uk file (before any row is read)."""
    text = open_csv(path, ctx.workdir)
    return text, map_columns(path, FMT, text.header)


class Item(NamedTuple):
    index: int          # the file's place in the load (its _file)
    text: TextFile
    cols: Columns
    load_id: int


def load_police_files(ctx: LoadContext, paths: list[Path], load_ids: list[int]) -> list[FileReport]:
    """Validate police.uk files; unless validating only, add their good new rows to incidents.

    Every file passes its file-level checks before any is read; files with the same layout
    are then read, checked and stored together.
    """
    items = [Item(i, *open_police_file(ctx, Path(p)), load_id) for i, (p, load_id) in enumerate(zip(paths, load_ids))]
    groups: dict[tuple, list[Item]] = {}
    for item in items:
        groups.setdefault((item.text.delimiter, tuple(item.text.header)), []).append(item)
    reports = [FileReport("police", str(p)) for p in paths]
    for group in groups.values():
        _load_group(ctx, group, reports)
    return reports


def _judge_group(con, items: list[Item]) -> list:
    """CREATE _judged from every file of a group in one statement; returns the checks applied."""
    scans, params = [], []
    for item in items:
        sql, p = csv_scan_sql(item.text, item.index)
        scans.append(sql)
        params += p
    code_tables(con, FMT)
    typed, joins = typed_parts(FMT, strings=False)
    checks = field_checks(FMT, missing_rules=MISSING)
    # only what good rows need is kept, plus the value and record of each failing row: the
    # table is a million rows wide for a year of London, and its width is most of the cost
    try:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _judged AS
            WITH s AS ({' UNION ALL '.join(scans)}),
                 r AS (SELECT _file, _line, {raw_select(FMT, items[0].cols, {})} FROM s),
                 t AS (SELECT r.*, {', '.join(typed)} FROM r {' '.join(joins)}),
                 j AS (SELECT *, {fail_sql(checks)} AS _fail FROM t)
            SELECT _file, _line, _fail, {', '.join(KEEP)},
                   CASE WHEN _fail IS NULL THEN {identity_sql(IDENTITY, ID_HASH)} END AS _h,
                   CASE WHEN _fail IS NOT NULL THEN {value_sql(checks)} END AS _value,
                   CASE WHEN _fail IS NOT NULL THEN {field_record_sql(FMT).replace("j.r_", "r_")} END AS _record
            FROM j""", params)
    except duckdb.Error as exc:
        bad = next((item.text for item in items if _unreadable(con, item.text)), items[0].text)
        raise InputFileError(bad.path, f"cannot be read as CSV: {str(exc).splitlines()[0][:200]}") from None
    return checks


def _load_group(ctx: LoadContext, items: list[Item], reports: list[FileReport]) -> None:
    con, progress = ctx.con, ctx.progress
    label = str(items[0].text.path) if len(items) == 1 else f"{len(items)} files"
    progress.step(label, "reading and validating", 1, 4)
    checks = _judge_group(con, items)
    rejects = {item.index: collect_rejects(con, item.index) for item in items}
    counts = dict(con.execute("SELECT _file, count(*) FROM _judged GROUP BY _file").fetchall())
    for i, bad in rejects.items():
        if len(bad):  # rows after a malformed line sit one line further down
            con.register("_lines", line_map(counts.get(i, 0), bad))
            con.execute("UPDATE _judged SET _line = l._new FROM _lines l WHERE _judged._file = ? AND _judged._line = l._old", [i])
            con.unregister("_lines")
    files = pd.DataFrame({"_file": [item.index for item in items], "load_id": [item.load_id for item in items],
                          "file": [str(item.text.path) for item in items]})
    by_file = quarantine(con, checks, items[0].cols, files, rejects, inline=True)
    good = dict(con.execute("SELECT _file, count(*) FROM _judged WHERE _fail IS NULL GROUP BY _file").fetchall())
    repeats = dict(con.execute(f"""SELECT _file, count(*) - count(DISTINCT _h) FROM _judged
                                   WHERE _fail IS NULL AND {HAS_ID} GROUP BY _file""").fetchall())
    for item in items:
        r = reports[item.index]
        r.rows_read = counts.get(item.index, 0) + len(rejects[item.index])
        r.quarantined = by_file[item.index]
        r.rows_loaded = good.get(item.index, 0)
        r.notes += item.cols.notes
        if repeats.get(item.index):
            r.notes.append(f"{repeats[item.index]:,} row(s) repeat the Crime ID of an earlier row of the file: "
                           "one crime each, stored once (the first row) and counted as duplicates")
    read = sum(reports[item.index].rows_read for item in items)
    if not ctx.write:
        for item in items:  # what a load would skip within each file
            r = reports[item.index]
            r.duplicates = repeats.get(item.index, 0)
            r.rows_loaded -= r.duplicates
        progress.step(label, "checked", 4, 4, read)
        return
    progress.step(label, f"locating the points of {read:,} rows", 2, 4, read)
    point_key_table(con, ctx.geo, "SELECT lat, lon FROM _judged WHERE _fail IS NULL")
    progress.step(label, "storing", 3, 4)
    # ids in file order: each file's rows follow the previous file's last line
    offsets, total = [], 0
    for item in items:
        offsets.append(total)
        total += scalar(con, "SELECT coalesce(max(_line), 0) FROM _judged WHERE _file = ?", [item.index]) + 1
    con.register("_offsets", pd.DataFrame({"_file": files["_file"], "_offset": offsets, "load_id": files["load_id"]}))
    added = insert_incidents(con, f"""
        SELECT o._offset + g._line AS _id, 'police' AS source, g.month::TIMESTAMP AS occurred_at,
               'month' AS time_precision, NULL::TIMESTAMP AS arrived_at, g.month, k.borough_code, g.lat, g.lon,
               k.h3_r7, k.h3_r8, k.h3_r9, k.h3_r10, k.block_id, g.crime_type AS category,
               NULL AS location_type, g.r_location AS location_text, NULL AS ed_site,
               'street' AS geocode_confidence, g.record_hash, g.r_crime_id AS source_id,
               g.r_lsoa_code AS lsoa_code, o.load_id
        FROM ({good_rows_sql(None, KEEP, unique=HAS_ID)}) g
        JOIN _pointkeys k ON g.lat = k.lat AND g.lon = k.lon JOIN _offsets o USING (_file)""")
    con.unregister("_offsets")
    for item in items:
        r = reports[item.index]
        r.duplicates = r.rows_loaded - added.get(item.load_id, 0)
        r.rows_loaded = added.get(item.load_id, 0)
    _notes(ctx, items, reports)
    progress.step(label, "stored", 4, 4)


def _notes(ctx: LoadContext, items: list[Item], reports: list[FileReport]) -> None:
    geo = ctx.geo
    outside = dict(ctx.con.execute("""SELECT _file, count(*) FROM (SELECT DISTINCT _file, lat, lon FROM _judged
                                      WHERE _fail IS NULL) p JOIN _pointkeys k USING (lat, lon)
                                      WHERE k.borough_code IS NULL GROUP BY _file""").fetchall())
    for item in items:
        r = reports[item.index]
        if not geo.codes:
            r.notes.append("no borough boundaries loaded: rows have no borough yet (load boroughs: they are assigned then)")
        elif outside.get(item.index):
            r.notes.append(f"{outside[item.index]:,} map point(s) inside the bounding area but outside every borough polygon: "
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
