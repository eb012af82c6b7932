"""manage.py make_fake_pacs: a PACS-shaped database (SQLite file or PostgreSQL) holding the demo county."""

from django.core.management.base import BaseCommand, CommandError

from ingestion.pacs.fake import FakePacsError, fake_pacs_create


class Command(BaseCommand):
    help = (
        "Write the demo county (same --properties and --seed as generate_demo_county --parcels/--seed) into a "
        "PACS-shaped database with PACS's quirks, for the loader's tests and demos. The largest --years is the "
        "working year. Never touches Django's own databases."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", required=True, help="sqlite:///path/file.sqlite3 or postgres://user@host:port/dbname"
        )
        parser.add_argument("--properties", type=int, required=True, help="Demo parcels, e.g. 20000.")
        parser.add_argument(
            "--years", type=int, nargs="+", required=True, help="Roll years, e.g. 2024 2025 2026 (largest = working)."
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Drop and remake the PACS tables (delete the SQLite file) if the target already has them.",
        )

    def handle(self, *args, url, properties, years, seed, replace, **options):
        try:
            summary = fake_pacs_create(url, properties=properties, years=years, seed=seed, replace=replace)
        except FakePacsError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(summary.line())
