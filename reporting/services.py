"""Report computations: each returns a summary for the job row and the file's bytes."""

import csv
import io

from counties.models import County
from reporting.selectors import county_summary_rows

VALUE_COLUMNS = ("land_value", "improvement_value", "market_value", "assessed_value")


def county_summary_compute(*, county: County) -> tuple[dict, bytes]:
    """Parcel counts and value totals of a county by neighborhood and class, with county totals."""
    rows = county_summary_rows(county=county)
    groups = [
        {
            "neighborhood": row["neighborhood__code"] or "",
            "neighborhood_name": row["neighborhood__name"] or "",
            "class_code": row["class_code"],
            "parcels": row["parcels"],
            "parcels_with_values": row["with_values"],
            **{column: int(row[column] or 0) for column in VALUE_COLUMNS},
        }
        for row in rows
    ]
    totals = {
        "parcels": sum(g["parcels"] for g in groups),
        "parcels_with_values": sum(g["parcels_with_values"] for g in groups),
        **{column: sum(g[column] for g in groups) for column in VALUE_COLUMNS},
    }
    by_neighborhood: dict[str, dict] = {}
    for g in groups:
        entry = by_neighborhood.setdefault(g["neighborhood"], {"parcels": 0, "market_value": 0})
        entry["parcels"] += g["parcels"]
        entry["market_value"] += g["market_value"]
    by_class: dict[str, dict] = {}
    for g in groups:
        entry = by_class.setdefault(g["class_code"], {"parcels": 0, "market_value": 0})
        entry["parcels"] += g["parcels"]
        entry["market_value"] += g["market_value"]
    summary = {
        "report_type": "county_summary",
        "county": county.slug,
        "roll_year": county.working_roll_year,
        "totals": totals,
        "by_neighborhood": by_neighborhood,
        "by_class": by_class,
        "groups": len(groups),
    }
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(groups[0]) if groups else ["neighborhood", "class_code", "parcels"])
    writer.writeheader()
    writer.writerows(groups)
    return summary, out.getvalue().encode()
