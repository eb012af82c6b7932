"""`python -m bench` / `make bench`: the property API's throughput and latency against issue 6's targets.

Against PostgreSQL (DATABASE_URL) and Redis (REDIS_URL), it

1. migrates, and creates the demo county `bench` with `manage.py generate_demo_county --slug bench
   --parcels N --replace`, timing it; `--keep` reuses an existing bench county instead;
2. makes a `viewer` of that county and a JWT access token for it, so authentication and the county
   restriction are in the measured path; API_THROTTLE_USER is raised for that one token (the throttle
   check itself stays in the path);
3. starts gunicorn as in production (`gunicorn -c deploy/gunicorn.conf.py terrafusion.wsgi --workers 2`,
   DEBUG=0) with DJANGO_SETTINGS_MODULE=bench.settings: the production settings and URLs, plus today's path
   (bench/baseline.py: the same requests served the straightforward DRF way) under /bench/;
4. checks that ours and today's path answer the same JSON, then loads each request on ours and on today's
   path back to back, with wrk (bench/wrk.py; installed with apt-get when missing and run as root) or, as a
   fallback, bench/load.py: throughput with 50 clients for 30 s (detail, cursor list pages of 100 at the
   first row and at 50% and 90% of the county, a GeoJSON page of 100), then latency with 8 clients for 10 s
   (detail, the first and the deepest list page);
5. prints issue 6's targets with ours, today's path and PASS/FAIL per target (printed, never asserted), and
   writes everything as JSON and text under bench/results/.

`--quick` runs 5 s per scenario (about 2-3 minutes in all) for a smoke run; its figures are rough.

Exit status: 0 when every request answered 200; 1 when any did not; 2 when the bench could not run
(no PostgreSQL, gunicorn did not start, ...); 130 on Ctrl-C. A missed target does not change it.
"""

import argparse
import base64
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from bench.load import build_request, get, run_load, wait_quiet
from bench.report import REFERENCE, reference_lines, scenario_label, table, target_rows, targets_table
from bench.wrk import find_wrk, run_wrk

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PAGE_SIZE = 100
API_LIST = "/api/v1/properties/"
BASELINE_LIST = "/bench/baseline/properties/"
OFFSET_LIST = "/bench/offset/properties/"
GEOJSON = "application/geo+json"
COMMAND_SECONDS = re.compile(r"\bin ([0-9]+(?:\.[0-9]+)?) s:\s*$")
QUIET_CORES = 0.3  # the machine counts as quiet when others keep less than this busy


