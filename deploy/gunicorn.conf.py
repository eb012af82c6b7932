"""gunicorn settings for TerraFusion's web processes: `gunicorn -c deploy/gunicorn.conf.py terrafusion.wsgi`.

Used by production, `manage.py demo` and the benchmark alike; command-line flags override it.

- `bind` from GUNICORN_BIND (default 127.0.0.1:8000), `workers` from GUNICORN_WORKERS (default 2), sync
  workers (why: below; GUNICORN_WORKER_CLASS=gthread with GUNICORN_THREADS threads is the alternative, and the
  web code's process-wide caches are thread-safe for it).
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

# sync workers. Why, measured with
# wrk on the bench's 100,000-parcel county, 2 workers, JWT and county RBAC, idle machine (2026-11-29):
#
#   worker             detail 50 / 8 clients     p99 at 8    list page 50 / 8 clients   p99 at 8
#   sync               870-910 / 860-880 req/s   12 ms       400-440 / 404-426 req/s    23-27 ms
#   gthread 1 thread   840-890 / 870-900 req/s   13 ms       407-428 / 220-428 req/s    33-53 ms
#   gthread 2 threads  840-870 / 880-890 req/s   15 ms       390-406 / 228-404 req/s    44-56 ms
#   gthread 4 threads  800-810 / 820-870 req/s   26-39 ms    370-393 / 207-381 req/s    59-62 ms
#
# A request here is ~1.5-4 ms of Python with short waits on PostgreSQL and Redis (~0.1-0.3 ms), so one process
# per core is busy on its own. Threads in a worker then only contend for the GIL: a thread back from the
# database waits for the switch interval (5 ms) behind a thread computing a page, which is the tail latency
# above. gthread keeps connections alive, and a worker may accept every connection of a few keep-alive
# clients while the other idles: the halved rates at 8 clients. A sync worker accepts per request, so
# the kernel spreads requests over the workers. Its cost: a connection per request (cheap on a local
# socket) and a worker held by a slow client, so production runs it behind a buffering proxy (nginx), as
# gunicorn's documentation advises; long work runs as RQ jobs, never in a request. More workers than
# cores buy nothing for this load; GUNICORN_WORKERS raises them where cores are more.
worker_class = _os.environ.get("GUNICORN_WORKER_CLASS", "sync")
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
