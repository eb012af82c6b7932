"""CountySettingsSerializer, the one definition of valid county settings, and the county.yaml/users.yaml serializers.

These need no database: setup_county (test_setup_county.py) and the County admin (test_admin.py) prove that both
paths apply these rules; here each rule is pinned to its message and path.
"""

import pytest

from counties.config import (
    CONFIGS_DIR,
    ConfigError,
    CountyFileSerializer,
    CountySettingsSerializer,
    UserEntrySerializer,
    county_config_load,
    county_settings_validate,
    county_settings_with_defaults,
    error_problems,
)
from counties.models import default_county_settings

VALID = {
    "valid_sale_codes": ["00"],
    "ratio_study": {"min_ratio": 0.25, "max_ratio": 1.75, "min_sales": 5},
    "local_crs_epsg": 2927,
}


def problems(settings) -> list[str]:
    with pytest.raises(ConfigError) as error:
        county_settings_validate(settings=settings)
    return error.value.problems


def test_the_defaults_and_bentons_shipped_settings_are_valid():
    # A key added to default_county_settings() without a field in the serializer fails here, not in production.
    assert county_settings_validate(settings=default_county_settings()) == default_county_settings()
    benton = county_config_load(CONFIGS_DIR / "benton-wa").county.settings
    assert county_settings_validate(settings=benton) == benton
    assert benton["ratio_study"] == {
        "min_ratio": 0.25,
        "max_ratio": 1.75,
        "sale_price_deduction": 0.01,
        "iqr_multiplier": None,
        "max_excluded_share": 0.05,
        "study_period_start": "05-01",
        "min_sales": 5,
    }


def test_every_problem_is_reported_at_once_with_its_path():
    bad = {
        "valid_sale_codes": [0, "00", "00", "123456", " "],
        "ratio_study": {"min_ratio": "0.2", "max_ratio": True, "min_sales": 2.5, "sale_price_deduction": 1, "x": 1},
        "local_crs_epsg": 4326,
        "assessment_date": "02-30",
        "colour": "blue",
    }

    assert problems(bad) == [
        "settings: unknown key 'colour'; the keys are valid_sale_codes, ratio_study, local_crs_epsg, "
        "assessment_date, demo_model, generated_by.",
        'settings.valid_sale_codes: code 1 must be text, not a number (0); put it in quotes, e.g. "0".',
        "settings.valid_sale_codes: code '00' is listed twice.",
        "settings.valid_sale_codes: code 4 ('123456') is longer than PACS's five characters.",
        "settings.valid_sale_codes: code 5 must not be empty.",
        "settings.ratio_study: unknown key 'x'; the keys are min_ratio, max_ratio, min_sales, sale_price_deduction, "
        "iqr_multiplier, max_excluded_share, study_period_start.",
        "settings.ratio_study.min_ratio: must be a number, not '0.2'.",
        "settings.ratio_study.max_ratio: must be a number, not true/false (true).",
        "settings.ratio_study.min_sales: must be a whole number, not a number (2.5).",
        "settings.ratio_study.sale_price_deduction: must be a fraction from 0 up to (not including) 1, e.g. 0.01 for "
        "1%, not 1.0.",
        "settings.local_crs_epsg: 4326 (WGS 84) is geographic (degrees); use the county's projected State Plane CRS, "
        "e.g. 2927 for Washington South (ftUS).",
        "settings.assessment_date: '02-30' is not a month and day written MM-DD, e.g. \"01-01\".",
    ]


