"""values.schema.json refuses bad values with a message naming the value, and the chart refuses
combinations the schema cannot express with a message saying what to change."""

from __future__ import annotations

import json
from typing import Any

import helm_python as helm
import pytest

from tests.helm.conftest import CHART_DIR, NAMESPACE, RELEASE
from workers.settings import Settings

REFUSED_BY_SCHEMA = [
    ({"receiver": {"replicas": "two"}}, "at '/receiver/replicas': got string, want integer"),
    ({"worker": {"replicas": -1}}, "at '/worker/replicas': minimum: got -1, want 0"),
    ({"replicas": 2}, "at '': additional properties 'replicas' not allowed"),
    ({"remediation": {"enabled": "yes"}}, "at '/remediation/enabled': got string, want boolean"),
    ({"watchNamespaces": ["Shop"]}, "at '/watchNamespaces/0'"),
    ({"worker": {"queues": ["alerts", "emails"]}}, "at '/worker/queues/1': value must be one of"),
    ({"settings": {"notfy": {}}}, "at '/settings': additional properties 'notfy' not allowed"),
    (
        {"auth": {"tokens": [{"name": "ops", "role": "admin", "token": "0123456789abcdef"}]}},
        "at '/auth/tokens/0/role': value must be one of 'webhook', 'viewer', 'approver'",
    ),
    ({"auth": {"tokens": [{"name": "ops", "role": "approver"}]}}, "missing property 'token'"),
    ({"auth": {"tokens": [{"name": "ops", "role": "approver", "token": "short"}]}}, "minLength"),
    (
        {"auth": {"tokens": [{"name": "ops", "role": "viewer", "sha256": "xyz"}]}},
        "at '/auth/tokens/0/sha256'",
    ),
    ({"redis": {"url": "http://redis:6379"}}, "at '/redis/url'"),
    ({"rules": {"files": {"rules.txt": "x"}}}, "invalid propertyName 'rules.txt'"),
    ({"ingress": {"paths": [{"path": "api", "pathType": "Prefix"}]}}, "at '/ingress/paths/0/path'"),
    (
        {"prometheusOperator": {"serviceMonitor": {"interval": "soon"}}},
        "at '/prometheusOperator/serviceMonitor",
    ),
    ({"worker": {"keda": {"redis": {"address": "redis://x:6379"}}}}, "at '/worker/keda/redis/address'"),
    ({"rbac": {"clusterWide": "yes"}}, "at '/rbac/clusterWide': got string, want boolean"),
    ({"remediation": {"namespaces": ["Shop"]}}, "at '/remediation/namespaces/0'"),
    # Extra Redis users carry a password hash, never the password itself.
    (
        {"redis": {"bundled": {"acl": {"extraUsers": ["user admin on >hunter2 ~* +@all"]}}}},
        "at '/redis/bundled/acl/extraUsers/0'",
    ),
]


@pytest.mark.parametrize(("values", "message"), REFUSED_BY_SCHEMA, ids=lambda v: json.dumps(v)[:60])
def test_schema_refuses_bad_values(chart: helm.Chart, values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmValuesError) as refused:
        chart.validate_schema(values)
    assert message in str(refused.value)
    # An install renders with the same check, and says which chart refused the values.
    with pytest.raises(helm.HelmValuesError) as install:
        chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    assert "values don't meet the specifications of the schema" in str(install.value)
    assert message in str(install.value)


def test_lint_reports_bad_values_as_errors() -> None:
    report = helm.lint(CHART_DIR, {"remediation": {"enabled": "yes"}}, namespace=NAMESPACE)
    assert any("at '/remediation/enabled': got string, want boolean" in error for error in report["errors"])


REFUSED_BY_TEMPLATES = [
    (
        {"redis": {"url": "redis://r:6379/0", "existingSecret": "r"}},
        "set either redis.url or redis.existingSecret",
    ),
    (
        {"rules": {"files": {"a.yaml": "x"}, "existingConfigMap": "r"}},
        "set either rules.files or rules.existingConfigMap",
    ),
    (
        {"worker": {"autoscaling": {"enabled": True}, "keda": {"enabled": True}}},
        "worker.autoscaling.enabled and worker.keda.enabled both make an HPA",
    ),
    (
        {"worker": {"keda": {"enabled": True}}, "redis": {"url": "redis://r:6379/0"}},
        "worker.keda.redis.address (host:port), or sentinel.addresses for a Sentinel-monitored Redis",
    ),
    ({"serviceAccount": {"create": False}}, "serviceAccount.name: name the existing ServiceAccount"),
    ({"auth": {"generate": False}}, "auth: no tokens"),
    (
        {"auth": {"tokens": [{"name": "am", "role": "webhook", "token": "0123456789abcdef"}]}},
        "auth.tokens: no token has role approver",
    ),
    (
        {"auth": {"existingSecret": "mine"}, "prometheusOperator": {"alertmanagerConfig": {"enabled": True}}},
        "prometheusOperator.alertmanagerConfig.credentials.name/key",
    ),
    # The responder never writes in a denied namespace, its own included (issue 9).
    ({"watchNamespaces": ["shop", "kube-system"]}, "kube-system is a denied namespace"),
    ({"remediation": {"namespaces": [NAMESPACE]}}, f"{NAMESPACE} is a denied namespace"),
    (
        {"watchNamespaces": ["shop"], "remediation": {"namespaces": ["payments"]}},
        "remediation.namespaces: payments is not in watchNamespaces",
    ),
    ({"settings": {"namespaces": {"deny": ['x"] || true || ["']}}}, "is not a namespace name"),
    (
        {"redis": {"bundled": {"auth": {"existingSecret": "mine"}}}},
        "redis.bundled.auth.existingSecret holds one password shared by every component",
    ),
]


@pytest.mark.parametrize(("values", "message"), REFUSED_BY_TEMPLATES, ids=lambda v: json.dumps(v)[:60])
def test_templates_refuse_contradictions(chart: helm.Chart, values: dict[str, Any], message: str) -> None:
    chart.validate_schema(values)  # each value is fine on its own
    with pytest.raises(helm.HelmRenderError) as refused:
        chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    assert message in str(refused.value)


def test_defaults_pass_the_schema(chart: helm.Chart) -> None:
    chart.validate_schema(chart.values)


def test_settings_sections_follow_the_settings_object(chart: helm.Chart) -> None:
    schema = chart.schema
    assert schema is not None
    sections = schema["properties"]["settings"]["properties"]
    assert set(sections) == set(Settings.model_fields)
