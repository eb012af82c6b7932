"""The database side of the demo county: write the generated arrays, replace a generated county, and nothing else.

`demo_county_generate` runs the kernels (`properties.demo.kernels`) and writes their arrays in one transaction:
COPY on PostgreSQL, `bulk_create` elsewhere, a handful of statements per table, with the county's role groups.
A county it makes carries a marker (`settings["generated_by"]`, see `generated_marker`); `--replace` deletes
only a county whose marker is intact, so a real county can never be wiped by a demo command.
"""

import time
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import shapely
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import CASCADE, DO_NOTHING, SET_NULL, ProtectedError
from django.utils import timezone

from counties.config import WASHINGTON_RATIO_STUDY
from counties.models import County, default_county_settings
from counties.services import county_sync_role_groups
from properties.choices import PropertyType, ValueSource
from properties.demo.kernels import MAX_PARCELS, SQFT_PER_ACRE, DemoData, demo_data_generate
from properties.demo.model import CLASS_CODES, CONDITION_CODES, QUALITY_CODES, SALE_KINDS
from properties.models import Neighborhood, Property, PropertyChange, PropertyValue, Sale

DEMO_FIPS_RANGE = (53900, 53999)  # made up: Washington's real county FIPS codes end at 53077
GENERATOR = "generate_demo_county"


class DemoCountyError(Exception):
    """A demo county cannot be made as asked (the message says why and what to do)."""


@dataclass(frozen=True)
class DemoSummary:
    county_id: int
    slug: str
    fips_code: str
    working_year: int
    certified_year: int
    neighborhoods: int
    parcels: int
    value_rows: int
    sales: int
    valid_sales: int
    invalid_sales: int
    replaced: bool
    seconds: float


BULK_BATCH_SIZE = 2000


def _decimals(values: np.ndarray, places: int) -> list[Decimal | None]:
    return [Decimal(s) for s in np.char.mod(f"%.{places}f", values).tolist()]


def _nullable(values: np.ndarray, missing: np.ndarray) -> list:
    return [None if m else v for v, m in zip(values.tolist(), missing.tolist(), strict=True)]


def _insert_rows(*, model, columns: dict[str, list]) -> None:
    """Insert rows given column-wise (attribute names -> equal-length lists): COPY on PostgreSQL, else bulk_create."""
    if connection.vendor == "postgresql":
        fields = [model._meta.get_field(name) for name in columns]
        table = connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        # Binary COPY needs each column's PostgreSQL type; Django's db_type gives it (minus the modifiers).
        types = [f.db_type(connection).split("(")[0].strip() for f in fields]
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for row in zip(*columns.values(), strict=True):
                    copy.write_row(row)
    else:
        names = list(columns)
        objects = [model(**dict(zip(names, row, strict=True))) for row in zip(*columns.values(), strict=True)]
        model.objects.bulk_create(objects, batch_size=BULK_BATCH_SIZE)


def _free_fips() -> str:
    taken = set(County.objects.filter(fips_code__startswith="539").values_list("fips_code", flat=True))
    for code in range(DEMO_FIPS_RANGE[1], DEMO_FIPS_RANGE[0] - 1, -1):
        if str(code) not in taken:
            return str(code)
    raise DemoCountyError("Every made-up FIPS code 53900-53999 is taken; pass --fips.")


def _delete_county_rows(*, model, county: County) -> None:
    """Delete `model`'s rows of `county` in one statement, first doing what each table pointing at them asks.

    Django's collector would load every row and delete in batches of 100 (1,000 statements per 100,000
    parcels); here rows that point at the doomed ones are deleted (CASCADE) or cleared (SET_NULL) with
    one subquery each, and PROTECT/RESTRICT stop the replace with a readable error.
    """
    doomed = model._base_manager.filter(county=county)
    for relation in model._meta.related_objects:
        if relation.many_to_many:
            continue
        pointing = relation.related_model._base_manager.filter(**{f"{relation.field.name}__in": doomed})
        if relation.on_delete is CASCADE:
            pointing.delete()
        elif relation.on_delete is SET_NULL:
            pointing.update(**{relation.field.name: None})
        elif relation.on_delete is not DO_NOTHING and pointing.exists():
            raise DemoCountyError(
                f"county {county.slug!r} cannot be replaced: {relation.related_model._meta.verbose_name_plural} "
                f"refer to its {model._meta.verbose_name_plural}."
            )
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)} WHERE "  # noqa: S608 (names from _meta)
            f"{connection.ops.quote_name(model._meta.get_field('county').column)} = %s",
            [county.id],
        )


