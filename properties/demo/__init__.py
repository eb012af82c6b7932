"""A synthetic county that looks real, for demos, tests and benchmarks: `demo_county_generate`.

The county has neighborhoods, parcels with polygons around Kennewick/Richland WA, characteristics,
two roll years of values and five years of sales. Prices follow a KNOWN hedonic model, stored in
`county.settings["demo_model"]`, so valuation and ratio-study code has a truth to recover.

The package, in layers (each imports only the ones above it):
- `model`: the true model (coefficients, code lists, sale kinds, the price formula); no Django.
- `kernels`: pure numpy functions that draw the county from a `numpy.random.Generator`, and
  `demo_data_generate`, which runs them in a fixed order (same seed, same data); no Django.
- `writer`: the database side: COPY on PostgreSQL or `bulk_create` elsewhere, in one transaction, the
  county's role groups, and a replace that deletes only a county this generator made.
"""

from properties.demo.kernels import MAX_PARCELS, DemoData, demo_data_generate
from properties.demo.model import DEMO_MODEL, SALE_KINDS, SALE_YEARS, DemoModel, SaleKind, demo_model_json
from properties.demo.writer import (
    DemoCountyError,
    DemoSummary,
    demo_county_create,
    demo_county_delete,
    demo_county_generate,
    demo_true_prices,
    generated_marker,
)

__all__ = [
    "DEMO_MODEL",
    "MAX_PARCELS",
    "SALE_KINDS",
    "SALE_YEARS",
    "DemoCountyError",
    "DemoData",
    "DemoModel",
    "DemoSummary",
    "SaleKind",
    "demo_county_create",
    "demo_county_delete",
    "demo_county_generate",
    "demo_data_generate",
    "demo_model_json",
    "demo_true_prices",
    "generated_marker",
]