@pytest.mark.parametrize(
    "settings, expected",
    [
        (
            {},
            [
                "settings.valid_sale_codes: missing.",
                "settings.ratio_study: missing.",
                "settings.local_crs_epsg: missing.",
            ],
        ),
        (None, ["settings: must be a mapping, not empty."]),
        ([], ["settings: must be a mapping, not a list."]),
        ({**VALID, "ratio_study": None}, ["settings.ratio_study: must be a mapping, not empty."]),
        (
            {**VALID, "ratio_study": {"min_ratio": 1.75, "max_ratio": 1.75, "min_sales": 5}},
            ["settings.ratio_study.min_ratio: must be below max_ratio (1.75), not 1.75."],
        ),
        (
            {**VALID, "ratio_study": {"min_ratio": 0.25}},
            ["settings.ratio_study.max_ratio: missing.", "settings.ratio_study.min_sales: missing."],
        ),
        (
            {**VALID, "valid_sale_codes": []},
            ["settings.valid_sale_codes: must be a non-empty list of quoted codes, e.g. ['00'], not a list."],
        ),
        (
            {**VALID, "valid_sale_codes": "00"},
            ["settings.valid_sale_codes: must be a non-empty list of quoted codes, e.g. ['00'], not '00'."],
        ),
        ({**VALID, "local_crs_epsg": 99999}, ["settings.local_crs_epsg: 99999 is not an EPSG CRS code (1024-32767)."]),
        ({**VALID, "local_crs_epsg": "2927"}, ["settings.local_crs_epsg: must be a whole number, not '2927'."]),
        (
            {**VALID, "ratio_study": {**VALID["ratio_study"], "iqr_multiplier": -1.5}},
            ["settings.ratio_study.iqr_multiplier: must be greater than 0, not -1.5."],
        ),
        ({**VALID, "demo_model": []}, ['settings.demo_model: Expected a dictionary of items but got type "list".']),
    ],
    ids=[
        "empty",
        "null",
        "a list",
        "ratio_study null",
        "min equals max",
        "partial ratio_study",
        "no sale codes",
        "sale codes as text",
        "EPSG out of range",
        "EPSG as text",
        "negative IQR multiplier",
        "demo_model not a mapping",
    ],
)
def test_invalid_settings(settings, expected):
    assert problems(settings) == expected


def test_valid_settings_are_normalised():
    settings = {
        "valid_sale_codes": [" 00", "01 "],
        "ratio_study": {"min_ratio": 1, "max_ratio": 2, "min_sales": 3, "iqr_multiplier": None},
        "local_crs_epsg": 2927,
        "assessment_date": "01-01",
        "generated_by": {"command": "generate_demo_county"},
    }

    assert county_settings_validate(settings=settings) == {
        "valid_sale_codes": ["00", "01"],
        "ratio_study": {"min_ratio": 1.0, "max_ratio": 2.0, "min_sales": 3, "iqr_multiplier": None},
        "local_crs_epsg": 2927,
        "assessment_date": "01-01",
        "generated_by": {"command": "generate_demo_county"},
    }
    assert CountySettingsSerializer(data=settings).is_valid()


def test_county_yaml_settings_are_merged_over_the_defaults_one_level_deep():
    merged = county_settings_with_defaults({"ratio_study": {"max_ratio": 1.75}, "assessment_date": "01-01"})

    assert merged == {
        **default_county_settings(),
        "ratio_study": {"min_ratio": 0.2, "max_ratio": 1.75, "min_sales": 5},
        "assessment_date": "01-01",
    }
    assert county_settings_with_defaults(None) == default_county_settings()


COUNTY = {
    "slug": "benton-wa",
    "name": "Benton County",
    "state": "WA",
    "fips_code": "53005",
    "timezone": "America/Los_Angeles",
    "working_roll_year": 2026,
    "certified_roll_year": None,
}


def county_file_problems(data) -> list[str]:
    serializer = CountyFileSerializer(data=data)
    assert not serializer.is_valid()
    return error_problems(serializer.errors, "county.yaml")


def test_county_file_checks_types_and_the_models_own_rules_together():
    data = {
        **COUNTY,
        "slug": "Benton_WA",
        "state": "Wash",
        "fips_code": 53005,
        "timezone": "Pacific",
        "working_roll_year": "2026",
        "is_active": "yes",
        "settings": {"ratio_study": {"min_ratio": 0}},
    }
    del data["certified_roll_year"]

    assert county_file_problems(data) == [
        "county.yaml: slug: Use lower-case letters, digits and single hyphens, e.g. benton-wa.",
        "county.yaml: state: Use the two-letter USPS code, e.g. WA.",
        "county.yaml: state: Ensure this value has at most 2 characters (it has 4).",
        'county.yaml: fips_code: must be text, not a number (53005); put it in quotes, e.g. "53005".',
        "county.yaml: timezone: 'Pacific' is not an IANA time zone (e.g. America/Los_Angeles).",
        "county.yaml: working_roll_year: must be a whole number, not '2026'.",
        "county.yaml: certified_roll_year: missing (null for a county with no certified roll yet).",
        "county.yaml: settings.ratio_study.min_ratio: must be greater than 0, not 0.0.",
        "county.yaml: is_active: must be true or false, not 'yes'.",
    ]


