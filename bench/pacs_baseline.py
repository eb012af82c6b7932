"""The straightforward PACS loader the bench times beside ours: the ORM, one record at a time, update_or_create.

It reads each property of the sample through the unmanaged PACS models (a query per table per property, the
current supplement looked up first) and writes it with `update_or_create` (a query or two per row), as a first
version of a loader would. It loads the same fields from the same rows into its own county, so its rate is
comparable; it skips audit and rejects, which only flatters it.
"""

import time
from decimal import Decimal

from counties.models import County
from ingestion.pacs import models as tables
from ingestion.pacs.mapping import pacs_mapping_default
from properties.models import Property, PropertyValue, Sale

SLUG = "bench-pacs-straightforward"


def _text(value) -> str:
    return " ".join(str(value or "").split())


def straightforward_load(*, county: County, properties: int) -> dict:
    mapping = pacs_mapping_default()
    target, _ = County.objects.update_or_create(
        slug=SLUG,
        defaults={"name": "Bench straightforward", "state": "WA", "fips_code": "53997", "working_roll_year": 2026},
    )
    Sale.objects.filter(county=target).delete()
    PropertyValue.objects.filter(county=target).delete()
    Property.objects.filter(county=target).delete()
    year = 2026
    ids = list(
        tables.PropSuppAssoc.objects.filter(owner_tax_yr=year)
        .order_by("prop_id")
        .values_list("prop_id", flat=True)[:properties]
    )
    started = time.perf_counter()
    loaded = 0
    for prop_id in ids:
        sup = tables.PropSuppAssoc.objects.get(owner_tax_yr=year, prop_id=prop_id).sup_num
        value = tables.PropertyVal.objects.get(prop_val_yr=year, sup_num=sup, prop_id=prop_id)
        record = tables.Property.objects.get(prop_id=prop_id)
        if (
            record.prop_type_cd.strip() not in mapping.property_types
            or value.prop_inactive_dt
            or value.udi_parent_prop_id
        ):
            continue
        situs = tables.Situs.objects.filter(prop_id=prop_id).order_by("-primary_situs", "situs_id").first()
        owner = (
            tables.Owner.objects.filter(owner_tax_yr=year, sup_num=sup, prop_id=prop_id)
            .order_by("-pct_ownership")
            .first()
        )
        account = tables.Account.objects.filter(acct_id=owner.owner_id).first() if owner else None
        buildings = list(tables.Imprv.objects.filter(prop_val_yr=year, sup_num=sup, sale_id=0, prop_id=prop_id))
        main = max(buildings, key=lambda b: (b.imprv_val or 0, -b.imprv_id), default=None)
        details = list(tables.ImprvDetail.objects.filter(prop_val_yr=year, sup_num=sup, sale_id=0, prop_id=prop_id))
        areas = [d for d in details if d.imprv_det_type_cd.strip() in mapping.main_area_types]
        top = max(
            (d for d in areas if main and d.imprv_id == main.imprv_id),
            key=lambda d: d.imprv_det_area or 0,
            default=None,
        )
        attributes = {
            a.imprv_attr_id: a.i_attr_unit
            for a in tables.ImprvAttr.objects.filter(prop_val_yr=year, sup_num=sup, sale_id=0, prop_id=prop_id)
        }
        land = list(tables.LandDetail.objects.filter(prop_val_yr=year, sup_num=sup, sale_id=0, prop_id=prop_id))
        land_value = sum(
            (v.land_hstd_val or 0) + (v.land_non_hstd_val or 0) + (v.ag_market or 0) + (v.timber_market or 0)
            for v in [value]
        )
        improvement = (value.imprv_hstd_val or 0) + (value.imprv_non_hstd_val or 0)
        prop, _ = Property.objects.update_or_create(
            county=target,
            property_id=prop_id,
            defaults={
                "parcel_number": _text(record.geo_id),
                "class_code": _text(value.property_use_cd),
                "situs_address": _text(" ".join(filter(None, (
                    situs.situs_num, situs.situs_street_prefx, situs.situs_street, situs.situs_street_sufix
                )))) if situs else "",
                "owner_name": _text(account.file_as_name) if account else "",
                "legal_description": _text(f"{value.legal_desc or ''} {value.legal_desc_2 or ''}"),
                "land_area_sqft": sum((Decimal(str(s.size_square_feet or 0)) for s in land), Decimal(0)) or None,
                "living_area": round(sum(float(d.imprv_det_area or 0) for d in areas)) or None,
                "year_built": int(main.actual_year_built) if main and main.actual_year_built else None,
                "quality": mapping.quality_codes.get((top.imprv_det_class_cd or "").strip(), "") if top else "",
                "bedrooms": int(attributes.get(mapping.bedrooms_attribute) or 0) or None,
                "land_value": int(land_value),
                "improvement_value": int(improvement),
                "market_value": int(value.market or 0),
                "assessed_value": int(value.assessed_val or 0),
                "value_year": year,
                "source_system": "pacs",
            },
        )  # fmt: skip
        PropertyValue.objects.update_or_create(
            county=target, property=prop, roll_year=year, source="pacs",
            defaults={"land_value": prop.land_value, "improvement_value": prop.improvement_value,
                      "market_value": prop.market_value, "assessed_value": prop.assessed_value},
        )  # fmt: skip
        for link in tables.ChgOfOwnerPropAssoc.objects.filter(prop_id=prop_id):
            sale = tables.Sale.objects.filter(chg_of_owner_id=link.chg_of_owner_id).first()
            deed = tables.ChgOfOwner.objects.filter(chg_of_owner_id=link.chg_of_owner_id).first()
            if sale is None or sale.sl_price is None or sale.sl_dt is None:
                continue
            ratio = (sale.sl_ratio_type_cd or "").strip()
            Sale.objects.update_or_create(
                county=target, property=prop, sale_id=link.chg_of_owner_id,
                defaults={"sale_date": sale.sl_dt.date(), "sale_price": int(sale.sl_price), "validity_code": ratio,
                          "is_valid": ratio in mapping.valid_sale_codes,
                          "deed_type": (deed.deed_type_cd or "").strip() if deed else ""},
            )  # fmt: skip
        loaded += 1
    seconds = time.perf_counter() - started
    return {"properties": loaded, "read": len(ids), "seconds": round(seconds, 2)}
