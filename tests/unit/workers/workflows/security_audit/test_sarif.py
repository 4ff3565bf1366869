"""SARIF 2.1.0 output is valid against the official schema (oasis-tcs/sarif-spec sarif-schema-2.1.0.json)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.support.security_audit import SCHEMA
from tests.support.security_builders import NOW, binding, cluster_role, deployment, rule, user
from workers.settings import SecuritySettings
from workers.workflows.security_audit import build_audit, exceptions, sarif, severity


def audit_log() -> dict:
    objects = [
        deployment("api", "shop", hostNetwork=True, containers=[{"name": "c", "image": "nginx"}]),
        cluster_role("cluster-admin", [rule(["*"], ["*"], ["*"])]),
        binding("b", "ClusterRole", "cluster-admin", [user("bob")]),
    ]
    accepted, _ = exceptions.parse(
        "- {check: images.no_digest, selector: {namespace: shop}, reason: pinned next sprint,"
        " expires: 2027-01-01}"
    )
    report = build_audit(objects, SecuritySettings(), accepted, None, now=NOW)
    return sarif.to_sarif(report, version="1.0")


def test_the_sarif_log_is_valid_against_the_2_1_0_schema() -> None:
    log = json.loads(json.dumps(audit_log()))
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == list(severity.CHECKS)
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert by_rule["rbac.cluster_admin"]["level"] == "error"
    assert (
        run["tool"]["driver"]["rules"][by_rule["rbac.cluster_admin"]["ruleIndex"]]["id"]
        == "rbac.cluster_admin"
    )
    assert by_rule["images.no_digest"]["suppressions"] == [
        {"kind": "external", "justification": "pinned next sprint"}
    ]
    assert by_rule["pss.privileged"]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == (
        "shop/Deployment/api"
    )


def test_the_schema_check_catches_a_broken_log() -> None:
    log = audit_log()
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SCHEMA).validate(log)
