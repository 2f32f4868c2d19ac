"""Code lists of the input formats: the single source of truth for codes and their meanings.

ED assault data follows the NHS ISTV minimum data set (ISB 1594). The standard leaves the
exact codes to local agreement; these are the London codes this product defines.
"""
from __future__ import annotations

from typing import NamedTuple


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

LICENCE_TYPES: tuple[Code, ...] = (
    Code("pub", "Pub", "Public house: on-sales of alcohol."),
    Code("bar", "Bar", "Bar or wine bar: on-sales of alcohol."),
    Code("nightclub", "Nightclub", "Late-night venue with regulated entertainment."),
    Code("restaurant", "Restaurant", "Restaurant with an alcohol licence."),
    Code("late_night_refreshment", "Late-night refreshment", "Hot food or drink between 23:00 and 05:00 (takeaways)."),
    Code("off_licence", "Off-licence", "Off-sales of alcohol only (shops)."),
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
