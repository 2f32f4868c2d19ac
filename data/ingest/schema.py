"""The London minimum data standard: every input format, its fields, code lists and rules.

This module is the single source of truth. The importers (data/ingest*.py) validate against
it, `flask --app app standard --format json` publishes it as a Frictionless Data Package of
Table Schemas, and the `/standard` page renders it for people.

ED assault data follows the NHS ISTV minimum data set (ISB 1594): a submission header
(reporting period, site of treatment) and one record per assault. The standard leaves the
exact codes to local agreement; the codes below are the London codes this product defines,
each with the free-text spellings accepted on input and normalised to the code.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

STANDARD_NAME = "istv-london-minimum-data-standard"
STANDARD_VERSION = "1.0"


class Code(NamedTuple):
    code: str
    label: str
    description: str


ASSAULT_METHODS: tuple[Code, ...] = (
    Code("01", "Body part", "Punched, kicked, head-butted, bitten: no weapon."),
    Code("02", "Blunt object", "Bat, stick, bar or other blunt object."),
    Code("03", "Knife or sharp object", "Knife, blade, screwdriver or other sharp object."),
    Code("04", "Glass or bottle", "Drinking glass, bottle or glass fragment."),
    Code("05", "Firearm", "Gun, including air weapons."),
    Code("06", "Other", "Any other method; the 'other' description says which."),
    Code("99", "Unknown", "Not recorded or declined."),
)

LOCATION_TYPES: tuple[Code, ...] = (
    Code("01", "Licensed premises", "Inside or at the door of a pub, bar, club or other licensed venue."),
    Code("02", "Street or public place", "Street, park, square or other open public place."),
    Code("03", "Home or private address", "The patient's or someone else's home: never mapped."),
    Code("04", "Public transport", "Station, bus, bus stop or train."),
    Code("05", "Shop or takeaway", "Shop, takeaway or other unlicensed business."),
    Code("06", "Workplace", "The patient's place of work."),
    Code("07", "School or college", "School, college or university."),
    Code("08", "Other", "Any other place."),
    Code("99", "Unknown", "Not recorded or declined."),
)

# police.uk street-level crime categories (all 14), in police.uk spelling.
POLICE_CATEGORIES: tuple[str, ...] = (
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs",
    "Other crime", "Other theft", "Possession of weapons", "Public order", "Robbery",
    "Shoplifting", "Theft from the person", "Vehicle crime", "Violence and sexual offences",
)
POLICE_VIOLENCE = "Violence and sexual offences"
POLICE_CATEGORY_CODES: tuple[Code, ...] = tuple(Code(c, c, "police.uk crime type.") for c in POLICE_CATEGORIES)

LICENCE_TYPES: tuple[Code, ...] = (
    Code("pub", "Pub", "Public house: on-sales of alcohol."),
    Code("bar", "Bar", "Bar or wine bar: on-sales of alcohol."),
    Code("nightclub", "Nightclub", "Late-night venue with regulated entertainment."),
    Code("restaurant", "Restaurant", "Restaurant with an alcohol licence."),
    Code("late_night_refreshment", "Late-night refreshment", "Hot food or drink between 23:00 and 05:00 (takeaways)."),
    Code("off_licence", "Off-licence", "Off-sales of alcohol only (shops)."),
)

LANDMARK_KINDS: tuple[Code, ...] = (
    Code("station", "Station", "Rail, Underground, Overground, DLR or bus station."),
    Code("park", "Park", "Park, common, heath or open space."),
    Code("shopping_centre", "Shopping centre", "Covered shopping centre or mall."),
    Code("square", "Square", "Named public square."),
    Code("market", "Market", "Street or covered market."),
    Code("venue", "Venue", "Stadium, arena, theatre or other large venue."),
    Code("town_centre", "Town centre", "A town centre: the geocoder treats it as an area, placed at its centre."),
    Code("area", "Area", "A neighbourhood or district people name (e.g. Soho): an area, placed at its centre."),
    Code("other", "Other", "Any other named place people describe locations by."),
)

GEOCODE_CONFIDENCE: tuple[Code, ...] = (
    Code("venue", "Venue", "Matched a named venue or landmark: placed within metres."),
    Code("street", "Street", "Matched a street: placed on that street near the attending ED."),
    Code("area", "Area", "Matched only an area (town centre, borough): placed at its centre."),
    Code("none", "None", "Private, absent or unrecognised location: not mapped."),
)
CONFIDENCE_ORDER = {c.code: i for i, c in enumerate(reversed(GEOCODE_CONFIDENCE))}  # none=0 … venue=3

SOURCES: tuple[Code, ...] = (
    Code("ed", "ED assaults", "Emergency Department assault attendances (ISTV)."),
    Code("police", "Police crimes", "Police-recorded crime (police.uk)."),
)


def labels(codes: tuple[Code, ...]) -> dict[str, str]:
    return {c.code: c.label for c in codes}


# Free text accepted for a code, beyond the code itself and its label (compared after spelling_key).
_UNKNOWN = ("unknown", "not known", "nk", "n k", "not stated", "declined", "not recorded", "refused")
SPELLINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "assault_method": {
        "01": ("1", "body", "bodily force", "fist", "fists", "punch", "punched", "kick", "kicked", "feet", "foot",
               "head butt", "headbutt", "head butted", "bite", "bitten", "hand", "hands", "no weapon", "unarmed"),
        "02": ("2", "blunt", "blunt instrument", "bat", "baseball bat", "stick", "bar", "club", "hammer", "brick", "stone"),
        "03": ("3", "knife", "knife sharp object", "stab", "stabbed", "stabbing", "sharp", "sharp object",
               "sharp instrument", "blade", "bladed article", "screwdriver", "machete"),
        "04": ("4", "glass", "bottle", "glass bottle", "bottle glass", "glassed", "broken glass", "broken bottle"),
        "05": ("5", "gun", "shot", "shooting", "air gun", "airgun", "air weapon", "fire arm"),
        "06": ("6", "other weapon", "other method"),
        "99": ("99",) + _UNKNOWN,
    },
    "assault_location_type": {
        "01": ("1", "licensed", "licensed venue", "pub", "bar", "club", "nightclub", "night club", "public house"),
        "02": ("2", "street", "public place", "road", "park", "outdoors", "outside"),
        "03": ("3", "home", "private address", "private", "house", "flat", "residence", "dwelling", "private dwelling"),
        "04": ("4", "transport", "bus", "bus stop", "train", "tube", "station", "underground"),
        "05": ("5", "shop", "takeaway", "take away", "retail", "store"),
        "06": ("6", "work", "place of work"),
        "07": ("7", "school", "college", "university", "education"),
        "08": ("8", "other place"),
        "99": ("99",) + _UNKNOWN,
    },
    "crime_type": {
        "Violence and sexual offences": ("violent crime", "violence", "violence against the person"),
        "Anti-social behaviour": ("antisocial behaviour", "asb"),
        "Criminal damage and arson": ("criminal damage arson", "criminal damage"),
        "Vehicle crime": ("vehicle offences",),
        "Possession of weapons": ("weapons possession",),
    },
    "licence_type": {
        "pub": ("public house", "ph", "pubs", "inn", "tavern"),
        "bar": ("wine bar", "cocktail bar", "bars"),
        "nightclub": ("night club", "club", "late night venue", "nightclubs"),
        "restaurant": ("restaurants", "cafe", "restaurant cafe"),
        "late_night_refreshment": ("lnr", "late night refreshment", "takeaway", "take away", "hot food takeaway"),
        "off_licence": ("off licence", "off sales", "off license", "shop", "supermarket", "convenience store"),
    },
    "kind": {
        "station": ("railway station", "tube station", "underground station", "train station", "bus station"),
        "park": ("common", "heath", "open space", "gardens"),
        "shopping_centre": ("shopping center", "mall", "shopping mall"),
        "market": ("street market",),
        "town_centre": ("town center", "high street"),
        "area": ("neighbourhood", "neighborhood", "district", "locality"),
    },
}


def spelling_key(text: str) -> str:
    """Lower-case words joined by single spaces: how free-text codes are compared."""
    return " ".join(re.findall(r"[a-z0-9]+", str(text).lower()))


def header_key(name: str) -> str:
    """Lower-case letters and digits only: how column and element names are compared."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


