"""Signal receivers of the counties app: role groups after migrate, and the access version on every access change.

The access receivers only call `access_changed()` (counties/access.py), which moves the version on after
the transaction commits; they decide nothing. Connected once, from CountiesConfig.ready().
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save
from django.dispatch import receiver

from counties.access import access_changed


@receiver(post_migrate)
def sync_role_groups_after_migrate(sender, using="default", **kwargs) -> None:
    if sender.name != "counties" or using != "default":
        return
    from counties.models import County
    from counties.services import county_sync_role_groups

    county_sync_role_groups(counties=County.objects.all())


def _changed(sender, **kwargs) -> None:
    access_changed()


def _user_saved(sender, instance, update_fields=None, raw=False, **kwargs) -> None:
    # Each login saves last_login alone: that changes no one's access (and must not empty every cache).
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    access_changed()


def _memberships_changed(sender, action, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        access_changed()


def connect_access_signals() -> None:
    """Bump the access version on changes of users, groups, memberships, County permissions and counties."""
    from counties.models import County, CountyGroupObjectPermission, CountyUserObjectPermission

    user_model = get_user_model()
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="counties.access.user_saved")
    post_delete.connect(_changed, sender=user_model, dispatch_uid="counties.access.user_deleted")
    # Deleting a group drops its memberships and permissions without m2m signals.
    post_delete.connect(_changed, sender=Group, dispatch_uid="counties.access.group_deleted")
    m2m_changed.connect(
        _memberships_changed, sender=user_model.groups.through, dispatch_uid="counties.access.memberships"
    )
    for model in (County, CountyGroupObjectPermission, CountyUserObjectPermission):
        post_save.connect(_changed, sender=model, dispatch_uid=f"counties.access.{model.__name__}_saved")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"counties.access.{model.__name__}_deleted")
