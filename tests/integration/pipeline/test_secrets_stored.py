"""Secrets never stored or logged, end to end: the demo scenario with real-world secret shapes planted in
four places (the pod templates' env values, the previous log, the alert's labels and annotations, and
kubectl-ai's answer), through the whole pipeline on the sandbox cluster with real Prometheus and Redis.

Checked in what is kept: the proposal JSON (API), the record (API, JSON and Markdown), every log line
(the audit JSON lines included) and every key in Redis (RQ job payloads decoded). Yet the cluster gets
the exact values: the approved rollback and its revert are rebuilt from the live ReplicaSets, under the
guard, and refused when the cluster no longer matches the approved (redacted) plan.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from rq.job import Job

from sandbox.localprom import wait_for_series
from tests.standins import KUBECTL_AI, KUBECTL_AI_STANDIN_ENV
from tests.support.pipeline import Pipeline, auth, build_pipeline, crash_alert, fast_rules, stop_pipeline
from tests.support.secret_shapes import CLEAN, SHAPES
from workers.redaction import REDACTED
from workers.settings import KUBECTL_AI_ENV, AdviserSettings
from workers.spine.lifecycle import park_revert

SCENARIOS = Path(__file__).resolve().parents[3] / "sandbox" / "scenarios"
FINAL = {"validated", "regressed", "failed", "unknown"}
LABEL_SECRET = "ak-label-93kd72hf61"
# DB_PASSWORD differs between the revisions, so that the cluster shows which template was applied.
REV1_PASSWORD, REV2_PASSWORD = "hunter1-rev1", "hunter2-rev2"
SECRETS = sorted({shape.secret for shape in SHAPES} | {LABEL_SECRET, REV1_PASSWORD, REV2_PASSWORD})


def _planted_env(password: str) -> list[dict[str, str]]:
    env = [{"name": "DB_PASSWORD", "value": password}]
    env += [{"name": f"APP_SETTING_{index:02d}", "value": shape.line} for index, shape in enumerate(SHAPES)]
    return env


def copy_scenario(name: str, destination: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """The scenario ``name`` copied to ``destination``, with ``edit`` applied to every manifest."""
    shutil.copytree(SCENARIOS / name, destination)
    for path in destination.glob("*.yaml"):
        if path.name == "scenario.yaml":
            continue
        docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        for doc in docs:
            edit(doc)
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return destination


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if doc.get("kind") == "Pod":
        return list(doc["spec"]["containers"])
    if doc.get("kind") in ("Deployment", "ReplicaSet"):
        return list(doc["spec"]["template"]["spec"]["containers"])
    return []


def _plant_env(doc: dict[str, Any]) -> None:
    revision = (doc.get("metadata", {}).get("annotations") or {}).get("deployment.kubernetes.io/revision")
    labels = doc.get("metadata", {}).get("labels") or {}
    first_revision = revision == "1" and doc.get("kind") == "ReplicaSet"
    first_revision = first_revision or labels.get("pod-template-hash") == "6d4b9f7c58"
    for container in _containers(doc):
        password = REV1_PASSWORD if first_revision else REV2_PASSWORD
        container["env"] = [*container.get("env", []), *_planted_env(password)]


@pytest.fixture
def secret_pipeline(
    redis_conn, redis_server, tmp_path: Path, scrape_slot, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    scenario = copy_scenario("demo-crashloop", tmp_path / "scenario", _plant_env)
    planted_log = "\n".join(shape.line for shape in SHAPES)
    for log in (scenario / "logs").glob("*/*/app.previous.log"):
        log.write_text(f"{planted_log}\n{log.read_text()}")
    rules = fast_rules(tmp_path / "rules")
    rule_path = rules / "pod-crashloop.yaml"
    rule = yaml.safe_load(rule_path.read_text())
    rule["evidence"]["ai"] = ["kubectl-ai"]
    rule_path.write_text(yaml.safe_dump(rule))
    built = build_pipeline(scenario, redis_conn, redis_server.url, tmp_path, rules, scrape_slot)
    answer = tmp_path / "answer.txt"
    answer.write_text(
        "The container cannot start; its log and environment show these credentials:\n\n"
        + "\n".join(f"- {shape.line}" for shape in SHAPES)
        + "\n\n1. Rotate them all\n"
    )
    monkeypatch.setenv("KUBECTL_AI_STANDIN_ANSWER", str(answer))
    readonly = tmp_path / "readonly.kubeconfig"
    built.cluster.write_kubeconfig(readonly, token="sandbox-readonly")
    built.context.settings.advisers = AdviserSettings.model_validate(
        {
            "kubectl_ai": {
                "enabled": True,
                "binary": str(KUBECTL_AI),
                "kubeconfig": str(readonly),
                "env_passthrough": [*KUBECTL_AI_ENV, *KUBECTL_AI_STANDIN_ENV],
            }
        }
    )
    built.context.rules.reload()
    yield built
    stop_pipeline(built)


def _alert(pod: str) -> dict[str, Any]:
    alert = crash_alert(pod)
    alert["labels"]["api_key"] = LABEL_SECRET
    alert["annotations"].update({f"secret_{index:02d}": shape.line for index, shape in enumerate(SHAPES)})
    alert["annotations"]["clean"] = "\n".join(CLEAN)
    return alert


def _crashing_pod(pipeline: Pipeline) -> str:
    return next(
        pod["metadata"]["name"]
        for pod in pipeline.cluster.list("Pod", "shop")
        if pod["metadata"]["name"].startswith("checkout-7d9f8b6c5")
    )


def _redis_texts(pipeline: Pipeline) -> Iterator[tuple[str, str]]:
    """(key, text) for everything Redis holds; RQ's compressed job payloads decoded."""
    connection = pipeline.context.redis
    for raw_key in connection.scan_iter("*"):
        key = raw_key.decode()
        kind = connection.type(raw_key).decode()
        parts = [key]
        if kind == "string":
            parts.append(connection.get(raw_key).decode("utf-8", "replace"))
        elif kind == "hash":
            for field, value in connection.hgetall(raw_key).items():
                if key.startswith("rq:job:") and field == b"data":  # compressed: read it as RQ does
                    job = Job.fetch(key.removeprefix("rq:job:"), connection=connection)
                    parts.append(repr((job.args, job.kwargs, job.return_value())))
                else:
                    parts.append(value.decode("utf-8", "replace"))
        elif kind == "list":
            parts.extend(item.decode("utf-8", "replace") for item in connection.lrange(raw_key, 0, -1))
        elif kind in ("set", "zset"):
            members = connection.smembers(raw_key) if kind == "set" else connection.zrange(raw_key, 0, -1)
            parts.extend(member.decode("utf-8", "replace") for member in members)
        yield key, "\n".join(parts)


