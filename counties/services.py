"""Writes for counties: role groups kept in step with `counties.roles`, and role grants to users."""

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from counties.models import County, CountyGroupObjectPermission
from counties.roles import ALL_CODENAMES, ROLES, group_name


def _county_permissions() -> dict[str, Permission]:
    content_type = ContentType.objects.get_for_model(County)
    permissions = {
        p.codename: p for p in Permission.objects.filter(content_type=content_type, codename__in=ALL_CODENAMES)
    }
    missing = ALL_CODENAMES - permissions.keys()
    if missing:
        # Permissions are created by post_migrate; create any that a fresh database lacks.
        from counties.roles import COUNTY_PERMISSIONS

        names = dict(COUNTY_PERMISSIONS)
        for codename in missing:
            permissions[codename] = Permission.objects.get_or_create(
                content_type=content_type, codename=codename, defaults={"name": names[codename]}
            )[0]
    return permissions


@transaction.atomic
def county_sync_role_groups(*, counties: Iterable[County]) -> int:
    """Create each county's six role groups and give them exactly their role's County permissions.

    Returns the number of permission rows added or removed (0 when everything was already in step).
    """
    permissions = _county_permissions()
    changed = 0
    for county in counties:
        for role, codenames in ROLES.items():
            group, _ = Group.objects.get_or_create(name=group_name(county.slug, role))
            existing = dict(
                CountyGroupObjectPermission.objects.filter(group=group, content_object=county).values_list(
                    "permission__codename", "id"
                )
            )
            wanted = set(codenames)
            stale = [row_id for codename, row_id in existing.items() if codename not in wanted]
            if stale:
                CountyGroupObjectPermission.objects.filter(id__in=stale).delete()
            CountyGroupObjectPermission.objects.bulk_create(
                [
                    CountyGroupObjectPermission(group=group, content_object=county, permission=permissions[codename])
                    for codename in sorted(wanted - existing.keys())
                ]
            )
            changed += len(stale) + len(wanted - existing.keys())
    return changed


def role_groups(county: County) -> dict[str, Group]:
    names = {group_name(county.slug, role): role for role in ROLES}
    return {names[g.name]: g for g in Group.objects.filter(name__in=names)}


@transaction.atomic
def user_set_county_roles(*, user, county: County, roles: Iterable[str]) -> bool:
    """Make `user` hold exactly `roles` in `county` (other counties untouched). True if anything changed."""
    roles = set(roles)
    unknown = roles - ROLES.keys()
    if unknown:
        raise ValueError(f"Unknown role(s) {sorted(unknown)}; the roles are {sorted(ROLES)}.")
    groups = role_groups(county)
    if len(groups) != len(ROLES):
        county_sync_role_groups(counties=[county])
        groups = role_groups(county)
    held = set(user.groups.filter(id__in=[g.id for g in groups.values()]).values_list("id", flat=True))
    wanted = {groups[role].id for role in roles}
    if held == wanted:
        return False
    user.groups.remove(*(held - wanted))
    user.groups.add(*(wanted - held))
    from counties.access import clear_access_cache

    clear_access_cache(user)
    return True


def user_county_roles(user) -> dict[int, list[str]]:
    """{county id: [role, ...]} for the roles `user` holds through `<slug>:<role>` groups."""
    slugs = dict(County.objects.values_list("slug", "id"))
    result: dict[int, list[str]] = {}
    for name in user.groups.values_list("name", flat=True):
        slug, _, role = name.rpartition(":")
        if slug in slugs and role in ROLES:
            result.setdefault(slugs[slug], []).append(role)
    return {county_id: sorted(roles) for county_id, roles in result.items()}
