"""The printed table, the verdict on pagination depth, and the yardstick figures from PERFORMANCE.md."""

# /work/shared/PERFORMANCE.md, "HTTP (gunicorn, 2 workers, DRF over a 1,000,000-row table)".
REFERENCE = {
    "source": "PERFORMANCE.md: gunicorn, 2 workers, DRF over a 1,000,000-row table, same 2-core machine kind",
    "detail": "1,066 req/s, p99 6 ms (bare: no auth)",
    "cursor": "~570 req/s at any depth, p99 <= 15 ms",
    "offset first": "25 req/s (COUNT(*) over 1M rows)",
    "offset deep": "9.6 req/s, p99 856 ms (near the end of 1M rows)",
}

FLAT_WITHIN = 0.2  # deep/first throughput within 20% of 1 counts as flat


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(rows: list[dict]) -> list[str]:
    header = ["scenario", "pagination", "depth", "req/s", "p50 ms", "p99 ms", "errors", "n"]
    header += ["cpu ms/req", "srv", "db", "gen", "other"]
    body = []
    for row in rows:
        s = row["stats"]
        body.append(
            [
                row["scenario"],
                row["pagination"],
                "-" if row["depth"] is None else f"{row['depth']:,}",
                _fmt(s["rps"], ",.1f"),
                _fmt(s["p50_ms"], ",.1f"),
                _fmt(s["p99_ms"], ",.1f"),
                str(s["errors"]),
                f"{s['requests']:,}",
                _fmt(s.get("cpu_ms_per_request"), ",.1f"),
                _fmt(s["server_cpu_cores"], ".2f"),
                _fmt(s.get("database_cpu_cores"), ".2f"),
                _fmt(s["client_cpu_cores"], ".2f"),
                _fmt(s.get("other_cpu_cores"), ".2f") + ("*" if s.get("disturbed") else ""),
            ]
        )
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    left = {0, 1}

    def line(cells):
        cells = zip(cells, widths, strict=True)
        return " | ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(cells))

    return [line(header), "-+-".join("-" * w for w in widths), *(line(r) for r in body)]


def depth_ratio(rows: list[dict], pagination: str) -> dict | None:
    """The deepest page relative to the first page, for one pagination: throughput, p50, CPU per request."""
    mine = [r for r in rows if r["scenario"] == "list" and r["pagination"] == pagination]
    first = next((r for r in mine if r["depth"] == 0), None)
    deep = max((r for r in mine if r["depth"]), key=lambda r: r["depth"], default=None)
    if first is None or deep is None or not first["stats"]["rps"] or not first["stats"]["p50_ms"]:
        return None
    f, d = first["stats"], deep["stats"]
    cpu_first, cpu_deep = f.get("cpu_ms_per_request"), d.get("cpu_ms_per_request")
    cpu = cpu_deep / cpu_first if cpu_first and cpu_deep else None
    return {
        "depth": deep["depth"],
        "rps_ratio": round(d["rps"] / f["rps"], 3),
        "p50_ratio": round(d["p50_ms"] / f["p50_ms"], 3),
        "cpu_ratio": None if cpu is None else round(cpu, 3),
        "disturbed": bool(f.get("disturbed") or d.get("disturbed")),
    }


def verdict(rows: list[dict]) -> tuple[str, dict]:
    cursor, offset = depth_ratio(rows, "cursor"), depth_ratio(rows, "offset")
    if cursor is None or offset is None:
        return "verdict: not enough list scenarios to compare depths", {"cursor": cursor, "offset": offset}
    flat = abs(cursor["rps_ratio"] - 1) <= FLAT_WITHIN
    cursor["flat"] = flat

    def part(name, r):
        cpu = "" if r["cpu_ratio"] is None else f", {r['cpu_ratio']:.2f}x CPU/request"
        return f"{name} deep/first = {r['rps_ratio']:.2f}x req/s, {r['p50_ratio']:.2f}x p50{cpu} at row {r['depth']:,}"

    text = f"verdict: {part('cursor', cursor)} -> {'FLAT' if flat else 'NOT FLAT'}; {part('offset', offset)}"
    if cursor["disturbed"] or offset["disturbed"]:
        text += " (!! disturbed by other work on the machine: not conclusive, run again on a quiet machine)"
    return text, {"cursor": cursor, "offset": offset}


def reference_lines(rows: list[dict], parcels: int) -> list[str]:
    def pick(scenario, pagination, depth_kind):
        mine = [r for r in rows if r["scenario"] == scenario and r["pagination"] == pagination]
        if depth_kind == "first":
            mine = [r for r in mine if r["depth"] in (0, None)]
        elif depth_kind == "deep":
            mine = sorted((r for r in mine if r["depth"]), key=lambda r: r["depth"])[-1:]
        if not mine:
            return "-"
        parts = []
        for r in mine:
            s = r["stats"]
            where = "" if r["depth"] in (0, None) else f" @ row {r['depth']:,}"
            parts.append(f"{s['rps']:,.1f} req/s, p99 {_fmt(s['p99_ms'], ',.1f')} ms{where}")
        return "; ".join(parts)

    cursor_all = [r for r in rows if r["scenario"] == "list" and r["pagination"] == "cursor"]
    cursor_text = "; ".join(
        f"{r['stats']['rps']:,.1f} req/s p99 {_fmt(r['stats']['p99_ms'], ',.1f')} ms @ row {r['depth']:,}"
        for r in cursor_all
    )
    return [
        f"Reference ({REFERENCE['source']}) beside ours ({parcels:,} parcels, JWT auth + county RBAC, page 100):",
        f"  detail        ref {REFERENCE['detail']:<48} ours {pick('detail', '-', 'any')}",
        f"  cursor list   ref {REFERENCE['cursor']:<48} ours {cursor_text or '-'}",
        f"  offset first  ref {REFERENCE['offset first']:<48} ours {pick('list', 'offset', 'first')}",
        f"  offset deep   ref {REFERENCE['offset deep']:<48} ours {pick('list', 'offset', 'deep')}",
        "  (figures are measured, not asserted: no pass/fail on speed)",
    ]
