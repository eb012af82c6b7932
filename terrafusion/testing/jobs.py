"""Access contracts for every route of a job kind, derived from its declaration (JobKind).

`job_kind_contracts(kind)` returns EndpointContract classes (named after the kind) for the list, start,
detail, results, download and cancel routes and the seed aliases; terrafusion/tests/test_api_jobs.py
makes them for every declared kind, so a new kind is proven without writing a test.
"""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from counties.roles import ROLES
from terrafusion.jobs.models import JobStatus, job_file_path
from terrafusion.jobs.registry import JobKind
from terrafusion.testing.api import EndpointContract

RESULT = {"totals": {"parcels": 0}}
FILE_CONTENT = b"neighborhood,class_code,parcels\n"
CHART_CONTENT = b"\x89PNG\r\n\x1a\n not really a chart"


def least_role_with(codename: str) -> str:
    """The role with the fewest permissions that holds `codename` (the least privilege that may act)."""
    return min((role for role, codenames in ROLES.items() if codename in codenames), key=lambda r: len(ROLES[r]))


def result_of(kind: JobKind) -> dict:
    return RESULT if kind.example_result is None else kind.example_result


def completed_job(kind: JobKind, county):
    """A completed job of the kind with a result summary and two files (a CSV, its main one, and a chart)."""
    job = kind.model.objects.create(county=county, status=JobStatus.COMPLETED, result=result_of(kind))
    job.files = [
        {
            "name": name,
            "title": name,
            "content_type": content_type,
            "size": len(content),
            "path": default_storage.save(job_file_path(job, name), ContentFile(content)),
        }
        for name, content_type, content in (
            ("result.csv", "text/csv", FILE_CONTENT),
            ("chart.png", "image/png", CHART_CONTENT),
        )
    ]
    job.save(update_fields=["files"])
    return job


def job_kind_contracts(kind: JobKind) -> dict[str, type[EndpointContract]]:
    slug, model = kind.slug, kind.model
    runner_role = least_role_with(kind.run_codename)
    name = kind.class_prefix

    class StartJob(EndpointContract):
        method = "post"
        is_create = True
        role = runner_role
        read_only_role = "viewer"
        expected_status = 202

        def make_target(self, county):
            return county

        def payload(self, target):
            return {"county": target.slug, "parameters": kind.example_parameters}

        def snapshot(self, target):
            return model.objects.count()

        def check_allowed_response(self, response, target):
            job = model.objects.get()
            assert (job.county, job.status, response.json()["id"]) == (target, "pending", str(job.pk))
            assert response["Location"].endswith(f"/api/v1/{slug}/jobs/{job.pk}/")

    class ReadJob(EndpointContract):
        def make_target(self, county):
            return completed_job(kind, county)

    class JobList(ReadJob):
        is_list = True

        def target_id(self, target):
            return str(target.pk)

    class JobResults(ReadJob):
        def check_allowed_response(self, response, target):
            assert response.json()["result"] == result_of(kind)

    class JobDownload(ReadJob):
        def check_allowed_response(self, response, target):
            assert b"".join(response.streaming_content) == FILE_CONTENT

    class JobFile(ReadJob):
        def url_args(self, target):
            return [target.pk, "chart.png"]

        def check_allowed_response(self, response, target):
            assert response["Content-Type"] == "image/png"
            assert b"".join(response.streaming_content) == CHART_CONTENT

    class JobCancel(EndpointContract):
        method = "post"
        role = runner_role
        read_only_role = "viewer"

        def make_target(self, county):
            return model.objects.create(county=county)

        def snapshot(self, target):
            return model.objects.get(pk=target.pk).status

        def check_allowed_response(self, response, target):
            assert self.snapshot(target) == "cancelled"

    routes = {
        "StartJob": (StartJob, f"api:{slug}-job-list"),
        "StartJobAlias": (StartJob, f"api:{slug}-run"),
        "JobList": (JobList, f"api:{slug}-job-list"),
        "JobDetail": (ReadJob, f"api:{slug}-job-detail"),
        "JobStatusAlias": (ReadJob, f"api:{slug}-status"),
        "JobResults": (JobResults, f"api:{slug}-job-results"),
        "JobResultsAlias": (JobResults, f"api:{slug}-results"),
        "JobDownload": (JobDownload, f"api:{slug}-job-download"),
        "JobFile": (JobFile, f"api:{slug}-job-file"),
        "JobCancel": (JobCancel, f"api:{slug}-job-cancel"),
    }
    return {
        f"Test{name}{test}": type(f"Test{name}{test}", (base,), {"route": route})
        for test, (base, route) in routes.items()
    }
