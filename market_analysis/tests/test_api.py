"""Market-analysis jobs through the API: parameters checked at submission, and a time index then a
time-adjusted ratio study run in a real worker, their results, files and admin page."""

import csv
import io

import pytest
from django.urls import reverse

from market_analysis.models import MarketAnalysisJob, TimeIndex
from properties.demo import demo_county_generate
from terrafusion.testing.admin import client_for
from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import user_with_role
from terrafusion.testing.workers import run_burst_worker

JOBS = "api:market-analysis-job-list"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("parameters", "field", "message"),
    [
        ({"analysis": "forecast"}, "analysis", '"forecast" is not a valid choice.'),
        ({"analysis": "price_trends", "resamples": 10}, "resamples", "applies to ratio_study, not to price_trends."),
        ({"analysis": "price_trends", "time_adjust": True}, "time_adjust", "applies to ratio_study"),
        ({"analysis": "price_trends", "resamples": 1000}, "resamples", "applies to ratio_study"),  # even at its default
        ({"analysis": "time_adjustment", "stratify_by": "neighborhood"}, "stratify_by", "applies to price_trends"),
        ({"analysis": "time_adjustment", "stratify_by": "property_class"}, "stratify_by", "applies to price_trends"),
        ({"sale_date_from": "2025-06-01", "sale_date_to": "2025-01-01"}, "sale_date_to", "must not be before"),
        ({"stratify_by": "value_band", "value_bands": [300000, 200000]}, "value_bands", "strictly ascending"),
        ({"value_bands": [100000]}, "value_bands", "applies when stratify_by is value_band."),
        ({"resamples": 20000}, "resamples", "less than or equal to 10000"),
        ({"trimming": "iqr", "iqr_multiplier": 0}, "iqr_multiplier", "greater than or equal to 0.5"),
        ({"max_trim_share": 0.1}, "max_trim_share", "applies when trimming is iqr."),
        ({"confidence": 1.5}, "confidence", "less than or equal to 0.999"),
    ],
)
def test_bad_parameters_are_refused_at_submission_naming_the_field(county, parameters, field, message):
    client = bearer_client(user_with_role(county, "analyst", username="analyst"))
    response = client.post(reverse(JOBS), {"county": county.slug, "parameters": parameters}, format="json")
    assert response.status_code == 400, response.content
    reasons = response.json()["error"]["fields"][f"parameters.{field}"]
    assert any(message in reason for reason in reasons), reasons
    assert not MarketAnalysisJob.objects.exists()


@pytest.mark.django_db
def test_parameters_are_stored_as_validated_keeping_what_applies(county):
    client = bearer_client(user_with_role(county, "analyst", username="analyst"))
    parameters = {"analysis": "price_trends", "period": "quarter", "sale_date_from": "2024-01-01"}
    response = client.post(reverse(JOBS), {"county": county.slug, "parameters": parameters}, format="json")
    assert response.status_code == 202, response.content
    stored = MarketAnalysisJob.objects.get().parameters
    assert stored == {
        "analysis": "price_trends", "period": "quarter", "sale_date_from": "2024-01-01", "stratify_by": "neighborhood",
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_time_index_then_a_time_adjusted_ratio_study_in_a_real_worker():
    demo_county_generate(slug="demo-ma", parcels=3000, seed=5, working_year=2026)
    from counties.models import County

    county = County.objects.get(slug="demo-ma")
    analyst = user_with_role(county, "analyst", username="analyst")
    api = bearer_client(analyst)

    made = api.post(
        reverse(JOBS), {"county": county.slug, "parameters": {"analysis": "time_adjustment"}}, format="json"
    ).json()
    assert run_burst_worker().returncode == 0
    index_job = api.get(made["url"]).json()
    assert index_job["status"] == "completed", index_job["error_message"]
    assert TimeIndex.objects.get(county=county).job_id == MarketAnalysisJob.objects.get(pk=made["id"]).pk

    study = {
        "analysis": "ratio_study", "stratify_by": "neighborhood", "time_adjust": True, "washington_rules": True,
        "trimming": "iqr", "resamples": 300, "seed": 7,
    }  # fmt: skip
    made = api.post(reverse(JOBS), {"county": county.slug, "parameters": study}, format="json").json()
    assert run_burst_worker().returncode == 0
    job = api.get(made["url"]).json()
    assert job["status"] == "completed", job["error_message"]

    results = api.get(job["results_url"]).json()  # checked against the OpenAPI schema by the test client
    result = results["result"]
    assert result["analysis"] == "ratio_study" and result["roll_year"] == 2026
    assert result["sale_dates"] == ["2025-05-01", "2026-04-30"]
    assert result["time_adjustment"]["time_index"] == TimeIndex.objects.get(county=county).pk
    assert result["washington_rules"]["sale_price_deduction"] == 0.01
    assert result["ratio_limits"]["limits"] == [0.25, 1.75] and result["seed"] == 7
    overall = result["overall"]
    assert 0.90 < overall["median"] < 1.0 and overall["ci"]["median"][0] < overall["median"]
    assert overall["standards"]["median"] is True and overall["n"] == result["sales"]["used"]
    assert len(result["strata"]) > 3

    names = [f["name"] for f in results["files"]]
    assert names == ["sales.csv", "ratio-vs-price.png", "ratio-histogram.png", "vei-groups.png", "strata-medians.png"]
    assert job["files"] == results["files"] and job["download_url"].endswith("/download/")
    chart = api.get(results["files"][1]["url"])
    assert chart["Content-Type"] == "image/png" and b"".join(chart.streaming_content).startswith(b"\x89PNG")
    table = api.get(job["download_url"])
    rows = list(csv.DictReader(io.StringIO(b"".join(table.streaming_content).decode())))
    assert len(rows) == result["sales"]["selected"]
    assert {row["status"] for row in rows} <= {"used", "excluded", "trimmed"}
    assert sum(row["status"] == "used" for row in rows) == overall["n"]

    # The admin: the study's figures as a table, its charts shown on the job's page.
    analyst.is_staff = True
    analyst.save()
    page = client_for(analyst).get(reverse("admin:market_analysis_marketanalysisjob_change", args=[job["id"]]))
    assert page.status_code == 200
    html = page.content.decode()
    assert '<table class="tf-figures">' in html and "median ratio" in html and f"{overall['median']:,.3f}" in html
    for name in ("ratio-vs-price.png", "vei-groups.png"):
        url = reverse("admin:market_analysis_marketanalysisjob_file", args=[job["id"], name])
        assert f'<img src="{url}?inline=1"' in html
    index_page = client_for(analyst).get(
        reverse("admin:market_analysis_timeindex_change", args=[TimeIndex.objects.get(county=county).pk])
    )
    assert index_page.status_code == 200 and "factor" in index_page.content.decode()