class BenchError(Exception):
    """The bench could not run (exit status 2)."""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--parcels", type=int, default=100_000, help="parcels in the bench county (default 100,000)")
    parser.add_argument(
        "--duration", type=float, default=30.0, help="measured seconds per throughput scenario (default 30)"
    )
    parser.add_argument(
        "--latency-duration", type=float, default=10.0, help="measured seconds per latency scenario (default 10)"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per scenario (default 2)")
    parser.add_argument("--clients", type=int, default=50, help="connections for throughput (default 50)")
    parser.add_argument("--latency-clients", type=int, default=8, help="connections for latency (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2, as in production)")
    parser.add_argument(
        "--depths", default="0.5,0.9", help="list depths as fractions of the county's parcels (default 0.5,0.9)"
    )
    parser.add_argument(
        "--generator",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator: wrk (installed with apt-get when missing, as root), python (bench/load.py), or "
        "auto: wrk when it can be had, else python (default)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 5 s per scenario, 1 s warm-up, no waiting for a quiet machine, no retries",
    )
    parser.add_argument("--keep", action="store_true", help="reuse an existing bench county (no regeneration)")
    parser.add_argument(
        "--seed-with-factories",
        action="store_true",
        help="stand-in while generate_demo_county does not exist: factory-built parcels (generation not timed)",
    )
    parser.add_argument("--detail-ids", type=int, default=10_000, help="random parcel ids the detail cycles over")
    parser.add_argument("--seed", type=int, default=1, help="seed for the county and the id sample")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=30.0,
        help="before each scenario, wait up to this many seconds for other load on the machine to settle (default 30)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=1,
        help="re-run a scenario up to this many times when other work disturbed it; the cleanest counts (default 1)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = args.latency_duration = 5.0
        args.warmup, args.wait_quiet, args.retries = 1.0, 0.0, 0
    if (
        args.parcels < 1
        or args.duration <= 0
        or args.latency_duration <= 0
        or args.warmup < 0
        or args.clients < 1
        or args.latency_clients < 1
        or args.workers < 1
    ):
        parser.error("--parcels, --duration, --latency-duration, --clients, --latency-clients, --workers: positive")
    try:
        args.depths = sorted({float(d) for d in args.depths.split(",") if d.strip()})
    except ValueError:
        parser.error("--depths takes fractions such as 0.5,0.9")
    if args.retries < 0:
        parser.error("--retries must be 0 or more")
    if any(not 0 < d < 1 for d in args.depths):
        parser.error("--depths must be fractions between 0 and 1")
    return args


def say(text: str = "") -> None:
    print(text, flush=True)


BENCH_THROTTLE_USER = "10000000/min"


def base_environment() -> dict[str, str]:
    """The environment shared by manage.py, gunicorn and this process (which makes the token)."""
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://", "pgsql://")):
        raise BenchError(
            "DATABASE_URL must point at PostgreSQL (the bench is about PostgreSQL): run `make bench`, which "
            "starts private PostgreSQL and Redis through scripts/with-services.sh, or set DATABASE_URL and REDIS_URL."
        )
    if not os.environ.get("REDIS_URL"):
        raise BenchError("REDIS_URL is not set: run `make bench`, or set DATABASE_URL and REDIS_URL.")
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        # The token is made once, before the load: it must outlive the run.
        "JWT_ACCESS_LIFETIME": "2h",
        # One client token makes every request: the per-user rate is raised far above what the load can reach,
        # and the throttle check itself stays in the path (announced in the run's header).
        "API_THROTTLE_USER": os.environ.get("API_THROTTLE_USER") or BENCH_THROTTLE_USER,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }


