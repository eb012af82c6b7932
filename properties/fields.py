"""The field lists of parcels and sales, written once: services, admin, imports and the API derive theirs from these.

A parcel's fields fall into groups (keys, identification, location, owner, characteristics, current values, the
last sale, the record); a new field is added to its group here and every list that shows or edits the group
follows. Names only: no Django import, so the models can use these too.
"""

# A parcel's identity in its county: set when it is created, never edited.
PROPERTY_KEY_FIELDS = ("county", "property_id")
IDENTIFICATION_FIELDS = ("parcel_number", "property_type", "class_code")
LOCATION_FIELDS = ("neighborhood", "situs_address", "situs_city", "situs_zip", "legal_description")
OWNER_FIELDS = ("owner_name", "owner_address", "exemptions")
CHARACTERISTIC_FIELDS = (
    "land_area_sqft", "acreage", "living_area", "year_built", "effective_year", "bedrooms", "bathrooms", "quality",
    "condition",
)  # fmt: skip
# The values of a parcel, and of each row of its value history.
VALUE_FIELDS = ("land_value", "improvement_value", "market_value", "assessed_value")
CURRENT_VALUE_FIELDS = (*VALUE_FIELDS, "value_year")
# Derived from the parcel's sales by the sale services (the latest sale by date), never edited directly.
LAST_SALE_FIELDS = ("last_sale_date", "last_sale_price")
# Derived from the geometry (its centroid), never edited directly.
CENTROID_FIELDS = ("latitude", "longitude")
# Kept off list pages (API lists, admin lists and exports' querysets): long texts and the polygon.
LIST_DEFERRED_FIELDS = ("geometry", "legal_description", "owner_address")

# The fields of a parcel that a person, a file or a job may change (the rest are keys or derived).
PROPERTY_EDITABLE_FIELDS = (
    *IDENTIFICATION_FIELDS,
    *LOCATION_FIELDS,
    *OWNER_FIELDS,
    *CHARACTERISTIC_FIELDS,
    "geometry",
    *CURRENT_VALUE_FIELDS,
    "is_active",
)
# What an audit record of a parcel's creation or deletion lists: its key, its editable fields, its last sale.
PROPERTY_RECORDED_FIELDS = ("property_id", *PROPERTY_EDITABLE_FIELDS, *LAST_SALE_FIELDS)

# The fields of a sale that a person or a file may set; its property and county are fixed when it is recorded.
SALE_EDITABLE_FIELDS = (
    "sale_id", "sale_date", "sale_price", "adjusted_price", "deed_type", "validity_code", "is_valid", "excise_number",
    "is_multi_parcel",
)  # fmt: skip
