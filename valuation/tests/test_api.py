"""The valuation API beyond the job routes: results listed and filtered for review, each value explained, and a
completed job's results applied to the roll (certify_values; certified values protected; twice changes nothing)."""

import numpy as np
import pytest
from django.urls import reverse

from properties.models import Property, PropertyChange, PropertyValue
from terrafusion.jobs.models import JobStatus
from terrafusion.testing.api import EndpointContract, bearer_client
from terrafusion.testing.factories import CountyFactory, PropertyValueFactory, user_with_role
from valuation.choices import ResultFlag
from valuation.models import ValuationJob, ValuationResult
from valuation.tests.known import completed_job, known_county

pytestmark = pytest.mark.django_db


def valued(county, parcels: int = 40, **parameters) -> ValuationJob:
    known_county(county, parcels=parcels, noise=0.05)
    return completed_job(county, **parameters)


class TestEstimateList(EndpointContract):
    route = "api:valuation-estimate-list"
    is_list = True

    def make_target(self, county):
        return valued(county).results.first()


class TestEstimateDetail(EndpointContract):
    route = "api:valuation-estimate-detail"

    def make_target(self, county):
        return valued(county).results.first()

    def check_allowed_response(self, response, target):
        body = response.json()
        assert body["estimate"] == target.estimate and body["land_value"] + body["improvement_value"] == target.estimate
        assert body["flags"] == target.flags


class TestEstimateExplanation(EndpointContract):
    route = "api:valuation-estimate-explanation"

    def make_target(self, county):
        return valued(county).results.first()

    def check_allowed_response(self, response, target):
        body = response.json()
        assert body["value"] == pytest.approx(target.estimate, abs=1)
        assert sum(line["log_contribution"] for line in body["contributions"]) == pytest.approx(
            np.log(target.estimate), abs=1e-4
        )


class TestApply(EndpointContract):
    route = "api:valuation-job-apply"
    method = "post"
    role = "county_admin"  # certify_values
    read_only_role = "appraiser"  # runs valuations, does not certify them

    def make_target(self, county):
        return valued(county)

    def payload(self, target):
        return {}

    def snapshot(self, target):
        return PropertyValue.objects.filter(source="valuation").count(), PropertyChange.objects.count()

    def check_allowed_response(self, response, target):
        assert response.json()["written"] == target.results.count() > 0


@pytest.fixture
def county():
    return CountyFactory(slug="apply-here", working_roll_year=2026, certified_roll_year=2025)


def apply(user, job, **body):
    return bearer_client(user).post(reverse("api:valuation-job-apply", args=[job.pk]), body, format="json")


def test_applying_writes_the_roll_years_values_and_current_values_audited_and_twice_changes_nothing(county):
    admin = user_with_role(county, "county_admin", username="assessor")
    job = valued(county, parcels=48)
    first = apply(admin, job)
    assert first.status_code == 200, first.content
    results = {r.property_id: r for r in job.results.all()}
    assert first.json() == {
        "job": str(job.pk), "roll_year": 2026, "results": len(results), "written": len(results), "unchanged": 0,
        "certified": 0, "current_updated": len(results),
    }  # fmt: skip
    for prop in Property.objects.filter(pk__in=list(results)):
        result = results[prop.pk]
        assert (prop.market_value, prop.land_value, prop.value_year) == (result.estimate, result.land_value, 2026)
        row = PropertyValue.objects.get(property=prop, roll_year=2026, source="valuation")
        assert (row.market_value, row.improvement_value, row.job_id) == (result.estimate, result.improvement_value,
                                                                          job.pk)  # fmt: skip
    change = PropertyChange.objects.filter(property_id=result.property_id).latest("changed_at")
    assert change.user == admin and change.job_id == job.pk and change.actor_kind == "user"
    assert change.changes["values[2026/valuation].market_value"] == {"old": None, "new": result.estimate}
    assert change.changes["market_value"]["new"] == result.estimate

    audits = PropertyChange.objects.count()
    second = apply(admin, job)
    assert second.json()["written"] == 0 and second.json()["unchanged"] == len(results)
    assert PropertyChange.objects.count() == audits


