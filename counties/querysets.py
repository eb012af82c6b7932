"""The one enforcement point of county access: `CountyScopedQuerySet.restrict(user, action)`."""

from django.db import models

from counties.access import county_ids_for


class CountyScopedQuerySet(models.QuerySet):
    """A queryset of a county-scoped model (the model names its county column in COUNTY_FIELD)."""

    def restrict(self, user, action: str = "view") -> "CountyScopedQuerySet":
        """Only the rows in counties where `user` may do `action` (a codename or view/add/change/delete)."""
        county_ids = county_ids_for(user, action)
        if county_ids is None:  # superuser: every county
            return self
        return self.filter(**{f"{self.model.COUNTY_FIELD}__in": county_ids})
