"""The list filter backend skips a filterset only when the query string has nothing for it, and only a filterset
proven to leave the query unchanged without parameters."""

import django_filters
import pytest
from django.http import QueryDict
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from properties.filtersets import PropertyFilterSet
from properties.models import Property
from terrafusion.api.filters import FilterBackend, filter_inputs


class View:
    filterset_class = PropertyFilterSet


def filtered(query: str):
    request = Request(APIRequestFactory().get("/api/v1/properties/?" + query))
    queryset = Property.objects.all()
    return queryset, FilterBackend().filter_queryset(request, queryset, View())


def test_a_page_without_filter_parameters_skips_the_filterset():
    queryset, result = filtered("cursor=abc&page_size=100&format=json&search=x")
    assert result is queryset  # the very queryset: no filterset was built


@pytest.mark.parametrize(
    "query, where",
    [
        ("min_value=1000", '"market_value" >= 1000'),
        ("county=benton-wa", '"slug" = benton-wa'),
        ("active=false", '"is_active"'),
        ("bbox=1,2,3,4", '"bbox_xmax" >= 1.0'),
    ],
)
def test_a_filter_parameter_runs_the_filterset(query, where):
    queryset, result = filtered(query)
    assert result is not queryset and where in str(result.query)


def test_an_invalid_filter_parameter_is_still_refused():
    from rest_framework.exceptions import ValidationError

    with pytest.raises(ValidationError):
        filtered("year_built_min=not-a-number")


class WithRange(django_filters.FilterSet):
    value = django_filters.RangeFilter(field_name="market_value")  # reads value_min and value_max

    class Meta:
        model = Property
        fields = []


class WithRequired(django_filters.FilterSet):
    county = django_filters.CharFilter(field_name="county__slug", required=True)

    class Meta:
        model = Property
        fields = []


class WithDefault(django_filters.FilterSet):
    active = django_filters.BooleanFilter(field_name="is_active")

    class Meta:
        model = Property
        fields = []

    def filter_queryset(self, queryset):  # filters even when given no parameters
        return super().filter_queryset(queryset).filter(is_active=True)


def test_inputs_are_the_parameters_the_form_reads():
    names = {name for name, _ in filter_inputs(PropertyFilterSet)}
    assert {"county", "parcel_number", "min_value", "max_value", "active", "bbox"} <= names
    ((name, widget),) = filter_inputs(WithRange)
    assert widget.value_omitted_from_data(QueryDict("value=5"), {}, name)
    assert not widget.value_omitted_from_data(QueryDict("value_min=5"), {}, name)


def test_filtersets_that_act_without_parameters_are_never_skipped():
    assert filter_inputs(WithRequired) is None
    assert filter_inputs(WithDefault) is None
