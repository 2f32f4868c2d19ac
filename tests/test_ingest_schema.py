"""The standard as the single source: code spellings, column matching, file sniffing, JSON and Markdown."""
from __future__ import annotations

import json
import re

import pytest

from data.errors import InputFileError
from data.ingest.read import detect_encoding, map_columns, sniff_delimiter
from data.ingest.standard import standard_markdown
from data.ingest.schema import FORMATS, ISTV_ED, MANDATORY, POLICE_UK, PREMISES, data_package, spelling_key


@pytest.mark.parametrize("field, text, code", [
    ("assault_method", "Knife", "03"), ("assault_method", " GLASS/bottle ", "04"), ("assault_method", "1", "01"),
    ("assault_method", "Body part", "01"), ("assault_method", "spoon", None),
    ("assault_location_type", "Public House", "01"), ("assault_location_type", "bus stop", "04"),
    ("assault_location_type", "Not known", "99"),
])
def test_free_text_spellings_map_to_codes(field, text, code):
    assert ISTV_ED.field(field).spellings().get(spelling_key(text)) == code


def test_every_code_and_label_is_its_own_spelling_and_no_spelling_is_ambiguous_within_a_field():
    for fmt in FORMATS.values():
        for f in fmt.fields:
            if not f.codes:
                continue
            spellings = f.spellings()
            assert all(spellings[spelling_key(c.code)] == c.code and spellings[spelling_key(c.label)] == c.code for c in f.codes)


def test_header_variants_map_to_fields_and_date_time_pairs_combine():
    header = ["Reporting Period Start Date", "REPORTING_PERIOD_END_DATE", "Site", "Date of arrival", "Time of arrival",
              "Assault date", "Assault time", "Weapon", "Location type", "Assault Location", "Notes"]
    cols = map_columns("x.csv", ISTV_ED, header)
    assert cols.sources["arrival_datetime"] == [3, 4] and cols.sources["assault_datetime"] == [5, 6]
    assert cols.sources["assault_method"] == [7] and cols.sources["assault_location_description"] == [9]
    assert cols.ignored == ["Notes"]
    assert cols.label("assault_datetime") == "Assault date + Assault time"


def test_half_a_date_time_pair_is_a_file_level_problem():
    header = ["reporting_period_start", "reporting_period_end", "site_code", "assault_date", "assault_method",
              "assault_location_type"]
    with pytest.raises(InputFileError, match=re.escape("x.csv, row 1: has 'assault_date' but no 'assault_time' column")):
        map_columns("x.csv", ISTV_ED, header)


def test_police_header_as_published_maps_completely():
    header = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
              "Last outcome category,Context").split(",")
    cols = map_columns("p.csv", POLICE_UK, header)
    assert cols.ignored == [] and cols.notes == []
    assert sorted(cols.sources) == sorted(f.name for f in POLICE_UK.fields)


def test_sniffing_delimiters_and_encodings(tmp_path):
    assert sniff_delimiter('a;b;"c,d";e') == ";"
    assert sniff_delimiter("a,b,c") == "," and sniff_delimiter("a\tb\tc") == "\t" and sniff_delimiter("single") == ","
    cases = {"utf8.csv": ("é,a\n".encode("utf-8"), "utf-8"), "bom.csv": (b"\xef\xbb\xbfa,b\n", "utf-8-sig"),
             "win.csv": ("\u2019,£\n".encode("cp1252"), "cp1252"), "u16.csv": ("a,b\n".encode("utf-16"), "utf-16")}
    for name, (data, expected) in cases.items():
        (tmp_path / name).write_bytes(data)
        assert detect_encoding(tmp_path / name) == expected, name
    (tmp_path / "bin.csv").write_bytes(b"a,b\x00\x01\x02")
    with pytest.raises(InputFileError, match="is not a text file"):
        detect_encoding(tmp_path / "bin.csv")


def test_frictionless_package_is_generated_from_the_schema():
    pkg = json.loads(json.dumps(data_package()))
    assert [r["name"] for r in pkg["resources"]] == list(FORMATS)
    for resource in pkg["resources"]:
        fmt = FORMATS[resource["name"]]
        fields = resource["schema"]["fields"]
        assert [f["name"] for f in fields] == [f.name for f in fmt.fields]
        for out, f in zip(fields, fmt.fields):
            assert out["constraints"]["required"] == (f.level == MANDATORY)
            assert out["type"] in {"string", "date", "datetime", "yearmonth", "time", "number", "integer"}
            if f.codes:
                assert out["constraints"]["enum"] == [c.code for c in f.codes]
    premises = pkg["resources"][list(FORMATS).index("premises")]["schema"]
    assert premises["istv:coordinatePairs"][1] == {"northing": "northing", "easting": "easting", "crs": "EPSG:27700"}
    method = next(f for f in pkg["resources"][0]["schema"]["fields"] if f["name"] == "assault_method")
    assert method["istv:acceptedSpellings"]["knife"] == "03"


def test_markdown_lists_every_field_and_code():
    text = standard_markdown()
    for fmt in FORMATS.values():
        assert f"## {fmt.title}" in text
        assert all(f"`{f.name}`" in text for f in fmt.fields)
    assert all(f"`{c.code}`" in text for c in PREMISES.field("licence_type").codes)
