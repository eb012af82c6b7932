"""County roles: what each role may do in a county, as sets of the County permission codenames.

Roles are code, not rows. A role held in a county is the Django group `<county-slug>:<role>`,
which holds guardian object permissions on that County; `counties.services.county_sync_role_groups`
keeps the groups in step with this table.
"""

VIEW = "view_county_data"
CHANGE = "change_county_data"
RUN_VALUATION = "run_valuation"
CERTIFY = "certify_values"
RUN_MARKET_ANALYSIS = "run_market_analysis"
RUN_REPORT = "run_report"
RUN_GIS_EXPORT = "run_gis_export"
RUN_INGESTION = "run_ingestion"
APPROVE_INGESTION = "approve_ingestion"
MANAGE = "manage_county"

COUNTY_PERMISSIONS = [
    (VIEW, "View the county's parcels, values, sales, jobs and results"),
    (CHANGE, "Change the county's parcels, values and sales"),
    (RUN_VALUATION, "Run valuation jobs in the county"),
    (CERTIFY, "Certify the county's roll values"),
    (RUN_MARKET_ANALYSIS, "Run market analyses and ratio studies in the county"),
    (RUN_REPORT, "Run reports in the county"),
    (RUN_GIS_EXPORT, "Run GIS exports in the county"),
    (RUN_INGESTION, "Run data loads into the county"),
    (APPROVE_INGESTION, "Approve uploaded data for the county"),
    (MANAGE, "Manage the county's settings and users"),
]
ALL_CODENAMES = frozenset(codename for codename, _ in COUNTY_PERMISSIONS)

ROLES: dict[str, frozenset[str]] = {
    "viewer": frozenset({VIEW}),
    "appraiser": frozenset({VIEW, CHANGE, RUN_VALUATION, RUN_REPORT}),
    "analyst": frozenset({VIEW, RUN_VALUATION, RUN_MARKET_ANALYSIS, RUN_REPORT}),
    "gis_analyst": frozenset({VIEW, RUN_GIS_EXPORT, RUN_REPORT}),
    "data_steward": frozenset({VIEW, CHANGE, RUN_INGESTION, APPROVE_INGESTION, RUN_REPORT}),
    "county_admin": ALL_CODENAMES,
}

# Shorthand actions the enforcement point accepts besides a codename (REST verbs and admin actions).
ACTIONS = {"view": VIEW, "add": CHANGE, "change": CHANGE, "delete": CHANGE}


def codename_for(action: str) -> str:
    codename = ACTIONS.get(action, action)
    if codename not in ALL_CODENAMES:
        raise ValueError(f"Unknown county action {action!r}.")
    return codename


def group_name(county_slug: str, role: str) -> str:
    return f"{county_slug}:{role}"
