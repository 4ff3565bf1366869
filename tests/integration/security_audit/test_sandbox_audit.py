"""The audit over a sandbox cluster seeded with one instance of every check and a clean counterpart of each.

The cluster is read as the CLI and the cron job read it: the official client, paged lists, through the
``security`` report workflow of the registry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from sandbox.server import SandboxCluster
from tests.support.security_audit import EXPECTED, NOW, SCENARIO, SCHEMA
from workers.domain import Report
from workers.integrations.kubernetes.client import Kube
from workers.settings import Settings
from workers.spine.registry import default_registry
from workers.spine.workflow import ReportInputs
from workers.workflows.security_audit import severity


@pytest.fixture
def cluster() -> Iterator[SandboxCluster]:
    started = SandboxCluster.from_dir(SCENARIO, clock=lambda: NOW).start()
    yield started
    started.stop()


def audit(cluster: SandboxCluster, token: str | None = None, **options: object) -> Report:
    settings = Settings.model_validate({"security": {"allowed_registries": ["registry.example.com"]}})
    workflow = default_registry().report("security")
    api_client = cluster.api_client(token) if token else cluster.api_client()
    with api_client:
        inputs = ReportInputs(
            settings=settings, kube=Kube(api_client), prometheus=None, now=NOW, options=options
        )
        return workflow.build(inputs, None)


def keys(report: Report) -> set[tuple[str, str | None, str | None, str | None]]:
    return {(f.check, f.kind, f.namespace, f.name) for f in report.findings()}


def test_every_check_fires_once_and_no_clean_counterpart_is_flagged(cluster: SandboxCluster) -> None:
    report = audit(cluster, page_size=4)
    assert keys(report) == EXPECTED
    assert {check for check, *_ in EXPECTED} == set(severity.CHECKS) - {"images.vulnerabilities"}
    assert not [f for f in report.findings() if f.namespace == "secure"]
    assert report.changes["previous_id"] is None
    assert [c["name"] for c in report.changes["new_critical"]] == ["ops-superuser", "bob-admin"]
    assert "hunter2-Sup3rS3cret" not in report.model_dump_json()
    assert "ghp_R8x2mQ7vLk3pZ9wYt4nHc6bJd1sFa0eGu5iO" not in report.model_dump_json()
    (rbac,) = [s for s in report.sections if s.id == "rbac"]
    # Its RoleBindings (a Role, a ClusterRole in the namespace) and its group system:serviceaccounts:secure.
    assert rbac.summary["permissions"]["ServiceAccount:secure/web"] == [
        "create apps/deployments @secure",
        "create apps/pods @secure",
        "create deployments @secure",
        "create pods @secure",
        "get apps/deployments @secure",
        "get apps/pods @secure",
        "get configmaps @secure",
        "get deployments @secure",
        "get pods @secure",
        "get secrets[web-tls] @secure",
        "list configmaps @secure",
        "list services @secure",
    ]


def test_paged_and_unpaged_lists_give_the_same_audit(cluster: SandboxCluster) -> None:
    assert audit(cluster, page_size=2).findings() == audit(cluster, page_size=500).findings()


def test_the_sarif_rendering_of_the_sandbox_audit_is_valid(cluster: SandboxCluster) -> None:
    workflow = default_registry().report("security")
    text = workflow.render(audit(cluster), "sarif")  # type: ignore[attr-defined]
    log = json.loads(text)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    assert len(log["runs"][0]["results"]) == len(EXPECTED)


def test_a_forbidden_list_is_said_in_the_sections_that_need_it(cluster: SandboxCluster) -> None:
    report = audit(cluster, token="sandbox-readonly")
    (secrets,) = [s for s in report.sections if s.id == "secrets"]
    assert secrets.unavailable is not None and "could not list Secret" in secrets.unavailable
    assert "forbidden" in secrets.unavailable
    (images,) = [s for s in report.sections if s.id == "images"]
    assert images.unavailable is None
    assert ("images.latest_tag", "Deployment", "risky", "api") in keys(report)


def test_an_exceptions_file_from_the_options(cluster: SandboxCluster, tmp_path: Path) -> None:
    path = tmp_path / "exceptions.yaml"
    path.write_text(
        "- check: 'images.*'\n  selector: {namespace: risky, name: batch}\n"
        "  reason: batch is retired next week\n"
        "  expires: 2026-12-15\n"
    )
    report = audit(cluster, exceptions_file=str(path))
    assert keys(report) == {k for k in EXPECTED if not (k[0].startswith("images.") and k[3] == "batch")}
    assert [(f.check, f.name) for f in report.excepted] == [("images.no_digest", "batch")]
