"""wrk (https://github.com/wg/wrk) as the bench's load generator: C and epoll, so 50 connections at 1,000+ req/s
cost it a few percent of one core, where bench/load.py's threads cost about twice as much (measured on this
2-core machine: /health/live at ~1,900 req/s, 50 connections: wrk 0.16 cores, bench/load.py 0.31).

bench/wrk.lua sends the bench's paths in turn with its bearer token and counts every status; wrk's own
percentiles (HdrHistogram) give p50/p99. The result has the keys of bench.load.LoadResult.summary(), so the
report does not care which generator ran.
"""

import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.load import _machine_times, _tree_cpu

SCRIPT = Path(__file__).resolve().parent / "wrk.lua"
MARKER = "BENCH-RESULT "
INSTALL_HINT = "apt-get install -y wrk (Debian/Ubuntu), or build it from https://github.com/wg/wrk"


def find_wrk(*, install: bool, say) -> str | None:
    """The wrk binary; when missing and `install`, apt-get installs it (as root only). None when unavailable."""
    found = shutil.which("wrk")
    if found or not install:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        say(f"  wrk is not installed and the bench cannot install it (not root, or no apt-get): {INSTALL_HINT}")
        return None
    say("  wrk is not installed: apt-get install -y wrk ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"]
    for attempt in (command, ["apt-get", "update", "-qq"], command):
        done = subprocess.run(attempt, env=env, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
        if attempt is command and done.returncode == 0:
            break
    found = shutil.which("wrk")
    if not found:
        say(f"  apt-get could not install wrk ({done.stderr.strip()[-300:]}): {INSTALL_HINT}")
    return found


def parse_output(stdout: str) -> dict:
    """The BENCH-RESULT line of bench/wrk.lua's done()."""
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    raise ValueError(f"wrk printed no {MARKER.strip()} line:\n{stdout[-2000:]}")


def summarise(raw: dict, *, concurrency: int, window: float, cpu: dict) -> dict:
    """wrk's result as bench.load.LoadResult.summary() keys: every status but 200 and every socket error is an error."""
    statuses = {int(k): v for k, v in raw["statuses"].items()}
    errors = {f"status {s}": n for s, n in sorted(statuses.items()) if s != 200}
    errors.update({f"socket {k}": n for k, n in raw["socket_errors"].items() if n})
    duration = raw["duration_us"] / 1e6 or window
    ok = statuses.get(200, 0)
    latency = raw["latency_us"]
    count = raw["requests"]
    cores = os.cpu_count() or 1

    def per_request(seconds):
        return round(seconds * 1000 / count, 2) if seconds is not None and count else None

    def as_cores(seconds):
        return round(seconds / duration, 3) if seconds is not None else None

    server, database, client = cpu.get("server"), cpu.get("database"), cpu.get("client")
    machine = cpu.get("machine_busy")
    other = None
    if machine is not None and None not in (server, database, client):
        other = round(max(0.0, machine * cores - (server + database + client) / duration), 2)
    return {
        "requests": ok,
        "rps": round(ok / duration, 1),
        "p50_ms": round(latency["p50"] / 1000, 2),
        "p90_ms": round(latency["p90"] / 1000, 2),
        "p99_ms": round(latency["p99"] / 1000, 2),
        "max_ms": round(latency["max"] / 1000, 2),
        "mean_ms": round(latency["mean"] / 1000, 2),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "error_samples": [s for s in raw.get("samples", "").splitlines() if s][:5],
        "concurrency": concurrency,
        "window_s": round(duration, 2),
        "bytes_per_response": round(raw["bytes"] / count) if count else None,
        "server_cpu_ms_per_request": per_request(server),
        "cpu_ms_per_request": per_request(None if server is None or database is None else server + database),
        "client_cpu_cores": as_cores(client),
        "server_cpu_cores": as_cores(server),
        "database_cpu_cores": as_cores(database),
        "machine_busy_cores": None if machine is None else round(machine * cores, 2),
        "other_cpu_cores": other,
        "generator": "wrk",
    }


def wait_idle(pid: int | None, *, max_wait: float = 120.0, below: float = 0.05) -> float:
    """Wait until the server (process tree) uses under `below` cores; returns the seconds waited.

    wrk stops at its deadline and drops the requests in flight; gunicorn still serves them (a sync worker
    takes them from the listen queue one by one), which would eat into the next run: at 50 connections
    and 2 req/s that is 25 s of work.
    """
    started = time.monotonic()
    if pid is None:
        return 0.0
    while time.monotonic() - started < max_wait:
        before = _tree_cpu(pid)
        time.sleep(0.2)
        after = _tree_cpu(pid)
        if before is None or after is None or (after - before) / 0.2 < below:
            break
    return time.monotonic() - started


def run_wrk(
    wrk: str,
    url: str,
    paths: list[str],
    authorization: str,
    *,
    accept: str = "application/json",
    concurrency: int,
    duration: float,
    warmup: float,
    server_pid: int | None = None,
    database_pid: int | None = None,
    timeout: float = 30.0,
) -> dict:
    """A warm-up run (its errors count), then the measured run; CPU of server, database and wrk over the latter."""
    threads = max(1, min(2, concurrency))
    with tempfile.NamedTemporaryFile("w", prefix="bench-paths-", suffix=".txt") as paths_file:
        paths_file.write("\n".join(paths) + "\n")
        paths_file.flush()
        env = {
            **os.environ,
            "BENCH_PATHS": paths_file.name,
            "BENCH_AUTHORIZATION": authorization,
            "BENCH_ACCEPT": accept,
        }

        def once(seconds: float, drain: bool = True) -> str:
            command = [wrk, f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(seconds))}s"]
            command += [f"--timeout={timeout:g}s", "-s", str(SCRIPT), url]
            done = subprocess.run(  # noqa: S603 - wrk, fixed arguments, loopback URL
                command, env=env, capture_output=True, text=True, timeout=seconds + timeout + 30, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(f"wrk exited with status {done.returncode}: {done.stderr.strip()[-1000:]}")
            if drain:  # the requests wrk dropped at its deadline are served before the next run
                wait_idle(server_pid)
            return done.stdout

        warm_errors = {}
        if warmup > 0:
            warm = parse_output(once(warmup))
            warm_errors = {k: v for k, v in warm["statuses"].items() if k != "200"}
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        machine0, server0, database0 = _machine_times(), _tree_cpu(server_pid), _tree_cpu(database_pid)
        started = time.perf_counter()
        stdout = once(duration, drain=False)
        window = time.perf_counter() - started
        machine1, server1, database1 = _machine_times(), _tree_cpu(server_pid), _tree_cpu(database_pid)
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wait_idle(server_pid)
    cpu = {
        "client": (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime),
        "server": None if server0 is None or server1 is None else server1 - server0,
        "database": None if database0 is None or database1 is None else database1 - database0,
        "machine_busy": (
            (machine1[0] - machine0[0]) / (machine1[1] - machine0[1])
            if machine0 and machine1 and machine1[1] > machine0[1]
            else None
        ),
    }
    stats = summarise(parse_output(stdout), concurrency=concurrency, window=window, cpu=cpu)
    for kind, n in warm_errors.items():  # as with bench/load.py: a failed request in the warm-up fails the run
        key = f"status {kind} (warm-up)"
        stats["error_kinds"][key] = n
        stats["errors"] += n
    return stats
