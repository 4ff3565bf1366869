"""The revert of a JSON patch on a StatefulSet or DaemonSet puts back exactly what it replaced."""

from __future__ import annotations

from workers.spine.plans import Plan, revert_plan


def test_revert_restores_the_replaced_paths_from_the_snapshot() -> None:
    plan = Plan(
        verb="patch",
        kind="DaemonSet",
        namespace="ops",
        name="agent",
        patch_type="json",
        patch=[
            {"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "agent"},
            {"op": "replace", "path": "/spec/template/spec/containers/0/resources", "value": {"limits": {}}},
            {"op": "add", "path": "/spec/template/spec/containers/0/new", "value": 1},
        ],
    )
    before = {"requests": {"cpu": "1"}}
    snapshot = {"spec": {"template": {"spec": {"containers": [{"name": "agent", "resources": before}]}}}}
    revert = revert_plan(plan, snapshot, {"metadata": {"generation": 5}})
    assert revert is not None and revert.guard == {"generation": 5}
    assert revert.patch == [
        plan.patch[0],
        {"op": "replace", "path": "/spec/template/spec/containers/0/resources", "value": before},
        {"op": "remove", "path": "/spec/template/spec/containers/0/new"},
    ]
