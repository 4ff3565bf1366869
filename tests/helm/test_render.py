"""The chart renders and lints cleanly with Helm's engine, and every manifest is a valid Kubernetes object."""

from __future__ import annotations

import json
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from tests.helm.conftest import CHART_DIR, KUBE_VERSIONS, NAMESPACE, RELEASE, VALUE_SETS, Rendered, manifest

# Custom resources: kubernetes-validate has schemas for built-in kinds only, so these are checked
# structurally below (required fields and their types), not against the operators' CRD schemas.
CUSTOM_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"),
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
}
CLUSTER_SCOPED_KINDS = (
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
)
COMMON_LABELS = (
    "helm.sh/chart",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/part-of",
)


@pytest.mark.parametrize("name", list(VALUE_SETS))
def test_lint_is_clean(name: str) -> None:
    report = helm.lint(
        CHART_DIR, VALUE_SETS[name], strict=True, namespace=NAMESPACE, kube_version=f"v{KUBE_VERSIONS[-1]}.0"
    )
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == [], problems


def test_chart_needs_nothing_from_the_network() -> None:
    chart_yaml = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text(encoding="utf-8"))
    assert "dependencies" not in chart_yaml
    assert not (CHART_DIR / "charts").exists()
    assert helm.dependency_list(CHART_DIR) == []


# Objects already validated in this session (many are the same across sets of values).
_VALIDATED: set[str] = set()


def test_every_manifest_passes_kubernetes_validate(rendered: Rendered) -> None:
    checked = 0
    for obj in rendered.objects:
        if (obj["apiVersion"], obj["kind"]) in CUSTOM_KINDS:
            continue
        checked += 1
        key = json.dumps(manifest(obj), sort_keys=True)
        if key in _VALIDATED:
            continue
        for version in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(manifest(obj), version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(str(part) for part in exc.path)
                where = f"{obj['_source']}: {obj['kind']}/{obj['metadata']['name']} on {version}"
                pytest.fail(f"{where}: {path}: {exc.message}")
        _VALIDATED.add(key)
    assert checked >= 10


def test_only_known_custom_resources(rendered: Rendered) -> None:
    custom = {
        (o["apiVersion"], o["kind"])
        for o in rendered.objects
        if "." in o["apiVersion"].split("/")[0] and not o["apiVersion"].split("/")[0].endswith("k8s.io")
    }
    assert custom <= CUSTOM_KINDS


def test_standard_labels_everywhere(rendered: Rendered) -> None:
    for obj in rendered.objects:
        labels = obj["metadata"].get("labels", {})
        missing = [key for key in COMMON_LABELS if key not in labels]
        assert not missing, f"{obj['kind']}/{obj['metadata']['name']} lacks {missing}"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        if obj["kind"] not in CLUSTER_SCOPED_KINDS:
            assert obj["metadata"]["namespace"], obj["metadata"]["name"]


def test_names_are_unique_and_valid(rendered: Rendered) -> None:
    seen = set()
    for obj in rendered.objects:
        key = (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])
        assert key not in seen, key
        seen.add(key)
        assert len(obj["metadata"]["name"]) <= 63


def test_every_container_has_resources(rendered: Rendered) -> None:
    for where, container in rendered.containers():
        resources = container.get("resources", {})
        assert {"cpu", "memory"} <= set(resources.get("requests", {})), where
        assert "memory" in resources.get("limits", {}), where


def test_selectors_match(rendered: Rendered) -> None:
    pod_labels = {}
    for obj in rendered.objects:
        if obj["kind"] in ("Deployment", "StatefulSet"):
            template_labels = obj["spec"]["template"]["metadata"]["labels"]
            assert obj["spec"]["selector"]["matchLabels"].items() <= template_labels.items(), obj["metadata"][
                "name"
            ]
            pod_labels[obj["metadata"]["name"]] = template_labels
    for obj in rendered.of_kind("Service") + rendered.of_kind("PodDisruptionBudget"):
        selector = obj["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        matched = [name for name, labels in pod_labels.items() if selector.items() <= labels.items()]
        assert len(matched) == 1, f"{obj['kind']}/{obj['metadata']['name']} selects {matched}"


def _workload(rendered: Rendered, component: str) -> dict[str, Any]:
    return rendered.one("Deployment", component)


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item for item in container.get("env", [])}