def _assert_no_secret(where: str, text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"{where} holds {leaked}"


def _assert_nothing_kept(pipeline: Pipeline, caplog: pytest.LogCaptureFixture) -> None:
    client = pipeline.client
    listed = client.get("/api/v1/approvals?limit=200", headers=auth("viewer")).get_json()
    assert listed["items"]
    for item in listed["items"]:
        shown = client.get(f"/api/v1/approvals/{item['id']}", headers=auth("viewer"))
        _assert_no_secret(f"proposal {item['id']}", shown.get_data(as_text=True))
        record = client.get(f"/api/v1/records/{item['record_id']}", headers=auth("viewer"))
        _assert_no_secret(f"record {item['record_id']}", record.get_data(as_text=True))
        markdown = client.get(f"/api/v1/records/{item['record_id']}?format=md", headers=auth("viewer"))
        _assert_no_secret(f"record {item['record_id']} as Markdown", markdown.get_data(as_text=True))
    _assert_no_secret("the log lines", "\n".join(record.getMessage() for record in caplog.records))
    for key, text in _redis_texts(pipeline):
        _assert_no_secret(f"Redis key {key}", text)


def _deployment_env(pipeline: Pipeline) -> dict[str, str]:
    deployment = pipeline.cluster.get("Deployment", "shop", "checkout")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value", "") for item in container.get("env", [])}


def test_secrets_in_env_logs_annotations_and_answers_are_never_kept(
    secret_pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pipeline = secret_pipeline
    assert pipeline.post_alerts(_alert(_crashing_pod(pipeline)))["enqueued"] == 1
    pipeline.work(until=lambda: [p for p in pipeline.proposals("pending") if p.advice])
    proposal = next(p for p in pipeline.proposals("pending") if "-alt-" not in p.id)

    # Parked: the rollback plan copies revision 1's template, env values redacted, references kept.
    assert proposal.action["type"] == "rollback-deployment"
    env = proposal.action["plan"]["patch"][0]["value"]["spec"]["containers"][0]["env"]
    assert {"name": "DB_PASSWORD", "value": REDACTED} in env
    assert {
        "name": "DB_URL",
        "valueFrom": {"configMapKeyRef": {"name": "checkout-config", "key": "db_url"}},
    } in env
    assert proposal.action["plan"]["source"]["kind"] == "ReplicaSet"
    assert proposal.alert["labels"]["api_key"] == REDACTED
    assert proposal.alert["annotations"]["clean"] == "\n".join(CLEAN)  # ordinary text survives as it was
    assert proposal.advice and "[REDACTED" in json.dumps(proposal.advice)
    _assert_nothing_kept(pipeline, caplog)

    # Approved and executed: the cluster gets revision 1's real values, rebuilt from its ReplicaSet.
    response = pipeline.client.post(f"/api/v1/approvals/{proposal.id}/approve", headers=auth("approver"))
    assert response.status_code == 200
    pipeline.work(until=lambda: pipeline.context.proposals.get(proposal.id).status in FINAL, timeout=60)
    done = pipeline.context.proposals.get(proposal.id)
    assert done.status == "validated", (done.status, done.execution)
    applied = _deployment_env(pipeline)
    assert applied["DB_PASSWORD"] == REV1_PASSWORD
    assert [applied[f"APP_SETTING_{index:02d}"] for index in range(len(SHAPES))] == [s.line for s in SHAPES]
    assert done.execution["snapshot"]["template_source"]["name"] == "checkout-7d9f8b6c5"
    entries = pipeline.context.records.get(done.record_id)["entries"]
    preconditions = next(entry for entry in entries if entry["kind"] == "preconditions_passed")
    assert preconditions["data"]["rebuilt_from_cluster"] is True

    # The revert restores revision 2's real values from the ReplicaSet recorded in the snapshot.
    revert = park_revert(pipeline.context, done)
    assert revert is not None and revert.action["plan"]["source"]["name"] == "checkout-7d9f8b6c5"
    response = pipeline.client.post(f"/api/v1/approvals/{revert.id}/approve", headers=auth("approver"))
    assert response.status_code == 200
    pipeline.work(until=lambda: pipeline.context.proposals.get(revert.id).status in FINAL | {"succeeded"})
    assert pipeline.context.proposals.get(revert.id).status == "succeeded"
    reverted = _deployment_env(pipeline)
    assert reverted["DB_PASSWORD"] == REV2_PASSWORD
    image = pipeline.cluster.get("Deployment", "shop", "checkout")["spec"]["template"]["spec"]["containers"][
        0
    ]
    assert image["image"].endswith(":1.5.0")
    _assert_nothing_kept(pipeline, caplog)


def test_a_template_changed_since_approval_is_refused(secret_pipeline: Pipeline) -> None:
    """The guard holds (the Deployment is unchanged) but revision 1's ReplicaSet was edited: the plan
    rebuilt from the cluster no longer equals the approved one, so nothing is applied."""
    pipeline = secret_pipeline
    pipeline.post_alerts(_alert(_crashing_pod(pipeline)))
    proposal = pipeline.work(until=lambda: [p for p in pipeline.proposals("pending") if "-alt-" not in p.id])[
        0
    ]
    source = proposal.action["plan"]["source"]["name"]
    before = pipeline.cluster.get("Deployment", "shop", "checkout")
    patch = {
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "evil.example.com/x:1"}]}}}
    }
    k8s.AppsV1Api(pipeline.cluster.api_client()).patch_namespaced_replica_set(source, "shop", patch)
    pipeline.client.post(f"/api/v1/approvals/{proposal.id}/approve", headers=auth("approver"))
    pipeline.work(until=lambda: pipeline.context.proposals.get(proposal.id).status in FINAL)
    done = pipeline.context.proposals.get(proposal.id)
    assert done.status == "failed"
    assert "differs from the approved plan" in done.execution["error"]
    assert "containers[0].image" in done.execution["error"]
    after = pipeline.cluster.get("Deployment", "shop", "checkout")
    assert after["metadata"]["generation"] == before["metadata"]["generation"]


