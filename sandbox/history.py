"""Days of metric history for a scenario, in OpenMetrics, turned into TSDB blocks by the real promtool.

``backfill`` writes ``days`` of samples ending at the sandbox's now for every pod in the store, and runs
``promtool tsdb create-blocks-from openmetrics`` into the data directory of a Prometheus that has not
started yet (``sandbox.localprom.start_prometheus(..., data_dir=...)``). The history belongs to the pods
the live ones replaced, *predecessors* with the live pod's ReplicaSet, node, labels and containers
under other names and uids (a StatefulSet's or bare pod's keep the name), so it joins the live series:
the label sets are the live exporter's, ``job`` and ``instance`` the scrape's, and each Service's
latency histogram goes on from where the history left it. A live pod that started inside the window
(a manifest pod with an old start time) appears from its start as the live exporter shows it: flat.
``sandbox.history_pods`` plans the pods, ``sandbox.history_series`` writes the text.

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

import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox import traffic
from sandbox.errors import SandboxError
from sandbox.store import ObjectStore
from sandbox.units import parse_quantity

if TYPE_CHECKING:
    from sandbox.history_series import Stats

_DURATION = re.compile(r"^-?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_TOP_KEYS = {"days", "step_seconds", "slow_step_seconds", "seed", "workloads"}
_WORKLOAD_KEYS = {"cpu", "memory", "containers", "spikes", "startup", "replaced", "oom", "http"}
_BLOCK_RANGE = "100000h"
"""promtool re-reads its whole input once per block range: the largest range makes it one pass, one block."""


def parse_ago(value: Any) -> float:
    """Seconds before the end for ``4d``, ``3d12h``, ``90m``, ``-2h`` or a number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return abs(float(value))
    match = _DURATION.match(str(value).strip())
    if match is None or not any(match.groups()):
        raise ValueError(f"not a duration like 4d, 3d12h or 90m: {value!r}")
    d, h, m, s = (int(g or 0) for g in match.groups())
    return float(((d * 24 + h) * 60 + m) * 60 + s)


@dataclass(frozen=True)
class Shape:
    """One resource's usage model: ``base`` (None: the live usage) and relative amplitudes."""

    base: float | None = None
    daily: float = 0.0
    weekly: float = 0.0
    noise: float = 0.0

    @classmethod
    def parse(cls, data: Any, default: Shape) -> Shape:
        data = data if isinstance(data, dict) else {}
        base = data.get("base", default.base)
        return cls(
            parse_quantity(base) if base is not None else None,
            float(data.get("daily", default.daily)),
            float(data.get("weekly", default.weekly)),
            float(data.get("noise", default.noise)),
        )


@dataclass(frozen=True)
class Factors:
    """A bump in usage: for ``minutes``, CPU × ``cpu`` and memory × ``memory``."""

    minutes: float
    cpu: float
    memory: float
    per_day: float = 0.0

    @classmethod
    def parse(cls, data: Any, default: Factors) -> Factors:
        data = data if isinstance(data, dict) else {}
        return cls(
            float(data.get("minutes", default.minutes)),
            float(data.get("cpu", default.cpu)),
            float(data.get("memory", default.memory)),
            float(data.get("per_day", default.per_day)),
        )


@dataclass(frozen=True)
class Workload:
    """The ``history.workloads`` entry of one workload (or the defaults)."""

    cpu: Shape = Shape(None, 0.3, 0.15, 0.05)
    memory: Shape = Shape(None, 0.05, 0.02, 0.01)
    containers: dict[str, tuple[Shape, Shape]] = field(default_factory=dict)
    spikes: Factors = Factors(10, 2.0, 1.2, per_day=1)
    startup: Factors = Factors(3, 3.0, 1.5)
    replaced: tuple[float, ...] = ()
    oom: dict[str, Any] | None = None
    http: dict[str, Any] | None = None

    @classmethod
    def parse(cls, data: Any) -> Workload:
        data = data if isinstance(data, dict) else {}
        default = cls()
        cpu, memory = (
            Shape.parse(data.get("cpu"), default.cpu),
            Shape.parse(data.get("memory"), default.memory),
        )
        return cls(
            cpu,
            memory,
            {
                str(name): (
                    Shape.parse((c or {}).get("cpu"), cpu),
                    Shape.parse((c or {}).get("memory"), memory),
                )
                for name, c in (data.get("containers") or {}).items()
            },
            Factors.parse(data.get("spikes"), default.spikes),
            Factors.parse(data.get("startup"), default.startup),
            tuple(parse_ago(t) for t in data.get("replaced") or ()),
            dict(data["oom"]) if isinstance(data.get("oom"), dict) else None,
            dict(data["http"]) if isinstance(data.get("http"), dict) else None,
        )

    def shapes(self, container: str) -> tuple[Shape, Shape]:
        return self.containers.get(container, (self.cpu, self.memory))


