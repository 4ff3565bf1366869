"""The catalogue of checks with their base scores, and the one severity scale derived from them.

A check's severity comes from its base score alone (kubescape's bands: >= 9 critical, >= 7 high,
>= 4 medium, >= 1 low, below that info). Within a severity, findings are ranked by the base score
times the exposure of the object: how many replicas run it and whether its namespace is critical.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from workers.domain import Severity

CRITICAL_NAMESPACE_FACTOR = 2.0
"""Findings in a namespace listed in ``security.critical_namespaces`` weigh this much more."""


@dataclass(frozen=True)
class Check:
    """One audit check: what it looks for, why it matters and what to do."""

    id: str
    family: str
    title: str
    base_score: float
    rationale: str
    remediation: str

    @property
    def severity(self) -> Severity:
        return severity_of(self.base_score)


def severity_of(score: float) -> Severity:
    """The severity band of a base score."""
    if score >= 9:
        return Severity.critical
    if score >= 7:
        return Severity.high
    if score >= 4:
        return Severity.medium
    if score >= 1:
        return Severity.low
    return Severity.info


def exposure(replicas: int, critical_namespace: bool) -> float:
    """1 for a single replica in an ordinary namespace; grows with log2 of the replicas."""
    factor = 1.0 + math.log2(max(replicas, 1)) / 4
    return factor * (CRITICAL_NAMESPACE_FACTOR if critical_namespace else 1.0)


_CHECKS = (
    # RBAC
    Check("rbac.wildcard_all", "rbac", "Role grants every verb on every resource", 9.5,
          "A role with `*` verbs on `*` resources is cluster-admin under another name.",
          "List the verbs and resources the subject needs; bind cluster-admin only to break-glass groups."),
    Check("rbac.wildcard", "rbac", "Role uses a wildcard verb or resource", 7.0,
          "Wildcards grant whatever the API adds later, including subresources such as pods/exec.",
          "Replace `*` with the explicit verbs and resources the workload uses."),
    Check("rbac.cluster_admin", "rbac", "cluster-admin bound to a non-system subject", 9.0,
          "cluster-admin can read every secret and change every object, RBAC included.",
          "Bind a narrower ClusterRole, or a Role in the namespaces the subject works in."),
    Check("rbac.secrets_cluster_read", "rbac", "Subject can read secrets in every namespace", 8.0,
          "get/list/watch on secrets cluster-wide reveals every credential and service account token.",
          "Grant secret access with a RoleBinding in the one namespace that needs it, naming the secrets."),
    Check("rbac.pod_exec", "rbac", "Subject can exec or attach into pods", 7.0,
          "pods/exec and pods/attach run commands inside containers and read their mounted secrets.",
          "Remove pods/exec and pods/attach; grant them temporarily to named people when debugging."),
    Check("rbac.escalation_verbs", "rbac", "Subject can escalate, bind or impersonate", 8.5,
          "escalate and bind let a subject grant itself more than it has; impersonate lets it act as anyone.",
          "Remove escalate, bind and impersonate, or restrict them with resourceNames."),
    Check("rbac.kube_system_create", "rbac", "Subject can create pods or workloads in kube-system", 8.0,
          "A pod in kube-system can mount the service accounts and host paths of the cluster's add-ons.",
          "Remove create on pods and workload kinds in kube-system from this subject's roles."),
    Check("rbac.default_sa_bound", "rbac", "The default ServiceAccount is bound to a role", 5.0,
          "Every pod that names no service account runs as `default`, so it gets this role too.",
          "Create a dedicated ServiceAccount for the workload and bind the role to it instead."),
    # network policies
    Check("netpol.namespace_unprotected", "network", "Namespace has no NetworkPolicy", 6.0,
          "Without a policy every pod accepts traffic from every pod of the cluster.",
          "Add a default-deny ingress policy, then policies that allow the traffic each service needs."),
    Check("netpol.no_default_deny", "network", "Namespace has no default-deny ingress policy", 4.0,
          "Pods that no policy selects stay open; a default deny makes new workloads closed by default.",
          "Add a NetworkPolicy with `podSelector: {}` and `policyTypes: [Ingress]` and no ingress rules."),
    Check("netpol.pod_unselected", "network", "Workload's pods are selected by no ingress policy", 5.0,
          "Its pods accept connections from anywhere in the cluster.",
          "Add a NetworkPolicy that selects the workload's labels and allows only its clients."),
    Check("netpol.allow_all_ingress", "network", "NetworkPolicy allows ingress from anywhere", 6.5,
          "A rule with no `from`, or an ipBlock of 0.0.0.0/0, admits every source.",
          "Name the client pods or namespaces in `from`, or the narrowest CIDR that is needed."),
    # secrets
    Check("secrets.env_var", "secrets", "Secret exposed as an environment variable", 4.0,
          "Environment variables leak into logs, crash dumps and child processes, and never update.",
          "Mount the secret as a volume and read the file."),
    Check("secrets.literal_in_env", "secrets", "Secret-like literal value in a container's env", 7.5,
          "A credential written into a pod spec is readable by anyone who can read the workload.",
          "Move the value into a Secret (rotated) and reference it from a volume."),
    Check("secrets.literal_in_configmap", "secrets", "Secret-like literal value in a ConfigMap", 7.0,
          "ConfigMaps are not secret: they are readable with `view` and often committed to git.",
          "Move the value into a Secret and rotate it, since it has been exposed."),
    Check("secrets.missing_reference", "secrets", "Reference to a Secret that does not exist", 5.0,
          "The pod cannot start or runs without credentials; a Secret created later by that name is trusted.",
          "Create the Secret, fix the name, or mark the reference `optional: true`."),
    Check("secrets.token_automount", "secrets", "ServiceAccount token mounted where no API is needed", 3.0,
          "A mounted token is a credential an attacker in the container can use against the API server.",
          "Set `automountServiceAccountToken: false` on the pod or its ServiceAccount."),
    Check("secrets.rotation", "secrets", "Secret older than the rotation age", 3.5,
          "Long-lived credentials have had the most chances to leak.",
          "Rotate the credential and replace the Secret; automate rotation where possible."),
    # pod security
    Check("pss.privileged", "pod_security", "Workload meets only the privileged Pod Security level", 8.0,
          "It breaks a baseline rule (privileged, host namespaces, hostPath...): an escape is one step away.",
          "Remove the settings listed in the evidence so the workload meets at least `baseline`."),
    Check("pss.baseline", "pod_security", "Workload meets baseline but not restricted", 2.0,
          "Restricted (non-root, no escalation, seccomp, drop ALL) limits what a hijacked container can do.",
          "Apply the restricted settings listed in the evidence."),
    Check("pss.enforce_violation", "pod_security", "Workload is below its namespace's enforced level", 8.5,
          "The namespace enforces a level this workload does not meet: it predates the label or is exempt, "
          "and its next pod will be rejected.",
          "Fix the workload's securityContext, or change the namespace's enforce label knowingly."),
    Check("pss.namespace_unenforced", "pod_security", "Namespace enforces no Pod Security level", 3.0,
          "Without `pod-security.kubernetes.io/enforce`, any pod spec is admitted there.",
          "Label the namespace `pod-security.kubernetes.io/enforce=baseline` (or restricted)."),
    # images
    Check("images.latest_tag", "images", "Image uses :latest or no tag", 5.0,
          "The running code changes with each pull and cannot be traced or rolled back.",
          "Pin a version tag, and preferably a digest."),
    Check("images.no_digest", "images", "Image not pinned by digest", 2.0,
          "A tag can be moved to other content; only a digest names exact bytes.",
          "Reference the image as `name:tag@sha256:...`."),
    Check("images.registry_not_allowed", "images", "Image from a registry outside the allowlist", 6.0,
          "Images from unvetted registries bypass the supply-chain controls of the allowed ones.",
          "Mirror the image into an allowed registry, or add the registry to `security.allowed_registries`."),
    Check("images.stale_pull_policy", "images", "imagePullPolicy can run a stale image", 3.0,
          "`Never`, or `IfNotPresent` on a mutable tag, runs whatever copy a node cached.",
          "Pin a digest, or use `imagePullPolicy: Always` for mutable tags."),
    Check("images.vulnerabilities", "images", "Image has known vulnerabilities (trivy)", 5.0,
          "Known CVEs in a running image are the first thing an attacker tries.",
          "Rebuild on a patched base image or upgrade the packages named in the evidence."),
)  # fmt: skip

CHECKS: dict[str, Check] = {check.id: check for check in _CHECKS}
"""Every check by id."""

FAMILIES = {
    "rbac": "RBAC",
    "network": "Network policies",
    "secrets": "Secrets",
    "pod_security": "Pod Security Standards",
    "images": "Images",
}
"""Report sections, in order, by family id."""

TRIVY_SCORES = {"CRITICAL": 9.5, "HIGH": 7.5, "MEDIUM": 5.0, "LOW": 2.0, "UNKNOWN": 1.0}
"""Base score of a trivy vulnerability by its severity."""
