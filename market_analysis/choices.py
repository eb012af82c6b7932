"""Code lists of market analysis."""

from django.db import models


class Analysis(models.TextChoices):
    RATIO_STUDY = "ratio_study", "Ratio study (IAAO statistics by stratum)"
    PRICE_TRENDS = "price_trends", "Price trends (median price and price per sq ft by period)"
    TIME_ADJUSTMENT = "time_adjustment", "Time adjustment (monthly market index and factors)"
    NEIGHBORHOOD_SUMMARY = "neighborhood_summary", "Neighborhood summary (parcels, values, sales, ratios)"


class Stratification(models.TextChoices):
    NONE = "none", "None (the county as a whole)"
    NEIGHBORHOOD = "neighborhood", "Neighborhood"
    PROPERTY_CLASS = "property_class", "Property class (use code)"
    VALUE_BAND = "value_band", "Value band (of the assessed value)"


class Trimming(models.TextChoices):
    NONE = "none", "None"
    IQR = "iqr", "IQR fences (IAAO Appendix B)"


class Period(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"


class TimeIndexMethod(models.TextChoices):
    HEDONIC = "hedonic", "Hedonic time-dummy regression"
