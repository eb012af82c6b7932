"""manage.py demo_county_from_pacs --slug demo --parcels N: the demo county made the way a county is made.

The demo generator's county is written as a fake PACS (a SQLite file, `make_fake_pacs`), and the PACS loader
loads it, certified year then working year, as a county's first load would; the parcels' polygons, which PACS
does not hold, come from the same generator as the county's GIS layer would. The county keeps the true price
model of the data (`settings["demo_model"]`), so what valuation recovers can be judged. A newcomer running
`make demo` sees the real path. The demo's mapping (Benton's) is written beside it, so the demo's worker can
sync the county from the same file.
"""

import time
from pathlib import Path

import shapely
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from ingestion.choices import IngestionOperation
from ingestion.models import IngestionJob
from ingestion.pacs.fake import fake_pacs_create
from ingestion.pacs.mapping import MAPPING_FILE, pacs_mapping_default, pacs_mapping_template
from ingestion.services import pacs_load_combine, pacs_load_plan, pacs_load_range, pacs_source_open
from properties.choices import ActorKind
from properties.demo import DemoCountyError, demo_county_create, demo_data_generate
from properties.models import Property, Sale
from properties.services import Actor, property_geometries_set
from terrafusion.databases import pacs_connection_open
from terrafusion.jobs.models import JobStatus
from terrafusion.jobs.runner import job_finish


def demo_pacs_path() -> Path:
    return Path(settings.VAR_DIR) / "demo-pacs.sqlite3"


def demo_config_dir() -> Path:
    """The demo's COUNTY_CONFIG_DIR (its processes get it): the demo county's pacs_mapping.yaml lives there."""
    return Path(settings.VAR_DIR) / "configs"


class Command(BaseCommand):
    help = "Create a demo county by loading a fake PACS made from the demo generator (the real loading path)."

    def add_arguments(self, parser):
        parser.add_argument("--slug", default="demo")
        parser.add_argument("--name", default="Demo County")
        parser.add_argument("--parcels", type=int, default=20_000)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--pacs-file", help="Where the fake PACS goes (default var/demo-pacs.sqlite3).")

    def handle(self, *args, slug, name, parcels, seed, pacs_file, **options):
        started = time.perf_counter()
        working = timezone.localdate().year
        years = [working - 1, working]
        path = Path(pacs_file) if pacs_file else demo_pacs_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path.resolve()}"
        fake = fake_pacs_create(url, properties=parcels, years=years, seed=seed, replace=True)
        self.stdout.write(f"  fake PACS: {sum(fake.counts.values()):,} rows in {path} ({fake.seconds:.1f} s)")
        data = demo_data_generate(parcels=parcels, seed=seed, working_year=working)
        try:
            with transaction.atomic():
                county = demo_county_create(slug=slug, name=name, fips=None, data=data, seed=seed)
        except DemoCountyError as exc:
            raise CommandError(str(exc)) from None
        pacs = pacs_connection_open(url)
        job = IngestionJob.objects.create(
            county=county,
            parameters={"operation": IngestionOperation.PACS_BULK_LOAD, "roll_year": working},
            status=JobStatus.RUNNING,
            started_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
        results = []
        for year in years:  # the certified roll, then the working one: both years of the value history
            source = pacs_source_open(county=county, roll_year=year, mapping=pacs_mapping_default(), connection=pacs)
            year_results = [
                pacs_load_range(county=county, source=source, key_range=key_range, job=job)
                for key_range in pacs_load_plan(source)
            ]
            results = year_results
        polygons = dict(zip(data.property_ids.tolist(), shapely.to_wkb(data.polygons).tolist(), strict=True))
        pacs.close()
        property_geometries_set(
            county=county, geometries=polygons, actor=Actor(kind=ActorKind.JOB, job_id=job.pk, source="county GIS")
        )
        result = pacs_load_combine(results, county=county, roll_year=working, dry_run=False)
        job_finish(job, ok=True, result=result, progress=1.0)
        mapping_dir = demo_config_dir() / slug
        mapping_dir.mkdir(parents=True, exist_ok=True)
        (mapping_dir / MAPPING_FILE).write_text(pacs_mapping_template(), encoding="utf-8")
        parcels_loaded = Property.objects.filter(county=county).count()
        sales = Sale.objects.filter(county=county).count()
        self.stdout.write(
            f"{slug}: {parcels_loaded:,} parcels and {sales:,} sales loaded from the fake PACS for {years[0]} and "
            f"{years[1]} ({result['rejected']:,} records rejected, as PACS's quirks make them) in "
            f"{time.perf_counter() - started:.1f} s"
        )
