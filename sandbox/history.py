"""Days of metric history for a scenario, in OpenMetrics, turned into TSDB blocks by the real promtool.

``backfill`` writes ``days`` of samples ending at the sandbox's now for every pod in the store, and runs
``promtool tsdb create-blocks-from openmetrics`` into the data directory of a Prometheus that has not
started yet (``sandbox.localprom.start_prometheus(..., data_dir=...)``). The history belongs to the pods
the live ones replaced, *predecessors* with the live pod's ReplicaSet, node, labels and containers
under other names and uids (a StatefulSet's or bare pod's keep the name), so it joins the live series:
the label sets are the live exporter's, ``job`` and ``instance`` the scrape's, and each Service's
latency histogram goes on from where the history left it. A live pod that started inside the window
(a manifest pod with an old start time) appears from its start as the live exporter shows it: flat.
``sandbox.history_settings`` reads ``history:``, ``sandbox.history_pods`` plans the pods,
``sandbox.history_series`` writes the text.

Series: container_cpu_usage_seconds_total and container_memory_working_set_bytes (every
``step_seconds``); kube_pod_container_resource_requests / _limits, kube_pod_container_status_restarts_total,
kube_pod_container_status_last_terminated_reason (OOMKilled), kube_pod_container_state_started,
kube_pod_owner, kube_pod_labels, kube_replicaset_owner, kube_node_status_allocatable, and, for
workloads with traffic, http_requests_total and http_request_duration_seconds (every
``slow_step_seconds``, which must stay within Prometheus' 5-minute lookback).

``history:`` in scenario.yaml (every key optional; times such as ``4d``, ``3d12h`` or ``90m`` are that
long before the end of the history)::

    history:
      days: 14                  # 7 to 14 (default 14)
      step_seconds: 60          # CPU and memory (default 60)
      slow_step_seconds: 300    # every other series (default 300)
      seed: 1
      workloads:                # namespace/name of a Deployment, StatefulSet, DaemonSet or bare pod
        shop/checkout:
          cpu: {base: 150m, daily: 0.3, weekly: 0.15, noise: 0.05}      # base: the live usage
          memory: {base: 200Mi, daily: 0.05, weekly: 0.02, noise: 0.01}
          containers: {sidecar: {cpu: {base: 10m}, memory: {base: 30Mi}}}
          spikes: {per_day: 1, minutes: 10, cpu: 2.0, memory: 1.2}
          startup: {minutes: 3, cpu: 3.0, memory: 1.5}  # after every container start in the window
          replaced: [9d, 3d12h]   # the pods were recreated then (a rollout, a drain)
          oom: {at: 4d, container: app, ramp_minutes: 30}   # the first pod's container is OOMKilled
          since: 3d                 # created then: no pod of it before (a new workload; default: always)
          http: {rps: 5, error_ratio: 0.002, errors: [{at: 2d, minutes: 30, ratio: 0.25}]}

Usage at time t is base × (1 + daily·sin(2π(hour − 9)/24), highest at 15:00 UTC) × weekly (1 − weekly
on Saturdays and Sundays, 1 + 0.4·weekly on weekdays) × (1 + noise·N(0, 1)) × the spike and start-up
factors (a start-up factor falls linearly to 1 over its minutes); before an OOM kill memory climbs
to 99 % of the limit over ``ramp_minutes``. Requests follow the CPU's daily and weekly shape. Defaults
for every workload not listed: cpu daily 0.3, weekly 0.15, noise 0.05; memory daily 0.05, weekly
0.02, noise 0.01; one 10-minute spike a day; start-up 3 minutes at ×3 CPU and ×1.5 memory; the rate
and 5xx share of ``traffic:``.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox import traffic
from sandbox.errors import SandboxError
from sandbox.history_series import Generator, Stats
from sandbox.store import ObjectStore

_BLOCK_RANGE = "100000h"
"""promtool re-reads its whole input once per block range: the largest range makes it one pass, one block."""


@dataclass
class Result:
    """What one backfill did, with its timings in seconds."""

    openmetrics: Path
    data_dir: Path
    start: int
    end: int
    stats: Stats
    generate_s: float
    promtool_s: float


def promtool() -> str:
    found = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)
    if found is None:
        raise SandboxError("promtool is not installed (apt-get install -y prometheus)")
    return found


def backfill(
    store: ObjectStore,
    scenario: dict[str, Any],
    data_dir: Path,
    *,
    instance: str,
    job: str = "kube-state-metrics",
    end: float | None = None,
    workdir: Path | None = None,
) -> Result:
    """Write the scenario's history ending at ``end`` (default: the sandbox's now) into ``data_dir``.

    ``instance`` and ``job`` are the labels the scrape of the live sandbox adds (``127.0.0.1:PORT``
    and the job name), so history and live samples are one series. Run it before the Prometheus that
    will read ``data_dir`` starts (and before anything scrapes the sandbox): each Service's live latency
    histogram then goes on from the history.
    """
    began = time.perf_counter()
    workdir = workdir or data_dir.parent
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "history.om"
    with store.lock, path.open("w") as out:  # one consistent view of the live objects
        generator = Generator(store, scenario, end if end is not None else store.clock.time())
        stats = generator.write(out, job, instance)
    generated = time.perf_counter()
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        promtool(),
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        "--quiet",
        f"--max-block-duration={_BLOCK_RANGE}",
        str(path),
        str(data_dir),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise SandboxError(f"promtool failed ({done.returncode}): {(done.stderr or done.stdout)[-2000:]}")
    with store.lock:
        model = traffic.model(store)
        model.offsets.update(stats.service_totals)
        model.floors.update(stats.continued)
    return Result(
        path,
        data_dir,
        int(generator.w0),
        generator.end,
        stats,
        generated - began,
        time.perf_counter() - generated,
    )
