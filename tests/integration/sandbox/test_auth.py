"""Tokens: admin may write, read-only may only read (and not Secrets), anything else is 401."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from kubernetes import client, config

from sandbox.server import SandboxCluster
from tests.support.sandbox_api import CRASHING, status_of


def test_read_only_token_can_read_but_not_write(cluster: SandboxCluster) -> None:
    with cluster.api_client("sandbox-readonly") as api:
        core = client.CoreV1Api(api)
        assert len(core.list_namespaced_pod("shop").items) == 3
        assert "DATABASE_URL" in core.read_namespaced_pod_log(CRASHING[0], "shop", previous=True)
        with pytest.raises(client.ApiException) as err:
            core.delete_namespaced_pod(CRASHING[0], "shop")
        status = status_of(err.value)
        assert err.value.status == 403 and status["reason"] == "Forbidden"
        assert status["message"] == (
            f'pods "{CRASHING[0]}" is forbidden: User "sandbox-readonly" cannot delete resource "pods" '
            'in API group "" in the namespace "shop"'
        )
        with pytest.raises(client.ApiException) as err:
            client.AppsV1Api(api).patch_namespaced_deployment("checkout", "shop", {"spec": {"replicas": 0}})
        assert err.value.status == 403
        with pytest.raises(client.ApiException) as err:
            core.list_namespaced_secret("shop")
        assert err.value.status == 403
    assert cluster.get("Pod", "shop", CRASHING[0]) is not None
    assert cluster.get("Deployment", "shop", "checkout")["spec"]["replicas"] == 2


@pytest.mark.parametrize("token", [None, "wrong"])
def test_missing_or_unknown_token_is_unauthorized(cluster: SandboxCluster, token: str | None) -> None:
    request = urllib.request.Request(f"{cluster.url}/api/v1/namespaces/shop/pods")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=5)
    body = json.loads(err.value.read())
    assert err.value.code == 401
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }


def test_unknown_token_through_the_client(cluster: SandboxCluster) -> None:
    with cluster.api_client("nobody") as api, pytest.raises(client.ApiException) as err:
        client.CoreV1Api(api).list_node()
    assert err.value.status == 401


def test_version_and_metrics_need_no_token(cluster: SandboxCluster) -> None:
    with urllib.request.urlopen(f"{cluster.url}/version", timeout=5) as response:
        assert json.loads(response.read())["gitVersion"] == "v1.30.0"
    with urllib.request.urlopen(f"{cluster.url}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")


def test_method_not_allowed(cluster: SandboxCluster) -> None:
    request = urllib.request.Request(
        f"{cluster.url}/api/v1/namespaces/shop/pods/{CRASHING[0]}",
        data=b"{}",
        method="POST",
        headers={"Authorization": "Bearer sandbox-admin"},
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=5)
    assert err.value.code == 405 and json.loads(err.value.read())["reason"] == "MethodNotAllowed"


def test_kubeconfig_works_with_the_official_loader(cluster: SandboxCluster, tmp_path: Path) -> None:
    path = cluster.write_kubeconfig(tmp_path / "kubeconfig", token="sandbox-readonly")
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(path), client_configuration=configuration)
    assert configuration.host == cluster.url
    with client.ApiClient(configuration) as api:
        core = client.CoreV1Api(api)
        assert [n.metadata.name for n in core.list_node().items] == ["node-1", "node-2"]
        with pytest.raises(client.ApiException) as err:
            core.delete_namespaced_pod(CRASHING[0], "shop")
        assert err.value.status == 403
    admin = client.Configuration()
    config.load_kube_config(config_file=str(path), context="sandbox", client_configuration=admin)
    with client.ApiClient(admin) as api:
        client.CoreV1Api(api).delete_namespaced_pod(CRASHING[0], "shop")
    assert cluster.get("Pod", "shop", CRASHING[0]) is None
