"""Each validation rule of each kind of upload, and the preview's counts: what would be inserted, updated and left
unchanged, and every rejected row with its number, field and reason. Nothing is written."""

import datetime

import pytest

from ingestion.upload_validation import upload_validate
from ingestion.uploads import UploadKind, table_read
from properties.models import Property, PropertyValue, Sale
from terrafusion.testing.factories import CountyFactory, PropertyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def county(db):
    county = CountyFactory(slug="benton-wa")
    for number in ("1-01", "1-02", "1-03"):
        PropertyFactory(county=county, parcel_number=number, year_built=1990, effective_year=1995, living_area=1500,
                        bedrooms=3, quality="average")  # fmt: skip
    return county


def preview(county, kind: str, text: str):
    table = table_read(text.encode(), name="file.csv", kind=kind, mapping=None, max_rows=1000)
    return upload_validate(county=county, kind=kind, table=table)


def reasons(result) -> dict[tuple[int, str], str]:
    return {(r.row, r.field): r.reason for r in result.rejects}


def test_characteristics_rules_and_counts(county):
    before = list(Property.objects.order_by("id").values())
    result = preview(county, UploadKind.PROPERTY_CHARACTERISTICS, (
        "parcel_number,living_area,year_built,effective_year,bedrooms,quality\n"
        "1-01,1500,1990,1995,3,average\n"   # 2: unchanged
        "1-02,1800,,,4,Good\n"              # 3: an update (quality by its label)
        "1-09,1800,,,,\n"                   # 4: no such parcel
        "1-03,-5,1990,1980,2,superb\n"      # 5: a negative area, an unknown quality
        "1-03,1700,1990,1980,,\n"           # 6: effective before built
        "1-02,1900,,,,\n"                   # 7: the same parcel as row 3
        ",1,,,,\n"                          # 8: no parcel number
        "1-01,abc,17,,,\n"                  # 9: not a number, a year out of range
    ))  # fmt: skip
    assert (result.rows, result.update, result.unchanged, result.insert) == (8, 1, 1, 0)
    assert reasons(result) == {
        (4, "parcel_number"): "no parcel of this number in the county",
        (5, "living_area"): "must be between 0 and 1,000,000",
        (5, "quality"): "must be one of low, fair, average, good, very_good, excellent",
        (6, "effective_year"): "before the year built (1990)",
        (7, "parcel_number"): "the same parcel as row 3",
        (8, "parcel_number"): "is required",
        (9, "living_area"): "must be a whole number",
        (9, "year_built"): "must be between 1,700 and 2,200",
    }
    assert result.as_dict()["rejected"] == 6
    assert list(Property.objects.order_by("id").values()) == before  # nothing changed


def test_sales_rules_and_counts(county):
    parcel = Property.objects.get(parcel_number="1-01")
    Sale.objects.create(county=county, property=parcel, sale_id=77, sale_date=datetime.date(2024, 5, 1),
                        sale_price=300_000)  # fmt: skip
    future = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    result = preview(county, UploadKind.SALES, (
        "parcel_number,sale_id,sale_date,sale_price,is_valid\n"
        "1-01,77,2024-05-01,300000,yes\n"     # 2: unchanged (is_valid true as stored)
        "1-01,77,2024-05-01,310000,yes\n"     # 3: the same sale as row 2
        "1-02,,05/06/2025,250000,no\n"        # 4: a new sale, a US date
        f"1-03,,{future},1,yes\n"             # 5: in the future
        "1-03,,2025-13-01,1,maybe\n"          # 6: not a date, not yes/no
        "1-03,,2025-01-01,,\n"                # 7: no price
    ))  # fmt: skip
    assert (result.insert, result.update, result.unchanged) == (1, 0, 1)
    assert reasons(result) == {
        (3, "sale_id"): "the same sale as row 2",
        (5, "sale_date"): "is in the future",
        (6, "sale_date"): "must be a date (YYYY-MM-DD or MM/DD/YYYY)",
        (6, "is_valid"): "must be yes or no (true/false, 1/0)",
        (7, "sale_price"): "is required",
    }


def test_value_adjustment_rules_and_counts(county):
    certified = Property.objects.get(parcel_number="1-03")
    PropertyValue.objects.create(county=county, property=certified, roll_year=2025, source="pacs", land_value=1,
                                 improvement_value=1, market_value=2, is_certified=True)  # fmt: skip
    result = preview(county, UploadKind.VALUE_ADJUSTMENTS, (
        "parcel_number,roll_year,land_value,improvement_value,market_value\n"
        "1-01,2026,100000,200000,300000\n"    # 2: a new import row
        "1-02,2026,100000,200000,350000\n"    # 3: market is not land + improvements
        "1-01,2026,1,1,\n"                    # 4: the same parcel and year as row 2
        "1-03,2025,5,5,\n"                    # 5: certified
    ))  # fmt: skip
    assert (result.insert, result.update, result.unchanged) == (1, 0, 0)
    assert reasons(result) == {
        (3, "market_value"): "must equal land + improvements (100,000 + 200,000)",
        (4, "roll_year"): "the same parcel and roll year as row 2",
        (5, "roll_year"): "the roll year's values are certified",
    }
