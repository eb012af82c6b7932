"""Read-heavy queries for reports."""

from django.db.models import Count, Q, Sum

from counties.models import County
from properties.models import Property


def county_summary_rows(*, county: County) -> list[dict]:
    """Active parcels and value totals by neighborhood and class: one grouped query."""
    return list(
        Property.objects.filter(county=county, is_active=True)
        .values("neighborhood__code", "neighborhood__name", "class_code")
        .annotate(
            parcels=Count("id"),
            with_values=Count("id", filter=Q(market_value__isnull=False)),
            land_value=Sum("land_value"),
            improvement_value=Sum("improvement_value"),
            market_value=Sum("market_value"),
            assessed_value=Sum("assessed_value"),
        )
        .order_by("neighborhood__code", "class_code")
    )
