"""A thin, dict-based facade over the official Kubernetes client.

Objects come back as the API server's JSON (camelCase dicts), so evidence, snapshots and patches are
stored exactly as the cluster sent them. API errors become the workers' error types: 404 is
``NotFound``, 409 is ``Conflict``, 5xx and connection failures are ``TemporaryError``.
"""

from __future__ import annotations

import json
from typing import Any, cast

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from workers.errors import ActionRefused, Conflict, NotFound, PermanentError, TemporaryError
from workers.settings import KubernetesSettings

PATCH_TYPES = {
    "strategic": "application/strategic-merge-patch+json",
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
}


def api_client_from_settings(settings: KubernetesSettings) -> k8s.ApiClient:
    """An ApiClient from the kubeconfig, or the in-cluster service account when none is set."""
    if settings.kubeconfig is not None:
        return k8s_config.new_client_from_config(
            config_file=str(settings.kubeconfig), context=settings.context
        )
    configuration = k8s.Configuration()
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)
    except k8s_config.ConfigException:
        return k8s_config.new_client_from_config(context=settings.context)
    return k8s.ApiClient(configuration)


def _translate(exc: ApiException, what: str) -> Exception:
    detail = exc.reason
    try:
        body = json.loads(exc.body or "{}")
        detail = body.get("message") or detail
    except (TypeError, ValueError):
        pass
    status = exc.status or 0
    if status == 404:
        return NotFound(f"{what}: {detail}")
    if status == 409:
        return Conflict(f"{what}: {detail}")
    if status in (401, 403):
        return ActionRefused(f"{what}: forbidden by the API server: {detail}")
    if status >= 500 or status in {429, 0}:
        return TemporaryError(f"{what}: API server answered {status}: {detail}")
    return PermanentError(f"{what}: API server answered {status}: {detail}")


class Kube:
    """Reads and writes the few kinds the responder needs, as plain dicts."""

    def __init__(self, api_client: k8s.ApiClient, timeout_s: float = 10.0) -> None:
        self.api_client = api_client
        self.core = k8s.CoreV1Api(api_client)
        self.apps = k8s.AppsV1Api(api_client)
        self.timeout_s = timeout_s

    def _raw(self, what: str, func: Any, *args: Any, **kwargs: Any) -> bytes:
        try:
            response = func(*args, _preload_content=False, _request_timeout=self.timeout_s, **kwargs)
        except ApiException as exc:
            raise _translate(exc, what) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TemporaryError(f"{what}: API server unreachable: {exc}") from exc
        return bytes(response.data or b"")

    def _call(self, what: str, func: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        data = self._raw(what, func, *args, **kwargs)
        return cast(dict[str, Any], json.loads(data)) if data else {}

    def _items(self, what: str, func: Any, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._call(what, func, *args, **kwargs).get("items") or [])

    # reads
    def get_pod(self, namespace: str, name: str) -> dict[str, Any]:
        return self._call(f"get pod {namespace}/{name}", self.core.read_namespaced_pod, name, namespace)

    def list_pods(self, namespace: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"label_selector": label_selector} if label_selector else {}
        return self._items(f"list pods in {namespace}", self.core.list_namespaced_pod, namespace, **kwargs)

    def pod_log(
        self, namespace: str, name: str, container: str, previous: bool, tail_lines: int, limit_bytes: int
    ) -> str:
        data = self._raw(
            f"log of {namespace}/{name}/{container}",
            self.core.read_namespaced_pod_log,
            name,
            namespace,
            container=container,
            previous=previous,
            tail_lines=tail_lines,
            limit_bytes=limit_bytes,
        )
        return data.decode("utf-8", errors="replace")

    def events_for(self, namespace: str, kind: str, name: str) -> list[dict[str, Any]]:
        selector = f"involvedObject.kind={kind},involvedObject.name={name}"
        return self._items(
            f"events of {kind} {namespace}/{name}",
            self.core.list_namespaced_event,
            namespace,
            field_selector=selector,
        )

    def get_node(self, name: str) -> dict[str, Any]:
        return self._call(f"get node {name}", self.core.read_node, name)

    def get_replicaset(self, namespace: str, name: str) -> dict[str, Any]:
        return self._call(
            f"get replicaset {namespace}/{name}", self.apps.read_namespaced_replica_set, name, namespace
        )

    def list_replicasets(self, namespace: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"label_selector": label_selector} if label_selector else {}
        return self._items(
            f"list replicasets in {namespace}", self.apps.list_namespaced_replica_set, namespace, **kwargs
        )

    def get_deployment(self, namespace: str, name: str) -> dict[str, Any]:
        return self._call(
            f"get deployment {namespace}/{name}", self.apps.read_namespaced_deployment, name, namespace
        )

    # writes
    def patch_deployment(
        self, namespace: str, name: str, patch: Any, patch_type: str, dry_run: bool
    ) -> dict[str, Any]:
        return self._patch(
            f"patch deployment {namespace}/{name}",
            self.apps.patch_namespaced_deployment,
            name,
            namespace,
            patch,
            patch_type,
            dry_run,
        )

    def delete_pod(self, namespace: str, name: str, dry_run: bool) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"dry_run": "All"} if dry_run else {}
        return self._call(
            f"delete pod {namespace}/{name}", self.core.delete_namespaced_pod, name, namespace, **kwargs
        )

    def _patch(
        self, what: str, func: Any, name: str, namespace: str, patch: Any, patch_type: str, dry_run: bool
    ) -> dict[str, Any]:
        content_type = PATCH_TYPES[patch_type]
        kwargs: dict[str, Any] = {"_content_type": content_type}
        if dry_run:
            kwargs["dry_run"] = "All"
        return self._call(what, func, name, namespace, patch, **kwargs)
