"""manage.py pacs_bulk_load --county <slug> [--roll-year Y] [--dry-run]: load a roll year from PACS, with progress."""

import sys
import time
from contextlib import nullcontext

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from counties.config import ConfigError
from counties.models import County
from ingestion.choices import IngestionOperation
from ingestion.models import IngestionJob
from ingestion.services import (
    PacsMappingInvalid,
    PacsUnavailable,
    pacs_load_combine,
    pacs_load_plan,
    pacs_load_range,
    pacs_source_open,
)
from terrafusion.jobs.models import JobStatus
from terrafusion.jobs.runner import _Heartbeat, job_finish

OPERATION = IngestionOperation.PACS_BULK_LOAD


class Command(BaseCommand):
    help = (
        "Load one roll year of a county's PACS (properties, values, owners, characteristics, sales) into TerraFusion, "
        "set-based and audited; the same load as the ingestion job. Idempotent: a second run changes nothing."
    )
    operation = OPERATION

    def add_arguments(self, parser):
        parser.add_argument("--county", required=True, help="The county's slug, e.g. benton-wa.")
        parser.add_argument("--roll-year", type=int, help="The roll year to load (default: the county's working year).")
        parser.add_argument("--dry-run", action="store_true", help="Read, check and count everything; write nothing.")

    def default_year(self, county: County) -> int | None:
        return county.working_roll_year

    def handle(self, *args, county, roll_year, dry_run, **options):
        target = County.objects.filter(slug=county).first()
        if target is None:
            raise CommandError(f"No county {county!r}: create it with setup_county first.")
        year = roll_year or self.default_year(target)
        try:
            source = pacs_source_open(county=target, roll_year=year)
            ranges = pacs_load_plan(source)
        except ConfigError as exc:
            problems = ["pacs_mapping.yaml has problems; nothing was read:", *exc.problems]
            raise CommandError("\n  - ".join(problems)) from None
        except PacsMappingInvalid as exc:
            problems = ["pacs_mapping.yaml does not fit this PACS database:", *exc.problems]
            raise CommandError("\n  - ".join(problems)) from None
        except PacsUnavailable as exc:
            raise CommandError(str(exc)) from None
        parameters = {"operation": self.operation, "roll_year": source.roll_year, "dry_run": dry_run}
        now = timezone.now()
        job = IngestionJob.objects.create(
            county=target, parameters=parameters, status=JobStatus.RUNNING, started_at=now, heartbeat_at=now
        )
        self.stdout.write(
            f"{target.slug}: {self.operation} of roll year {source.roll_year} in {len(ranges)} part(s)"
            f"{' (dry run: nothing is written)' if dry_run else ''}; job {job.pk}"
        )
        started, results = time.monotonic(), []
        try:
            # Each part commits on its own, as the job's parts do (a failure leaves the parts before it loaded, and
            # a rerun completes the load); a dry run is one transaction, rolled back.
            with _Heartbeat(IngestionJob, job.pk), transaction.atomic() if dry_run else nullcontext():
                for index, key_range in enumerate(ranges, start=1):
                    results.append(pacs_load_range(county=target, source=source, key_range=key_range, job=job))
                    self._progress(index, len(ranges), sum(r["read"] for r in results), started)
                if dry_run:
                    transaction.set_rollback(True)
        except Exception as exc:
            self.stdout.write("")
            message = str(exc) or type(exc).__name__
            job_finish(job, ok=False, error_message=message)
            raise CommandError(message) from None
        self.stdout.write("")
        result = pacs_load_combine(results, county=target, roll_year=source.roll_year, dry_run=dry_run)
        job_finish(job, ok=True, result=result, progress=1.0)
        seconds = time.monotonic() - started
        self.stdout.write(
            "read {read:,}, inserted {inserted:,}, updated {updated:,}, unchanged {unchanged:,}, "
            "rejected {rejected:,}, deactivated {deactivated:,}; values +{values_inserted:,}/~{values_updated:,}; "
            "sales +{sales_inserted:,}/~{sales_updated:,}/-{sales_deleted:,}".format(**result)
            + f" in {seconds:.1f} s"
        )
        for reject in result["first_rejects"][:10]:
            self.stdout.write(f"  rejected {reject['table']} {reject['key']}: {reject['field']}: {reject['reason']}")

    def _progress(self, done: int, total: int, read: int, started: float) -> None:
        width = 30
        filled = round(width * done / total)
        rate = read / max(time.monotonic() - started, 1e-9)
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} parts, {read:,} properties, {rate:,.0f}/s"
        if sys.stdout.isatty() or done == total:
            self.stdout.write(line, ending="")
            self.stdout.flush()
