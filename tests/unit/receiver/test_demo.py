"""What `aiops demo` prints: the change as a YAML diff of the object, plain words for the decision, and
one line per operations-log entry."""

from __future__ import annotations

import copy
from pathlib import Path

from receiver.demo import change_lines, decision_words, short_log
from sandbox.server import SandboxCluster

DEMO = Path(__file__).resolve().parents[3] / "sandbox" / "scenarios" / "demo-crashloop"
NOTE = "not enough history yet: 3 sample(s) since 09:59 UTC (range 1h)"
OLD, NEW = "registry.example.com/shop/checkout:1.4.2", "registry.example.com/shop/checkout:1.5.0"


def changed(lines: list[str]) -> list[str]:
    return [line for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_a_rollback_is_shown_as_the_lines_it_changes() -> None:
    cluster = SandboxCluster.from_dir(DEMO)
    rs = cluster.get("ReplicaSet", "shop", "checkout-6d4b9f7c58")
    template = copy.deepcopy(rs["spec"]["template"])
    template["metadata"]["labels"].pop("pod-template-hash")
    plan = {
        "verb": "patch",
        "kind": "Deployment",
        "namespace": "shop",
        "name": "checkout",
        "patch_type": "json",
        "patch": [{"op": "replace", "path": "/spec/template", "value": template}],
        "guard": {"generation": 2},
    }
    lines = change_lines(cluster, plan)
    assert lines[0] == (
        "patch Deployment shop/checkout (only if generation 2 is unchanged), json patch; "
        "the object before and after it:"
    )
    assert lines[1:3] == ["--- Deployment shop/checkout now", "+++ after approval"]
    assert changed(lines) == [f"-        image: {NEW}", f"+        image: {OLD}"]
    assert "info" not in "\n".join(lines)  # env values are redacted on both sides, as in the stored plan
    assert not any("{'" in line for line in lines)  # no Python repr


def test_a_strategic_patch_and_a_delete() -> None:
    cluster = SandboxCluster.from_dir(DEMO)
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "app", "resources": {"limits": {"memory": "1Gi"}}}]}
            }
        }
    }
    plan = {"verb": "patch", "kind": "Deployment", "namespace": "shop", "name": "checkout", "patch": patch}
    assert changed(change_lines(cluster, plan)) == ["-            memory: 512Mi", "+            memory: 1Gi"]
    delete = {"verb": "delete", "kind": "Pod", "namespace": "shop", "name": "web-1", "guard": {"uid": "u-1"}}
    assert change_lines(cluster, delete) == ["delete Pod shop/web-1 (only if uid u-1 is unchanged)"]
    gone = {**plan, "name": "no-such-deployment"}
    assert change_lines(cluster, gone)[1:] == [
        "spec:",
        "  template:",
        "    spec:",
        "      containers:",
        "      - name: app",
        "        resources:",
        "          limits:",
        "            memory: 1Gi",
    ]


def test_the_decision_in_plain_words() -> None:
    approved = {"status": "executing", "decided_by": "alice", "decided_at": "2026-11-25T10:00:00Z"}
    assert decision_words(approved) == "approved by alice at 2026-11-25T10:00:00Z; executing"
    rejected = {**approved, "status": "rejected", "comment": "planned change"}
    assert decision_words(rejected) == (
        "rejected by alice at 2026-11-25T10:00:00Z: planned change; nothing will change"
    )
    assert decision_words({"status": "expired"}) == "the proposal is expired; nothing will change"


def test_the_short_log_has_one_line_per_entry() -> None:
    at = "2026-11-25T10:00:01.5+00:00"
    entries = [
        {
            "kind": "evidence_query",
            "at": at,
            "data": {
                "name": "restarts_1h",
                "value": None,
                "note": NOTE,
            },
        },
        {"kind": "evidence_query", "at": at, "data": {"name": "memory_peak_bytes", "value": 1.0}},
        {
            "kind": "approval",
            "at": at,
            "data": {"decision": "approved", "by": "alice", "comment": "ok\nreally"},
        },
        {
            "kind": "validation_check",
            "at": at,
            "data": {
                "round": 0,
                "results": [{"name": "target_ready", "ok": True}, {"name": "restarts_stable", "ok": False}],
            },
        },
        {"kind": "dry_run", "at": at, "data": {"result": "not a mapping"}},
        {"kind": "validation_result", "at": at, "data": {"status": "validated", "detail": {"big": "object"}}},
    ]
    lines = short_log({"id": "r-1", "entries": entries})
    assert lines[:2] == ["# Operations log r-1 (6 entries; `aiops demo --full` prints all of it)", ""]
    assert lines[2:] == [
        f"  10:00:01  evidence query        restarts_1h: {NOTE}",
        "  10:00:01  evidence query        memory_peak_bytes = 1.0",
        "  10:00:01  approval              approved by alice: ok really",
        "  10:00:01  validation check      round 0: target_ready ok, restarts_stable not ok",
        "  10:00:01  dry run               result=not a mapping",
        "  10:00:01  validation result     status=validated",
    ]
