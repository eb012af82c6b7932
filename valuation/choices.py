"""Code lists of valuation."""

from django.db import models


class ValuationMethod(models.TextChoices):
    # The methods available so far; comparable sales and a gradient-boosted model arrive with their code.
    HEDONIC = "hedonic", "Hedonic regression (log-linear, neighborhood and time effects)"
