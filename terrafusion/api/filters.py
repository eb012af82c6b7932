"""Filter sets shared by the API's county-scoped lists."""

import django_filters


class CountyScopedFilterSet(django_filters.FilterSet):
    """The base of every county-scoped list's filters: `?county=<slug>` (within the counties the user may see,
    which `restrict()` has decided already)."""

    county = django_filters.CharFilter(field_name="county__slug", help_text="County slug, e.g. benton-wa.")
