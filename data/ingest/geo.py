"""Borough boundaries and street networks (GeoJSON, GeoPackage or Shapefile, any CRS).

Both replace their table on load and then re-assign every stored point: new boundaries give
incidents, premises, blocks, landmarks and ED sites their borough again; a new street
network gives incidents and premises their street block again.

A file that would take the borough (or street block) away from stored incidents or premises
that have one, or that lacks a borough stored data uses, is refused unless allow_partial: a
partial file loaded by mistake would silently empty every page of the boroughs it lacks.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from data import reference
from data.ingest.enrich import borough_of_points
from data.errors import InputFileError
from data.ingest.points import Geography, apply_keys, codes_in_use, planned_keys, would_lose
from data.ingest.read import gunzipped
from data.ingest.report import FileReport, LoadContext
from data.ingest.schema import (BOROUGH_CODE_COLUMNS, BOROUGH_CODE_PATTERN, BOROUGH_NAME_COLUMNS, BOROUGH_POPULATION_COLUMNS,
                         LONDON_BBOX, STREET_NAME_COLUMNS, header_key)
from data.store.db import insert_frame, scalar
from layers.blocks import BlockIndex, from_bng, list_text, street_blocks

STREET_REF_COLUMNS = ("ref", "roadnumber", "road_number", "road_classification_number")
LINES, POLYGONS = ("LineString", "MultiLineString"), ("Polygon", "MultiPolygon")


def quarantine_features(ctx: LoadContext, path: Path, positions, column: str | None, values, rule: str,
                        report: FileReport) -> None:
    """Record rejected features (line = feature number, from 1) in the quarantine."""
    if not len(positions):
        return
    frame = pd.DataFrame({"load_id": ctx.load_id, "file": str(path), "line": np.asarray(positions, np.int64) + 1,
                          "column_name": column, "value": pd.Series([_text(v) for v in values], dtype=object), "rule": rule})
    insert_frame(ctx.con, "quarantine", frame)
    report.quarantined.update({rule: len(frame)})


def _text(value) -> str | None:
    """A feature's value as stored text; None for a missing or blank one (not 'None' or 'nan')."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value).strip() or None


def read_geo(ctx: LoadContext, path: Path, want: tuple[str, ...], what: str, report: FileReport):
    """A GeoDataFrame of the wanted geometry types in BNG; other features are quarantined."""
    crs = ctx.options.crs
    import geopandas as gpd
    import pyogrio

    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "no such file")
    readable = gunzipped(path, ctx.workdir)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gdf = gpd.read_file(readable)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError, OSError) as exc:
        raise InputFileError(path, f"cannot be read as GeoJSON, GeoPackage or Shapefile "
                                   f"({str(exc).splitlines()[0][:160]})") from None
    report.rows_read = len(gdf)
    if not len(gdf):
        raise InputFileError(path, f"holds no features: expected {what}")
    if crs:
        if gdf.crs is not None and gdf.crs != crs:
            report.notes.append(f"file says its CRS is {gdf.crs.to_string()}; --crs {crs} used instead")
        gdf = gdf.set_crs(crs, allow_override=True)
    elif gdf.crs is None:
        x0, y0, x1, y1 = gdf.total_bounds
        if -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90:
            gdf = gdf.set_crs("EPSG:4326")
            report.notes.append("file has no CRS; its coordinates look like longitude/latitude, so WGS84 (EPSG:4326) was assumed")
        else:
            raise InputFileError(path, "has no coordinate reference system and its coordinates are not "
                                       "longitude/latitude: pass --crs (e.g. --crs EPSG:27700 for British National Grid)")
    x0, y0, x1, y1 = gdf.total_bounds
    if gdf.crs.is_geographic and not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise InputFileError(path, f"says its coordinates are longitude/latitude ({gdf.crs.to_string()}) but they run "
                                   f"from {x0:.0f}, {y0:.0f} to {x1:.0f}, {y1:.0f}: pass --crs with the right CRS "
                                   "(e.g. --crs EPSG:27700 for British National Grid)")
    gdf = gdf.reset_index(drop=True)
    types = gdf.geometry.geom_type
    bad = (~types.isin(want) | gdf.geometry.is_empty.fillna(True)).to_numpy()
    if bad.all():
        raise InputFileError(path, f"has no {' or '.join(want)} features: expected {what}")
    quarantine_features(ctx, path, np.flatnonzero(bad), "geometry", types[bad].fillna("none"),
                        f"not a {' or '.join(want)} geometry", report)
    gdf = gdf[~bad].to_crs("EPSG:27700")
    lat0, lon0 = LONDON_BBOX["lat_min"], LONDON_BBOX["lon_min"]
    lat1, lon1 = LONDON_BBOX["lat_max"], LONDON_BBOX["lon_max"]
    x0, y0, x1, y1 = gdf.total_bounds
    (la, lb), (lo_a, lo_b) = from_bng([x0, x1], [y0, y1])
    if lb < lat0 or la > lat1 or lo_b < lon0 or lo_a > lon1:
        raise InputFileError(path, f"does not overlap Greater London (its features lie at latitude {la:.3f} to {lb:.3f}, "
                                   f"longitude {lo_a:.3f} to {lo_b:.3f}): check the CRS or pass --crs")
    return gdf


