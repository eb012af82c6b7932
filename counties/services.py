"""Writes for counties: role groups kept in step with `counties.roles`, role grants to users, and setup_county
(a county, its role groups and its staff from a configuration directory)."""

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from counties.access import access_changed
from counties.config import COUNTY_FILE, ConfigError, CountySpec, county_config_load, validation_problems
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
    if changed:
        access_changed()  # bulk_create sends no post_save
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


# --- setup_county: a county, its role groups and its staff from a configuration directory ------------------


def county_config_changes(*, county: County, fields: dict) -> list[str]:
    """`field: old -> new` for each field (each settings key, by dotted path) where `fields` differs from `county`."""
    changes = []
    for name, new in fields.items():
        old = getattr(county, name)
        if name == "settings":
            changes.extend(_settings_changes(old or {}, new, "settings"))
        elif old != new:
            changes.append(f"{name}: {old!r} -> {new!r}")
    return changes


def _settings_changes(old: dict, new: dict, prefix: str) -> list[str]:
    changes = []
    for key in sorted(old.keys() | new.keys()):
        path = f"{prefix}.{key}"
        if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            changes.extend(_settings_changes(old[key], new[key], path))
        elif key not in new:
            changes.append(f"{path}: {old[key]!r} -> (removed)")
        elif key not in old:
            changes.append(f"{path}: (unset) -> {new[key]!r}")
        elif old[key] != new[key]:
            changes.append(f"{path}: {old[key]!r} -> {new[key]!r}")
    return changes


def _county_prepare(spec: CountySpec) -> tuple[County, bool, list[str], list[str]]:
    """(county with the spec's values, created?, changes, problems) for `spec`; writes nothing."""
    fields = spec.model_fields()
    county = County.objects.filter(slug=spec.slug).first()
    created = county is None
    changes = [] if created else county_config_changes(county=county, fields=fields)
    county = county or County()
    for name, value in fields.items():
        setattr(county, name, value)
    try:
        county.full_clean()  # field rules, clean(), the unique FIPS code and slug, the roll-year constraint
    except ValidationError as exc:
        return county, created, changes, validation_problems(exc.message_dict, COUNTY_FILE)
    return county, created, changes, []


def _county_save(county: County, *, created: bool, changes: list[str]) -> None:
    # Saved only when something changed, so `updated_at` moves only then.
    if created:
        county.save()
    elif changes:
        county.save(update_fields=[*CountySpec.__dataclass_fields__, "updated_at"])


@transaction.atomic
def county_upsert(*, spec: CountySpec) -> tuple[County, bool, list[str]]:
    """Create or update the county `spec` describes (found by slug): (county, created, changes).

    Raises ConfigError when the values are invalid (nothing written). Role groups: county_sync_role_groups.
    """
    county, created, changes, problems = _county_prepare(spec)
    if problems:
        raise ConfigError(problems)
    _county_save(county, created=created, changes=changes)
    return county, created, changes


def user_set_password_link(user) -> str | None:
    """An absolute one-time link where `user` sets a password (Django's password-reset-confirm view), or None.

    The token is Django's `default_token_generator`: it stops working once the password is set, and after
    PASSWORD_RESET_TIMEOUT. None when the project has no URL named `password_reset_confirm`.
    """
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    try:
        path = reverse(
            "password_reset_confirm", kwargs={"uidb64": uidb64, "token": default_token_generator.make_token(user)}
        )
    except NoReverseMatch:
        return None
    return f"{settings.SITE_URL}{path}"


@dataclass
class UserSetupChange:
    """What setup_county did (or would do) to one user."""

    username: str
    created: bool = False
    changes: list[str] = field(default_factory=list)  # "email: 'a@x' -> 'b@x'"
    roles_before: tuple[str, ...] = ()
    roles_after: tuple[str, ...] = ()
    password_source: str = ""  # for created users: "$VAR" or "" (a set-password link)

    @property
    def roles_changed(self) -> bool:
        return self.roles_before != self.roles_after


