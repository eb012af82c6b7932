"""Read and check a county configuration directory: `county.yaml` (the county) and `users.yaml` (its staff).

Checks here need no database: the YAML keys against a schema (an unknown key is an error, so a typo cannot
pass silently), value types, and each model field's own validators. Every problem is collected, not just the
first, so an operator fixes a file in one pass; `counties.services.county_setup_apply` adds the checks that
need the database (FIPS code taken by another county, passwords of users to be created) and writes.

Passwords never live in these files: a user names an environment variable (`password_env`) instead, or gets
a one-time set-password link. The keys are documented in `counties/configs/README.md`.
"""

import copy
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from counties.models import County, default_county_settings
from counties.roles import ROLES

COUNTY_FILE = "county.yaml"
USERS_FILE = "users.yaml"
# Where the shipped configurations live; `setup_county benton-wa` is short for this directory's `benton-wa/`.
CONFIGS_DIR = Path(__file__).resolve().parent / "configs"


class ConfigError(Exception):
    """A county configuration has problems; `problems` lists every one, each naming its file and key."""

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


def county_config_dir(value: str | Path) -> Path:
    """The directory `value` names: a path, or the slug of a shipped configuration under `counties/configs/`."""
    path = Path(value)
    if not path.is_dir() and (CONFIGS_DIR / str(value)).is_dir():
        return CONFIGS_DIR / str(value)
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


# --- value checks: each returns the cleaned value or raises _Invalid with the reason ------------------------


class _Invalid(Exception):
    pass


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def _text(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        # YAML reads 53005 as a number and 00 as 0; codes and ids must be quoted to keep their digits.
        raise _Invalid(f'must be text, not {_describe(value)}; put it in quotes, e.g. "{value}"')
    if not isinstance(value, str):
        raise _Invalid(f"must be text, not {_describe(value)}")
    value = value.strip()
    if not value:
        raise _Invalid("must not be empty")
    return value


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"must be a whole number, not {_describe(value)}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(f"must be a number, not {_describe(value)}")
    return float(value)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"must be true or false, not {_describe(value)}")
    return value


