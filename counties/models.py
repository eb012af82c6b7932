"""The County: the unit of data ownership and of authorisation."""

import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from counties.querysets import CountyScopedQuerySet
from counties.roles import COUNTY_PERMISSIONS

ROLL_YEAR_VALIDATORS = [MinValueValidator(1900), MaxValueValidator(2200)]


def default_county_settings() -> dict:
    return {
        # PACS sale-validity codes that mark an arm's-length sale (usable in ratio studies and models).
        "valid_sale_codes": ["00"],
        # IAAO-style trimming limits on ratios before a ratio study.
        "ratio_study": {"min_ratio": 0.2, "max_ratio": 5.0, "min_sales": 5},
        # Projected CRS for distances and areas (EPSG code); WA State Plane South (ftUS) by default.
        "local_crs_epsg": 2927,
    }


class County(models.Model):
    COUNTY_FIELD = "id"  # CountyScopedQuerySet: this model *is* the county

    slug = models.SlugField(max_length=60, unique=True, help_text="URL-safe id, e.g. benton-wa.")
    name = models.CharField(max_length=120)
    state = models.CharField(
        max_length=2, validators=[RegexValidator(r"^[A-Z]{2}$", "Use the two-letter USPS code, e.g. WA.")]
    )
    fips_code = models.CharField(
        "FIPS code",
        max_length=5,
        unique=True,
        validators=[RegexValidator(r"^\d{5}$", "A county FIPS code is five digits (state + county), e.g. 53005.")],
    )
    timezone = models.CharField(max_length=64, default="America/Los_Angeles")
    working_roll_year = models.PositiveSmallIntegerField(validators=ROLL_YEAR_VALIDATORS)
    certified_roll_year = models.PositiveSmallIntegerField(null=True, blank=True, validators=ROLL_YEAR_VALIDATORS)
    settings = models.JSONField(default=default_county_settings, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CountyScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "counties"
        default_permissions = ("add", "change", "delete", "view")
        permissions = COUNTY_PERMISSIONS
        constraints = [
            models.CheckConstraint(
                condition=models.Q(certified_roll_year__isnull=True)
                | models.Q(certified_roll_year__lte=models.F("working_roll_year")),
                name="county_certified_not_after_working_year",
                violation_error_message="The certified roll year cannot be after the working roll year.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.state}"

    def clean(self) -> None:
        if self.timezone not in zoneinfo.available_timezones():
            raise ValidationError(
                {"timezone": f"{self.timezone!r} is not an IANA time zone (e.g. America/Los_Angeles)."}
            )
        if self.slug and not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", self.slug):
            raise ValidationError({"slug": "Use lower-case letters, digits and single hyphens, e.g. benton-wa."})


class CountyUserObjectPermission(UserObjectPermissionBase):
    """Guardian's per-user County permissions, with a real foreign key (no generic relation)."""

    content_object = models.ForeignKey(County, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        pass


class CountyGroupObjectPermission(GroupObjectPermissionBase):
    """Guardian's per-group County permissions: how roles (`<slug>:<role>` groups) grant access."""

    content_object = models.ForeignKey(County, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        pass
