"""Report job endpoints: county RBAC contracts for every route of the job API and its aliases."""

from django.core.files.base import ContentFile

from reporting.models import ReportJob
from terrafusion.jobs.models import JobStatus
from terrafusion.testing.api import EndpointContract


def completed_job(county) -> ReportJob:
    job = ReportJob.objects.create(county=county, status=JobStatus.COMPLETED, result={"totals": {"parcels": 0}})
    job.result_file.save("summary.csv", ContentFile(b"neighborhood,class_code,parcels\n"), save=True)
    return job


class _StartJob(EndpointContract):
    method = "post"
    is_create = True
    role = "analyst"
    read_only_role = "viewer"
    expected_status = 202

    def make_target(self, county):
        return county

    def payload(self, target):
        return {"county": target.slug, "parameters": {"report_type": "county_summary"}}

    def snapshot(self, target):
        return ReportJob.objects.count()

    def check_allowed_response(self, response, target):
        job = ReportJob.objects.get()
        assert (job.county, job.status, response.json()["id"]) == (target, "pending", str(job.pk))
        assert response["Location"].endswith(f"/api/v1/reporting/jobs/{job.pk}/")


class TestStartJob(_StartJob):
    route = "api:reporting-job-list"


class TestStartJobAlias(_StartJob):
    route = "api:reporting-run"


def test_starting_a_job_does_not_reveal_which_counties_exist(county, other_county):
    from terrafusion.testing.api import bearer_client
    from terrafusion.testing.factories import user_with_role

    client = bearer_client(user_with_role(county, "analyst"))
    url = "/api/v1/reporting/jobs/"
    hidden = client.post(url, {"county": other_county.slug}, format="json")
    missing = client.post(url, {"county": "atlantis-wa"}, format="json")
    assert hidden.status_code == missing.status_code == 403
    assert "Franklin" not in hidden.content.decode()
    assert hidden.json()["error"]["message"].replace("franklin-wa", "X") == missing.json()["error"]["message"].replace(
        "atlantis-wa", "X"
    )
    assert not ReportJob.objects.exists()


class TestJobList(EndpointContract):
    route = "api:reporting-job-list"
    is_list = True

    def make_target(self, county):
        return completed_job(county)

    def target_id(self, target):
        return str(target.pk)


class _ReadJob(EndpointContract):
    def make_target(self, county):
        return completed_job(county)


class TestJobDetail(_ReadJob):
    route = "api:reporting-job-detail"


class TestJobStatusAlias(_ReadJob):
    route = "api:reporting-status"


class TestJobResults(_ReadJob):
    route = "api:reporting-job-results"

    def check_allowed_response(self, response, target):
        assert response.json()["result"] == {"totals": {"parcels": 0}}


class TestJobResultsAlias(TestJobResults):
    route = "api:reporting-results"


class TestJobDownload(_ReadJob):
    route = "api:reporting-job-download"

    def check_allowed_response(self, response, target):
        assert b"".join(response.streaming_content).startswith(b"neighborhood,")


class TestJobCancel(EndpointContract):
    route = "api:reporting-job-cancel"
    method = "post"
    role = "analyst"
    read_only_role = "viewer"

    def make_target(self, county):
        return ReportJob.objects.create(county=county)

    def snapshot(self, target):
        return ReportJob.objects.get(pk=target.pk).status

    def check_allowed_response(self, response, target):
        assert self.snapshot(target) == "cancelled"
