"""Comparison: our security audit against checkov's Kubernetes checks, on the same objects.

    .venv/bin/python bench/compare_checkov.py --checkov /tmp/checkov-venv/bin/checkov [--out DIR]

Loads the ``sandbox/scenarios/security-audit`` cluster, reads it back through the API (as the audit
does), exports every object as a manifest file (``--out``, default a temporary directory), runs our
audit on the objects and checkov (``checkov -d DIR --framework kubernetes -o json``; install it in a
separate virtualenv: it is not a dependency of this project) on the manifests, and prints a Markdown
table per object of what each finds. The table in docs/security-audit-comparison.md came from here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.server import SandboxCluster  # noqa: E402
from workers.integrations.kubernetes.client import Kube  # noqa: E402
from workers.settings import SecuritySettings  # noqa: E402
from workers.workflows.security_audit import build_audit, read_objects  # noqa: E402

SCENARIO = ROOT / "sandbox" / "scenarios" / "security-audit"
NOW = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
API_VERSIONS = {
    "Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "ReplicaSet": "apps/v1",
    "Job": "batch/v1", "CronJob": "batch/v1", "NetworkPolicy": "networking.k8s.io/v1",
    "Role": "rbac.authorization.k8s.io/v1", "RoleBinding": "rbac.authorization.k8s.io/v1",
    "ClusterRole": "rbac.authorization.k8s.io/v1", "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
}  # fmt: skip


CLUSTER_SCOPED = frozenset({"Namespace", "Node", "ClusterRole", "ClusterRoleBinding"})


def export(objects: list[dict[str, Any]], out: Path) -> None:
    """One manifest per object, without status and server-set metadata (``kubectl get -o yaml``, cleaned)."""
    out.mkdir(parents=True, exist_ok=True)
    for obj in objects:
        kind = obj["kind"]
        meta = {
            k: v for k, v in obj["metadata"].items() if k in ("name", "namespace", "labels", "annotations")
        }
        manifest = {"apiVersion": API_VERSIONS.get(kind, "v1"), "kind": kind, "metadata": meta}
        manifest.update(
            {k: v for k, v in obj.items() if k not in ("kind", "apiVersion", "metadata", "status")}
        )
        name = f"{kind}-{meta.get('namespace', '_')}-{meta['name']}.yaml".replace(":", "_")
        (out / name).write_text(yaml.safe_dump(manifest, sort_keys=False))


def run_checkov(binary: str, directory: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [binary, "-d", str(directory), "--framework", "kubernetes", "-o", "json", "--quiet", "--compact"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    data = json.loads(done.stdout)
    reports = data if isinstance(data, list) else [data]
    return [failed for report in reports for failed in report.get("results", {}).get("failed_checks", [])]


def _object_of(resource: str) -> tuple[str, str, str]:
    # checkov names a resource ``Kind.namespace.name`` (cluster-scoped: ``Kind.name``)
    parts = resource.split(".")
    if len(parts) >= 3:
        namespace = "" if parts[0] in CLUSTER_SCOPED else parts[1]
        return parts[0], namespace, ".".join(parts[2:])
    return parts[0], "", parts[-1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkov", required=True, help="the checkov executable (in its own virtualenv)")
    parser.add_argument(
        "--out", type=Path, help="where to write the manifests (default: a temporary directory)"
    )
    args = parser.parse_args()
    cluster = SandboxCluster.from_dir(SCENARIO, clock=lambda: NOW).start()
    try:
        with cluster.api_client() as api_client:
            objects, _ = read_objects(Kube(api_client))
    finally:
        cluster.stop()
    # The audit's unit of a workload is its controller; checkov sees the exported pods and ReplicaSets too.
    objects = [
        o
        for o in objects
        if not (o["kind"] in ("Pod", "ReplicaSet") and o["metadata"].get("ownerReferences"))
    ]
    report = build_audit(
        objects, SecuritySettings(allowed_registries=["registry.example.com"]), [], None, now=NOW
    )
    ours: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for found in report.findings():
        namespace = "" if found.kind in CLUSTER_SCOPED else found.namespace or ""
        ours[(found.kind or "", namespace, found.name or "")].add(found.check)
    directory = args.out or Path(tempfile.mkdtemp(prefix="aiops-checkov-"))
    export(objects, directory)
    theirs: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    names: dict[str, str] = {}
    for failed in run_checkov(args.checkov, directory):
        theirs[_object_of(failed["resource"])].add(failed["check_id"])
        names[failed["check_id"]] = failed.get("check_name", "")
    print(f"objects exported: {len(objects)} to {directory}")
    print(f"ours: {sum(map(len, ours.values()))} findings on {len(ours)} objects; "
          f"checkov: {sum(map(len, theirs.values()))} failed checks on {len(theirs)} objects\n")  # fmt: skip
    print("| object | ours | checkov |")
    print("|---|---|---|")
    for key in sorted(set(ours) | set(theirs)):
        kind, namespace, name = key
        where = f"{kind} {namespace + '/' if namespace else ''}{name}"
        print(f"| {where} | {', '.join(sorted(ours.get(key, ()))) or '—'} | "
              f"{', '.join(sorted(theirs.get(key, ()))) or '—'} |")  # fmt: skip
    print("\n| checkov id | name |")
    print("|---|---|")
    for check_id in sorted(names):
        print(f"| {check_id} | {names[check_id]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