def generated_marker(*, slug: str, fips_code: str) -> dict[str, str]:
    """The `settings["generated_by"]` of a county this generator made, naming the slug and FIPS code it made.

    Naming them ties the marker to that one county: settings copied onto another county (through the admin,
    say) carry a marker that does not match it, and so no licence to delete it.
    """
    return {"command": GENERATOR, "slug": slug, "fips_code": fips_code}


def _not_generated_reason(county: County) -> str | None:
    """Why `county` must not be deleted as a demo county, or None when its marker says this generator made it."""
    settings = county.settings if isinstance(county.settings, dict) else {}
    marker = settings.get("generated_by")
    if marker == generated_marker(slug=county.slug, fips_code=county.fips_code):
        return None
    if marker is None:
        reason = 'its settings carry no "generated_by" marker'
        if "demo_model" in settings:  # made before the marker existed, or the marker was removed by hand
            reason += (
                ' (it has a "demo_model": a demo county made before the marker existed must be deleted by hand, '
                "in the admin)"
            )
        return reason
    return (
        f'its "generated_by" marker ({marker!r}) does not name this county '
        f"(slug {county.slug!r}, FIPS {county.fips_code}): were its settings copied from a demo county?"
    )


def _refuse_unless_generated(county: County) -> None:
    """Raise DemoCountyError, naming the county and why, unless this generator made `county`."""
    reason = _not_generated_reason(county)
    if reason is not None:
        parcels = Property._base_manager.filter(county=county).count()
        raise DemoCountyError(
            f"county {county.slug!r} ({county.name}, FIPS {county.fips_code}) was not made by {GENERATOR}: {reason}. "
            f"--replace deletes only counties that {GENERATOR} made, so {county.slug!r} and its {parcels:,} parcels "
            "are left untouched; choose another --slug."
        )


def demo_county_delete(*, county: County) -> None:
    """Delete a county this generator made and everything in it, table by table in bulk (children before parents).

    Refuses (DemoCountyError) a county without this generator's marker. Other apps' rows that hang off these
    tables are deleted or cleared as their foreign keys say; a PROTECT stops the delete with an error (and the
    caller's transaction rolls back).
    """
    from terrafusion.jobs.registry import job_models

    _refuse_unless_generated(county)
    for model in (Sale, PropertyValue, PropertyChange, *job_models(), Property, Neighborhood):
        _delete_county_rows(model=model, county=county)
    county.delete()


def _analyze(models) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in models:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _check_slug_free(*, slug: str, replace: bool, county: County | None = None) -> None:
    """Raise DemoCountyError unless `slug` is free, or `replace` is set and its county is a generated one."""
    county = county or County.objects.filter(slug=slug).first()
    if county is None:
        return
    _refuse_unless_generated(county)
    if not replace:
        raise DemoCountyError(f"county {slug!r} exists; use --replace")


def demo_county_generate(
    *,
    slug: str,
    parcels: int,
    seed: int = 42,
    name: str = "Demo County",
    fips: str | None = None,
    replace: bool = False,
    working_year: int | None = None,
) -> DemoSummary:
    """Create a synthetic county with `parcels` parcels, values and sales from a known model, in one transaction.

    Same slug-independent inputs (parcels, seed, working year), same data. `replace` deletes an existing
    county of that slug first, if this generator made it (its marker says so); any other existing county of
    that slug is an error, and is left as it was.
    """
    started = time.perf_counter()
    if not 1 <= parcels <= MAX_PARCELS:
        raise DemoCountyError(f"parcels must be between 1 and {MAX_PARCELS:,} (got {parcels}).")
    working_year = working_year or timezone.localdate().year
    if not 2001 <= working_year <= 2200:
        raise DemoCountyError(f"working year must be between 2001 and 2200 (got {working_year}).")
    _check_slug_free(slug=slug, replace=replace)  # before minutes of generation, not after
    data = demo_data_generate(parcels=parcels, seed=seed, working_year=working_year)

    with transaction.atomic():
        existing = County.objects.select_for_update().filter(slug=slug).first()
        if existing is not None:
            _check_slug_free(slug=slug, replace=replace, county=existing)
            try:
                demo_county_delete(county=existing)
            except ProtectedError as exc:
                raise DemoCountyError(f"county {slug!r} cannot be replaced: other data refers to it ({exc}).") from exc
        county = demo_county_create(slug=slug, name=name, fips=fips, data=data, seed=seed)
        _write(county=county, data=data)
    # Planner statistics now, not whenever autovacuum gets to it: with stale ones a county's first
    # list page sorts the whole county instead of walking the (county, id) index.
    _analyze([Property, PropertyValue, Sale, Neighborhood])

    valid = np.asarray([k.valid for k in SALE_KINDS])[data.sales.kind]
    return DemoSummary(
        county_id=county.id,
        slug=slug,
        fips_code=county.fips_code,
        working_year=data.working_year,
        certified_year=data.certified_year,
        neighborhoods=len(data.neighborhoods.codes),
        parcels=parcels,
        value_rows=parcels * len(data.values),
        sales=int(valid.size),
        valid_sales=int(valid.sum()),
        invalid_sales=int((~valid).sum()),
        replaced=existing is not None,
        seconds=time.perf_counter() - started,
    )


