from django.apps import AppConfig


class TerrafusionConfig(AppConfig):
    name = "terrafusion"
    verbose_name = "TerraFusion platform"

    def ready(self) -> None:
        # Registers the system checks. The job and queue metric collectors are not registered here:
        # only `manage.py metrics_exporter` exposes them (see terrafusion/metrics.py), so starting a
        # process never touches Redis.
        from terrafusion import checks  # noqa: F401
        from terrafusion.jobs import registry

        registry.autodiscover()  # every app's jobs.py declares its job kinds
        # Each declared kind gets its admin (start, follow, cancel, download) unless its app made its own.
        from terrafusion.admin import register_job_admins

        register_job_admins()
        # Password changes, deactivation and losing the last county role end the user's sessions.
        from terrafusion.sessions import connect_signals

        connect_signals()
