"""Code lists of valuation."""

from django.db import models


class ValuationMethod(models.TextChoices):
    HEDONIC = "hedonic", "Hedonic regression (log-linear, neighborhood and time effects)"
    COMPARABLE_SALES = "comparable_sales", "Comparable sales (nearest similar sales, adjusted at the county's rates)"
    GBM = "gbm", "Gradient-boosted trees (LightGBM)"