def test_county_file_values():
    serializer = CountyFileSerializer(data={**COUNTY, "name": "  Benton County "})

    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == {
        **COUNTY,
        "settings": default_county_settings(),
        "is_active": True,
    }


def test_county_file_must_be_a_mapping():
    assert county_file_problems(None) == ["county.yaml: must be a mapping, not empty."]
    assert county_file_problems(["slug"]) == ["county.yaml: must be a mapping, not a list."]


USER = {"username": "kbrennan", "name": "Kathleen Brennan", "email": "kathleen.brennan@example.org", "roles": []}


def users_problems(data) -> list[str]:
    serializer = UserEntrySerializer(data=data, many=True)
    assert not serializer.is_valid()
    if isinstance(serializer.errors, dict):
        return error_problems(serializer.errors, "users.yaml")
    return [line for item, errors in enumerate(serializer.errors, 1) for line in error_problems(errors, f"user {item}")]


def test_user_entries():
    serializer = UserEntrySerializer(
        data=[
            {**USER, "name": "Mary Ann Smith", "roles": ["viewer", "appraiser", "viewer"]},
            {**USER, "username": "cher", "name": "Cher", "email": "cher@EXAMPLE.org", "is_staff": False},
            {
                "username": "jdoe",
                "first_name": "J.",
                "last_name": "van Doe",
                "email": "j@example.org",
                "roles": [],
                "password_env": "TF_JDOE",
            },
        ],
        many=True,
    )

    assert serializer.is_valid(), serializer.errors
    assert [dict(user) for user in serializer.validated_data] == [
        {
            "username": "kbrennan",
            "first_name": "Mary Ann",
            "last_name": "Smith",
            "email": "kathleen.brennan@example.org",
            "roles": ("viewer", "appraiser"),
            "is_staff": True,
        },
        {
            "username": "cher",
            "first_name": "Cher",
            "last_name": "",
            "email": "cher@example.org",
            "roles": (),
            "is_staff": False,
        },
        {
            "username": "jdoe",
            "first_name": "J.",
            "last_name": "van Doe",
            "email": "j@example.org",
            "roles": (),
            "is_staff": True,
            "password_env": "TF_JDOE",
        },
    ]


def test_user_entry_problems_are_all_reported_per_user():
    data = [
        {**USER, "first_name": "K", "password": "hunter2", "roles": "viewer"},
        {"username": "bad name!", "email": "KATHLEEN.brennan@example.org", "password_env": "1X", "is_staff": 1},
        "jdoe",
    ]

    assert users_problems(data) == [
        "user 1: give either name or first_name/last_name, not both.",
        "user 1: password: passwords are not allowed in files. Name an environment variable that holds the initial "
        "password (password_env: SOME_VAR), or leave both out to print a one-time set-password link.",
        "user 1: roles: must be a list of role names, e.g. [viewer].",
        "user 2: name: missing (give name, or first_name and last_name).",
        "user 2: username: Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ "
        "characters.",
        "user 2: roles: missing (a list of role names; [] for none in this county).",
        "user 2: is_staff: must be true or false, not a number (1).",
        "user 2: password_env: '1X' is not an environment variable name (letters, digits and _), e.g. "
        "TF_JDOE_PASSWORD.",
        "user 2: email: 'kathleen.brennan@example.org' is also user 1's.",
        "user 3: must be a mapping, not 'jdoe'.",
    ]


def test_users_file_must_be_a_list():
    assert users_problems(None) == ["users.yaml: must be a list of users (write [] for none yet), not empty."]
    assert users_problems(USER) == ["users.yaml: must be a list of users (write [] for none yet), not a mapping."]
    serializer = UserEntrySerializer(data=[], many=True)
    assert serializer.is_valid() and serializer.validated_data == []
