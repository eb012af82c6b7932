from django.db import models


class ReportType(models.TextChoices):
    COUNTY_SUMMARY = "county_summary", "County summary (parcels and values by neighborhood and class)"
