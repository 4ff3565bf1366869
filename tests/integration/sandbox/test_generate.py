"""The large-cluster generator: its CLI, determinism, and a cluster that loads, validates and serves."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from sandbox.server import SandboxCluster
from tests.support.sandbox_api import NOW

ROOT = Path(__file__).resolve().parents[3]
SIZE = ("--pods", "400", "--nodes", "12", "--rbac", "90")


def _generate(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "sandbox.generate", str(out), *args, "--now", NOW.isoformat()]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def _tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*.yaml"))}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated") / "cluster"
    done = _generate(out, *SIZE, "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("wrote ") and "400 Pod," in done.stdout
    return out


@pytest.fixture(scope="module")
def served(generated: Path) -> Iterator[client.ApiClient]:
    cluster = SandboxCluster.from_dir(generated, clock=lambda: NOW).start()  # loading validates every object
    with cluster.api_client() as api:
        yield api
    cluster.stop()


def test_same_seed_same_files_other_seed_other_files(generated: Path, tmp_path: Path) -> None:
    assert _generate(tmp_path / "again", *SIZE, "--seed", "3").returncode == 0
    assert _generate(tmp_path / "other", *SIZE, "--seed", "4").returncode == 0
    assert _tree(tmp_path / "again") == _tree(generated)
    assert _tree(tmp_path / "other") != _tree(generated)
    assert {"cluster.yaml", "rbac.yaml"} <= set(_tree(generated))


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    done = _generate(tmp_path / "x", "--pods", "-1")
    assert done.returncode == 2 and "--pods must be >= 0" in done.stderr
    assert not (tmp_path / "x").exists()


def test_sizes_and_a_realistic_mix_of_pods_and_nodes(served: client.ApiClient) -> None:
    core = client.CoreV1Api(served)
    pods = core.list_pod_for_all_namespaces().items
    nodes = core.list_node().items
    assert len(pods) == 400 and len(nodes) == 12
    waiting = Counter(
        c.state.waiting.reason for p in pods for c in p.status.container_statuses or [] if c.state.waiting
    )
    assert waiting["CrashLoopBackOff"] >= 2 and waiting["ImagePullBackOff"] >= 1
    last = Counter(c.last_state.terminated.reason for p in pods for c in p.status.container_statuses or []
                   if c.last_state and c.last_state.terminated)  # fmt: skip
    assert last["OOMKilled"] >= 2
    unschedulable = [p for p in pods if p.status.phase == "Pending" and not p.spec.node_name]
    assert unschedulable and unschedulable[0].status.conditions[0].reason == "Unschedulable"
    assert {p.status.phase for p in pods} >= {"Running", "Pending", "Succeeded"}
    owners = Counter(p.metadata.owner_references[0].kind for p in pods)
    assert set(owners) == {"ReplicaSet", "StatefulSet", "DaemonSet", "Job"}
    ready = Counter(next(c.status for c in n.status.conditions if c.type == "Ready") for n in nodes)
    assert ready["False"] >= 1 and ready["Unknown"] >= 1 and ready["True"] >= 8
    pressure = [
        n for n in nodes for c in n.status.conditions if c.type == "MemoryPressure" and c.status == "True"
    ]
    assert pressure and any(n.spec.unschedulable for n in nodes)
    assert len({n.status.node_info.kubelet_version for n in nodes}) >= 2


def test_pod_security_images_and_secrets_vary(served: client.ApiClient) -> None:
    pods = client.CoreV1Api(served).list_pod_for_all_namespaces().items
    specs = [p.spec for p in pods]
    containers = [c for s in specs for c in s.containers]
    assert any(c.security_context and c.security_context.privileged for c in containers)
    assert any(s.host_network for s in specs) and any(s.host_pid for s in specs)
    assert any(v.host_path for s in specs for v in s.volumes or [])
    assert any(s.security_context and s.security_context.run_as_non_root for s in specs)
    assert any(c.security_context and c.security_context.capabilities and c.security_context.capabilities.add
               for c in containers)  # fmt: skip
    images = [c.image for c in containers]
    assert any(i.endswith(":latest") for i in images) and any("@sha256:" in i for i in images)
    assert any(":" not in i.rsplit("/", 1)[-1] for i in images)
    assert len({i.split("/")[0] for i in images}) >= 4
    env = [e for c in containers for e in c.env or []]
    assert any(e.value_from and e.value_from.secret_key_ref for e in env)
    assert any(e.name == "DB_PASSWORD" and e.value for e in env)
    assert any(s.automount_service_account_token is False for s in specs)


def test_autoscaling_budgets_policies_and_rbac(served: client.ApiClient) -> None:
    hpas = client.AutoscalingV2Api(served).list_horizontal_pod_autoscaler_for_all_namespaces().items
    limited = [
        h for h in hpas for c in h.status.conditions if c.type == "ScalingLimited" and c.status == "True"
    ]
    assert limited and all(h.status.current_replicas == h.spec.max_replicas for h in limited)
    assert any(c.status == "True" for h in hpas for c in h.status.conditions if c.type == "ScalingActive")
    keda = client.CustomObjectsApi(served).list_cluster_custom_object("keda.sh", "v1alpha1", "scaledobjects")
    assert keda["items"] and any(h.metadata.name.startswith("keda-hpa-") for h in hpas)
    pdbs = client.PolicyV1Api(served).list_pod_disruption_budget_for_all_namespaces().items
    assert any(p.status.disruptions_allowed == 0 for p in pdbs)
    metrics = client.ApiregistrationV1Api(served).read_api_service("v1beta1.metrics.k8s.io")
    assert metrics.status.conditions[0].type == "Available" and metrics.status.conditions[0].status == "True"
    policies = client.NetworkingV1Api(served).list_network_policy_for_all_namespaces().items
    namespaces = {n.metadata.name for n in client.CoreV1Api(served).list_namespace().items}
    assert any(not p.spec.pod_selector.match_labels for p in policies)  # a default deny
    system = {"default", "kube-system", "kube-public", "kube-node-lease"}
    assert namespaces - {p.metadata.namespace for p in policies} - system  # a namespace with no policy
    rbac = client.RbacAuthorizationV1Api(served)
    counted = sum(len(f().items) for f in (rbac.list_cluster_role, rbac.list_cluster_role_binding,
                                           rbac.list_role_for_all_namespaces,
                                           rbac.list_role_binding_for_all_namespaces))  # fmt: skip
    assert counted >= 90
    admins = [b for b in rbac.list_cluster_role_binding().items if b.role_ref.name == "cluster-admin"]
    assert {s.kind for b in admins for s in b.subjects} >= {"User", "Group"}
    view = rbac.read_cluster_role("view")
    assert view.aggregation_rule and view.rules  # filled by the aggregation controller
