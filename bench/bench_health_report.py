"""Benchmark: the weekly health report of 5,000 pods and 500 nodes (target < 10 s, bounded memory).

    .venv/bin/python bench/bench_health_report.py [--pods 5000] [--nodes 500] [--rounds 3] [--page-size 500]

Generates the cluster with ``sandbox.generate`` (fixed seed), serves it from the sandbox API server, and
measures the report as the scheduled job builds it: every kind read with paged lists (``limit`` and
``continue``) through the official client, reduced object by object, the sections, scores and the
comparison with the previous round's report; then the markdown and HTML rendering. Prometheus is not
configured (the service-health section says so), so the figures are the Kubernetes side. Prints the
peak Python allocation of the report build (tracemalloc) and the process's peak RSS (which includes the
sandbox server holding the whole cluster in this same process).
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
from workers.settings import Settings  # noqa: E402
from workers.spine.report_render import render_html, render_markdown  # noqa: E402
from workers.spine.workflow import ReportInputs  # noqa: E402
from workers.workflows.health_report import WORKFLOW  # noqa: E402

NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--page-size", type=int, default=500)
    args = parser.parse_args()
    objects = generate.objects(generate.Size(args.pods, args.nodes, 0), seed=1, now=NOW)
    counts: dict[str, int] = {}
    for obj in objects:
        counts[obj["kind"]] = counts.get(obj["kind"], 0) + 1
    print(f"cluster: {len(objects)} objects, {counts.get('Pod', 0)} pods, {counts.get('Node', 0)} nodes")
    directory = Path(tempfile.mkdtemp(prefix="aiops-bench-health-"))
    generate.write(directory, objects)
    del objects
    cluster: SandboxCluster | None = None
    settings = Settings()
    try:
        started = time.perf_counter()
        cluster = SandboxCluster.from_dir(directory, clock=lambda: NOW).start()
        print(f"sandbox: loaded and serving in {time.perf_counter() - started:.1f} s")
        previous: Report | None = None
        times, renders, peak = [], [], 0
        # Timed rounds run without tracemalloc (it slows every allocation, the in-process sandbox server's
        # too); one more round measures the peak allocation of the build.
        for round_ in range(args.rounds + 1):
            traced = round_ == args.rounds
            with cluster.api_client() as api_client:
                inputs = ReportInputs(
                    settings,
                    Kube(api_client, timeout_s=60),
                    None,
                    NOW,
                    {"page_size": args.page_size},
                )
                if traced:
                    tracemalloc.start()
                started = time.perf_counter()
                report = WORKFLOW.build(inputs, previous)
                elapsed = time.perf_counter() - started
                if traced:
                    peak = tracemalloc.get_traced_memory()[1]
                    tracemalloc.stop()
                    break
                times.append(elapsed)
            started = time.perf_counter()
            markdown, html = render_markdown(report), render_html(report)
            renders.append(time.perf_counter() - started)
            previous = report
        pods = next(s for s in report.sections if s.id == "pods").summary["total"]
        print(
            f"report (paged reads + sections + comparison): median {statistics.median(times):.2f} s, "
            f"max {max(times):.2f} s over {args.rounds} rounds; {pods} pods read; {len(report.findings())} "
            f"findings; score {report.score} ({report.grade}); peak allocation {peak / 2**20:.0f} MiB"
        )
        print(
            f"render md + html: median {statistics.median(renders):.2f} s; {len(markdown) // 1024} KiB md, "
            f"{len(html) // 1024} KiB html, {len(report.model_dump_json()) // 1024} KiB json"
        )
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
