"""Read and check a county configuration directory (`county.yaml`, `users.yaml`) and a county's `settings`.

The checks are DRF serializers: `CountySettingsSerializer` is the one definition of valid county settings (used
by setup_county and by the County admin alike), `CountyFileSerializer` checks `county.yaml`, `UserEntrySerializer`
each entry of `users.yaml`. They need no database. On top of DRF they refuse unknown keys (with a "did you mean"
hint, so a typo cannot pass silently) and values of the wrong YAML type (YAML reads `00` as the number 0). Every
problem is collected, not just the first, and reported as `<file>: <dotted.path>: <reason>` so an operator fixes a
file in one pass; `counties.services.county_setup_apply` adds the checks that need the database (FIPS code taken
by another county, passwords of users to be created) and writes.

Passwords never live in these files: a user names an environment variable (`password_env`) instead, or gets
a one-time set-password link. The keys are documented in `counties/configs/README.md`.
"""

import copy
import difflib
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.settings import api_settings

from counties.models import County, default_county_settings
from counties.roles import ROLES

COUNTY_FILE = "county.yaml"
USERS_FILE = "users.yaml"
# Where the shipped configurations live; `setup_county benton-wa` is short for this directory's `benton-wa/`.
CONFIGS_DIR = Path(__file__).resolve().parent / "configs"


class ConfigError(Exception):
    """A county configuration has problems; `problems` lists every one, each naming its file (or field) and key."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class CountySpec:
    """The county as `county.yaml` describes it, with settings merged over `default_county_settings()`."""

    slug: str
    name: str
    state: str
    fips_code: str
    timezone: str
    working_roll_year: int
    certified_roll_year: int | None
    settings: dict = field(default_factory=default_county_settings)
    is_active: bool = True

    def model_fields(self) -> dict[str, Any]:
        """The County field values (a copy: the settings dict is not shared with the model instance)."""
        return {
            "slug": self.slug,
            "name": self.name,
            "state": self.state,
            "fips_code": self.fips_code,
            "timezone": self.timezone,
            "working_roll_year": self.working_roll_year,
            "certified_roll_year": self.certified_roll_year,
            "settings": copy.deepcopy(self.settings),
            "is_active": self.is_active,
        }


@dataclass(frozen=True)
class UserSpec:
    """One entry of `users.yaml`: who the user is, the roles they hold in this county, where a password comes from."""

    item: int  # 1-based position in users.yaml, for messages
    username: str
    first_name: str
    last_name: str
    email: str
    roles: tuple[str, ...]
    is_staff: bool = True
    password_env: str | None = None

    @property
    def label(self) -> str:
        return f"{USERS_FILE}: user {self.item} ({self.username})"


@dataclass(frozen=True)
class CountyConfig:
    directory: Path
    county: CountySpec
    users: tuple[UserSpec, ...]


# --- values: strict about YAML types, with messages an operator can act on ---------------------------------


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return repr(value)


def _did_you_mean(key: Any, known) -> str:
    matches = difflib.get_close_matches(str(key), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


class _Strict:
    """Mixin for the fields below: a missing or empty value is named as such, not as DRF's generic sentences."""

    kind = "a value"

    def __init__(self, **kwargs):
        messages = {"required": "missing", "null": f"must be {self.kind}, not empty"}
        super().__init__(**{**kwargs, "error_messages": {**messages, **kwargs.get("error_messages", {})}})

    def to_representation(self, value):
        return value


class Text(_Strict, serializers.CharField):
    """Text, stripped and not empty. A number is refused rather than turned into text: YAML reads 53005 as a number
    and 00 as 0, so a code or id must be quoted to keep its digits."""

    kind = "text"

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"] = {"blank": "must not be empty", **kwargs["error_messages"]}
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, int | float) and not isinstance(data, bool):
            raise serializers.ValidationError(f'must be text, not {_describe(data)}; put it in quotes, e.g. "{data}"')
        if not isinstance(data, str):
            raise serializers.ValidationError(f"must be text, not {_describe(data)}")
        return super().to_internal_value(data)


