"""``aiops rightsize`` as a user runs it, on the sandbox with a real Prometheus holding eight days of
backfilled history: the JSON contract, each guard with its reason, start-up peaks, HPAs, a
multi-container pod, a StatefulSet, and the md and csv formats."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from tests.support import rightsizing
from workers.integrations.kubernetes.quantities import parse_quantity

FIELDS = {
    "namespace",
    "kind",
    "name",
    "container",
    "current",
    "recommended",
    "percentiles",
    "margin",
    "days_of_data",
    "savings",
    "backtest",
    "status",
}
RESOURCE_KEYS = {"cpu_request", "cpu_limit", "memory_request", "memory_limit"}
MI = 2**20


class Parts:
    def __init__(self, backfilled: rightsizing.Backfilled, kubeconfig: Path) -> None:
        self.backfilled, self.kubeconfig = backfilled, kubeconfig

    def run(self, *args: str) -> tuple[int, str, str]:
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "PROMETHEUS_URL": self.backfilled.prometheus.url,
            "AIOPS_CONFIG": "",
            "AIOPS_PROMETHEUS_TIMEOUT_S": "30",
        }
        done = subprocess.run(
            [str(Path(sys.executable).with_name("aiops")), "rightsize", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=170,
            check=False,
        )
        return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parts]:
    workdir = tmp_path_factory.mktemp("rightsizing")
    backfilled = rightsizing.start(workdir)
    try:
        yield Parts(backfilled, backfilled.cluster.write_kubeconfig(workdir / "kubeconfig"))
    finally:
        rightsizing.stop(backfilled)


@pytest.fixture(scope="module")
def rows(parts: Parts) -> dict[tuple[str, str], dict[str, Any]]:
    code, out, err = parts.run("--namespace", "shop", "--format", "json")
    assert code == 0, err
    data: list[dict[str, Any]] = json.loads(out)
    return {(row["name"], row["container"]): row for row in data}


def q(text: str | None) -> Fraction:
    assert text is not None
    return parse_quantity(text)


def test_every_container_has_the_contract_fields(rows: dict[tuple[str, str], dict[str, Any]]) -> None:
    assert set(rows) >= {("api", "app"), ("web", "app"), ("web", "logs"), ("db", "app"), ("young", "app")}
    for row in rows.values():
        assert set(row) >= FIELDS, row
        assert set(row["current"]) == set(row["recommended"]) == RESOURCE_KEYS
        for resource in ("cpu", "memory"):
            assert set(row["percentiles"][resource]) == {"p50", "p95", "p99", "max"}
        assert {"cpu_request_pct", "memory_request_pct", "monthly"} <= set(row["savings"])
        assert {"oom", "throttled"} <= set(row["backtest"])
        assert row["margin"] >= 0.30
        for value in [*row["current"].values(), *row["recommended"].values()]:
            assert value is None or isinstance(parse_quantity(value), Fraction), value


def test_over_provisioned_workload_gets_p95_plus_the_margin(
    rows: dict[tuple[str, str], dict[str, Any]],
) -> None:
    api = rows[("api", "app")]
    assert api["status"] == "ok" and api["days_of_data"] == 7.0
    p = api["percentiles"]
    assert q(p["cpu"]["p50"]) <= q(p["cpu"]["p95"]) <= q(p["cpu"]["p99"]) <= q(p["cpu"]["max"])
    cpu = q(api["recommended"]["cpu_request"])
    assert (
        q(p["cpu"]["p95"]) * Fraction(13, 10) - Fraction(2, 1000) <= cpu
    )  # the p95 shown is rounded up to 1m
    assert cpu <= q(p["cpu"]["p95"]) * Fraction(13, 10) + Fraction(5, 1000)
    assert cpu % Fraction(5, 1000) == 0, "CPU is rounded to 5m"
    memory = q(api["recommended"]["memory_request"])
    assert q(p["memory"]["p95"]) * Fraction(13, 10) <= memory + 1024
    assert memory % MI == 0, "memory is rounded to Mi"
    assert q(api["recommended"]["memory_limit"]) >= q(p["memory"]["max"]) * Fraction(13, 10) - 1024
    assert api["savings"]["cpu_request_pct"] > 40 and api["savings"]["monthly"] > 0
    assert api["backtest"] == {**api["backtest"], "oom": False, "throttled": False}
    assert "× (1 + 0.30)" in api["arithmetic"]["cpu_request"]


def test_less_than_seven_days_is_not_proposed_and_says_how_much(
    rows: dict[tuple[str, str], dict[str, Any]],
) -> None:
    young = rows[("young", "app")]
    assert young["status"] == "insufficient_data"
    assert young["days_of_data"] == pytest.approx(2.0, abs=0.05)
    assert "2.0 days of data; 7 are needed" in young["reason"]


def test_oom_kill_in_the_window_never_lowers_memory(rows: dict[tuple[str, str], dict[str, Any]]) -> None:
    worker = rows[("worker", "app")]
    assert q(worker["recommended"]["memory_request"]) >= q(worker["current"]["memory_request"])
    assert q(worker["recommended"]["memory_limit"]) > q(worker["current"]["memory_limit"]), (
        "OOM: the limit rises"
    )
    reasons = [g["reason"] for g in worker["guards"] if g["guard"] == "stability"]
    assert reasons == ["1 restart(s) and 1 OOM kill(s) in the window: memory is never lowered"]
    assert q(worker["recommended"]["cpu_request"]) < q(worker["current"]["cpu_request"]), "CPU still shrinks"


def test_start_up_peaks_stay_under_the_limit_but_out_of_the_percentiles(
    rows: dict[tuple[str, str], dict[str, Any]],
) -> None:
    boot = rows[("boot", "app")]
    assert boot["status"] == "ok"
    peak = q(boot["percentiles"]["memory"]["max"])
    assert peak == pytest.approx(400 * MI, rel=0.02), "×4 for a few minutes after each start"
    assert q(boot["percentiles"]["memory"]["p99"]) == pytest.approx(100 * MI, rel=0.02)
    assert q(boot["recommended"]["memory_limit"]) >= peak * Fraction(13, 10) - 1024
    assert q(boot["recommended"]["memory_request"]) < 200 * MI


def test_hpa_on_cpu_is_retargeted_to_keep_its_scale_point(
    rows: dict[tuple[str, str], dict[str, Any]],
) -> None:
    front = rows[("front", "app")]
    assert front["status"] == "ok"
    new = q(front["recommended"]["cpu_request"])
    expected = round(40 * Fraction(1, 2) / new)
    assert front["hpa"] == {
        "name": "front",
        "metric": "cpu",
        "current_target_utilization": 40,
        "recommended_target_utilization": expected,
    }
    assert any("its target becomes" in g["reason"] for g in front["guards"] if g["guard"] == "hpa")


def test_hpa_target_outside_the_range_is_refused_with_the_reason(
    rows: dict[tuple[str, str], dict[str, Any]],
) -> None:
    edge = rows[("edge", "app")]
    assert edge["status"] == "hpa_managed"
    assert "HPA edge scales on cpu at 20 %" in edge["reason"] and "outside 10-95 %" in edge["reason"]
    assert edge["hpa"]["current_target_utilization"] == 20
    assert edge["hpa"]["recommended_target_utilization"] > 95


def test_change_under_the_hysteresis_is_no_change(rows: dict[tuple[str, str], dict[str, Any]]) -> None:
    steady = rows[("steady", "app")]
    assert steady["status"] == "no_change"
    assert steady["reason"] == "every change is under 10 % (hysteresis)"
    assert steady["recommended"] == steady["current"]


def test_multi_container_pod_is_sized_per_container(rows: dict[tuple[str, str], dict[str, Any]]) -> None:
    app, logs = rows[("web", "app")], rows[("web", "logs")]
    assert app["status"] == logs["status"] == "ok"
    assert q(logs["recommended"]["cpu_request"]) < q(app["recommended"]["cpu_request"])
    assert q(logs["percentiles"]["memory"]["p95"]) == pytest.approx(42 * 2**20, rel=0.05)


def test_statefulset_is_sized_like_a_deployment(rows: dict[tuple[str, str], dict[str, Any]]) -> None:
    db = rows[("db", "app")]
    assert db["kind"] == "StatefulSet" and db["status"] == "ok"
    assert q(db["recommended"]["cpu_request"]) < q(db["current"]["cpu_request"])


def test_one_workload_in_markdown_and_csv(parts: Parts) -> None:
    code, out, err = parts.run("--namespace", "shop", "--workload", "deploy/api", "--format", "md")
    assert code == 0, err
    assert out.startswith("# Right-sizing report")
    assert "## Deployment shop/api, container app: ok" in out and "Backtest: OOM False" in out
    assert "shop/web" not in out
    code, out, err = parts.run("--namespace", "shop", "--workload", "StatefulSet/db", "--format", "csv")
    assert code == 0, err
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["kind"] == "StatefulSet" and row["status"] == "ok" and row["percentiles.cpu.p95"]


def test_unknown_workload_and_bad_arguments(parts: Parts) -> None:
    code, _, err = parts.run("--namespace", "shop", "--workload", "Deployment/nope")
    assert code == 1 and "Deployment shop/nope not found" in err
    code, _, err = parts.run("--namespace", "shop", "--workload", "Job/x")
    assert code == 2 and "kind must be one of Deployment, StatefulSet, DaemonSet" in err


def test_recommendation_that_fails_its_backtest_is_not_proposed(
    rows: dict[tuple[str, str], dict[str, Any]],
) -> None:
    late = rows[("late", "app")]
    assert late["status"] == "backtest_failed"
    assert late["backtest"]["oom"] is True and late["backtest"]["throttled"] is False
    assert "working set above the fitted memory limit" in late["reason"]
    assert q(late["backtest"]["checked"]["memory_max"]) > q(late["backtest"]["fitted"]["memory_limit"])
    # Sized on the whole window, the limit would hold the peak; the fit on the first six days would not.
    assert q(late["recommended"]["memory_limit"]) >= q(late["percentiles"]["memory"]["max"])
