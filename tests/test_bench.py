"""The bench's own arithmetic and verdicts (bench/): percentiles, wrk's output, targets, same-JSON checks.

No server and no timing: these feed the printed report, so a wrong PASS or a wrong percentile would
mislead whoever reads it.
"""

import pytest

from bench.__main__ import first_difference
from bench.load import LoadResult
from bench.report import target_rows, targets_table
from bench.wrk import parse_output, summarise


def test_percentile_is_nearest_rank():
    result = LoadResult(concurrency=1, duration=1.0, latencies=[i / 1000 for i in range(1, 101)])  # 1..100 ms
    assert result.percentile(50) == pytest.approx(50)
    assert result.percentile(99) == pytest.approx(99)
    assert result.percentile(100) == pytest.approx(100)
    assert LoadResult(concurrency=1, duration=1.0, latencies=[0.007]).percentile(99) == pytest.approx(7)
    assert LoadResult(concurrency=1, duration=1.0, latencies=[]).percentile(50) is None


WRK_LINE = (
    'BENCH-RESULT {"requests":1000,"duration_us":2000000,"bytes":500000,"statuses":{"200":990,"429":10},'
    '"socket_errors":{"connect":0,"read":2,"write":0,"timeout":0},"non_2xx_3xx":10,'
    '"latency_us":{"p50":4000,"p90":8000,"p99":25000,"max":40000,"mean":5000.0},"samples":"429 slow down\\n"}'
)


def test_wrk_result_counts_only_200_and_every_other_status_or_socket_error_as_an_error():
    raw = parse_output("Running 2s test\n" + WRK_LINE + "\n")
    stats = summarise(raw, concurrency=50, window=2.0, cpu={"server": 1.0, "database": 0.2, "client": 0.1})
    assert stats["requests"] == 990
    assert stats["rps"] == 495.0
    assert stats["errors"] == 12
    assert stats["error_kinds"] == {"status 429": 10, "socket read": 2}
    assert (stats["p50_ms"], stats["p99_ms"]) == (4.0, 25.0)
    assert stats["cpu_ms_per_request"] == 1.2
    assert stats["error_samples"] == ["429 slow down"]


def test_wrk_output_without_the_result_line_is_refused():
    with pytest.raises(ValueError, match="BENCH-RESULT"):
        parse_output("Running 2s test\nsomething else\n")


def _row(kind, figure, route, depth, clients, rps, p50=1.0, p99=2.0, errors=0):
    stats = {"rps": rps, "p50_ms": p50, "p99_ms": p99, "errors": errors, "requests": int(rps)}
    return {"kind": kind, "figure": figure, "route": route, "depth": depth, "clients": clients, "stats": stats}


def _run(detail_rps=800, lists=(500, 480, 450), geojson=160, detail_p99=20, list_p99=40, errors=0):
    rows = [_row("throughput", "detail", "ours", None, 50, detail_rps, errors=errors)]
    rows.append(_row("throughput", "detail", "baseline", None, 50, 100))
    for depth, rps in zip((0, 50_000, 90_000), lists, strict=True):
        rows += [
            _row("throughput", "list", "ours", depth, 50, rps),
            _row("throughput", "list", "baseline", depth, 50, 50),
        ]
    rows += [
        _row("throughput", "geojson", "ours", 0, 50, geojson),
        _row("throughput", "geojson", "baseline", 0, 50, 20),
    ]
    rows += [
        _row("latency", "detail", "ours", None, 8, 700, p99=detail_p99),
        _row("latency", "detail", "baseline", None, 8, 100, p99=90),
    ]
    for depth in (0, 90_000):
        rows += [
            _row("latency", "list", "ours", depth, 8, 400, p99=list_p99),
            _row("latency", "list", "baseline", depth, 8, 50, p99=300),
        ]
    return rows


def _by_target(rows):
    return {t["target"]: t for t in target_rows(rows)}


def test_targets_pass_when_every_figure_meets_issue_6():
    targets = _by_target(_run())
    assert all(t["passed"] for t in targets.values()), [t for t in targets.values() if not t["passed"]]
    assert targets["detail"]["ours"] == 800 and targets["detail"]["today"] == 100
    assert targets["list flat with depth (row 90,000 / first)"]["ours"] == 0.9
    assert len(targets) == 10


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({"detail_rps": 699.9}, "detail"),
        ({"lists": (500, 399, 450)}, "list page of 100 @ row 50,000"),
        ({"lists": (600, 550, 410)}, "list flat with depth (row 90,000 / first)"),  # 0.68x: not flat
        ({"geojson": 149}, "GeoJSON page of 100"),
        ({"detail_p99": 30}, "detail latency"),  # "under 30 ms": 30 itself fails
        ({"list_p99": 50.1}, "list latency @ row 0"),
        ({"errors": 1}, "detail"),  # throughput with errors does not count
    ],
)
def test_each_target_fails_on_its_own_figure(change, failing):
    targets = _by_target(_run(**change))
    assert targets[failing]["passed"] is False
    if "errors" in change:
        assert targets["errors, all runs"]["passed"] is False


def test_targets_table_prints_goal_ours_today_ratio_and_result():
    lines = targets_table(target_rows(_run(detail_rps=350)))
    detail = next(line for line in lines if line.startswith("detail "))
    assert ">= 700 req/s" in detail and "350.0 req/s" in detail and "100.0 req/s" in detail
    assert "3.5x" in detail and detail.rstrip().endswith("FAIL")
    latency = next(line for line in lines if line.startswith("detail latency"))
    assert "p99 20.0 ms (p50 1.0)" in latency and "4.5x faster" in latency and latency.rstrip().endswith("PASS")
    assert lines[-1].startswith("9 of 10 targets met")


def test_first_difference_names_the_first_differing_place():
    ours = {"results": [{"id": 1, "value": "1.00"}, {"id": 2, "value": "2.00"}]}
    assert first_difference(ours, {"results": [{"id": 1, "value": "1.00"}, {"id": 2, "value": "2.00"}]}) is None
    found = first_difference(ours, {"results": [{"id": 1, "value": "1.00"}, {"id": 2, "value": "2.0"}]})
    assert found == "results[1].value: '2.00' vs '2.0'"
    assert "keys" in first_difference({"a": 1, "b": 2}, {"b": 2, "a": 1})  # key order is part of the JSON
    assert first_difference({"a": 1}, {"a": 1.0}) == "a: 1 vs 1.0"  # 1 and 1.0 render differently


def test_the_ratio_study_bench_computes_the_same_point_estimates_both_ways():
    """The bench's comparison is real: ours and the pandas baseline agree on every point estimate."""
    from bench.ratio_study import baseline, compare, make_sales, ours

    values, prices, strata = make_sales(3000, 3, seed=1)
    differences = compare(ours(values, prices, strata, 50, 1), baseline(values, prices, strata, 50, 1))
    assert differences["strata_compared"] == 3
    assert max(differences["point_relative"].values()) < 1e-9
    assert max(differences["interval_width_relative"].values()) < 0.6  # 50 resamples: rough, but the same scale
    shifted = ours(values * 1.5, prices, strata, 50, 1)  # a different assessment is told apart
    assert compare(shifted, baseline(values, prices, strata, 50, 1))["point_relative"]["median"] > 0.4
