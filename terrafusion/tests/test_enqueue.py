"""Enqueue after commit: a job reaches the queue only once its row is committed."""

import django_rq
import pytest
from django.db import transaction

from reporting.models import ReportJob
from terrafusion.jobs.models import JobStatus
from terrafusion.jobs.runner import job_enqueue

pytestmark = pytest.mark.django_db


def test_the_queue_sees_the_job_only_after_commit(county, django_capture_on_commit_callbacks):
    queue = django_rq.get_queue("default")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = job_enqueue(model=ReportJob, county=county)
    assert queue.count == 0 and len(callbacks) == 1
    callbacks[0]()
    assert queue.job_ids == [str(job.pk)] and job.rq_job_id == str(job.pk)


def test_a_rolled_back_job_is_never_queued(county, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        job_enqueue(model=ReportJob, county=county)
        raise RuntimeError("the request failed after creating the job")
    assert callbacks == [] and not ReportJob.objects.exists()
    assert django_rq.get_queue("default").count == 0


def test_a_job_that_cannot_be_queued_is_failed_with_a_reason(county, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = job_enqueue(model=ReportJob, county=county)
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}  # nothing listens there
    with pytest.raises(Exception):  # noqa: B017 (in a real commit, robust=True logs it and the request succeeds)
        callbacks[0]()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "could not be queued" in job.error_message