def _nullable(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def nullable_check(value: Any) -> Any:
        return None if value is None else check(value)

    return nullable_check


def _env_name(value: Any) -> str:
    value = _text(value)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise _Invalid(f"{value!r} is not an environment variable name (letters, digits and _), e.g. TF_JDOE_PASSWORD")
    return value


def _roles(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        raise _Invalid(f"must be a list of role names, e.g. [{value}]")
    if not isinstance(value, list):
        raise _Invalid(f"must be a list of role names, not {_describe(value)}")
    roles = []
    for role in value:
        if not isinstance(role, str) or role not in ROLES:
            raise _Invalid(f"unknown role {role!r}{_did_you_mean(role, ROLES)}; the roles are {', '.join(ROLES)}")
        if role not in roles:
            roles.append(role)
    return tuple(roles)


def _sale_codes(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _Invalid(f"must be a non-empty list of quoted codes, e.g. ['00'], not {_describe(value)}")
    codes = []
    for position, code in enumerate(value, start=1):
        try:
            code = _text(code)
        except _Invalid as exc:
            raise _Invalid(f"code {position} {exc}") from None
        if len(code) > 5:  # PACS sale_ratio_type.sl_ratio_type_cd is CHAR(5)
            raise _Invalid(f"code {position} ({code!r}) is longer than PACS's five characters")
        if code in codes:
            raise _Invalid(f"code {code!r} is listed twice")
        codes.append(code)
    return codes


# Geographic CRSs measure in degrees; distances and areas need a projected one (feet or metres).
_GEOGRAPHIC_EPSG = {4326: "WGS 84", 4269: "NAD83", 4152: "NAD83(HARN)", 6318: "NAD83(2011)"}


def _epsg(value: Any) -> int:
    code = _integer(value)
    if code in _GEOGRAPHIC_EPSG:
        raise _Invalid(
            f"{code} ({_GEOGRAPHIC_EPSG[code]}) is geographic (degrees); use the county's projected State Plane "
            "CRS, e.g. 2927 for Washington South (ftUS)"
        )
    if not 1024 <= code <= 32767:  # the EPSG registry's range for coordinate reference systems
        raise _Invalid(f"{code} is not an EPSG CRS code (1024-32767)")
    return code


def _month_day(value: Any) -> str:
    value = _text(value)
    match = re.fullmatch(r"(\d\d)-(\d\d)", value)
    days_in_month = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    if not match or not (1 <= int(match[1]) <= 12 and 1 <= int(match[2]) <= days_in_month[int(match[1]) - 1]):
        raise _Invalid(f'{value!r} is not a month and day written MM-DD, e.g. "01-01"')
    return value


def _fraction(value: Any) -> float:
    number = _number(value)
    if not 0 <= number < 1:
        raise _Invalid(f"must be a fraction from 0 up to (not including) 1, e.g. 0.01 for 1%, not {value}")
    return number


def _positive(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def positive_check(value: Any) -> Any:
        value = check(value)
        if value <= 0:
            raise _Invalid(f"must be greater than 0, not {value}")
        return value

    return positive_check


# --- schemas ----------------------------------------------------------------------------------------------

# county.yaml: key -> (check, required). `certified_roll_year` is required but may be null (a new county).
COUNTY_KEYS: dict[str, tuple[Callable[[Any], Any], bool]] = {
    "slug": (_text, True),
    "name": (_text, True),
    "state": (_text, True),
    "fips_code": (_text, True),
    "timezone": (_text, True),
    "working_roll_year": (_integer, True),
    "certified_roll_year": (_nullable(_integer), True),
    "settings": (lambda value: value, False),  # checked key by key against SETTINGS_KEYS
    "is_active": (_boolean, False),
}

RATIO_STUDY_KEYS: dict[str, Callable[[Any], Any]] = {
    "min_ratio": _positive(_number),
    "max_ratio": _positive(_number),
    "min_sales": _positive(_integer),
    "sale_price_deduction": _fraction,
    "iqr_multiplier": _nullable(_positive(_number)),
}

# settings: key -> check (a dict value is a nested schema). Keys that `default_county_settings()` has and this
# table lacks are accepted when their value has the default's type, so a new default needs no change here.
SETTINGS_KEYS: dict[str, Callable[[Any], Any] | dict] = {
    "valid_sale_codes": _sale_codes,
    "ratio_study": RATIO_STUDY_KEYS,
    "local_crs_epsg": _epsg,
    "assessment_date": _month_day,
}

USER_KEYS: dict[str, Callable[[Any], Any]] = {
    "username": _text,
    "name": _text,
    "first_name": _text,
    "last_name": _text,
    "email": _text,
    "roles": _roles,
    "is_staff": _boolean,
    "password_env": _env_name,
}


def _did_you_mean(key: Any, known) -> str:
    matches = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def _unknown_key(where: str, key: Any, known) -> str:
    return f"{where}: unknown key {key!r}{_did_you_mean(key, known)}; the keys are {', '.join(known)}."


def _model_field_problems(model, values: dict[str, Any], where: str) -> list[str]:
    """The model's own validators for the fields in `values`, and its clean(), without the database.

    Run on whatever parsed, even when other keys had problems, so that every problem is reported at once.
    Uniqueness and constraints need the database: they are checked when the configuration is applied.
    """
    instance = model(**values)
    exclude = [f.name for f in model._meta.get_fields() if f.concrete and f.name not in values]
    errors: dict[str, list[str]] = {}
    for validate in (lambda: instance.clean_fields(exclude=exclude), instance.clean):
        try:
            validate()
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(m for m in messages if m not in errors.get(name, []))
    return validation_problems(errors, where)


def validation_problems(errors: dict[str, list[str]], where: str) -> list[str]:
    """Django ValidationError.message_dict as `where: key: message` lines."""
    problems = []
    for field_name, messages in errors.items():
        for message in messages:
            if field_name == NON_FIELD_ERRORS:
                problems.append(f"{where}: {message}")
            else:
                problems.append(f"{where}: {field_name}: {message}")
    return problems


# --- county.yaml ------------------------------------------------------------------------------------------


def _county_read(path: Path, problems: list[str]) -> CountySpec | None:
    ok, data = _yaml_read(path, problems)
    if not ok:
        return None
    where = COUNTY_FILE
    if not isinstance(data, dict):
        problems.append(f"{where}: must be a mapping of keys (slug, name, ...), not {_describe(data)}.")
        return None
    start = len(problems)
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in COUNTY_KEYS:
            problems.append(_unknown_key(where, key, COUNTY_KEYS))
            continue
        check, _required = COUNTY_KEYS[key]
        try:
            values[key] = check(value)
        except _Invalid as exc:
            problems.append(f"{where}: {key}: {exc}.")
    for key, (_check, required) in COUNTY_KEYS.items():
        if required and key not in data:
            hint = " (null for a county with no certified roll yet)" if key == "certified_roll_year" else ""
            problems.append(f"{where}: {key}: missing{hint}.")
    settings = _settings_read(data.get("settings"), where, problems)
    model_values = {key: value for key, value in values.items() if key != "settings"}
    problems.extend(_model_field_problems(County, model_values, where))
    if len(problems) > start:
        return None
    return CountySpec(
        slug=values["slug"],
        name=values["name"],
        state=values["state"],
        fips_code=values["fips_code"],
        timezone=values["timezone"],
        working_roll_year=values["working_roll_year"],
        certified_roll_year=values["certified_roll_year"],
        settings=settings,
        is_active=values.get("is_active", True),
    )


def _settings_read(given: Any, where: str, problems: list[str]) -> dict:
    """`given` merged over `default_county_settings()` (one level into nested mappings), each key checked."""
    merged = default_county_settings()
    if given is None:
        return merged
    if not isinstance(given, dict):
        problems.append(f"{where}: settings: must be a mapping, not {_describe(given)}.")
        return merged
    defaults = default_county_settings()
    known = {**dict.fromkeys(defaults), **SETTINGS_KEYS}
    for key, value in given.items():
        path = f"{where}: settings.{key}"
        check = SETTINGS_KEYS.get(key)
        if check is None and key not in defaults:
            problems.append(_unknown_key(f"{where}: settings", key, known))
        elif isinstance(check, dict):
            merged[key] = _nested_read(value, check, path, defaults.get(key, {}), problems)
        elif check is not None:
            try:
                merged[key] = check(value)
            except _Invalid as exc:
                problems.append(f"{path}: {exc}.")
        elif type(value) is not type(defaults[key]):
            problems.append(f"{path}: must be like the default {defaults[key]!r}, not {_describe(value)}.")
        else:
            merged[key] = value
    ratio_study = merged.get("ratio_study", {})
    low, high = ratio_study.get("min_ratio"), ratio_study.get("max_ratio")
    if isinstance(low, int | float) and isinstance(high, int | float) and low >= high:
        problems.append(f"{where}: settings.ratio_study: min_ratio ({low}) must be below max_ratio ({high}).")
    return merged


def _nested_read(value: Any, schema: dict, path: str, default: dict, problems: list[str]) -> dict:
    if not isinstance(value, dict):
        problems.append(f"{path}: must be a mapping, not {_describe(value)}.")
        return dict(default)
    merged = dict(default)
    for key, item in value.items():
        if key not in schema:
            problems.append(_unknown_key(path, key, schema))
            continue
        try:
            merged[key] = schema[key](item)
        except _Invalid as exc:
            problems.append(f"{path}.{key}: {exc}.")
    return merged


# --- users.yaml -------------------------------------------------------------------------------------------


def _users_read(path: Path, problems: list[str]) -> tuple[UserSpec, ...] | None:
    ok, data = _yaml_read(path, problems)
    if not ok:
        return None
    if not isinstance(data, list):
        problems.append(f"{USERS_FILE}: must be a list of users (write [] for none yet), not {_describe(data)}.")
        return None
    start = len(problems)
    users: list[UserSpec] = []
    for item, entry in enumerate(data, start=1):
        user = _user_read(item, entry, problems)
        if user is not None:
            users.append(user)
    first_item: dict[tuple[str, str], int] = {}
    for user in users:
        for key in ("username", "email"):
            value = getattr(user, key).lower() if key == "email" else user.username
            if (key, value) in first_item:
                problems.append(f"{user.label}: {key}: {value!r} is also user {first_item[key, value]}'s.")
            else:
                first_item[key, value] = user.item
    return tuple(users) if len(problems) == start else None


def _user_read(item: int, entry: Any, problems: list[str]) -> UserSpec | None:
    where = f"{USERS_FILE}: user {item}"
    if not isinstance(entry, dict):
        problems.append(f"{where}: must be a mapping (username, email, roles, ...), not {_describe(entry)}.")
        return None
    if isinstance(entry.get("username"), str) and entry["username"].strip():
        where = f"{where} ({entry['username'].strip()})"
    start = len(problems)
    values: dict[str, Any] = {}
    for key, value in entry.items():
        if key == "password":
            problems.append(
                f"{where}: password: passwords are not allowed in files. Name an environment variable that holds "
                "the initial password (password_env: SOME_VAR), or leave both out to print a one-time "
                "set-password link."
            )
        elif key not in USER_KEYS:
            problems.append(_unknown_key(where, key, USER_KEYS))
        else:
            try:
                values[key] = USER_KEYS[key](value)
            except _Invalid as exc:
                problems.append(f"{where}: {key}: {exc}.")
    for key in ("username", "email", "roles"):
        if key not in entry:
            hint = " (a list of role names; [] for none in this county)" if key == "roles" else ""
            problems.append(f"{where}: {key}: missing{hint}.")
    if "name" in entry and ("first_name" in entry or "last_name" in entry):
        problems.append(f"{where}: give either name or first_name/last_name, not both.")
    elif not {"name", "first_name", "last_name"} & entry.keys():
        problems.append(f"{where}: name: missing (give name, or first_name and last_name).")
    if "name" in values:
        # "Mary Ann Smith" -> first "Mary Ann", last "Smith"; other shapes use first_name/last_name.
        first_name, _, last_name = values.pop("name").rpartition(" ")
        values["first_name"], values["last_name"] = (first_name.strip(), last_name) if first_name else (last_name, "")
    if "username" in values:
        values["username"] = AbstractBaseUser.normalize_username(values["username"])
    if "email" in values:
        values["email"] = BaseUserManager.normalize_email(values["email"])
    model_values = {
        key: values[key] for key in ("username", "first_name", "last_name", "email", "is_staff") if key in values
    }
    problems.extend(_model_field_problems(get_user_model(), model_values, where))
    if len(problems) > start:
        return None
    return UserSpec(
        item=item,
        username=values["username"],
        first_name=values.get("first_name", ""),
        last_name=values.get("last_name", ""),
        email=values["email"],
        roles=values["roles"],
        is_staff=values.get("is_staff", True),
        password_env=values.get("password_env"),
    )