def demo_county_create(*, slug: str, name: str, fips: str | None, data: DemoData, seed: int) -> County:
    """The county row of a demo county (with its true model and this generator's marker) and its role groups;
    its parcels come from `_write`, or from a load of a fake PACS made of the same data."""
    if fips is not None and County.objects.filter(fips_code=fips).exists():
        raise DemoCountyError(f"FIPS code {fips} belongs to another county; choose another --fips.")
    fips_code = fips or _free_fips()
    county = County(
        slug=slug,
        name=name,
        state="WA",
        fips_code=fips_code,
        timezone="America/Los_Angeles",
        working_roll_year=data.working_year,
        certified_roll_year=data.certified_year,
        settings={
            **default_county_settings(),
            # A Washington county: the state's ratio-study rules (WAC 458-53-070), as Benton's county.yaml has them.
            "ratio_study": dict(WASHINGTON_RATIO_STUDY),
            "demo_model": data.model_json(seed=seed),
            "generated_by": generated_marker(slug=slug, fips_code=fips_code),
        },
    )
    try:
        county.full_clean()
    except ValidationError as exc:  # a bad slug, FIPS code or name, said in the user's terms
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        raise DemoCountyError(f"invalid county: {problems}") from exc
    county.save()
    county_sync_role_groups(counties=[county])
    return county