class WholeNumber(_Strict, serializers.Field):
    kind = "a whole number"

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            raise serializers.ValidationError(f"must be a whole number, not {_describe(data)}")
        return data


class Number(_Strict, serializers.Field):
    """A number (int or float; stored as float). Text such as "0.25" is refused: it is a quoting mistake."""

    kind = "a number"

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise serializers.ValidationError(f"must be a number, not {_describe(data)}")
        return float(data)


class Boolean(_Strict, serializers.Field):
    """true or false only: DRF's BooleanField would also take "yes", "0" or 1."""

    kind = "true or false"

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            raise serializers.ValidationError(f"must be true or false, not {_describe(data)}")
        return data


def greater_than_zero(value) -> None:
    if value <= 0:
        raise serializers.ValidationError(f"must be greater than 0, not {value}")


def fraction(value: float) -> None:
    if not 0 <= value < 1:
        raise serializers.ValidationError(
            f"must be a fraction from 0 up to (not including) 1, e.g. 0.01 for 1%, not {value}"
        )


def model_rules(model, name: str) -> Callable[[Any], None]:
    """A field validator that applies `model`'s own rules for field `name`: the field's validators and what the
    model's clean() says about it, on an unsaved instance holding only this value (so no rule is written twice).

    Uniqueness and constraints across fields need the database: they are checked when a configuration is applied.
    """

    def validate(value) -> None:
        others = [f.name for f in model._meta.concrete_fields if f.name != name]
        instance = model(**{name: value})
        try:
            instance.clean_fields(exclude=others)
            instance.clean()
        except DjangoValidationError as exc:
            messages = exc.message_dict.get(name)  # clean() may speak of fields left at their defaults here
            if messages:
                raise serializers.ValidationError(messages) from None

    return validate


class RoleList(_Strict, serializers.Field):
    """A list of role names (counties.roles.ROLES), each once."""

    kind = "a list of role names"

    def to_internal_value(self, data):
        if isinstance(data, str):
            raise serializers.ValidationError(f"must be a list of role names, e.g. [{data}]")
        if not isinstance(data, list):
            raise serializers.ValidationError(f"must be a list of role names, not {_describe(data)}")
        roles, problems = [], []
        for role in data:
            if not isinstance(role, str) or role not in ROLES:
                problems.append(f"unknown role {role!r}{_did_you_mean(role, ROLES)}; the roles are {', '.join(ROLES)}")
            elif role not in roles:
                roles.append(role)
        if problems:
            raise serializers.ValidationError(problems)
        return tuple(roles)


_SALE_CODE = Text()


class SaleCodeList(_Strict, serializers.Field):
    """A non-empty list of PACS sale ratio codes (text of at most 5 characters), each once."""

    kind = "a list of codes"

    def to_internal_value(self, data):
        if not isinstance(data, list) or not data:
            raise serializers.ValidationError(
                f"must be a non-empty list of quoted codes, e.g. ['00'], not {_describe(data)}"
            )
        codes, problems = [], []
        for position, item in enumerate(data, start=1):
            try:
                code = _SALE_CODE.run_validation(item)
            except serializers.ValidationError as exc:
                problems.extend(f"code {position} {message}" for message in _messages(exc.detail))
                continue
            if len(code) > 5:  # PACS sale_ratio_type.sl_ratio_type_cd is CHAR(5)
                problems.append(f"code {position} ({code!r}) is longer than PACS's five characters")
            elif code in codes:
                problems.append(f"code {code!r} is listed twice")
            else:
                codes.append(code)
        if problems:
            raise serializers.ValidationError(problems)
        return codes


# Geographic CRSs measure in degrees; distances and areas need a projected one (feet or metres).
_GEOGRAPHIC_EPSG = {4326: "WGS 84", 4269: "NAD83", 4152: "NAD83(HARN)", 6318: "NAD83(2011)"}


