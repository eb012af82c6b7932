"""The printed tables: every run, and issue 6's targets with ours, today's path and PASS/FAIL per target.

Pure functions over the bench's rows (dicts with figure, depth, clients, route, kind and stats), so they
can be tested without a server.
"""

# /work/shared/PERFORMANCE.md, "HTTP (gunicorn, 2 workers, DRF over a 1,000,000-row table)".
REFERENCE = {
    "source": "PERFORMANCE.md: gunicorn, 2 workers, bare DRF (no auth) over a 1,000,000-row table, same machine kind",
    "detail": "1,066 req/s, p99 6 ms",
    "cursor": "~570 req/s at any depth, p99 <= 15 ms",
}

# Issue 6, "What must hold", point 1.
DETAIL_RPS = 700
LIST_RPS = 400
GEOJSON_RPS = 150
DETAIL_P99_MS = 30
LIST_P99_MS = 50
FLAT_WITHIN = 0.2  # the deepest page's throughput within 20% of the first page's counts as flat

ROUTES = {"ours": "ours", "baseline": "today"}


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def scenario_label(row: dict) -> str:
    if row["figure"] == "detail":
        return "detail"
    if row["figure"] == "geojson":
        return "GeoJSON page of 100"
    return f"list page of 100 @ row {row['depth']:,}"


def table(rows: list[dict]) -> list[str]:
    """Every run, one line each."""
    header = ["scenario", "route", "clients", "req/s", "p50 ms", "p99 ms", "errors", "n"]
    header += ["cpu ms/req", "srv", "db", "gen", "other"]
    body = []
    for row in rows:
        s = row["stats"]
        body.append(
            [
                scenario_label(row),
                ROUTES.get(row["route"], row["route"]),
                str(row["clients"]),
                _fmt(s["rps"], ",.1f"),
                _fmt(s["p50_ms"], ",.1f"),
                _fmt(s["p99_ms"], ",.1f"),
                str(s["errors"]),
                f"{s['requests']:,}",
                _fmt(s.get("cpu_ms_per_request"), ",.1f"),
                _fmt(s.get("server_cpu_cores"), ".2f"),
                _fmt(s.get("database_cpu_cores"), ".2f"),
                _fmt(s.get("client_cpu_cores"), ".2f"),
                _fmt(s.get("other_cpu_cores"), ".2f") + ("*" if s.get("disturbed") else ""),
            ]
        )
    return _layout(header, body, left={0, 1})


def _layout(header: list[str], body: list[list[str]], left: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells):
        cells = zip(cells, widths, strict=True)
        return " | ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(cells)).rstrip()

    return [line(header), "-+-".join("-" * w for w in widths), *(line(r) for r in body)]


def _find(rows: list[dict], kind: str, figure: str, route: str, depth=None) -> dict | None:
    for row in rows:
        same = row["kind"] == kind and row["figure"] == figure and row["route"] == route
        if same and (figure != "list" or row["depth"] == depth):
            return row
    return None


def _stat(row: dict | None, key: str):
    return None if row is None else row["stats"].get(key)


def _disturbed(*rows) -> bool:
    return any(r is not None and r["stats"].get("disturbed") for r in rows)


