"""Benchmark: the weekly security audit of 5,000 pods, 500 nodes and 2,000 RBAC objects (target < 10 s).

    .venv/bin/python bench/bench_security_audit.py [--pods 5000] [--nodes 500] [--rbac 2000] [--rounds 3]

Generates the cluster with ``sandbox.generate`` (fixed seed), then measures:

- ``audit``: ``build_audit`` alone over the objects (pure: the checks, exceptions, ranking, drift
  against the previous round's report), with its peak Python allocation (tracemalloc);
- ``end to end``: the sandbox API server serving the cluster, the objects read back with paged lists
  (500 per page) through the official client, and the audit, as ``aiops report security`` runs it.

Peak RSS of the process is printed at the end (it includes the sandbox server holding the cluster).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox import generate  # noqa: E402
from sandbox.server import SandboxCluster  # noqa: E402
from workers.domain import Report  # noqa: E402
from workers.integrations.kubernetes.client import Kube  # noqa: E402
from workers.settings import SecuritySettings  # noqa: E402
from workers.workflows.security_audit import build_audit, read_objects  # noqa: E402

NOW = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--rbac", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = SecuritySettings(allowed_registries=["registry.example.com"])
    objects = generate.objects(generate.Size(args.pods, args.nodes, args.rbac), seed=1, now=NOW)
    counts: dict[str, int] = {}
    for obj in objects:
        counts[obj["kind"]] = counts.get(obj["kind"], 0) + 1
    rbac = sum(n for kind, n in counts.items() if kind.endswith(("Role", "RoleBinding")))
    print(
        f"cluster: {len(objects)} objects, {counts.get('Pod', 0)} pods, {counts.get('Node', 0)} nodes, "
        f"{rbac} RBAC objects"
    )
    previous: Report | None = None
    times = []
    peak = 0
    for _ in range(args.rounds):
        tracemalloc.start()
        started = time.perf_counter()
        report = build_audit(objects, settings, [], previous, now=NOW)
        times.append(time.perf_counter() - started)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        previous = report
    findings = len(report.findings())
    print(
        f"audit: median {statistics.median(times):.2f} s, max {max(times):.2f} s over {args.rounds} rounds; "
        f"{findings} findings; peak allocation {peak / 2**20:.0f} MiB"
    )
    cluster: SandboxCluster | None = None
    load_started = time.perf_counter()
    directory = Path(tempfile.mkdtemp(prefix="aiops-bench-security-"))
    generate.write(directory, objects)
    try:
        cluster = SandboxCluster.from_dir(directory, clock=lambda: NOW).start()
        print(f"sandbox: loaded and serving in {time.perf_counter() - load_started:.1f} s")
        ends = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            with cluster.api_client() as api_client:
                listed, forbidden = read_objects(Kube(api_client, timeout_s=60), page_size=500)
            report = build_audit(listed, settings, [], None, now=NOW, unavailable=forbidden)
            ends.append(time.perf_counter() - started)
        print(
            f"end to end (paged + audit): median {statistics.median(ends):.2f} s, max {max(ends):.2f} s; "
            f"{len(listed)} objects read; {len(report.findings())} findings"
        )
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
