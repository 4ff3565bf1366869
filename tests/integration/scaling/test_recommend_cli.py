"""``aiops scaling recommend`` on the sandbox with a real Prometheus holding a week of backfilled history.

Each test copies a scenario of ``sandbox/scenarios/scaling-*``, writes its ``scenario.yaml`` (history,
HPA sync) and runs the CLI as a user does, with KUBECONFIG and PROMETHEUS_URL pointing at the parts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox import history
from sandbox.localprom import start_prometheus, wait_for_series
from sandbox.server import SandboxCluster
from tests.support.scaling import FOREIGN_HPA, KEDA, SCENARIO, SCENARIOS


class Parts:
    def __init__(self, cluster: SandboxCluster, prometheus_url: str, kubeconfig: Path) -> None:
        self.cluster, self.prometheus_url, self.kubeconfig = cluster, prometheus_url, kubeconfig

    def recommend(self, deployment: str = "web", fmt: str = "json") -> tuple[int, str, str]:
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "PROMETHEUS_URL": self.prometheus_url,
            "AIOPS_CONFIG": "",
        }
        argv = [str(Path(sys.executable).with_name("aiops")), "scaling", "recommend", "--namespace", "shop"]
        done = subprocess.run(
            [*argv, "--deployment", deployment, "--format", fmt],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return done.returncode, done.stdout, done.stderr

    def result(self, deployment: str = "web") -> dict[str, Any]:
        code, out, err = self.recommend(deployment)
        assert code == 0, err
        data: dict[str, Any] = json.loads(out)
        return data


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[Callable[..., Parts]]:
    stops: list[Callable[[], None]] = []

    def start(scenario: str = "scaling-web", edit: Callable[[Path], None] | None = None) -> Parts:
        folder = Path(shutil.copytree(SCENARIOS / scenario, tmp_path / scenario))
        (folder / "scenario.yaml").write_text(textwrap.dedent(SCENARIO))
        if edit is not None:
            edit(folder)
        cluster = SandboxCluster.from_dir(folder).start()  # the wall clock, as Prometheus
        stops.append(cluster.stop)
        target = cluster.url.removeprefix("http://")
        result = history.backfill(
            cluster.store, cluster.scenario, tmp_path / "prom" / "data", instance=target
        )
        prometheus = start_prometheus(tmp_path / "prom", [target], data_dir=result.data_dir)
        stops.append(prometheus.stop)
        wait_for_series(prometheus, 'kube_pod_owner{namespace="shop"}', samples=2, window="30s")
        wait_for_series(
            prometheus, 'container_cpu_usage_seconds_total{namespace="shop"}', samples=2, window="30s"
        )
        return Parts(cluster, prometheus.url, cluster.write_kubeconfig(tmp_path / "kubeconfig"))

    yield start
    for stop in reversed(stops):
        stop()


def _add(folder: Path, name: str, *docs: dict[str, Any]) -> None:
    (folder / name).write_text(yaml.safe_dump_all(docs))


def test_recommendation_json_with_capacity_cost_and_replay(parts: Callable[..., Parts]) -> None:
    result = parts().result()
    assert result["status"] == "ok" and result["action"] == "create-hpa"
    assert (result["namespace"], result["deployment"], result["current_replicas"]) == ("shop", "web", 3)
    assert result["target_utilization"] == 0.7
    assert result["usage"]["per_pod_5m_cores"] == pytest.approx(0.45, abs=0.06)
    # ceil(3 × 0.9 / 0.7) = 4 now; the 2.7-core peak × 1.2 headroom at 350m a pod: 10.
    assert (result["min_replicas"], result["desired_replicas"], result["max_replicas"]) == (3, 4, 10)
    assert result["usage"]["window_s"] >= 6 * 86400
    assert result["capacity"]["fits"] is True and result["capacity"]["shortfall"] is None
    assert result["capacity"]["placeable_replicas"] == 16  # 8 cores of N−1 at 500m a pod
    one = (0.5 * 0.031611 + 0.25 * 0.004237) * 730
    cost = result["cost"]
    assert cost["currency"] == "USD" and cost["monthly_delta_min"] == 0.0
    assert cost["monthly_delta_expected"] == pytest.approx(one, abs=0.01)
    assert cost["monthly_delta_max"] == pytest.approx(7 * one, abs=0.01)
    replay = result["replay"]
    assert len(replay["hours"]) >= 24 * 6
    assert replay["peak_replicas"] > 4 and all(
        3 <= h["replicas_min"] <= h["replicas_max"] <= 10 for h in replay["hours"]
    )
    assert [p["name"] for p in result["pdbs"]] == ["web"]


def test_markdown_and_a_workload_that_does_not_exist(parts: Callable[..., Parts]) -> None:
    started = parts()
    code, out, _ = started.recommend(fmt="md")
    assert code == 0 and "create an HPA for shop/web: min 3, max 10" in out and "## Replay" in out
    code, out, err = started.recommend("gone")
    assert code == 1 and out == "" and "deployment shop/gone not found" in err


def test_capacity_bounds_the_max_and_states_the_shortfall(parts: Callable[..., Parts]) -> None:
    result = parts("scaling-capacity-bound").result()
    assert result["status"] == "ok" and result["bounded_by_capacity"] is True
    assert (result["max_replicas"], result["unbounded_max_replicas"]) == (8, 10)  # N−1 = 4 cores
    shortfall = result["capacity"]["shortfall"]
    assert shortfall["replicas"] == 2 and shortfall["cpu_cores"] == 1.0
    assert "nodes are needed" in shortfall["detail"]


def test_keda_managed_workload_is_refused(parts: Callable[..., Parts]) -> None:
    result = parts(edit=lambda folder: _add(folder, "keda.yaml", KEDA)).result()
    assert result["action"] == "none" and result["refusal"] == "keda"
    assert "scaled by KEDA (ScaledObject web-queue)" in result["status"]


def test_hpa_not_ours_is_refused(parts: Callable[..., Parts]) -> None:
    result = parts(edit=lambda folder: _add(folder, "hpa.yaml", FOREIGN_HPA)).result()
    assert result["action"] == "none" and result["refusal"] == "foreign-hpa"
    assert "HPA web-team, which aiops-responder did not create" in result["status"]


def test_metrics_api_missing_means_no_hpa(parts: Callable[..., Parts]) -> None:
    result = parts(edit=lambda folder: (folder / "metrics-api.yaml").unlink()).result()
    assert result["action"] == "none" and result["refusal"] == "no-metrics-api"
    assert "APIService v1beta1.metrics.k8s.io is not registered" in result["status"]
    assert result["max_replicas"] == 10  # the recommendation is still shown


def test_no_cpu_requests_means_no_action_and_a_runbook(parts: Callable[..., Parts]) -> None:
    def no_requests(folder: Path) -> None:
        text = (
            (folder / "workload.yaml")
            .read_text()
            .replace("requests: {cpu: 500m, memory: 256Mi}", "requests: {memory: 256Mi}")
        )
        (folder / "workload.yaml").write_text(text)

    result = parts(edit=no_requests).result()
    assert result["action"] == "none" and result["refusal"] == "no-cpu-requests"
    assert result["runbook"] == "docs/runbooks/scaling-decision.md" and result["max_replicas"] is None


def test_our_hpa_at_its_max_gets_a_higher_max(parts: Callable[..., Parts]) -> None:
    ours = {
        **FOREIGN_HPA,
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "labels": {"aiops.dev/managed-by": "aiops-responder"},
        },
    }
    result = parts(edit=lambda folder: _add(folder, "hpa.yaml", ours)).result()
    assert result["existing_hpa"]["ours"] is True and result["existing_hpa"]["max_replicas"] == 3
    assert result["status"] == "ok" and result["action"] == "patch-hpa" and result["hpa_name"] == "web"
    assert (result["min_replicas"], result["max_replicas"]) == (3, 10)
    assert result["capacity"]["fits"] is True
