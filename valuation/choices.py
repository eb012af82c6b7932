"""Code lists of valuation."""

from django.db import models


class ValuationMethod(models.TextChoices):
    HEDONIC = "hedonic", "Hedonic regression (log-linear, neighborhood and time effects)"
    COMPARABLE_SALES = "comparable_sales", "Comparable sales (nearest similar sales, adjusted at the county's rates)"
    GBM = "gbm", "Gradient-boosted trees (LightGBM)"


class ResultFlag(models.TextChoices):
    """What a reviewer filters valuation results by."""

    LARGE_CHANGE = "large_change", "More than 30% change from the current value"
    NO_CURRENT_VALUE = "no_current_value", "No current value"
    WITHIN_RANGE = "within_range", "Current value within the estimate's range"
    OUTSIDE_RANGE = "outside_range", "Current value outside the estimate's range"
