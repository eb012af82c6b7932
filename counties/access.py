"""Which counties a user may act on: one query per (user, action), cached on the user object.

The user object lives for one request (or one command run), so the cache is per request, as the
design asks, and role changes are seen by the next request.
"""

from counties.roles import codename_for


def county_ids_for(user, action: str) -> frozenset[int] | None:
    """The ids of the counties where `user` holds the codename for `action`; None means all (superuser)."""
    codename = codename_for(action)
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return None
    cache = user.__dict__.setdefault("_county_ids_cache", {})
    if codename not in cache:
        from counties.models import CountyGroupObjectPermission, CountyUserObjectPermission

        via_groups = CountyGroupObjectPermission.objects.filter(
            group__user=user, permission__codename=codename, content_object__is_active=True
        ).values_list("content_object_id", flat=True)
        direct = CountyUserObjectPermission.objects.filter(
            user=user, permission__codename=codename, content_object__is_active=True
        ).values_list("content_object_id", flat=True)
        cache[codename] = frozenset(via_groups.union(direct))
    return cache[codename]


def user_can(user, action: str, county_id: int) -> bool:
    county_ids = county_ids_for(user, action)
    return county_ids is None or county_id in county_ids


def clear_access_cache(user) -> None:
    user.__dict__.pop("_county_ids_cache", None)
