"""NetworkPolicy, on by default: the receiver's port is the only way in to the responder, Redis takes only
the responder's own pods, and each component goes out only where it needs to."""

from __future__ import annotations

from typing import Any

from tests.helm.conftest import RELEASE, Rendered, render

DNS = {(53, "UDP"), (53, "TCP")}
REDIS_PEER = {
    "podSelector": {
        "matchLabels": {
            "app.kubernetes.io/name": "aiops-responder",
            "app.kubernetes.io/instance": RELEASE,
            "app.kubernetes.io/component": "redis",
        }
    }
}


def _ports(rule: dict[str, Any]) -> set[tuple[Any, str]]:
    return {(port["port"], port["protocol"]) for port in rule.get("ports", [])}


def _egress_ports(policy: dict[str, Any]) -> set[tuple[Any, str]]:
    return {port for rule in policy["spec"]["egress"] for port in _ports(rule)}


def _policy(rendered: Rendered, component: str) -> dict[str, Any]:
    policy = rendered.one("NetworkPolicy", component)
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == component
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    return policy


def test_every_pod_of_the_chart_has_a_policy(rendered: Rendered) -> None:
    selected = {
        policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        for policy in rendered.of_kind("NetworkPolicy")
    }
    components = {
        obj["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
        for obj in rendered.objects
        if obj["kind"] in ("Deployment", "StatefulSet")
    }
    assert selected == components


def test_receiver_port_open_to_anywhere_by_default(render_set: Any) -> None:
    policy = _policy(render_set("default"), "receiver")
    (rule,) = policy["spec"]["ingress"]
    assert "from" not in rule and _ports(rule) == {("http", "TCP")}


def test_receiver_sources_can_be_listed(render_set: Any) -> None:
    (rule,) = _policy(render_set("ingress"), "receiver")["spec"]["ingress"]
    assert _ports(rule) == {("http", "TCP")}
    names = [peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for peer in rule["from"]]
    assert names == ["monitoring", "monitoring", "ingress-nginx"]  # Alertmanager, Prometheus, ingress


def test_nothing_else_listens(rendered: Rendered) -> None:
    for component in ("worker", "cron", "watcher"):
        if component == "watcher" and not rendered.values.get("watcher", {}).get("enabled"):
            continue
        assert _policy(rendered, component)["spec"]["ingress"] == [], component


def test_egress_as_each_component_needs(render_set: Any) -> None:
    rendered = render_set("custom")  # the watcher on
    for component in ("receiver", "cron"):
        policy = _policy(rendered, component)
        assert _egress_ports(policy) == DNS | {(6379, "TCP")}, component
        assert REDIS_PEER in [peer for rule in policy["spec"]["egress"] for peer in rule.get("to", [])]
    assert _egress_ports(_policy(rendered, "watcher")) == DNS | {(6379, "TCP"), (443, "TCP"), (6443, "TCP")}
    assert _egress_ports(_policy(rendered, "worker")) == DNS | {
        (6379, "TCP"),
        (443, "TCP"),
        (6443, "TCP"),
        (9090, "TCP"),
    }


def test_redis_takes_only_the_responders_pods(rendered: Rendered) -> None:
    if rendered.of_kind("StatefulSet") == []:  # an external Redis
        assert not any(p["metadata"]["name"].endswith("-redis") for p in rendered.of_kind("NetworkPolicy"))
        return
    policy = rendered.one("NetworkPolicy", "redis")
    assert policy["spec"]["egress"] == []
    (rule,) = policy["spec"]["ingress"]
    assert _ports(rule) == {("redis", "TCP")}
    own, *others = rule["from"]
    assert own["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "aiops-responder",
        "app.kubernetes.io/instance": RELEASE,
    }
    (components,) = own["podSelector"]["matchExpressions"]
    expected = {"receiver", "worker", "cron"} | (
        {"watcher"} if rendered.values.get("watcher", {}).get("enabled") else set()
    )
    assert components["key"] == "app.kubernetes.io/component" and set(components["values"]) == expected
    # Only KEDA's operator besides, and only with KEDA on.
    assert len(others) == (1 if rendered.values.get("worker", {}).get("keda", {}).get("enabled") else 0)


def test_workers_reach_the_advisers_and_sinks_that_are_on(chart: Any) -> None:
    values = {
        "settings": {
            "advisers": {
                "kagent": {"enabled": True, "url": "http://kagent-controller.kagent.svc:8083"},
                "holmesgpt": {"enabled": True, "url": "https://holmes.example.com:8443"},
                "k8sgpt": {"enabled": False},
            },
            "notify": {
                "sinks": [
                    {"type": "webhook", "url": "https://hooks.example.com/services/T0/B0/SECRET"},
                    {"type": "webhook", "url": "http://chatops-bridge"},
                    {"type": "log"},
                ]
            },
        },
        "networkPolicy": {"workerExtraEgress": [{"ports": [{"port": 4317, "protocol": "TCP"}]}]},
    }
    rendered = render(chart, "advisers", values)
    egress = _policy(rendered, "worker")["spec"]["egress"]
    namespaces = [
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for rule in egress
        for peer in rule.get("to", [])
        if list(peer) == ["namespaceSelector"]
    ]
    assert namespaces == ["kagent", rendered.one("ConfigMap", "settings")["metadata"]["namespace"]]
    assert {(8443, "TCP"), (4317, "TCP")} <= _egress_ports(_policy(rendered, "worker"))
    # The receiver gets none of it, and no URL's path (a webhook's secret) lands in the manifest.
    assert _egress_ports(_policy(rendered, "receiver")) == DNS | {(6379, "TCP")}
    source = next(text for path, text in rendered.files.items() if path.endswith("networkpolicy.yaml"))
    assert "SECRET" not in source and "hooks.example.com" in source
    # Advisers run as CLIs talk to their model provider over HTTPS.
    cli = render(chart, "cli-adviser", {"settings": {"advisers": {"kubectl_ai": {"enabled": True}}}})
    assert any(
        _ports(rule) == {(443, "TCP")} and "to" not in rule
        for rule in _policy(cli, "worker")["spec"]["egress"]
    )


def test_off_only_on_request(chart: Any) -> None:
    rendered = render(chart, "no-policies", {"networkPolicy": {"enabled": False}})
    assert rendered.of_kind("NetworkPolicy") == []
    assert "WARNING: networkPolicy.enabled=false" in rendered.notes


def test_an_external_sentinel_redis_is_reached_on_both_ports_and_acks_are_wired(chart) -> None:
    url = "redis+sentinel://sentinel-0.redis:26379,sentinel-1.redis:26379/aiops/0"
    values = {
        "redis": {"url": url, "minReplicasAck": 1},
        "networkPolicy": {"externalRedis": {"port": 6379, "sentinelPort": 26379}},
    }
    rendered = render(chart, "sentinel", values)
    assert not [obj for obj in rendered.objects if obj["kind"] == "StatefulSet" and "redis" in obj["_source"]]
    for component in ("receiver", "worker"):
        assert {(6379, "TCP"), (26379, "TCP")} <= _egress_ports(_policy(rendered, component))
    deployment = rendered.one("Deployment", "worker")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["REDIS_URL"] == url
    assert env["AIOPS_REDIS_MIN_REPLICAS_ACK"] == "1"
