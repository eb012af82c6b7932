"""Periodic jobs, run by `manage.py rqcron terrafusion.cron` (RQ's cron scheduler)."""

import importlib

from django.conf import settings
from rq import cron

from terrafusion.jobs.sweep import expired_files_delete, sweep_stale_jobs
from terrafusion.sessions import tokens_flush_expired

cron.register(
    sweep_stale_jobs,
    queue_name="default",
    interval=settings.JOB_SWEEP_INTERVAL_SECONDS,
    job_timeout=300,
    name="sweep_stale_jobs",
)

# Result files past their lifetime (GIS exports: GIS_EXPORT_FILE_TTL_HOURS) are deleted from the storage.
cron.register(expired_files_delete, queue_name="default", interval=3600, job_timeout=600, name="expired_files_delete")

# Expired refresh tokens (and their blacklist rows) serve no purpose: keep the tables small.
cron.register(
    tokens_flush_expired,
    queue_name="default",
    interval=3600,
    job_timeout=300,
    name="tokens_flush_expired",
)

# The apps' own periodic work (e.g. each county's PACS sync): an app with a `cron` module registers it there.
for _app in settings.LOCAL_APPS:
    if f"{_app}.cron" == __name__:
        continue
    try:
        _module = importlib.import_module(f"{_app}.cron")
    except ModuleNotFoundError as exc:
        if exc.name != f"{_app}.cron":
            raise
        continue
    _module.register()