def test_receiver_serves_on_8080_with_probes(rendered: Rendered) -> None:
    receiver = _workload(rendered, "receiver")
    assert receiver["spec"]["replicas"] == 2
    (container,) = receiver["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["serve", "--host", "0.0.0.0", "--port", "8080"]
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    env = _env(container)
    assert env["AIOPS_CONFIG"]["value"] == "/etc/aiops/settings/settings.yaml"
    assert env["AIOPS_TOKENS_FILE"]["value"] == "/etc/aiops/tokens/tokens.yaml"
    service = rendered.one("Service", RELEASE + "-aiops-responder")
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_receiver_pod_disruption_budget(rendered: Rendered) -> None:
    pdb = rendered.one("PodDisruptionBudget", "receiver")
    assert pdb["spec"]["minAvailable"] == 1


def test_worker_serves_the_three_queues(rendered: Rendered) -> None:
    worker = _workload(rendered, "worker")
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["worker", "--queues", "actions,alerts,advice,reports"]
    autoscaled = rendered.of_kind("HorizontalPodAutoscaler") or rendered.of_kind("ScaledObject")
    assert ("replicas" in worker["spec"]) is not bool(autoscaled)
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 60


def test_cron_is_a_single_recreated_pod(rendered: Rendered) -> None:
    cron = _workload(rendered, "cron")
    assert cron["spec"]["replicas"] == 1
    assert cron["spec"]["strategy"] == {"type": "Recreate"}
    assert cron["spec"]["template"]["spec"]["containers"][0]["args"] == ["cron"]


def test_default_uses_the_bundled_redis_with_aof_on_a_pvc(render_set: Any) -> None:
    rendered = render_set("default")
    redis = rendered.one("StatefulSet", "redis")
    args = redis["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"
    assert redis["spec"]["replicas"] == 1
    (claim,) = redis["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    env = _env(_workload(rendered, "worker")["spec"]["template"]["spec"]["containers"][0])
    names = list(env)
    # $(REDIS_PASSWORD) expands only if the variable is defined earlier in the list.
    assert names.index("REDIS_PASSWORD") < names.index("REDIS_URL")
    # The worker signs in as its own Redis ACL user (issue 9).
    assert env["REDIS_URL"]["value"] == (
        f"redis://worker:$(REDIS_PASSWORD)@{RELEASE}-aiops-responder-redis.{NAMESPACE}.svc:6379/0"
    )
    assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": f"{RELEASE}-aiops-responder-redis-worker",
        "key": "password",
    }
    assert rendered.of_kind("HorizontalPodAutoscaler") == [] and rendered.of_kind("Ingress") == []
    # NetworkPolicy is on by default (issue 9).
    assert rendered.of_kind("NetworkPolicy")


def test_external_redis_replaces_the_bundled_one(render_set: Any) -> None:
    rendered = render_set("external-redis")
    assert rendered.of_kind("StatefulSet") == []
    assert not any(obj["metadata"]["name"].endswith("-redis") for obj in rendered.objects)
    for _, spec in rendered.pod_specs():
        env = _env(spec["containers"][0])
        assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "aiops-redis-url", "key": "url"}
        assert "REDIS_PASSWORD" not in env
    for component in ("receiver", "worker", "cron"):
        egress = rendered.one("NetworkPolicy", component)["spec"]["egress"]
        peers = [peer for rule in egress for peer in rule.get("to", [])]
        assert {"ipBlock": {"cidr": "10.20.0.0/16"}} in peers, component


def test_keda_scales_workers_on_rq_queue_lengths(render_set: Any) -> None:
    rendered = render_set("keda")
    scaled = rendered.one("ScaledObject", "worker")
    spec = scaled["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": _workload(rendered, "worker")["metadata"]["name"],
    }
    assert spec["minReplicaCount"] >= 1 and spec["maxReplicaCount"] >= spec["minReplicaCount"]
    auth = rendered.one("TriggerAuthentication", "worker")
    assert [t["metadata"]["listName"] for t in spec["triggers"]] == [
        "rq:queue:actions",
        "rq:queue:alerts",
        "rq:queue:advice",
        "rq:queue:reports",
    ]
    for trigger in spec["triggers"]:
        assert trigger["type"] == "redis"
        metadata = trigger["metadata"]
        assert all(isinstance(value, str) for value in metadata.values()), "KEDA metadata values are strings"
        assert metadata["address"] == f"{RELEASE}-aiops-responder-redis.{NAMESPACE}.svc:6379"
        assert metadata["listLength"] == "5"
        assert trigger["authenticationRef"] == {"name": auth["metadata"]["name"]}
    # KEDA signs in as the bundled Redis's keda user, which may only read the queue lengths (issue 9).
    secret = rendered.one("Secret", "redis-keda")
    assert auth["spec"]["secretTargetRef"] == [
        {"parameter": "username", "name": secret["metadata"]["name"], "key": "username"},
        {"parameter": "password", "name": secret["metadata"]["name"], "key": "password"},
    ]
    assert {"username", "password"} <= set(secret["data"])
    assert "replicas" not in _workload(rendered, "worker")["spec"]
    assert rendered.of_kind("HorizontalPodAutoscaler") == []
    # The KEDA operator must reach the bundled Redis through its NetworkPolicy.
    redis_from = rendered.one("NetworkPolicy", "redis")["spec"]["ingress"][0]["from"]
    assert any(
        peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == "keda-operator"
        for peer in redis_from
    )


def test_keda_through_sentinels_also_scales_on_the_deferred_intake_inbox(render_set: Any) -> None:
    rendered = render_set("keda-sentinel")
    triggers = rendered.one("ScaledObject", "worker")["spec"]["triggers"]
    assert [t["metadata"]["listName"] for t in triggers] == [
        "rq:queue:actions",
        "rq:queue:alerts",
        "rq:queue:advice",
        "rq:queue:reports",
        "aiops:intake:inbox",
    ]
    for trigger in triggers:
        assert trigger["type"] == "redis-sentinel"
        metadata = trigger["metadata"]
        assert metadata["addresses"].count(":26379") == 3 and metadata["sentinelMaster"] == "aiops"
        assert "address" not in metadata
    auth = rendered.one("TriggerAuthentication", "worker")["spec"]["secretTargetRef"]
    assert {"parameter": "sentinelPassword", "name": "aiops-sentinel", "key": "password"} in auth
    assert {"parameter": "password", "name": "aiops-redis-keda", "key": "password"} in auth
    settings = yaml.safe_load(rendered.one("ConfigMap", "settings")["data"]["settings.yaml"])
    assert settings["alerts"]["intake"] == "deferred"


def test_prometheus_operator_objects(render_set: Any) -> None:
    rendered = render_set("prometheus-operator")
    service = rendered.one("Service", RELEASE + "-aiops-responder")
    monitor = rendered.one("ServiceMonitor", RELEASE + "-aiops-responder")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in [port["name"] for port in service["spec"]["ports"]]
    assert endpoint["path"] == "/metrics"

    rule = rendered.one("PrometheusRule", RELEASE + "-aiops-responder")
    alerts = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    assert set(alerts) == {
        "KubePodCrashLooping",
        "KubeContainerWaiting",
        "KubePodOOMKilled",
        "AIOpsWorkloadCPUHigh",
        "KubeHpaMaxedOut",
        "AIOpsRolloutErrorRate",
    }
    assert alerts["KubePodCrashLooping"]["expr"] == (
        'max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff", '
        'job="kube-state-metrics"}[5m]) >= 1'
    )
    assert alerts["KubePodCrashLooping"]["for"] == "15m"
    assert (
        'kube_pod_container_status_last_terminated_reason{reason="OOMKilled"'
        in alerts["KubePodOOMKilled"]["expr"]
    )
    assert "kube_pod_container_status_restarts_total" in alerts["KubePodOOMKilled"]["expr"]
    for alert in alerts.values():
        assert {"severity"} <= set(alert["labels"]) and {"summary", "description"} <= set(
            alert["annotations"]
        )

    config = rendered.one("AlertmanagerConfig", RELEASE + "-aiops-responder")
    route, (receiver,) = config["spec"]["route"], config["spec"]["receivers"]
    assert route["receiver"] == receiver["name"]
    assert route["matchers"] == [
        {
            "name": "alertname",
            "matchType": "=~",
            "value": "KubePodCrashLooping|KubeContainerWaiting|KubePodOOMKilled|"
            "AIOpsWorkloadCPUHigh|KubeHpaMaxedOut|AIOpsRolloutErrorRate",
        }
    ]
    (webhook,) = receiver["webhookConfigs"]
    assert (
        webhook["url"] == f"http://{service['metadata']['name']}.{NAMESPACE}.svc:8080/webhooks/alertmanager"
    )
    assert webhook["sendResolved"] is True
    credentials = webhook["httpConfig"]["authorization"]["credentials"]
    assert webhook["httpConfig"]["authorization"]["type"] == "Bearer"
    tokens = rendered.one("Secret", "tokens")
    assert credentials == {"name": tokens["metadata"]["name"], "key": "webhook-token"}
    assert "webhook-token" in tokens["data"]


def test_ingress_exposes_only_the_approval_api(render_set: Any) -> None:
    rendered = render_set("ingress")
    ingress = rendered.one("Ingress", RELEASE + "-aiops-responder")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "aiops.example.org"
    paths = [p["path"] for p in rule["http"]["paths"]]
    assert "/api/v1/approvals" in paths and "/ui" in paths  # every page, sign-in included
    assert not any(p in ("/", "/webhooks/alertmanager", "/metrics") for p in paths)
    service = rendered.one("Service", RELEASE + "-aiops-responder")
    for path in rule["http"]["paths"]:
        assert path["backend"]["service"] == {"name": service["metadata"]["name"], "port": {"name": "http"}}
    assert ingress["spec"]["tls"] == [
        {"hosts": ["aiops.example.org"], "secretName": f"{RELEASE}-aiops-responder-tls"}
    ]
    assert "https://aiops.example.org/api/v1/approvals" in rendered.notes
    receiver_policy = rendered.one("NetworkPolicy", "receiver")
    peers = receiver_policy["spec"]["ingress"][0]["from"]
    assert len(peers) == 3  # Alertmanager, Prometheus, the ingress controller


def test_network_policies_allow_dns_redis_prometheus_and_api_server(render_set: Any) -> None:
    rendered = render_set("keda")
    egress = rendered.one("NetworkPolicy", "worker")
    assert egress["spec"]["policyTypes"] == ["Ingress", "Egress"]
    ports = sorted(
        {(port["port"], port["protocol"]) for rule in egress["spec"]["egress"] for port in rule["ports"]}
    )
    assert ports == [(53, "TCP"), (53, "UDP"), (443, "TCP"), (6379, "TCP"), (6443, "TCP"), (9090, "TCP")]
    redis_policy = rendered.one("NetworkPolicy", "redis")
    assert redis_policy["spec"]["egress"] == []


def test_custom_rules_and_watcher(render_set: Any) -> None:
    rendered = render_set("custom")
    watcher = _workload(rendered, "watcher")
    assert watcher["spec"]["replicas"] == 1 and watcher["spec"]["strategy"] == {"type": "Recreate"}
    assert watcher["spec"]["template"]["spec"]["containers"][0]["args"] == ["watch"]
    hpa = rendered.one("HorizontalPodAutoscaler", "worker")
    assert hpa["spec"]["maxReplicas"] == 6
    assert hpa["spec"]["scaleTargetRef"]["name"] == _workload(rendered, "worker")["metadata"]["name"]
    assert rendered.of_kind("PersistentVolumeClaim") == []
    assert "volumeClaimTemplates" not in rendered.one("StatefulSet", "redis")["spec"]


def test_notes_tell_how_to_get_a_token_and_reach_the_api(render_set: Any) -> None:
    notes = render_set("default").notes
    assert f"port-forward svc/{RELEASE}-aiops-responder 8080:8080" in notes
    assert "jsonpath='{.data.approver-token}'" in notes
    assert "/webhooks/alertmanager" in notes
