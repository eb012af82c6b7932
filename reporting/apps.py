from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "Reporting"

    def ready(self) -> None:
        from reporting.dashboard import county_dashboard
        from terrafusion.dashboard import register

        register(county_dashboard)  # the county dashboard on the admin's home page
