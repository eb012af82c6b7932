"""manage.py new_county_config <slug> --name ... --state ... --fips ...: the county setup kit.

Writes a new county's configuration directory (county.yaml, users.yaml, pacs_mapping.yaml), each commented key
by key, so an office starts from files that already pass every check instead of copying Benton's and missing a
value. The files are checked by the same loaders `setup_county` and the PACS loader use before anything is
written: what this command writes is always accepted as it is.
"""

import json
import re
import tempfile
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from counties.config import (
    CONFIGS_DIR,
    COUNTY_FILE,
    USERS_FILE,
    ConfigError,
    county_config_load,
    county_settings_with_defaults,
)
from ingestion.pacs.mapping import MAPPING_FILE, pacs_mapping_load, pacs_mapping_template

# county.yaml keys -> the argument that sets them, so a refused value is reported as the option the person typed.
_ARGUMENTS = {
    "slug": "slug",
    "name": "--name",
    "state": "--state",
    "fips_code": "--fips",
    "timezone": "--timezone",
    "working_roll_year": "--working-roll-year",
    "certified_roll_year": "--working-roll-year",
}


def _quoted(value: str) -> str:
    """`value` as a double-quoted YAML scalar (JSON's string syntax is YAML's), whatever characters it holds."""
    return json.dumps(value, ensure_ascii=False)


def _one_line(value: str) -> str:
    """`value` for a comment: a line break in an argument must not end the comment and start YAML."""
    return " ".join(value.split())


def county_file_text(*, slug: str, name: str, state: str, fips: str, timezone: str, working_roll_year: int) -> str:
    """county.yaml for a new county: its identity, roll years, and the default settings written out and explained
    (settings left out would take the same defaults; written out, the office sees what it can change)."""
    settings = county_settings_with_defaults(None)
    ratio = settings["ratio_study"]
    return f"""\
# {_one_line(name)}, {_one_line(state)}. Apply with:
#   manage.py setup_county <this directory> --dry-run      (then without --dry-run)
# Keys: counties/configs/README.md. Quote codes and ids so YAML keeps them as text ("{fips}", "00").

# The county's id in URLs and role group names (lower-case letters, digits, single hyphens). setup_county finds
# the county by it: changing it later makes a new county.
slug: {_quoted(slug)}
name: {_quoted(name)}
state: {_quoted(state)} # two-letter USPS code
fips_code: {_quoted(fips)} # five-digit county FIPS code: state (2 digits) + county (3); unique across counties
timezone: {_quoted(timezone)} # IANA time zone of the office

# Roll years. working_roll_year is the assessment year being valued now; certified_roll_year the last roll
# certified (not after the working year; null for none yet). When a roll is certified, move both on a year and
# run setup_county again.
working_roll_year: {working_roll_year}
certified_roll_year: {working_roll_year - 1}

# false gives the county's role holders no access (superusers aside).
is_active: true

# Merged over the defaults (counties.models.default_county_settings()); these are the defaults, written out.
settings:
  # PACS sale ratio codes (sale.sl_ratio_type_cd, trimmed) of arm's-length sales, usable in ratio studies and
  # models; keep equal to pacs_mapping.yaml's valid_sale_codes. In PACS:
  #   SELECT sl_ratio_type_cd FROM sale_ratio_type WHERE invalid_sale = 0
  valid_sale_codes: {json.dumps(settings["valid_sale_codes"])}

  ratio_study:
    # Ratios (assessed value / sale price) outside these limits are trimmed before a ratio study.
    # Washington (WAC 458-53-070(4)): 0.25 and 1.75.
    min_ratio: {ratio["min_ratio"]}
    max_ratio: {ratio["max_ratio"]}
    # Fewer sales than this in a stratum (neighbourhood, property type) gives no statistics for it.
    min_sales: {ratio["min_sales"]}
    # Optional: sale_price_deduction (fraction of the price deducted for personal property; Washington 0.01),
    # max_excluded_share (the limits above apply while at most this share of sales is outside; Washington 0.05),
    # study_period_start ("MM-DD" in the year before the roll year where its twelve months of sales start;
    # Washington "05-01") and iqr_multiplier (IAAO outlier fences at quartile -/+ k x IQR; null for none).

  # EPSG code of the county's projected State Plane CRS, for distances and areas (2927 Washington South ftUS,
  # 2926 Washington North ftUS); keep it the CRS of pacs_mapping.yaml's coordinate_crs.
  local_crs_epsg: {settings["local_crs_epsg"]}

  # Optional: assessment_date, the valuation date within the roll year as "MM-DD" (Washington: "01-01").
"""  # noqa: S608 (SQL in a comment, not a query)


