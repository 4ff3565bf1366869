"""Incidents are about workloads: on the sandbox cluster, with a real Redis and real RQ workers, alerts
for sibling pods of one workload make one incident, one record and at most one proposal; a proposal
targets the object it changes; a change that ran makes the sibling proposals it left moot `superseded`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rq import SimpleWorker
from rq.job import Job

from tests.support.pipeline import Pipeline, auth, build_pipeline, crash_alert, fast_rules, stop_pipeline
from workers.domain import Target
from workers.integrations.kubernetes.client import Kube
from workers.integrations.kubernetes.workloads import workload_of
from workers.settings import AdviserSettings
from workers.spine import incidents, queues
from workers.spine.context import install

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "sandbox" / "scenarios" / "demo-crashloop"
CHECKOUT = ("checkout-7d9f8b6c5-q8wzt", "checkout-7d9f8b6c5-x2k4p")
"""The demo Deployment's two crash-looping pods (namespace shop)."""
DEPLOYMENT = Target(kind="Deployment", namespace="shop", name="checkout")
FINAL = {"validated", "regressed", "failed", "unknown", "superseded", "rejected", "expired"}


# --- scenarios: the demo, plus workloads of other kinds built from its crash-looping pod ---------------


def _uid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.incidents.test"))


def _template() -> dict[str, Any]:
    return dict(next(yaml.safe_load_all((DEMO / "pods.yaml").read_text())))


def crashing_pod(name: str, labels: dict[str, str], owner: dict[str, str] | None) -> dict[str, Any]:
    """The demo's crash-looping pod under another name and owner (None: a bare pod)."""
    pod = yaml.safe_load(yaml.safe_dump(_template()))
    pod["metadata"] = {
        "name": name,
        "namespace": "shop",
        "uid": _uid(name),
        "creationTimestamp": pod["metadata"]["creationTimestamp"],
        "labels": labels,
    }
    if owner is not None:
        pod["metadata"]["ownerReferences"] = [{**owner, "controller": True, "blockOwnerDeletion": True}]
    for status in pod["status"]["containerStatuses"]:
        status["state"]["waiting"]["message"] = f"back-off restarting failed container=app pod={name}"
    return pod


def _pod_template(labels: dict[str, str], restart: str = "Always") -> dict[str, Any]:
    return {
        "metadata": {"labels": labels},
        "spec": {
            "restartPolicy": restart,
            "containers": [{"name": "app", "image": "registry.example.com/shop/checkout:1.5.0"}],
        },
    }


def _owner(kind: str, name: str) -> dict[str, str]:
    api = "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
    return {"apiVersion": api, "kind": kind, "name": name, "uid": _uid(name)}


def workloads_scenario(tmp_path: Path) -> Path:
    """The demo plus: StatefulSet ledger (2 crash-looping pods), a bare pod debug-shell, DaemonSet
    log-agent, CronJob report with Job report-29000000, and a Job of its own, migrate."""
    scenario = Path(shutil.copytree(DEMO, tmp_path / "scenario"))
    ledger = {"app": "ledger"}
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "ledger", "namespace": "shop", "uid": _uid("ledger"), "labels": ledger},
            "spec": {
                "replicas": 2,
                "serviceName": "ledger",
                "selector": {"matchLabels": ledger},
                "template": _pod_template(ledger),
            },
        },
        crashing_pod("ledger-0", ledger, _owner("StatefulSet", "ledger")),
        crashing_pod("ledger-1", ledger, _owner("StatefulSet", "ledger")),
        crashing_pod("debug-shell", {"app": "debug"}, None),
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "log-agent", "namespace": "shop", "uid": _uid("log-agent")},
            "spec": {
                "selector": {"matchLabels": {"app": "log-agent"}},
                "template": _pod_template({"app": "log-agent"}),
            },
        },
        crashing_pod("log-agent-7xk2p", {"app": "log-agent"}, _owner("DaemonSet", "log-agent")),
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "report", "namespace": "shop", "uid": _uid("report")},
            "spec": {
                "schedule": "0 * * * *",
                "jobTemplate": {"spec": {"template": _pod_template({"app": "report"}, "OnFailure")}},
            },
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": "report-29000000",
                "namespace": "shop",
                "uid": _uid("report-29000000"),
                "ownerReferences": [{**_owner("CronJob", "report"), "controller": True}],
            },
            "spec": {"template": _pod_template({"app": "report"}, "OnFailure")},
        },
        crashing_pod("report-29000000-b8q4w", {"app": "report"}, _owner("Job", "report-29000000")),
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "shop", "uid": _uid("migrate")},
            "spec": {"template": _pod_template({"app": "migrate"}, "OnFailure")},
        },
        crashing_pod("migrate-k2v9d", {"app": "migrate"}, _owner("Job", "migrate")),
    ]
    (scenario / "workloads.yaml").write_text(yaml.safe_dump_all(documents, sort_keys=False))
    logs = scenario / "logs" / "shop"
    for pod in ("ledger-0", "ledger-1", "debug-shell"):
        shutil.copytree(logs / CHECKOUT[1], logs / pod)
    return scenario


