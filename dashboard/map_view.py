"""The map page's logic: from the page state (one query string) to figures and numbers.

No Dash here: `build_view` and `values_only` are plain functions the callbacks call, tested
against SQL ground truth. The state is the URL's query string: the shared filter model plus
the map's own view state (colour mode, premises overlay, brushed period, map position).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import shapely
from h3.api import basic_int as h3i

from dashboard import figures, figures_map
from dashboard.url_state import from_query, to_query
from dashboard.coverage import month_ranges
from data.store import queries, queries_places
from data.store.queries_coverage import coverage
from data.access.disclosure import ratio, show
from data.store.filters import Filters
from layers.blocks import from_bng, lines_to_bng
from layers.hexes import cell_str, resolution_for_zoom
from layers.hotspots import hot_of, local_hotspots, period_change
from layers.hotspots_local import SIZE_MAX, TEST_NAME

MAX_BLOCKS = 3000         # street-block polygons sent at most; beyond, the busiest are shown
MAX_CELLS = 12000         # hexagons sent at most (the all-London r9 grid is ~17,000)
MAP_PX = (780, 560)       # the map's size on a laptop screen, for viewport maths
EXTRA = ("color", "premises", "sel", "v", "op", "layers")
OPACITIES = (0.4, 0.6, 0.85, 1.0)  # the units' opacity choices (85 % by default)


@dataclass
class State:
    f: Filters                         # the shared filter model (incl. place = clicked hex/block)
    color: str = "count"               # count | gi | change
    premises: bool = False
    sel: tuple[date, date] | None = None   # brushed period on the series (narrows the map and summary)
    center: dict | None = None
    zoom: float | None = None
    opacity: float = figures_map.DEFAULT_OPACITY
    premises_on_top: bool = True       # layer order: premises above the hexagons / blocks, or under them
    notes: list[str] = field(default_factory=list)

    @property
    def map_filters(self) -> Filters:
        """The map's filter: the brushed period when there is one, and no place (the map shows all places)."""
        f = self.f.with_(place=None)
        if self.sel:
            f = f.with_(start=self.sel[0], end=self.sel[1])
        return f

    @property
    def selection_filters(self) -> Filters:
        """What the summary counts: the brushed period and the clicked place."""
        return self.f.with_(start=self.sel[0], end=self.sel[1]) if self.sel else self.f

    def query(self, default: Filters) -> str:
        extra = {"color": None if self.color == "count" else self.color, "premises": "1" if self.premises else None,
                 "sel": f"{self.sel[0]}..{self.sel[1]}" if self.sel else None,
                 "v": f"{self.center['lat']:.4f},{self.center['lon']:.4f},{self.zoom:.2f}" if self.center and self.zoom else None,
                 "op": None if self.opacity == figures_map.DEFAULT_OPACITY else f"{self.opacity:g}",
                 "layers": None if self.premises_on_top else "units-top"}
        return to_query(self.f, default, extra)


def default_filters(bounds: tuple[date, date] | None) -> Filters:
    """The last 12 months of data, all boroughs."""
    if bounds is None:
        return Filters()
    lo, hi = bounds
    start = date(hi.year, 1, 1) if hi.month == 12 else date(hi.year - 1, hi.month + 1, 1)
    return Filters(start=max(lo, start), end=hi)


def parse_state(search: str, known_boroughs: set[str], default: Filters) -> State:
    """The page state from a query string; bad values fall back with notes."""
    f, notes, extra = from_query(search, known_boroughs, default, EXTRA)
    st = State(f=f, notes=notes)
    if extra.get("color") in figures_map.COLOUR_MODES:
        st.color = extra["color"]
    elif "color" in extra:
        notes.append(f"Ignored 'color={extra['color'][:20]}': expected count, gi or change")
    st.premises = extra.get("premises") == "1"
    if "sel" in extra:
        try:
            a, b = (date.fromisoformat(x) for x in extra["sel"].split(".."))
            st.sel = (min(a, b), max(a, b))
        except ValueError:
            notes.append(f"Ignored 'sel={extra['sel'][:30]}': expected a period like 2025-03-01..2025-04-30")
    if "op" in extra:
        try:
            st.opacity = min(OPACITIES, key=lambda o: abs(o - float(extra["op"])))
        except ValueError:
            notes.append(f"Ignored 'op={extra['op'][:10]}': expected an opacity between 0.4 and 1")
    st.premises_on_top = extra.get("layers") != "units-top"
    if "v" in extra:
        try:
            lat, lon, zoom = (float(x) for x in extra["v"].split(","))
            if not (51.0 < lat < 52.0 and -1.0 < lon < 0.6 and 5 <= zoom <= 18):
                raise ValueError
            st.center, st.zoom = {"lat": lat, "lon": lon}, zoom
        except ValueError:
            notes.append("Ignored the map position in the link: it is not in London")
    return st


