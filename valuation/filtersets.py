"""Filters of valuation results: the API's list and an apply's choice of parcels use the same ones."""

import django_filters
from django.db.models import F, Q

from terrafusion.api.filters import CountyScopedFilterSet
from valuation.choices import ResultFlag, ValuationMethod
from valuation.models import LARGE_CHANGE, ValuationResult


class ValuationResultFilterSet(CountyScopedFilterSet):
    job = django_filters.UUIDFilter(field_name="job_id", help_text="The valuation job.")
    property = django_filters.NumberFilter(field_name="property_id", help_text="TerraFusion property id.")
    neighborhood = django_filters.CharFilter(field_name="property__neighborhood__code", help_text="Neighborhood code.")
    class_code = django_filters.CharFilter(field_name="property__class_code", help_text="Use / class code.")
    method = django_filters.ChoiceFilter(choices=ValuationMethod.choices)
    roll_year = django_filters.NumberFilter()
    change_min = django_filters.NumberFilter(
        field_name="change", lookup_expr="gte", help_text="Change from the current value at least (0.1: +10%)."
    )
    change_max = django_filters.NumberFilter(
        field_name="change", lookup_expr="lte", help_text="Change from the current value at most (-0.1: -10%)."
    )
    flag = django_filters.ChoiceFilter(choices=ResultFlag.choices, method="filter_flag", help_text=(
        f"large_change: more than {LARGE_CHANGE:.0%} up or down from the current value; no_current_value: the "
        "parcel had none; within_range: the current value lies inside the estimate's range; outside_range: not."
    ))  # fmt: skip
    exclude_flag = django_filters.ChoiceFilter(
        choices=ResultFlag.choices, method="filter_exclude_flag", help_text="Leave out the results with this flag."
    )

    class Meta:
        model = ValuationResult
        fields = []

    def filter_flag(self, queryset, name, value):
        return queryset.filter(flag_condition(value))

    def filter_exclude_flag(self, queryset, name, value):
        return queryset.exclude(flag_condition(value))


def flag_condition(flag: str) -> Q:
    return {
        ResultFlag.LARGE_CHANGE: Q(change__gt=LARGE_CHANGE) | Q(change__lt=-LARGE_CHANGE),
        ResultFlag.NO_CURRENT_VALUE: Q(current_value__isnull=True) | Q(current_value=0),
        ResultFlag.WITHIN_RANGE: Q(current_value__gte=F("low"), current_value__lte=F("high"), current_value__gt=0),
        ResultFlag.OUTSIDE_RANGE: Q(current_value__gt=0)
        & (Q(current_value__lt=F("low")) | Q(current_value__gt=F("high"))),
    }[flag]
