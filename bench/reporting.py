"""`python -m bench.reporting` (part of `make bench`): issue 11's targets for reports, end to end.

Against PostgreSQL (DATABASE_URL) and Redis (REDIS_URL), it

1. writes the assessment roll of the valuation bench's 1,000,000-parcel county (`bench-valuation`, made when it is
   not there) as CSV (in parts of REPORT_ROLL_PART_PARCELS that 2 idle RQ workers write, then joined) and as XLSX
   (one worker: one workbook), each timed from the enqueue to the job's completion, with the peak RSS of every
   worker and work horse;
2. writes the PDF of a ratio study stratified by neighborhood on a demo county of 80,000 parcels (100
   neighborhoods; made when it is not there), the same way;
3. times, in the same run and in its own process, the straightforward roll (`bench/reporting_baseline.py`: the
   queryset to pandas, then `to_excel`) on `--baseline-parcels` parcels, and what that rate makes of the million.

Prints each figure beside issue 11's target (printed, never asserted) and writes bench/results/reporting-<stamp>.json.
"""

import argparse
import sys
import tempfile
import time

from bench.common import django_setup, report_save, say, services_configured

STUDY_SLUG = "bench-report-study"
TARGETS = {"roll_csv": 20.0, "roll_csv_one_piece": 20.0, "roll_xlsx": 100.0, "study_pdf": 30.0, "peak_rss_gib": 1.0}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.reporting", description=__doc__.split("\n\n")[0])
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--study-parcels", type=int, default=80_000, help="the ratio study's county (100 hoods)")
    parser.add_argument("--baseline-parcels", type=int, default=200_000)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not services_configured("bench.reporting"):
        return 2
    django_setup(migrate=True)
    report_save("reporting", run(args))
    return 0


def report_run(county, parameters: dict, workers: int = 1, env: dict | None = None) -> dict:
    from bench.workers import job_run
    from reporting.models import ReportJob

    ReportJob.objects.filter(county=county).delete()
    validated = ReportJob.job_kind.validate_parameters(parameters)
    done = job_run(ReportJob, county, validated, workers=workers, env=env)
    return {"seconds": done["seconds"], "peak_rss_gib": done["peak_rss_gib"],
            "size_mb": round(done["result"]["size"] / 1e6, 1)}  # fmt: skip


def baseline_run(slug: str, parcels: int) -> dict:
    from bench.workers import measured_run

    with tempfile.TemporaryDirectory(prefix="bench-report-") as directory:
        out, peak = measured_run(["-m", "bench.reporting_baseline", slug, str(parcels), f"{directory}/roll.xlsx"])
    return {"parcels": parcels, "seconds": float(out.strip()), "peak_rss_gib": peak}


def run(args) -> dict:
    from bench.valuation import SLUG, WORKING_YEAR, county_ready
    from properties.models import Neighborhood

    county = county_ready(SLUG, args.parcels, args.seed, False)
    study_county = county_ready(STUDY_SLUG, args.study_parcels, args.seed, False)
    hoods = Neighborhood.objects.filter(county=study_county).count()
    report = {"parcels": args.parcels, "targets": TARGETS}
    say(f"the assessment roll of {SLUG} ({args.parcels:,} parcels): CSV in parts by 2 RQ workers, XLSX by one ...")
    one_piece = {"REPORT_ROLL_PART_PARCELS": str(args.parcels + 1)}
    for key, export_format, workers, env in (("roll_csv", "csv", 2, None), ("roll_csv_one_piece", "csv", 1, one_piece),
                                             ("roll_xlsx", "xlsx", 1, None)):  # fmt: skip
        report[key] = figures = report_run(
            county, {"report_type": "assessment_roll", "format": export_format, "roll_year": WORKING_YEAR}, workers, env
        )
        say(f"  {key}: {figures['seconds']:.1f} s, peak RSS {figures['peak_rss_gib']:.2f} GiB, "
            f"{figures['size_mb']:,.0f} MB")  # fmt: skip
    say(f"the ratio study PDF of {STUDY_SLUG} ({args.study_parcels:,} parcels, {hoods} neighborhoods) ...")
    report["study_pdf"] = figures = report_run(study_county, {
        "report_type": "ratio_study", "format": "pdf", "roll_year": WORKING_YEAR,
        "study": {"stratify_by": "neighborhood", "resamples": 1000, "seed": 1},
    })  # fmt: skip
    report["study_pdf"]["neighborhoods"] = hoods
    say(f"  {figures['seconds']:.1f} s, peak RSS {figures['peak_rss_gib']:.2f} GiB, {figures['size_mb']:,.1f} MB")
    say(f"the straightforward roll (pandas, to_excel) on {args.baseline_parcels:,} parcels ...")
    started = time.perf_counter()
    report["baseline"] = baseline = baseline_run(SLUG, args.baseline_parcels)
    baseline["extrapolated_seconds"] = round(baseline["seconds"] * args.parcels / args.baseline_parcels, 1)
    say(
        f"  {baseline['seconds']:.1f} s ({time.perf_counter() - started:.1f} s with start-up), peak RSS "
        f"{baseline['peak_rss_gib']:.2f} GiB; ~{baseline['extrapolated_seconds']:,.0f} s at that rate for the million"
    )
    say()
    say("| figure | target | ours | peak RSS (<= 1 GiB) | straightforward |")
    say("|---|---|---|---|---|")
    rows = [("roll_csv", f"assessment roll CSV, {args.parcels:,} parcels, parts by 2 workers", ""),
            ("roll_csv_one_piece", "the same in one piece, one worker", ""),
            ("roll_xlsx", f"assessment roll XLSX, {args.parcels:,} parcels",
             f"{baseline['seconds']:.1f} s for {args.baseline_parcels:,} (~{baseline['extrapolated_seconds']:,.0f} s "
             f"for all), {baseline['peak_rss_gib']:.2f} GiB"),
            ("study_pdf", f"ratio study PDF, {hoods} neighborhoods", "")]  # fmt: skip
    for key, name, plain in rows:
        figures = report[key]
        ok = "PASS" if figures["seconds"] <= TARGETS[key] else "FAIL"
        rss = "PASS" if figures["peak_rss_gib"] <= TARGETS["peak_rss_gib"] else "FAIL"
        say(f"| {name} | <= {TARGETS[key]:.0f} s | {figures['seconds']:.1f} s {ok} | "
            f"{figures['peak_rss_gib']:.2f} GiB {rss} | {plain} |")  # fmt: skip
    return report


if __name__ == "__main__":
    sys.exit(main())