# --- fixtures and helpers -------------------------------------------------------------------------------


@pytest.fixture
def make_pipeline(redis_conn, redis_server, tmp_path) -> Iterator[Callable[..., Pipeline]]:
    """Pipelines without Prometheus (its queries fail fast and are recorded), stopped after the test."""
    built: list[Pipeline] = []

    def make(scenario: Path = DEMO) -> Pipeline:
        rules = fast_rules(tmp_path / "rules")
        pipeline = build_pipeline(scenario, redis_conn, redis_server.url, tmp_path, rules)
        built.append(pipeline)
        return pipeline

    yield make
    for pipeline in built:
        stop_pipeline(pipeline)


def work_queue(pipeline: Pipeline, name: str) -> None:
    """Run one burst RQ worker on queue ``name`` only (investigations, without the actions behind them)."""
    install(pipeline.context)
    SimpleWorker([queues.queue(name, pipeline.context.redis)], connection=pipeline.context.redis).work(
        burst=True, logging_level="WARNING"
    )


def entries(pipeline: Pipeline, record_id: str, kind: str) -> list[dict[str, Any]]:
    record = pipeline.client.get(f"/api/v1/records/{record_id}", headers=auth("viewer")).get_json()
    return [entry["data"] for entry in record["entries"] if entry["kind"] == kind]


def record_ids(pipeline: Pipeline) -> list[str]:
    return [item["id"] for item in pipeline.context.records.list(limit=100)]


def approve(pipeline: Pipeline, proposal_id: str) -> None:
    response = pipeline.client.post(f"/api/v1/approvals/{proposal_id}/approve", headers=auth("approver"))
    assert response.status_code == 200, response.get_json()


def with_kubectl_ai(pipeline: Pipeline, tmp_path: Path) -> None:
    """The kubectl-ai stand-in advises raising checkout's memory limit: an alternative proposal for the
    same Deployment, planned against the same generation as the built-in rollback."""
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


def main_and_alternative(pipeline: Pipeline) -> tuple[Any, Any]:
    pending = pipeline.work(until=lambda: [p for p in pipeline.proposals("pending") if p.alternatives])
    main = pending[0]
    return main, pipeline.context.proposals.get(main.alternatives[0]["proposal_id"])


# --- one incident per workload --------------------------------------------------------------------------


