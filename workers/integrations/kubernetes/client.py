"""A thin, dict-based facade over the official Kubernetes client.

Objects come back as the API server's JSON (camelCase dicts), so evidence, snapshots and patches are
stored exactly as the cluster sent them. API errors become the workers' error types: 404 is
``NotFound``, 409 is ``Conflict``, 5xx and connection failures are ``TemporaryError``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, cast

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from workers.errors import ActionRefused, Conflict, NotFound, PermanentError, TemporaryError
from workers.settings import KubernetesSettings

ApiMethod = Callable[..., Any]
"""A method of the generated API classes (``CoreV1Api.read_namespaced_pod``...): called with
``_preload_content=False``, it answers the raw HTTP response, whose body the facade parses itself."""

PATCH_TYPES = {
    "strategic": "application/strategic-merge-patch+json",
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
}


def api_client_from_settings(settings: KubernetesSettings) -> k8s.ApiClient:
    """An ApiClient from the kubeconfig, or the in-cluster service account when none is set."""
    client: k8s.ApiClient  # kubernetes.config is unannotated: its functions return Any
    if settings.kubeconfig is not None:
        client = k8s_config.new_client_from_config(
            config_file=str(settings.kubeconfig), context=settings.context
        )
        return client
    configuration = k8s.Configuration()
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)
    except k8s_config.ConfigException:
        client = k8s_config.new_client_from_config(context=settings.context)
        return client
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

    def _raw(self, what: str, func: ApiMethod, *args: Any, **kwargs: Any) -> bytes:
        try:
            response = func(*args, _preload_content=False, _request_timeout=self.timeout_s, **kwargs)
        except ApiException as exc:
            raise _translate(exc, what) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TemporaryError(f"{what}: API server unreachable: {exc}") from exc
        return bytes(response.data or b"")

    def _call(self, what: str, func: ApiMethod, *args: Any, **kwargs: Any) -> dict[str, Any]:
        data = self._raw(what, func, *args, **kwargs)
        return cast(dict[str, Any], json.loads(data)) if data else {}

    def _items(self, what: str, func: ApiMethod, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
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

    # Owners of pods, read to find the workload an incident is about (workers.spine.incidents).
    def get_workload(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        """A Deployment, ReplicaSet, StatefulSet, DaemonSet, Job or CronJob; ``NotFound`` for other kinds."""
        batch = k8s.BatchV1Api(self.api_client)
        readers: dict[str, ApiMethod] = {
            "Deployment": self.apps.read_namespaced_deployment,
            "ReplicaSet": self.apps.read_namespaced_replica_set,
            "StatefulSet": self.apps.read_namespaced_stateful_set,
            "DaemonSet": self.apps.read_namespaced_daemon_set,
            "Job": batch.read_namespaced_job,
            "CronJob": batch.read_namespaced_cron_job,
        }
        if kind not in readers:
            raise NotFound(f"get {kind} {namespace}/{name}: not a workload kind the responder reads")
        return self._call(f"get {kind.lower()} {namespace}/{name}", readers[kind], name, namespace)

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
        self,
        what: str,
        func: ApiMethod,
        name: str,
        namespace: str,
        patch: Any,
        patch_type: str,
        dry_run: bool,
    ) -> dict[str, Any]:
        content_type = PATCH_TYPES[patch_type]
        kwargs: dict[str, Any] = {"_content_type": content_type}
        if dry_run:
            kwargs["dry_run"] = "All"
        return self._call(what, func, name, namespace, patch, **kwargs)

    # --- right-sizing (US3): the workloads of a namespace, and their resources patched ------------------
    def get_namespace(self, name: str) -> dict[str, Any]:
        return self._call(f"get namespace {name}", self.core.read_namespace, name)

    def list_workloads(self, kind: str, namespace: str) -> list[dict[str, Any]]:
        """The Deployments, StatefulSets or DaemonSets of ``namespace``, each with its ``kind`` set."""
        listers: dict[str, ApiMethod] = {
            "Deployment": self.apps.list_namespaced_deployment,
            "StatefulSet": self.apps.list_namespaced_stateful_set,
            "DaemonSet": self.apps.list_namespaced_daemon_set,
        }
        if kind not in listers:
            raise NotFound(f"list {kind} in {namespace}: not a workload kind the responder lists")
        items = self._items(f"list {kind.lower()}s in {namespace}", listers[kind], namespace)
        for item in items:
            item["kind"] = kind
        return items

    def patch_workload(
        self, kind: str, namespace: str, name: str, patch: Any, patch_type: str, dry_run: bool
    ) -> dict[str, Any]:
        """Patch a Deployment, StatefulSet or DaemonSet."""
        patchers: dict[str, ApiMethod] = {
            "Deployment": self.apps.patch_namespaced_deployment,
            "StatefulSet": self.apps.patch_namespaced_stateful_set,
            "DaemonSet": self.apps.patch_namespaced_daemon_set,
        }
        if kind not in patchers:
            raise NotFound(f"patch {kind} {namespace}/{name}: not a workload kind the responder patches")
        what = f"patch {kind.lower()} {namespace}/{name}"
        return self._patch(what, patchers[kind], name, namespace, patch, patch_type, dry_run)

    # --- scaling (US2): HorizontalPodAutoscalers, the metrics APIService, KEDA ScaledObjects, PDBs ---------
    @property
    def autoscaling(self) -> k8s.AutoscalingV2Api:
        return k8s.AutoscalingV2Api(self.api_client)

    def get_hpa(self, namespace: str, name: str) -> dict[str, Any]:
        return self._call(
            f"get horizontalpodautoscaler {namespace}/{name}",
            self.autoscaling.read_namespaced_horizontal_pod_autoscaler,
            name,
            namespace,
        )

    def list_hpas(self, namespace: str) -> list[dict[str, Any]]:
        return self._items(
            f"list horizontalpodautoscalers in {namespace}",
            self.autoscaling.list_namespaced_horizontal_pod_autoscaler,
            namespace,
        )

    def create_hpa(self, namespace: str, body: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"dry_run": "All"} if dry_run else {}
        return self._call(
            f"create horizontalpodautoscaler in {namespace}",
            self.autoscaling.create_namespaced_horizontal_pod_autoscaler,
            namespace,
            body,
            **kwargs,
        )

    def patch_hpa(
        self, namespace: str, name: str, patch: Any, patch_type: str, dry_run: bool
    ) -> dict[str, Any]:
        return self._patch(
            f"patch horizontalpodautoscaler {namespace}/{name}",
            self.autoscaling.patch_namespaced_horizontal_pod_autoscaler,
            name,
            namespace,
            patch,
            patch_type,
            dry_run,
        )

    def delete_hpa(self, namespace: str, name: str, dry_run: bool) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"dry_run": "All"} if dry_run else {}
        return self._call(
            f"delete horizontalpodautoscaler {namespace}/{name}",
            self.autoscaling.delete_namespaced_horizontal_pod_autoscaler,
            name,
            namespace,
            **kwargs,
        )

    def get_apiservice(self, name: str) -> dict[str, Any]:
        return self._call(
            f"get apiservice {name}", k8s.ApiregistrationV1Api(self.api_client).read_api_service, name
        )

    def list_scaled_objects(self, namespace: str) -> list[dict[str, Any]]:
        """KEDA ScaledObjects; none when the CRD is not installed."""
        try:
            return self._items(
                f"list scaledobjects in {namespace}",
                k8s.CustomObjectsApi(self.api_client).list_namespaced_custom_object,
                "keda.sh",
                "v1alpha1",
                namespace,
                "scaledobjects",
            )
        except NotFound:
            return []

    def list_pdbs(self, namespace: str) -> list[dict[str, Any]]:
        return self._items(
            f"list poddisruptionbudgets in {namespace}",
            k8s.PolicyV1Api(self.api_client).list_namespaced_pod_disruption_budget,
            namespace,
        )


# --- paged cluster-wide lists (the weekly reports, the scaling capacity check) ------------------------
# Whole kinds are read in pages of ``PAGE_SIZE`` (``limit`` and ``continue``), as kube-apiserver serves
# large lists, so that neither side holds the whole list as one response. A continue token that expired
# mid-list (410 Gone) is a ``TemporaryError``: the run is retried rather than mixing two versions of the
# cluster. List items carry no ``kind``; it is set on each object.

PAGE_SIZE = 500
"""Objects per page of a paged list."""

_LISTS: dict[str, tuple[Callable[[k8s.ApiClient], Any], str]] = {
    "Namespace": (k8s.CoreV1Api, "list_namespace"),
    "Node": (k8s.CoreV1Api, "list_node"),
    "Pod": (k8s.CoreV1Api, "list_pod_for_all_namespaces"),
    "ServiceAccount": (k8s.CoreV1Api, "list_service_account_for_all_namespaces"),
    "Secret": (k8s.CoreV1Api, "list_secret_for_all_namespaces"),
    "ConfigMap": (k8s.CoreV1Api, "list_config_map_for_all_namespaces"),
    "Deployment": (k8s.AppsV1Api, "list_deployment_for_all_namespaces"),
    "StatefulSet": (k8s.AppsV1Api, "list_stateful_set_for_all_namespaces"),
    "DaemonSet": (k8s.AppsV1Api, "list_daemon_set_for_all_namespaces"),
    "ReplicaSet": (k8s.AppsV1Api, "list_replica_set_for_all_namespaces"),
    "Job": (k8s.BatchV1Api, "list_job_for_all_namespaces"),
    "CronJob": (k8s.BatchV1Api, "list_cron_job_for_all_namespaces"),
    "HorizontalPodAutoscaler": (k8s.AutoscalingV2Api, "list_horizontal_pod_autoscaler_for_all_namespaces"),
    "PodDisruptionBudget": (k8s.PolicyV1Api, "list_pod_disruption_budget_for_all_namespaces"),
    "NetworkPolicy": (k8s.NetworkingV1Api, "list_network_policy_for_all_namespaces"),
    "Role": (k8s.RbacAuthorizationV1Api, "list_role_for_all_namespaces"),
    "RoleBinding": (k8s.RbacAuthorizationV1Api, "list_role_binding_for_all_namespaces"),
    "ClusterRole": (k8s.RbacAuthorizationV1Api, "list_cluster_role"),
    "ClusterRoleBinding": (k8s.RbacAuthorizationV1Api, "list_cluster_role_binding"),
}


def list_paged(kube: Kube, kind: str, page_size: int = PAGE_SIZE) -> Iterator[dict[str, Any]]:
    """Every object of ``kind`` (a key of ``_LISTS``) in the cluster, page by page, ``kind`` set.

    Raises ``ActionRefused`` when RBAC forbids the list, ``TemporaryError`` when the server is away or the
    continue token expired mid-list.
    """
    api, method = _LISTS[kind]
    func = getattr(api(kube.api_client), method)
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"limit": page_size}
        if token:
            kwargs["_continue"] = token
        try:
            page = kube._call(f"list {kind}", func, **kwargs)
        except PermanentError as exc:
            if "answered 410" in str(exc):
                raise TemporaryError(f"list {kind}: the continue token expired mid-list: {exc}") from exc
            raise
        for item in page.get("items") or []:
            item["kind"] = kind
            yield item
        token = (page.get("metadata") or {}).get("continue") or None
        if not token:
            return
