"""A sample incident (alert, target, evidence, diagnosis) for adviser tests, with secrets planted in it.

The planted values must never reach an adviser: tests look for them in what the stand-ins received.
"""

from __future__ import annotations

import copy
from typing import Any

PLANTED_TOKEN = "sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0ZZtokenQQ"
PLANTED_PASSWORD = "hunter2-Sup3rS3cret!"
PLANTED_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaGVja291dCJ9.c2lnbmF0dXJlLXZhbHVlLWhlcmU"
PLANTED = (PLANTED_TOKEN, PLANTED_PASSWORD, PLANTED_JWT, "AKIAIOSFODNN7EXAMPLE")

_INCIDENT: dict[str, Any] = {
    "alert": {
        "status": "firing",
        "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "checkout-7d9f-abcde"},
        "annotations": {"summary": "Pod shop/checkout-7d9f-abcde is crash looping"},
        "startsAt": "2026-11-25T10:00:00Z",
        "endsAt": None,
        "fingerprint": "c4f1a2b3",
        "source": "alertmanager",
    },
    "target": {"kind": "Pod", "namespace": "shop", "name": "checkout-7d9f-abcde"},
    "evidence": {
        "target": {"kind": "Pod", "namespace": "shop", "name": "checkout-7d9f-abcde"},
        "pod": {
            "metadata": {"name": "checkout-7d9f-abcde", "namespace": "shop"},
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "env": [
                            {"name": "DB_PASSWORD", "value": PLANTED_PASSWORD},
                            {"name": "LOG_LEVEL", "value": "info"},
                        ],
                    }
                ]
            },
        },
        "containers": [
            {
                "name": "app",
                "image": "shop/checkout:1.4.2",
                "init": False,
                "ready": False,
                "restartCount": 7,
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": "back-off 5m0s restarting failed container",
                },
                "lastTerminated": {
                    "reason": "OOMKilled",
                    "exitCode": 137,
                    "signal": None,
                    "startedAt": "2026-11-25T09:58:00Z",
                    "finishedAt": "2026-11-25T09:59:40Z",
                },
                "resources": {"requests": {"memory": "256Mi"}, "limits": {"memory": "256Mi"}},
                "livenessProbe": None,
                "readinessProbe": None,
                "startupProbe": None,
            }
        ],
        "previous_logs": {
            "app": (
                "starting checkout on :8080\n"
                f"connecting to postgres://checkout:{PLANTED_PASSWORD}@db.shop:5432/orders\n"
                f"Authorization: Bearer {PLANTED_TOKEN}\n"
                f"session token={PLANTED_JWT}\n"
                "aws_access_key_id=AKIAIOSFODNN7EXAMPLE\n"
                "java.lang.OutOfMemoryError: Java heap space\n"
            )
        },
        "events": [
            {
                "type": "Warning",
                "reason": "BackOff",
                "message": "Back-off restarting failed container",
                "count": 12,
                "lastTimestamp": "2026-11-25T10:00:00Z",
                "object": "Pod/checkout-7d9f-abcde",
            }
        ],
        "owner": {
            "replicaset": "checkout-7d9f",
            "deployment": "checkout",
            "revision": 3,
            "rolled_out_at": "2026-11-25T08:00:00Z",
            "revisions": [
                {
                    "revision": 3,
                    "replicaset": "checkout-7d9f",
                    "images": ["shop/checkout:1.4.2"],
                    "created": "2026-11-25T08:00:00Z",
                }
            ],
        },
        "node": {"name": "node-1", "ready": True, "conditions": []},
        "metrics": {
            "restarts_1h": 6.0,
            "memory_peak_bytes": 268000000.0,
            "memory_limit_bytes": 268435456.0,
            "cpu_throttled_ratio": None,
        },
        "queries": {},
        "errors": [],
    },
    "diagnosis": {
        "category": "oom_killed",
        "summary": "container app is OOMKilled at its 256Mi memory limit",
        "root_cause": "memory limit too low for the workload",
        "confidence": 0.9,
        "container": "app",
        "citations": [{"source": "pod.status", "text": "lastState.terminated.reason=OOMKilled exitCode=137"}],
    },
}


def sample_incident() -> dict[str, Any]:
    """A fresh copy of the sample incident: ``alert``, ``target``, ``evidence``, ``diagnosis``."""
    return copy.deepcopy(_INCIDENT)
