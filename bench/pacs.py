"""`python -m bench.pacs` (part of `make bench`): the PACS bulk load of a 1,000,000-property fake PACS, end to end.

Against PostgreSQL (DATABASE_URL) and Redis (REDIS_URL), it

1. makes a fake PACS (`make_fake_pacs`, PostgreSQL database `<DATABASE_URL's name>_pacs_bench`, years 2025 and
   2026) unless one of the same size and seed is there (`--fresh` makes it anew);
2. sets up the county `bench-pacs` (new_county_config + setup_county, Benton's mapping) and empties it;
3. runs the load as production does: an ingestion job handed to RQ, run in parts by `--workers` RQ workers,
   timed from the enqueue to the job's completion, with the peak RSS of every worker process (and work horse);
4. runs it again on the unchanged PACS (nothing may be written), then changes 1% of the properties' values in
   PACS and runs a sync;
5. times the straightforward loader (bench/pacs_baseline.py: the ORM, a query per record, update_or_create) on a
   sample of `--sample` properties, in the same run, and prints everything beside issue 7's targets (printed,
   never asserted) and into bench/results/pacs-<stamp>.json.
"""

import argparse
import os
import subprocess
import sys
import tempfile

from bench.common import ROOT, django_setup, report_save, services_configured

SLUG = "bench-pacs"
YEARS = (2025, 2026)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pacs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--properties", type=int, default=1_000_000, help="properties in the fake PACS")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="RQ workers running the load's parts (default 2)")
    parser.add_argument("--sample", type=int, default=1_000, help="properties the straightforward loader loads")
    parser.add_argument("--fresh", action="store_true", help="make the fake PACS anew even if one is there")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not services_configured("bench.pacs"):
        return 2
    base, _, name = os.environ["DATABASE_URL"].partition("?")[0].rpartition("/")
    os.environ["PACS_DATABASE_URL"] = f"{base}/{name}_pacs_bench"  # the fake PACS, beside the bench's database
    with tempfile.TemporaryDirectory(prefix="bench-pacs-") as configs:
        os.environ["COUNTY_CONFIG_DIR"] = configs
        django_setup()
        from bench.pacs_run import run

        report = run(args, configs)
    report_save("pacs", report)
    return 0


def manage(*arguments: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, str(ROOT / "manage.py"), *arguments],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=check,
    )


if __name__ == "__main__":
    sys.exit(main())