def test_two_pods_of_one_deployment_in_one_payload_are_one_investigation(make_pipeline) -> None:
    pipeline = make_pipeline()
    before = pipeline.cluster.get("Deployment", "shop", "checkout")["metadata"]["generation"]
    result = pipeline.post_alerts(*(crash_alert(pod) for pod in CHECKOUT))
    assert result["enqueued"] == 2  # one job per alert: the workload is known only to the investigation

    pipeline.work()
    (proposal,) = pipeline.proposals()
    assert proposal.status == "pending" and proposal.action["type"] == "rollback-deployment"
    # The proposal targets what it changes; the alert's pod stays in the diagnosis.
    assert proposal.target == {"kind": "Deployment", "namespace": "shop", "name": "checkout"}
    assert proposal.action["plan"]["kind"] == "Deployment" and proposal.action["plan"]["name"] == "checkout"
    opener = proposal.diagnosis["subject"]["name"]
    assert proposal.diagnosis["subject"]["kind"] == "Pod" and opener in CHECKOUT
    assert proposal.diagnosis["workload"] == {
        **DEPLOYMENT.model_dump(),
        "replicas": "2 of 2 replicas failing",
    }

    # One investigation: one record, holding both pods.
    assert record_ids(pipeline) == [proposal.record_id]
    (opened,) = entries(pipeline, proposal.record_id, "incident_opened")
    assert opened["workload"] == DEPLOYMENT.model_dump()
    assert opened["replicas"]["summary"] == "2 of 2 replicas failing"
    assert sorted(pod["name"] for pod in opened["replicas"]["pods"]) == sorted(CHECKOUT)
    assert all(pod["waiting"] == "CrashLoopBackOff" for pod in opened["replicas"]["pods"])
    (sibling,) = entries(pipeline, proposal.record_id, "sibling_alert")
    (other,) = set(CHECKOUT) - {opener}
    assert sibling["alert"]["labels"]["pod"] == other and sibling["pod"]["name"] == other
    assert sibling["containers"][0]["waiting"]["reason"] == "CrashLoopBackOff"
    assert sibling["replicas"]["summary"] == "2 of 2 replicas failing"
    assert sibling["proposal_id"] in (proposal.id, None)
    assert "no second proposal" in sibling["detail"] or "none is added" in sibling["detail"]
    assert pipeline.context.redis.get(incidents.key("pod-failure", DEPLOYMENT)).decode() == proposal.record_id
    metrics = pipeline.client.get("/metrics").get_data(as_text=True)
    assert 'aiops_investigations_skipped_total{reason="joined_incident"} 1.0' in metrics

    # Approved, executed once, validated: the incident ends with its proposal.
    approve(pipeline, proposal.id)
    pipeline.work(until=lambda: pipeline.context.proposals.get(proposal.id).status in FINAL, timeout=60)
    assert pipeline.context.proposals.get(proposal.id).status == "validated"
    assert pipeline.cluster.get("Deployment", "shop", "checkout")["metadata"]["generation"] == before + 1
    (closed,) = entries(pipeline, proposal.record_id, "incident_closed")
    assert closed["reason"] == f"proposal {proposal.id} is validated"
    assert not pipeline.context.redis.exists(incidents.key("pod-failure", DEPLOYMENT))


def test_a_sibling_alert_after_approval_joins_and_the_record_says_so(make_pipeline) -> None:
    pipeline = make_pipeline()
    pipeline.post_alerts(crash_alert(CHECKOUT[0]))
    work_queue(pipeline, queues.ALERTS)
    (proposal,) = pipeline.proposals("pending")
    approve(pipeline, proposal.id)  # its execution is queued on "actions", not run yet

    assert pipeline.post_alerts(crash_alert(CHECKOUT[1]))["enqueued"] == 1
    work_queue(pipeline, queues.ALERTS)
    assert [p.id for p in pipeline.proposals()] == [proposal.id]
    assert pipeline.context.proposals.get(proposal.id).status == "approved"
    (sibling,) = entries(pipeline, proposal.record_id, "sibling_alert")
    assert sibling["pod"]["name"] == CHECKOUT[1]
    assert (sibling["proposal_id"], sibling["proposal_status"]) == (proposal.id, "approved")
    assert f"no second proposal, {proposal.id} (rollback-deployment) is approved" in sibling["detail"]
    assert record_ids(pipeline) == [proposal.record_id]

    pipeline.work(until=lambda: pipeline.context.proposals.get(proposal.id).status in FINAL, timeout=60)
    assert pipeline.context.proposals.get(proposal.id).status == "validated"
    assert [p.id for p in pipeline.proposals()] == [proposal.id]


def test_statefulset_pods_are_one_incident_of_the_statefulset(make_pipeline, tmp_path) -> None:
    pipeline = make_pipeline(workloads_scenario(tmp_path))
    pipeline.post_alerts(crash_alert("ledger-0"), crash_alert("ledger-1"))
    pipeline.work()
    (proposal,) = pipeline.proposals()
    ledger = {"kind": "StatefulSet", "namespace": "shop", "name": "ledger"}
    assert proposal.diagnosis["workload"] == {**ledger, "replicas": "2 of 2 replicas failing"}
    # No action can change a StatefulSet, so the proposal targets the workload it is about.
    assert proposal.action["plan"] is None and proposal.target == ledger
    assert record_ids(pipeline) == [proposal.record_id]
    (sibling,) = entries(pipeline, proposal.record_id, "sibling_alert")
    assert {sibling["pod"]["name"], proposal.diagnosis["subject"]["name"]} == {"ledger-0", "ledger-1"}
    assert sibling["workload"] == ledger


