"""The OpenMetrics text of a history: every family, from the pods ``sandbox.history_pods`` planned.

Label sets are the live exporter's (taken from its own functions where it has them), so that history
and live samples are one series; counters the live exporter continues end where the live model
starts (``Stats.continued``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from sandbox import exporter, podstatus, traffic
from sandbox.history_pods import Grid, HistoryPod, Life, WorkloadHistory, noise, plan, season, seeded
from sandbox.history_settings import Settings, parse_ago
from sandbox.resources import of_kind
from sandbox.store import ObjectStore
from sandbox.units import parse_quantity, parse_time
from sandbox.usage import container_usage

POD, SERVICE = of_kind("Pod"), of_kind("Service")


# --- the writer -------------------------------------------------------------------------------------
@dataclass
class Stats:
    """What one generation wrote."""

    series: int = 0
    samples: int = 0
    skipped: list[str] = field(default_factory=list)
    service_totals: dict[tuple[str, str], float] = field(default_factory=dict)
    """Requests each Service's predecessor pods served: where its live histogram goes on from."""
    continued: dict[str, float] = field(default_factory=dict)
    """The last value of each traffic series the live exporter continues, by name and label set."""


class _Family:
    """Collects the series of one metric family and writes them in OpenMetrics."""

    def __init__(self, out: TextIO, stats: Stats, common: dict[str, str]) -> None:
        self.out, self.stats, self.common = out, stats, common

    def begin(self, name: str, kind: str) -> None:
        self.out.write(f"# TYPE {name} {kind}\n")

    def series(self, name: str, labels: dict[str, Any], values: Iterable[str], stamps: Iterable[str]) -> None:
        prefix = f"{name}{traffic.label_text({**labels, **self.common})} "
        lines = [prefix + v + s for v, s in zip(values, stamps, strict=True)]
        if lines:
            self.out.write("".join(lines))
            self.stats.series += 1
            self.stats.samples += len(lines)

    def constant(self, name: str, labels: dict[str, Any], value: float, grid: Grid, span: range) -> None:
        text = _num(value)
        self.series(name, labels, [text] * len(span), grid.stamps[span.start : span.stop])


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _num(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}"


