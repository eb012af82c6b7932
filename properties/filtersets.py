"""Query filters for parcels and sales (django-filter)."""

import django_filters
from rest_framework.exceptions import ValidationError

from properties.geometry import bbox_overlapping
from properties.models import Property, Sale
from terrafusion.api.filters import CountyScopedFilterSet


class PropertyFilterSet(CountyScopedFilterSet):
    parcel_number = django_filters.CharFilter(help_text="Exact parcel number (geo_id).")
    parcel_number_prefix = django_filters.CharFilter(field_name="parcel_number", lookup_expr="startswith")
    property_id = django_filters.NumberFilter()
    neighborhood = django_filters.CharFilter(field_name="neighborhood__code", help_text="Neighborhood code.")
    class_code = django_filters.CharFilter(help_text="Use / class code.")
    property_type = django_filters.ChoiceFilter(choices=Property._meta.get_field("property_type").choices)
    active = django_filters.BooleanFilter(field_name="is_active")
    min_value = django_filters.NumberFilter(field_name="market_value", lookup_expr="gte", help_text="Market value >=")
    max_value = django_filters.NumberFilter(field_name="market_value", lookup_expr="lte", help_text="Market value <=")
    year_built_min = django_filters.NumberFilter(field_name="year_built", lookup_expr="gte")
    year_built_max = django_filters.NumberFilter(field_name="year_built", lookup_expr="lte")
    bbox = django_filters.CharFilter(
        method="filter_bbox", help_text="min_lon,min_lat,max_lon,max_lat: parcels whose extent overlaps the box."
    )

    class Meta:
        model = Property
        fields = []

    def filter_bbox(self, queryset, name, value):
        try:
            xmin, ymin, xmax, ymax = (float(part) for part in value.split(","))
        except ValueError:
            raise ValidationError({"bbox": ["Give four numbers: min_lon,min_lat,max_lon,max_lat."]}) from None
        if xmin > xmax or ymin > ymax:
            raise ValidationError({"bbox": ["The minimums must not exceed the maximums."]})
        return queryset.filter(bbox_overlapping(xmin, ymin, xmax, ymax))


class SaleFilterSet(CountyScopedFilterSet):
    property = django_filters.NumberFilter(field_name="property_id", help_text="TerraFusion property id.")
    date_from = django_filters.DateFilter(field_name="sale_date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="sale_date", lookup_expr="lte")
    valid = django_filters.BooleanFilter(field_name="is_valid", help_text="true: arm's-length sales only.")
    price_min = django_filters.NumberFilter(field_name="sale_price", lookup_expr="gte")
    price_max = django_filters.NumberFilter(field_name="sale_price", lookup_expr="lte")

    class Meta:
        model = Sale
        fields = []
