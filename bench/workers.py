"""Jobs run as production runs them, for the benches: enqueued to real RQ workers already waiting (stopped once the
job ended), timed from the enqueue to the job's end, with the peak RSS of every worker process and work horse."""

import os
import subprocess
import sys
import threading
import time

import psutil

from bench.common import ROOT
from terrafusion.jobs.models import FINISHED_STATUSES
from terrafusion.jobs.runner import job_enqueue


class PeakRss(threading.Thread):
    """The largest RSS any of the given processes or their children reached while it ran."""

    def __init__(self, processes: list[subprocess.Popen]):
        super().__init__(daemon=True)
        self.pids, self.peak, self.stopped = [p.pid for p in processes], 0, threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            for pid in self.pids:
                try:
                    root = psutil.Process(pid)
                    for process in [root, *root.children(recursive=True)]:
                        self.peak = max(self.peak, process.memory_info().rss)
                except psutil.Error:
                    continue
            time.sleep(0.2)


def measured_run(arguments: list[str]) -> tuple[str, float]:
    """Run `python <arguments>` in its own process from the project's root: its output and its peak RSS (GiB)."""
    process = subprocess.Popen(  # noqa: S603 - our own modules
        [sys.executable, *arguments], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    watcher = PeakRss([process])
    watcher.start()
    out, err = process.communicate()
    watcher.stopped.set()
    if process.returncode:
        raise RuntimeError(f"{' '.join(arguments)} failed: {err[-2000:]}")
    return out, round(watcher.peak / 2**30, 3)


def workers_start(count: int, env: dict | None = None) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(  # noqa: S603 - our own manage.py
            [sys.executable, str(ROOT / "manage.py"), "rqworker", "default"],
            cwd=ROOT,
            env={**os.environ, "LOG_LEVEL": "WARNING", **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]


def workers_stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()  # a warm shutdown: the queue is empty
    for process in processes:
        process.wait(timeout=60)


def job_wait(job, processes: list[subprocess.Popen], *, poll: float = 0.1) -> None:
    while True:
        job.refresh_from_db()
        if job.status in FINISHED_STATUSES:
            return
        if all(p.poll() is not None for p in processes):
            raise RuntimeError("the RQ workers exited before the job ended: " + processes[0].stderr.read()[-2000:])
        time.sleep(poll)


def workers_idle(count: int, processes: list[subprocess.Popen], timeout: float = 60) -> None:
    """Wait until `count` RQ workers are registered and idle (as production's workers wait for work)."""
    import django_rq
    from rq import Worker

    deadline = time.monotonic() + timeout
    connection = django_rq.get_connection("default")
    pids = {p.pid for p in processes}
    while time.monotonic() < deadline:
        mine = [w for w in Worker.all(connection=connection) if w.pid in pids]
        if len(mine) == count and all(w.state == "idle" for w in mine):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{count} RQ workers did not start within {timeout:.0f} s")


def job_run(model, county, parameters: dict, *, workers: int, env: dict | None = None) -> dict:
    """Start `workers` RQ workers and wait until they are idle, then enqueue a job and time it from the enqueue to
    the job's end (the workers are stopped once it ended)."""
    processes = workers_start(workers, env)
    watcher = PeakRss(processes)
    watcher.start()
    try:
        workers_idle(workers, processes)
        started = time.perf_counter()
        job = job_enqueue(model=model, county=county, parameters=parameters)
        job_wait(job, processes)
        seconds = time.perf_counter() - started
    finally:
        watcher.stopped.set()
        workers_stop(processes)
    if job.status != "completed":
        raise RuntimeError(f"the {model.kind} job ended {job.status}: {job.error_message}")
    return {"seconds": round(seconds, 2), "peak_rss_gib": round(watcher.peak / 2**30, 3), "result": job.result,
            "job": job}  # fmt: skip