def projected_epsg(code: int) -> None:
    if code in _GEOGRAPHIC_EPSG:
        raise serializers.ValidationError(
            f"{code} ({_GEOGRAPHIC_EPSG[code]}) is geographic (degrees); use the county's projected State Plane "
            "CRS, e.g. 2927 for Washington South (ftUS)"
        )
    if not 1024 <= code <= 32767:  # the EPSG registry's range for coordinate reference systems
        raise serializers.ValidationError(f"{code} is not an EPSG CRS code (1024-32767)")


def month_day(value: str) -> None:
    match = re.fullmatch(r"(\d\d)-(\d\d)", value)
    days_in_month = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    if not match or not (1 <= int(match[1]) <= 12 and 1 <= int(match[2]) <= days_in_month[int(match[1]) - 1]):
        raise serializers.ValidationError(f'{value!r} is not a month and day written MM-DD, e.g. "01-01"')


def environment_variable_name(value: str) -> None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise serializers.ValidationError(
            f"{value!r} is not an environment variable name (letters, digits and _), e.g. TF_JDOE_PASSWORD"
        )


# --- serializers --------------------------------------------------------------------------------------------

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


class ConfigSerializer(serializers.Serializer):
    """A mapping with a fixed set of keys. DRF ignores unknown keys; here each is a problem, reported together
    with the problems of the values, as are the rules about which keys go together (`key_problems`)."""

    default_error_messages = {"required": "missing"}

    def run_validation(self, data=serializers.empty):
        # DRF would say "No data provided" for an empty file.
        if data is None and not self.allow_null:
            raise serializers.ValidationError({NON_FIELD: ["must be a mapping, not empty"]})
        return super().run_validation(data)

    def key_problems(self, data: Mapping) -> dict[str, list[str]]:
        """Problems with the keys of `data` themselves, by field name (NON_FIELD for the mapping as a whole)."""
        known = list(self.fields)
        return {
            NON_FIELD: [
                f"unknown key {key!r}{_did_you_mean(key, known)}; the keys are {', '.join(known)}"
                for key in data
                if key not in self.fields
            ]
        }

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({NON_FIELD: [f"must be a mapping, not {_describe(data)}"]})
        errors = {name: list(messages) for name, messages in self.key_problems(data).items() if messages}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            for name, detail in exc.detail.items():
                errors[name] = [*errors.get(name, []), *detail] if isinstance(detail, list) else detail
        if errors:
            raise serializers.ValidationError(errors)
        return value


# Washington's ratio-study rules (WAC 458-53-070) as county settings: Benton's county.yaml has them, the demo
# county (a Washington county) is made with them, and ratio studies fall back on them under Washington rules.
WASHINGTON_RATIO_STUDY = {
    "min_ratio": 0.25,
    "max_ratio": 1.75,
    "max_excluded_share": 0.05,
    "sale_price_deduction": 0.01,
    "study_period_start": "05-01",
    "iqr_multiplier": None,
    "min_sales": 5,
}


class RatioStudySerializer(ConfigSerializer):
    """Ratio-study limits. Washington's are in WAC 458-53-070: ratios 0.25-1.75, 1% deducted for personal property."""

    min_ratio = Number(validators=[greater_than_zero], help_text="Ratios below this are trimmed before a study.")
    max_ratio = Number(validators=[greater_than_zero], help_text="Ratios above this are trimmed; above min_ratio.")
    min_sales = WholeNumber(validators=[greater_than_zero], help_text="Fewest sales in a stratum for statistics.")
    sale_price_deduction = Number(
        required=False,
        validators=[fraction],
        help_text="Fraction of the sale price deducted for personal property sold with the real property.",
    )
    iqr_multiplier = Number(
        required=False,
        allow_null=True,
        validators=[greater_than_zero],
        help_text="k for IAAO outlier fences at quartile -/+ k x IQR; null for none.",
    )
    max_excluded_share = Number(
        required=False,
        validators=[fraction],
        help_text="Ratios outside min_ratio-max_ratio are excluded only while their share of sales is at most this "
        "(WAC 458-53-070: 0.05); beyond it they all stay in.",
    )
    study_period_start = Text(
        required=False,
        validators=[month_day],
        help_text='First day, "MM-DD", of the twelve months of sales a study of a roll year uses, in the year before '
        'it (Washington: "05-01", May 1 to April 30).',
    )

    def validate(self, attrs):
        if attrs["min_ratio"] >= attrs["max_ratio"]:
            raise serializers.ValidationError(
                {"min_ratio": f"must be below max_ratio ({attrs['max_ratio']}), not {attrs['min_ratio']}"}
            )
        return attrs


