"""A small closed-loop HTTP/1.1 load generator: N threads, each with its own connection, no think time.

Pure Python on raw sockets (no client library): a request is a prebuilt byte string and a response is
read with the buffered reader's C readline/read, so a request costs the generator some tens of
microseconds of CPU. The generator's own CPU is measured and reported, so one can see it is not the
bottleneck. Connections are kept alive when the server allows it and reopened when it answers
`Connection: close` (gunicorn's sync workers do that after every response).

Every run is bounded: in time (warm-up + duration, then at most `timeout` for requests in flight), in
count (`max_requests`), and it only ever connects to the given loopback host.
"""

import os
import socket
import threading
import time
from dataclasses import dataclass, field

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class HTTPProtocolError(Exception):
    pass


@dataclass
class Response:
    status: int
    body: bytes
    close: bool


def build_request(host: str, port: int, path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "User-Agent: terrafusion-bench"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_response(reader) -> Response:
    """Read one HTTP/1.1 response from a buffered binary reader (Content-Length, chunked or until close)."""
    line = reader.readline(65537)
    if not line:
        raise ConnectionError("the server closed the connection")
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        raise HTTPProtocolError(f"bad status line {line[:80]!r}")
    status = int(parts[1])
    close = parts[0] == b"HTTP/1.0"
    length = None
    chunked = False
    while True:
        header = reader.readline(65537)
        if header in (b"\r\n", b"\n"):
            break
        if not header:
            raise ConnectionError("the server closed the connection inside the headers")
        name, _, value = header.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            value = value.strip().lower()
            close = value == b"close" or (close and value != b"keep-alive")
    if chunked:
        pieces = []
        while True:
            size = int(reader.readline(65537).split(b";")[0], 16)
            if size == 0:
                while reader.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                break
            pieces.append(reader.read(size))
            reader.readline(65537)
        body = b"".join(pieces)
    elif length is not None:
        body = reader.read(length)
        if len(body) != length:
            raise ConnectionError(f"short body: {len(body)} of {length} bytes")
    else:
        body = reader.read()
        close = True
    return Response(status, body, close)


class Connection:
    """One keep-alive connection, reopened when the server closes it."""

    def __init__(self, host: str, port: int, timeout: float):
        if host not in LOOPBACK:
            raise ValueError(f"the load generator only targets loopback, not {host!r}")
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = None
        self.reader = None
        self.opened = 0

    def request(self, raw: bytes) -> Response:
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.reader = self.sock.makefile("rb", buffering=256 * 1024)
            self.opened += 1
        try:
            self.sock.sendall(raw)
            response = read_response(self.reader)
        except BaseException:
            self.close()
            raise
        if response.close:
            self.close()
        return response

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.reader.close()
                self.sock.close()
            finally:
                self.sock = self.reader = None


def get(host: str, port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 60) -> Response:
    """One request on a fresh connection (for probes, not for load)."""
    conn = Connection(host, port, timeout)
    try:
        return conn.request(build_request(host, port, path, headers))
    finally:
        conn.close()


@dataclass
class LoadResult:
    concurrency: int
    duration: float  # the measured window, seconds
    latencies: list[float]  # seconds, requests completed inside the window
    errors: dict[str, int] = field(default_factory=dict)  # "status 500" / exception name -> count
    error_samples: list[str] = field(default_factory=list)
    warmup_requests: int = 0
    connections_opened: int = 0
    client_cpu: float = 0.0  # this process's CPU seconds during the window
    server_cpu: float | None = None  # the server processes' CPU seconds during the window
    database_cpu: float | None = None  # PostgreSQL's (postmaster + backends) CPU seconds during the window
    machine_busy: float | None = None  # fraction of all cores busy during the window (0..1)
    truncated: bool = False  # stopped by max_requests

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def other_cores(self) -> float | None:
        """Cores busy during the window with work that is neither the server, the database nor the generator."""
        if self.machine_busy is None or self.server_cpu is None or self.database_cpu is None:
            return None
        ours = (self.server_cpu + self.database_cpu + self.client_cpu) / self.duration
        return max(0.0, self.machine_busy * (os.cpu_count() or 1) - ours)

    @property
    def rps(self) -> float:
        return self.count / self.duration if self.duration > 0 else 0.0

    def percentile(self, q: float) -> float | None:
        """Nearest-rank percentile in milliseconds."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))  # ceil(q/100 * n)
        return ordered[rank - 1] * 1000

    def summary(self) -> dict:
        cores = os.cpu_count() or 1
        return {
            "requests": self.count,
            "rps": round(self.rps, 1),
            "p50_ms": _round(self.percentile(50)),
            "p90_ms": _round(self.percentile(90)),
            "p99_ms": _round(self.percentile(99)),
            "max_ms": _round(max(self.latencies) * 1000 if self.latencies else None),
            "mean_ms": _round(sum(self.latencies) / len(self.latencies) * 1000 if self.latencies else None),
            "errors": self.error_count,
            "error_kinds": dict(self.errors),
            "error_samples": self.error_samples[:5],
            "concurrency": self.concurrency,
            "window_s": round(self.duration, 2),
            "warmup_requests": self.warmup_requests,
            "connections_opened": self.connections_opened,
            "server_cpu_ms_per_request": (
                round(self.server_cpu * 1000 / self.count, 2) if self.server_cpu is not None and self.count else None
            ),
            "cpu_ms_per_request": (
                round((self.server_cpu + self.database_cpu) * 1000 / self.count, 2)
                if self.server_cpu is not None and self.database_cpu is not None and self.count
                else None
            ),
            "client_cpu_cores": round(self.client_cpu / self.duration, 3) if self.duration else None,
            "server_cpu_cores": (round(self.server_cpu / self.duration, 3) if self.server_cpu is not None else None),
            "database_cpu_cores": (
                round(self.database_cpu / self.duration, 3) if self.database_cpu is not None else None
            ),
            "machine_busy_cores": (round(self.machine_busy * cores, 2) if self.machine_busy is not None else None),
            "other_cpu_cores": _round(self.other_cores),
            "truncated": self.truncated,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _process_tree_cpu(pid: int) -> float | None:
    """CPU seconds used so far by `pid`, its live children and its reaped children.

    For gunicorn: the master and its workers; for PostgreSQL: the postmaster and its backends (including the
    ones that exited, which the kernel adds to the postmaster's children time when it reaps them).
    """
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        return None
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if p == pid:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime: children already reaped
    return total / ticks


def _machine_times() -> tuple[int, int] | None:
    """(busy, total) jiffies over all cores since boot."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # without guest time, which is counted in user already
    return total - idle, total


def run_load(
    host: str,
    port: int,
    requests: list[bytes],
    *,
    concurrency: int,
    duration: float,
    warmup: float = 2.0,
    timeout: float = 30.0,
    max_requests: int = 2_000_000,
    server_pid: int | None = None,
    database_pid: int | None = None,
) -> LoadResult:
    """Closed loop: `concurrency` threads send `requests` round-robin (each thread from its own offset)."""
    if not requests:
        raise ValueError("no requests to send")
    lock = threading.Lock()
    stop = threading.Event()
    start = time.perf_counter()
    window_start = start + warmup
    window_end = window_start + duration
    per_thread: list[list[float]] = [[] for _ in range(concurrency)]
    result = LoadResult(concurrency=concurrency, duration=duration, latencies=[])
    counters = {"warmup": 0, "sent": 0}

    def record_error(kind: str, sample: str) -> None:
        with lock:
            result.errors[kind] = result.errors.get(kind, 0) + 1
            if len(result.error_samples) < 20 and sample not in result.error_samples:
                result.error_samples.append(sample)

    def worker(index: int) -> None:
        conn = Connection(host, port, timeout)
        latencies = per_thread[index]
        position = index * max(1, len(requests) // concurrency)
        try:
            while not stop.is_set():
                t0 = time.perf_counter()
                if t0 >= window_end:
                    break
                with lock:
                    if counters["sent"] >= max_requests:
                        result.truncated = True
                        break
                    counters["sent"] += 1
                raw = requests[position % len(requests)]
                position += 1
                try:
                    response = conn.request(raw)
                except (OSError, HTTPProtocolError, ValueError) as exc:
                    record_error(type(exc).__name__, f"{raw.split(b' ', 2)[1].decode()}: {exc!r}")
                    time.sleep(0.01)  # a refused/reset connection must not spin
                    continue
                t1 = time.perf_counter()
                if response.status != 200:  # counted in the warm-up too: any failed request fails the run
                    path = raw.split(b" ", 2)[1].decode()
                    record_error(f"status {response.status}", f"{response.status} {path}: {response.body[:300]!r}")
                if t1 < window_start:
                    counters["warmup"] += 1  # approximate (no lock): only informative
                elif t1 < window_end:
                    latencies.append(t1 - t0)
        finally:
            with lock:
                result.connections_opened += conn.opened
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,), name=f"load-{i}", daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    try:
        # Sample CPU counters at the window's edges.
        time.sleep(max(0.0, window_start - time.perf_counter()))
        cpu0, machine0 = time.process_time(), _machine_times()
        server0, database0 = _tree_cpu(server_pid), _tree_cpu(database_pid)
        time.sleep(max(0.0, window_end - time.perf_counter()))
        cpu1, machine1 = time.process_time(), _machine_times()
        server1, database1 = _tree_cpu(server_pid), _tree_cpu(database_pid)
        deadline = window_end + timeout + 1
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.perf_counter()))
        hung = [t.name for t in threads if t.is_alive()]
        if hung:
            stop.set()
            result.errors["hung request"] = len(hung)
            result.error_samples.append(f"{len(hung)} request(s) still unanswered {timeout:.0f} s after the window")
    except BaseException:
        stop.set()
        raise
    result.latencies = [latency for latencies in per_thread for latency in latencies]
    result.warmup_requests = counters["warmup"]
    result.client_cpu = cpu1 - cpu0
    if server0 is not None and server1 is not None:
        result.server_cpu = server1 - server0
    if database0 is not None and database1 is not None:
        result.database_cpu = database1 - database0
    if machine0 and machine1 and machine1[1] > machine0[1]:
        result.machine_busy = (machine1[0] - machine0[0]) / (machine1[1] - machine0[1])
    return result


def _tree_cpu(pid: int | None) -> float | None:
    return None if pid is None else _process_tree_cpu(pid)


def busy_cores(seconds: float = 1.0) -> float | None:
    """Cores kept busy on the whole machine over the next `seconds`."""
    before = _machine_times()
    time.sleep(seconds)
    after = _machine_times()
    if not before or not after or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1]) * (os.cpu_count() or 1)


def wait_quiet(max_wait: float, threshold: float) -> float | None:
    """Wait (at most `max_wait` s) until under `threshold` cores are busy; returns the last reading."""
    deadline = time.monotonic() + max_wait
    while True:
        busy = busy_cores(1.0)
        if busy is None or busy < threshold or time.monotonic() >= deadline:
            return busy
