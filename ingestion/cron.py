"""Each county's periodic PACS sync, at the cron expression of its pacs_mapping.yaml (`sync.schedule`).

terrafusion/cron.py imports this module in `manage.py rqcron terrafusion.cron`; the schedules are read when
rqcron starts, so a changed schedule (or a new county) takes effect at its next restart.
"""

import logging

from rq import cron

from counties.config import ConfigError
from counties.models import County
from ingestion.choices import IngestionOperation
from ingestion.models import IngestionJob
from ingestion.services import pacs_mapping_for
from terrafusion.jobs.models import JobStatus
from terrafusion.jobs.runner import job_enqueue

logger = logging.getLogger(__name__)


def pacs_sync_enqueue(county_slug: str) -> str:
    """Start a county's PACS sync job, unless one is already waiting or running."""
    county = County.objects.filter(slug=county_slug, is_active=True).first()
    if county is None:
        return f"{county_slug}: no active county, no sync"
    unfinished = IngestionJob.objects.filter(
        county=county,
        status__in=(JobStatus.PENDING, JobStatus.RUNNING),
        parameters__operation=IngestionOperation.PACS_SYNC,
    )
    if unfinished.exists():
        return f"{county_slug}: a sync is already pending or running"
    job = job_enqueue(model=IngestionJob, county=county, parameters={"operation": IngestionOperation.PACS_SYNC})
    return f"{county_slug}: sync job {job.pk}"


def pacs_sync_schedules() -> dict[str, str]:
    """Each active county's sync schedule (slug -> cron expression), from its mapping file."""
    schedules = {}
    for county in County.objects.filter(is_active=True).order_by("slug"):
        try:
            schedule = pacs_mapping_for(county).sync_schedule
        except ConfigError as exc:
            if any("file not found" in problem for problem in exc.problems):
                continue  # a county without a PACS mapping has no sync
            logger.error("%s: pacs_mapping.yaml has problems, no periodic sync: %s", county.slug, exc)
            continue
        if schedule:
            schedules[county.slug] = schedule
    return schedules


def register() -> None:
    for slug, schedule in pacs_sync_schedules().items():
        cron.register(
            pacs_sync_enqueue,
            queue_name="default",
            args=(slug,),
            cron=schedule,
            job_timeout=300,
            name=f"pacs_sync:{slug}",
        )
