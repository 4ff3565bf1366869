"""Loading scenario folders: schema rejection naming file and field, and each outcome state's behaviour."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from sandbox.errors import ScenarioError
from sandbox.server import SandboxCluster
from tests.support.sandbox_api import NOW, app_patch

ROOT = Path(__file__).resolve().parents[3]


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_invalid_manifest_names_file_object_and_field(demo_dir: Path) -> None:
    _write(
        demo_dir,
        "broken.yaml",
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: broken, namespace: shop}
        spec:
          replicas: two
          selector: {matchLabels: {app: broken}}
          template:
            metadata: {labels: {app: broken}}
            spec:
              containers: [{name: app, image: x}]
    """,
    )
    with pytest.raises(ScenarioError) as err:
        SandboxCluster.from_dir(demo_dir)
    [problem] = err.value.problems
    assert str(demo_dir / "broken.yaml") in problem
    assert "Deployment shop/broken" in problem and "spec.replicas" in problem


def test_unknown_kind_unknown_field_and_bad_scenario_are_all_reported(demo_dir: Path) -> None:
    _write(
        demo_dir,
        "extra.yaml",
        """
        apiVersion: example.com/v1
        kind: Widget
        metadata: {name: w}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c, namespace: shop}
        dta: {a: b}
    """,
    )
    scenario = yaml.safe_load((demo_dir / "scenario.yaml").read_text())
    scenario["outcomes"][0]["cases"][0]["state"] = "exploded"
    (demo_dir / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    with pytest.raises(ScenarioError) as err:
        SandboxCluster.from_dir(demo_dir)
    assert any("state 'exploded'" in p for p in err.value.problems)
    (demo_dir / "scenario.yaml").unlink()
    with pytest.raises(ScenarioError) as err:
        SandboxCluster.from_dir(demo_dir)
    text = "\n".join(err.value.problems)
    assert "Widget 'w' is not a kind the sandbox serves" in text
    assert 'ConfigMap shop/c: dta: unknown field "dta"' in text


def test_empty_folder_is_a_minimal_cluster(tmp_path: Path) -> None:
    cluster = SandboxCluster.from_dir(tmp_path)
    assert cluster.scenario == {}
    assert [n["metadata"]["name"] for n in cluster.list("Node")] == ["sandbox-node-1"]
    assert {ns["metadata"]["name"] for ns in cluster.list("Namespace")} >= {"default", "kube-system"}


OUTCOMES = """
    restart_period_s: 5
    outcomes:
      - deployment: lab/api
        container: app
        cases:
          - when: {memory_limit_at_least: 512Mi, has_startup_probe: true}
            state: running
          - when: {memory_limit_at_least: 512Mi, configmap_exists: true}
            state: probe_killed
          - when: {memory_limit_at_least: 512Mi}
            state: config_error
          - when: {image_not: "api:*"}
            state: image_pull
            message: 'rpc error: code = NotFound desc = manifest unknown'
          - state: oom_killed
            usage: {memory: 256Mi}
            log: "java.lang.OutOfMemoryError: Java heap space"
"""
API = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: lab}
    spec:
      replicas: 1
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          containers:
            - name: app
              image: api:1.0
              envFrom: [{configMapRef: {name: api-config}}]
              resources: {limits: {memory: 256Mi}}
              livenessProbe: {httpGet: {path: /healthz, port: 8080}}
"""


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[SandboxCluster, client.CoreV1Api, client.AppsV1Api]]:
    _write(tmp_path, "scenario.yaml", OUTCOMES)
    _write(tmp_path, "api.yaml", API)
    cluster = SandboxCluster.from_dir(tmp_path, clock=lambda: NOW).start()
    with cluster.api_client() as api:
        yield cluster, client.CoreV1Api(api), client.AppsV1Api(api)
    cluster.stop()


def _state(core: client.CoreV1Api) -> tuple[client.V1Pod, client.V1ContainerStatus, set[str]]:
    [pod] = core.list_namespaced_pod("lab").items
    events = core.list_namespaced_event(
        "lab", field_selector=f"involvedObject.name={pod.metadata.name}"
    ).items
    return pod, pod.status.container_statuses[0], {f"{e.reason}: {e.message}" for e in events}


def _set_container(apps: client.AppsV1Api, **fields: object) -> None:
    apps.patch_namespaced_deployment("api", "lab", app_patch(**fields))


def test_each_outcome_state(lab: tuple[SandboxCluster, client.CoreV1Api, client.AppsV1Api]) -> None:
    cluster, core, apps = lab
    pod, status, events = _state(core)
    assert (
        status.last_state.terminated.reason == "OOMKilled" and status.last_state.terminated.exit_code == 137
    )
    assert "BackOff" in {e.split(":")[0] for e in events}
    oom = core.list_namespaced_event("default", field_selector="reason=OOMKilling").items
    assert oom and oom[0].involved_object.kind == "Node"
    assert core.read_namespaced_pod_log(pod.metadata.name, "lab", previous=True).startswith(
        "java.lang.OutOfMemory"
    )
    cluster.advance(10)
    assert _state(core)[1].restart_count == status.restart_count + 2

    _set_container(apps, image="registry.invalid/api:1.0")
    pod, status, events = _state(core)
    assert pod.status.phase == "Pending" and status.state.waiting.reason == "ImagePullBackOff"
    assert "Failed: Error: ErrImagePull" in events
    assert any("manifest unknown" in e for e in events)

    _set_container(apps, image="api:1.1", resources={"limits": {"memory": "1Gi"}})
    pod, status, events = _state(core)
    assert status.state.waiting.reason == "CreateContainerConfigError"
    assert 'Failed: Error: configmap "api-config" not found' in events
    with pytest.raises(client.ApiException) as err:
        core.read_namespaced_pod_log(pod.metadata.name, "lab")
    assert "is waiting to start: CreateContainerConfigError" in err.value.body

    core.create_namespaced_config_map("lab", {"metadata": {"name": "api-config"}, "data": {"MODE": "prod"}})
    core.delete_namespaced_pod(pod.metadata.name, "lab")
    pod, status, events = _state(core)
    assert status.state.waiting.reason == "CrashLoopBackOff" and status.last_state.terminated.exit_code == 137
    assert "Unhealthy: Liveness probe failed: HTTP probe failed with statuscode: 503" in events

    _set_container(apps, startupProbe={"httpGet": {"path": "/healthz", "port": 8080}, "failureThreshold": 30})
    pod, status, _ = _state(core)
    assert status.ready and pod.status.phase == "Running"


def test_serve_prints_url_writes_kubeconfig_and_stops_on_sigterm(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    code = "from sandbox.server import serve; import sys; serve(sys.argv[1], 0, sys.argv[2])"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(ROOT / "sandbox" / "scenarios" / "demo-crashloop"), str(kubeconfig)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "http://127.0.0.1:" in first
        assert "kubeconfig written" in proc.stdout.readline()
        server = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
        assert server in first
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
