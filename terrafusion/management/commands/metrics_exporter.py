"""`manage.py metrics_exporter`: the one process that exposes the job and queue metrics to Prometheus.

Why one exporter, and not every web instance nor a flagged one: terrafusion/metrics.py says.

Run exactly one (like `rqcron`), anywhere that reaches Redis:
`python manage.py metrics_exporter --bind 0.0.0.0:9150`. It answers GET /metrics, behind
`Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is set, like the web's /metrics.
"""

import signal
import socket
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from prometheus_client.exposition import ThreadingWSGIServer

from terrafusion import metrics


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        """Prometheus scrapes every 15 s: one log line per scrape would bury everything else."""


def parse_bind(bind: str) -> tuple[str, int]:
    """`host:port` (or `[v6 address]:port`) into a host and a port number."""
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise CommandError(f"--bind {bind!r} is not host:port (e.g. 0.0.0.0:9150)")
    return host.strip("[]"), int(port)


class Command(BaseCommand):
    help = "Serve the job and queue metrics (read from Redis) on /metrics for Prometheus. Run exactly one."

    def add_arguments(self, parser):
        parser.add_argument(
            "--bind", default=settings.METRICS_EXPORTER_BIND, help="host:port to listen on (METRICS_EXPORTER_BIND)."
        )

    def handle(self, *args, bind: str, verbosity: int, **options):
        host, port = parse_bind(bind)
        app = metrics.exporter_app(registry=metrics.exporter_registry(), token=settings.METRICS_TOKEN)
        try:
            family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]  # an IPv6 host needs AF_INET6
            server_class = type("ExporterServer", (ThreadingWSGIServer,), {"address_family": family})
            server = make_server(host, port, app, server_class=server_class, handler_class=_QuietHandler)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {bind}: {exc}") from exc
        # SIGTERM (process managers, `manage.py demo`) ends the loop like Ctrl-C does.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        # The port actually bound, so that `--bind 127.0.0.1:0` (tests) can be found.
        if verbosity >= 1:
            self.stdout.write(f"Job and queue metrics on http://{bind.rpartition(':')[0]}:{server.server_port}/metrics")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
