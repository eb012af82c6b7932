"""`python -m bench.gis_export` (part of `make bench`): issue 10's targets for GIS export, end to end.

Against PostgreSQL (DATABASE_URL) and Redis (REDIS_URL), it

1. uses the 1,000,000-parcel demo county of the valuation bench (`bench-valuation`, made when it is not there);
2. exports every active parcel with every attribute in each format as production does: a GIS export job handed to
   an idle RQ worker, timed from the enqueue to the job's completion (reading PostgreSQL, reprojecting where asked,
   writing the file, storing it), with the peak RSS of the worker and its work horse and the file's size;
3. times, in the same run, the straightforward export (`bench/gis_export_baseline.py`: the whole queryset in a
   GeoDataFrame, then `to_file`/`to_parquet`) for `--baseline-formats`, each in its own process, with its peak RSS.

Prints each figure beside issue 10's target (printed, never asserted) and writes bench/results/gis-export-<stamp>.json.
"""

import argparse
import sys
import tempfile
import time

from bench.common import django_setup, report_save, say, services_configured

FORMATS = ("geoparquet", "gpkg", "flatgeobuf", "shapefile", "csv", "geojson", "kml")
TARGETS = {"gpkg": 20.0, "geoparquet": 8.0, "flatgeobuf": 20.0}
RSS_TARGET_GIB = 1.5


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.gis_export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--crs", default="EPSG:4326", help="the exports' CRS (`local`: the county's state plane)")
    parser.add_argument("--baseline-formats", default="gpkg,geoparquet", help="'' for none")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not services_configured("bench.gis_export"):
        return 2
    django_setup(migrate=True)
    report_save("gis-export", run(args))
    return 0


def baseline_run(slug: str, export_format: str) -> dict:
    from bench.workers import measured_run

    with tempfile.TemporaryDirectory(prefix="bench-gis-") as directory:
        started = time.perf_counter()
        out, peak = measured_run(["-m", "bench.gis_export_baseline", slug, export_format, directory])
        return {"seconds": round(time.perf_counter() - started, 2), "export_seconds": float(out.strip()),
                "peak_rss_gib": peak}  # fmt: skip


def run(args) -> dict:
    from bench.valuation import SLUG, county_ready
    from bench.workers import job_run
    from gis_export.models import GisExportJob
    from properties.models import Property

    county = county_ready(SLUG, args.parcels, args.seed, False)
    active = Property.objects.filter(county=county, is_active=True).count()
    say(f"county {SLUG}: {active:,} active parcels; exports in {args.crs}, every attribute, one idle RQ worker")
    report = {"parcels": active, "crs": args.crs, "formats": {}, "baseline": {}, "targets": TARGETS}
    for export_format in args.formats.split(","):
        GisExportJob.objects.filter(county=county).delete()
        parameters = GisExportJob.job_kind.validate_parameters({"format": export_format, "crs": args.crs})
        done = job_run(GisExportJob, county, parameters, workers=1)
        result = done["result"]
        report["formats"][export_format] = {
            "seconds": done["seconds"], "peak_rss_gib": done["peak_rss_gib"], "size_mb": round(result["size"] / 1e6, 1),
            "features": result["parcels"],
        }  # fmt: skip
        say(f"  {export_format}: {done['seconds']:.1f} s, peak RSS {done['peak_rss_gib']:.2f} GiB, "
            f"{result['size'] / 1e6:,.0f} MB, {result['parcels']:,} features")  # fmt: skip
    for export_format in filter(None, args.baseline_formats.split(",")):
        say(f"  the straightforward export ({export_format}) ...")
        report["baseline"][export_format] = figures = baseline_run(SLUG, export_format)
        say(f"    {figures['seconds']:.1f} s, peak RSS {figures['peak_rss_gib']:.2f} GiB")
    say()
    say("| format | target | ours | peak RSS (<= 1.5 GiB) | file | straightforward |")
    say("|---|---|---|---|---|---|")
    for export_format, figures in report["formats"].items():
        target = TARGETS.get(export_format)
        verdict = "" if target is None else (" PASS" if figures["seconds"] <= target else " FAIL")
        rss = "PASS" if figures["peak_rss_gib"] <= RSS_TARGET_GIB else "FAIL"
        baseline = report["baseline"].get(export_format)
        plain = f"{baseline['seconds']:.1f} s, {baseline['peak_rss_gib']:.2f} GiB" if baseline else ""
        say(f"| {export_format} | {f'<= {target:.0f} s' if target else ''} | {figures['seconds']:.1f} s{verdict} | "
            f"{figures['peak_rss_gib']:.2f} GiB {rss} | {figures['size_mb']:,.0f} MB | {plain} |")  # fmt: skip
    return report


if __name__ == "__main__":
    sys.exit(main())
