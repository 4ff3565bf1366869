"""Shared data of the US2 scaling tests: the sandbox scenarios and the objects tests add to them."""

from __future__ import annotations

from pathlib import Path

SCENARIOS = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios"
# 450m a pod now; a week of it, with one 30-minute spike a day at twice the load: a 2.7-core peak.
SCENARIO = """
hpa: {sync_period_s: 15}
history:
  days: 7
  seed: 3
  workloads:
    shop/web:
      cpu: {base: 450m, daily: 0, weekly: 0, noise: 0}
      memory: {base: 200Mi, daily: 0, weekly: 0, noise: 0}
      spikes: {per_day: 1, minutes: 30, cpu: 2.0, memory: 1.0}
      startup: {minutes: 1, cpu: 1.0, memory: 1.0}
"""
KEDA = {
    "apiVersion": "keda.sh/v1alpha1",
    "kind": "ScaledObject",
    "metadata": {"name": "web-queue", "namespace": "shop"},
    "spec": {"scaleTargetRef": {"name": "web"}, "triggers": [{"type": "cpu", "metadata": {"value": "60"}}]},
}
FOREIGN_HPA = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "web-team", "namespace": "shop"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 3,
        "maxReplicas": 3,
    },
}
