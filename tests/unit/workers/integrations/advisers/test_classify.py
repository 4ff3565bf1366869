"""Suggested commands are classified read/mutating by verb and mapped to allowlisted actions when obvious."""

from __future__ import annotations

import pytest

from rules.allowlist import ACTIONS
from workers.integrations.advisers.classify import (
    classify_command,
    extract_commands,
    map_to_action,
    recommendations_from_text,
)


@pytest.mark.parametrize(
    "command",
    [
        "kubectl get pods -n shop",
        "kubectl -n shop describe pod checkout-1",
        "kubectl logs checkout-1 -c app --previous",
        "kubectl top pod checkout-1",
        "kubectl explain deployment.spec",
        "kubectl auth can-i delete pods",
        "kubectl --context prod get events",
        "kubectl rollout status deployment/checkout",
        "kubectl rollout history deployment/checkout",
        "helm list -n shop",
        "helm status checkout",
        "helm get values checkout",
        "$ kubectl get nodes",
    ],
)
def test_read_commands(command: str) -> None:
    assert classify_command(command) == "read"


@pytest.mark.parametrize(
    "command",
    [
        "kubectl apply -f fix.yaml",
        "kubectl patch deployment checkout -p '{\"spec\":{}}'",
        "kubectl delete pod checkout-1",
        "kubectl scale deployment/checkout --replicas=3",
        "kubectl rollout undo deployment/checkout",
        "kubectl rollout restart deployment/checkout",
        "kubectl set image deployment/checkout app=shop/checkout:1.4.1",
        "kubectl edit deployment checkout",
        "kubectl create configmap x --from-literal=a=b",
        "kubectl replace -f x.yaml",
        "kubectl label pod x a=b",
        "kubectl annotate pod x a=b",
        "kubectl cordon node-1",
        "kubectl drain node-1 --ignore-daemonsets",
        "kubectl taint nodes node-1 k=v:NoSchedule",
        "kubectl exec -it checkout-1 -- sh",
        "kubectl -n shop --kubeconfig /tmp/k delete pod x",
        "helm install x chart/",
        "helm upgrade checkout chart/ --set image.tag=1",
        "helm uninstall checkout",
        "helm rollback checkout 2",
        "helm -n shop rollback checkout 2",
    ],
)
def test_mutating_commands(command: str) -> None:
    assert classify_command(command) == "mutating"


@pytest.mark.parametrize("command", ["kubectl", "kubectl frobnicate x", "rm -rf /", "helm repo add x y", ""])
def test_unknown_commands(command: str) -> None:
    assert classify_command(command) == "unknown"


@pytest.mark.parametrize(
    ("command", "action", "params"),
    [
        (
            "kubectl rollout undo deployment/checkout -n shop",
            "rollback-deployment",
            {"namespace": "shop", "deployment": "checkout"},
        ),
        (
            "kubectl rollout undo deploy checkout --to-revision=2",
            "rollback-deployment",
            {"deployment": "checkout", "to_revision": 2},
        ),
        (
            "kubectl delete pod checkout-7d9f-abcde -n shop",
            "restart-pod",
            {"namespace": "shop", "pod": "checkout-7d9f-abcde"},
        ),
        ("kubectl delete pods/checkout-1", "restart-pod", {"pod": "checkout-1"}),
        (
            "kubectl set resources deployment/checkout -c app --limits=memory=512Mi -n shop",
            "raise-memory-limit",
            {"namespace": "shop", "memory": "512Mi", "container": "app", "workload": "deployment/checkout"},
        ),
        (
            "kubectl set resources deployment checkout --limits=cpu=1,memory=1Gi",
            "raise-memory-limit",
            {"memory": "1Gi", "workload": "deployment/checkout"},
        ),
        ('kubectl patch deployment checkout -p \'{"spec":{"livenessProbe":{}}}\'', "adjust-probe", {}),
    ],
)
def test_obvious_suggestions_map_to_allowlisted_actions(command: str, action: str, params: dict) -> None:
    assert action in ACTIONS
    assert map_to_action(command) == (action, params)


@pytest.mark.parametrize(
    "command",
    [
        "kubectl delete deployment checkout",
        "kubectl delete pod -l app=checkout",
        "kubectl set resources deployment/checkout --limits=cpu=2",
        "kubectl rollout undo statefulset/db",
        "kubectl get pods",
        "helm rollback checkout 2",
    ],
)
def test_other_suggestions_map_to_no_action(command: str) -> None:
    assert map_to_action(command) == (None, {})


def test_commands_are_found_in_free_text() -> None:
    text = (
        "Use kubectl to look at the pod first.\n"
        "1. `kubectl describe pod checkout-1 -n shop`\n"
        "$ kubectl logs checkout-1 --previous\n"
        "```\nkubectl rollout undo deployment/checkout -n shop\n```\n"
        "Then run helm rollback checkout 2.\n"
        "`kubectl describe pod checkout-1 -n shop`\n"
    )
    assert extract_commands(text) == [
        "kubectl describe pod checkout-1 -n shop",
        "kubectl logs checkout-1 --previous",
        "kubectl rollout undo deployment/checkout -n shop",
        "helm rollback checkout 2",
    ]


def test_recommendations_carry_risk_action_and_the_line_they_came_from() -> None:
    recs = recommendations_from_text(
        "2. Raise it: `kubectl set resources deploy/checkout --limits=memory=1Gi`"
    )
    assert len(recs) == 1
    rec = recs[0]
    assert rec.command == "kubectl set resources deploy/checkout --limits=memory=1Gi"
    assert (rec.risk, rec.action, rec.params["memory"]) == ("mutating", "raise-memory-limit", "1Gi")
    assert rec.text.startswith("2. Raise it")
