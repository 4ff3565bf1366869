"""The sandbox over HTTPS, driven by the official Python client and by kubectl (as AI advisers use it)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from sandbox.server import SandboxCluster
from tests.support.sandbox_api import CRASHING, DEMO, NOW

KUBECTL = shutil.which("kubectl")


@pytest.fixture
def tls_cluster() -> Iterator[SandboxCluster]:
    assert shutil.which("openssl"), "openssl is missing: scripts/setup installs it"
    started = SandboxCluster.from_dir(DEMO, clock=lambda: NOW).start(tls=True)
    yield started
    started.stop()


def _kubectl(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None, "kubectl is missing: scripts/setup installs it"
    return subprocess.run(
        [KUBECTL, f"--kubeconfig={kubeconfig}", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_python_client_over_tls(tls_cluster: SandboxCluster) -> None:
    assert tls_cluster.url.startswith("https://127.0.0.1:")
    with tls_cluster.api_client() as api:
        assert len(client.CoreV1Api(api).list_namespaced_pod("shop").items) == 3


def test_kubectl_reads_with_the_read_only_context(tls_cluster: SandboxCluster, tmp_path: Path) -> None:
    kubeconfig = tls_cluster.write_kubeconfig(tmp_path / "kubeconfig", token="sandbox-readonly")
    pods = _kubectl(kubeconfig, "get", "pods", "-n", "shop")
    assert pods.returncode == 0, pods.stderr
    header, *rows = pods.stdout.splitlines()
    assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    crashing = next(r.split() for r in rows if r.startswith(CRASHING[0]))
    assert crashing[1:4] == ["0/1", "CrashLoopBackOff", "7"]
    logs = _kubectl(kubeconfig, "logs", "-n", "shop", CRASHING[0], "--previous", "--tail=2")
    assert "DATABASE_URL is not set" in logs.stdout
    denied = _kubectl(kubeconfig, "delete", "pod", "-n", "shop", CRASHING[0])
    assert denied.returncode != 0 and "Forbidden" in denied.stderr
    assert tls_cluster.get("Pod", "shop", CRASHING[0]) is not None


def test_kubectl_rollout_undo_reuses_the_old_replicaset(tls_cluster: SandboxCluster, tmp_path: Path) -> None:
    kubeconfig = tls_cluster.write_kubeconfig(tmp_path / "kubeconfig")
    undo = _kubectl(kubeconfig, "rollout", "undo", "deployment/checkout", "-n", "shop")
    assert undo.returncode == 0, undo.stderr
    old = tls_cluster.get("ReplicaSet", "shop", "checkout-6d4b9f7c58")
    assert old is not None and old["spec"]["replicas"] == 2
    assert old["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    status = _kubectl(kubeconfig, "rollout", "status", "deployment/checkout", "-n", "shop", "--timeout=10s")
    assert "successfully rolled out" in status.stdout
