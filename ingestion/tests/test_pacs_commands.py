"""manage.py pacs_bulk_load and pacs_sync: the same load as the job, with progress and a summary in the terminal."""

import io

import pytest
from django.core.management import CommandError, call_command

from ingestion.models import IngestionJob
from ingestion.tests.test_pacs_load import PARCELS
from properties.models import Property
from terrafusion.jobs.models import JobStatus
from terrafusion.testing.pacs import pacs_fill

pytestmark = pytest.mark.django_db(databases=["default", "pacs"])


@pytest.fixture
def fake(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return pacs_fill(properties=PARCELS, years=[2025, 2026], seed=13)


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def test_a_dry_run_counts_and_writes_nothing_then_the_load_writes(fake, county):
    dry = run("pacs_bulk_load", county="benton-wa", roll_year=2026, dry_run=True)
    assert "dry run: nothing is written" in dry and f"inserted {PARCELS:,}" in dry
    assert "1/1 parts" in dry  # the progress bar's last state
    assert not Property.objects.filter(county=county).exists()
    loaded = run("pacs_bulk_load", county="benton-wa", roll_year=2026)
    assert f"inserted {PARCELS:,}, updated 0" in loaded and "rejected sale" in loaded
    assert Property.objects.filter(county=county).count() == PARCELS
    jobs = IngestionJob.objects.filter(county=county).order_by("created_at")
    assert [job.status for job in jobs] == [JobStatus.COMPLETED, JobStatus.COMPLETED]  # the record of each run
    assert jobs[1].result["inserted"] == PARCELS and jobs[0].result["dry_run"] is True


def test_a_sync_reads_the_newest_year_and_changes_nothing_twice(fake, county):
    run("pacs_sync", county="benton-wa")
    again = run("pacs_sync", county="benton-wa")
    assert "roll year 2026" in again and "inserted 0, updated 0" in again


def test_a_county_that_does_not_exist_is_refused(fake):
    with pytest.raises(CommandError, match="No county 'nowhere'"):
        run("pacs_bulk_load", county="nowhere")
