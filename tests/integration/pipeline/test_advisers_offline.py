"""With every AI adviser configured but unreachable, an alert still gets its built-in proposal at once,
and the record says which advisers were skipped and why."""

from __future__ import annotations

import time

import yaml

from tests.support.pipeline import auth, crash_alert
from tests.support.servers import free_port
from workers.settings import AdviserSettings


def test_unreachable_advisers_do_not_hold_up_the_proposal(pipeline, tmp_path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    pipeline.context.settings.advisers = AdviserSettings.model_validate(
        {
            "budget_s": 20,
            "kubectl_ai": {
                "enabled": True,
                "binary": str(tmp_path / "no-such-kubectl-ai"),
                "kubeconfig": str(tmp_path / "readonly.kubeconfig"),
            },
            "kagent": {"enabled": True, "url": closed},
            "holmesgpt": {"enabled": True, "url": closed},
            "k8sgpt": {"enabled": True, "binary": str(tmp_path / "no-such-k8sgpt")},
        }
    )
    rules_dir = pipeline.context.settings.rules.dir
    path = rules_dir / "pod-crashloop.yaml"
    rule = yaml.safe_load(path.read_text())
    rule["evidence"]["ai"] = ["kubectl-ai", "kagent", "holmesgpt", "k8sgpt"]
    path.write_text(yaml.safe_dump(rule))
    assert pipeline.context.rules.reload()

    pod = next(
        p["metadata"]["name"]
        for p in pipeline.cluster.list("Pod", "shop")
        if p["metadata"]["name"].startswith("checkout")
    )
    pipeline.post_alerts(crash_alert(pod))
    from rq import SimpleWorker

    from workers.spine import queues
    from workers.spine.context import install

    install(pipeline.context)
    started = time.monotonic()
    SimpleWorker(
        [queues.queue(queues.ALERTS, pipeline.context.redis)], connection=pipeline.context.redis
    ).work(burst=True, logging_level="WARNING")
    parked_after = time.monotonic() - started
    proposal = pipeline.proposals("pending")[0]
    assert proposal.advice == []  # the proposal did not wait for any adviser
    assert parked_after < 5

    pipeline.work(until=lambda: pipeline.context.proposals.get(proposal.id).advice)
    advice = {item["adviser"]: item for item in pipeline.context.proposals.get(proposal.id).advice}
    assert advice["builtin"]["status"] == "ok"
    for name in ("kubectl-ai", "kagent", "holmesgpt", "k8sgpt"):
        assert advice[name]["status"] in {"unavailable", "error", "skipped"}, advice[name]
        assert advice[name]["detail"], f"{name}: the record must say why"
    entries = [
        e for e in pipeline.context.records.get(proposal.record_id)["entries"] if e["kind"] == "advice"
    ]
    assert [e["data"]["adviser"] for e in entries] == [
        "builtin",
        "kubectl-ai",
        "kagent",
        "holmesgpt",
        "k8sgpt",
    ]
    kinds = pipeline.context.records.kinds(proposal.record_id)
    assert kinds.index("proposal") < kinds.index("advice")


def test_adviser_suggestion_becomes_an_alternative_needing_approval(pipeline, tmp_path) -> None:
    from tests.standins import KUBECTL_AI

    readonly = tmp_path / "readonly.kubeconfig"
    pipeline.cluster.write_kubeconfig(readonly, token="sandbox-readonly")
    pipeline.context.settings.advisers = AdviserSettings.model_validate(
        {"kubectl_ai": {"enabled": True, "binary": str(KUBECTL_AI), "kubeconfig": str(readonly)}}
    )
    path = pipeline.context.settings.rules.dir / "pod-crashloop.yaml"
    rule = yaml.safe_load(path.read_text())
    rule["evidence"]["ai"] = ["kubectl-ai"]
    path.write_text(yaml.safe_dump(rule))
    pipeline.context.rules.reload()

    pod = next(
        p["metadata"]["name"]
        for p in pipeline.cluster.list("Pod", "shop")
        if p["metadata"]["name"].startswith("checkout")
    )
    pipeline.post_alerts(crash_alert(pod))
    pipeline.work(until=lambda: [p for p in pipeline.proposals("pending") if p.advice])
    main = next(p for p in pipeline.proposals("pending") if "-alt-" not in p.id)
    assert main.action["type"] == "rollback-deployment"
    alternative = pipeline.context.proposals.get(main.alternatives[0]["proposal_id"])
    assert alternative.status == "pending" and alternative.approval == "required"
    assert alternative.action["type"] == "raise-memory-limit"
    assert alternative.action["params"] == {
        "deployment": "checkout",
        "container": "app",
        "memory_limit": "512Mi",
    }
    assert alternative.diagnosis["suggested_by"] == "kubectl-ai"
    assert alternative.action["plan"]["name"] == "checkout"
    # Issue 9: the alternative must not look like the built-in proposal in the list.
    assert (main.source, alternative.source) == ("builtin", "adviser:kubectl-ai")
    assert alternative.diagnosis["summary"].startswith("alternative suggested by kubectl-ai: ")
    assert not main.diagnosis["summary"].startswith("alternative")
    listed = pipeline.client.get("/api/v1/approvals?status=pending", headers=auth("viewer")).get_json()
    assert {item["id"]: item["source"] for item in listed["items"]} == {
        main.id: "builtin",
        alternative.id: "adviser:kubectl-ai",
    }
    kinds = pipeline.context.records.kinds(main.record_id)
    assert "alternative_proposed" in kinds
    generation = pipeline.cluster.get("Deployment", "shop", "checkout")["metadata"]["generation"]
    pipeline.work()
    assert pipeline.cluster.get("Deployment", "shop", "checkout")["metadata"]["generation"] == generation
