"""The county summary's computations: its rows by neighborhood groups (the job's parts), and its totals."""

from counties.models import County
from properties.fields import VALUE_FIELDS
from reporting.selectors import county_neighborhood_ids, county_summary_rows


def county_summary_parts(*, county: County, parts: int) -> list[list[int | None]]:
    """The county's neighborhoods cut into at most `parts` groups (the first also takes parcels without one)."""
    ids: list[int | None] = [None, *county_neighborhood_ids(county=county)]
    size = -(-len(ids) // max(1, parts))
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def county_summary_groups(*, county: County, neighborhood_ids: list[int | None] | None = None) -> list[dict]:
    """The summary's rows (neighborhood x class) for the whole county or some of its neighborhoods."""
    return [
        {
            "neighborhood": row["neighborhood__code"] or "",
            "neighborhood_name": row["neighborhood__name"] or "",
            "class_code": row["class_code"],
            "parcels": row["parcels"],
            "parcels_with_values": row["with_values"],
            **{column: int(row[column] or 0) for column in VALUE_FIELDS},
        }
        for row in county_summary_rows(county=county, neighborhood_ids=neighborhood_ids)
    ]


def county_summary_build(*, county: County, groups: list[dict]) -> dict:
    """The summary (county totals, by neighborhood, by class) from the rows (the report's document is built in
    reporting/reports.py)."""
    groups = sorted(groups, key=lambda g: (g["neighborhood"], g["class_code"]))
    totals = {
        "parcels": sum(g["parcels"] for g in groups),
        "parcels_with_values": sum(g["parcels_with_values"] for g in groups),
        **{column: sum(g[column] for g in groups) for column in VALUE_FIELDS},
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
    return summary
