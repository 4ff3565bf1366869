"""Sample rule text and alerts shared by the rules tests."""

# BASE_RULE is YAML with realistic, long PromQL lines.
# ruff: noqa: E501

from __future__ import annotations

from typing import Any

# Line numbers matter: the lint tests edit single lines of this text and expect problems there.
BASE_RULE = """\
name: crash
description: test rule
match:
  alertname: [KubePodCrashLooping]
  labels:
    namespace: "!~kube-system"
  status: firing
playbook: pod-failure
target:
  kind: Pod
  namespace: "{{ labels.namespace }}"
  name: "{{ labels.pod }}"
evidence:
  prometheus:
    restarts_1h: 'increase(kube_pod_container_status_restarts_total{namespace={{ labels.namespace | promql }}, pod={{ labels.pod | promql }}}[1h])'
  kubernetes: [pod, previous_logs, events, owner]
  ai: [kubectl-ai, kagent]
remediation:
  actions: [rollback-deployment, raise-memory-limit, restart-pod]
  approval: required
  expires_after: 1h
validate:
  after: 2m
  for: 1h
  checks:
    - promql: 'increase(kube_pod_container_status_restarts_total{namespace={{ labels.namespace | promql }}, pod={{ labels.pod | promql }}}[5m]) == 0'
    - kubernetes: target_ready
cooldown: 30m
"""


def edit_line(text: str, line: int, replacement: str | None) -> str:
    """Replace the 1-based ``line`` of ``text`` (None deletes it)."""
    lines = text.splitlines()
    if replacement is None:
        del lines[line - 1]
    else:
        lines[line - 1] = replacement
    return "\n".join(lines) + "\n"


def make_alert(
    alertname: str = "KubePodCrashLooping", status: str = "firing", **labels: str
) -> dict[str, Any]:
    """An alert as the receiver normalises it."""
    return {
        "status": status,
        "labels": {"alertname": alertname, **labels},
        "annotations": {"summary": "pod is crash looping"},
        "startsAt": "2026-11-25T10:00:00Z",
        "endsAt": None,
        "generatorURL": "http://prometheus/graph",
        "fingerprint": "c4f1aa",
        "source": "alertmanager",
        "receivedAt": "2026-11-25T10:00:03Z",
    }