class Generator:
    """Builds the history of one store: ``write`` emits every family, in OpenMetrics."""

    def __init__(self, store: ObjectStore, scenario: dict[str, Any], end: float) -> None:
        self.store = store
        self.settings = Settings.from_scenario(scenario.get("history"))
        self.traffic = traffic.Settings.from_scenario(scenario.get("traffic"))
        days = self.settings.days * 86400
        self.end = int(end)
        self.w0 = float(self.end - days)
        self.fast = Grid(self.end, self.settings.step, days // self.settings.step)
        self.slow = Grid(self.end, self.settings.slow_step, days // self.settings.slow_step)
        self.now = store.clock.time()
        self.workloads = self._workloads()
        self._seasons: dict[tuple[str, float, float], list[float]] = {}

    def _workloads(self) -> list[WorkloadHistory]:
        found: dict[str, WorkloadHistory] = {}
        for pod in self.store.items(POD):
            view = podstatus.view(self.store, POD, pod)
            key = traffic.workload_of(self.store, view)
            if key not in found:
                found[key] = WorkloadHistory(key, self.settings.workload(key), [])
            found[key].live.append(view)
        for work in found.values():
            work.live.sort(key=lambda p: p["metadata"]["name"])
            plan(self.store, self.settings, work, self.w0, self.end)
        return [found[k] for k in sorted(found)]

    def _season(self, grid: Grid, daily: float, weekly: float) -> list[float]:
        key = ("fast" if grid is self.fast else "slow", daily, weekly)
        if key not in self._seasons:
            self._seasons[key] = season(grid.times, daily, weekly)
        return self._seasons[key]

    def _spikes(self, work: WorkloadHistory) -> list[bool]:
        """Whether a workload is in a load spike at each time of the fast grid (all its pods at once)."""
        flags = [False] * (self.fast.n + 1)
        spikes = work.spec.spikes
        rng = seeded(self.settings, work.key, "spikes")
        for _ in range(round(spikes.per_day * self.settings.days)):
            start = self.w0 + rng.uniform(0, self.settings.days * 86400 - spikes.minutes * 60)
            for k in self.fast.span(start, start + spikes.minutes * 60):
                flags[k] = True
        return flags

    # -- per-container usage on the fast grid --
    def _usage(
        self,
        work: WorkloadHistory,
        live: dict[str, Any],
        hp: HistoryPod,
        container: dict[str, Any],
        life: Life,
        spikes: list[bool],
    ) -> tuple[range, list[float], list[float], float]:
        """(indices, CPU cores, memory bytes, the CPU counter's zero time) of one container life."""
        span = self.fast.span(max(life.start, self.w0), life.stop)
        now_usage = container_usage(self.store, live, container)
        if hp.own:  # what the live exporter showed: constant usage, the counter from the container start
            status: dict[str, Any] = next(
                (
                    c
                    for c in (live.get("status") or {}).get("containerStatuses") or []
                    if c["name"] == container["name"]
                ),
                {},
            )
            started = ((status.get("state") or {}).get("running") or {}).get("startedAt")
            origin = parse_time(started) if started else life.start
            return span, [now_usage["cpu"]] * len(span), [now_usage["memory"]] * len(span), origin
        cpu_shape, mem_shape = work.spec.shapes(container["name"])
        cpu_base = cpu_shape.base if cpu_shape.base is not None else now_usage["cpu"]
        mem_base = mem_shape.base if mem_shape.base is not None else now_usage["memory"]
        cpu_season = self._season(self.fast, cpu_shape.daily, cpu_shape.weekly)
        mem_season = self._season(self.fast, mem_shape.daily, mem_shape.weekly)
        rng = seeded(self.settings, hp.uid, container["name"], life.cid)
        spike = work.spec.spikes
        cpu, mem = [], []
        cpu_noise = noise(rng, cpu_shape.noise, len(span))
        mem_noise = noise(rng, mem_shape.noise, len(span))
        for i, k in enumerate(span):
            cpu_f, mem_f = (spike.cpu, spike.memory) if spikes[k] else (1.0, 1.0)
            cpu.append(max(0.0, cpu_base * cpu_season[k] * cpu_noise[i] * cpu_f))
            mem.append(max(0.0, mem_base * mem_season[k] * mem_noise[i] * mem_f))
        limit_text = ((container.get("resources") or {}).get("limits") or {}).get("memory")
        limit = parse_quantity(limit_text) if limit_text else None
        if life.startup:
            start, up = work.spec.startup, work.spec.startup.minutes * 60
            for i, k in enumerate(span):
                age = self.fast.times[k] - life.start
                if age >= up:
                    break
                fall = 1 - age / up
                cpu[i] *= 1 + (start.cpu - 1) * fall
                mem[i] *= 1 + (start.memory - 1) * fall
        if hp.oom is not None and hp.oom[0] == container["name"] and life.stop == hp.oom[1]:
            ramp = float((work.spec.oom or {}).get("ramp_minutes", 30)) * 60
            peak = 0.99 * (limit if limit is not None else 2 * mem_base)
            for i, k in enumerate(span):
                t = self.fast.times[k]
                if t > life.stop - ramp:
                    mem[i] += (peak - mem[i]) * (t - (life.stop - ramp)) / ramp
        if limit is not None:
            mem = [min(m, 0.99 * limit) for m in mem]
        return span, cpu, mem, life.start

    def write(self, out: TextIO, job: str, instance: str) -> Stats:
        stats = Stats()
        family = _Family(out, stats, {"job": job, "instance": instance})
        usage: list[tuple[dict[str, str], range, list[float], list[float], float]] = []
        for work in self.workloads:
            spikes = self._spikes(work)
            if work.spec.oom is not None and not any(hp.oom for _, hp in work.pods):
                stats.skipped.append(f"{work.key}: no predecessor pod covers the OOM time; no OOM episode")
            for live, hp in work.pods:
                by_name = {c["name"]: c for c in (live.get("spec") or {}).get("containers") or []}
                for name, lives in hp.lives.items():
                    for life in lives:
                        span, cpu, mem, origin = self._usage(work, live, hp, by_name[name], life, spikes)
                        usage.append(
                            (self._cadvisor_labels(live, hp, by_name[name], life), span, cpu, mem, origin)
                        )
        family.begin("container_cpu_usage_seconds", "counter")
        for labels, span, cpu, _, origin in usage:
            family.series(
                "container_cpu_usage_seconds_total",
                labels,
                self._counter(span, cpu, origin),
                self._stamps(self.fast, span),
            )
        family.begin("container_memory_working_set_bytes", "gauge")
        for labels, span, _, mem, _ in usage:
            family.series(
                "container_memory_working_set_bytes",
                labels,
                [str(int(m)) for m in mem],
                self._stamps(self.fast, span),
            )
        del usage
        self._kube_pod_series(family)
        self._object_series(family)
        self._http_series(family, stats)
        out.write("# EOF\n")
        return stats

    @staticmethod
    def _stamps(grid: Grid, span: range) -> list[str]:
        return grid.stamps[span.start : span.stop]

    def _counter(self, span: range, cpu: list[float], origin: float) -> list[str]:
        if not span:
            return []
        first = self.fast.times[span.start]
        total = cpu[0] * max(0.0, first - origin)
        out = [f"{total:.6f}"]
        for value in cpu[1:]:
            total += value * self.fast.step
            out.append(f"{total:.6f}")
        return out

    def _cadvisor_labels(
        self, live: dict[str, Any], hp: HistoryPod, container: dict[str, Any], life: Life
    ) -> dict[str, str]:
        """The labels of cAdvisor's series, as ``exporter._cadvisor_series`` writes them."""
        qos = ((live.get("status") or {}).get("qosClass") or "burstable").lower()
        statuses = {c["name"]: c for c in (live.get("status") or {}).get("containerStatuses") or []}
        cid = life.cid
        if hp.own:
            cid = (statuses.get(container["name"]) or {}).get("containerID", "").split("://")[-1] or cid
        return {
            "container": container["name"],
            "id": f"/kubepods/{qos}/pod{hp.uid}/{cid}",
            "image": container.get("image", ""),
            "name": cid,
            "namespace": live["metadata"]["namespace"],
            "pod": hp.name,
        }

    def _templates(self, live: dict[str, Any]) -> dict[str, list[tuple[dict[str, Any], float]]]:
        x = exporter.Exposition()
        exporter._pod_series(x, self.store, live, self.now)
        return x.families

    def _kube_pod_series(self, family: _Family) -> None:
        """kube-state-metrics' pod series of every history pod, from the live pod's label sets."""
        rows: dict[str, list[tuple[dict[str, Any], list[str], list[str]]]] = {}

        def add(name: str, labels: dict[str, Any], values: list[str], stamps: list[str]) -> None:
            rows.setdefault(name, []).append((labels, values, stamps))

        for work in self.workloads:
            for live, hp in work.pods:
                span = self.slow.span(max(hp.start, self.w0), hp.stop)
                if not span:
                    continue
                stamps = self._stamps(self.slow, span)
                swap = {"pod": hp.name, "uid": hp.uid}
                templates = self._templates(live)
                for name in (
                    "kube_pod_owner",
                    "kube_pod_container_resource_requests",
                    "kube_pod_container_resource_limits",
                ):
                    for labels, value in templates.get(name, []):
                        add(name, {**labels, **swap}, [_num(value)] * len(span), stamps)
                meta = live["metadata"]
                base = {"namespace": meta["namespace"], "pod": hp.name, "uid": hp.uid}
                pod_labels = {
                    exporter.label_name(k): v for k, v in sorted((meta.get("labels") or {}).items())
                }
                add("kube_pod_labels", {**base, **pod_labels}, ["1"] * len(span), stamps)
                statuses = {c["name"]: c for c in (live.get("status") or {}).get("containerStatuses") or []}
                for container, lives in hp.lives.items():
                    labels = {**base, "container": container}
                    restarts, started, oom = [], [], []
                    for k in span:
                        t = self.slow.times[k]
                        life = next((lf for lf in reversed(lives) if lf.start <= t), lives[0])
                        if hp.own:
                            status = statuses.get(container) or {}
                            restarts.append(str(status.get("restartCount", 0)))
                            running = ((status.get("state") or {}).get("running") or {}).get("startedAt")
                            started.append(str(int(parse_time(running))) if running else "")
                            continue
                        restarts.append(str(life.restarts))
                        started.append(str(int(life.start + 2)))
                        oom.append("1" if life.oom_before else "")
                    add("kube_pod_container_status_restarts_total", labels, restarts, stamps)
                    kept = [(v, s) for v, s in zip(started, stamps, strict=True) if v]
                    add(
                        "kube_pod_container_state_started", labels, [v for v, _ in kept], [s for _, s in kept]
                    )
                    if any(oom):
                        kept = [(v, s) for v, s in zip(oom, stamps, strict=True) if v]
                        add(
                            "kube_pod_container_status_last_terminated_reason",
                            {**labels, "reason": "OOMKilled"},
                            [v for v, _ in kept],
                            [s for _, s in kept],
                        )
        kinds = {"kube_pod_container_status_restarts_total": "counter"}
        for name, series in rows.items():
            family_name = name.removesuffix("_total") if name in kinds else name
            family.begin(family_name, kinds.get(name, "gauge"))
            for labels, values, stamps in series:
                family.series(name, labels, values, stamps)

    def _object_series(self, family: _Family) -> None:
        """ReplicaSet owners and node allocatable, with the live label sets, over the whole window."""
        x = exporter.Exposition()
        exporter._workload_series(x, self.store)
        exporter._node_series(x, self.store)
        span = self.slow.span(self.w0, self.end + 1)
        for name in ("kube_replicaset_owner", "kube_node_status_allocatable"):
            family.begin(name, "gauge")
            for labels, value in x.families.get(name, []):
                family.constant(name, labels, value, self.slow, span)

    # -- traffic --
    def _http(
        self, work: WorkloadHistory, live: dict[str, Any], hp: HistoryPod
    ) -> tuple[float, float, list[dict[str, Any]]]:
        """(rps, 5xx share, error episodes) of one history pod."""
        containers = (live.get("spec") or {}).get("containers") or [{}]
        annotations = live["metadata"].get("annotations") or {}
        rps = (
            self.traffic.rps_for(work.key, annotations)
            if self.traffic.enabled or traffic.RPS_ANNOTATION in annotations
            else 0.0
        )
        ratio = self.traffic.error_ratio_for(containers[0].get("image", ""), work.key, annotations)
        spec = work.spec.http or {}
        episodes = [dict(e) for e in spec.get("errors") or [] if isinstance(e, dict)]
        return float(spec.get("rps", rps)), float(spec.get("error_ratio", ratio)), episodes

    def _requests(
        self, work: WorkloadHistory, live: dict[str, Any], hp: HistoryPod, span: range
    ) -> tuple[list[float], list[list[tuple[str, str, int]]]]:
        """(requests served so far, (method, code, count) of the app's counters) at each slow sample."""
        rps, ratio, episodes = self._http(work, live, hp)
        if hp.own:  # the live model exactly, so that the live counters go on from here
            containers = (live.get("spec") or {}).get("containers") or [{}]
            annotations = live["metadata"].get("annotations") or {}
            live_on = self.traffic.enabled or traffic.RPS_ANNOTATION in annotations
            rps = self.traffic.rps_for(work.key, annotations) if live_on else 0.0
            ratio = self.traffic.error_ratio_for(containers[0].get("image", ""), work.key, annotations)
            served = traffic.Served("", "", "", {}, rps, ratio, traffic.serving_since(self.store, live))
            totals = [served.requests(self.slow.times[k]) for k in span]
            return totals, [traffic.request_counts(total, ratio) for total in totals]
        container = ((live.get("spec") or {}).get("containers") or [{"name": ""}])[0]["name"]
        restarts = [life.start for life in (hp.lives.get(container) or [])[1:]]
        windows = [
            (
                self.end - parse_ago(e.get("at", "1d")),
                float(e.get("minutes", 30)) * 60,
                float(e.get("ratio", 0.2)),
            )
            for e in episodes
        ]
        shape = self._season(self.slow, work.spec.cpu.daily, work.spec.cpu.weekly)
        serving = hp.start + 10
        total, ok, err = 0.0, 0.0, 0.0
        totals, counts = [], []
        for k in span:
            t = self.slow.times[k]
            if restarts and t >= restarts[0]:
                restarts.pop(0)
                ok = err = 0.0  # the app restarted: its own counters start again
            if t > serving:
                share = next((r for at, length, r in windows if at <= t < at + length), ratio)
                requests = rps * shape[k] * min(self.slow.step, t - serving)
                total, ok, err = total + requests, ok + requests * (1 - share), err + requests * share
            totals.append(total)
            counts.append(
                [(m, traffic.OK_CODE, math.floor(ok * split)) for m, split in traffic.METHODS]
                + [(m, traffic.ERROR_CODE, math.floor(err * split)) for m, split in traffic.METHODS]
            )
        return totals, counts

    def _http_series(self, family: _Family, stats: Stats) -> None:
        """Per-pod request counters and per-Service histograms on the slow grid."""
        counters: dict[tuple[str, ...], tuple[dict[str, str], list[str], list[str]]] = {}
        served: list[tuple[str, dict[str, str], bool, list[float]]] = []  # namespace, labels, own, totals
        for work in self.workloads:
            for live, hp in work.pods:
                annotations = live["metadata"].get("annotations") or {}
                if not (work.spec.http or self.traffic.enabled or traffic.RPS_ANNOTATION in annotations):
                    continue
                span = self.slow.span(max(hp.start, self.w0), hp.stop)
                if not span:
                    continue
                totals, counts = self._requests(work, live, hp, span)
                stamps = self._stamps(self.slow, span)
                container = ((live.get("spec") or {}).get("containers") or [{"name": ""}])[0]["name"]
                base = {"namespace": live["metadata"]["namespace"], "pod": hp.name, "container": container}
                for i, (method, code, _) in enumerate(counts[0]):
                    labels = {**base, "method": method, "code": code}
                    values = [str(row[i][2]) for row in counts]
                    counters[(hp.name, method, code)] = (labels, values, stamps)
                    if hp.own:
                        stats.continued[traffic.REQUESTS + traffic.label_text(labels)] = float(
                            counts[-1][i][2]
                        )
                full = [0.0] * span.start + totals + [totals[-1]] * (self.slow.n + 1 - span.stop)
                served.append(
                    (live["metadata"]["namespace"], dict(live["metadata"].get("labels") or {}), hp.own, full)
                )
        if not counters:
            return
        family.begin("http_requests", "counter")
        for labels, values, stamps in counters.values():
            family.series(traffic.REQUESTS, labels, values, stamps)
        family.begin(traffic.DURATION, "histogram")
        for service in self.store.items(SERVICE):
            meta, selector = service["metadata"], (service.get("spec") or {}).get("selector") or {}
            namespace = meta["namespace"]
            chosen = [s for s in served if selector and s[0] == namespace and _selects(selector, s[1])]
            if not chosen:
                continue
            key = (meta["namespace"], meta["name"])
            stats.service_totals[key] = sum(s[3][-1] for s in chosen if not s[2])
            latency = self.traffic.service_latency(*key)
            base = {"namespace": meta["namespace"], "service": meta["name"]}
            totals = [sum(column) for column in zip(*(s[3] for s in chosen), strict=True)]
            for suffix, extra, numbers in traffic.histogram_series(totals, latency):
                name = traffic.DURATION + suffix
                labels = {**base, **extra}
                family.series(name, labels, [_num(v) for v in numbers], self.slow.stamps)
                stats.continued[name + traffic.label_text(labels)] = float(numbers[-1])