def _column(gdf, path: Path, given: str | None, known: tuple[str, ...], what: str, option: str) -> str | None:
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    if given:
        if given not in columns:
            raise InputFileError(path, f"has no column {given!r} (given by {option}); its columns are {', '.join(columns)}")
        return given
    by_key = {header_key(c): c for c in columns}
    for name in known:
        if header_key(name) in by_key:
            return by_key[header_key(name)]
    return None


def _wgs84(geoms) -> np.ndarray:
    def flip(xy):
        lat, lon = from_bng(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])
    return shapely.transform(np.asarray(geoms, dtype=object), flip)


def _partial_allowed(ctx: LoadContext, path: Path, report: FileReport, problem: str) -> bool:
    """Whether a load that would leave stored data without a borough or block goes on.

    Without allow_partial a load raises InputFileError (nothing is written) and validation
    records the refusal in the report; with it, the load goes on and the report says what it did.
    """
    if ctx.options.allow_partial:
        report.warnings.append(f"{problem} (--allow-partial given: loaded anyway)")
        return True
    reason = f"{problem}; pass --allow-partial to load it anyway"
    if ctx.write:
        raise InputFileError(path, f"refused: {reason}")
    report.refused = reason
    return False


def load_boroughs_file(ctx: LoadContext, path: Path) -> FileReport:
    """Replace the borough boundaries, then give every stored point its borough again."""
    con, o = ctx.con, ctx.options
    report = FileReport("boroughs", str(path))
    gdf = read_geo(ctx, path, POLYGONS, "London borough polygons", report)
    code_col = _column(gdf, path, o.code_col, BOROUGH_CODE_COLUMNS, "GSS code", "--code-col")
    if code_col is None:  # a column whose values look like borough codes
        code_col = next((c for c in gdf.columns if c != gdf.geometry.name and
                         gdf[c].astype(str).str.fullmatch(BOROUGH_CODE_PATTERN).mean() > 0.5), None)
    name_col = _column(gdf, path, o.name_col, BOROUGH_NAME_COLUMNS, "name", "--name-col")
    if code_col is None or name_col is None:
        missing = " and ".join(w for w, c in (("GSS code", code_col), ("name", name_col)) if c is None)
        raise InputFileError(path, f"has no {missing} column that could be recognised: pass --code-col/--name-col "
                                   f"(columns: {', '.join(c for c in gdf.columns if c != gdf.geometry.name)})")
    pop_col = _column(gdf, path, o.population_col, BOROUGH_POPULATION_COLUMNS, "population", "--population-col")
    codes = gdf[code_col].astype(str).str.strip().str.upper()
    good = codes.str.fullmatch(BOROUGH_CODE_PATTERN).to_numpy()
    quarantine_features(ctx, path, gdf.index[~good], code_col, gdf[code_col][~good],
                        "not a London borough GSS code (E09000001 to E09000033)", report)
    gdf, codes = gdf[good], codes[good]
    parts = pd.DataFrame({"code": codes.to_numpy(), "name": gdf[name_col].astype(str).str.strip().to_numpy(),
                          "geom": gdf.geometry.to_numpy()})
    merged = parts.groupby("code", sort=True).agg(name=("name", "first"), n=("geom", "size"),
                                                   geom=("geom", lambda g: shapely.union_all(np.asarray(g, dtype=object))))
    if (merged["n"] > 1).any():
        report.notes.append(f"{int((merged['n'] > 1).sum())} borough(s) came in several features: their parts were merged")
    if pop_col:
        population = pd.to_numeric(gdf.groupby(codes.to_numpy())[pop_col].first(), errors="coerce").reindex(merged.index)
    else:
        ref = {b.code: b.population for b in reference.BOROUGHS}
        population = pd.Series([ref.get(c) for c in merged.index], index=merged.index, dtype="float")
        report.notes.append("no population column: ONS mid-2021 estimates used for per-resident rates")
    centroid = shapely.centroid(merged["geom"].to_numpy())
    clat, clon = from_bng(shapely.get_x(centroid), shapely.get_y(centroid))
    table = pd.DataFrame({"code": merged.index.to_numpy(object), "name": merged["name"].to_numpy(object),
                          "population": pd.array(population.round().to_numpy(), dtype="Int32"),
                          "lat": clat, "lon": clon, "geom_wkb": shapely.to_wkb(_wgs84(merged["geom"].to_numpy()))})
    report.rows_loaded = int(merged["n"].sum())
    if len(table) != 33:
        report.notes.append(f"{len(table)} boroughs loaded; Greater London has 33")
    geo = Geography(list(table["code"]), list(shapely.from_wkb(table["geom_wkb"].to_numpy())), None, o.max_distance_m)
    planned = planned_keys(con, geo, boroughs=True, blocks=False)
    lost = would_lose(con, planned, "borough_code")
    dropped = {c: n for c, n in codes_in_use(con).items() if c not in set(geo.codes)}
    strip = f"would strip the borough from {lost['incidents']:,} incidents and {lost['premises']:,} premises"
    problem = None
    if dropped:
        names = reference.BOROUGH_NAMES
        listed = ", ".join(f"{c} ({names.get(c, 'unknown')})" for c in list(dropped)[:5]) + (" ..." if len(dropped) > 5 else "")
        lacks = f"it lacks {listed}, which stored data uses"
        problem = (f"{lacks}, and {strip}" if any(lost.values()) else
                   f"{lacks} (its {sum(dropped.values()):,} stored rows would fall in other boroughs)")
    elif any(lost.values()):
        problem = f"it {strip} (their points lie outside every borough of the file)"
    if problem and not _partial_allowed(ctx, path, report, problem):
        return report
    if not ctx.write:
        return report
    con.execute("DELETE FROM boroughs")
    insert_frame(con, "boroughs", table)
    moved = apply_keys(con, geo, planned)
    report.notes.append(f"boroughs re-assigned for {moved['incidents']:,} incidents and {moved['premises']:,} premises")
    ctx.progress.step(str(path), "stored", 1, 1, report.rows_read)
    return report