def users_file_text(*, slug: str, name: str) -> str:
    """users.yaml for a new county: the first county administrator, whose password comes from an environment
    variable (never from the file), and a commented example of the other staff."""
    password_env = f"TF_{re.sub(r'[^A-Za-z0-9]', '_', slug).upper()}_ADMIN_PASSWORD"
    return f"""\
# {_one_line(name)} staff and their roles in {_one_line(slug)}.
# Roles: counties/roles.py; keys: counties/configs/README.md.
# Replace the example person with the office's administrator before applying in production.
#
# No passwords in this file. A new user gets a one-time set-password link, printed by setup_county, unless
# password_env names an environment variable holding the initial password (read only when the user is created;
# an existing user's password is never changed). Roles listed here are exactly the user's roles in this county
# (roles: [] removes them all); roles in other counties are not touched.

- username: county.admin
  name: County Administrator # "First Last": the last word is the last name (or give first_name and last_name)
  email: county.admin@example.org
  roles: [county_admin] # manages the county's users and settings
  # The first administrator logs in with a password handed over out of band:
  #   {password_env}='...' manage.py setup_county <this directory>
  password_env: {password_env}

# More staff, one entry each. Roles: viewer, appraiser, analyst, gis_analyst, data_steward, county_admin.
# - username: jdoe
#   first_name: Jane
#   last_name: Doe
#   email: jane.doe@example.org
#   roles: [appraiser, analyst]
#
# - username: boe.clerk
#   name: Board Clerk
#   email: boe.clerk@example.org
#   roles: [viewer]
#   is_staff: false # uses the API and reports, not the admin
"""


class Command(BaseCommand):
    help = (
        "Write a new county's configuration directory (county.yaml, users.yaml, pacs_mapping.yaml), commented "
        "and checked by the loaders setup_county uses, ready for `manage.py setup_county <dir> --dry-run`."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The county's id in URLs and group names, e.g. franklin-wa.")
        parser.add_argument("--name", required=True, help='The county\'s name, e.g. "Franklin County".')
        parser.add_argument("--state", required=True, help="Two-letter USPS state code, e.g. WA.")
        parser.add_argument("--fips", required=True, help="Five-digit county FIPS code, e.g. 53021.")
        parser.add_argument("--timezone", default="America/Los_Angeles", help="IANA time zone of the office.")
        parser.add_argument(
            "--working-roll-year",
            type=int,
            default=date.today().year,
            help="The assessment year being valued now (default: this year); the certified roll is the year before.",
        )
        parser.add_argument(
            "--dir", default=str(CONFIGS_DIR), help="Where the county's directory is made (default counties/configs)."
        )
        parser.add_argument("--force", action="store_true", help="Overwrite the directory's files if they exist.")

    def handle(self, *args, slug, name, state, fips, timezone, working_roll_year, dir, force, **options):
        texts = {
            COUNTY_FILE: county_file_text(
                slug=slug, name=name, state=state, fips=fips, timezone=timezone, working_roll_year=working_roll_year
            ),
            USERS_FILE: users_file_text(slug=slug, name=name),
            MAPPING_FILE: pacs_mapping_template(),
        }
        given = {"slug": slug, "--name": name, "--state": state, "--fips": fips, "--timezone": timezone}
        given["--working-roll-year"] = working_roll_year
        self.config_check(texts, given)  # before the slug becomes a directory name: it may hold "/" or ".."
        directory = Path(dir) / slug
        existing = [file for file in texts if (directory / file).exists()]
        if existing and not force:
            raise CommandError(
                f"{directory} already holds {', '.join(existing)}; nothing was written (--force to overwrite)."
            )
        directory.mkdir(parents=True, exist_ok=True)
        for file, text in texts.items():
            (directory / file).write_text(text, encoding="utf-8")
            self.stdout.write(f"wrote {directory / file}")
        self.stdout.write(
            self.style.SUCCESS(f"{slug}: configuration written. Review the files (users.yaml's example admin), then:")
        )
        self.stdout.write(f"  manage.py setup_county {directory} --dry-run")

    def config_check(self, texts: dict[str, str], given: dict[str, object]) -> None:
        """Run the files through county_config_load and pacs_mapping_load in a scratch directory; a refused
        county.yaml value is reported as the argument that gave it."""
        with tempfile.TemporaryDirectory() as scratch:
            for file, text in texts.items():
                (Path(scratch) / file).write_text(text, encoding="utf-8")
            problems: list[str] = []
            for load in (county_config_load, lambda d: pacs_mapping_load(Path(d) / MAPPING_FILE)):
                try:
                    load(scratch)
                except ConfigError as exc:
                    problems.extend(exc.problems)
        if problems:
            messages = dict.fromkeys(_argument_problem(problem, given) for problem in problems)  # once each
            raise CommandError("\n".join(messages))


def _argument_problem(problem: str, given: dict[str, object]) -> str:
    """`county.yaml: fips_code: reason.` as `--fips '5302': reason.`; other problems (none expected) as they are."""
    file, _, rest = problem.partition(": ")
    key, _, reason = rest.partition(": ")
    if file == COUNTY_FILE and key in _ARGUMENTS:
        argument = _ARGUMENTS[key]
        return f"{argument} {given[argument]!r}: {reason}"
    return problem
