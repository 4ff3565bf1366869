"""Image checks visible from pod specs alone: mutable tags, digests, registries, pull policies.

These are not vulnerability scans: finding CVEs needs an image scanner that pulls the images. A
trivy JSON report (``trivy image --format json``, one report or a list of them) can be passed in,
and its vulnerabilities become ``images.vulnerabilities`` findings on the workloads running the image.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from workers.domain import Finding
from workers.settings import SecuritySettings
from workers.workflows.security_audit import severity
from workers.workflows.security_audit.inventory import Inventory, Workload, workload_finding

DEFAULT_REGISTRY = "docker.io"


@dataclass(frozen=True)
class ImageRef:
    """An image reference split into registry, repository, tag and digest."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, image: str) -> ImageRef:
        rest, _, digest = image.partition("@")
        first, slash, remainder = rest.partition("/")
        if slash and ("." in first or ":" in first or first == "localhost"):
            registry, path = first, remainder
        else:
            registry, path = DEFAULT_REGISTRY, rest
        repository, colon, tag = path.rpartition(":") if ":" in path else (path, "", "")
        return cls(registry, repository if colon else path, tag or None, digest or None)

    @property
    def mutable(self) -> bool:
        """True when the reference can name other bytes tomorrow (no digest)."""
        return self.digest is None


def _registry_allowed(ref: ImageRef, allowed: list[str]) -> bool:
    return any(
        ref.registry == entry or f"{ref.registry}/{ref.repository}".startswith(entry.rstrip("/") + "/")
        for entry in allowed
    )


def check(
    inventory: Inventory, settings: SecuritySettings, trivy: Iterable[dict[str, Any]] = ()
) -> tuple[list[Finding], dict[str, Any], int]:
    found: list[Finding] = []
    workloads = inventory.workloads()
    by_image: dict[str, list[Workload]] = {}
    for workload in workloads:
        latest: list[str] = []
        undigested: list[str] = []
        outside: list[str] = []
        stale: list[str] = []
        for container in workload.containers():
            image = str(container.get("image", ""))
            by_image.setdefault(image, []).append(workload)
            ref = ImageRef.parse(image)
            where = f"{container.get('name')}={image}"
            if ref.digest is None and ref.tag in (None, "latest"):
                latest.append(where)
            if ref.digest is None:
                undigested.append(where)
            if settings.allowed_registries and not _registry_allowed(ref, settings.allowed_registries):
                outside.append(where)
            policy = container.get("imagePullPolicy") or (
                "Always" if ref.tag in (None, "latest") else "IfNotPresent"
            )
            if ref.mutable and (
                policy == "Never" or (policy == "IfNotPresent" and ref.tag in (None, "latest"))
            ):
                stale.append(f"{where} ({policy})")
        if latest:
            found.append(
                workload_finding(
                    "images.latest_tag",
                    settings,
                    workload,
                    f"runs {', '.join(latest[:3])} (mutable tag)",
                    images=latest,
                )
            )
        if undigested:
            found.append(
                workload_finding(
                    "images.no_digest",
                    settings,
                    workload,
                    f"runs {len(undigested)} image(s) without a digest",
                    images=undigested,
                )
            )
        if outside:
            found.append(
                workload_finding(
                    "images.registry_not_allowed",
                    settings,
                    workload,
                    f"pulls {', '.join(outside[:3])} from outside {settings.allowed_registries}",
                    images=outside,
                )
            )
        if stale:
            found.append(
                workload_finding(
                    "images.stale_pull_policy",
                    settings,
                    workload,
                    f"may run a cached image: {', '.join(stale[:3])}",
                    images=stale,
                )
            )
    merged = 0
    for report in trivy:
        artifact = str(report.get("ArtifactName", ""))
        vulns = [v for result in report.get("Results") or [] for v in result.get("Vulnerabilities") or []]
        if not vulns:
            continue
        worst = max(severity.TRIVY_SCORES.get(str(v.get("Severity", "UNKNOWN")), 1.0) for v in vulns)
        counts: dict[str, int] = {}
        for vuln in vulns:
            counts[str(vuln.get("Severity", "UNKNOWN"))] = (
                counts.get(str(vuln.get("Severity", "UNKNOWN")), 0) + 1
            )
        top = sorted(vulns, key=lambda v: -severity.TRIVY_SCORES.get(str(v.get("Severity")), 1.0))[:10]
        listed = [
            {
                k: v.get(k)
                for k in ("VulnerabilityID", "PkgName", "InstalledVersion", "FixedVersion", "Severity")
            }
            for v in top
        ]
        for workload in by_image.get(artifact, []):
            merged += 1
            finding = workload_finding(
                "images.vulnerabilities",
                settings,
                workload,
                f"image {artifact} has {len(vulns)} known vulnerabilities "
                f"({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))})",
                image=artifact,
                counts=counts,
                top=listed,
            )
            found.append(_rescored(finding, worst))
    summary = {
        "images": len(by_image),
        "cve_scanning": "needs an image scanner: pass a trivy JSON report to merge its vulnerabilities",
        "trivy_findings": merged,
    }
    return found, summary, len(workloads)


def _rescored(found: Finding, base: float) -> Finding:
    ratio = found.score / max(float(found.evidence["base_score"]), 0.01)
    return found.model_copy(
        update={
            "severity": severity.severity_of(base),
            "score": round(base * ratio, 2),
            "evidence": {**found.evidence, "base_score": base},
        }
    )
