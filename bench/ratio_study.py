"""`python -m bench.ratio_study` (part of `make bench`): issue 8's target for the ratio statistics.

A ratio study of 200,000 sales stratified by 100 neighborhoods, with bootstrap intervals (1,000 resamples) of
median, COD and PRD and the VEI of each stratum: `market_analysis.stats.stratified_study`, timed over several
runs (target: at most 2 s). Beside it, in the same run, the straightforward way: a pandas
`groupby().apply()` computing the same statistics per stratum, its bootstrap a loop of `sample(replace=True)`.
Both must give the same point estimates; the report says how far apart they are (and how close the two
bootstraps' intervals are, which differ only by their random draws).

Pure computation: no database or Redis. Writes bench/results/ratio-study-<time>.json. `--sales`, `--strata`,
`--resamples` change the sizes (the baseline then runs on `--baseline-strata` strata and is scaled to all).
Prints figures and PASS/FAIL; never asserts.
"""

import argparse
import datetime
import json
import math
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_SECONDS = 2.0
STATISTICS = ("median", "cod", "prd", "prb", "vei", "mki")


def make_sales(sales: int, strata: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prices and values of a plausible county: lognormal prices, neighborhood levels, slight regressivity."""
    rng = np.random.default_rng(seed)
    stratum = rng.integers(0, strata, sales)
    prices = np.exp(rng.normal(12.6, 0.45, sales) + rng.normal(0, 0.2, strata)[stratum])
    level = 0.94 * np.exp(rng.normal(0, 0.03, strata))[stratum]
    regressive = (prices / np.median(prices)) ** -0.03
    values = np.round(prices * level * regressive * np.exp(rng.normal(0, 0.13, sales)), -2)
    return values, prices, np.array([f"N{code:03d}" for code in range(strata)], dtype=object)[stratum]


def ours(values, prices, strata, resamples: int, seed: int) -> dict:
    from market_analysis import stats

    return stats.stratified_study(values, prices, strata, resamples=resamples, seed=seed, overall=False)


def baseline(values, prices, strata, resamples: int, seed: int):
    """The straightforward way: pandas groupby().apply(), each statistic written out, a Python loop of resamples."""
    import pandas as pd

    frame = pd.DataFrame({"value": values, "price": prices, "stratum": strata})

    def point(group: pd.DataFrame) -> dict:
        ratio = group["value"] / group["price"]
        median = ratio.median()
        out = {
            "median": median,
            "cod": 100 * (ratio - median).abs().mean() / median,
            "prd": ratio.mean() / (group["value"].sum() / group["price"].sum()),
        }
        x = np.log2((group["value"] / median + group["price"]) / 2)
        out["prb"] = np.polyfit(x, (ratio - median) / median, 1)[0]
        by_price = group.sort_values("price", kind="mergesort")
        rank = np.arange(1, len(group) + 1)

        def gini(column: pd.Series) -> float:
            return (2 * (column.to_numpy() * rank).sum() / column.sum() - (len(group) + 1)) / len(group)

        out["mki"] = gini(by_price["value"]) / gini(by_price["price"])
        proxy = 0.5 * group["price"] + 0.5 * group["value"] / median
        count = 2 if len(group) <= 50 else 4 if len(group) <= 500 else 10
        edges = np.percentile(proxy, np.linspace(0, 100, count + 1)[1:-1])
        bucket = np.searchsorted(edges, proxy, side="left")
        medians = ratio.groupby(bucket).median()
        out["vei"] = 100 * (medians.iloc[-1] - medians.iloc[0]) / median
        return out

    def apply(group: pd.DataFrame) -> pd.Series:
        out = point(group)
        draws = {"median": [], "cod": [], "prd": []}
        for b in range(resamples):
            sample = group.sample(frac=1.0, replace=True, random_state=seed + b)
            ratio = sample["value"] / sample["price"]
            median = ratio.median()
            draws["median"].append(median)
            draws["cod"].append(100 * (ratio - median).abs().mean() / median)
            draws["prd"].append(ratio.mean() / (sample["value"].sum() / sample["price"].sum()))
        for name, samples in draws.items():
            out[f"{name}_ci"] = tuple(np.quantile(samples, [0.025, 0.975]))
        return pd.Series(out)

    return frame.groupby("stratum").apply(apply, include_groups=False)


def compare(study: dict, frame) -> dict:
    """The largest differences between the two ways: point estimates (should be rounding) and intervals."""
    ours_by = {entry["stratum"]: entry for entry in study["strata"]}
    point = dict.fromkeys(STATISTICS, 0.0)
    interval = dict.fromkeys(("median", "cod", "prd"), 0.0)
    width_ratios: dict[str, list[float]] = {name: [] for name in interval}
    for stratum, row in frame.iterrows():
        entry = ours_by[stratum]
        for name in STATISTICS:
            point[name] = max(point[name], abs(entry[name] - row[name]) / max(abs(row[name]), 1e-12))
        for name in interval:
            low, high = entry["ci"][name]
            base_low, base_high = row[f"{name}_ci"]
            width = base_high - base_low
            interval[name] = max(interval[name], abs((high - low) - width) / width)
            width_ratios[name].append((high - low) / width)
    return {
        "point_relative": point,
        "interval_width_relative": interval,
        "interval_width_ratio_mean": {name: float(np.mean(ratios)) for name, ratios in width_ratios.items()},
        "strata_compared": len(frame),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=200_000)
    parser.add_argument("--strata", type=int, default=100)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline-strata", type=int, default=100, help="strata the baseline runs on (time scaled)")
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "terrafusion.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

    values, prices, strata = make_sales(args.sales, args.strata, args.seed)
    print(
        f"ratio study: {args.sales:,} sales, {args.strata} strata, {args.resamples:,} resamples, {os.cpu_count()} cores"
    )
    ours(values[:5000], prices[:5000], strata[:5000], 10, 1)  # warm up (imports, thread pool)
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        study = ours(values, prices, strata, args.resamples, args.seed)
        times.append(time.perf_counter() - started)
    from market_analysis import stats

    started = time.perf_counter()
    overall = stats.bootstrap_ci(values, prices, resamples=args.resamples, seed=args.seed)
    overall_seconds = time.perf_counter() - started

    chosen = sorted(set(strata))[: args.baseline_strata]
    subset = np.isin(strata, chosen)
    started = time.perf_counter()
    frame = baseline(values[subset], prices[subset], strata[subset], args.resamples, args.seed)
    baseline_seconds = (time.perf_counter() - started) * args.sales / subset.sum()
    differences = compare(study, frame)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    best, median = min(times), statistics.median(times)
    verdict = "PASS" if median <= TARGET_SECONDS else "FAIL"
    scaled = "" if args.baseline_strata >= args.strata else f" (on {args.baseline_strata} strata, scaled)"
    lines = [
        "",
        f"| figure | target | ours | straightforward pandas groupby().apply(){scaled} |",
        "|---|---|---|---|",
        f"| stratified study, {args.strata} strata, bootstrap + VEI | <= {TARGET_SECONDS:.0f} s | "
        f"**{median:.2f} s** median of {args.runs} (best {best:.2f} s) {verdict} | {baseline_seconds:.1f} s |",
        f"| the county as one sample ({args.sales:,} sales), bootstrap only | | {overall_seconds:.2f} s | |",
        f"| peak memory of the process | | {peak_mib:.0f} MiB | |",
        "",
        "Same point estimates (largest relative difference over the strata): "
        + ", ".join(f"{k} {v:.1e}" for k, v in differences["point_relative"].items()),
        "Bootstrap interval widths, ours against pandas' (different random draws): largest relative difference "
        + ", ".join(f"{k} {v:.1%}" for k, v in differences["interval_width_relative"].items())
        + "; mean ratio ours/pandas "
        + ", ".join(f"{k} {v:.3f}" for k, v in differences["interval_width_ratio_mean"].items()),
    ]
    print("\n".join(lines))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    record = {
        "when": stamp,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__},
        "sizes": {"sales": args.sales, "strata": args.strata, "resamples": args.resamples},
        "seconds": times,
        "median_seconds": median,
        "target_seconds": TARGET_SECONDS,
        "verdict": verdict,
        "overall_bootstrap_seconds": overall_seconds,
        "baseline_seconds": baseline_seconds,
        "baseline_strata": args.baseline_strata,
        "peak_mib": peak_mib,
        "differences": differences,
        "overall_median_ci": [overall[None].median.low, overall[None].median.high],
    }
    path = RESULTS / f"ratio-study-{stamp}.json"
    path.write_text(json.dumps(record, indent=2))
    print(f"\nwritten: {path.relative_to(RESULTS.parent.parent)}")
    worst = max(differences["point_relative"].values())
    return 0 if math.isfinite(worst) and worst < 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
