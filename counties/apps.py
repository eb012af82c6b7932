from django.apps import AppConfig


class CountiesConfig(AppConfig):
    name = "counties"
    verbose_name = "Counties"

    def ready(self) -> None:
        from counties import signals

        signals.connect_access_signals()