def load_streets_file(ctx: LoadContext, path: Path) -> FileReport:
    """Replace the street blocks with the network in a file, then re-assign every point's block."""
    con, o = ctx.con, ctx.options
    report = FileReport("streets", str(path))
    gdf = read_geo(ctx, path, LINES, "street centre lines", report)
    ctx.progress.step(str(path), f"splitting {len(gdf):,} lines at junctions", 1, 3)
    name_col = _column(gdf, path, o.name_col, STREET_NAME_COLUMNS, "street name", "--name-col")
    ref_col = _column(gdf, path, None, STREET_REF_COLUMNS, "road number", "")
    names = [list_text(v) for v in gdf[name_col]] if name_col else [None] * len(gdf)
    if ref_col:  # an unnamed A-road is still known by its number
        names = [n or list_text(r) for n, r in zip(names, gdf[ref_col])]
    if name_col is None:
        report.notes.append("no street name column found (pass --name-col): blocks have no names")
    blocks = street_blocks(gdf.geometry.to_numpy(), names)
    report.rows_loaded = len(gdf)
    report.notes.append(f"{len(gdf):,} line features made {len(blocks):,} street blocks "
                        f"({len(blocks) - int(blocks['street'].isna().sum()):,} named)")
    ids = np.arange(1, len(blocks) + 1, dtype=np.int32)
    geo = ctx.geo
    new = Geography(geo.codes, geo.polygons, BlockIndex(blocks["geometry"].to_numpy(), ids.astype(np.int64)), o.max_distance_m)
    planned = planned_keys(con, new, boroughs=False, blocks=True)
    lost = would_lose(con, planned, "block_id")
    if any(lost.values()):
        problem = (f"it would take the street block from {lost['incidents']:,} incidents and {lost['premises']:,} premises "
                   f"that have one now (no street of the file within {o.max_distance_m:g} m of them)")
        if not _partial_allowed(ctx, path, report, problem):
            return report
    if not ctx.write:
        return report
    mid = shapely.line_interpolate_point(blocks["geometry"].to_numpy(), 0.5, normalized=True)
    mlat, mlon = from_bng(shapely.get_x(mid), shapely.get_y(mid))
    table = pd.DataFrame({
        "block_id": ids, "street": blocks["street"],
        "borough_code": pd.Series(borough_of_points(mlat, mlon, geo.codes, geo.polygons), dtype=object),
        "node_u": blocks["node_u"], "node_v": blocks["node_v"], "length_m": blocks["length_m"],
        "lat": mlat, "lon": mlon, "geom_wkb": shapely.to_wkb(_wgs84(blocks["geometry"].to_numpy())),
    })
    before = scalar(con, "SELECT count(*) FROM blocks")
    con.execute("DELETE FROM blocks")
    insert_frame(con, "blocks", table)
    ctx.progress.step(str(path), "re-assigning points to blocks", 2, 3)
    moved = apply_keys(con, new, planned)
    report.notes.append(f"replaced {before:,} blocks; street blocks re-assigned for {moved['incidents']:,} "
                        f"incidents and {moved['premises']:,} premises")
    ctx.progress.step(str(path), "stored", 3, 3, report.rows_read)
    return report