# Greater London's bounding area (the outer edge of the 33 boroughs, rounded outwards)
LONDON_BBOX = {"lat_min": 51.28, "lat_max": 51.70, "lon_min": -0.52, "lon_max": 0.34}
BNG_LONDON = {"easting_min": 500_000, "easting_max": 565_000, "northing_min": 155_000, "northing_max": 202_000}
MISSING_VALUES = ("", "\\N", "NULL", "null", "N/A", "n/a")

MANDATORY, REQUIRED, OPTIONAL = "mandatory", "required", "optional"
LEVELS = {
    MANDATORY: "The column must be present (else the file is refused) and every row must have a value (else the row is quarantined).",
    REQUIRED: "The column should be present and filled where the value is known; blank values are kept.",
    OPTIONAL: "May be left out.",
}


@dataclass(frozen=True)
class Field:
    """One column of an input format."""
    name: str
    title: str
    type: str                       # string, code, date, datetime, yearmonth, time, number, integer
    level: str
    description: str
    aliases: tuple[str, ...] = ()   # other column (or XML element) names accepted for it
    codes: tuple[Code, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    max_length: int | None = None
    parts: tuple[str, str] | None = None  # a date column and a time column that may replace it
    example: str = ""

    def spellings(self) -> dict[str, str]:
        """spelling_key → code for every accepted spelling of this field's codes."""
        out = {}
        for c in self.codes:
            for text in (c.code, c.label, *SPELLINGS.get(self.name, {}).get(c.code, ())):
                out.setdefault(spelling_key(text), c.code)
        return out


@dataclass(frozen=True)
class TableFormat:
    """One input file format: its fields and, for point data, its coordinate columns."""
    name: str
    title: str
    description: str
    fields: tuple[Field, ...]
    # alternative coordinate column pairs, first match wins per row: (lat-ish, lon-ish, crs)
    coordinates: tuple[tuple[str, str, str], ...] = ()
    header_fields: tuple[str, ...] = ()   # fields that come from the XML submission header
    extra: dict = field(default_factory=dict)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


_LAT = Field("lat", "Latitude", "number", MANDATORY, "WGS84 latitude in decimal degrees, inside Greater London.",
             ("latitude", "y_lat", "wgs84_lat"), minimum=LONDON_BBOX["lat_min"], maximum=LONDON_BBOX["lat_max"], example="51.513")
_LON = Field("lon", "Longitude", "number", MANDATORY, "WGS84 longitude in decimal degrees, inside Greater London.",
             ("longitude", "lng", "long", "x_lon", "wgs84_lon"), minimum=LONDON_BBOX["lon_min"], maximum=LONDON_BBOX["lon_max"], example="-0.131")

ISTV_ED = TableFormat(
    "istv", "ED assault submission (ISTV minimum data set)",
    "One row per assault attendance at an Emergency Department, as in NHS ISB 1594. A CSV repeats "
    "the submission header (reporting period, site) on every row; the XML form carries it once in a "
    "SubmissionHeader element followed by one Assault element per attendance.",
    (
        Field("reporting_period_start", "Reporting period start date", "date", MANDATORY,
              "First day the submission covers.", ("reporting period start date", "period_start", "period start", "from_date"), example="2025-01-01"),
        Field("reporting_period_end", "Reporting period end date", "date", MANDATORY,
              "Last day the submission covers; no assault or arrival may be later.",
              ("reporting period end date", "period_end", "period end", "to_date"), example="2025-01-31"),
        Field("site_code", "Site code (of treatment)", "string", MANDATORY,
              "ODS site code of the ED where the patient was treated (3 to 12 letters or digits).",
              ("site code of treatment", "site code (of treatment)", "organisation site identifier", "ods_site_code", "site", "treatment_site"),
              pattern=r"^[A-Za-z0-9]{3,12}$", example="RJ122"),
        Field("arrival_datetime", "Arrival date and time at A&E", "datetime", REQUIRED,
              "When the patient arrived at the ED.",
              ("arrival date and time at accident and emergency department", "arrival date and time", "arrival_date_time", "arrival", "ae_arrival"),
              parts=("arrival_date", "arrival_time"), example="2025-01-18 23:40"),
        Field("assault_datetime", "Assault date and time", "datetime", MANDATORY,
              "When the assault happened, as the patient reports it; not after arrival.",
              ("assault date and time", "assault_date_time", "incident_datetime", "incident date and time"),
              parts=("assault_date", "assault_time"), example="2025-01-18 22:55"),
        Field("assault_method", "Assault method", "code", MANDATORY,
              "How the patient was assaulted (coded). Common free-text spellings are accepted and normalised.",
              ("method", "weapon", "assault weapon", "weapon or means", "assault_method_code"), codes=ASSAULT_METHODS, example="04"),
        Field("assault_method_other", "Assault method other description", "string", REQUIRED,
              "Free text saying which method when the method is 06 (Other).",
              ("assault method other description", "method_other", "other method description", "other_description"),
              max_length=200, example="Hit with a chair"),
        Field("assault_location_type", "Assault location type", "code", MANDATORY,
              "What kind of place the assault happened in (coded). Common free-text spellings are accepted.",
              ("location type", "location_type", "assault location type code", "place type"), codes=LOCATION_TYPES, example="01"),
        Field("assault_location_description", "Assault location description", "string", REQUIRED,
              "Where the assault happened, in the patient's words (venue, street, landmark, area). "
              "Private addresses must not be recorded: 'home' is enough.",
              ("assault location description", "location_description", "location description", "location", "assault location"),
              max_length=500, example="outside the Red Lion, High St"),
        Field("record_id", "Local record reference", "string", OPTIONAL,
              "A non-identifying reference unique within the site's submissions (London extension); "
              "helps de-duplicate re-submitted records. Never an NHS number or hospital number.",
              ("record reference", "local_id", "reference", "submission_record_id"), max_length=40, example="A000123"),
    ),
    header_fields=("reporting_period_start", "reporting_period_end", "site_code"),
)

POLICE_UK = TableFormat(
    "police", "Police crimes (police.uk street-level CSV)",
    "The monthly street-level crime files downloaded from data.police.uk, unchanged. Locations are "
    "already anonymised to 'On or near' map points snapped to streets.",
    (
        Field("crime_id", "Crime ID", "string", REQUIRED, "police.uk crime identifier; empty for anti-social behaviour.", ("crime id",)),
        Field("month", "Month", "yearmonth", MANDATORY, "Month of the crime, YYYY-MM.", example="2025-01"),
        Field("reported_by", "Reported by", "string", OPTIONAL, "Force that provided the data.", ("reported by",)),
        Field("falls_within", "Falls within", "string", OPTIONAL, "Force whose area the crime falls within.", ("falls within",)),
        Field("lon", "Longitude", "number", MANDATORY, "WGS84 longitude of the anonymised map point.", ("longitude",),
              minimum=LONDON_BBOX["lon_min"], maximum=LONDON_BBOX["lon_max"], example="-0.106220"),
        Field("lat", "Latitude", "number", MANDATORY, "WGS84 latitude of the anonymised map point.", ("latitude",),
              minimum=LONDON_BBOX["lat_min"], maximum=LONDON_BBOX["lat_max"], example="51.518275"),
        Field("location", "Location", "string", REQUIRED, "'On or near <street or place>'.", example="On or near Chancery Lane"),
        Field("lsoa_code", "LSOA code", "string", OPTIONAL, "2021 Lower layer Super Output Area code.", ("lsoa code",), example="E01000914"),
        Field("lsoa_name", "LSOA name", "string", OPTIONAL, "LSOA name.", ("lsoa name",)),
        Field("crime_type", "Crime type", "code", MANDATORY, "police.uk crime category.", ("crime type", "category"),
              codes=POLICE_CATEGORY_CODES, example=POLICE_VIOLENCE),
        Field("last_outcome_category", "Last outcome category", "string", OPTIONAL,
              "Latest outcome; changes between releases, so it is not part of a record's identity.", ("last outcome category", "outcome")),
        Field("context", "Context", "string", OPTIONAL, "Extra context (usually empty)."),
    ),
)

PREMISES = TableFormat(
    "premises", "Licensed premises register",
    "One row per licensed premises. Coordinates as WGS84 latitude/longitude or British National Grid "
    "easting/northing (either pair; latitude/longitude wins when a row has both). Loading adds or "
    "replaces premises by premises_id.",
    (
        Field("premises_id", "Premises identifier", "string", MANDATORY, "The register's identifier, unique in the file.",
              ("id", "fas_id", "licence_number", "licence_no", "premises_ref", "premises_reference", "reference", "uprn"), max_length=60, example="LN/000123"),
        Field("name", "Premises name", "string", MANDATORY, "Trading name.", ("premises_name", "business_name", "trading_name"), max_length=200, example="The Red Lion"),
        Field("address", "Address", "string", REQUIRED, "Postal address.", ("premises_address", "full_address"), max_length=300),
        Field("postcode", "Postcode", "string", OPTIONAL, "Postcode (added to the address).", ("post_code",)),
        Field("licence_type", "Licence type", "code", REQUIRED,
              "Kind of licensed premises (coded). Lists without one (as pub lists often are) take the "
              "loader's --licence-type default.", ("type", "premises_type", "licence_category", "category"), codes=LICENCE_TYPES, example="pub"),
        Field("opens", "Opening time", "time", OPTIONAL, "Usual opening time, HH:MM.", ("opening_time", "opens_at", "open"), example="11:00"),
        Field("closes", "Closing time", "time", OPTIONAL, "Latest licensed closing time, HH:MM (after midnight allowed).",
              ("closing_time", "closes_at", "close", "terminal_hour"), example="02:00"),
        Field("lat", "Latitude", "number", OPTIONAL, _LAT.description, _LAT.aliases, minimum=_LAT.minimum, maximum=_LAT.maximum, example="51.513"),
        Field("lon", "Longitude", "number", OPTIONAL, _LON.description, _LON.aliases, minimum=_LON.minimum, maximum=_LON.maximum, example="-0.131"),
        Field("easting", "Easting", "number", OPTIONAL, "British National Grid (EPSG:27700) easting in metres.",
              ("os_easting", "bng_easting"), minimum=BNG_LONDON["easting_min"], maximum=BNG_LONDON["easting_max"], example="529600"),
        Field("northing", "Northing", "number", OPTIONAL, "British National Grid (EPSG:27700) northing in metres.",
              ("os_northing", "bng_northing"), minimum=BNG_LONDON["northing_min"], maximum=BNG_LONDON["northing_max"], example="180400"),
    ),
    coordinates=(("lat", "lon", "EPSG:4326"), ("northing", "easting", "EPSG:27700")),
)

LANDMARKS = TableFormat(
    "landmarks", "Landmarks",
    "Named places people describe locations by (stations, parks, shopping centres, squares, "
    "markets, town centres and areas), used by the geocoder. Loading replaces all landmarks.",
    (
        Field("name", "Name", "string", MANDATORY, "Name as people say it.", ("landmark", "landmark_name"), max_length=200, example="Brixton Station"),
        Field("kind", "Kind", "code", MANDATORY, "Kind of place (coded).", ("type", "category"), codes=LANDMARK_KINDS, example="station"),
        Field("lat", "Latitude", "number", MANDATORY, _LAT.description, _LAT.aliases, minimum=_LAT.minimum, maximum=_LAT.maximum, example="51.4627"),
        Field("lon", "Longitude", "number", MANDATORY, _LON.description, _LON.aliases, minimum=_LON.minimum, maximum=_LON.maximum, example="-0.1145"),
    ),
    coordinates=(("lat", "lon", "EPSG:4326"),),
)

# Another agency's incidents (ambulance call-outs, transport police, ...): one format for every extra source,
# each registered by code (`flask --app app sources add`); see data/ingest/extra.py.
EXTRA_INCIDENTS = TableFormat(
    "incidents", "Another agency's incidents (an extra source)",
    "One row per incident of a registered extra source, for example London Ambulance Service assault "
    "call-outs or violence on the transport network. Each row needs a date and time or at least a month, "
    "and either coordinates or a location description (placed by the geocoder like an ED's). Loading adds "
    "new incidents and replaces an incident whose incident_id is stored with other values.",
    (
        Field("incident_id", "Incident identifier", "string", MANDATORY, "The agency's own reference, unique within the source.",
              ("id", "record_id", "reference", "incident_reference", "call_id", "incident_number"), max_length=60, example="LAS-2025-000123"),
        Field("datetime", "Date and time", "datetime", OPTIONAL, "When it happened (or the call was made).",
              ("occurred_at", "date_time", "incident_datetime", "call_datetime", "timestamp"), example="2025-03-14 23:05"),
        Field("month", "Month", "yearmonth", OPTIONAL, "The month, for sources that give no day (used when there is no date and time).",
              ("incident_month", "period"), example="2025-03"),
        Field("lat", "Latitude", "number", OPTIONAL, _LAT.description, _LAT.aliases, minimum=_LAT.minimum, maximum=_LAT.maximum, example="51.513"),
        Field("lon", "Longitude", "number", OPTIONAL, _LON.description, _LON.aliases, minimum=_LON.minimum, maximum=_LON.maximum, example="-0.131"),
        Field("location", "Location description", "string", OPTIONAL,
              "Where it happened, in words (venue, street, landmark), for rows without coordinates.",
              ("location_text", "location_description", "address", "place"), max_length=500, example="outside Brixton station"),
        Field("category", "Category", "string", MANDATORY, "The agency's own category of incident.",
              ("type", "incident_type", "call_type", "crime_type", "nature"), max_length=100, example="assault"),
        Field("severity", "Severity", "string", OPTIONAL, "The agency's own severity or priority, if any.",
              ("priority", "grade", "call_category"), max_length=40, example="C2"),
    ),
    coordinates=(("lat", "lon", "EPSG:4326"),),
)

FORMATS: dict[str, TableFormat] = {f.name: f for f in (ISTV_ED, POLICE_UK, PREMISES, LANDMARKS, EXTRA_INCIDENTS)}

# Geographic files: attribute columns detected by name (GeoJSON, GeoPackage or Shapefile, any CRS).
BOROUGH_CODE_COLUMNS = ("gss_code", "gsscode", "code", "lad_code", "ladcd", "lad24cd", "lad23cd", "lad22cd", "lad21cd", "lad20cd", "lad19cd", "ons_code")
BOROUGH_NAME_COLUMNS = ("name", "borough", "borough_name", "lad_name", "ladnm", "lad24nm", "lad23nm", "lad22nm", "lad21nm", "lad20nm", "lad19nm")
BOROUGH_POPULATION_COLUMNS = ("population", "pop", "usual_residents", "pop_2021", "population_2021")
BOROUGH_CODE_PATTERN = r"^E09000\d{3}$"
STREET_NAME_COLUMNS = ("name", "name1", "street", "street_name", "road_name", "roadname", "name_1")
GEO_FILES = {
    "boroughs": ("Borough boundaries",
                 "Polygons of the London boroughs with their GSS code (E09000001-E09000033) and name; "
                 "any CRS (reprojected to WGS84). Loading replaces all boroughs and re-assigns every point's borough."),
    "streets": ("Street network",
                "Street centre lines (OS Open Roads, OpenStreetMap extracts) in any CRS. Lines are split at "
                "junctions (shared vertices) into street blocks; the two directions of a two-way street "
                "become one block. Loading replaces all blocks and re-assigns every point's block."),
}


_FRICTIONLESS_TYPE = {"code": "string", "string": "string", "date": "date", "datetime": "datetime",
                      "yearmonth": "yearmonth", "time": "time", "number": "number", "integer": "integer"}


def table_schema(fmt: TableFormat) -> dict:
    """A Frictionless Table Schema for one input format (istv:* keys carry what Frictionless lacks)."""
    fields = []
    for f in fmt.fields:
        constraints: dict = {"required": f.level == MANDATORY}
        if f.codes:
            constraints["enum"] = [c.code for c in f.codes]
        if f.pattern:
            constraints["pattern"] = f.pattern
        if f.minimum is not None:
            constraints["minimum"] = f.minimum
        if f.maximum is not None:
            constraints["maximum"] = f.maximum
        if f.max_length:
            constraints["maxLength"] = f.max_length
        out = {"name": f.name, "title": f.title, "type": _FRICTIONLESS_TYPE[f.type], "description": f.description,
               "constraints": constraints, "istv:level": f.level}
        if f.type in ("date", "datetime", "time"):
            out["format"] = "any"
        if f.example:
            out["example"] = f.example
        if f.aliases:
            out["istv:aliases"] = list(f.aliases)
        if f.parts:
            out["istv:splitInto"] = list(f.parts)
        if f.codes:
            out["istv:codes"] = [{"code": c.code, "label": c.label, "description": c.description} for c in f.codes]
            out["istv:acceptedSpellings"] = {k: v for k, v in sorted(f.spellings().items()) if k != spelling_key(v)}
        fields.append(out)
    schema = {"fields": fields, "missingValues": list(MISSING_VALUES)}
    if fmt.coordinates:
        schema["istv:coordinatePairs"] = [{"latitude": a, "longitude": b, "crs": crs} if crs == "EPSG:4326"
                                         else {"northing": a, "easting": b, "crs": crs} for a, b, crs in fmt.coordinates]
    return schema


def data_package() -> dict:
    """The whole standard as a Frictionless Data Package: one resource per input format."""
    return {
        "profile": "data-package",
        "name": STANDARD_NAME, "version": STANDARD_VERSION,
        "title": "ISTV London minimum data standard",
        "description": "Input formats the ISTV London product accepts, generated from data/ingest/schema.py. "
                       "Field levels: " + " ".join(f"{k}: {v}" for k, v in LEVELS.items()),
        "resources": [{"name": f.name, "title": f.title, "description": f.description, "profile": "tabular-data-resource",
                       "format": "csv", "mediatype": "text/csv", "encoding": "utf-8", "schema": table_schema(f)}
                      for f in FORMATS.values()],
        "istv:greaterLondonBoundingBox": LONDON_BBOX,
        "istv:geographicFiles": {k: {"title": t, "description": d} for k, (t, d) in GEO_FILES.items()},
    }
