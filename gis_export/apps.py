from django.apps import AppConfig


class GisExportConfig(AppConfig):
    name = "gis_export"
    verbose_name = "GIS export"
