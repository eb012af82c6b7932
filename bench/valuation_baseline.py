"""The straightforward comparable-sales valuation, the bench's yardstick: for each parcel, one ORM query for the
valid sales of its class within about 2 miles in the window (by the parcels' indexed bounding boxes), then a
Python loop over them: distance, the same adjustments at the same rates (the county's hedonic effects, fitted
once, not timed), the five best by gross adjustment, their weighted mean. What a first implementation would
write; timed per parcel."""

import datetime
import math
import time

from properties.models import Property, Sale

BOX_DEGREES = 0.03  # about 2 miles of latitude around the parcel: the indexed bounding-box columns find the sales
QUALITY = ("low", "fair", "average", "good", "very_good", "excellent")
CONDITION = ("poor", "fair", "average", "good", "excellent")


def _effects(county, sale_date_from: datetime.date) -> dict:
    from valuation.services import valuation_train

    training = valuation_train(
        county=county, parameters={"method": "hedonic", "roll_year": 2026, "sale_date_from": sale_date_from}
    )
    return training.fitted.hedonic.effects()


def _log_value_parts(effects: dict, area, effective_year, land, quality, condition, neighborhood, year) -> float:
    parts = 0.0
    if area:
        parts += effects["log living area"] * math.log(area) + effects["age"] * max(0, year - (effective_year or year))
        parts += effects["log land (improved)"] * math.log(land)
        parts += effects.get(f"quality {quality}", 0.0) + effects.get(f"condition {condition}", 0.0)
    else:
        parts += effects["log land (vacant)"] * math.log(land)
    return parts + effects.get(f"neighborhood {neighborhood}", 0.0)


def straightforward_comparables(county, *, sample: int, sale_date_from: datetime.date) -> dict:
    effects = _effects(county, sale_date_from)
    trend = effects["months to the valuation date"]
    target = datetime.date(2026, 1, 1)
    parcels = list(
        Property.objects.filter(county=county, is_active=True, latitude__isnull=False).select_related("neighborhood")
        .order_by("id")[:: max(1, Property.objects.filter(county=county).count() // sample)][:sample]
    )  # fmt: skip
    started = time.perf_counter()
    valued = 0
    for prop in parcels:
        sales = (
            Sale.objects.filter(
                county=county, is_valid=True, is_multi_parcel=False, sale_date__gte=sale_date_from,
                sale_date__lt=target, property__class_code=prop.class_code,
                property__bbox_xmin__range=(prop.longitude - BOX_DEGREES, prop.longitude + BOX_DEGREES),
                property__bbox_ymin__range=(prop.latitude - BOX_DEGREES, prop.latitude + BOX_DEGREES),
            )
            .exclude(property=prop)
            .select_related("property", "property__neighborhood")
        )  # fmt: skip
        subject = _log_value_parts(
            effects, prop.living_area, prop.effective_year, float(prop.land_area_sqft), prop.quality, prop.condition,
            prop.neighborhood.code, target.year,
        )  # fmt: skip
        scored = []
        for sale in sales:
            comp = sale.property
            miles = 69.0 * math.hypot(
                comp.latitude - prop.latitude, (comp.longitude - prop.longitude) * math.cos(math.radians(prop.latitude))
            )
            parts = _log_value_parts(
                effects, comp.living_area, comp.effective_year, float(comp.land_area_sqft), comp.quality,
                comp.condition, comp.neighborhood.code, sale.sale_date.year,
            )  # fmt: skip
            months = (target - sale.sale_date).days / 30.4375
            adjusted = sale.sale_price * math.exp(trend * months + subject - parts)
            scored.append((abs(subject - parts) + 0.03 * miles, adjusted))
        best = sorted(scored)[:5]
        if best:
            weights = [1 / (score + 0.05) for score, _ in best]
            _ = sum(w * a for w, (_, a) in zip(weights, best, strict=True)) / sum(weights)
            valued += 1
    return {"parcels": len(parcels), "valued": valued, "seconds": round(time.perf_counter() - started, 2)}