class CountySettingsSerializer(ConfigSerializer):
    """The one definition of valid `County.settings`: complete (every key of `default_county_settings()`), no
    unknown key. A new setting is a field here (the defaults must pass: a test holds them to it)."""

    valid_sale_codes = SaleCodeList(help_text="PACS sale ratio codes that mark an arm's-length sale, e.g. ['00'].")
    ratio_study = RatioStudySerializer()
    local_crs_epsg = WholeNumber(
        validators=[projected_epsg], help_text="EPSG code of the projected CRS for distances and areas."
    )
    assessment_date = Text(
        required=False,
        validators=[month_day],
        help_text='Valuation date within the working roll year, "MM-DD"; sale prices are time-adjusted to it.',
    )
    # Written by generate_demo_county on the counties it makes, and only read by it and by tests: the true price
    # model (for valuation code to be checked against) and the marker that lets --replace delete the county.
    # Nobody else sets them (GENERATOR_SETTINGS: the County admin refuses changes to them).
    demo_model = serializers.DictField(required=False, help_text="A demo county's true model (generated).")
    generated_by = serializers.DictField(required=False, help_text="The generator that made a demo county.")


# County settings only generate_demo_county writes: a person who could set the marker could make a real county
# deletable by `generate_demo_county --replace`.
GENERATOR_SETTINGS = ("generated_by", "demo_model")


def county_settings_with_defaults(given: Any) -> Any:
    """`given` (from county.yaml) merged over `default_county_settings()`, one level into nested mappings."""
    merged = default_county_settings()
    if given is None:
        return merged
    if not isinstance(given, Mapping):
        return given  # the serializer says what is wrong with it
    for key, value in given.items():
        default = merged.get(key)
        merged[key] = {**default, **value} if isinstance(default, dict) and isinstance(value, Mapping) else value
    return merged


class CountyFileSerializer(ConfigSerializer):
    """county.yaml. Field values obey the County model's own rules; `settings` is merged over the defaults first,
    so the file may give only what differs from them."""

    slug = Text(validators=[model_rules(County, "slug")])
    name = Text(validators=[model_rules(County, "name")])
    state = Text(validators=[model_rules(County, "state")])
    fips_code = Text(validators=[model_rules(County, "fips_code")])
    timezone = Text(validators=[model_rules(County, "timezone")])
    working_roll_year = WholeNumber(validators=[model_rules(County, "working_roll_year")])
    certified_roll_year = WholeNumber(
        allow_null=True,
        validators=[model_rules(County, "certified_roll_year")],
        error_messages={"required": "missing (null for a county with no certified roll yet)"},
    )
    settings = CountySettingsSerializer()
    is_active = Boolean(default=True)

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            data = {**data, "settings": county_settings_with_defaults(data.get("settings"))}
        return super().to_internal_value(data)


def _user_rules(name: str) -> Callable[[Any], None]:
    # The user model is looked up when a value is checked, not when this module is imported.
    return lambda value: model_rules(get_user_model(), name)(value)


class UserListSerializer(serializers.ListSerializer):
    """users.yaml: a list of entries; a username or email given twice is a problem of the later entry."""

    def run_validation(self, data=serializers.empty):
        if not isinstance(data, list):  # including an empty file, for which DRF would say "No data provided"
            raise serializers.ValidationError(
                {NON_FIELD: [f"must be a list of users (write [] for none yet), not {_describe(data)}"]}
            )
        return super().run_validation(data)

    def to_internal_value(self, data):
        duplicates: list[dict[str, list[str]]] = [{} for _ in data]
        first_item: dict[tuple[str, str], int] = {}
        for item, entry in enumerate(data, start=1):
            for key, value in _identity(entry).items():
                if (key, value) in first_item:
                    duplicates[item - 1][key] = [f"{value!r} is also user {first_item[key, value]}'s"]
                else:
                    first_item[key, value] = item
        try:
            users = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            errors = [{**entry, **duplicate} for entry, duplicate in zip(exc.detail, duplicates, strict=True)]
        else:
            if not any(duplicates):
                return users
            errors = duplicates
        raise serializers.ValidationError(errors)


