"""The web server under test: gunicorn started as in production, stopped whatever happens."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.load import get

ROOT = Path(__file__).resolve().parent.parent


class ServerError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Gunicorn:
    """`gunicorn -c deploy/gunicorn.conf.py terrafusion.wsgi --workers N --bind 127.0.0.1:<free port>`.

    The production config file (Prometheus multiprocess mode included), with the given environment.

    A context manager: entering starts it and waits for /health/ready; leaving stops it (SIGTERM to
    the master, then SIGKILL to its process group if it does not stop), also on an error or Ctrl-C.
    It runs in its own session so that a Ctrl-C at the terminal reaches only the bench, which then
    stops gunicorn in order.
    """

    def __init__(self, *, env: dict[str, str], log_path: Path, workers: int = 2, ready_timeout: float = 60):
        self.env = env
        self.log_path = log_path
        self.workers = workers
        self.ready_timeout = ready_timeout
        self.host = "127.0.0.1"
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def command(self) -> list[str]:
        gunicorn = Path(sys.executable).parent / "gunicorn"
        return [
            str(gunicorn),
            "-c",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "terrafusion.wsgi",
            "--workers",
            str(self.workers),
            "--bind",
            f"{self.host}:{self.port}",
        ]

    def __enter__(self) -> "Gunicorn":
        if not Path(self.command[0]).exists():
            raise ServerError(f"{self.command[0]} not found: install requirements/base.txt (gunicorn) into the venv")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, fixed arguments
            self.command,
            env=self.env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"gunicorn exited with status {self.process.returncode} before it was ready; "
                    f"log {self.log_path}:\n{_log_tail(self.log_path)}"
                )
            try:
                response = get(self.host, self.port, "/health/ready", timeout=5)
                if response.status == 200:
                    return
                last = f"{response.status} {response.body[:300]!r}"
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise ServerError(
            f"gunicorn not ready after {self.ready_timeout:.0f} s (last: {last}); "
            f"log {self.log_path}:\n{_log_tail(self.log_path)}"
        )

    def ready_checks(self) -> dict:
        response = get(self.host, self.port, "/health/ready", timeout=5)
        return json.loads(response.body)

    def worker_pids(self) -> list[int]:
        try:
            with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            try:
                process.send_signal(signal.SIGTERM)  # graceful: finish requests in flight, then exit
                process.wait(timeout=35)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # its own session: the master and its workers
                process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None
