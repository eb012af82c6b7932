"""Read-heavy queries for reports."""

from django.db.models import Count, Q, Sum

from counties.models import County
from properties.fields import VALUE_FIELDS
from properties.models import Neighborhood, Property


def county_neighborhood_ids(*, county: County) -> list[int]:
    return list(Neighborhood.objects.filter(county=county).order_by("code").values_list("id", flat=True))


def county_summary_rows(*, county: County, neighborhood_ids: list[int | None] | None = None) -> list[dict]:
    """Active parcels and value totals by neighborhood and class: one grouped query.

    `neighborhood_ids` limits it to those neighborhoods (None in the list: parcels without one).
    """
    parcels = Property.objects.filter(county=county, is_active=True)
    if neighborhood_ids is not None:
        ids = [i for i in neighborhood_ids if i is not None]
        wanted = Q(neighborhood_id__in=ids)
        if None in neighborhood_ids:
            wanted |= Q(neighborhood__isnull=True)
        parcels = parcels.filter(wanted)
    return list(
        parcels.values("neighborhood__code", "neighborhood__name", "class_code")
        .annotate(
            parcels=Count("id"),
            with_values=Count("id", filter=Q(market_value__isnull=False)),
            **{field: Sum(field) for field in VALUE_FIELDS},
        )
        .order_by("neighborhood__code", "class_code")
    )