@dataclass(frozen=True)
class Settings:
    """The scenario's ``history:`` section."""

    days: int = 14
    step: int = 60
    slow_step: int = 300
    seed: int = 1
    workloads: dict[str, Workload] = field(default_factory=dict)

    @classmethod
    def from_scenario(cls, data: Any) -> Settings:
        data = data if isinstance(data, dict) else {}
        return cls(
            int(data.get("days", 14)),
            int(data.get("step_seconds", 60)),
            int(data.get("slow_step_seconds", 300)),
            int(data.get("seed", 1)),
            {str(k): Workload.parse(v) for k, v in (data.get("workloads") or {}).items()},
        )

    def workload(self, key: str) -> Workload:
        return self.workloads.get(key) or Workload()


def check(data: Any, where: str = "scenario.yaml: history") -> list[str]:
    """Problems with a ``history:`` section (empty when usable or absent)."""
    if data is None:
        return []
    if not isinstance(data, dict):
        return [f"{where}: must be a mapping"]
    problems = [f"{where}: unknown key {k!r}" for k in data if k not in _TOP_KEYS]
    days, step, slow = data.get("days", 14), data.get("step_seconds", 60), data.get("slow_step_seconds", 300)
    if not isinstance(days, int) or not 7 <= days <= 14:
        problems.append(f"{where}.days: a whole number of days from 7 to 14")
    if not isinstance(step, int) or not 10 <= step <= 300:
        problems.append(f"{where}.step_seconds: whole seconds from 10 to 300")
    if (
        not isinstance(slow, int)
        or not isinstance(step, int)
        or step <= 0
        or not step <= slow <= 300
        or slow % step
    ):
        problems.append(f"{where}.slow_step_seconds: a multiple of step_seconds, at most 300")
    if not isinstance(data.get("seed", 1), int):
        problems.append(f"{where}.seed: a whole number")
    workloads = data.get("workloads") or {}
    if not isinstance(workloads, dict):
        return [*problems, f"{where}.workloads: a mapping of namespace/name to settings"]
    for key, spec in workloads.items():
        problems += _workload_problems(spec, f"{where}.workloads[{key!r}]", "/" in str(key))
    return problems


def _workload_problems(spec: Any, here: str, named: bool) -> list[str]:
    if not named or not isinstance(spec, dict):
        return [f"{here}: a namespace/name key with a mapping"]
    problems = [f"{here}: unknown key {k!r}" for k in spec if k not in _WORKLOAD_KEYS]
    if not isinstance(spec.get("replaced") or [], list):
        problems.append(f"{here}.replaced: a list of times such as [5d, 2d12h]")
        return problems
    oom, http = spec.get("oom"), spec.get("http")
    errors = (http or {}).get("errors") or [] if isinstance(http, dict) else []
    try:
        Workload.parse(spec)
        times = [*(spec.get("replaced") or ()), *([oom.get("at", "1d")] if isinstance(oom, dict) else [])]
        times += [e.get("at", "1d") for e in errors if isinstance(e, dict)]
        for t in times:
            parse_ago(t)
    except (ValueError, TypeError, AttributeError) as exc:
        problems.append(f"{here}: {exc}")
    return problems


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
    from sandbox.history_series import Generator  # the writer imports these settings

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
