"""Parcels, their value history and sales, neighborhoods, and the audit trail of every change."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from counties.models import ROLL_YEAR_VALIDATORS, County
from counties.querysets import CountyScopedQuerySet
from properties.choices import ActorKind, Condition, PropertyType, Quality, ValueSource
from properties.fields import VALUE_FIELDS


def _non_negative(model: str, *fields: str) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(
            condition=Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": 0}),
            name=f"{model}_{field}_not_negative",
            violation_error_message=f"{field.replace('_', ' ').capitalize()} cannot be negative.",
        )
        for field in fields
    ]


class Neighborhood(models.Model):
    """A market area: parcels that share a market; models and ratio studies are stratified by it."""

    COUNTY_FIELD = "county_id"

    county = models.ForeignKey(County, on_delete=models.CASCADE, related_name="neighborhoods")
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=120, blank=True)

    objects = CountyScopedQuerySet.as_manager()

    class Meta:
        ordering = ["county", "code"]
        constraints = [models.UniqueConstraint(fields=["county", "code"], name="neighborhood_code_unique_in_county")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip()


class Property(models.Model):
    """A parcel (or a personal-property account) with its characteristics and current values."""

    COUNTY_FIELD = "county_id"

    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="properties")
    property_id = models.BigIntegerField("property id", help_text="The legacy key (PACS prop_id).")
    parcel_number = models.CharField(max_length=50, help_text="The parcel number people use (PACS geo_id).")
    property_type = models.CharField(max_length=2, choices=PropertyType.choices, default=PropertyType.REAL)
    class_code = models.CharField("use / class code", max_length=20, blank=True)
    # PROTECT: moving parcels out of a neighborhood is a change of each parcel, so it goes through
    # the audited update, not a silent SET NULL when the neighborhood is deleted.
    neighborhood = models.ForeignKey(
        Neighborhood, on_delete=models.PROTECT, null=True, blank=True, related_name="properties"
    )

    situs_address = models.CharField(max_length=200, blank=True)
    situs_city = models.CharField(max_length=80, blank=True)
    situs_zip = models.CharField(max_length=10, blank=True)
    owner_name = models.CharField(max_length=200, blank=True)
    owner_address = models.CharField("owner mailing address", max_length=300, blank=True)
    exemptions = models.CharField(
        max_length=200, blank=True, default="", db_default="",  # bulk writes that leave it out (the demo's COPY)
        help_text="The parcel's exemptions in its roll year, as PACS records them (property_exemption): each type with "
        "its percentage, e.g. 'SNR/DSBL 100%'. Empty: none known.",
    )  # fmt: skip
    legal_description = models.TextField(blank=True)

    land_area_sqft = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    acreage = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    living_area = models.PositiveIntegerField("living area (sq ft)", null=True, blank=True)
    year_built = models.PositiveSmallIntegerField(null=True, blank=True)
    effective_year = models.PositiveSmallIntegerField(null=True, blank=True)
    bedrooms = models.PositiveSmallIntegerField(null=True, blank=True)
    bathrooms = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    quality = models.CharField(max_length=12, choices=Quality.choices, blank=True)
    condition = models.CharField(max_length=12, choices=Condition.choices, blank=True)

    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    # Parcel polygon as WKB in WGS84 (lon/lat); the bbox columns make bounding-box queries indexable
    # on any database without PostGIS.
    geometry = models.BinaryField(null=True, blank=True, editable=True)
    bbox_xmin = models.FloatField(null=True, blank=True, editable=False)
    bbox_ymin = models.FloatField(null=True, blank=True, editable=False)
    bbox_xmax = models.FloatField(null=True, blank=True, editable=False)
    bbox_ymax = models.FloatField(null=True, blank=True, editable=False)

    land_value = models.BigIntegerField(null=True, blank=True)
    improvement_value = models.BigIntegerField(null=True, blank=True)
    market_value = models.BigIntegerField(null=True, blank=True)
    assessed_value = models.BigIntegerField(null=True, blank=True)
    value_year = models.PositiveSmallIntegerField(
        "roll year of the values", null=True, blank=True, validators=ROLL_YEAR_VALIDATORS
    )
    last_sale_date = models.DateField(null=True, blank=True)
    last_sale_price = models.BigIntegerField(null=True, blank=True)

    is_active = models.BooleanField(default=True)
    source_system = models.CharField(max_length=20, default="terrafusion")
    source_row_hash = models.CharField(max_length=64, blank=True)
    created_by_job = models.UUIDField(
        null=True,
        blank=True,
        editable=False,
        help_text="The load job that created the parcel: its record of creation (a bulk load writes no audit row "
        "per new parcel; the job, with its parameters and results, is that record).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CountyScopedQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "properties"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["county", "property_id"], name="property_id_unique_in_county"),
            *_non_negative("property", *VALUE_FIELDS, "last_sale_price", "land_area_sqft", "acreage"),
        ]
        indexes = [
            models.Index(fields=["county", "parcel_number"], name="property_county_parcel"),
            models.Index(fields=["county", "neighborhood"], name="property_county_nbhd"),
            models.Index(fields=["county", "class_code"], name="property_county_class"),
            models.Index(fields=["county", "id"], name="property_county_id"),  # a county's pages in id order
            models.Index(fields=["county", "is_active", "id"], name="property_county_active"),
            models.Index(fields=["county", "market_value"], name="property_county_market_value"),
            models.Index(fields=["county", "bbox_xmin", "bbox_ymin"], name="property_county_bbox"),
        ]

    def __str__(self) -> str:
        return f"{self.parcel_number} ({self.situs_address})" if self.situs_address else self.parcel_number


class PropertyValue(models.Model):
    """One set of values of a property for a roll year from one source: the value history."""

    COUNTY_FIELD = "county_id"

    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="+")
    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="values")
    roll_year = models.PositiveSmallIntegerField(validators=ROLL_YEAR_VALIDATORS)
    source = models.CharField(max_length=12, choices=ValueSource.choices)
    land_value = models.BigIntegerField(null=True, blank=True)
    improvement_value = models.BigIntegerField(null=True, blank=True)
    market_value = models.BigIntegerField(null=True, blank=True)
    assessed_value = models.BigIntegerField(null=True, blank=True)
    job_id = models.UUIDField(null=True, blank=True, help_text="The job that produced these values, if any.")
    is_certified = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CountyScopedQuerySet.as_manager()

    class Meta:
        ordering = ["property", "-roll_year", "source"]
        constraints = [
            models.UniqueConstraint(
                fields=["property", "roll_year", "source"], name="one_value_per_property_year_source"
            ),
            *_non_negative("propertyvalue", *VALUE_FIELDS),
        ]
        indexes = [models.Index(fields=["county", "roll_year", "source"], name="value_county_year_source")]

    def __str__(self) -> str:
        return f"{self.roll_year} {self.get_source_display()}: {self.market_value}"


class Sale(models.Model):
    """A recorded sale (change of ownership); `is_valid` marks arm's-length sales usable in studies."""

    COUNTY_FIELD = "county_id"

    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="sales")
    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="sales")
    sale_id = models.BigIntegerField("legacy sale id", null=True, blank=True, help_text="PACS chg_of_owner_id.")
    sale_date = models.DateField()
    sale_price = models.BigIntegerField()
    adjusted_price = models.BigIntegerField(null=True, blank=True)
    deed_type = models.CharField(max_length=20, blank=True)
    validity_code = models.CharField(max_length=10, blank=True)
    is_valid = models.BooleanField(default=True, help_text="Arm's length: usable in ratio studies and models.")
    excise_number = models.CharField("excise affidavit number", max_length=40, blank=True)
    is_multi_parcel = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CountyScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-sale_date", "-id"]
        constraints = [
            # One legacy sale (PACS chg_of_owner_id) per parcel: a multi-parcel sale is a sale on each of its parcels.
            models.UniqueConstraint(
                fields=["county", "sale_id", "property"],
                condition=Q(sale_id__isnull=False),
                name="sale_id_unique_per_parcel",
                violation_error_message="This parcel already has a sale with this legacy sale id.",
            ),
            *_non_negative("sale", "sale_price", "adjusted_price"),
        ]
        indexes = [
            models.Index(fields=["county", "sale_date"], name="sale_county_date"),
            models.Index(fields=["county", "is_valid", "sale_date"], name="sale_county_valid_date"),
            models.Index(fields=["county", "property"], name="sale_county_property"),
        ]

    def __str__(self) -> str:
        return f"{self.sale_date} ${self.sale_price:,}"


