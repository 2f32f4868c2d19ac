"""Tiny hand-made geography for geocoder tests: points in metres around a local origin."""
import shapely

from data.geocode.coords import from_xy

WEST_ED, EAST_ED = (-5000.0, 0.0), (5000.0, 0.0)


def _ll(x, y):
    lat, lon = from_xy(x, y)
    return float(lat), float(lon)


def _line(*pts):
    return shapely.LineString([_ll(x, y)[::-1] for x, y in pts])