def _plant_probe_header(doc: dict[str, Any]) -> None:
    for container in _containers(doc):
        probe = container.get("livenessProbe")
        if probe and "httpGet" in probe:
            probe["httpGet"]["httpHeaders"] = [{"name": "Authorization", "value": "Bearer zzQ7vT2kL9mX4pR8"}]


def test_a_probe_header_is_redacted_in_the_proposal_and_applied_whole(
    redis_conn, redis_server, tmp_path: Path, scrape_slot
) -> None:
    scenario = copy_scenario("probe-slow-start", tmp_path / "scenario", _plant_probe_header)
    expect = yaml.safe_load((scenario / "scenario.yaml").read_text())["expect"]["alert"]
    pipeline = build_pipeline(
        scenario, redis_conn, redis_server.url, tmp_path, fast_rules(tmp_path / "rules"), scrape_slot
    )
    try:
        wait_for_series(
            scrape_slot.prometheus, f'kube_pod_container_status_restarts_total{{pod="{expect["pod"]}"}}'
        )
        pipeline.post_alerts(
            crash_alert(expect["pod"], expect["namespace"], expect["container"], expect["alertname"])
        )
        proposal = pipeline.work(until=lambda: pipeline.proposals("pending"))[0]
        assert proposal.action["type"] == "adjust-probe"
        headers = proposal.action["params"]["startup_probe"]["httpGet"]["httpHeaders"]
        assert headers == [{"name": "Authorization", "value": REDACTED}]
        assert "zzQ7vT2kL9mX4pR8" not in pipeline.client.get(
            f"/api/v1/approvals/{proposal.id}", headers=auth("viewer")
        ).get_data(as_text=True)
        pipeline.client.post(f"/api/v1/approvals/{proposal.id}/approve", headers=auth("approver"))
        pipeline.work(until=lambda: pipeline.context.proposals.get(proposal.id).status in FINAL, timeout=60)
        assert pipeline.context.proposals.get(proposal.id).status == "validated"
        deployment = pipeline.cluster.get("Deployment", expect["namespace"], "inventory-api")
        startup = deployment["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
        assert startup["httpGet"]["httpHeaders"] == [
            {"name": "Authorization", "value": "Bearer zzQ7vT2kL9mX4pR8"}
        ]
    finally:
        stop_pipeline(pipeline)