def test_a_bare_pod_is_its_own_workload_and_other_workloads_have_their_own_incidents(
    make_pipeline, tmp_path
) -> None:
    pipeline = make_pipeline(workloads_scenario(tmp_path))
    pipeline.post_alerts(crash_alert("debug-shell"), crash_alert(CHECKOUT[0]), crash_alert("ledger-0"))
    pipeline.work()
    by_workload = {
        (p.diagnosis["workload"]["kind"], p.diagnosis["workload"]["name"]): p for p in pipeline.proposals()
    }
    assert set(by_workload) == {("Pod", "debug-shell"), ("Deployment", "checkout"), ("StatefulSet", "ledger")}
    bare = by_workload[("Pod", "debug-shell")]
    assert bare.target == {"kind": "Pod", "namespace": "shop", "name": "debug-shell"}
    assert bare.diagnosis["workload"]["replicas"] == "1 of 1 replica failing"
    assert sorted(record_ids(pipeline)) == sorted(p.record_id for p in by_workload.values())

    # Another alert about the same bare pod (another alert name, another rule) joins its incident.
    other = crash_alert("debug-shell", alertname="KubePodOOMKilled")
    assert pipeline.post_alerts(other)["enqueued"] == 1
    pipeline.work()
    assert len(pipeline.proposals()) == 3
    (sibling,) = entries(pipeline, bare.record_id, "sibling_alert")
    assert (
        sibling["rule"] == "pod-oomkilled" and sibling["alert"]["labels"]["alertname"] == "KubePodOOMKilled"
    )


def test_owners_resolve_to_the_controlling_workload(make_pipeline, tmp_path) -> None:
    pipeline = make_pipeline(workloads_scenario(tmp_path))
    kube = Kube(pipeline.cluster.api_client())
    expected = {
        CHECKOUT[0]: ("Deployment", "checkout"),  # through ReplicaSet checkout-7d9f8b6c5
        "ledger-1": ("StatefulSet", "ledger"),
        "log-agent-7xk2p": ("DaemonSet", "log-agent"),
        "report-29000000-b8q4w": ("CronJob", "report"),  # through Job report-29000000
        "migrate-k2v9d": ("Job", "migrate"),
        "debug-shell": ("Pod", "debug-shell"),
    }
    for pod, (kind, name) in expected.items():
        found = workload_of(kube, "shop", kube.get_pod("shop", pod))
        assert found == Target(kind=kind, namespace="shop", name=name), pod


def test_the_incident_ends_when_every_alert_of_it_resolved(make_pipeline) -> None:
    pipeline = make_pipeline()
    pipeline.post_alerts(*(crash_alert(pod) for pod in CHECKOUT))
    pipeline.work()
    (proposal,) = pipeline.proposals("pending")
    first, second = (crash_alert(pod, status="resolved") for pod in CHECKOUT)

    pipeline.post_alerts(first)
    pipeline.work()
    assert pipeline.context.proposals.get(proposal.id).status == "pending"  # the other pod still fails
    (resolved,) = entries(pipeline, proposal.record_id, "alert_resolved")
    assert resolved["pod"] == CHECKOUT[0] and resolved["still_firing"] == 1

    pipeline.post_alerts(second)
    pipeline.work()
    done = pipeline.context.proposals.get(proposal.id)
    assert done.status == "superseded"
    (superseded,) = entries(pipeline, proposal.record_id, "superseded")
    assert superseded["reason"] == "every alert of the incident resolved"
    assert not pipeline.context.redis.exists(incidents.key("pod-failure", DEPLOYMENT))
    # A new episode is a new incident; within the rule's cooldown for the workload it proposes nothing.
    pipeline.post_alerts(crash_alert(CHECKOUT[1], starts="2026-11-25T12:00:00Z"))
    pipeline.work()
    assert [p.id for p in pipeline.proposals()] == [proposal.id]
    (new,) = set(record_ids(pipeline)) - {proposal.record_id}
    assert pipeline.context.redis.get(incidents.key("pod-failure", DEPLOYMENT)).decode() == new
    (skipped,) = entries(pipeline, new, "skipped")
    assert skipped["reason"] == "rule pod-crashloop is cooling down for Deployment shop/checkout"
    assert skipped["holder"] == proposal.id