def _identity(entry: Any) -> dict[str, str]:
    """The username and (case-folded) email of a raw users.yaml entry, normalised as they will be stored."""
    if not isinstance(entry, Mapping):
        return {}
    identity = {}
    if isinstance(entry.get("username"), str) and entry["username"].strip():
        identity["username"] = unicodedata.normalize("NFKC", entry["username"].strip())
    if isinstance(entry.get("email"), str) and entry["email"].strip():
        identity["email"] = entry["email"].strip().lower()
    return identity


class UserEntrySerializer(ConfigSerializer):
    """One entry of users.yaml. Values obey the user model's own rules; `name` is split into first and last."""

    username = Text(validators=[_user_rules("username")])
    name = Text(required=False)
    first_name = Text(required=False, validators=[_user_rules("first_name")])
    last_name = Text(required=False, validators=[_user_rules("last_name")])
    email = Text(validators=[_user_rules("email")])
    roles = RoleList(error_messages={"required": "missing (a list of role names; [] for none in this county)"})
    is_staff = Boolean(default=True)
    password_env = Text(required=False, validators=[environment_variable_name])

    class Meta:
        list_serializer_class = UserListSerializer

    def key_problems(self, data: Mapping) -> dict[str, list[str]]:
        problems = super().key_problems({key: value for key, value in data.items() if key != "password"})
        if "password" in data:
            problems["password"] = [
                "passwords are not allowed in files. Name an environment variable that holds the initial password "
                "(password_env: SOME_VAR), or leave both out to print a one-time set-password link"
            ]
        if "name" in data and ("first_name" in data or "last_name" in data):
            problems[NON_FIELD].append("give either name or first_name/last_name, not both")
        elif not {"name", "first_name", "last_name"} & data.keys():
            problems["name"] = ["missing (give name, or first_name and last_name)"]
        return problems

    def validate_username(self, value: str) -> str:
        return AbstractBaseUser.normalize_username(value)

    def validate_email(self, value: str) -> str:
        return BaseUserManager.normalize_email(value)

    def validate(self, attrs):
        if "name" in attrs:
            # "Mary Ann Smith" -> first "Mary Ann", last "Smith"; other shapes use first_name/last_name.
            first_name, _, last_name = attrs.pop("name").rpartition(" ")
            attrs["first_name"], attrs["last_name"] = (first_name.strip(), last_name) if first_name else (last_name, "")
        return attrs


# --- problems as lines: `<where>: <dotted.path>: <reason>.` --------------------------------------------------


def _messages(detail) -> list[str]:
    if isinstance(detail, list):
        return [str(message) for message in detail]
    return [str(detail)]


def _sentence(message: str) -> str:
    return message if message.endswith((".", "?", "!")) else f"{message}."


def error_problems(detail, where: str = "", path: tuple[str, ...] = ()) -> list[str]:
    """DRF's nested error detail as one line per problem: `where: dotted.path: reason.` (path left out for
    problems of the whole mapping)."""
    if isinstance(detail, Mapping):
        problems = []
        for key, sub in detail.items():
            problems.extend(error_problems(sub, where, path if key == NON_FIELD else (*path, str(key))))
        return problems
    prefix = ": ".join(part for part in (where, ".".join(path)) if part)
    return [f"{prefix}: {_sentence(message)}" if prefix else _sentence(message) for message in _messages(detail)]


def validation_problems(errors: dict[str, list[str]], where: str) -> list[str]:
    """Django ValidationError.message_dict as `where: key: message` lines."""
    return error_problems(
        {NON_FIELD if key == NON_FIELD_ERRORS else key: value for key, value in errors.items()}, where
    )


