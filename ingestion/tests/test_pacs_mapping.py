"""pacs_mapping.yaml: Benton's file loads as the defaults; every kind of problem is reported with its line."""

import dataclasses

import pytest

from counties.config import CONFIGS_DIR, ConfigError
from ingestion.pacs.mapping import (
    FIELD_SOURCES,
    MAPPING_FILE,
    ColumnRef,
    PacsMapping,
    pacs_mapping_default,
    pacs_mapping_load,
    pacs_mapping_parse,
    pacs_mapping_template,
)

BENTON_MAPPING = CONFIGS_DIR / "benton-wa" / MAPPING_FILE


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        pacs_mapping_parse(text)
    return raised.value.problems


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the first line of `text` containing `fragment`."""
    return next(number for number, line in enumerate(text.splitlines(), start=1) if fragment in line)


def edited(old: str, new: str, text: str | None = None) -> str:
    text = pacs_mapping_template() if text is None else text
    assert old in text, old
    return text.replace(old, new, 1)


def test_benton_mapping_loads_and_equals_the_default():
    mapping = pacs_mapping_load(BENTON_MAPPING)
    assert mapping.path == BENTON_MAPPING
    assert dataclasses.replace(mapping, path=None) == pacs_mapping_default()
    assert mapping.valid_sale_codes == ("00",) and mapping.property_types == ("R",)
    assert (mapping.bedrooms_attribute, mapping.full_baths_attribute, mapping.half_baths_attribute) == (15, 45, 46)
    assert mapping.sync_schedule == "30 2 * * *" and mapping.coordinate_crs == "EPSG:2927"
    assert set(mapping.fields) == set(FIELD_SOURCES)
    text = BENTON_MAPPING.read_text()
    # Each column knows the line that names it (the loader's messages point there).
    assert mapping.fields["market_value"][0].line == line_of(text, "market_value:")
    assert [ref.line for ref in mapping.fields["land_value"]] == [line_of(text, "land_value:")] * 4


def test_default_and_template_agree():
    default = pacs_mapping_default()
    assert default.path is None
    assert pacs_mapping_parse(pacs_mapping_template()) == default
    assert all(ref.line == 0 for refs in default.fields.values() for ref in refs)


def test_template_overrides():
    text = pacs_mapping_template(
        valid_sale_codes=["00", "01"],
        coordinate_crs="EPSG:2926",
        attributes={"bedrooms": 7},
        fields={"acreage": "property_val.legal_acreage"},
        sync={"schedule": None},
    )
    mapping = pacs_mapping_parse(text)
    assert mapping.valid_sale_codes == ("00", "01") and mapping.coordinate_crs == "EPSG:2926"
    assert (mapping.bedrooms_attribute, mapping.full_baths_attribute) == (7, 45)
    assert mapping.fields["acreage"] == (ColumnRef("property_val", "legal_acreage"),)
    assert mapping.sync_schedule is None
    with pytest.raises(TypeError, match="sale_codes"):
        pacs_mapping_template(sale_codes=["00"])


def test_column_refs_and_columns_per_table():
    mapping = pacs_mapping_parse(pacs_mapping_template())
    ref = mapping.fields["market_value"][0]
    assert (ref.sql(), ref.sql("pv")) == ("property_val.market", "pv.market")
    assert [r.column for r in mapping.columns("imprv_detail")] == ["imprv_det_class_cd", "condition_cd"]
    property_val = [r.column for r in mapping.columns("property_val")]
    assert property_val[:3] == ["property_use_cd", "hood_cd", "legal_desc"] and len(property_val) == len(
        set(property_val)
    )
    # A column named by two fields is selected once.
    shared = pacs_mapping_parse(
        edited("assessed_value: property_val.assessed_val", "assessed_value: property_val.market")
    )
    assert [r.column for r in shared.columns("property_val")].count("market") == 1
    assert shared.columns("sale") == []


def test_codes_are_trimmed_and_code_maps_read():
    mapping = pacs_mapping_parse(
        edited('property_types: ["R"]', 'property_types: ["R ", "MH"]', edited('{"L": "low"', '{"L  ": "low"'))
    )
    assert mapping.property_types == ("R", "MH")
    assert mapping.quality_codes["L"] == "low" and isinstance(mapping, PacsMapping)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("version: 1", "version: 2", "version: must be 1 (the only version of this file), not 2."),
        (
            "property_types:",
            "property_kinds:",
            "property_kinds: unknown key (did you mean 'property_types'?); the keys here are version, property_types,",
        ),
        ("  bedrooms: 15", "  bedroom: 15", "attributes.bedroom: unknown key (did you mean 'bedrooms'?)"),
        ("  half_baths: 46", "  half_baths: 0", "attributes.half_baths: must be greater than 0, not 0."),
        ("  half_baths: 46", "  half_baths: 45", "attributes.half_baths: 45 is also full_baths's attribute id."),
        ("  half_baths: 46", '  half_baths: "46"', "attributes.half_baths: must be a whole number, not '46'."),
        (
            'valid_sale_codes: ["00"]',
            "valid_sale_codes: [00]",
            'valid_sale_codes: item 1: must be text, not the number 0; put it in quotes to keep it as written: "00".',
        ),
        (
            'valid_sale_codes: ["00"]',
            'valid_sale_codes: ["00", "00 "]',
            "valid_sale_codes: '00' is listed twice.",
        ),
        (
            'valid_sale_codes: ["00"]',
            'valid_sale_codes: ["000000"]',
            "valid_sale_codes: item 1: '000000' is longer than sale.sl_ratio_type_cd's 5 characters.",
        ),
        ('valid_sale_codes: ["00"]', "valid_sale_codes: []", "valid_sale_codes: must be a non-empty list"),
        (
            'property_types: ["R"]',
            'property_types: ["RE"]',
            "property_types: 'RE' is not a property type (did you mean 'R'?); the property types are R, P, MH, MN, A.",
        ),
        ('main_area_types: ["MA"]', 'main_area_types: "MA"', 'main_area_types: must be a list of codes, e.g. ["MA"].'),
        ('"VG": "very_good"', '"VG": "verygood"', "quality_codes.VG: 'verygood' is not a quality (did you mean"),
        ('"P": "poor"', '"P": "bad"', "condition_codes.P: 'bad' is not a condition; the condition values are poor,"),
        (
            '"P": "poor"',
            '1: "poor"',
            'condition_codes.1: code must be text, not the number 1; put it in quotes to keep it as written: "1".',
        ),
        (
            'coordinate_crs: "EPSG:2927"',
            'coordinate_crs: "2927"',
            "coordinate_crs: '2927' is not written \"EPSG:<code>\"",
        ),
        ('coordinate_crs: "EPSG:2927"', 'coordinate_crs: "EPSG:99999"', "coordinate_crs: EPSG:99999 is not"),
        ('schedule: "30 2 * * *"', 'schedule: "30 2 * *"', "sync.schedule: '30 2 * *' is not a cron expression"),
        ('schedule: "30 2 * * *"', 'schedule: "0 30 2 * * *"', "sync.schedule: '0 30 2 * * *' is not a cron"),
        ('schedule: "30 2 * * *"', 'schedule: "61 2 * * *"', "sync.schedule: '61 2 * * *' is not a cron"),
        (
            "  market_value: property_val.market",
            "  market_value: property_val.markt",
            "fields.market_value: property_val.markt: no column markt in PACS table property_val "
            "(did you mean 'market'?).",
        ),
        (
            "  year_built: imprv.actual_year_built",
            "  year_built: property.prop_create_dt",
            "fields.year_built: property.prop_create_dt: year_built comes from imprv, not property.",
        ),
        (
            "  class_code: property_val.property_use_cd",
            "  class_code: imprv.imprv_type_cd",
            "fields.class_code: imprv.imprv_type_cd: class_code comes from property_val or property, not imprv.",
        ),
        (
            "  quality: imprv_detail.imprv_det_class_cd",
            "  quality: imprv_detial.imprv_det_class_cd",
            "fields.quality: imprv_detial.imprv_det_class_cd: no PACS table imprv_detial "
            "(did you mean 'imprv_detail'?); quality comes from imprv_detail.",
        ),
        (
            "  year_built: imprv.actual_year_built",
            "  year_built: imprv.imprv_desc",
            "fields.year_built: imprv.imprv_desc is VARCHAR (255), but year_built is a year field and needs "
            "NUMERIC (4), INT or SMALLINT.",
        ),
        (
            "  year_built: imprv.actual_year_built",
            "  year_built: imprv.imprv_val",
            "fields.year_built: imprv.imprv_val is NUMERIC (14), but year_built is a year field",
        ),
        (
            "  market_value: property_val.market",
            "  market_value: property_val.legal_acreage",
            "fields.market_value: property_val.legal_acreage is NUMERIC (14, 4), but market_value is a money field "
            "and needs whole dollars",
        ),
        (
            "  neighborhood: property_val.hood_cd",
            "  neighborhood: property_val.cycle",
            "fields.neighborhood: property_val.cycle is INT, but neighborhood is a code field "
            "and needs CHAR or VARCHAR.",
        ),
        (
            "  land_area_sqft: land_detail.size_square_feet",
            "  land_area_sqft: land_detail.land_type_cd",
            "fields.land_area_sqft: land_detail.land_type_cd is CHAR (10), but land_area_sqft is a number field",
        ),
        (
            "  parcel_number: property.geo_id",
            "  parcel_number: [property.geo_id, property.simple_geo_id]",
            "fields.parcel_number: takes exactly one column (the value is read as it is), not 2.",
        ),
        ("  parcel_number: property.geo_id", "  parcel_number: geo_id", "fields.parcel_number: 'geo_id' is not a PACS"),
        ("  parcel_number: property.geo_id", "  parcel_number: 12", "fields.parcel_number: must be a PACS column"),
        ("  parcel_number: property.geo_id", "  parcel_number: []", "fields.parcel_number: must name at least one"),
        (
            "  acreage: land_detail.size_acres",
            "  acreage: [land_detail.size_acres, property_val.legal_acreage]",
            "fields.acreage: property_val.legal_acreage: the columns of one field come from one table, not "
            "land_detail and property_val.",
        ),
        (
            "  improvement_value: [property_val.imprv_hstd_val, property_val.imprv_non_hstd_val]",
            "  improvement_value: [property_val.imprv_hstd_val, property_val.imprv_hstd_val]",
            "fields.improvement_value: property_val.imprv_hstd_val is listed twice.",
        ),
        ("  acreage: land_detail.size_acres", "  acrage: land_detail.size_acres", "fields.acrage: unknown key (did"),
    ],
)
def test_each_problem_names_its_line(old, new, expected):
    text = edited(old, new)
    problems = problems_of(text)
    line = line_of(text, new.strip().split("\n")[0])
    assert any(problem.startswith(f"{MAPPING_FILE}: line {line}: {expected}") for problem in problems), problems


def test_the_computed_improvement_value_is_money():
    mapping = pacs_mapping_parse(edited("improvement_value: [", "improvement_value: property_val.imprv_val  # ["))
    assert mapping.fields["improvement_value"] == (ColumnRef("property_val", "imprv_val"),)


def test_missing_keys_are_reported_at_their_parent():
    text = edited("  half_baths: 46\n", "")
    assert f"{MAPPING_FILE}: line {line_of(text, 'attributes:')}: attributes.half_baths: missing." in problems_of(text)
    text = edited("  acreage: land_detail.size_acres", "  # acreage left out")
    assert f"{MAPPING_FILE}: line {line_of(text, 'fields:')}: fields.acreage: missing." in problems_of(text)
    text = edited("sync:\n", "sync_off:\n")
    problems = problems_of(text)
    assert f"{MAPPING_FILE}: line 1: sync: missing." in problems or any(": sync: missing." in p for p in problems)


def test_several_problems_in_one_file_all_reported_in_line_order():
    text = pacs_mapping_template()
    for old, new in [
        ("version: 1", "version: 3"),
        ('valid_sale_codes: ["00"]', "valid_sale_codes: [00]"),
        ("  bedrooms: 15", "  bedrooms: -1"),
        ("  market_value: property_val.market", "  market_value: property_val.markt"),
        ("  year_built: imprv.actual_year_built", "  year_built: property.prop_create_dt"),
        ('schedule: "30 2 * * *"', 'schedule: "every night"'),
    ]:
        text = edited(old, new, text)
    problems = problems_of(text)
    assert len(problems) == 6, problems
    lines = [int(problem.split(": line ")[1].split(":")[0]) for problem in problems]
    assert lines == sorted(lines)
    assert lines == [
        line_of(text, fragment)
        for fragment in ("version:", "valid_sale_codes:", "bedrooms:", "market_value:", "year_built:", "schedule:")
    ]


def test_yaml_syntax_error_names_its_line():
    text = edited("  market_value: property_val.market", "  market_value: [property_val.market")
    problems = problems_of(text)
    assert len(problems) == 1 and problems[0].startswith(f"{MAPPING_FILE}: line "), problems
    assert "not valid YAML" in problems[0]


def test_duplicate_key_names_its_line():
    text = edited("  market_value: property_val.market", "  market_value: property_val.market\n  market_value: x.y")
    problems = problems_of(text)
    line = line_of(text, "market_value: x.y")
    assert problems == [f"{MAPPING_FILE}: line {line}: not valid YAML (column 3): found the key 'market_value' twice."]


def test_the_whole_file_must_be_a_mapping():
    assert problems_of("") == [f"{MAPPING_FILE}: line 1: must be a mapping, not empty."]
    assert problems_of("- a\n- b\n") == [f"{MAPPING_FILE}: line 1: must be a mapping, not a list."]


def test_load_reports_the_file_name_and_a_missing_file(tmp_path):
    path = tmp_path / MAPPING_FILE
    path.write_text(edited("version: 1", "version: 2"), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        pacs_mapping_load(path)
    assert raised.value.problems[0].startswith(f"{MAPPING_FILE}: line 7: version:")
    with pytest.raises(ConfigError, match="file not found"):
        pacs_mapping_load(tmp_path / "nowhere.yaml")
