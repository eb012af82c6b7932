"""A hedonic mass appraisal of the demo county through the job's service: every active parcel valued and
stored, the holdout judged with the ratio statistics, parcels without what the model needs listed."""

import json

import numpy as np
import pytest

from counties.models import County
from properties.demo import demo_county_generate
from properties.models import Property, Sale
from terrafusion.testing.factories import CountyFactory
from valuation.models import ValuationJob, ValuationResult
from valuation.services import ValuationError, mass_appraisal

pytestmark = pytest.mark.django_db


def parameters(county, **given) -> dict:
    return {"method": "hedonic", "roll_year": county.working_roll_year, "holdout_share": 0.2, "seed": 1, **given}


def test_a_mass_appraisal_values_every_parcel_and_judges_itself_on_the_holdout():
    demo_county_generate(slug="val-demo", parcels=6000, seed=8, working_year=2026)
    county = County.objects.get(slug="val-demo")
    missing = Property.objects.filter(county=county).order_by("id").first()
    Property.objects.filter(pk=missing.pk).update(land_area_sqft=None)
    job = ValuationJob.objects.create(county=county)

    summary, files = mass_appraisal(county=county, job=job, parameters=parameters(county))

    results = ValuationResult.objects.filter(job=job)
    assert results.count() == summary["parcels"]["valued"] == 5999
    assert summary["not_valued"] == [{"property": missing.pk, "reason": "no land area"}]
    assert summary["parcels"]["not_valued_by_reason"] == {"no land area": 1}
    holdout = summary["holdout"]["overall"]
    assert 0.97 <= holdout["median"] <= 1.03 and holdout["cod"] < 11.5  # the noise alone gives about 9.6
    assert summary["effects"]["months to the valuation date"] == pytest.approx(0.004, abs=0.001)
    assert len(summary["holdout"]["by_neighborhood"]) > 5
    # Every estimate is split into land and improvements, inside its range; the current value is kept.
    rows = np.array(list(results.values_list("estimate", "land_value", "improvement_value", "low", "high")))
    assert (rows[:, 1] + rows[:, 2] == rows[:, 0]).all() and (rows[:, 1] > 0).all()
    assert ((rows[:, 3] < rows[:, 0]) & (rows[:, 0] < rows[:, 4])).all()
    one = results.select_related("property").first()
    assert one.current_value == one.property.market_value and one.change == pytest.approx(
        one.estimate / one.current_value - 1
    )
    # The demo's values are its assessment (level 0.94 at 1 January): the estimates sit about 6% above.
    changes = np.array(list(results.exclude(change=None).values_list("change", flat=True)))
    assert np.median(changes) == pytest.approx(1 / 0.94 - 1, abs=0.04)
    assert [f.name for f in files] == ["model.json", "holdout.csv"]
    kept = json.loads(files[0].content)["hedonic"]
    assert kept["terms"][:2] == ["intercept", "months to the valuation date"]
    assert len(kept["coefficients"]) == len(kept["terms"])
    json.dumps(summary)


def test_a_county_without_valid_sales_fails_with_a_readable_reason():
    county = CountyFactory(slug="no-sales")
    job = ValuationJob.objects.create(county=county)
    with pytest.raises(ValuationError, match=r"has no valid sales with a land area .* nothing to train a model on"):
        mass_appraisal(county=county, job=job, parameters=parameters(county))


def test_without_vacant_land_sales_land_keeps_its_current_share():
    demo_county_generate(slug="val-improved", parcels=3000, seed=9, working_year=2026)
    county = County.objects.get(slug="val-improved")
    Sale.objects.filter(county=county, property__class_code="91").update(is_valid=False)  # no vacant sales
    job = ValuationJob.objects.create(county=county)
    mass_appraisal(county=county, job=job, parameters=parameters(county))
    improved = ValuationResult.objects.filter(job=job).exclude(property__class_code="91").select_related("property")
    for result in improved[:50]:
        current = result.property.land_value / result.property.market_value
        assert result.land_value / result.estimate == pytest.approx(current, abs=0.001)


def test_a_part_run_twice_replaces_its_own_results():
    """RQ delivers a part at least once: valuing the same parcels again leaves one result each."""
    from terrafusion.jobs.models import JobStatus
    from valuation.selectors import parcels_to_value
    from valuation.services import parcels_value, valuation_train

    demo_county_generate(slug="val-twice", parcels=1500, seed=4, working_year=2026)
    county = County.objects.get(slug="val-twice")
    job = ValuationJob.objects.create(county=county, status=JobStatus.RUNNING)
    fitted = valuation_train(county=county, parameters=parameters(county)).fitted
    parcels = parcels_to_value(county=county)
    whole = (int(parcels["id"].min()), int(parcels["id"].max()))
    first = parcels_value(county=county, job=job, fitted=fitted, roll_year=2026, parcels=parcels, id_range=whole)
    again = parcels_value(county=county, job=job, fitted=fitted, roll_year=2026, parcels=parcels, id_range=whole)
    assert first["valued"] == again["valued"] == ValuationResult.objects.filter(job=job).count() == 1500


def test_a_running_valuation_can_be_cancelled_and_a_running_job_of_another_kind_cannot():
    from terrafusion.jobs.models import JobStatus
    from terrafusion.jobs.registry import job_kinds
    from terrafusion.jobs.runner import job_cancel

    county = CountyFactory(slug="cancels")
    valuation = ValuationJob.objects.create(county=county, status=JobStatus.RUNNING)
    assert job_cancel(job=valuation) and valuation.status == JobStatus.CANCELLED
    other = next(kind for kind in job_kinds() if not kind.cancellable_while_running)
    running = other.model.objects.create(county=county, status=JobStatus.RUNNING)
    assert not job_cancel(job=running) and running.status == JobStatus.RUNNING
