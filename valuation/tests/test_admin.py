"""Staff review valuation results in the admin: the job's holdout and model, the results filtered by flag, change
and neighborhood, each result's evidence, the property page's grid, and applying selected results (certify)."""

import pytest
from django.urls import reverse

from properties.models import Property
from terrafusion.testing.admin import changelist_ids, client_for, staff
from terrafusion.testing.factories import CountyFactory
from valuation.models import ValuationResult
from valuation.tests.known import completed_job, known_county

pytestmark = pytest.mark.django_db


@pytest.fixture
def county():
    return CountyFactory(slug="admin-val", working_roll_year=2026, certified_roll_year=2025)


def test_staff_review_a_job_and_its_results(county):
    parcels = known_county(county, parcels=60, noise=0.05)
    job = completed_job(county, method="hedonic", holdout_share=0.3)
    first = job.results.order_by("id").first()
    job.results.update(change=0.0)  # every parcel level with its current value, but one
    ValuationResult.objects.filter(pk=first.pk).update(change=0.42)
    client = client_for(staff(county, "viewer", "reviewer"))

    page = client.get(reverse("admin:valuation_valuationjob_change", args=[job.pk])).content.decode()
    assert "median ratio" in page and "log living area" in page and f"?job={job.pk}" in page

    results = reverse("admin:valuation_valuationresult_changelist")
    assert len(changelist_ids(client.get(results, {"job": str(job.pk)}))) == len(parcels)
    assert changelist_ids(client.get(results, {"job": str(job.pk), "flag": "large_change"})) == {first.pk}
    assert first.pk in changelist_ids(client.get(results, {"change_band": "up30"}))
    assert first.pk not in changelist_ids(client.get(results, {"change_band": "level"}))
    assert len(changelist_ids(client.get(results, {"neighborhood": "K1"}))) == len(parcels)

    detail = client.get(reverse("admin:valuation_valuationresult_change", args=[first.pk])).content.decode()
    assert "dollars (in order)" in detail and "log living area" in detail
    # A viewer may not apply: the action is not offered.
    assert "apply_selected" not in client.get(results).content.decode()


def test_the_property_page_shows_its_comparables_grid(county):
    parcels = known_county(county, parcels=60, noise=0.05)
    completed_job(county, method="comparable_sales", property=parcels[10].pk)
    client = client_for(staff(county, "viewer", "reviewer"))
    page = client.get(reverse("admin:properties_property_change", args=[parcels[10].pk])).content.decode()
    assert "Valuation evidence" in page and "comparable 5" in page and "adjusted price" in page


def test_an_assessor_applies_selected_results_from_the_list(county):
    parcels = known_county(county, parcels=60, noise=0.05)
    job = completed_job(county, method="hedonic")
    chosen = list(job.results.order_by("id")[:3])
    client = client_for(staff(county, "county_admin", "assessor"))
    response = client.post(
        reverse("admin:valuation_valuationresult_changelist"),
        {"action": "apply_selected", "_selected_action": [r.pk for r in chosen]},
        follow=True,
    )
    assert "3 parcels&#x27; 2026 values written" in response.content.decode()
    for result in chosen:
        assert Property.objects.get(pk=result.property_id).market_value == result.estimate
    untouched = Property.objects.get(pk=parcels[-1].pk)
    assert untouched.value_year != 2026
