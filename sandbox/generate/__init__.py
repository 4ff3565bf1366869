"""A large, realistic sandbox cluster, generated as a scenario folder (``python -m sandbox.generate``).

``python -m sandbox.generate OUTDIR --pods 5000 --nodes 500 --rbac 2000 --seed 1`` writes manifests
that ``SandboxCluster.from_dir`` loads: nodes (some NotReady, under pressure or cordoned, kubelet
versions skewed), namespaces with Deployments, StatefulSets, DaemonSets and CronJobs and their pods
(a few crash-looping, OOM-killed, unschedulable or failing to pull), Services, HPAs (some at their
max), PodDisruptionBudgets (some blocking), NetworkPolicies in some namespaces, ConfigMaps and
Secrets (some exposed as env vars, some missing), pods with every kind of securityContext, images
from several registries with ``:latest``, no tag or digests, the metrics APIService, a KEDA
ScaledObject, and RBAC objects (``sandbox.generate.rbac``) with the risky grants a security audit
looks for. The same seed and ``--now`` give the same files. ``objects()`` returns the objects
without writing them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from collections import defaultdict
from pathlib import Path

import yaml

from sandbox.generate import namespaces, nodes, rbac, workloads
from sandbox.generate.base import Builder, Obj, Size
from sandbox.units import rfc3339

__all__ = ["Size", "main", "objects", "write"]
_WORDS = (
    "payments",
    "checkout",
    "search",
    "catalog",
    "orders",
    "billing",
    "identity",
    "ledger",
    "media",
    "notify",
    "pricing",
    "reviews",
    "shipping",
    "stock",
    "analytics",
    "gateway",
    "profile",
    "ads",
)


def objects(size: Size = Size(), seed: int = 1, now: dt.datetime | None = None) -> list[Obj]:
    """Every object of the generated cluster (deterministic for a seed and ``now``)."""
    moment = now or dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    g = Builder(random.Random(seed), moment.timestamp(), size)
    for i in range(1, max(size.nodes, 1) + 1):
        g.nodes.append(nodes.node(g, i))
    nodes.metrics_apiservice(g)
    names = [f"{_WORDS[i % len(_WORDS)]}-{i // len(_WORDS) + 1}" for i in range(size.namespace_count)]
    for name in ("kube-system", *names):
        nodes.namespace(g, name)
    daemons = min(len(workloads._DAEMONS), int(0.3 * size.pods) // max(size.nodes, 1))
    left = size.pods - workloads.daemonsets(g, daemons)
    shares = [g.rng.uniform(0.5, 1.5) for _ in names]
    budgets = [int(left * s / sum(shares)) for s in shares]
    budgets[-1] += left - sum(budgets)
    for ns, budget in zip(names, budgets, strict=True):
        namespaces.fill(g, ns, budget)
    subjects = defaultdict(list)
    for obj in g.objects:
        if obj["kind"] == "ServiceAccount":
            subjects[obj["metadata"]["namespace"]].append(obj["metadata"]["name"])
    rbac.add(g.objects, g.rng, g.uid, names, dict(subjects), size.rbac, rfc3339(g.now - 86400 * 30))
    return g.objects


def write(directory: Path, objs: list[Obj]) -> list[Path]:
    """Write ``objs`` as a scenario folder: ``cluster.yaml``, ``rbac.yaml`` and one file per namespace."""
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[Obj]] = defaultdict(list)
    for obj in objs:
        namespace = obj["metadata"].get("namespace")
        rbac = obj["apiVersion"].startswith("rbac.")
        files["rbac" if rbac else f"names/{namespace}" if namespace else "cluster"].append(obj)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    written = []
    for name, docs in sorted(files.items()):
        path = directory / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as out:
            yaml.dump_all(docs, out, Dumper=dumper, sort_keys=False, width=200)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path, help="the scenario folder to write (created if missing)")
    parser.add_argument("--pods", type=int, default=Size.pods)
    parser.add_argument("--nodes", type=int, default=Size.nodes)
    parser.add_argument("--rbac", type=int, default=Size.rbac, help="Roles, ClusterRoles and their bindings")
    parser.add_argument("--namespaces", type=int, default=0, help="0: one per 250 pods (at least 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--now",
        type=dt.datetime.fromisoformat,
        default=None,
        help="the moment object ages count from (ISO 8601; default: today 00:00 UTC)",
    )
    args = parser.parse_args(argv)
    for name in ("pods", "nodes", "rbac", "namespaces"):
        if getattr(args, name) < 0:
            parser.error(f"--{name} must be >= 0")
    now = args.now.replace(tzinfo=args.now.tzinfo or dt.UTC) if args.now else None
    objs = objects(Size(args.pods, args.nodes, args.rbac, args.namespaces), args.seed, now)
    files = write(args.outdir, objs)
    counts: dict[str, int] = defaultdict(int)
    for obj in objs:
        counts[obj["kind"]] += 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    print(f"wrote {len(objs)} objects in {len(files)} files to {args.outdir}: {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
