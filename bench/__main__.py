"""`python -m bench` / `make bench`: the property API's throughput and latency, as in production (issue 2).

Against PostgreSQL (DATABASE_URL) and Redis (REDIS_URL), it

1. migrates, and creates the demo county `bench` with `manage.py generate_demo_county --slug bench
   --parcels N --replace`, timing it (a figure of the issue: under a minute for 100,000 on PostgreSQL);
   `--keep` reuses an existing bench county instead;
2. makes a `viewer` of that county and a JWT access token for it, so authentication and the county
   restriction are in the measured path;
3. starts gunicorn as in production (`gunicorn terrafusion.wsgi --workers 2`, DEBUG=0) with
   DJANGO_SETTINGS_MODULE=bench.settings: the production settings and URLs, plus
   /bench/offset/properties/, the same PropertyViewSet with DRF's LimitOffsetPagination;
4. runs a closed-loop load (`--concurrency` keep-alive connections, 2 s warm-up, then `--duration`
   seconds) per scenario: a property detail, the property list's first page, and pages deep into the list
   by cursor and by offset;
5. prints requests/s and p50/p99 latency per scenario beside the yardstick figures of PERFORMANCE.md,
   and writes them as JSON and text under bench/results/.

Exit status: 0 when every request answered 200; 1 when any did not; 2 when the bench could not run
(no PostgreSQL, gunicorn did not start, ...); 130 on Ctrl-C.
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
from bench.report import REFERENCE, reference_lines, table, verdict

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PAGE_SIZE = 100
API_LIST = "/api/v1/properties/"
OFFSET_LIST = "/bench/offset/properties/"
COMMAND_SECONDS = re.compile(r"\bin ([0-9]+(?:\.[0-9]+)?) s:\s*$")
MAX_WALK_PAGES = 200
QUIET_CORES = 0.3  # the machine counts as quiet when others keep less than this busy


class BenchError(Exception):
    """The bench could not run (exit status 2)."""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--parcels", type=int, default=100_000, help="parcels in the bench county (default 100,000)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per scenario (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per scenario (default 2)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2, as in production)")
    parser.add_argument(
        "--depths", default="0.5,0.9", help="list depths as fractions of the county's parcels (default 0.5,0.9)"
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
        default=2,
        help="re-run a scenario up to this many times when other work disturbed it; the cleanest counts (default 2)",
    )
    args = parser.parse_args(argv)
    if args.parcels < 1 or args.duration <= 0 or args.warmup < 0 or args.concurrency < 1 or args.workers < 1:
        parser.error("--parcels, --duration, --concurrency and --workers must be positive")
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
    return f"{path}?{urlencode(params)}"


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


def discover(server, headers: dict, parcels: int, depth_fractions: list[float], ids: list[int], id_at_row) -> list:
    """The scenarios, each checked once before it is loaded.

    Deep cursor pages come from following the API's own `next` links (page_size=1000); past MAX_WALK_PAGES
    pages (a million-parcel county) the cursor is written as DRF writes it, from the id at that row. Either
    way the cursor page must hold exactly the rows of the offset page at the same depth.
    """
    scenarios = []
    detail = fetch_json(server, f"{API_LIST}{ids[0]}/", headers)
    if detail.get("id") != ids[0]:
        raise BenchError(f"the detail of parcel {ids[0]} came back as {detail.get('id')}")
    scenarios.append(
        {"scenario": "detail", "pagination": "-", "depth": None, "paths": [f"{API_LIST}{i}/" for i in ids]}
    )

    walk_size = 1000 if parcels >= 20 * 1000 else PAGE_SIZE
    depths = sorted({int(f * parcels) // walk_size * walk_size for f in depth_fractions} - {0})
    cursors: dict[int, str] = {}
    if depths and depths[-1] // walk_size > MAX_WALK_PAGES:
        say(f"  writing cursors for rows {', '.join(f'{d:,}' for d in depths)} (a walk would take over "
            f"{MAX_WALK_PAGES} pages)")  # fmt: skip
        cursors = {depth: encode_cursor(id_at_row(depth - 1)) for depth in depths}
    elif depths:
        say(f"  following `next` links with page_size={walk_size} to rows {', '.join(f'{d:,}' for d in depths)}...")
        started = time.perf_counter()
        url, row = with_query(API_LIST, page_size=walk_size), 0
        while row < depths[-1]:
            page = fetch_json(server, url, headers)
            row += len(page["results"])
            if not page.get("next"):
                raise BenchError(f"the cursor walk ended at row {row:,} before row {depths[-1]:,}")
            url = urlsplit(page["next"])._replace(scheme="", netloc="").geturl()
            if row in depths:
                cursors[row] = parse_qs(urlsplit(url).query)["cursor"][0]
        say(f"  walked {row:,} rows in {time.perf_counter() - started:.1f} s")
        for depth, cursor in cursors.items():  # the writer used past MAX_WALK_PAGES must agree with the API
            if decode_cursor(cursor) != decode_cursor(encode_cursor(id_at_row(depth - 1))):
                raise BenchError(f"the API's cursor at row {depth:,} is {decode_cursor(cursor)}, not p=<id>")

    for depth in [0, *depths]:
        cursor_path = with_query(API_LIST, page_size=PAGE_SIZE, **({"cursor": cursors[depth]} if depth else {}))
        offset_path = with_query(OFFSET_LIST, limit=PAGE_SIZE, offset=depth)
        cursor_page = fetch_json(server, cursor_path, headers)
        offset_page = fetch_json(server, offset_path, headers)
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
        scenarios.append({"scenario": "list", "pagination": "cursor", "depth": depth, "paths": [cursor_path]})
        scenarios.append({"scenario": "list", "pagination": "offset", "depth": depth, "paths": [offset_path]})
    # Order: detail, the cursor pages by depth, then the offset pages by depth.
    return [scenarios[0], *sorted(scenarios[1:], key=lambda s: (s["pagination"] != "cursor", s["depth"]))]


def run_scenarios(server, scenarios: list[dict], headers: dict, args, database_pid: int | None) -> list[dict]:
    """Each scenario once, or again (up to --retries) when other work on the machine disturbed the window."""
    rows = []
    for number, scenario in enumerate(scenarios, 1):
        requests = [build_request(server.host, server.port, path, headers) for path in scenario["paths"]]
        depth = "" if scenario["depth"] is None else f" @ row {scenario['depth']:,}"
        say(
            f"[{number}/{len(scenarios)}] {scenario['scenario']} {scenario['pagination']}{depth}: "
            f"{args.concurrency} connections, {args.warmup:g} s warm-up + {args.duration:g} s"
        )
        best = None
        for attempt in range(1, args.retries + 2):
            before = wait_quiet(args.wait_quiet, QUIET_CORES)
            if before is not None and before >= QUIET_CORES:
                say(f"      !! {before:.2f} cores busy with other work after waiting {args.wait_quiet:g} s")
            result = run_load(
                server.host,
                server.port,
                requests,
                concurrency=args.concurrency,
                duration=args.duration,
                warmup=args.warmup,
                server_pid=server.process.pid,
                database_pid=database_pid,
            )
            stats = result.summary()
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
            say("      !! disturbed by other work on the machine: these figures are low (marked * in the table)")
        best["disturbed"] = (best["other_cpu_cores"] or 0) >= QUIET_CORES
        fields = {k: v for k, v in scenario.items() if k != "paths"}
        rows.append({**fields, "example_path": scenario["paths"][0], "stats": best})
    return rows


# --- main --------------------------------------------------------------------------------------


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

    server_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    try:
        server = Gunicorn(env=server_env, log_path=server_log, workers=args.workers)
        say(f"Starting: {' '.join(server.command[1:])} (DEBUG=0, bench.settings; log {server_log})")
        with server:
            say(f"  ready: {server.ready_checks()['checks']}, workers {server.worker_pids()}")
            scenarios = discover(server, headers, parcels, args.depths, ids, lambda row: data.id_at_row(county, row))
            rows = run_scenarios(server, scenarios, headers, args, database["postmaster_pid"])
    except ServerError as exc:
        raise BenchError(str(exc)) from None

    verdict_text, ratios = verdict(rows)
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
        f"{database['server_version']}; {parcels:,} parcels in the bench county; gunicorn {args.workers} sync "
        f"workers; {args.concurrency} connections, closed loop, {args.warmup:g} s warm-up + {args.duration:g} s",
        generation,
        "",
        *table(rows),
        "",
        "cpu ms/req: gunicorn + PostgreSQL CPU per request. Cores used in the window by gunicorn (srv),",
        "PostgreSQL (db), this load generator (gen) and anything else on the machine (other; * = disturbed).",
        verdict_text,
        "",
        *reference_lines(rows, parcels),
    ]
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
            "settings": "bench.settings",
            "debug": False,
        },
        "scenarios": rows,
        "verdict": {"text": verdict_text, **ratios},
        "reference": REFERENCE,
        "failed_requests": failed,
    }
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    say(f"\nsaved {json_path.relative_to(ROOT)} and {text_path.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
