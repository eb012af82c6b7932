"""manage.py pacs_sync --county <slug>: apply what changed in PACS since the last load, in its newest roll year."""

from ingestion.choices import IngestionOperation
from ingestion.management.commands.pacs_bulk_load import Command as BulkLoadCommand


class Command(BulkLoadCommand):
    help = (
        "Bring a county up to date with its PACS: only new, changed and gone properties and sales are written "
        "(records whose hash is unchanged are skipped), in PACS's newest roll year unless --roll-year says otherwise."
    )
    operation = IngestionOperation.PACS_SYNC

    def default_year(self, county):
        return None  # the newest year PACS holds: the yearly copy into the next roll is loaded by the next sync
