"""Pod Security Standards: the level a workload meets, rule by rule, and against the enforce label."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.security_builders import NOW, deployment, namespace, restricted_spec
from workers.settings import SecuritySettings
from workers.workflows.security_audit import build_audit
from workers.workflows.security_audit.inventory import Inventory
from workers.workflows.security_audit.pod_security import Level, level_of


def level(obj: dict[str, Any]) -> tuple[Level, list[str]]:
    (workload,) = Inventory.of([obj]).workloads()
    return level_of(workload)


def test_a_workload_at_each_level() -> None:
    assert level(deployment("r", **restricted_spec())) == (Level.restricted, [])
    found, why = level(deployment("b"))
    assert found is Level.baseline
    assert "container b: runAsNonRoot not true" in why
    assert "container b: allowPrivilegeEscalation not false" in why
    assert "container b: capabilities.drop lacks ALL" in why
    assert "container b: seccompProfile not RuntimeDefault or Localhost" in why
    found, why = level(deployment("p", hostPID=True, containers=[{"name": "p", "image": "x:1"}]))
    assert (found, why) == (Level.privileged, ["spec.hostPID: true"])


@pytest.mark.parametrize(
    ("spec", "violation"),
    [
        ({"hostNetwork": True}, "spec.hostNetwork: true"),
        ({"hostIPC": True}, "spec.hostIPC: true"),
        ({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}, "volume root: hostPath"),
        ({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}, "pod: seccompProfile Unconfined"),
        ({"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}}, "sysctl kernel.msgmax"),
        ({"securityContext": {"seLinuxOptions": {"type": "spc_t"}}}, "pod: seLinuxOptions.type spc_t"),
        ({"containers": [{"name": "c", "securityContext": {"privileged": True}}]}, "container c: privileged"),
        (
            {"containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]},
            "container c: adds capabilities SYS_ADMIN",
        ),
        ({"containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 80}]}]}, "hostPort 80"),
        ({"containers": [{"name": "c", "securityContext": {"procMount": "Unmasked"}}]}, "procMount Unmasked"),
        (
            {"containers": [{"name": "c", "securityContext": {"appArmorProfile": {"type": "Unconfined"}}}]},
            "container c: appArmorProfile Unconfined",
        ),
        (
            {"containers": [{"name": "c", "securityContext": {"windowsOptions": {"hostProcess": True}}}]},
            "windowsOptions.hostProcess",
        ),
    ],
)
def test_each_baseline_rule_makes_a_workload_privileged(spec: dict[str, Any], violation: str) -> None:
    found, why = level(deployment("w", **spec))
    assert found is Level.privileged
    assert any(violation in item for item in why), why


def test_allowed_settings_stay_baseline() -> None:
    spec: dict[str, Any] = {
        "securityContext": {"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}]},
        "containers": [
            {"name": "c", "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN"]}}}
        ],
    }
    assert level(deployment("w", **spec))[0] is Level.baseline


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        (
            {
                "securityContext": {
                    "runAsUser": 0,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                }
            },
            "runAsUser 0",
        ),
        (
            {
                "securityContext": {
                    "runAsNonRoot": False,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                }
            },
            "runAsNonRoot not true",
        ),
        (
            {
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"], "add": ["CHOWN"]},
                }
            },
            "adds CHOWN",
        ),
    ],
)
def test_restricted_rules(change: dict[str, Any], missing: str) -> None:
    found, why = level(deployment("w", **restricted_spec(**change)))
    assert found is Level.baseline
    assert any(missing in item for item in why), why


def test_a_hostpath_free_but_nfs_volume_is_not_restricted() -> None:
    spec = restricted_spec()
    spec["volumes"] = [{"name": "share", "nfs": {"server": "nfs", "path": "/"}}]
    found, why = level(deployment("w", **spec))
    assert found is Level.baseline and why == ["volume share: type nfs not allowed"]


def test_findings_compare_the_level_with_the_namespace_label() -> None:
    objects = [
        namespace("strict", **{"pod-security.kubernetes.io/enforce": "restricted"}),
        namespace("loose", **{"pod-security.kubernetes.io/enforce": "privileged"}),
        namespace("bare"),
        deployment("ok", "strict", **restricted_spec()),
        deployment("below", "strict"),
        deployment("priv", "loose", hostNetwork=True),
        deployment("base", "bare"),
    ]
    report = build_audit(objects, SecuritySettings(), [], None, now=NOW)
    pss = {(f.check, f.name) for f in report.findings() if f.check.startswith("pss.")}
    assert pss == {
        ("pss.enforce_violation", "below"),
        ("pss.privileged", "priv"),
        ("pss.baseline", "base"),
        ("pss.namespace_unenforced", "bare"),
    }
    (section,) = [s for s in report.sections if s.id == "pod_security"]
    assert section.summary["workloads_by_level"] == {"privileged": 1, "baseline": 2, "restricted": 1}
