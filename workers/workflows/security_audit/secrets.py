"""Secret checks: secrets in env vars, secret-like literals, missing references, token automount, rotation.

Secret-like literals are found with the project's redaction engine (``workers.redaction``): a value
is secret-like when its name reads like a secret or the engine would redact it. Values never reach
a finding: messages name the key, and the evidence holds ``[REDACTED]``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from workers import redaction
from workers.domain import Finding
from workers.settings import SecuritySettings
from workers.workflows.security_audit.inventory import (
    Inventory,
    Workload,
    finding,
    meta,
    name_of,
    namespace_of,
    workload_finding,
)

SKIPPED_SECRET_TYPES = frozenset({"kubernetes.io/service-account-token", "helm.sh/release.v1"})
_HARMLESS = frozenset({"", "true", "false", "null", "none", "yes", "no", "0", "1"})


def secret_like(key: str, value: Any) -> bool:
    """True when a literal ``key: value`` looks like a credential."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if text.lower() in _HARMLESS or text.startswith(("$(", "${")):
        return False
    return redaction.is_secret_name(key) or redaction.redact(text) != text


def _secret_refs(workload: Workload) -> Iterator[tuple[str, str, bool, str]]:
    """(secret name, where, optional, how) for every reference of the pod spec to a Secret."""
    for container in workload.containers():
        cname = container.get("name", "")
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                yield (
                    ref.get("name", ""),
                    f"container {cname} env {env.get('name')}",
                    bool(ref.get("optional")),
                    "env",
                )
        for source in container.get("envFrom") or []:
            ref = source.get("secretRef")
            if ref:
                yield ref.get("name", ""), f"container {cname} envFrom", bool(ref.get("optional")), "env"
    for volume in workload.spec.get("volumes") or []:
        if volume.get("secret"):
            secret = volume["secret"]
            yield (
                secret.get("secretName", ""),
                f"volume {volume.get('name')}",
                bool(secret.get("optional")),
                "volume",
            )
        for source in (volume.get("projected") or {}).get("sources") or []:
            if source.get("secret"):
                secret = source["secret"]
                yield (
                    secret.get("name", ""),
                    f"volume {volume.get('name')}",
                    bool(secret.get("optional")),
                    "volume",
                )
    for pull in workload.spec.get("imagePullSecrets") or []:
        yield pull.get("name", ""), "imagePullSecrets", False, "pull"


def _created(obj: dict[str, Any]) -> dt.datetime | None:
    stamp = meta(obj).get("creationTimestamp")
    if not stamp:
        return None
    try:
        return dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None


def check(
    inventory: Inventory, settings: SecuritySettings, now: dt.datetime, bound_subjects: set[str]
) -> tuple[list[Finding], dict[str, Any], int]:
    found: list[Finding] = []
    secrets = inventory.names("Secret")
    accounts = {(namespace_of(sa), name_of(sa)): sa for sa in inventory.kind("ServiceAccount")}
    workloads = inventory.workloads()
    in_env = literals = 0
    for workload in workloads:
        env_refs: list[str] = []
        for secret, where, optional, how in _secret_refs(workload):
            if how == "env":
                env_refs.append(f"{where} <- secret {secret}")
            if (workload.namespace, secret) not in secrets and not optional:
                found.append(
                    workload_finding(
                        "secrets.missing_reference",
                        settings,
                        workload,
                        f"{where} references Secret {secret}, which does not exist",
                        secret=secret,
                        where=where,
                    )
                )
        if env_refs:
            in_env += 1
            found.append(
                workload_finding(
                    "secrets.env_var",
                    settings,
                    workload,
                    f"{len(env_refs)} secret value(s) exposed as environment variables",
                    references=env_refs[:10],
                )
            )
        leaked = [
            f"container {c.get('name')} env {env.get('name')}"
            for c in workload.containers()
            for env in c.get("env") or []
            if "value" in env and secret_like(str(env.get("name", "")), env.get("value"))
        ]
        if leaked:
            literals += 1
            found.append(
                workload_finding(
                    "secrets.literal_in_env",
                    settings,
                    workload,
                    f"secret-like literal value in {', '.join(leaked[:3])}",
                    locations=leaked[:10],
                    value=redaction.REDACTED,
                )
            )
        if workload.namespace != "kube-system":
            account = (
                workload.spec.get("serviceAccountName") or workload.spec.get("serviceAccount") or "default"
            )
            sa = accounts.get((workload.namespace, account)) or {}
            mounted = workload.spec.get("automountServiceAccountToken")
            if mounted is None:
                mounted = sa.get("automountServiceAccountToken", True)
            subject = f"ServiceAccount:{workload.namespace}/{account}"
            if mounted and subject not in bound_subjects:
                found.append(
                    workload_finding(
                        "secrets.token_automount",
                        settings,
                        workload,
                        f"mounts the token of ServiceAccount {account}, which no binding "
                        "grants any permission",
                        service_account=account,
                    )
                )
    for configmap in inventory.kind("ConfigMap"):
        keys = [key for key, value in (configmap.get("data") or {}).items() if secret_like(str(key), value)]
        if keys:
            namespace = namespace_of(configmap)
            found.append(
                finding(
                    "secrets.literal_in_configmap",
                    settings,
                    namespace=namespace,
                    kind="ConfigMap",
                    name=name_of(configmap),
                    message=f"ConfigMap {namespace}/{name_of(configmap)} holds secret-like values "
                    f"under {', '.join(sorted(keys)[:5])}",
                    evidence={"keys": sorted(keys)[:20], "value": redaction.REDACTED},
                )
            )
    limit = dt.timedelta(days=settings.secret_max_age_days)
    for stored in inventory.kind("Secret"):
        created = _created(stored)
        if stored.get("type") in SKIPPED_SECRET_TYPES or created is None or now - created <= limit:
            continue
        namespace, age = namespace_of(stored), (now - created).days
        found.append(
            finding(
                "secrets.rotation",
                settings,
                namespace=namespace,
                kind="Secret",
                name=name_of(stored),
                message=f"Secret {namespace}/{name_of(stored)} is {age} days old "
                f"(rotation age {settings.secret_max_age_days})",
                evidence={"age_days": age, "created": created.isoformat()},
            )
        )
    summary = {
        "secrets": len(inventory.kind("Secret")),
        "workloads_with_secrets_in_env": in_env,
        "workloads_with_literals": literals,
    }
    return found, summary, len(workloads) + len(inventory.kind("ConfigMap")) + len(inventory.kind("Secret"))