# --- superseded, never failed ---------------------------------------------------------------------------


def test_an_executed_change_supersedes_the_proposal_it_made_moot(make_pipeline, tmp_path) -> None:
    pipeline = make_pipeline()
    with_kubectl_ai(pipeline, tmp_path)
    pipeline.post_alerts(crash_alert(CHECKOUT[0]))
    main, alternative = main_and_alternative(pipeline)
    assert alternative.target == main.target == DEPLOYMENT.model_dump()
    assert alternative.action["plan"]["guard"] == main.action["plan"]["guard"]

    approve(pipeline, main.id)
    pipeline.work(until=lambda: pipeline.context.proposals.get(main.id).status in FINAL, timeout=60)
    assert pipeline.context.proposals.get(main.id).status == "validated"
    moot = pipeline.context.proposals.get(alternative.id)
    assert moot.status == "superseded"
    assert moot.comment.startswith(f"superseded by {main.id}: rollback-deployment by proposal {main.id}")
    (entry,) = entries(pipeline, main.record_id, "superseded")
    assert entry["by"] == main.id and "already changed Deployment/shop/checkout" in entry["reason"]


def test_approving_both_sibling_proposals_ends_superseded_not_failed(make_pipeline, tmp_path) -> None:
    """The defect as a new user met it: two proposals for one Deployment, both approved. The one that runs
    second must not end `failed` ("changed since diagnosis"): the first one made it moot."""
    pipeline = make_pipeline()
    with_kubectl_ai(pipeline, tmp_path)
    pipeline.post_alerts(crash_alert(CHECKOUT[0]))
    main, alternative = main_and_alternative(pipeline)
    before = pipeline.cluster.get("Deployment", "shop", "checkout")["metadata"]["generation"]
    approve(pipeline, main.id)
    approve(pipeline, alternative.id)

    statuses = lambda: {pipeline.context.proposals.get(p.id).status for p in (main, alternative)}  # noqa: E731
    pipeline.work(until=lambda: statuses() <= FINAL, timeout=60)
    assert pipeline.context.proposals.get(main.id).status == "validated"
    second = pipeline.context.proposals.get(alternative.id)
    assert second.status == "superseded" and second.execution == {}, second
    assert "failed" not in {h["to"] for h in second.history}
    assert pipeline.cluster.get("Deployment", "shop", "checkout")["metadata"]["generation"] == before + 1
    kinds = pipeline.context.records.kinds(main.record_id)
    assert "execution_failed" not in kinds and kinds.count("applied") == 1


# --- races, with real `aiops worker` processes -----------------------------------------------------------


class Workers:
    """`aiops worker --burst` processes against the test's Redis and sandbox, stopped by pid."""

    def __init__(self, pipeline: Pipeline, redis_url: str, tmp_path: Path) -> None:
        kubeconfig = pipeline.cluster.write_kubeconfig(tmp_path / "workers.kubeconfig")
        self.env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "KUBECONFIG": str(kubeconfig),
            "PROMETHEUS_URL": "http://127.0.0.1:9",
            "AIOPS_RULES_DIR": str(pipeline.context.settings.rules.dir),
            "AIOPS_KUBERNETES_TIMEOUT_S": "120",  # the test holds the API server until both jobs are in
            "AIOPS_LOGGING_LEVEL": "WARNING",
        }
        self.tmp = tmp_path
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, queue: str) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "receiver.cli", "worker", "--burst", "--queues", queue],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def wait(self, timeout: float = 120) -> None:
        for proc in self.procs:
            assert proc.wait(timeout=timeout) == 0, (self.tmp / "worker-0.log").read_text()[-3000:]

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