def target_rows(rows: list[dict]) -> list[dict]:
    """Each of issue 6's targets with the figure of ours and of today's path, and whether ours meets it.

    `passed` is None when the run has no figure for it. Throughput needs 0 errors in that run as well.
    """
    targets = []

    def throughput(label, figure, depth, goal):
        ours, today = (_find(rows, "throughput", figure, route, depth) for route in ("ours", "baseline"))
        if ours is None:
            return
        rps = _stat(ours, "rps")
        targets.append(
            {
                "target": label,
                "goal": f">= {goal:,} req/s",
                "unit": "req/s",
                "ours": rps,
                "today": _stat(today, "rps"),
                "clients": ours["clients"],
                "errors": _stat(ours, "errors"),
                "passed": rps is not None and rps >= goal and not _stat(ours, "errors"),
                "disturbed": _disturbed(ours, today),
            }
        )

    throughput("detail", "detail", None, DETAIL_RPS)
    list_depths = sorted(
        r["depth"] for r in rows if r["kind"] == "throughput" and r["figure"] == "list" and r["route"] == "ours"
    )
    for depth in list_depths:
        throughput(f"list page of 100 @ row {depth:,}", "list", depth, LIST_RPS)
    if len(list_depths) > 1:
        ratios = {}
        for route in ("ours", "baseline"):
            first = _stat(_find(rows, "throughput", "list", route, list_depths[0]), "rps")
            deep = _stat(_find(rows, "throughput", "list", route, list_depths[-1]), "rps")
            ratios[route] = round(deep / first, 2) if first and deep is not None else None
        targets.append(
            {
                "target": f"list flat with depth (row {list_depths[-1]:,} / first)",
                "goal": f"{1 - FLAT_WITHIN:.2f}-{1 + FLAT_WITHIN:.2f}x",
                "unit": "x",
                "ours": ratios["ours"],
                "today": ratios["baseline"],
                "clients": None,
                "errors": None,
                "passed": ratios["ours"] is not None and abs(ratios["ours"] - 1) <= FLAT_WITHIN,
                "disturbed": _disturbed(*(r for r in rows if r["kind"] == "throughput" and r["figure"] == "list")),
            }
        )
    throughput("GeoJSON page of 100", "geojson", 0, GEOJSON_RPS)

    def latency(label, figure, depth, goal):
        ours, today = (_find(rows, "latency", figure, route, depth) for route in ("ours", "baseline"))
        if ours is None:
            return
        p99 = _stat(ours, "p99_ms")
        targets.append(
            {
                "target": label,
                "goal": f"p99 < {goal} ms",
                "unit": "ms",
                "ours": p99,
                "today": _stat(today, "p99_ms"),
                "ours_p50": _stat(ours, "p50_ms"),
                "today_p50": _stat(today, "p50_ms"),
                "clients": ours["clients"],
                "errors": _stat(ours, "errors"),
                "passed": p99 is not None and p99 < goal and not _stat(ours, "errors"),
                "disturbed": _disturbed(ours, today),
            }
        )

    latency("detail latency", "detail", None, DETAIL_P99_MS)
    for depth in sorted(
        r["depth"] for r in rows if r["kind"] == "latency" and r["figure"] == "list" and r["route"] == "ours"
    ):
        latency(f"list latency @ row {depth:,}", "list", depth, LIST_P99_MS)

    errors = {route: sum(r["stats"]["errors"] for r in rows if r["route"] == route) for route in ("ours", "baseline")}
    targets.append(
        {
            "target": "errors, all runs",
            "goal": "0",
            "unit": "",
            "ours": errors["ours"],
            "today": errors["baseline"],
            "clients": None,
            "errors": errors["ours"],
            "passed": errors["ours"] == 0,
            "disturbed": False,
        }
    )
    return targets


def _figure(target: dict, which: str) -> str:
    value = target[which]
    if value is None:
        return "-"
    if target["unit"] == "req/s":
        return f"{value:,.1f} req/s"
    if target["unit"] == "ms":
        p50 = target.get(f"{which}_p50")
        return f"p99 {value:,.1f} ms (p50 {_fmt(p50, ',.1f')})"
    if target["unit"] == "x":
        return f"{value:.2f}x"
    return f"{value:,}"


def targets_table(targets: list[dict]) -> list[str]:
    header = ["target", "clients", "goal", "ours", "today's path", "ours/today", "result"]
    body = []
    for t in targets:
        ratio = "-"
        if t["unit"] == "req/s" and t["ours"] and t["today"]:
            ratio = f"{t['ours'] / t['today']:.1f}x"
        elif t["unit"] == "ms" and t["ours"] and t["today"]:
            ratio = (
                f"{t['today'] / t['ours']:.1f}x faster"
                if t["ours"] <= t["today"]
                else f"{t['ours'] / t['today']:.1f}x slower"
            )
        result = "-" if t["passed"] is None else ("PASS" if t["passed"] else "FAIL")
        if t["disturbed"]:
            result += " *"
        body.append(
            [
                t["target"],
                "-" if t["clients"] is None else str(t["clients"]),
                t["goal"],
                _figure(t, "ours"),
                _figure(t, "today"),
                ratio,
                result,
            ]
        )
    lines = _layout(header, body, left={0, 2, 6})
    passed = sum(1 for t in targets if t["passed"])
    lines.append(
        f"{passed} of {len(targets)} targets met"
        + ("; * = disturbed by other work on the machine (figures low)" if any(t["disturbed"] for t in targets) else "")
    )
    return lines


def reference_lines() -> list[str]:
    return [
        f"Yardstick ({REFERENCE['source']}): detail {REFERENCE['detail']}; cursor list {REFERENCE['cursor']}.",
    ]
