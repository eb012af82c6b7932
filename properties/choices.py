"""Code lists for parcels, values and sales (PACS codes where PACS has them)."""

from django.db import models


class PropertyType(models.TextChoices):
    REAL = "R", "Real"
    PERSONAL = "P", "Personal"
    MOBILE_HOME = "MH", "Mobile home"
    MINERAL = "MN", "Mineral"
    AUTO = "A", "Auto"


class ValueSource(models.TextChoices):
    PACS = "pacs", "PACS"
    VALUATION = "valuation", "Valuation model"
    MANUAL = "manual", "Manual"
    IMPORT = "import", "File import"


class Quality(models.TextChoices):
    LOW = "low", "Low"
    FAIR = "fair", "Fair"
    AVERAGE = "average", "Average"
    GOOD = "good", "Good"
    VERY_GOOD = "very_good", "Very good"
    EXCELLENT = "excellent", "Excellent"


class Condition(models.TextChoices):
    POOR = "poor", "Poor"
    FAIR = "fair", "Fair"
    AVERAGE = "average", "Average"
    GOOD = "good", "Good"
    EXCELLENT = "excellent", "Excellent"


class ActorKind(models.TextChoices):
    USER = "user", "User"
    JOB = "job", "Job"
    IMPORT = "import", "Import"
    SYSTEM = "system", "System"