class PropertyChange(models.Model):
    """Audit trail: who or what changed a property's characteristics, values or sales, when, old -> new."""

    COUNTY_FIELD = "county_id"

    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="+")
    # The trail outlives its parcel: deleting a parcel (properties.services.property_delete, which records
    # everything it removes first) clears this link, and `property_key` still says which parcel it was.
    property = models.ForeignKey(Property, on_delete=models.SET_NULL, null=True, blank=True, related_name="changes")
    property_key = models.BigIntegerField(
        "property id", help_text="The parcel's legacy key (property id) in the county; kept when the parcel is deleted."
    )
    changed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    job_id = models.UUIDField(null=True, blank=True)
    source = models.CharField(max_length=120, blank=True, help_text="What made the change: api, admin, a file name...")
    # {"field": {"old": ..., "new": ...}}; value-history rows appear as "values[2025/manual].market_value" and
    # sales as "sales[<legacy sale id>].sale_price" ("sales[id=<id>]..." for a sale without a legacy id).
    changes = models.JSONField()

    objects = CountyScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["county", "property", "changed_at"], name="change_county_property_at"),
            models.Index(fields=["county", "property_key", "changed_at"], name="change_county_key_at"),
        ]

    def __str__(self) -> str:
        return f"property {self.property_key} changed by {self.actor_kind} at {self.changed_at:%Y-%m-%d %H:%M}"