def machine_context() -> dict:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    versions = {}
    for package in ("Django", "djangorestframework", "djangorestframework-simplejwt", "gunicorn", "psycopg"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    commit = None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(  # noqa: S603
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model,
        "memory_gb": mem_gb,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "versions": versions,
        "git": commit,
    }


# --- setup -------------------------------------------------------------------------------------


def prepare_county(args, env: dict[str, str], log_path: Path) -> dict:
    """Migrate and (re)create the bench county; returns what was done and how long it took."""
    from bench import data

    manage_env = {**env, "DJANGO_SETTINGS_MODULE": "terrafusion.settings"}
    say("Migrating (manage.py migrate)...")
    migrate_s, output = data.manage(["migrate", "--noinput"], env=manage_env, log_path=log_path, echo=False)
    applied = sum(1 for line in output if line.strip().startswith("Applying"))
    say(f"  {applied} migration(s) applied in {migrate_s:.1f} s (output in {log_path.relative_to(ROOT)})")

    info: dict = {"migrate_s": round(migrate_s, 2), "generated": False}
    county = data.bench_county()
    if args.keep and county is not None and data.parcel_count(county) > 0:
        info["reused"] = True
        say(f"Reusing the bench county ({data.parcel_count(county):,} parcels, --keep): generation not timed.")
        return info

    command = ["generate_demo_county", "--slug", data.BENCH_SLUG, "--parcels", str(args.parcels)]
    command += ["--seed", str(args.seed), "--replace"]
    if data.command_exists("generate_demo_county"):
        say(f"Generating the demo county: manage.py {' '.join(command)}")
        seconds, output = data.manage(command, env=manage_env, log_path=log_path)
        info.update(generated=True, generator="generate_demo_county", generate_s=round(seconds, 2))
        reported = next((m for m in map(COMMAND_SECONDS.search, output) if m), None)
        if reported:  # "Created county 'bench' (...) in 38.2 s:": the command's own timing, without start-up
            info["command_s"] = float(reported.group(1))
        info["generate_rows_per_s"] = round(args.parcels / seconds)
        verdict = "within" if seconds < 60 else "OVER"
        say(
            f"  GENERATION: {args.parcels:,} parcels in {seconds:.1f} s ({args.parcels / seconds:,.0f} parcels/s; "
            f"wall time of the whole manage.py process) -- {verdict} the 60 s target"
            + (f"; the command reports {info['command_s']:.1f} s" if "command_s" in info else "")
        )
    elif args.seed_with_factories:
        say(f"!! generate_demo_county does not exist yet: seeding {args.parcels:,} factory-built parcels instead")
        started = time.perf_counter()
        data.seed_with_factories(args.parcels, seed=args.seed)
        info.update(generated=True, generator="factories (stand-in)", seed_s=round(time.perf_counter() - started, 2))
        say(f"  seeded in {info['seed_s']:.1f} s (a stand-in: NOT the issue's generation figure)")
    else:
        raise BenchError(
            "manage.py generate_demo_county does not exist (properties/management/commands/); "
            "use --seed-with-factories to bench the HTTP side meanwhile, or --keep with an existing bench county."
        )
    info["analyze_s"] = round(data.analyze(), 2)
    say(f"  ANALYZE (as autovacuum would after a bulk load): {info['analyze_s']:.1f} s")
    return info


# --- scenarios ---------------------------------------------------------------------------------


def with_query(path: str, **params) -> str:
    return f"{path}?{urlencode(params)}" if params else path


def decode_cursor(cursor: str) -> dict:
    return parse_qs(base64.b64decode(cursor.encode()).decode())


def fetch_json(server, path: str, headers: dict) -> dict:
    response = get(server.host, server.port, path, headers, timeout=120)
    if response.status != 200:
        raise BenchError(f"GET {path} answered {response.status}: {response.body[:500]!r}")
    return json.loads(response.body)


def encode_cursor(position: int) -> str:
    """A cursor as DRF's CursorPagination writes it: base64 of the query string `p=<last id seen>`."""
    return base64.b64encode(urlencode({"p": str(position)}).encode("ascii")).decode("ascii")


def first_difference(ours, baseline, where: str = "") -> str | None:
    """Where two JSON documents first differ ("results[3].market_value: '1.00' vs '1'"), or None when equal."""
    if isinstance(ours, dict) and isinstance(baseline, dict):
        if list(ours) != list(baseline):
            return f"{where or 'top'}: keys {list(ours)} vs {list(baseline)}"
        for key in ours:
            found = first_difference(ours[key], baseline[key], f"{where}.{key}" if where else str(key))
            if found:
                return found
        return None
    if isinstance(ours, list) and isinstance(baseline, list):
        if len(ours) != len(baseline):
            return f"{where}: {len(ours)} items vs {len(baseline)}"
        for i, (a, b) in enumerate(zip(ours, baseline, strict=True)):
            found = first_difference(a, b, f"{where}[{i}]")
            if found:
                return found
        return None
    if ours != baseline or type(ours) is not type(baseline):
        return f"{where}: {ours!r} vs {baseline!r}"
    return None


def compare_bodies(server, headers: dict, label: str, ours_path: str, baseline_path: str, key: str | None) -> dict:
    """Ours and today's path must answer the same JSON for the same request (else the comparison is unfair)."""
    ours, baseline = fetch_json(server, ours_path, headers), fetch_json(server, baseline_path, headers)
    if key is not None:
        ours, baseline = ours.get(key), baseline.get(key)
    difference = first_difference(ours, baseline)
    if difference:
        say(f"  !! {label}: ours and today's path answer different JSON: {difference[:300]}")
    return {"check": label, "same": difference is None, "difference": difference}


def pair(kind: str, figure: str, depth, clients: int, ours: list[str], baseline: list[str]) -> list[dict]:
    """The same request on our API, then on today's path, back to back (so drift on the machine hits both)."""
    common = {"kind": kind, "figure": figure, "depth": depth, "clients": clients}
    return [{**common, "route": "ours", "paths": ours}, {**common, "route": "baseline", "paths": baseline}]


def discover(server, headers: dict, parcels: int, depth_fractions: list[float], ids: list[int], id_at_row, args):
    """The scenarios (each request checked once before it is loaded) and the same-JSON checks.

    Deep cursors are written as DRF writes them, from the id at that row, once the API's own first `next`
    link is shown to be of that form; each cursor page must hold exactly the rows of the offset page at the
    same depth, and today's path (bench/baseline.py) should answer the same JSON as ours (a difference is
    printed and recorded: the comparison would not be like for like).
    """
    checks = []
    detail = fetch_json(server, f"{API_LIST}{ids[0]}/", headers)
    if detail.get("id") != ids[0]:
        raise BenchError(f"the detail of parcel {ids[0]} came back as {detail.get('id')}")
    for i in ids[:3]:
        checks.append(compare_bodies(server, headers, f"detail {i}", f"{API_LIST}{i}/", f"{BASELINE_LIST}{i}/", None))

    # The API's own cursor after the first page must be DRF's `p=<last id>`: then the deeper ones can be written
    # from the id at that row (a walk to row 90,000 would take a minute on a busy machine), and each written
    # cursor is proven below by its page holding the same parcels as the offset page at that depth.
    depths = sorted({int(f * parcels) for f in depth_fractions} - {0})
    first = fetch_json(server, with_query(API_LIST, page_size=PAGE_SIZE), headers)
    if first.get("next"):
        cursor = parse_qs(urlsplit(first["next"]).query)["cursor"][0]
        if decode_cursor(cursor) != decode_cursor(encode_cursor(id_at_row(len(first["results"]) - 1))):
            raise BenchError(f"the API's cursor after the first page is {decode_cursor(cursor)}, not p=<id>")
    cursors = {depth: encode_cursor(id_at_row(depth - 1)) for depth in depths}

    throughput = pair(
        "throughput",
        "detail",
        None,
        args.clients,
        [f"{API_LIST}{i}/" for i in ids],
        [f"{BASELINE_LIST}{i}/" for i in ids],
    )
    latency = pair(
        "latency",
        "detail",
        None,
        args.latency_clients,
        [f"{API_LIST}{i}/" for i in ids],
        [f"{BASELINE_LIST}{i}/" for i in ids],
    )
    for depth in [0, *depths]:
        params = {"page_size": PAGE_SIZE, **({"cursor": cursors[depth]} if depth else {})}
        ours_path, baseline_path = with_query(API_LIST, **params), with_query(BASELINE_LIST, **params)
        cursor_page = fetch_json(server, ours_path, headers)
        offset_page = fetch_json(server, with_query(OFFSET_LIST, limit=PAGE_SIZE, offset=depth), headers)
        cursor_ids = [r["id"] for r in cursor_page["results"]]
        offset_ids = [r["id"] for r in offset_page["results"]]
        if not cursor_ids or cursor_ids != offset_ids:
            raise BenchError(
                f"at row {depth:,} the cursor and offset pages differ: {cursor_ids[:3]} vs {offset_ids[:3]}"
            )
        if offset_page.get("count") != parcels:
            raise BenchError(f"the offset list counts {offset_page.get('count')} parcels, not {parcels}")
        position = decode_cursor(cursors[depth])["p"][0] if depth else "-"
        say(
            f"  row {depth:>9,}: cursor (p={position}) and offset pages hold the same {len(cursor_ids)} parcels "
            f"(ids {cursor_ids[0]}..{cursor_ids[-1]})"
        )
        checks.append(compare_bodies(server, headers, f"list @ row {depth:,}", ours_path, baseline_path, "results"))
        throughput += pair("throughput", "list", depth, args.clients, [ours_path], [baseline_path])
        if depth in (0, depths[-1] if depths else 0):
            latency += pair("latency", "list", depth, args.latency_clients, [ours_path], [baseline_path])
    geojson = {"format": "geojson", "page_size": PAGE_SIZE}
    ours_path, baseline_path = with_query(API_LIST, **geojson), with_query(BASELINE_LIST, **geojson)
    geo_headers = {**headers, "Accept": GEOJSON}
    if fetch_json(server, ours_path, geo_headers).get("type") != "FeatureCollection":
        raise BenchError(f"{ours_path} is not a GeoJSON FeatureCollection")
    checks.append(compare_bodies(server, geo_headers, "GeoJSON page", ours_path, baseline_path, "features"))
    geo = pair("throughput", "geojson", 0, args.clients, [ours_path], [baseline_path])
    throughput += [{**scenario, "accept": GEOJSON} for scenario in geo]
    same = sum(c["same"] for c in checks)
    say(f"  same JSON from ours and today's path: {same} of {len(checks)} checks")
    return throughput + latency, checks


def load_once(generator, server, scenario: dict, headers: dict, args, database_pid: int | None) -> dict:
    if generator != "python":
        return run_wrk(
            generator,
            f"http://{server.host}:{server.port}",
            scenario["paths"],
            headers["Authorization"],
            accept=scenario.get("accept", "application/json"),
            concurrency=scenario["clients"],
            duration=scenario["duration"],
            warmup=args.warmup,
            server_pid=server.process.pid,
            database_pid=database_pid,
        )
    headers = {**headers, "Accept": scenario.get("accept", "application/json")}
    requests = [build_request(server.host, server.port, path, headers) for path in scenario["paths"]]
    result = run_load(
        server.host,
        server.port,
        requests,
        concurrency=scenario["clients"],
        duration=scenario["duration"],
        warmup=args.warmup,
        server_pid=server.process.pid,
        database_pid=database_pid,
    )
    return {**result.summary(), "generator": "python"}


def run_scenarios(server, scenarios: list[dict], headers: dict, args, database_pid, generator) -> list[dict]:
    """Each scenario once, or again (up to --retries) when other work on the machine disturbed the window."""
    rows = []
    for number, scenario in enumerate(scenarios, 1):
        say(
            f"[{number}/{len(scenarios)}] {scenario_label(scenario)}, {scenario['route']}: "
            f"{scenario['clients']} clients, {args.warmup:g} s warm-up + {scenario['duration']:g} s"
        )
        best = None
        for attempt in range(1, args.retries + 2):
            before = wait_quiet(args.wait_quiet, QUIET_CORES) if args.wait_quiet > 0 else None
            if before is not None and before >= QUIET_CORES:
                say(f"      !! {before:.2f} cores busy with other work after waiting {args.wait_quiet:g} s")
            try:
                stats = load_once(generator, server, scenario, headers, args, database_pid)
            except (RuntimeError, ValueError) as exc:
                raise BenchError(str(exc)) from None
            stats["other_busy_cores_before"] = None if before is None else round(before, 2)
            stats["attempt"] = attempt
            say(
                f"      {stats['rps']:,.1f} req/s  p50 {stats['p50_ms']} ms  p99 {stats['p99_ms']} ms  "
                f"errors {stats['errors']}  (n={stats['requests']:,}; cores: gunicorn {stats['server_cpu_cores']}, "
                f"postgres {stats['database_cpu_cores']}, generator {stats['client_cpu_cores']}, "
                f"other {stats['other_cpu_cores']})"
            )
            if stats["errors"]:
                say(f"      !! FAILED REQUESTS: {stats['error_kinds']}")
                for sample in stats["error_samples"]:
                    say(f"      !!   {sample}")
            if server.process.poll() is not None:
                raise BenchError(f"gunicorn exited (status {server.process.returncode}) during the run")
            other = stats["other_cpu_cores"]
            if best is None or stats["errors"] or (other or 0) < (best["other_cpu_cores"] or 0):
                best = stats
            if stats["errors"] or other is None or other < QUIET_CORES:
                break
            if attempt <= args.retries:
                say(f"      !! other work kept {other:.2f} cores busy during the window: running it again")
        if (best["other_cpu_cores"] or 0) >= QUIET_CORES:
            say("      !! disturbed by other work on the machine: these figures are low (marked * in the tables)")
        best["disturbed"] = (best["other_cpu_cores"] or 0) >= QUIET_CORES
        fields = {k: v for k, v in scenario.items() if k != "paths"}
        rows.append({**fields, "example_path": scenario["paths"][0], "stats": best})
    return rows


# --- main --------------------------------------------------------------------------------------


def choose_generator(choice: str) -> str:
    """ "python" (bench/load.py) or the path of wrk."""
    if choice == "python":
        say("Load generator: bench/load.py (--generator python)")
        return "python"
    wrk = find_wrk(install=True, say=say)
    if wrk:
        say(f"Load generator: {wrk} with bench/wrk.lua")
        return wrk
    if choice == "wrk":
        raise BenchError("--generator wrk, but wrk is not installed and could not be installed")
    say(
        "!! Load generator: bench/load.py, because wrk is missing. It drives 50 connections at ~1,800 req/s here, "
        "but takes about twice wrk's CPU from the server (its `gen` column shows how much): figures near 1,000 "
        "req/s read a few percent low. Install wrk (apt-get install -y wrk) for the reference figures."
    )
    return "python"


def generator_label(generator: str) -> str:
    return "bench/load.py (Python threads)" if generator == "python" else "wrk + bench/wrk.lua"


def worker_class_from_log(log_path: Path) -> str:
    """gunicorn's "Using worker: sync" line, as the class this run measured."""
    try:
        found = re.findall(r"Using worker: (\S+)", log_path.read_text(errors="replace"))
    except OSError:
        found = []
    return found[-1] if found else "(unknown class)"


def _sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    # Ctrl-C and SIGTERM unwind through the `finally`s that stop gunicorn (also when started with SIGINT
    # ignored, as a background job of a script is).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _sigterm)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    setup_log = RESULTS / f"setup-{stamp}.log"
    server_log = RESULTS / f"gunicorn-{stamp}.log"
    try:
        env = base_environment()
        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
        return run(args, env, stamp, setup_log, server_log)
    except BenchError as exc:
        say(f"\n!! bench could not run: {exc}")
        return 2
    except subprocess.CalledProcessError as exc:
        say(f"\n!! {' '.join(exc.cmd[1:])} failed with status {exc.returncode}; log {setup_log}")
        return 2
    except KeyboardInterrupt:
        say("\n!! interrupted; gunicorn stopped")
        return 130


def run(args, env: dict[str, str], stamp: str, setup_log: Path, server_log: Path) -> int:
    from bench.server import Gunicorn, ServerError

    machine = machine_context()
    say(
        f"TerraFusion bench {stamp}: {machine['cores']} cores ({machine['cpu_model']}), {machine['memory_gb']} GB, "
        f"load {machine['load_average_at_start']}, git {machine['git']}"
    )
    import django

    django.setup()
    from django.db import connections

    from bench import data

    county_info = prepare_county(args, env, setup_log)
    county = data.bench_county()
    parcels = data.parcel_count(county)
    if parcels == 0:
        raise BenchError("the bench county has no parcels")
    if parcels != args.parcels:
        say(f"!! the bench county holds {parcels:,} parcels (asked for {args.parcels:,}); depths follow the county")
    database = data.database_context()
    username, token = data.bench_user_token(county)
    ids = data.sample_ids(county, args.detail_ids, seed=args.seed)
    connections.close_all()
    say(
        f"PostgreSQL {database['server_version']} (shared_buffers {database['shared_buffers']}), bench county "
        f"{parcels:,} parcels ({database['properties_total']:,} in the table, {database['property_table_mb']} MB); "
        f"user {username} (viewer), JWT bearer; API_THROTTLE_USER={env['API_THROTTLE_USER']} for the bench's one "
        "token (the throttle still runs on every request)"
    )

    generator = choose_generator(args.generator)
    server_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    try:
        server = Gunicorn(env=server_env, log_path=server_log, workers=args.workers)
        say(f"Starting: {' '.join(server.command[1:])} (DEBUG=0, bench.settings; log {server_log})")
        with server:
            worker_class = worker_class_from_log(server_log)
            say(f"  ready: {server.ready_checks()['checks']}, {worker_class} workers {server.worker_pids()}")
            scenarios, checks = discover(
                server, headers, parcels, args.depths, ids, lambda row: data.id_at_row(county, row), args
            )
            for scenario in scenarios:
                scenario["duration"] = args.duration if scenario["kind"] == "throughput" else args.latency_duration
            rows = run_scenarios(server, scenarios, headers, args, database["postmaster_pid"], generator)
    except ServerError as exc:
        raise BenchError(str(exc)) from None

    targets = target_rows(rows)
    if county_info.get("generator") == "generate_demo_county":
        generation = (
            f"generation: generate_demo_county {parcels:,} parcels in {county_info['generate_s']:.1f} s wall "
            f"({county_info['generate_rows_per_s']:,} parcels/s"
            + (f"; the command reports {county_info['command_s']:.1f} s" if county_info.get("command_s") else "")
            + "; target < 60 s)"
        )
    else:
        generation = f"generation: {county_info.get('generator') or 'reused (--keep)'}, not timed"
    lines = [
        "",
        f"TerraFusion property API bench, {stamp}",
        f"machine: {machine['cores']} cores ({machine['cpu_model']}), {machine['memory_gb']} GB; PostgreSQL "
        f"{database['server_version']}; {parcels:,} parcels in the bench county; gunicorn {args.workers} "
        f"{worker_class} workers (deploy/gunicorn.conf.py); JWT bearer, county RBAC; API_THROTTLE_USER="
        f"{env['API_THROTTLE_USER']} for the bench's one token (the throttle check stays in the path)",
        f"load: {generator_label(generator)}, closed loop; throughput {args.clients} clients x {args.duration:g} s, "
        f"latency {args.latency_clients} clients x {args.latency_duration:g} s, {args.warmup:g} s warm-up each"
        + ("; --quick: rough figures" if args.quick else ""),
        generation,
        "",
        "All runs (ours: /api/v1/properties/; today: the same request the plain DRF way, bench/baseline.py):",
        *table(rows),
        "cpu ms/req: gunicorn + PostgreSQL CPU per request. Cores used in the window by gunicorn (srv),",
        "PostgreSQL (db), the load generator (gen) and anything else on the machine (other; * = disturbed).",
        "",
        "Issue 6 targets (printed, never asserted):",
        *targets_table(targets),
        "",
        *reference_lines(),
    ]
    different = [c for c in checks if not c["same"]]
    if different:
        lines += ["", f"!! ours and today's path answer different JSON in {len(different)} check(s):"]
        lines += [f"!!   {c['check']}: {c['difference'][:300]}" for c in different]
    failed = sum(r["stats"]["errors"] for r in rows)
    if failed:
        lines += ["", f"!! {failed} FAILED REQUEST(S): see the error samples above and {server_log}"]
    text = "\n".join(lines)
    say(text)

    json_path, text_path = RESULTS / f"bench-{stamp}.json", RESULTS / f"bench-{stamp}.txt"
    text_path.write_text(text + "\n")
    report = {
        "timestamp": stamp,
        "args": dict(vars(args)),
        "machine": machine,
        "database": database,
        "county": {"slug": data.BENCH_SLUG, "parcels": parcels, **county_info},
        "server": {
            "command": server.command[1:],
            "workers": args.workers,
            "worker_class": worker_class,
            "settings": "bench.settings",
            "debug": False,
        },
        "generator": generator_label(generator),
        "same_json_checks": checks,
        "scenarios": rows,
        "targets": targets,
        "reference": REFERENCE,
        "failed_requests": failed,
    }
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    say(f"\nsaved {json_path.relative_to(ROOT)} and {text_path.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
