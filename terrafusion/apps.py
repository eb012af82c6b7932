from django.apps import AppConfig


class TerrafusionConfig(AppConfig):
    name = "terrafusion"
    verbose_name = "TerraFusion platform"

    def ready(self) -> None:
        from terrafusion import checks, metrics  # noqa: F401  (registers system checks and collectors)

        metrics.register_collectors()
