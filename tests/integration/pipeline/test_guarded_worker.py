"""The whole US1 loop on the guarded worker (workers.runner.worker.build_worker, as `aiops worker` runs
it): every job the product enqueues (investigation, adviser follow-up, execution, scheduled validation)
passes its allowlist and its plain-data unpickler, so refusing foreign jobs refuses none of ours."""

from __future__ import annotations

import time

import yaml

from tests.support.pipeline import auth, crash_alert
from workers.runner.worker import build_worker
from workers.settings import AdviserSettings
from workers.spine import counters, queues
from workers.spine.context import install


def work(pipeline, until, timeout: float = 60.0):
    install(pipeline.context)
    deadline = time.monotonic() + timeout
    while True:
        worker = build_worker(pipeline.context, list(queues.ALL))
        worker.work(burst=True, with_scheduler=True, logging_level="WARNING")
        value = until()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def test_the_product_s_own_jobs_all_run_on_the_guarded_worker(pipeline, tmp_path) -> None:
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
    assert pipeline.context.rules.reload()
    pod = next(
        p["metadata"]["name"]
        for p in pipeline.cluster.list("Pod", "shop")
        if p["metadata"]["name"].startswith("checkout")
    )
    pipeline.post_alerts(crash_alert(pod))

    store = pipeline.context.proposals
    advised = work(pipeline, lambda: [p for p in store.list("pending") if p.advice and "-alt-" not in p.id])
    assert advised, "the investigation and the adviser follow-up did not both run"
    main = advised[0]
    assert main.alternatives and store.get(main.alternatives[0]["proposal_id"]).source == "adviser:kubectl-ai"

    response = pipeline.client.post(f"/api/v1/approvals/{main.id}/approve", json={}, headers=auth("approver"))
    assert response.status_code == 200
    done = work(pipeline, lambda: store.get(main.id).status in {"validated", "regressed", "succeeded"})
    assert done, f"execution did not finish: {store.get(main.id).status}"
    assert store.get(main.id).execution
    assert not any(name == "jobs_refused_total" for name, _ in counters.read_all(pipeline.context.redis))
