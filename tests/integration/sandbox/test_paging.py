"""Paged lists through the official client: limit, continue, remainingItemCount, snapshots, 400 and 410."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from sandbox import generate
from sandbox.server import SandboxCluster
from tests.support.sandbox_api import NOW, status_of

PODS = 1200


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxCluster]:
    """A generated cluster of 1,200 pods, shared by the tests of this module (each leaves it as it was)."""
    directory = tmp_path_factory.mktemp("paging") / "cluster"
    generate.write(directory, generate.objects(generate.Size(PODS, 12, 40), seed=7, now=NOW))
    cluster = SandboxCluster.from_dir(directory, clock=lambda: NOW).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def core(big: SandboxCluster) -> Iterator[client.CoreV1Api]:
    with big.api_client() as api:
        yield client.CoreV1Api(api)


def _pages(list_call: Any, *args: Any, token: str | None = None, **kwargs: Any) -> list[Any]:
    pages = []
    while True:
        page = list_call(*args, _continue=token, **kwargs)
        pages.append(page)
        token = page.metadata._continue
        if not token:
            return pages


def _keys(items: list[Any]) -> list[tuple[str, str]]:
    return [(i.metadata.namespace or "", i.metadata.name) for i in items]


def test_every_pod_once_in_key_order(core: client.CoreV1Api) -> None:
    pages = _pages(core.list_pod_for_all_namespaces, limit=500)
    assert [len(p.items) for p in pages] == [500, 500, 200]
    assert [p.metadata.remaining_item_count for p in pages] == [700, 200, None]
    keys = [key for page in pages for key in _keys(page.items)]
    assert len(keys) == PODS and len(set(keys)) == PODS and keys == sorted(keys)
    assert keys == _keys(core.list_pod_for_all_namespaces().items)
    assert len({p.metadata.resource_version for p in pages}) == 1  # every page is the first page's snapshot


def test_pages_with_a_selector_carry_no_remaining_count(big: SandboxCluster, core: client.CoreV1Api) -> None:
    namespace = "payments-1"
    everything = [p for p in big.list("pods", namespace) if p["metadata"]["labels"].get("app")]
    app = everything[0]["metadata"]["labels"]["app"]
    expected = sorted(p["metadata"]["name"] for p in everything if p["metadata"]["labels"]["app"] == app)
    pages = _pages(core.list_namespaced_pod, namespace, label_selector=f"app={app}", limit=1)
    assert [p.metadata.remaining_item_count for p in pages] == [None] * len(pages)
    assert [p.metadata.name for page in pages for p in page.items] == expected
    running = _pages(core.list_pod_for_all_namespaces, field_selector="status.phase=Pending", limit=3)
    pending = [p for page in running for p in page.items]
    assert pending and all(p.status.phase == "Pending" for p in pending)


def test_later_pages_show_the_first_pages_snapshot(core: client.CoreV1Api) -> None:
    namespace = "search-1"
    first = core.list_namespaced_secret(namespace, limit=1)
    rest = [s.metadata.name for s in core.list_namespaced_secret(namespace).items][1:]
    doomed = core.read_namespaced_secret(rest[-1], namespace)
    core.delete_namespaced_secret(rest[-1], namespace)
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": "zz-created-later"}, "stringData": {"a": "b"}}
    )
    try:
        later = core.list_namespaced_secret(namespace, _continue=first.metadata._continue)
        assert [s.metadata.name for s in later.items] == rest  # the deleted one still there, the new one not
        assert later.metadata.resource_version == first.metadata.resource_version
        now = [s.metadata.name for s in core.list_namespaced_secret(namespace).items]
        assert rest[-1] not in now and "zz-created-later" in now
    finally:
        core.delete_namespaced_secret("zz-created-later", namespace)
        doomed.metadata.resource_version = None
        core.create_namespaced_secret(namespace, doomed)


def test_cluster_scoped_kinds_page_too(big: SandboxCluster) -> None:
    with big.api_client() as api:
        nodes = _pages(client.CoreV1Api(api).list_node, limit=5)
        roles = _pages(client.RbacAuthorizationV1Api(api).list_cluster_role, limit=7)
    assert [len(p.items) for p in nodes] == [5, 5, 2]
    names = [r.metadata.name for page in roles for r in page.items]
    assert len(names) == len(set(names)) == len(big.list("clusterroles")) and names == sorted(names)


def test_a_malformed_token_is_bad_request(core: client.CoreV1Api) -> None:
    forged = base64.urlsafe_b64encode(
        json.dumps({"v": "meta.k8s.io/v1", "rv": 0, "start": "x"}).encode()
    ).decode()
    for token in ("not a token", forged):
        with pytest.raises(client.ApiException) as err:
            core.list_pod_for_all_namespaces(limit=10, _continue=token)
        status = status_of(err.value)
        assert (err.value.status, status["reason"]) == (400, "BadRequest")
        assert status["message"].startswith("invalid continue token: continue key is not valid")


def test_an_expired_token_is_gone_and_offers_a_way_on(big: SandboxCluster, core: client.CoreV1Api) -> None:
    first = core.list_pod_for_all_namespaces(limit=500)
    big.advance(301)  # past the 5-minute compaction interval
    with pytest.raises(client.ApiException) as err:
        core.list_pod_for_all_namespaces(limit=500, _continue=first.metadata._continue)
    status = status_of(err.value)
    assert (err.value.status, status["reason"], status["code"]) == (410, "Expired", 410)
    assert status["message"].startswith("The provided continue parameter is too old")
    rest = _pages(core.list_pod_for_all_namespaces, limit=500, token=status["metadata"]["continue"])
    keys = _keys(first.items) + [key for page in rest for key in _keys(page.items)]
    assert keys == sorted(keys) and len(keys) == PODS
