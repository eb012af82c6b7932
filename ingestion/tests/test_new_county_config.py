"""new_county_config, the county setup kit: what it writes passes every loader and setup_county applies it."""

import dataclasses
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from counties.config import COUNTY_FILE, USERS_FILE, county_config_load
from counties.models import County
from ingestion.pacs.mapping import MAPPING_FILE, pacs_mapping_default, pacs_mapping_load

FRANKLIN = ["franklin-wa", "--name", "Franklin County", "--state", "WA", "--fips", "53021"]


def run(*args, tmp_path) -> str:
    out = io.StringIO()
    call_command("new_county_config", *args, "--dir", str(tmp_path), stdout=out)
    return out.getvalue()


def test_writes_three_files_the_loaders_accept(tmp_path):
    output = run(*FRANKLIN, "--timezone", "America/Los_Angeles", "--working-roll-year", "2027", tmp_path=tmp_path)
    directory = tmp_path / "franklin-wa"
    assert sorted(path.name for path in directory.iterdir()) == sorted([COUNTY_FILE, USERS_FILE, MAPPING_FILE])
    for file in (COUNTY_FILE, USERS_FILE, MAPPING_FILE):
        assert f"wrote {directory / file}" in output
        assert (directory / file).read_text().startswith("#")  # commented
    assert f"manage.py setup_county {directory} --dry-run" in output

    config = county_config_load(directory)
    county = config.county
    assert (county.slug, county.name, county.state, county.fips_code) == (
        "franklin-wa",
        "Franklin County",
        "WA",
        "53021",
    )
    assert (county.working_roll_year, county.certified_roll_year, county.timezone) == (
        2027,
        2026,
        "America/Los_Angeles",
    )
    [admin] = config.users
    assert admin.roles == ("county_admin",) and admin.password_env == "TF_FRANKLIN_WA_ADMIN_PASSWORD"
    mapping = pacs_mapping_load(directory / MAPPING_FILE)
    assert mapping.path == directory / MAPPING_FILE
    assert dataclasses.replace(mapping, path=None) == pacs_mapping_default()


@pytest.mark.django_db
def test_setup_county_applies_what_it_writes(tmp_path, monkeypatch):
    run(*FRANKLIN, tmp_path=tmp_path)
    directory = tmp_path / "franklin-wa"
    monkeypatch.setenv("TF_FRANKLIN_WA_ADMIN_PASSWORD", "Tumbleweed-Pasco-2026")
    out = io.StringIO()
    call_command("setup_county", str(directory), "--dry-run", stdout=out)
    assert not County.objects.filter(slug="franklin-wa").exists()
    call_command("setup_county", str(directory), stdout=io.StringIO())
    county = County.objects.get(slug="franklin-wa")
    assert (county.name, county.fips_code, county.state) == ("Franklin County", "53021", "WA")
    admin = get_user_model().objects.get(username="county.admin")
    assert admin.check_password("Tumbleweed-Pasco-2026")
    again = io.StringIO()
    call_command("setup_county", str(directory), stdout=again)
    assert "no changes" in again.getvalue()


def test_refuses_to_overwrite_without_force(tmp_path):
    run(*FRANKLIN, tmp_path=tmp_path)
    county_file = tmp_path / "franklin-wa" / COUNTY_FILE
    county_file.write_text("# edited by the office\n" + county_file.read_text())
    with pytest.raises(CommandError, match=r"already holds county\.yaml, users\.yaml, pacs_mapping\.yaml.*--force"):
        run(*FRANKLIN, tmp_path=tmp_path)
    assert county_file.read_text().startswith("# edited by the office")
    run(*FRANKLIN, "--force", tmp_path=tmp_path)
    assert not county_file.read_text().startswith("# edited by the office")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"franklin-wa": "Franklin_WA"}, "slug 'Franklin_WA': Use lower-case letters, digits and single hyphens"),
        ({"franklin-wa": "../escape"}, "slug '../escape': "),
        ({"53021": "5302"}, "--fips '5302': A county FIPS code is five digits"),
        ({"53021": "5302a"}, "--fips '5302a': A county FIPS code is five digits"),
        ({"WA": "Wash"}, "--state 'Wash': "),
        ({"WA": "wa"}, "--state 'wa': Use the two-letter USPS code, e.g. WA."),
        ({"Franklin County": " "}, "--name ' ': must not be empty."),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument(tmp_path, change, message):
    args = [change.get(arg, arg) for arg in FRANKLIN]
    with pytest.raises(CommandError) as raised:
        run(*args, tmp_path=tmp_path)
    assert message in str(raised.value)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_bad_timezone_and_roll_year_refused(tmp_path):
    with pytest.raises(CommandError) as raised:
        run(*FRANKLIN, "--timezone", "Pacific/Nowhere", "--working-roll-year", "1800", tmp_path=tmp_path)
    problems = str(raised.value).splitlines()
    assert problems == [
        "--timezone 'Pacific/Nowhere': 'Pacific/Nowhere' is not an IANA time zone (e.g. America/Los_Angeles).",
        "--working-roll-year 1800: Ensure this value is greater than or equal to 1900.",
    ]
    assert list(tmp_path.iterdir()) == []


def test_name_with_yaml_characters_is_kept_as_written(tmp_path):
    run("kittitas-wa", "--name", 'Kittitas County: "KC" #1', "--state", "WA", "--fips", "53037", tmp_path=tmp_path)
    assert county_config_load(tmp_path / "kittitas-wa").county.name == 'Kittitas County: "KC" #1'
