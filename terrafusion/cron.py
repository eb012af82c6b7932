"""Periodic jobs, run by `manage.py rqcron terrafusion.cron` (RQ's cron scheduler)."""

from django.conf import settings
from rq import cron

from terrafusion.jobs.sweep import sweep_stale_jobs

cron.register(
    sweep_stale_jobs,
    queue_name="default",
    interval=settings.JOB_SWEEP_INTERVAL_SECONDS,
    job_timeout=300,
    name="sweep_stale_jobs",
)
