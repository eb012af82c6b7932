"""Typed readers for environment variables: every setting comes from here, and a bad value stops start-up.

Each reader names the variable and what it expected, so an operator can fix a deployment from the
message alone.
"""

import os
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = _raw(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"{name} must be set.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def env_duration(name: str, default: timedelta) -> timedelta:
    """A duration such as `15m`, `12h`, `7d` or a plain number of seconds."""
    value = _raw(name)
    if value is None or value == "":
        return default
    unit = value[-1].lower()
    number, factor = (value[:-1], _DURATION_UNITS[unit]) if unit in _DURATION_UNITS else (value, 1)
    try:
        seconds = float(number) * factor
    except ValueError:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a duration; use seconds or a number with s, m, h or d (e.g. 15m)."
        ) from None
    if seconds <= 0:
        raise ImproperlyConfigured(f"{name}={value!r} must be a positive duration.")
    return timedelta(seconds=seconds)


def env_database(name: str, default: str | None) -> dict | None:
    """A Django DATABASES entry parsed from a URL (postgres://, sqlite:///); PACS's: ingestion/pacs/database.py."""
    import dj_database_url

    url = env_str(name, default)
    if url is None:
        return None
    try:
        config = dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0))
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"{name} is not a database URL we understand ({exc}).") from None
    if not config.get("ENGINE"):
        raise ImproperlyConfigured(f"{name} has an unknown scheme: {url.split(':', 1)[0]!r}.")
    return config