def viewport(center: dict, zoom: float, px=MAP_PX) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) a map shows, with a margin of half a screen."""
    lon_span = 360 * px[0] / (512 * 2 ** zoom) * 2
    lat_span = 360 * px[1] / (512 * 2 ** zoom) * np.cos(np.radians(center["lat"])) * 2
    return (center["lon"] - lon_span / 2, center["lat"] - lat_span / 2, center["lon"] + lon_span / 2, center["lat"] + lat_span / 2)


@dataclass
class MapData:
    """What the map draws: units with values, and the key of their geometry (same key → same shapes)."""
    kind: str                    # hex | block
    units: pd.DataFrame          # unit, ed, police, total, ed_venue, ed_street, ed_area (+ gi_z, p_fdr, change)
    geo_key: str
    shapes: pd.DataFrame | None  # blocks: block_id, geom_wkb
    note: str = ""
    res: int | None = None
    method: str = ""             # what the colours mean and how they were tested (shown under the cards)
    other_label: str = ""        # the name of the other agencies' incidents counted in `other` (none: "")


def map_data(store, st: State, outlines: pd.DataFrame) -> MapData:
    f = st.map_filters
    exact = getattr(getattr(store, "scope", None), "exact", True)  # protected viewers: never clipped to a viewport
    center, zoom = (st.center, st.zoom) if st.center else figures.fit_view(outlines)
    if f.unit == "hex":
        res = resolution_for_zoom(zoom)
        # statistics never depend on the viewport: hot spots and changes are tested over the whole study
        # area (the selected boroughs); only counts-only views are clipped to what the screen can show
        bbox = viewport(center, zoom) if res >= 9 and st.color == "count" and exact else None
        col = f"h3_r{res}"
        cur = queries.unit_counts(store, f, col, bbox=bbox).set_index("unit")
        note, fitted = "", {}
        if st.color == "gi":
            if res == 10:
                note = "Hot spots are tested on hexagons up to resolution 9: switch to street blocks for finer hot spots"
            else:
                cells, nb = queries.hex_study_area(store, f, res)
                # the test runs on exact counts (its flags are shown, not the counts: docs/disclosure.md)
                exact_counts = cur if exact else queries.unit_counts(queries.unprotected(store), f, col).set_index("unit")
                totals = exact_counts["total"].reindex(pd.Index(cells, dtype="uint64"), fill_value=0)
                tested = local_hotspots(totals, nb)
                fitted = dict(tested.attrs)
                cur = cur.join(tested[["gi_z", "q", "hot", "cold"]], how="outer")
        units = _with_change(store, st, cur, col, bbox) if st.color == "change" else cur
        units = _whole(units)
        units = units[(units["total"] > 0) | _significant(units)]
        if len(units) > MAX_CELLS:
            units = units.sort_values("total", ascending=False).head(MAX_CELLS)
            note = f"Showing the {MAX_CELLS:,} busiest hexagons: zoom in for the rest"
        units = units.reset_index().rename(columns={"index": "unit"}).sort_values("unit")
        units["unit"] = units["unit"].astype("uint64")
        key = f"hex|{res}|{_cells_key(units['unit'])}"  # the set of cells: a values-only update needs the same shapes
        return MapData("hex", units, key, None, note, res, _method(st, fitted, f"H3 hexagons (resolution {res})"),
                       queries.extras_label(store, f.extras))
    blocks, nb = queries.block_study_area(store, f)
    cur = queries.unit_counts(store, f, "block_id").set_index("unit")
    stats = queries.block_stats(store, f).set_index("block_id")  # the one hot-block definition of every page
    if st.color == "gi":
        cur = cur.join(stats[["gi_z", "q", "hot", "cold"]], how="outer")
    units = _with_change(store, st, cur, "block_id", None) if st.color == "change" else cur
    units = _whole(units)
    # the hot blocks of this view are always drawn and say so
    hot = hot_of(stats.reset_index()).set_index("block_id")
    units = units.join(hot[["rank"]].rename(columns={"rank": "hot_rank"}), how="left")
    units = units[(units["total"] > 0) | _significant(units)]
    note = ""
    if len(units) > MAX_BLOCKS:  # hot blocks first, then by total (a stable sort: ties keep their order)
        keep = np.lexsort((-units["total"].to_numpy(), -units["hot_rank"].notna().to_numpy(int)))[:MAX_BLOCKS]
        units = units.iloc[keep]
        note = f"Showing the hot blocks and the busiest others ({MAX_BLOCKS:,} in all): choose boroughs to see every block"
    units = units.reset_index().rename(columns={"index": "unit"}).sort_values("unit")
    shapes = queries.block_shapes(store, units["unit"])
    units = units.merge(shapes[["block_id", "street"]], left_on="unit", right_on="block_id").drop(columns="block_id")
    key = f"block|{_cells_key(units['unit'])}"
    return MapData("block", units, key, shapes, note, None, _method(st, dict(stats.attrs), "street blocks"),
                   queries.extras_label(store, f.extras))


COUNT_COLUMNS = ("ed", "police", "other", "total", "ed_venue", "ed_street", "ed_area")


def _method(st: State, fitted: dict, units: str) -> str:
    """The method line of a colour mode: units, study area, test, FDR level and the fitted null."""
    area = "the selected boroughs" if st.map_filters.boroughs else "every borough you may see"
    if st.color == "gi" and "mu" in fitted:
        spread = ("no overdispersion (Poisson)" if fitted["size"] >= SIZE_MAX
                  else f"dispersion size {fitted['size']:.3g}")
        return (f"Hot spots: {TEST_NAME} on {units}, 5 % false discovery rate over {area} (fitted mean "
                f"{fitted['mu']:.2f} per unit, {spread}); a unit is hot only "
                "if its own count is unusual too.")
    if st.color == "change":
        return (f"Change: the period against the equal period before it, per day, exact binomial test on {units} "
                f"with a 5 % false discovery rate over {area}; only significant changes are coloured.")
    return ""


def _cells_key(units: pd.Series) -> str:
    """A digest of the set (in order) of the units drawn: same digest, same shapes in the same order."""
    return hashlib.blake2b(np.ascontiguousarray(units.to_numpy(dtype=np.uint64)).tobytes(), digest_size=12).hexdigest()


def _whole(units: pd.DataFrame) -> pd.DataFrame:
    """Units missing from a join (zero counts) as whole zeros, not NaN or floats."""
    return units.fillna({c: 0 for c in COUNT_COLUMNS}).astype({c: "int64" for c in COUNT_COLUMNS})


def _significant(units: pd.DataFrame) -> pd.Series:
    if "hot" in units:
        return units["hot"].fillna(False).astype(bool) | units["cold"].fillna(False).astype(bool)
    if "change" in units:
        return units["change"].isin(["gone", "falling"])
    return pd.Series(False, index=units.index)


def _with_change(store, st: State, cur: pd.DataFrame, col: str, bbox) -> pd.DataFrame:
    f = st.map_filters
    prev = queries.unit_counts(store, f.previous(), col, bbox=bbox).set_index("unit")
    # per day of exposure: a 31-day month against a 30-day one is not a rise of 1/30
    ch = period_change(cur["total"], prev["total"], ratio=f.days() / f.previous().days())
    out = cur.join(ch[["previous", "class"]].rename(columns={"class": "change"}), how="outer")
    return out


def map_values(md: MapData, color: str, record_level: bool) -> tuple[np.ndarray, list[list], figures_map.Classes]:
    """Class per unit, hover values and the legend for a colour mode."""
    units = md.units
    extra = [""] * len(units)
    if md.kind == "block":
        ranks = units["hot_rank"].to_numpy(float)
        extra = [f"Hot block #{int(r)} (significant hot spot)" if r == r else "" for r in ranks.tolist()]  # NaN: not hot
    if "gi_z" in units:
        gi = [f"Gi* z = {z:.1f}, q = {q:.2g}" if pd.notna(z) else "" for z, q in zip(units["gi_z"], units["q"])]
        extra = [f"{a}<br>{b}" if a and b else a or b for a, b in zip(extra, gi)]
    if "change" in units:
        prev = [show(p, record_level) for p in units["previous"].fillna(0)]
        ch = [f"Change: {c} (previous period {p})" if isinstance(c, str) else "" for c, p in zip(units["change"], prev)]
        extra = [f"{a}<br>{b}" if a and b else a or b for a, b in zip(extra, ch)]
    z, classes = figures_map.classes_for(units, color, record_level)
    return z, figures_map.hover_data(units.assign(extra=extra), record_level, md.other_label), classes


def summary(store, st: State, record_level: bool) -> dict:
    """Totals of the selection, the ED/police ratio and the change against the previous equal period."""
    f = st.selection_filters
    now = queries.totals(store, f)
    # the ratio only over months both sources cover: ED months over police months would be no ratio at all
    both = coverage(store).both_months()
    c = queries.month_borough_counts(store, f)
    covered = c[pd.to_datetime(c["month"]).dt.date.isin(both)] if len(c) else c
    ed_both, police_both = int(covered["ed"].sum()), int(covered["police"].sum())
    out = {"ed": show(now["ed"], record_level), "police": show(now["police"], record_level),
           "ratio": ratio(ed_both, police_both, record_level), "raw": now}
    if f.extras:
        out["other"], out["other_label"] = show(now["other"], record_level), queries.extras_label(store, f.extras)
    if (ed_both, police_both) != (now["ed"], now["police"]) and both:
        out["ratio_months"] = month_ranges(sorted(m for m in both if (not f.start or m >= f.start.replace(day=1))
                                                  and (not f.end or m <= f.end)))
    if f.start and f.end:
        before = queries.totals(store, f.previous())
        days = f.days() / f.previous().days()  # per day of exposure: March against February is 31 against 28
        for k in ("ed", "police") + (("other",) if f.extras else ()):
            small = not record_level and (0 < now[k] < 5 or 0 < before[k] < 5)
            out[f"{k}_change"] = "*" if small else (f"{now[k] / (before[k] * days) - 1:+.0%}" if before[k] else "–")
        out["raw_previous"] = before
    return out


def unit_names(store, md: MapData) -> list[str]:
    """What each unit is called in its hover: the block between its junctions' streets, or the hexagon
    near a landmark or on a street (geography only: the same for every viewer)."""
    if md.kind == "block":
        return queries_places.block_places(store, md.units["unit"])
    cells = md.units["unit"].to_numpy(dtype=np.uint64)
    centres = np.array([h3i.cell_to_latlng(int(c)) for c in cells]).reshape(-1, 2)
    near = queries_places.nearest_places(store, centres[:, 0], centres[:, 1])
    return [f"Hexagon {n}" if n else "Hexagon" for n in near]


def selected_outline(store, st: State) -> tuple[list, list]:
    """The clicked hexagon's or block's outline (lat, lon lists; None between rings), empty when none."""
    if not st.f.place:
        return [], []
    kind, ident = st.f.place
    if kind == "block":
        shapes = queries.block_shapes(store, [ident])
        if not len(shapes):
            return [], []
        line = shapely.from_wkb([bytes(shapes["geom_wkb"].iloc[0])])  # DuckDB gives a bytearray
        poly = shapely.buffer(lines_to_bng(line),
                              figures_map.BLOCK_HALF_WIDTH_M + 3, cap_style="flat")[0]
        x, y = np.asarray(poly.exterior.coords).T
        lat, lon = from_bng(x, y)
        return np.round(lat, 6).tolist(), np.round(lon, 6).tolist()
    ring = h3i.cell_to_boundary(int(ident))
    lat, lon = [p[0] for p in ring] + [ring[0][0]], [p[1] for p in ring] + [ring[0][1]]
    return lat, lon


def place_title(store, st: State) -> str:
    """The selected place as a person reads it."""
    if not st.f.place:
        return ""
    kind, ident = st.f.place
    if kind == "block":
        name = queries_places.block_places(store, [ident])[0]
        return f"street block {name}" if name else f"street block {ident}"
    lat, lon = h3i.cell_to_latlng(int(ident))
    near = queries_places.nearest_places(store, [lat], [lon])[0]
    return f"hexagon {near} ({cell_str([ident])[0]})" if near else f"hexagon {cell_str([ident])[0]}"
