"""The straightforward assessment roll the issue asks to time ours beside: the queryset to pandas, then `to_excel`.
Run as its own process (`python -m bench.reporting_baseline <slug> <parcels> <path>`) so its peak RSS is its own; on
the first `parcels` parcels by parcel number (a million takes minutes)."""

import sys
import time

from bench.common import django_setup

COLUMNS = ["parcel_number", "owner_name", "owner_address", "situs_address", "situs_city", "legal_description",
           "class_code", "neighborhood__code", "land_value", "improvement_value", "market_value",
           "assessed_value"]  # fmt: skip


def straightforward_roll(slug: str, parcels: int, path: str) -> float:
    import pandas

    from properties.models import Property

    started = time.perf_counter()
    rows = Property.objects.filter(county__slug=slug, is_active=True).order_by("parcel_number").values(*COLUMNS)
    frame = pandas.DataFrame.from_records(list(rows[:parcels]))
    frame.to_excel(path, sheet_name="Roll", index=False)
    return time.perf_counter() - started


if __name__ == "__main__":
    django_setup()
    print(f"{straightforward_roll(sys.argv[1], int(sys.argv[2]), sys.argv[3]):.2f}")
