"""setup_county: the shipped benton-wa configuration applies, re-applies as a no-op, and bad files write nothing."""

import io
import re
import shutil
import sys
import types
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import path, resolve
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from counties.config import CONFIGS_DIR
from counties.models import County, CountyGroupObjectPermission
from counties.roles import ROLES
from terrafusion.testing.factories import PASSWORD, CountyFactory, user_with_role
from terrafusion.urls import urlpatterns as project_urlpatterns

User = get_user_model()
BENTON = CONFIGS_DIR / "benton-wa"
ASSESSOR_ENV = "TF_BENTON_ASSESSOR_PASSWORD"
ASSESSOR_PASSWORD = "Sagebrush-Columbia-2026"
SITE_URL = "https://terrafusion.example.org"

# The set-password links need Django's password-reset-confirm routes. terrafusion/urls.py (the lead's) may not
# have them yet, so these tests run on the project's routes plus these two (the same ones the lead is asked to
# add; a duplicate name is harmless).
urlpatterns = [
    *project_urlpatterns,
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@pytest.fixture(autouse=True)
def environment(monkeypatch, settings):
    monkeypatch.setenv(ASSESSOR_ENV, ASSESSOR_PASSWORD)
    settings.SITE_URL = SITE_URL
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; hashing is not tested


@pytest.fixture
def config(tmp_path) -> Path:
    """A writable copy of the shipped benton-wa configuration."""
    return Path(shutil.copytree(BENTON, tmp_path / "benton-wa"))


def setup_county(*args, **options) -> str:
    """Run the command; its stdout and stderr together."""
    out, err = io.StringIO(), io.StringIO()
    call_command("setup_county", *map(str, args), stdout=out, stderr=err, **options)
    return out.getvalue() + err.getvalue()


def failure(*args, **options) -> str:
    with pytest.raises(CommandError) as error:
        setup_county(*args, **options)
    return str(error.value)


def edit(directory: Path, file: str, change) -> None:
    """Load a YAML file of the configuration, let `change` edit the data in place, write it back."""
    data = yaml.safe_load((directory / file).read_text())
    change(data)
    (directory / file).write_text(yaml.safe_dump(data, sort_keys=False))


def user_entry(users: list, username: str) -> dict:
    return next(entry for entry in users if entry["username"] == username)


def shipped_users() -> list[dict]:
    return yaml.safe_load((BENTON / "users.yaml").read_text())


def links_in(output: str) -> dict[str, str]:
    return dict(re.findall(r"^  (\S+): (https?://\S+)$", output, flags=re.MULTILINE))


def county_groups(user, slug: str = "benton-wa") -> set[str]:
    return set(user.groups.filter(name__startswith=f"{slug}:").values_list("name", flat=True))


def db_state() -> dict:
    """Everything setup_county may write, to prove a run wrote nothing (or nothing more)."""
    return {
        "counties": list(County.objects.order_by("slug").values()),
        "users": list(
            User.objects.order_by("username").values(
                "username", "first_name", "last_name", "email", "is_staff", "is_active", "password"
            )
        ),
        "memberships": sorted(User.groups.through.objects.values_list("user__username", "group__name")),
        "groups": sorted(Group.objects.values_list("name", flat=True)),
        "group_permissions": sorted(
            CountyGroupObjectPermission.objects.values_list(
                "group__name", "content_object__slug", "permission__codename"
            )
        ),
    }


# --- the shipped configuration ------------------------------------------------------------------------------


def test_benton_config_creates_the_county_its_role_groups_and_its_users():
    output = setup_county(BENTON)

    county = County.objects.get(slug="benton-wa")
    assert (county.name, county.state, county.fips_code, county.timezone) == (
        "Benton County",
        "WA",
        "53005",
        "America/Los_Angeles",
    )
    assert (county.working_roll_year, county.certified_roll_year, county.is_active) == (2026, 2025, True)
    assert county.settings == {
        "valid_sale_codes": ["00"],
        "ratio_study": {
            "min_ratio": 0.25,
            "max_ratio": 1.75,
            "min_sales": 5,
            "sale_price_deduction": 0.01,
            "iqr_multiplier": None,
            "max_excluded_share": 0.05,
            "study_period_start": "05-01",
        },
        "local_crs_epsg": 2927,
        "assessment_date": "01-01",
    }

    assert set(Group.objects.filter(name__startswith="benton-wa:").values_list("name", flat=True)) == {
        f"benton-wa:{role}" for role in ROLES
    }
    for role, codenames in ROLES.items():
        rows = CountyGroupObjectPermission.objects.filter(group__name=f"benton-wa:{role}")
        assert set(rows.values_list("permission__codename", flat=True)) == codenames, role
        assert set(rows.values_list("content_object_id", flat=True)) == {county.pk}, role

    entries = shipped_users()
    assert len(entries) >= 6
    for entry in entries:
        user = User.objects.get(username=entry["username"])
        assert county_groups(user) == {f"benton-wa:{role}" for role in entry["roles"]}, entry["username"]
        assert user.email == entry["email"]
        assert user.is_staff == entry.get("is_staff", True)
        assert user.is_active and not user.is_superuser
    kathleen = User.objects.get(username="kbrennan")  # written as `name: Kathleen Brennan`
    assert (kathleen.first_name, kathleen.last_name) == ("Kathleen", "Brennan")
    assert {role for entry in entries for role in entry["roles"]} == set(ROLES)

    assessor = User.objects.get(username="assessor")
    assert assessor.check_password(ASSESSOR_PASSWORD)
    assert county_groups(assessor) == {"benton-wa:county_admin"}

    # Everyone without password_env: no usable password, and a one-time link to set one.
    links = links_in(output)
    without_env = {entry["username"] for entry in entries if "password_env" not in entry}
    assert set(links) == without_env
    for username, link in links.items():
        user = User.objects.get(username=username)
        assert not user.has_usable_password()
        assert link.startswith(f"{SITE_URL}/")
        match = resolve(urlsplit(link).path)
        assert match.url_name == "password_reset_confirm"
        assert force_str(urlsafe_base64_decode(match.kwargs["uidb64"])) == str(user.pk)
        assert default_token_generator.check_token(user, match.kwargs["token"])
    assert ASSESSOR_PASSWORD not in output

    permission_rows = sum(len(codenames) for codenames in ROLES.values())
    assert "benton-wa: county created" in output
    assert f"6 group(s) created, {permission_rows} permission row(s) changed" in output
    assert "benton-wa: user lortega created (roles: analyst, appraiser; set-password link below)" in output
    assert f"user assessor created (roles: county_admin; password from ${ASSESSOR_ENV})" in output
    assert "no changes" not in output


def test_a_set_password_link_lets_the_user_choose_a_password_once(client):
    link = links_in(setup_county(BENTON))["lortega"]
    link_path = urlsplit(link).path

    response = client.get(link_path)  # the view swaps the token for a session and redirects
    assert response.status_code == 302
    form_url = response.url
    response = client.post(
        form_url, {"new_password1": "Horse-Heaven-Hills-99", "new_password2": "Horse-Heaven-Hills-99"}
    )
    assert response.status_code == 302

    user = User.objects.get(username="lortega")
    assert user.check_password("Horse-Heaven-Hills-99")
    client.logout()
    assert client.get(link_path).context["validlink"] is False  # used up: the password changed


def test_a_shipped_configuration_can_be_named_by_its_slug():
    output = setup_county("benton-wa", dry_run=True)
    assert "county would be created" in output


def test_running_twice_changes_nothing_and_says_so():
    setup_county(BENTON)
    before = db_state()

    with CaptureQueriesContext(connection) as queries:
        output = setup_county(BENTON)

    assert db_state() == before  # same rows, same updated_at, same password hashes and group memberships
    writes = [
        q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    assert output.splitlines()[0] == "benton-wa: no changes"
    assert "created" not in output and "updated" not in output and "changed" not in output
    assert links_in(output) == {}  # links only for users created now
    assert "not yet set a password: lortega, kbrennan" in output


def test_password_links_prints_fresh_links_for_users_who_never_set_one():
    setup_county(BENTON)
    before = db_state()

    output = setup_county(BENTON, password_links=True)

    assert db_state() == before
    assert "benton-wa: no changes" in output
    assert set(links_in(output)) == {entry["username"] for entry in shipped_users() if "password_env" not in entry}


def test_an_existing_county_is_updated_in_place():
    county = CountyFactory(slug="benton-wa", name="Benton", fips_code="53005")  # 2025 / 2024, default settings

    output = setup_county(BENTON)

    updated = County.objects.get(slug="benton-wa")
    assert updated.pk == county.pk
    assert (updated.name, updated.working_roll_year, updated.certified_roll_year) == ("Benton County", 2026, 2025)
    assert updated.settings["ratio_study"]["max_ratio"] == 1.75
    assert updated.updated_at > county.updated_at
    line = next(line for line in output.splitlines() if line.startswith("benton-wa: county updated: "))
    assert "name: 'Benton' -> 'Benton County'" in line
    assert "working_roll_year: 2025 -> 2026" in line
    assert "settings.ratio_study.max_ratio: 5.0 -> 1.75" in line
    assert "settings.assessment_date: (unset) -> '01-01'" in line
    assert "fips_code" not in line
    assert "role groups" not in output  # the factory already synced them


# --- changes to the files -----------------------------------------------------------------------------------


def test_changing_a_users_roles_in_the_file_moves_them(config):
    setup_county(config)
    others_before = {user.username: county_groups(user) for user in User.objects.exclude(username="lortega")}

    def demote(users):
        user_entry(users, "lortega")["roles"] = ["viewer"]
        user_entry(users, "lortega")["email"] = "l.ortega@example.org"

    edit(config, "users.yaml", demote)
    before = db_state()
    preview = setup_county(config, dry_run=True)
    assert db_state() == before
    assert "benton-wa: user lortega roles would be changed: analyst, appraiser -> viewer" in preview

    output = setup_county(config)

    lortega = User.objects.get(username="lortega")
    assert county_groups(lortega) == {"benton-wa:viewer"}
    assert lortega.email == "l.ortega@example.org"
    assert {user.username: county_groups(user) for user in User.objects.exclude(username="lortega")} == others_before
    assert "benton-wa: user lortega roles changed: analyst, appraiser -> viewer" in output
    assert "benton-wa: user lortega updated: email: 'luis.ortega@example.org' -> 'l.ortega@example.org'" in output
    assert "kbrennan" not in output.split("note:")[0]
    assert "county" not in output and "role groups" not in output


def test_roles_in_other_counties_and_existing_passwords_are_untouched(config, other_county, monkeypatch):
    lortega = user_with_role(other_county, "appraiser", username="lortega")
    assessor = user_with_role(other_county, "county_admin", username="assessor")
    # The assessor already exists, so password_env is not read: the variable need not be set.
    monkeypatch.delenv(ASSESSOR_ENV)

    output = setup_county(config)

    lortega.refresh_from_db()
    assessor.refresh_from_db()
    assert county_groups(lortega, "franklin-wa") == {"franklin-wa:appraiser"}
    assert county_groups(lortega) == {"benton-wa:analyst", "benton-wa:appraiser"}
    assert county_groups(assessor, "franklin-wa") == {"franklin-wa:county_admin"}
    assert county_groups(assessor) == {"benton-wa:county_admin"}
    assert assessor.check_password(PASSWORD) and lortega.check_password(PASSWORD)  # never reset
    assert (lortega.first_name, lortega.last_name) == ("Luis", "Ortega")
    assert "lortega" not in links_in(output) and "assessor" not in links_in(output)
    assert "benton-wa: user lortega roles changed: none -> analyst, appraiser" in output
    assert "user lortega updated: first_name: 'Test' -> 'Luis'" in output

    # Taking every role in benton-wa away still leaves franklin-wa alone.
    edit(config, "users.yaml", lambda users: user_entry(users, "lortega").update(roles=[]))
    output = setup_county(config)
    assert county_groups(lortega) == set()
    assert county_groups(lortega, "franklin-wa") == {"franklin-wa:appraiser"}
    assert "benton-wa: user lortega roles changed: analyst, appraiser -> none" in output


def test_users_not_in_the_file_are_reported_and_pruned_only_when_asked(other_county):
    setup_county(BENTON)
    benton = County.objects.get(slug="benton-wa")
    former = user_with_role(benton, "appraiser", username="former")
    user_with_role(other_county, "viewer", username="former")  # adds to the same user (get_or_create)
    assert county_groups(former) == {"benton-wa:appraiser"}  # user_with_role sets roles per county

    output = setup_county(BENTON)
    assert "benton-wa: no changes" in output
    assert "note: user former holds appraiser here but is not in users.yaml" in output
    assert county_groups(former) == {"benton-wa:appraiser"}

    output = setup_county(BENTON, prune=True)
    assert "benton-wa: user former roles removed (not in users.yaml): appraiser" in output
    assert county_groups(former) == set()
    assert county_groups(former, "franklin-wa") == {"franklin-wa:viewer"}
    assert User.objects.get(username="former").is_active


def test_dry_run_writes_nothing():
    before = db_state()

    output = setup_county(BENTON, dry_run=True)

    assert db_state() == before
    assert output.splitlines()[0].startswith("Dry run: nothing was written")
    assert "benton-wa: county would be created" in output
    assert "role groups would be synced: 6 group(s) created" in output
    assert "user lortega would be created (roles: analyst, appraiser; set-password link printed when applied)" in output
    assert links_in(output) == {}


# --- bad files: a clear message, nothing written ------------------------------------------------------------


def set_county(key, value):
    return lambda directory, monkeypatch: edit(directory, "county.yaml", lambda county: county.update({key: value}))


def set_setting(key, value):
    return lambda directory, monkeypatch: edit(
        directory, "county.yaml", lambda county: county["settings"].update({key: value})
    )


def set_user(username, key, value):
    return lambda directory, monkeypatch: edit(
        directory, "users.yaml", lambda users: user_entry(users, username).update({key: value})
    )


def rename_county_key(old, new):
    return lambda directory, monkeypatch: edit(
        directory, "county.yaml", lambda county: county.update({new: county.pop(old)})
    )


def rename_user_key(username, old, new):
    def change(users):
        entry = user_entry(users, username)
        entry[new] = entry.pop(old)

    return lambda directory, monkeypatch: edit(directory, "users.yaml", change)


def replace_text(file, old, new):
    def change(directory, monkeypatch):
        text = (directory / file).read_text()
        assert old in text
        (directory / file).write_text(text.replace(old, new, 1))

    return change


def unset_env(directory, monkeypatch):
    monkeypatch.delenv(ASSESSOR_ENV)


def weak_env_password(directory, monkeypatch):
    monkeypatch.setenv(ASSESSOR_ENV, "benton")


BAD_CONFIGS = {
    "password in the file": (
        set_user("lortega", "password", "Tr0ub4dor&3-benton"),
        ["users.yaml: user 2 (lortega): password: passwords are not allowed in files", "password_env"],
    ),
    "unknown role": (
        set_user("kbrennan", "roles", ["appraiser", "apraiser"]),
        ["users.yaml: user 3 (kbrennan): roles: unknown role 'apraiser' (did you mean 'appraiser'?)"],
    ),
    "roles not a list": (
        set_user("kbrennan", "roles", "appraiser"),
        ["user 3 (kbrennan): roles: must be a list of role names, e.g. [appraiser]"],
    ),
    "unknown user key": (
        rename_user_key("praman", "email", "emial"),
        ["user 4 (praman): unknown key 'emial' (did you mean 'email'?)", "user 4 (praman): email: missing"],
    ),
    "unknown county key": (
        rename_county_key("timezone", "timezon"),
        ["county.yaml: unknown key 'timezon' (did you mean 'timezone'?)", "county.yaml: timezone: missing"],
    ),
    "unknown settings key": (
        set_setting("valid_sale_code", ["00"]),
        ["county.yaml: settings: unknown key 'valid_sale_code' (did you mean 'valid_sale_codes'?)"],
    ),
    "unknown ratio_study key": (
        set_setting("ratio_study", {"min_ratio": 0.25, "max_ration": 1.75}),
        ["county.yaml: settings.ratio_study: unknown key 'max_ration' (did you mean 'max_ratio'?)"],
    ),
    "bad FIPS": (
        set_county("fips_code", "5300"),
        ["county.yaml: fips_code: A county FIPS code is five digits"],
    ),
    "FIPS as a number": (
        set_county("fips_code", 53005),
        ['county.yaml: fips_code: must be text, not a number (53005); put it in quotes, e.g. "53005"'],
    ),
    "unquoted sale code": (
        replace_text("county.yaml", 'valid_sale_codes: ["00"]', "valid_sale_codes: [00]"),
        ["county.yaml: settings.valid_sale_codes: code 1 must be text, not a number (0)"],
    ),
    "min ratio above max": (
        set_setting("ratio_study", {"min_ratio": 6.0}),
        ["county.yaml: settings.ratio_study.min_ratio: must be below max_ratio (5.0), not 6.0."],
    ),
    "geographic CRS": (
        set_setting("local_crs_epsg", 4326),
        ["county.yaml: settings.local_crs_epsg: 4326 (WGS 84) is geographic"],
    ),
    "bad time zone": (
        set_county("timezone", "America/Kennewick"),
        ["county.yaml: timezone: 'America/Kennewick' is not an IANA time zone"],
    ),
    "certified after working year": (
        set_county("certified_roll_year", 2027),
        ["county.yaml: The certified roll year cannot be after the working roll year."],
    ),
    "bad email": (
        set_user("tnguyen", "email", "tuan.nguyen.example.org"),
        ["users.yaml: user 5 (tnguyen): email: Enter a valid email address."],
    ),
    "duplicate username": (
        set_user("praman", "username", "kbrennan"),
        ["users.yaml: user 4 (kbrennan): username: 'kbrennan' is also user 3's."],
    ),
    "key given twice": (
        replace_text("users.yaml", "  roles: [appraiser]\n", "  roles: [appraiser]\n  roles: [county_admin]\n"),
        ["users.yaml: not valid YAML: line", "found the key 'roles' twice"],
    ),
    "settings not a mapping": (
        set_county("settings", ["00"]),
        ["county.yaml: settings: must be a mapping, not a list."],
    ),
    "a year as text": (
        set_county("working_roll_year", "2026"),
        ["county.yaml: working_roll_year: must be a whole number, not '2026'."],
    ),
    "name and first_name": (
        set_user("kbrennan", "first_name", "Kathleen"),
        ["users.yaml: user 3 (kbrennan): give either name or first_name/last_name, not both."],
    ),
    "an empty users.yaml": (
        lambda directory, monkeypatch: (directory / "users.yaml").write_text("# nobody yet\n"),
        ["users.yaml: must be a list of users (write [] for none yet), not empty."],
    ),
    "password_env variable not set": (
        unset_env,
        [f"users.yaml: user 1 (assessor): password_env: the environment variable {ASSESSOR_ENV} is not set"],
    ),
    "password_env password too weak": (
        weak_env_password,
        [f"user 1 (assessor): password_env: the password in {ASSESSOR_ENV} is rejected: This password is too short"],
    ),
}


@pytest.mark.parametrize("breakage, expected", BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_a_bad_configuration_names_the_problem_and_writes_nothing(config, monkeypatch, breakage, expected):
    breakage(config, monkeypatch)
    before = db_state()

    message = failure(config)

    assert db_state() == before
    assert "nothing was written" in message
    for text in expected:
        assert text in message
    assert "Tr0ub4dor" not in message and "benton\n" not in message  # passwords are never echoed


def test_a_bad_configuration_does_not_touch_an_existing_county(config, county):
    before = db_state()
    edit(config, "county.yaml", lambda data: data.update(working_roll_year=2027, fips_code="5300"))

    failure(config)

    assert db_state() == before


def test_every_problem_is_listed_at_once(config, monkeypatch):
    edit(config, "county.yaml", lambda county: county.update(fips_code="5300", timezon="UTC"))

    def several(users):
        user_entry(users, "lortega")["password"] = "hunter2hunter2"
        user_entry(users, "kbrennan")["roles"] = ["apraiser"]

    edit(config, "users.yaml", several)

    message = failure(config)

    assert "4 problem(s), nothing was written" in message
    for text in ("unknown key 'timezon'", "fips_code: A county FIPS code", "(lortega): password:", "'apraiser'"):
        assert text in message


def test_a_fips_code_held_by_another_county_is_refused(config):
    CountyFactory(slug="benton-old", name="Old Benton", fips_code="53005")
    before = db_state()

    message = failure(config)

    assert "county.yaml: fips_code: County with this FIPS code already exists." in message
    assert db_state() == before


def test_a_failure_while_applying_rolls_everything_back(monkeypatch):
    from counties import services

    calls = []
    real = services.user_set_county_roles

    def fail_on_third_user(**kwargs):
        calls.append(kwargs["user"].username)
        if len(calls) == 3:
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(services, "user_set_county_roles", fail_on_third_user)
    before = db_state()

    with pytest.raises(RuntimeError):
        setup_county(BENTON)

    assert len(calls) == 3
    assert db_state() == before


def test_the_command_exits_non_zero_on_a_bad_configuration(config, monkeypatch, capsys):
    set_user("lortega", "password", "x")(config, monkeypatch)
    # run_from_argv closes the database connections when it finishes; keep the test's transaction open.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)

    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "setup_county", str(config)])

    assert exit_info.value.code == 1
    assert "(lortega): password: passwords are not allowed" in capsys.readouterr().err
    assert not County.objects.exists()


def test_without_a_password_reset_route_users_are_told_how_to_set_a_password(settings, monkeypatch):
    from django.contrib import admin

    urls = types.ModuleType("setup_county_test_urls_without_reset")
    urls.urlpatterns = [path("admin/", admin.site.urls)]
    monkeypatch.setitem(sys.modules, urls.__name__, urls)
    settings.ROOT_URLCONF = urls.__name__

    output = setup_county(BENTON)

    assert links_in(output) == {}
    assert "warning: lortega: no set-password link" in output
    assert "manage.py changepassword lortega" in output
    assert not User.objects.get(username="lortega").has_usable_password()