def test_a_filter_chooses_which_results_are_applied(county):
    admin = user_with_role(county, "county_admin", username="assessor")
    job = valued(county, parcels=48)
    job.results.update(change=0.0)
    ValuationResult.objects.filter(pk=job.results.order_by("id").first().pk).update(change=0.45)
    response = apply(admin, job, filter={"exclude_flag": "large_change"})
    assert response.json()["results"] == job.results.count() - 1
    assert apply(admin, job, filter={"no_such": "1"}).status_code == 400
    assert apply(admin, job, filter={"change_min": "lots"}).status_code == 400


def test_certified_values_are_not_overwritten_without_the_flag(county):
    admin = user_with_role(county, "county_admin", username="assessor")
    job = valued(county, parcels=48)
    target = job.results.order_by("id").first()
    PropertyValueFactory(property=target.property, county=county, roll_year=2026, source="pacs", is_certified=True)
    before = Property.objects.get(pk=target.property_id).market_value
    response = apply(admin, job)
    assert response.json()["certified"] == 1
    assert Property.objects.get(pk=target.property_id).market_value == before
    assert apply(admin, job, overwrite_certified=True).json()["written"] == 1
    assert Property.objects.get(pk=target.property_id).market_value == target.estimate

    # A certified roll year as a whole: refused (409) without the flag, nothing written.
    county.certified_roll_year = 2026
    county.save()
    rows = PropertyValue.objects.count()
    refused = apply(admin, job)
    assert refused.status_code == 409 and "certified" in refused.json()["error"]["message"]
    assert PropertyValue.objects.count() == rows


def test_only_a_completed_job_is_applied(county):
    admin = user_with_role(county, "county_admin", username="assessor")
    job = valued(county)
    ValuationJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED)
    assert apply(admin, job).status_code == 409


def test_results_are_filtered_by_neighborhood_change_and_flag(county):
    viewer = user_with_role(county, "viewer", username="reviewer")
    job = valued(county, parcels=48)
    first, second = job.results.order_by("id")[:2]
    job.results.update(change=0.0)  # every parcel level with its current value, but two
    ValuationResult.objects.filter(pk=first.pk).update(change=0.5)
    ValuationResult.objects.filter(pk=second.pk).update(change=-0.35)
    client = bearer_client(viewer)
    url = reverse("api:valuation-estimate-list")

    def ids(**query):
        response = client.get(url, {"job": str(job.pk), **query})
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids(flag="large_change") == {first.pk, second.pk}
    assert ids(change_min=0.4) == {first.pk}
    assert ids(change_max=-0.3) == {second.pk}
    assert len(ids(neighborhood="K1")) == 48 and ids(neighborhood="NOPE") == set()
    assert first.pk not in ids(exclude_flag="large_change")
    # Each flag filter (SQL) picks exactly the results whose flags (Python) say so.
    ValuationResult.objects.filter(pk=second.pk).update(current_value=None)
    stored = list(job.results.all())
    for flag in ResultFlag.values:
        assert ids(flag=flag) == {r.pk for r in stored if flag in r.flags}, flag


@pytest.mark.parametrize("method", ["hedonic", "gbm"])
def test_an_explanations_contributions_add_up_to_the_value(method, county):
    viewer = user_with_role(county, "viewer", username="owner-desk")
    known_county(county, parcels=120, noise=0.05)
    job = completed_job(county, method=method)
    result = job.results.order_by("id")[7]
    body = bearer_client(viewer).get(reverse("api:valuation-estimate-explanation", args=[result.pk])).json()
    total = sum(line["log_contribution"] for line in body["contributions"])
    assert np.exp(total) == pytest.approx(result.estimate, rel=1e-4)
    assert body["value"] == pytest.approx(result.estimate, abs=1)
    running = 1.0
    for line in body["contributions"]:
        running *= line["factor"]
    assert running == pytest.approx(result.estimate, rel=1e-4)
    assert sum(line["amount"] for line in body["contributions"]) == body["value"]  # the dollars add up exactly
    names = {line["term"] for line in body["contributions"]}
    assert (
        ("log living area" in names) if method == "hedonic" else ("log living area" in names and "base value" in names)
    )
