"""Keep every county's role groups in step with the role table after each migrate."""

from django.db.models.signals import post_migrate
from django.dispatch import receiver


@receiver(post_migrate)
def sync_role_groups_after_migrate(sender, using="default", **kwargs) -> None:
    if sender.name != "counties" or using != "default":
        return
    from counties.models import County
    from counties.services import county_sync_role_groups

    county_sync_role_groups(counties=County.objects.all())
