"""Secrets (values always redacted) and images (tags, digests, registries, pull policy, trivy)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.security_builders import NOW, deployment
from workers.settings import SecuritySettings
from workers.workflows.security_audit import build_audit
from workers.workflows.security_audit.audit import parse_trivy
from workers.workflows.security_audit.errors import TrivyReportError
from workers.workflows.security_audit.images import ImageRef
from workers.workflows.security_audit.secrets import secret_like

TOKEN = "ghp_R8x2mQ7vLk3pZ9wYt4nHc6bJd1sFa0eGu5iO"


def test_secret_like_literals_are_found_and_never_shown() -> None:
    objects = [
        deployment(
            "api",
            "shop",
            containers=[
                {
                    "name": "c",
                    "image": "r/a:1",
                    "env": [
                        {"name": "DB_PASSWORD", "value": "s3cr3t-Hunter2"},
                        {"name": "UPSTREAM", "value": f"https://user:{TOKEN}@git.example.com"},
                        {"name": "LOG_LEVEL", "value": "info"},
                        {"name": "API_TOKEN", "value": "$(TOKEN_FROM_FILE)"},
                    ],
                }
            ],
        ),
        {
            "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "shop"},
            "data": {
                "github": TOKEN,
                "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "port": "8080",
            },
        },
    ]
    report = build_audit(objects, SecuritySettings(), [], None, now=NOW)
    dumped = report.model_dump_json()
    for value in ("s3cr3t-Hunter2", TOKEN, "wJalrXUtnFEMI"):
        assert value not in dumped
    (env,) = [f for f in report.findings() if f.check == "secrets.literal_in_env"]
    assert env.evidence["locations"] == ["container c env DB_PASSWORD", "container c env UPSTREAM"]
    assert env.evidence["value"] == "[REDACTED]"
    (cm,) = [f for f in report.findings() if f.check == "secrets.literal_in_configmap"]
    assert cm.evidence["keys"] == ["aws_secret_access_key", "github"]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("PASSWORD", "x9!kQ", True),
        ("NOTE", TOKEN, True),
        ("MODE", "fast", False),
        ("SECRET", "", False),
        ("TOKEN", "${TOKEN}", False),
        ("ENABLED", "true", False),
    ],
)
def test_secret_like(key: str, value: str, expected: bool) -> None:
    assert secret_like(key, value) is expected


def test_references_to_missing_secrets_unless_optional() -> None:
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "c",
                "image": "r/a:1",
                "env": [
                    {"name": "A", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k"}}},
                    {
                        "name": "B",
                        "valueFrom": {"secretKeyRef": {"name": "maybe", "key": "k", "optional": True}},
                    },
                    {"name": "C", "valueFrom": {"secretKeyRef": {"name": "here", "key": "k"}}},
                ],
            }
        ],
        "volumes": [{"name": "v", "secret": {"secretName": "gone-too"}}],
        "imagePullSecrets": [{"name": "pull"}],
    }
    objects = [
        deployment("api", "shop", **spec),
        {"kind": "Secret", "metadata": {"name": "here", "namespace": "shop"}},
    ]
    report = build_audit(objects, SecuritySettings(), [], None, now=NOW)
    missing = sorted(
        f.evidence["secret"] for f in report.findings() if f.check == "secrets.missing_reference"
    )
    assert missing == ["gone", "gone-too", "pull"]
    (env,) = [f for f in report.findings() if f.check == "secrets.env_var"]
    assert len(env.evidence["references"]) == 3


@pytest.mark.parametrize(
    ("image", "registry", "repository", "tag", "digest"),
    [
        ("nginx", "docker.io", "nginx", None, None),
        ("nginx:1.27", "docker.io", "nginx", "1.27", None),
        ("library/nginx:latest", "docker.io", "library/nginx", "latest", None),
        ("localhost:5000/app", "localhost:5000", "app", None, None),
        ("ghcr.io/o/app:2@sha256:abc", "ghcr.io", "o/app", "2", "sha256:abc"),
        (
            "registry.example.com:443/team/app@sha256:def",
            "registry.example.com:443",
            "team/app",
            None,
            "sha256:def",
        ),
    ],
)
def test_image_references(
    image: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    assert ImageRef.parse(image) == ImageRef(registry, repository, tag, digest)


def image_checks(settings: SecuritySettings, **container: str) -> set[str]:
    objects = [deployment("a", "shop", containers=[{"name": "c", **container}])]
    return {
        f.check
        for f in build_audit(objects, settings, [], None, now=NOW).findings()
        if f.check.startswith("images.")
    }


def test_image_checks_and_their_clean_counterparts() -> None:
    allow = SecuritySettings(allowed_registries=["registry.example.com", "ghcr.io/acme/"])
    digest = "@sha256:" + "a" * 64
    assert image_checks(allow, image="registry.example.com/app:1" + digest) == set()
    assert image_checks(allow, image="ghcr.io/acme/app:1" + digest, imagePullPolicy="Never") == set()
    assert image_checks(allow, image="ghcr.io/evil/app:1" + digest) == {"images.registry_not_allowed"}
    assert image_checks(SecuritySettings(), image="ghcr.io/evil/app:1" + digest) == set()
    assert image_checks(allow, image="registry.example.com/app:1") == {"images.no_digest"}
    assert image_checks(allow, image="registry.example.com/app") == {"images.no_digest", "images.latest_tag"}
    assert image_checks(allow, image="registry.example.com/app:1", imagePullPolicy="Never") == {
        "images.no_digest",
        "images.stale_pull_policy",
    }
    assert image_checks(allow, image="registry.example.com/app:latest", imagePullPolicy="IfNotPresent") == {
        "images.no_digest",
        "images.latest_tag",
        "images.stale_pull_policy",
    }


def test_a_trivy_report_merges_vulnerabilities_onto_the_workloads_running_the_image() -> None:
    report_json = json.dumps(
        {
            "ArtifactName": "registry.example.com/app:1",
            "Results": [
                {
                    "Target": "debian",
                    "Vulnerabilities": [
                        {
                            "VulnerabilityID": "CVE-2024-0001",
                            "PkgName": "openssl",
                            "InstalledVersion": "3.0.1",
                            "FixedVersion": "3.0.2",
                            "Severity": "CRITICAL",
                        },
                        {
                            "VulnerabilityID": "CVE-2024-0002",
                            "PkgName": "zlib",
                            "InstalledVersion": "1.2",
                            "Severity": "LOW",
                        },
                    ],
                }
            ],
        }
    )
    objects = [
        deployment(
            "a", "shop", replicas=4, containers=[{"name": "c", "image": "registry.example.com/app:1"}]
        ),
        deployment("b", "shop", containers=[{"name": "c", "image": "registry.example.com/other:1"}]),
    ]
    report = build_audit(objects, SecuritySettings(), [], None, now=NOW, trivy=parse_trivy(report_json))
    (vuln,) = [f for f in report.findings() if f.check == "images.vulnerabilities"]
    assert (vuln.name, vuln.severity.value) == ("a", "critical")
    assert vuln.evidence["counts"] == {"CRITICAL": 1, "LOW": 1}
    assert vuln.score == pytest.approx(9.5 * 1.5)
    assert "trivy" in report.notes[0]
    with pytest.raises(TrivyReportError):
        parse_trivy('{"SchemaVersion": 2}')


def test_without_a_trivy_report_the_audit_says_cve_scanning_needs_a_scanner() -> None:
    report = build_audit([deployment("a")], SecuritySettings(), [], None, now=NOW)
    assert report.notes == [
        "CVE scanning needs an image scanner: pass a trivy JSON report to merge its vulnerabilities."
    ]
