from django.db import models


class IngestionOperation(models.TextChoices):
    PACS_BULK_LOAD = "pacs_bulk_load", "PACS bulk load"
    PACS_SYNC = "pacs_sync", "PACS incremental sync"
    UPLOAD_VALIDATE = "upload_validate", "Validate an upload"
