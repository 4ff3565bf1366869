"""Pod Security Standards: the level each workload meets, against its namespace's enforce label.

The rules are those of the published standards (latest version, as of Kubernetes 1.30): baseline
forbids host namespaces, privileged containers, added capabilities outside the default set,
hostPath volumes, host ports, unconfined AppArmor or seccomp, custom SELinux users, roles and types,
unmasked /proc, unsafe sysctls and Windows HostProcess; restricted also requires the allowed volume
types, ``allowPrivilegeEscalation: false``, ``runAsNonRoot``, a non-zero ``runAsUser``, a
RuntimeDefault or Localhost seccomp profile and ``drop: [ALL]`` with at most NET_BIND_SERVICE added.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from workers.domain import Finding
from workers.settings import SecuritySettings
from workers.workflows.security_audit.inventory import (
    Inventory,
    Workload,
    finding,
    labels_of,
    workload_finding,
)

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


class Level(StrEnum):
    """Pod Security Standards levels, least restrictive first."""

    privileged = "privileged"
    baseline = "baseline"
    restricted = "restricted"

    @property
    def rank(self) -> int:
        return list(Level).index(self)


def _contexts(workload: Workload) -> list[tuple[str, dict[str, Any]]]:
    return [(str(c.get("name", "")), c.get("securityContext") or {}) for c in workload.containers()]


def baseline_violations(workload: Workload) -> list[str]:
    """Why the workload does not meet baseline; empty when it does."""
    spec, pod_ctx = workload.spec, workload.spec.get("securityContext") or {}
    found = [f"spec.{key}: true" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)]
    if (pod_ctx.get("windowsOptions") or {}).get("hostProcess"):
        found.append("securityContext.windowsOptions.hostProcess: true")
    found += [f"volume {v.get('name')}: hostPath" for v in spec.get("volumes") or [] if "hostPath" in v]
    found += _seccomp_apparmor_selinux("pod", pod_ctx, lambda bad: bad == "Unconfined")
    for sysctl in pod_ctx.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            found.append(f"sysctl {sysctl.get('name')}: not in the safe set")
    for key, value in workload.pod_annotations.items():
        if (
            key.startswith(APPARMOR_ANNOTATION)
            and value != "runtime/default"
            and not value.startswith("localhost/")
        ):
            found.append(f"annotation {key}: {value}")
    for container in workload.containers():
        name, ctx = str(container.get("name", "")), container.get("securityContext") or {}
        if ctx.get("privileged"):
            found.append(f"container {name}: privileged")
        if (ctx.get("windowsOptions") or {}).get("hostProcess"):
            found.append(f"container {name}: windowsOptions.hostProcess")
        added = set((ctx.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        if added:
            found.append(f"container {name}: adds capabilities {', '.join(sorted(added))}")
        found += [
            f"container {name}: hostPort {port.get('hostPort')}"
            for port in container.get("ports") or []
            if port.get("hostPort")
        ]
        if ctx.get("procMount") not in (None, "Default"):
            found.append(f"container {name}: procMount {ctx.get('procMount')}")
        found += _seccomp_apparmor_selinux(f"container {name}", ctx, lambda bad: bad == "Unconfined")
    return found


def _seccomp_apparmor_selinux(where: str, ctx: dict[str, Any], bad: Any) -> list[str]:
    found = []
    seccomp = (ctx.get("seccompProfile") or {}).get("type")
    if seccomp is not None and bad(seccomp):
        found.append(f"{where}: seccompProfile {seccomp}")
    apparmor = (ctx.get("appArmorProfile") or {}).get("type")
    if apparmor is not None and apparmor not in ("RuntimeDefault", "Localhost"):
        found.append(f"{where}: appArmorProfile {apparmor}")
    selinux = ctx.get("seLinuxOptions") or {}
    if selinux.get("type", "") not in SELINUX_TYPES:
        found.append(f"{where}: seLinuxOptions.type {selinux.get('type')}")
    if selinux.get("user") or selinux.get("role"):
        found.append(f"{where}: seLinuxOptions user/role set")
    return found


def restricted_violations(workload: Workload) -> list[str]:
    """What keeps a baseline workload from restricted; empty when it meets restricted."""
    spec, pod_ctx = workload.spec, workload.spec.get("securityContext") or {}
    found = []
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if kinds and not kinds <= RESTRICTED_VOLUMES:
            found.append(f"volume {volume.get('name')}: type {', '.join(sorted(kinds))} not allowed")
    pod_nonroot, pod_user = pod_ctx.get("runAsNonRoot"), pod_ctx.get("runAsUser")
    pod_seccomp = (pod_ctx.get("seccompProfile") or {}).get("type")
    if pod_user == 0:
        found.append("securityContext.runAsUser: 0")
    windows = (spec.get("os") or {}).get("name") == "windows"
    for name, ctx in _contexts(workload):
        if ctx.get("allowPrivilegeEscalation") is not False and not windows:
            found.append(f"container {name}: allowPrivilegeEscalation not false")
        nonroot = ctx.get("runAsNonRoot", pod_nonroot)
        if nonroot is not True:
            found.append(f"container {name}: runAsNonRoot not true")
        if ctx.get("runAsUser") == 0:
            found.append(f"container {name}: runAsUser 0")
        seccomp = (ctx.get("seccompProfile") or {}).get("type", pod_seccomp)
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append(f"container {name}: seccompProfile not RuntimeDefault or Localhost")
        caps = ctx.get("capabilities") or {}
        if not windows and "ALL" not in (caps.get("drop") or []):
            found.append(f"container {name}: capabilities.drop lacks ALL")
        added = set(caps.get("add") or []) - {"NET_BIND_SERVICE"}
        if added:
            found.append(f"container {name}: adds {', '.join(sorted(added))}")
    return found


def level_of(workload: Workload) -> tuple[Level, list[str]]:
    """The most restrictive level the workload meets, and what keeps it from the next one."""
    broken = baseline_violations(workload)
    if broken:
        return Level.privileged, broken
    missing = restricted_violations(workload)
    if missing:
        return Level.baseline, missing
    return Level.restricted, []


def check(inventory: Inventory, settings: SecuritySettings) -> tuple[list[Finding], dict[str, Any], int]:
    found: list[Finding] = []
    namespaces = inventory.namespaces()
    levels: dict[str, int] = {level.value: 0 for level in Level}
    workloads = inventory.workloads()
    used = sorted({w.namespace for w in workloads})
    for namespace in used:
        if ENFORCE_LABEL not in labels_of(namespaces.get(namespace, {})):
            found.append(
                finding(
                    "pss.namespace_unenforced",
                    settings,
                    namespace=namespace,
                    kind="Namespace",
                    name=namespace,
                    message=f"namespace {namespace} has no {ENFORCE_LABEL} label",
                )
            )
    for workload in workloads:
        level, why = level_of(workload)
        levels[level.value] += 1
        raw = labels_of(namespaces.get(workload.namespace, {})).get(ENFORCE_LABEL)
        enforced = Level(raw) if raw is not None and raw in Level.__members__ else None
        evidence = {"level": level.value, "enforced": raw, "violations": why[:20]}
        if enforced is not None and level.rank < enforced.rank:
            found.append(
                workload_finding(
                    "pss.enforce_violation",
                    settings,
                    workload,
                    f"meets {level.value} but namespace enforces {enforced.value}",
                    **evidence,
                )
            )
        elif level is Level.privileged:
            found.append(
                workload_finding(
                    "pss.privileged",
                    settings,
                    workload,
                    f"meets only privileged: {'; '.join(why[:3])}",
                    **evidence,
                )
            )
        elif level is Level.baseline:
            found.append(
                workload_finding(
                    "pss.baseline",
                    settings,
                    workload,
                    f"meets baseline, not restricted: {'; '.join(why[:3])}",
                    **evidence,
                )
            )
    return found, {"workloads_by_level": levels}, len(workloads) + len(used)
