"""docs/deploy.md stays true: its Alertmanager snippet passes amtool, its test alert passes the receiver's
parser, its values example passes the chart's schema, and its RBAC table matches the rendered roles."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from receiver.payload import parse_webhook
from tests.helm.conftest import RELEASE, REPO, render

DEPLOY_MD = REPO / "docs" / "deploy.md"
# The namespace the README, docs/deploy.md and docs/api.md install into (release: RELEASE).
DOCS_NAMESPACE = "aiops"


def _blocks(language: str) -> list[str]:
    text = DEPLOY_MD.read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def _yaml_block(first_key: str) -> dict[str, Any]:
    for block in _blocks("yaml"):
        data = yaml.safe_load(block)
        if isinstance(data, dict) and next(iter(data)) == first_key:
            return data
    raise AssertionError(f"docs/deploy.md has no yaml block starting with {first_key}:")


def test_alertmanager_snippet_passes_amtool(tmp_path: Path) -> None:
    amtool = shutil.which("amtool")
    if amtool is None:
        raise RuntimeError("amtool is not installed (apt-get install -y prometheus-alertmanager)")
    config = _yaml_block("route")
    (webhook,) = config["receivers"][1]["webhook_configs"]
    assert (
        webhook["url"] == f"http://{RELEASE}-aiops-responder.{DOCS_NAMESPACE}.svc:8080/webhooks/alertmanager"
    )
    assert webhook["http_config"]["authorization"]["credentials_file"]
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = subprocess.run(
        [amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_docs_name_one_namespace_and_release() -> None:
    for doc in (
        DEPLOY_MD,
        REPO / "docs" / "api.md",
        REPO / "README.md",
        REPO / "helm" / "aiops-responder" / "README.md",
    ):
        text = doc.read_text(encoding="utf-8")
        assert "aiops-system" not in text, f"{doc.name} names the namespace aiops-system"
        for namespace in re.findall(r"(?:-n|--namespace) ([a-z0-9-]+)", text):
            assert namespace in (DOCS_NAMESPACE, "monitoring"), f"{doc.name}: namespace {namespace}"
        for service in re.findall(r"https?://([a-z0-9-]+)\.([a-z0-9-]+)(?:\.svc)?:8080", text):
            assert service == (f"{RELEASE}-aiops-responder", DOCS_NAMESPACE), f"{doc.name}: {service}"


def test_the_test_alert_is_a_valid_webhook_payload() -> None:
    curl = next(block for block in _blocks("sh") if "/webhooks/alertmanager" in block)
    body = re.search(r"-d '(.*?)'", curl, flags=re.DOTALL)
    assert body is not None
    payload = parse_webhook(body.group(1).encode("utf-8"), max_alerts=10)
    assert len(payload.alerts) == 1


def test_values_example_passes_the_schema(chart: Any) -> None:
    values = _yaml_block("image")
    chart.validate_schema(values)


def test_rbac_table_lists_every_granted_resource(chart: Any, render_set: Any) -> None:
    text = DEPLOY_MD.read_text(encoding="utf-8")
    section = text.split("## What each RBAC verb is for", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ([a-z/, ]+) \| ([a-z, ]+) \|", section, flags=re.MULTILINE)
    documented: dict[str, set[str]] = {}
    for resources, verbs in rows:
        if resources == "resource":  # a table's header
            continue
        for resource in resources.split(", "):
            documented.setdefault(resource, set()).update(verbs.split(", "))
    granted: dict[str, set[str]] = {}
    # custom turns the Secret read and the watcher on; writes need named namespaces (issue 9), and the HPA
    # verbs the scaling gate.
    scaling = render(
        chart, "scaling", {"watchNamespaces": ["shop"], "remediation": {"scaling": {"enabled": True}}}
    )
    for rendered in (render_set("default"), render_set("custom"), render_set("namespaced"), scaling):
        for obj in rendered.objects:
            if obj["kind"] in ("Role", "ClusterRole"):
                for rule in obj["rules"]:
                    for resource in rule["resources"]:
                        granted.setdefault(resource, set()).update(rule["verbs"])
    assert granted == documented


def test_security_notes_list_the_redis_acl_rules_the_chart_renders(chart: Any) -> None:
    """docs/security-chart.md's ACL lines for an external Redis are those the install notes print."""
    text = (REPO / "docs" / "security-chart.md").read_text(encoding="utf-8")
    documented = [line for line in text.splitlines() if line.startswith("ACL SETUSER ")]
    values = {
        "redis": {"existingSecret": "aiops-redis"},
        "watcher": {"enabled": True},
        "worker": {"keda": {"enabled": True, "redis": {"address": "redis.example.com:6379"}}},
    }
    notes = render(chart, "external-acl", values).notes
    printed = [line.strip() for line in notes.splitlines() if line.strip().startswith("ACL SETUSER ")]
    assert [line.split()[2] for line in printed] == [
        f"aiops-{c}" for c in ("receiver", "worker", "cron", "watcher", "keda")
    ]
    assert documented == printed
