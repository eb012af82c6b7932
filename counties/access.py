"""Which counties a user may act on, cached per process and never stale.

`county_ids_for(user, action)` answers from three places, nearest first:

1. the user object (one request, or one command run): a dict on the instance, as before;
2. this process's cache (`_county_ids`), valid while the access version in Redis is the one it was
   filled under;
3. the database (one query), whose answer is stored in both.

The access version is one counter in the shared Redis (`ACCESS_VERSION_KEY`). Every change that can
alter who may do what moves it on, after the change commits (`access_changed()`, called by the signal
receivers in counties/signals.py and by services that write in bulk): role group membership, the
guardian County permissions of groups and users, a user's flags or password, a county's active flag,
deleting any of these. A process that sees a new version drops everything it cached. The same version
guards the API's cached JWT user (terrafusion/api/authentication.py).

Why correct:
- a reader reads the version *before* it reads the database and stores the answer under that version.
  A change bumps the version only after it commits, so an answer read before the commit is stored under
  a version that is already past when the change is visible to anybody; the next request reads the new
  version and goes to the database. A change is therefore seen by the very next request in every process.
- inside a transaction (`connection.in_atomic_block`) the process cache is neither read nor filled:
  the transaction may hold its own uncommitted role changes, which must be seen by itself and must
  never be cached for others (a rollback would not bump). API requests run in autocommit.
- if Redis loses the counter, it restarts from the current time in microseconds, never from 0, so a
  version an entry was cached under does not come round again.

One version for everything, not one per user: access changes are rare (an administrator's edits) and
many of them concern many users at once (a county deactivated, a role group's permissions synced), so
per-user counters would still need a global one. A bump costs every process one query per (user,
action) on the next request of each user; that is the whole price.

Writes that bypass model signals (`QuerySet.update()`, `bulk_create()`, raw SQL) on these tables must
call `access_changed()` themselves.
"""

import time

from django.core.cache import cache
from django.db import connection, transaction

from counties.roles import codename_for

ACCESS_VERSION_KEY = "access-version"
PROCESS_CACHE_MAX_ENTRIES = 10_000  # (user, codename) pairs; cleared whole when full


def access_version() -> int | None:
    """The current access version from Redis (None if it is not set: then nothing may be cached)."""
    version = cache.get(ACCESS_VERSION_KEY)
    if version is None:
        access_version_start()
    return version


def access_version_start() -> None:
    """Set the version if Redis has none (first start, or Redis lost it); the next read caches again."""
    # Microseconds since the epoch: larger than any version of an earlier life of the counter.
    cache.add(ACCESS_VERSION_KEY, time.time_ns() // 1000, timeout=None)


def _bump() -> None:
    access_version_start()
    cache.incr(ACCESS_VERSION_KEY)


def access_changed() -> None:
    """Move the access version on once the current transaction commits (at once in autocommit)."""
    transaction.on_commit(_bump)


def caching_allowed() -> bool:
    """Whether a process cache may be read or filled now: only outside transactions (see the docstring)."""
    return not connection.in_atomic_block


class VersionedCache:
    """A bounded per-process dict whose entries are valid for one access version only."""

    def __init__(self, max_entries: int = PROCESS_CACHE_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._state: tuple[int | None, dict] = (None, {})

    def get(self, version: int | None, key):
        cached_version, entries = self._state
        if version is None or cached_version != version:
            return None
        return entries.get(key)

    def set(self, version: int | None, key, value) -> None:
        if version is None:
            return
        cached_version, entries = self._state
        if cached_version is not None and version < cached_version:
            return  # read under an older version (a long-lived user object): keep the newer entries
        if cached_version != version or len(entries) >= self.max_entries:
            entries = {}
            self._state = (version, entries)  # one assignment: a thread never sees a half-swapped state
        entries[key] = value

    def clear(self) -> None:
        self._state = (None, {})


_county_ids = VersionedCache()

_UNSET = object()


def request_access_version(user) -> int | None:
    """The access version for this user object's lifetime (read once, then kept on the object)."""
    version = user.__dict__.get("_access_version", _UNSET)
    if version is _UNSET:
        version = access_version()
        user.__dict__["_access_version"] = version
    return version


def county_ids_for(user, action: str) -> frozenset[int] | None:
    """The ids of the counties where `user` holds the codename for `action`; None means all (superuser)."""
    codename = codename_for(action)
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return None
    per_object = user.__dict__.setdefault("_county_ids_cache", {})
    if codename in per_object:
        return per_object[codename]
    if caching_allowed():
        version = request_access_version(user)  # read before the database: see the module docstring
        county_ids = _county_ids.get(version, (user.pk, codename))
        if county_ids is None:
            county_ids = _query_county_ids(user, codename)
            _county_ids.set(version, (user.pk, codename), county_ids)
    else:
        county_ids = _query_county_ids(user, codename)
    per_object[codename] = county_ids
    return county_ids


def _query_county_ids(user, codename: str) -> frozenset[int]:
    from counties.models import CountyGroupObjectPermission, CountyUserObjectPermission

    via_groups = CountyGroupObjectPermission.objects.filter(
        group__user=user, permission__codename=codename, content_object__is_active=True
    ).values_list("content_object_id", flat=True)
    direct = CountyUserObjectPermission.objects.filter(
        user=user, permission__codename=codename, content_object__is_active=True
    ).values_list("content_object_id", flat=True)
    return frozenset(via_groups.union(direct))


def user_can(user, action: str, county_id: int) -> bool:
    county_ids = county_ids_for(user, action)
    return county_ids is None or county_id in county_ids


def clear_access_cache(user) -> None:
    """Forget what this user object knows (after its roles changed within the same request or command)."""
    user.__dict__.pop("_county_ids_cache", None)
    user.__dict__.pop("_access_version", None)
