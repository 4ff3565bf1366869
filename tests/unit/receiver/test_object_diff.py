"""The before/after of a plan: the three PATCH formats applied locally, and the YAML diff of the spec."""

from __future__ import annotations

import pytest

from receiver.object_diff import PatchProblem, apply, change_of, diff_lines
from workers.spine.plans import Plan


def deployment(memory: str = "256Mi") -> dict:
    return {
        "metadata": {"name": "checkout", "namespace": "shop", "generation": 2},
        "spec": {
            "replicas": 2,
            "template": {
                "metadata": {"labels": {"app": "checkout"}},
                "spec": {
                    "containers": [
                        {"name": "sidecar", "image": "envoy:1"},
                        {
                            "name": "app",
                            "image": "checkout:2",
                            "env": [{"name": "DB_PASSWORD", "value": "hunter2hunter2"}],
                            "resources": {"limits": {"memory": memory}},
                        },
                    ]
                },
            },
        },
        "status": {"readyReplicas": 0},
    }


def plan(patch_type: str, patch, verb: str = "patch") -> Plan:
    return Plan(
        verb=verb, kind="Deployment", namespace="shop", name="checkout", patch_type=patch_type, patch=patch
    )


def test_a_strategic_patch_merges_containers_by_name() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "app", "resources": {"limits": {"memory": "384Mi"}}}]}
            }
        }
    }
    after = apply(deployment(), plan("strategic", patch))
    containers = after["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["sidecar", "app"]
    assert (
        containers[1]["resources"] == {"limits": {"memory": "384Mi"}}
        and containers[1]["image"] == "checkout:2"
    )
    added = {"spec": {"template": {"spec": {"containers": [{"name": "new", "image": "x"}]}}}}
    assert len(apply(deployment(), plan("strategic", added))["spec"]["template"]["spec"]["containers"]) == 3


def test_json_and_merge_patches() -> None:
    template = {"metadata": {}, "spec": {"containers": [{"name": "app", "image": "checkout:1"}]}}
    rolled = apply(
        deployment(), plan("json", [{"op": "replace", "path": "/spec/template", "value": template}])
    )
    assert rolled["spec"]["template"] == template and rolled["spec"]["replicas"] == 2
    merged = apply(deployment(), plan("merge", {"spec": {"replicas": 5, "paused": None}}))
    assert merged["spec"]["replicas"] == 5
    with pytest.raises(PatchProblem):
        apply(deployment(), plan("json", [{"op": "replace", "path": "/spec/nothing/here", "value": 1}]))
    assert apply(deployment(), plan("json", [], verb="delete")) is None


def test_the_change_shows_only_the_spec_redacted_and_marks_each_line() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "app", "resources": {"limits": {"memory": "384Mi"}}}]}
            }
        }
    }
    change = change_of(plan("strategic", patch), deployment(), "before")
    assert (change.added, change.removed) == (1, 1)
    assert [line.text.strip() for line in change.lines if line.kind == "add"] == ["memory: 384Mi"]
    assert [line.text.strip() for line in change.lines if line.kind == "del"] == ["memory: 256Mi"]
    assert "hunter2" not in change.before_yaml + change.after_yaml  # env values never reach a page
    assert "readyReplicas" not in change.before_yaml and change.problem is None


def test_a_patch_that_does_not_apply_is_said_not_hidden() -> None:
    change = change_of(plan("json", [{"op": "remove", "path": "/spec/gone/x"}]), deployment(), "before")
    assert change.problem and change.lines == [] and "replicas: 2" in change.before_yaml


def test_hunks_are_separated_by_a_gap() -> None:
    before = "\n".join(f"line{i}" for i in range(40))
    after = before.replace("line2\n", "line2 changed\n").replace("line35", "line35 changed")
    kinds = [line.kind for line in diff_lines(before, after, context=1)]
    assert kinds.count("gap") == 2 and kinds.count("add") == 2 and kinds.count("del") == 2
