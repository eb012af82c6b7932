"""Real RQ worker processes for tests, pointed at the test database and the test Redis."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

MANAGE = Path(settings.BASE_DIR) / "manage.py"


def worker_environment(**extra: str) -> dict[str, str]:
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        raise RuntimeError("Worker tests need PostgreSQL (a worker cannot see an in-memory SQLite test database).")
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    url = f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": settings.REDIS_URL,
        "JOB_HEARTBEAT_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def run_burst_worker(*, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess:
    """Run one worker until the queue is empty, then return (its output is kept for failure messages)."""
    return subprocess.run(
        [sys.executable, str(MANAGE), "rqworker", "--burst", "default"],
        env=worker_environment(**extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_burst_worker(**extra: str) -> subprocess.Popen:
    """A worker that stops when the queue is empty, started without waiting (run several at once)."""
    return subprocess.Popen(
        [sys.executable, str(MANAGE), "rqworker", "--burst", "default"],
        env=worker_environment(**extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_worker(**extra: str) -> subprocess.Popen:
    """A long-running worker in its own process group (so a test can kill it and its work horse)."""
    return subprocess.Popen(
        [sys.executable, str(MANAGE), "rqworker", "default"],
        env=worker_environment(**extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill_worker(process: subprocess.Popen) -> None:
    """SIGKILL the worker and its work horse: nothing gets to clean up, as when a machine dies.

    RQ puts the work horse in a session of its own, so it is found as a child, not by process group.
    """
    import psutil

    victims = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    for victim in victims:
        victim.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    psutil.wait_procs(victims, timeout=10)


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout} s waiting for {what}.")
