"""A bad rollout (image 2.1.0 answers 12 % 5xx) is halted within its first 3 updated replicas, the pause
is automatic and recorded so; after a person approves the undo the old template serves again, the error
rate is under 5 % and the undo is validated. Real Prometheus, Redis, RQ workers and the sandbox."""

from __future__ import annotations

from tests.support.pipeline import Pipeline, auth
from tests.support.rollouts import BAD, FIRST, apps, gate, set_image, start_gate, until, until_state
from workers.spine.records import render_markdown


def test_bad_rollout_is_halted_then_undone(shop: Pipeline) -> None:
    set_image(shop, BAD)
    started = start_gate(shop)
    assert started["state"] == "running" and started["new_replicaset"] != started["old_replicaset"]

    halted = until_state(shop, started["id"], {"halted", "continued", "inconclusive", "aborted"})
    assert halted["state"] == "halted", halted
    failing = [r for r in halted["rounds"] if r["verdict"] == "failing"]
    assert failing and failing[-1]["updated_replicas"] <= 3, halted["rounds"]
    assert failing[-1]["new_error_rate"] > 0.05 and failing[-1]["old_error_rate"] < 0.05
    assert "error rate" in halted["reason"]

    dep = apps(shop).read_namespaced_deployment("checkout", "shop")
    assert dep.spec.paused is True
    pause = shop.context.proposals.get(halted["proposals"]["rollout-pause"])
    assert pause.approval == "auto" and pause.risk == "low" and pause.status == "succeeded"
    record = shop.context.records.get(halted["record_id"])
    approvals = [e["data"] for e in record["entries"] if e["kind"] == "approval"]
    assert approvals and approvals[0]["auto"] is True

    undo_id, resume_id = halted["proposals"]["rollout-undo"], halted["proposals"]["rollout-resume"]
    for pid in (undo_id, resume_id):
        parked = shop.context.proposals.get(pid)
        assert (parked.status, parked.approval, parked.risk) == ("pending", "required", "medium")
    undo = shop.context.proposals.get(undo_id)
    patch = undo.action["plan"]["patch"]
    assert [op["path"] for op in patch] == ["/spec/template", "/spec/paused"] and patch[1]["value"] is False

    answer = shop.client.post(f"/api/v1/approvals/{undo_id}/approve", json={}, headers=auth("approver"))
    assert answer.status_code == 200, answer.get_data(as_text=True)

    def validated() -> str | None:
        status = shop.context.proposals.get(undo_id).status
        return status if status in {"validated", "regressed", "failed", "unknown"} else None

    assert until(shop, validated, timeout=120) == "validated"
    dep = apps(shop).read_namespaced_deployment("checkout", "shop")
    assert dep.spec.template.spec.containers[0].image == FIRST
    assert not dep.spec.paused
    assert shop.context.proposals.get(resume_id).status == "superseded"
    checks = shop.context.proposals.get(undo_id).validation["rounds"][-1]["results"]
    assert all(check["ok"] for check in checks) and {c["name"] for c in checks} >= {"target_ready"}
    assert gate(shop, started["id"])["state"] == "halted"
    markdown = render_markdown(shop.context.records.get(halted["record_id"]))
    assert "analysis round" in markdown and "gate decision" in markdown