@dataclass
class CountySetupReport:
    """What `county_setup_apply` did, or with dry_run would do; `lines()` is what setup_county prints."""

    slug: str
    dry_run: bool = False
    county_created: bool = False
    county_changes: list[str] = field(default_factory=list)
    groups_created: int = 0
    permission_rows_changed: int = 0
    users: list[UserSetupChange] = field(default_factory=list)  # only users created or changed
    unlisted_users: dict[str, tuple[str, ...]] = field(default_factory=dict)  # hold roles here, not in users.yaml
    pruned_users: dict[str, tuple[str, ...]] = field(default_factory=dict)  # their roles here were removed
    set_password_links: dict[str, str] = field(default_factory=dict)  # username -> link
    users_without_password: list[str] = field(default_factory=list)  # listed, existing, never set a password
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.county_created
            or self.county_changes
            or self.groups_created
            or self.permission_rows_changed
            or self.users
            or self.pruned_users
        )

    def lines(self) -> list[str]:
        would = "would be " if self.dry_run else ""
        lines = ["Dry run: nothing was written. This is what would change:"] if self.dry_run else []
        if not self.changed:
            lines.append(f"{self.slug}: no changes")
        if self.county_created:
            lines.append(f"{self.slug}: county {would}created")
        elif self.county_changes:
            lines.append(f"{self.slug}: county {would}updated: {'; '.join(self.county_changes)}")
        if self.groups_created or self.permission_rows_changed:
            lines.append(
                f"{self.slug}: role groups {would}synced: {self.groups_created} group(s) created, "
                f"{self.permission_rows_changed} permission row(s) changed"
            )
        for user in self.users:
            roles = ", ".join(user.roles_after) or "none"
            if user.created:
                if user.password_source:
                    how = f"password from ${user.password_source}"
                elif self.dry_run:
                    how = "set-password link printed when applied"
                else:
                    how = "set-password link below"
                lines.append(f"{self.slug}: user {user.username} {would}created (roles: {roles}; {how})")
                continue
            if user.changes:
                lines.append(f"{self.slug}: user {user.username} {would}updated: {'; '.join(user.changes)}")
            if user.roles_changed:
                before = ", ".join(user.roles_before) or "none"
                lines.append(f"{self.slug}: user {user.username} roles {would}changed: {before} -> {roles}")
        for username, roles in self.pruned_users.items():
            lines.append(f"{self.slug}: user {username} roles {would}removed (not in users.yaml): {', '.join(roles)}")
        for username, roles in self.unlisted_users.items():
            lines.append(
                f"{self.slug}: note: user {username} holds {', '.join(roles)} here but is not in users.yaml "
                "(left as is; --prune removes their roles in this county)"
            )
        if self.users_without_password:
            lines.append(
                f"{self.slug}: note: not yet set a password: {', '.join(self.users_without_password)} "
                "(--password-links prints fresh set-password links)"
            )
        if self.set_password_links:
            timeout = settings.PASSWORD_RESET_TIMEOUT
            valid_for = f"{timeout // 86400} days" if timeout % 86400 == 0 else f"{timeout // 3600} hours"
            lines.append(f"Set-password links (each works once, for {valid_for}; send each only to its owner):")
            lines.extend(f"  {username}: {link}" for username, link in self.set_password_links.items())
        return lines


