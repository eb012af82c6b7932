"""gunicorn settings for TerraFusion's web processes: `gunicorn -c deploy/gunicorn.conf.py terrafusion.wsgi`.

Used by production, `manage.py demo` and the benchmark alike; command-line flags override it.

- `bind` from GUNICORN_BIND (default 127.0.0.1:8000), `workers` from GUNICORN_WORKERS (default 2), gthread
  workers with GUNICORN_THREADS threads (default 4; why: below).
- Prometheus multiprocess mode, so the web's /metrics counts every worker's requests: each worker
  writes its counters to files in PROMETHEUS_MULTIPROC_DIR and the scrape (django-prometheus'
  view, whichever worker answers it) sums them. A worker that exits or is recycled leaves its files,
  so the totals never go down and `rate()` sees no false resets. The directory must be one per
  gunicorn master and empty at start (files of an earlier run would be counted again): when
  PROMETHEUS_MULTIPROC_DIR is unset, a private temporary directory is made here and removed at
  exit; when set (e.g. a tmpfs under /run), its files are deleted at start. Set it for gunicorn
  only, not for RQ workers: a worker forks a process per job, each would leave files there.

Only the standard library is imported at load time: this file is read by the master before the
project is importable, and prometheus_client must be imported only after the variable is set
(it picks its multiprocess value class at import).
"""

import glob as _glob
import os as _os
import shutil as _shutil
import tempfile as _tempfile

# gunicorn reads this module's globals as settings: helpers and state are underscored.


def _env_int(name: str, default: int) -> int:
    raw = _os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not an integer") from None


bind = _os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _env_int("GUNICORN_WORKERS", 2)

# gthread, 4 threads per worker (GUNICORN_WORKER_CLASS / GUNICORN_THREADS override). Why, measured with wrk
# against this file's settings on a 20,000-parcel county (2 workers, 50 clients, JWT; indicative only, the
# machine was shared with other load): gthread served detail, list and GeoJSON pages at 1.1-1.6x the
# sync worker's rate in 5 of 6 runs, and the sync runs were the ones with client timeouts. The reasons hold
# beyond this machine: a sync worker serves one connection at a time and closes it after every response
# (no keep-alive, a TCP handshake per request), while a request here spends a good part of its time waiting
# on PostgreSQL and Redis, which a second thread of the same worker fills with Python work. More threads
# than 4 buy nothing on 2 cores (the GIL) and cost a database connection each (Django's are per thread).
# A process-wide cache in the web code must therefore be thread-safe.
worker_class = _os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# gunicorn turns a sync worker with threads > 1 into gthread: threads only for gthread, so sync can be chosen.
threads = _env_int("GUNICORN_THREADS", 4) if worker_class == "gthread" else 1

# The directory this master made (and removes at exit). Kept in the environment too, because
# a HUP reload executes this file again, and must then keep the directory already in use.
_OWNED_DIR_VARIABLE = "TERRAFUSION_OWNED_PROMETHEUS_DIR"
if not _os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _os.environ["PROMETHEUS_MULTIPROC_DIR"] = _tempfile.mkdtemp(prefix="terrafusion-prometheus-")
    _os.environ[_OWNED_DIR_VARIABLE] = _os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_starting(server):
    """Master, before the first worker: start from an empty metrics directory."""
    directory = _os.environ["PROMETHEUS_MULTIPROC_DIR"]
    _os.makedirs(directory, exist_ok=True)
    for path in _glob.glob(_os.path.join(directory, "*.db")):
        _os.remove(path)


def child_exit(server, worker):
    """Master, after a worker exited: drop its live-gauge files (its counters stay in the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    directory = _os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and directory == _os.environ.get(_OWNED_DIR_VARIABLE):
        _shutil.rmtree(directory, ignore_errors=True)