def county_settings_validate(*, settings: Any) -> dict:
    """`settings` checked against CountySettingsSerializer and normalised, as County.settings should store them.

    Raises ConfigError listing each problem as `settings.<dotted.path>: <reason>.`
    """
    serializer = CountySettingsSerializer(data=settings)
    if not serializer.is_valid():
        raise ConfigError(error_problems(serializer.errors, path=("settings",)))
    return dict(serializer.validated_data)


# --- the configuration directory -----------------------------------------------------------------------------


def county_config_dir(value: str | Path) -> Path:
    """The directory `value` names: a path, or a county's slug: its directory under COUNTY_CONFIG_DIR (an office's
    own configurations, outside the code), else the shipped one under `counties/configs/`."""
    path = Path(value)
    if path.is_dir():
        return path
    for base in (Path(django_settings.COUNTY_CONFIG_DIR), CONFIGS_DIR):
        if (base / str(value)).is_dir():
            return base / str(value)
    return path


def county_config_load(directory: str | Path) -> CountyConfig:
    """Read and check both files of a county configuration directory; raise ConfigError listing every problem."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError([f"{directory}: not a directory (expected one holding {COUNTY_FILE} and {USERS_FILE})."])
    problems: list[str] = []
    county = _county_read(directory / COUNTY_FILE, problems)
    users = _users_read(directory / USERS_FILE, problems)
    if problems:
        raise ConfigError(problems)
    assert county is not None and users is not None  # no problems means both files were read
    return CountyConfig(directory=directory, county=county, users=users)


def _county_read(path: Path, problems: list[str]) -> CountySpec | None:
    ok, data = _yaml_read(path, problems)
    if not ok:
        return None
    serializer = CountyFileSerializer(data=data)
    if not serializer.is_valid():
        problems.extend(error_problems(serializer.errors, COUNTY_FILE))
        return None
    return CountySpec(**serializer.validated_data)


def _users_read(path: Path, problems: list[str]) -> tuple[UserSpec, ...] | None:
    ok, data = _yaml_read(path, problems)
    if not ok:
        return None
    serializer = UserEntrySerializer(data=data, many=True)
    if serializer.is_valid():
        return tuple(
            UserSpec(item=item, **{"first_name": "", "last_name": "", **entry})
            for item, entry in enumerate(serializer.validated_data, start=1)
        )
    if isinstance(serializer.errors, Mapping):  # the file as a whole (not a list)
        problems.extend(error_problems(serializer.errors, USERS_FILE))
        return None
    for item, (entry, errors) in enumerate(zip(data, serializer.errors, strict=True), start=1):
        username = _identity(entry).get("username")
        where = f"{USERS_FILE}: user {item}" + (f" ({username})" if username else "")
        problems.extend(error_problems(errors, where))
    return None


# --- YAML -------------------------------------------------------------------------------------------------


class _StrictSafeLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader (what `yaml.safe_load` uses: plain data only), except that a key given twice in one
    mapping is an error: the plain loader keeps the last value silently, so a second `roles:` would win unseen."""


def _construct_mapping_without_duplicates(loader: _StrictSafeLoader, node: yaml.MappingNode) -> dict:
    loader.flatten_mapping(node)
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"found the key {key!r} twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictSafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_without_duplicates)


def _yaml_read(path: Path, problems: list[str]) -> tuple[bool, Any]:
    """(True, data) for a readable YAML file; (False, None) after recording why not."""
    if not path.is_file():
        problems.append(f"{path.name}: file not found in {path.parent}.")
        return False, None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path.name}: cannot be read ({exc}).")
        return False, None
    loader = _StrictSafeLoader(text)
    try:
        return True, loader.get_single_data()
    except yaml.YAMLError as exc:
        problems.append(f"{path.name}: not valid YAML: {_yaml_error_text(exc)}")
        return False, None
    finally:
        loader.dispose()


def _yaml_error_text(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}."
    return f"{problem}."
