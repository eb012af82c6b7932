"""A small hand-made county whose sale prices follow a known log-linear model exactly (or with seeded noise), and
a completed valuation job on it made in-process, with its model files kept as a worker would keep them."""

import datetime
import math
from decimal import Decimal

import numpy as np

from properties.models import Property
from terrafusion.jobs.models import JobStatus
from terrafusion.jobs.runner import JobRunner
from terrafusion.testing.factories import NeighborhoodFactory, PropertyFactory, SaleFactory
from valuation.models import ValuationJob
from valuation.services import mass_appraisal

VALUATION_DATE = datetime.date(2026, 1, 1)
TRUTH = {"intercept": 8.0, "log_area": 0.5, "age": -0.005, "log_land": 0.1, "good": 0.12, "trend": 0.005}


def true_price(*, living_area, effective_year, land, quality, when: datetime.date) -> float:
    months = (when - VALUATION_DATE).days / 30.4375
    age = max(0, when.year - effective_year)
    return math.exp(
        TRUTH["intercept"] + TRUTH["log_area"] * math.log(living_area) + TRUTH["age"] * age
        + TRUTH["log_land"] * math.log(land) + (TRUTH["good"] if quality == "good" else 0.0) + TRUTH["trend"] * months
    )  # fmt: skip


def known_county(county, *, parcels: int = 64, noise: float = 0.0, seed: int = 0) -> list[Property]:
    """Parcels on a grid (about 110 m apart) in one neighborhood, each sold once in 2023-2025 at its true price
    (times exp(noise x a standard normal))."""
    rng = np.random.default_rng(seed)
    neighborhood = NeighborhoodFactory(county=county, code="K1")
    made = []
    for i in range(parcels):
        prop = PropertyFactory(
            county=county, neighborhood=neighborhood, living_area=int(1200 + 40 * (i * 7 % 25)),
            effective_year=1970 + (i * 11) % 50, land_area_sqft=Decimal(6000 + 250 * (i * 13 % 17)),
            quality="good" if i % 3 == 0 else "average",
        )  # fmt: skip
        when = datetime.date(2023, 1, 15) + datetime.timedelta(days=int(i * 1090 / parcels))
        price = true_price(living_area=prop.living_area, effective_year=prop.effective_year,
                           land=float(prop.land_area_sqft), quality=prop.quality, when=when)  # fmt: skip
        SaleFactory(property=prop, sale_date=when, sale_price=round(price * math.exp(noise * rng.standard_normal())))
        made.append(prop)
    return made


def completed_job(county, user=None, **given) -> ValuationJob:
    """A valuation job run in this process (as a worker would: files kept, then completed)."""
    parameters = {"method": "hedonic", "holdout_share": 0.0, "seed": 0, **given}
    job = ValuationJob.objects.create(county=county, requested_by=user, parameters=parameters, status=JobStatus.RUNNING)
    summary, files = mass_appraisal(
        county=county, job=job, parameters={"roll_year": county.working_roll_year, **parameters}
    )
    runner = JobRunner(job)
    for kept in files:
        runner.save_file(kept.name, kept.content, title=kept.title)
    ValuationJob.objects.filter(pk=job.pk).update(status=JobStatus.COMPLETED, result=summary, progress=1.0)
    job.refresh_from_db()
    return job
