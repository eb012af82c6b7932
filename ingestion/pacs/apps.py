from django.apps import AppConfig


class PacsConfig(AppConfig):
    """The PACS tables as unmanaged models (app label `pacs`, read from the `pacs` alias, never migrated)."""

    name = "ingestion.pacs"
    label = "pacs"
    verbose_name = "PACS (read only)"
