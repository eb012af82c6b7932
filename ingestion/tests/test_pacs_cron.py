"""Each county's PACS sync runs on the schedule of its pacs_mapping.yaml, through rqcron, never twice at once."""

import importlib

import pytest
from rq import cron

from ingestion import cron as pacs_cron
from ingestion.models import IngestionJob
from terrafusion.jobs.models import JobStatus

pytestmark = pytest.mark.django_db


def test_counties_with_a_mapping_are_scheduled_at_its_cron_expression(county, other_county):
    # benton-wa ships a mapping (sync at 02:30 every day); franklin-wa has no configuration directory.
    assert pacs_cron.pacs_sync_schedules() == {"benton-wa": "30 2 * * *"}
    from terrafusion import cron as schedule

    importlib.reload(schedule)  # what rqcron does when it loads terrafusion.cron
    registered = {job["name"]: job for job in cron._job_data_registry if job["func"] is pacs_cron.pacs_sync_enqueue}
    assert registered["pacs_sync:benton-wa"]["cron"] == "30 2 * * *"
    assert registered["pacs_sync:benton-wa"]["args"] == ("benton-wa",)


def test_a_sync_is_not_started_while_one_is_waiting_or_running(county, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert "sync job" in pacs_cron.pacs_sync_enqueue("benton-wa")
    job = IngestionJob.objects.get()
    assert job.parameters == {"operation": "pacs_sync"} and job.status == JobStatus.PENDING
    assert pacs_cron.pacs_sync_enqueue("benton-wa") == "benton-wa: a sync is already pending or running"
    job.status = JobStatus.COMPLETED
    job.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert "sync job" in pacs_cron.pacs_sync_enqueue("benton-wa")
    assert IngestionJob.objects.count() == 2
    county.is_active = False
    county.save()
    assert pacs_cron.pacs_sync_enqueue("benton-wa") == "benton-wa: no active county, no sync"
