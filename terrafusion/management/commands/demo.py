"""`manage.py demo`: the whole platform on the quick-start defaults, with a demo county and users.

Migrates, collects static files, creates the demo county (once, by loading a fake PACS made from the demo
generator: ingestion's demo_county_from_pacs) and one user per role (new
passwords each start, printed), then runs the web server (gunicorn, with deploy/gunicorn.conf.py as
in production), an RQ worker with RQ's scheduler, the rqcron scheduler and the metrics exporter
(job and queue metrics), all sharing this process's database and Redis. Ctrl-C stops them all.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from counties.models import County
from counties.roles import ROLES
from counties.services import user_set_county_roles

DEMO_SLUG = "demo"


def _free_port(preferred: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]


class Command(BaseCommand):
    help = "Set up and run the demo platform (web, worker, scheduler) on the quick-start defaults."

    def add_arguments(self, parser):
        parser.add_argument("--parcels", type=int, default=20000, help="Parcels in the demo county (first run).")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--no-serve", dest="serve", action="store_false", help="Set up only; start nothing.")

    def handle(self, *args, parcels: int, port: int, serve: bool, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        county = County.objects.filter(slug=DEMO_SLUG).first()
        if county is None:
            self.stdout.write(f"Creating the demo county ({parcels:,} parcels)...")
            # The real path: a fake PACS made from the demo generator, loaded by the PACS loader (ingestion).
            call_command("demo_county_from_pacs", slug=DEMO_SLUG, parcels=parcels, stdout=self.stdout)
            county = County.objects.get(slug=DEMO_SLUG)
        else:
            self.stdout.write(f"Demo county {county} already loaded.")
        logins = self._demo_users(county)
        if not serve:
            self._print_logins(logins, url=None)
            return
        self._serve(logins, port=_free_port(port))

    def _demo_users(self, county: County) -> list[tuple[str, str, str]]:
        """One staff user per role in the demo county, with a fresh random password."""
        User = get_user_model()
        logins = []
        for role in ROLES:
            username = f"demo-{role.replace('_', '-')}"
            user, _ = User.objects.get_or_create(
                username=username, defaults={"first_name": "Demo", "last_name": role.replace("_", " ").title()}
            )
            password = secrets.token_urlsafe(9)
            user.set_password(password)
            user.is_staff = True
            user.email = f"{username}@example.org"
            user.save()
            user_set_county_roles(user=user, county=county, roles=[role])
            logins.append((role, username, password))
        return logins

    def _print_logins(self, logins, url: str | None, exporter_url: str | None = None) -> None:
        self.stdout.write("")
        if url:
            self.stdout.write(self.style.SUCCESS(f"TerraFusion is running at {url}"))
            self.stdout.write(f"  admin       {url}/admin/")
            self.stdout.write(f"  API         {url}/api/v1/")
            self.stdout.write(f"  API docs    {url}/api/docs/")
            self.stdout.write(f"  jobs        {url}/admin/reporting/reportjob/ (RQ dashboard: superusers)")
            self.stdout.write(f"  metrics     {url}/metrics (HTTP, database)")
            self.stdout.write(f"  job metrics {exporter_url}/metrics (jobs by county, queues)")
        self.stdout.write("Demo logins (new passwords at each start):")
        for role, username, password in logins:
            self.stdout.write(f"  {role:<13} {username:<18} {password}")
        self.stdout.write("")

    def _serve(self, logins, *, port: int) -> None:
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        # Children share this process's database and its embedded Redis (owned by this process).
        env = {**os.environ, "REDIS_URL": settings.REDIS_URL, "PYTHONUNBUFFERED": "1"}
        # The demo county's PACS is the fake one it was loaded from (var/), so a sync started in the demo works.
        var = Path(settings.VAR_DIR)
        env.setdefault("PACS_DATABASE_URL", f"sqlite:///{(var / 'demo-pacs.sqlite3').resolve()}")
        env.setdefault("COUNTY_CONFIG_DIR", str(var / "configs"))
        bin_dir = Path(sys.executable).parent
        gunicorn_conf = str(Path(settings.BASE_DIR) / "deploy" / "gunicorn.conf.py")
        exporter_port = _free_port(9150)
        commands = {
            "web": [str(bin_dir / "gunicorn"), "-c", gunicorn_conf, "terrafusion.wsgi", "--workers", "2",
                    "--bind", f"127.0.0.1:{port}", "--access-logfile", "-", "--graceful-timeout", "5"],
            "metrics": [sys.executable, manage, "metrics_exporter", "--verbosity", "0",
                        "--bind", f"127.0.0.1:{exporter_port}"],
            # Quiet worker and cron: the sweep runs every 30 s and would bury the logins printed above.
            "worker": [sys.executable, manage, "rqworker", "--with-scheduler", "--verbosity", "0", "default"],
            "cron": [sys.executable, manage, "rqcron", "terrafusion.cron", "--logging-level", "WARNING"],
        }  # fmt: skip
        quiet = {**env, "LOG_LEVEL": "WARNING"}
        processes = {
            name: subprocess.Popen(command, env=env if name == "web" else quiet, cwd=settings.BASE_DIR)  # noqa: S603
            for name, command in commands.items()
        }
        url = f"http://127.0.0.1:{port}"
        # Ctrl-C reaches the children too (same process group), so a child may exit before we hear
        # it: remember that we are stopping, and only call an exit an error when we are not.
        stopping = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopping.set())
        try:
            if not stopping.wait(2):
                self._print_logins(logins, url, exporter_url=f"http://127.0.0.1:{exporter_port}")
                self.stdout.write("Press Ctrl-C to stop.")
            while not stopping.wait(1):
                for name, process in processes.items():
                    if process.poll() is not None and not stopping.wait(0.5):
                        raise CommandError(f"The {name} process exited with status {process.returncode}.")
            self.stdout.write("\nStopping...")
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for process in processes.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
