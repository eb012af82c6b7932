"""Staff start, follow, cancel and download jobs of every declared kind in the admin, with the API's rules."""

import pytest
from django.urls import reverse

from terrafusion.jobs.models import JobStatus
from terrafusion.jobs.registry import job_kinds
from terrafusion.testing.admin import client_for, staff
from terrafusion.testing.jobs import CHART_CONTENT, FILE_CONTENT, completed_job, least_role_with

pytestmark = pytest.mark.django_db

KINDS = [pytest.param(kind, id=kind.slug) for kind in job_kinds()]


def admin_url(kind, name: str, *args) -> str:
    opts = kind.model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}", args=args)


@pytest.mark.parametrize("kind", KINDS)
def test_staff_with_the_run_permission_start_a_job_from_the_form(kind, county, other_county):
    user = staff(county, least_role_with(kind.run_codename), "runner")
    client = client_for(user)
    form = client.get(admin_url(kind, "add"))
    assert form.status_code == 200
    offered = {str(c.pk) for c in form.context["form"].fields["county"].queryset}
    assert offered == {str(county.pk)}  # only counties where the user may run this kind
    for name in kind.parameters().fields:
        assert name in form.context["form"].fields  # built from the kind's parameters serializer

    response = client.post(admin_url(kind, "add"), {"county": county.pk, **kind.example_parameters})
    job = kind.model.objects.get()
    assert response.status_code == 302 and response["Location"] == admin_url(kind, "change", job.pk)
    assert (job.county, job.requested_by, job.status) == (county, user, JobStatus.PENDING)
    assert job.parameters == kind.validate_parameters(kind.example_parameters)

    page = client.get(admin_url(kind, "change", job.pk))
    assert page.status_code == 200
    assert b"Cancel this job" in page.content and b'http-equiv="refresh"' in page.content  # follows progress


@pytest.mark.parametrize("kind", KINDS)
def test_the_form_refuses_what_the_api_refuses(kind, county, other_county):
    user = staff(county, least_role_with(kind.run_codename), "runner")
    client = client_for(user)
    other = client.post(admin_url(kind, "add"), {"county": other_county.pk, **kind.example_parameters})
    assert other.status_code == 200 and "county" in other.context["form"].errors
    bad_choice = {name: "no-such-choice" for name, f in kind.parameters().fields.items() if hasattr(f, "choices")}
    if bad_choice:
        bad = client.post(admin_url(kind, "add"), {"county": county.pk, **bad_choice})
        assert bad.status_code == 200 and set(bad_choice) <= set(bad.context["form"].errors)
    assert not kind.model.objects.exists()

    viewer = client_for(staff(county, "viewer", "viewer"))
    assert viewer.get(admin_url(kind, "add")).status_code == 403


@pytest.mark.parametrize("kind", KINDS)
def test_the_cap_on_unfinished_jobs_holds_in_the_admin(kind, county, settings):
    settings.JOB_MAX_UNFINISHED_PER_USER = 1
    user = staff(county, least_role_with(kind.run_codename), "runner")
    kind.model.objects.create(county=county, requested_by=user)
    response = client_for(user).post(admin_url(kind, "add"), {"county": county.pk, **kind.example_parameters})
    assert response.status_code == 200
    assert "1 jobs pending or running" in str(response.context["form"].non_field_errors())
    assert kind.model.objects.count() == 1


@pytest.mark.parametrize("kind", KINDS)
def test_staff_cancel_a_pending_job_and_not_a_finished_one(kind, county):
    user = staff(county, least_role_with(kind.run_codename), "runner")
    client = client_for(user)
    pending = kind.model.objects.create(county=county)
    assert client.post(admin_url(kind, "cancel", pending.pk)).status_code == 302
    pending.refresh_from_db()
    assert pending.status == JobStatus.CANCELLED
    done = completed_job(kind, county)
    client.post(admin_url(kind, "cancel", done.pk))
    done.refresh_from_db()
    assert done.status == JobStatus.COMPLETED

    viewer = client_for(staff(county, "viewer", "viewer"))
    other_pending = kind.model.objects.create(county=county)
    assert viewer.post(admin_url(kind, "cancel", other_pending.pk)).status_code == 403
    assert kind.model.objects.get(pk=other_pending.pk).status == JobStatus.PENDING


@pytest.mark.parametrize("kind", KINDS)
def test_staff_download_result_files_of_their_counties_only(kind, county, other_county):
    job = completed_job(kind, county)
    viewer = client_for(staff(county, "viewer", "viewer"))
    page = viewer.get(admin_url(kind, "change", job.pk))
    assert admin_url(kind, "download", job.pk).encode() in page.content
    download = viewer.get(admin_url(kind, "download", job.pk))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == FILE_CONTENT
    # Every named file is listed; a chart is shown on the page, served inline.
    chart = admin_url(kind, "file", job.pk, "chart.png")
    assert f'<img src="{chart}?inline=1"'.encode() in page.content
    inline = viewer.get(chart + "?inline=1")
    assert inline["Content-Type"] == "image/png" and inline["Content-Disposition"].startswith("inline")
    assert b"".join(inline.streaming_content) == CHART_CONTENT
    assert viewer.get(chart.replace("chart.png", "missing.png")).status_code == 404

    outsider = client_for(staff(other_county, "county_admin", "outsider"))
    assert outsider.get(admin_url(kind, "download", job.pk)).status_code == 404
    assert outsider.get(chart).status_code == 404
