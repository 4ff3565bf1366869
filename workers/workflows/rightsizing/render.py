"""The right-sizing report as people and spreadsheets read it: a flat list of containers (JSON), a
markdown page with the arithmetic and the guards, or CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

CSV_COLUMNS = (
    "namespace",
    "kind",
    "name",
    "container",
    "status",
    "current.cpu_request",
    "recommended.cpu_request",
    "current.cpu_limit",
    "recommended.cpu_limit",
    "current.memory_request",
    "recommended.memory_request",
    "current.memory_limit",
    "recommended.memory_limit",
    "percentiles.cpu.p50",
    "percentiles.cpu.p95",
    "percentiles.cpu.p99",
    "percentiles.cpu.max",
    "percentiles.memory.p50",
    "percentiles.memory.p95",
    "percentiles.memory.p99",
    "percentiles.memory.max",
    "margin",
    "days_of_data",
    "savings.cpu_request_pct",
    "savings.memory_request_pct",
    "savings.monthly",
    "backtest.oom",
    "backtest.throttled",
    "hpa.name",
    "hpa.current_target_utilization",
    "hpa.recommended_target_utilization",
    "reason",
)


def containers(results: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The JSON of ``aiops rightsize``: one entry per container of every workload."""
    return [container for result in results for container in result["containers"]]


def _get(row: dict[str, Any], dotted: str) -> Any:
    value: Any = row
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(["" if _get(row, c) is None else _get(row, c) for c in CSV_COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> str:
    return "—" if value is None else str(value)


def markdown(rows: list[dict[str, Any]]) -> str:
    """Summary table, then per container the percentiles, the arithmetic, the backtest and the guards."""
    lines = ["# Right-sizing report", ""]
    if not rows:
        return "\n".join([*lines, "No workloads found.", ""])
    ok = [r for r in rows if r["status"] == "ok"]
    total = round(sum(r["savings"].get("monthly") or 0.0 for r in ok), 2)
    currency = next((r["savings"].get("currency") for r in rows if r.get("savings")), "USD")
    lines += [
        f"{len(rows)} container(s); {len(ok)} with a recommendation to apply; "
        f"requests worth {total:+.2f} {currency}/month saved if all are applied.",
        "",
        "| workload | container | status | CPU request | memory request | memory limit | CPU limit "
        "| saved/month |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cur, new = r["current"], r["recommended"]
        lines.append(
            f"| {r['kind']}/{r['namespace']}/{r['name']} | {r['container']} | {r['status']} | "
            f"{_cell(cur['cpu_request'])} → {_cell(new['cpu_request'])} | "
            f"{_cell(cur['memory_request'])} → {_cell(new['memory_request'])} | "
            f"{_cell(cur['memory_limit'])} → {_cell(new['memory_limit'])} | "
            f"{_cell(cur['cpu_limit'])} → {_cell(new['cpu_limit'])} | "
            f"{_cell((r.get('savings') or {}).get('monthly'))} |"
        )
    for r in rows:
        p, data = r["percentiles"], r["data"]
        lines += [
            "",
            f"## {r['kind']} {r['namespace']}/{r['name']}, container {r['container']}: {r['status']}",
            "",
            r["reason"],
            "",
            f"{r['days_of_data']} days of data (window {data['window_days']} d, step {data['step']}, "
            f"{data['points']} memory samples from {data['pods']} pod(s); the first "
            f"{data['startup_excluded_minutes']} min after each start left out of the percentiles); "
            f"{data['restarts']} restart(s), {data['oom_kills']} OOM kill(s).",
            "",
            "| | p50 | p95 | p99 | max |",
            "|---|---|---|---|---|",
            f"| CPU | {_cell(p['cpu']['p50'])} | {_cell(p['cpu']['p95'])} | {_cell(p['cpu']['p99'])} | "
            f"{_cell(p['cpu']['max'])} |",
            f"| memory | {_cell(p['memory']['p50'])} | {_cell(p['memory']['p95'])} | "
            f"{_cell(p['memory']['p99'])} | {_cell(p['memory']['max'])} |",
        ]
        if r.get("arithmetic"):
            lines += ["", f"Margin {r['margin']:.2f}:", ""]
            lines += [f"- {name}: {text}" for name, text in r["arithmetic"].items()]
        s = r.get("savings") or {}
        if s:
            lines += [
                "",
                f"Savings: CPU request {_cell(s.get('cpu_request_pct'))} %, memory request "
                f"{_cell(s.get('memory_request_pct'))} %, {_cell(s.get('monthly'))} "
                f"{s.get('currency')}/month over {s.get('replicas')} replica(s).",
            ]
        b = r.get("backtest") or {}
        if b:
            lines += [
                "",
                f"Backtest: OOM {_cell(b.get('oom'))}, throttled {_cell(b.get('throttled'))} "
                f"({b.get('detail')}).",
            ]
        if r.get("hpa"):
            h = r["hpa"]
            lines += [
                "",
                f"HPA {h['name']} ({h.get('metric')}): target {h['current_target_utilization']} % → "
                f"{h['recommended_target_utilization']} %.",
            ]
        if r.get("guards"):
            lines += ["", "Guards:", ""]
            lines += [f"- {g['guard']}: {g['reason']}" for g in r["guards"]]
    return "\n".join(lines) + "\n"
