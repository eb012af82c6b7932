"""Database router for the county's PACS database (alias `pacs`): read only, never migrated."""

from terrafusion.databases import PACS_ALIAS

PACS_APP_LABEL = "pacs"


class PacsRouter:
    def db_for_read(self, model, **hints):
        return PACS_ALIAS if model._meta.app_label == PACS_APP_LABEL else None

    def db_for_write(self, model, **hints):
        if model._meta.app_label == PACS_APP_LABEL:
            raise RuntimeError("PACS is read only: TerraFusion never writes to the county's PACS database.")
        return None

    def allow_relation(self, obj1, obj2, **hints):
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == PACS_ALIAS or app_label == PACS_APP_LABEL:
            return False
        return None