@pytest.fixture
def workers(make_pipeline, redis_server, tmp_path) -> Iterator[Callable[[Pipeline], Workers]]:
    made: list[Workers] = []

    def make(pipeline: Pipeline) -> Workers:
        made.append(Workers(pipeline, redis_server.url, tmp_path))
        return made[-1]

    yield make
    for group in made:
        group.stop()


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def started(pipeline: Pipeline, job_ids: list[str]) -> bool:
    connection = pipeline.context.redis
    return all(Job.fetch(job_id, connection=connection).get_status() == "started" for job_id in job_ids)


def queued(pipeline: Pipeline, queue: str) -> list[str]:
    return [raw.decode() for raw in pipeline.context.redis.lrange(f"rq:queue:{queue}", 0, -1)]


def test_racing_sibling_investigations_on_two_workers_make_one_proposal(make_pipeline, workers) -> None:
    pipeline = make_pipeline()
    for pod in CHECKOUT:  # one payload each: two investigation jobs on the queue
        assert pipeline.post_alerts(crash_alert(pod))["enqueued"] == 1
    job_ids = queued(pipeline, queues.ALERTS)
    assert len(job_ids) == 2
    group = workers(pipeline)
    lock = pipeline.cluster.store.lock
    lock.acquire()  # the API server answers nobody: each worker is held inside its investigation
    try:
        group.start(queues.ALERTS)
        group.start(queues.ALERTS)
        wait_until(lambda: started(pipeline, job_ids), 90, "both workers to be inside an investigation")
    finally:
        lock.release()  # both go on at once and race for the incident
    group.wait()

    (proposal,) = pipeline.proposals()
    assert proposal.target == DEPLOYMENT.model_dump()
    assert record_ids(pipeline) == [proposal.record_id]
    (sibling,) = entries(pipeline, proposal.record_id, "sibling_alert")
    assert {sibling["pod"]["name"], proposal.diagnosis["subject"]["name"]} == set(CHECKOUT)
    kinds = pipeline.context.records.kinds(proposal.record_id)
    assert kinds.count("incident_opened") == 1 and kinds.count("proposal") == 1


def test_racing_executions_on_one_deployment_take_turns(make_pipeline, workers, tmp_path) -> None:
    """Two approved proposals for checkout run on two workers at once: the second waits for the first,
    then finds its plan moot and ends superseded; the Deployment is changed once."""
    pipeline = make_pipeline()
    with_kubectl_ai(pipeline, tmp_path)
    pipeline.post_alerts(crash_alert(CHECKOUT[0]))
    main, alternative = main_and_alternative(pipeline)
    before = pipeline.cluster.get("Deployment", "shop", "checkout")["metadata"]["generation"]
    approve(pipeline, main.id)
    approve(pipeline, alternative.id)
    job_ids = queued(pipeline, queues.ACTIONS)
    assert sorted(job_ids) == sorted(f"execute-{p.id}" for p in (main, alternative))

    group = workers(pipeline)
    lock = pipeline.cluster.store.lock
    lock.acquire()  # the first execution takes the Deployment's turn, then waits on the API server
    try:
        group.start(queues.ACTIONS)
        group.start(queues.ACTIONS)
        wait_until(
            lambda: "execution_waiting" in pipeline.context.records.kinds(main.record_id),
            90,
            "the second execution to wait for the first",
        )
    finally:
        lock.release()
    group.wait()
    ids = (main.id, alternative.id)
    pipeline.work(until=lambda: {pipeline.context.proposals.get(i).status for i in ids} <= FINAL, timeout=60)

    done = {pipeline.context.proposals.get(i).status: pipeline.context.proposals.get(i) for i in ids}
    assert set(done) == {"validated", "superseded"}, done
    first, second = done["validated"], done["superseded"]
    assert second.comment.startswith(f"superseded by {first.id}: ")
    (waiting,) = entries(pipeline, main.record_id, "execution_waiting")
    assert waiting["holder"] == first.id
    assert pipeline.cluster.get("Deployment", "shop", "checkout")["metadata"]["generation"] == before + 1
    kinds = pipeline.context.records.kinds(main.record_id)
    assert "execution_failed" not in kinds and kinds.count("applied") == 1