def _write(*, county: County, data: DemoData) -> None:
    """Write neighborhoods, parcels, value rows and sales in bulk; a handful of statements per table."""
    now = timezone.now()
    nbhd = data.neighborhoods
    Neighborhood.objects.bulk_create(
        [Neighborhood(county=county, code=c, name=n) for c, n in zip(nbhd.codes, nbhd.names, strict=True)]
    )
    code_to_id = dict(Neighborhood.objects.filter(county=county).values_list("code", "id"))
    nbhd_ids = np.asarray([code_to_id[c] for c in nbhd.codes], dtype=np.int64)

    chars, n = data.chars, data.property_ids.size
    vacant = chars.vacant
    no_bedrooms = chars.bedrooms == 0
    bounds = shapely.bounds(data.polygons)
    # geometry_columns() uses the representative point (point on surface); so do we, vectorised.
    point = shapely.point_on_surface(data.polygons)
    working = data.values[data.working_year]
    sales, latest = data.sales, data.latest_sale
    has_sale = latest >= 0
    if sales.parcel.size:
        last_date, last_price = sales.date[np.maximum(latest, 0)], sales.price[np.maximum(latest, 0)]
    else:  # a tiny county may have no sales at all
        last_date, last_price = np.zeros(n, dtype="datetime64[D]"), np.zeros(n, dtype=np.int64)
    county_ids = [county.id] * n
    now_list = [now] * n
    _insert_rows(
        model=Property,
        columns={
            "county_id": county_ids,
            "property_id": data.property_ids.tolist(),
            "parcel_number": data.parcel_numbers,
            "property_type": [PropertyType.REAL.value] * n,
            "class_code": np.asarray(CLASS_CODES, dtype=object)[chars.class_index].tolist(),
            "neighborhood_id": nbhd_ids[chars.neighborhood].tolist(),
            "situs_address": data.situs,
            "situs_city": data.situs_city,
            "situs_zip": data.situs_zip,
            "owner_name": data.owner_names,
            "owner_address": data.owner_addresses,
            "legal_description": data.legal,
            "land_area_sqft": _decimals(chars.land_sqft, 2),
            "acreage": _decimals(chars.land_sqft / SQFT_PER_ACRE, 4),
            "living_area": _nullable(chars.living_area, vacant),
            "year_built": _nullable(chars.year_built, vacant),
            "effective_year": _nullable(chars.effective_year, vacant),
            "bedrooms": _nullable(chars.bedrooms, no_bedrooms),
            "bathrooms": [
                None if v else d for d, v in zip(_decimals(chars.bathrooms, 2), vacant.tolist(), strict=True)
            ],
            "quality": np.where(vacant, "", np.asarray(QUALITY_CODES, dtype=object)[chars.quality]).tolist(),
            "condition": np.where(vacant, "", np.asarray(CONDITION_CODES, dtype=object)[chars.condition]).tolist(),
            "latitude": shapely.get_y(point).tolist(),
            "longitude": shapely.get_x(point).tolist(),
            "geometry": shapely.to_wkb(data.polygons).tolist(),
            "bbox_xmin": bounds[:, 0].tolist(),
            "bbox_ymin": bounds[:, 1].tolist(),
            "bbox_xmax": bounds[:, 2].tolist(),
            "bbox_ymax": bounds[:, 3].tolist(),
            "land_value": working.land.tolist(),
            "improvement_value": working.improvement.tolist(),
            "market_value": working.market.tolist(),
            "assessed_value": working.market.tolist(),
            "value_year": [data.working_year] * n,
            "last_sale_date": _nullable(last_date, ~has_sale),
            "last_sale_price": _nullable(last_price, ~has_sale),
            "is_active": [True] * n,
            "source_system": ["demo"] * n,
            "source_row_hash": [""] * n,
            "created_at": now_list,
            "updated_at": now_list,
        },
    )

    # Map our parcel order to the database ids in one query.
    pid_sorted, id_sorted = (
        np.asarray(Property.objects.filter(county=county).order_by("property_id").values_list(col, flat=True))
        for col in ("property_id", "id")
    )
    db_ids = id_sorted[np.searchsorted(pid_sorted, data.property_ids)]

    value_columns: dict[str, list] = {name: [] for name in ("property_id", "roll_year", "is_certified")}
    value_columns.update({name: [] for name in ("land_value", "improvement_value", "market_value", "assessed_value")})
    for year, values in sorted(data.values.items()):
        value_columns["property_id"] += db_ids.tolist()
        value_columns["roll_year"] += [year] * n
        value_columns["is_certified"] += [year == data.certified_year] * n
        value_columns["land_value"] += values.land.tolist()
        value_columns["improvement_value"] += values.improvement.tolist()
        value_columns["market_value"] += values.market.tolist()
        value_columns["assessed_value"] += values.market.tolist()
    rows = len(value_columns["property_id"])
    _insert_rows(
        model=PropertyValue,
        columns={
            "county_id": [county.id] * rows,
            "source": [ValueSource.PACS.value] * rows,
            "job_id": [None] * rows,
            **value_columns,
            "created_at": [now] * rows,
            "updated_at": [now] * rows,
        },
    )

    total = sales.parcel.size
    kinds = SALE_KINDS
    _insert_rows(
        model=Sale,
        columns={
            "county_id": [county.id] * total,
            "property_id": db_ids[sales.parcel].tolist(),
            "sale_id": sales.sale_id.tolist(),
            "sale_date": sales.date.astype("datetime64[D]").tolist(),
            "sale_price": sales.price.tolist(),
            "adjusted_price": sales.price.tolist(),
            "deed_type": sales.deed.tolist(),
            "validity_code": np.asarray([k.code for k in kinds], dtype=object)[sales.kind].tolist(),
            "is_valid": np.asarray([k.valid for k in kinds])[sales.kind].tolist(),
            "excise_number": sales.excise_number.tolist(),
            "is_multi_parcel": np.asarray([k.multi_parcel for k in kinds])[sales.kind].tolist(),
            "created_at": [now] * total,
            "updated_at": [now] * total,
        },
    )


def demo_true_prices(*, county: County, property_ids, dates) -> np.ndarray:
    """The demo county's true model's price of each parcel (by pk) at its date: the oracle a valuation of the demo
    county is judged against (`model.stored_model_log_price`, from the county's stored truth)."""
    from properties.demo.model import stored_model_log_price

    ids = np.asarray(property_ids, dtype=np.int64)
    fields = ("pk", "class_code", "neighborhood__code", "land_area_sqft", "living_area", "effective_year", "quality",
              "condition")  # fmt: skip
    rows = {row[0]: row for row in Property.objects.filter(county=county, pk__in=ids.tolist()).values_list(*fields)}
    ordered = [rows[int(pk)] for pk in ids]

    def number(i: int) -> np.ndarray:
        return np.array([np.nan if row[i] is None else float(row[i]) for row in ordered])

    parcels = {
        "class_code": np.array([row[1] for row in ordered], dtype=object),
        "neighborhood": np.array([row[2] for row in ordered], dtype=object),
        "land_area_sqft": number(3),
        "living_area": number(4),
        "effective_year": number(5),
        "quality": np.array([row[6] for row in ordered], dtype=object),
        "condition": np.array([row[7] for row in ordered], dtype=object),
    }
    return np.exp(stored_model_log_price(county.settings["demo_model"], parcels, dates))