def county_setup_apply(
    *, directory: str | Path, dry_run: bool = False, prune: bool = False, password_links: bool = False
) -> CountySetupReport:
    """Create or update a county, its role groups and its users from a configuration directory, all or nothing.

    The whole directory is checked first (files, then the database: FIPS code not taken, passwords of new users
    set and strong enough); any problem raises counties.config.ConfigError listing all of them, nothing written.
    Listed users get exactly their listed roles in this county (other counties untouched); existing users'
    passwords are never touched. `dry_run` does everything inside the transaction and rolls it back, so the
    report is exactly what a real run would do. `prune` removes this county's roles from users not listed.
    """
    config = county_config_load(directory)
    spec = config.county
    User = get_user_model()
    report = CountySetupReport(slug=spec.slug, dry_run=dry_run)

    with transaction.atomic():
        county, report.county_created, report.county_changes, problems = _county_prepare(spec)

        existing = {
            user.username: user for user in User.objects.filter(username__in=[u.username for u in config.users])
        }
        prepared = []  # (spec, user instance, created, field changes, password)
        for user_spec in config.users:
            fields = {
                "first_name": user_spec.first_name,
                "last_name": user_spec.last_name,
                "email": user_spec.email,
                "is_staff": user_spec.is_staff,
            }
            user = existing.get(user_spec.username)
            created = user is None
            password = None
            if created:
                user = User(username=user_spec.username, **fields)
                changes = []
                if user_spec.password_env:
                    # Only read for a user about to be created: an existing user's password is never reset, so
                    # re-running the file later does not need the variable.
                    password = os.environ.get(user_spec.password_env)
                    if not password:
                        problems.append(
                            f"{user_spec.label}: password_env: the environment variable {user_spec.password_env} "
                            "is not set (or empty); set it to the user's initial password, or remove password_env "
                            "to print a set-password link instead."
                        )
                    else:
                        try:
                            validate_password(password, user=user)
                        except ValidationError as exc:
                            problems.extend(
                                f"{user_spec.label}: password_env: the password in {user_spec.password_env} is "
                                f"rejected: {message}"
                                for message in exc.messages
                            )
            else:
                changes = [
                    f"{name}: {getattr(user, name)!r} -> {value!r}"
                    for name, value in fields.items()
                    if getattr(user, name) != value
                ]
                for name, value in fields.items():
                    setattr(user, name, value)
            try:
                user.full_clean(exclude=["password"])
            except ValidationError as exc:
                problems.extend(validation_problems(exc.message_dict, user_spec.label))
            prepared.append((user_spec, user, created, changes, password))

        if problems:
            raise ConfigError(problems)

        # Apply: the county, its six role groups, then the users and their roles here.
        _county_save(county, created=report.county_created, changes=report.county_changes)
        groups_before = len(role_groups(county))
        report.permission_rows_changed = county_sync_role_groups(counties=[county])
        groups = role_groups(county)
        report.groups_created = len(groups) - groups_before
        group_roles = {group.id: role for role, group in groups.items()}

        held: dict[int, list[str]] = {}  # user id -> roles in this county, before this run
        memberships = User.groups.through.objects.filter(group_id__in=group_roles)
        for user_id, group_id in memberships.values_list("user_id", "group_id"):
            held.setdefault(user_id, []).append(group_roles[group_id])
        held_before = {user_id: tuple(sorted(roles)) for user_id, roles in held.items()}
        link_users = []
        for user_spec, user, created, changes, password in prepared:
            if created:
                if password:
                    user.set_password(password)
                else:
                    user.set_unusable_password()
                    link_users.append(user)
                user.save()
            elif changes:
                user.save(update_fields=["first_name", "last_name", "email", "is_staff"])
            user_set_county_roles(user=user, county=county, roles=user_spec.roles)
            change = UserSetupChange(
                username=user.username,
                created=created,
                changes=changes,
                roles_before=() if created else held_before.get(user.pk, ()),
                roles_after=tuple(sorted(user_spec.roles)),
                password_source=(user_spec.password_env or "") if created else "",
            )
            if change.created or change.changes or change.roles_changed:
                report.users.append(change)
            if not created and not user.has_usable_password():
                if password_links:
                    link_users.append(user)
                else:
                    report.users_without_password.append(user.username)

        listed = {u.username for u in config.users}
        unlisted = User.objects.filter(pk__in=list(held_before)).exclude(username__in=listed).order_by("username")
        for user in unlisted:
            if prune:
                user_set_county_roles(user=user, county=county, roles=[])
                report.pruned_users[user.username] = held_before[user.pk]
            else:
                report.unlisted_users[user.username] = held_before[user.pk]

        if dry_run:
            transaction.set_rollback(True)
        else:
            for user in link_users:
                link = user_set_password_link(user)
                if link is None:
                    report.warnings.append(
                        f"{user.username}: no set-password link: the project has no URL named "
                        f"'password_reset_confirm'. Set the password with: manage.py changepassword {user.username}"
                    )
                else:
                    report.set_password_links[user.username] = link
    return report


@transaction.atomic
def county_delete(*, county: County) -> None:
    """Delete a county and its role groups, so a later county with the same slug starts with no members."""
    Group.objects.filter(name__in=[group_name(county.slug, role) for role in ROLES]).delete()
    county.delete()
