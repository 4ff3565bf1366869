"""HTTP traffic of the sandbox's pods: per-pod request counters and per-Service latency histograms.

Two families join kube-state-metrics and cAdvisor on ``/metrics``:

- ``http_requests_total{namespace, pod, container, method, code}`` (counter): the requests a Ready pod
  served, named as an app instrumented with a Prometheus client exposes them and labelled as pod
  service discovery (or a PodMonitor) relabels a pod target: ``namespace``, ``pod`` and ``container``
  (the container serving the traffic: the pod's first). The sandbox writes those labels on the samples
  because one endpoint serves every pod; Prometheus adds ``job`` and ``instance``. Methods GET (80 %)
  and POST (20 %); codes ``200`` and ``500`` (the pod's 5xx ratio).
- ``http_request_duration_seconds_bucket{namespace, service, le}`` with ``_sum`` and ``_count``
  (histogram): every request to the pods a Service selects, as a mesh or ingress exporter reports it
  per service, from the Service's latency distribution (log-normal through its p50 and p95).

A pod serves ``rps`` requests a second from the moment it turns Ready until it is deleted, so the
counters grow with the sandbox clock and a scrape at the same sandbox time gives the same numbers.
Nothing is exported unless the scenario has a ``traffic:`` section or a pod carries one of the
annotations below. ``traffic:`` keys (all optional)::

    traffic:
      rps: 5                      # requests per second per Ready pod (default 0: no traffic)
      error_ratio: 0.001          # share of 5xx answers (default 0)
      images:                     # image pattern -> 5xx share; "shop/checkout:2.1.0" also matches
        shop/checkout:2.1.0: 0.12 #   "registry.example.com/shop/checkout:2.1.0"; globs allowed
      workloads:                  # namespace/name of the pod's Deployment (or other owner)
        shop/checkout: {rps: 10, error_ratio: 0.002}
      latency: {p50: 0.05, p95: 0.25}   # seconds; the default for every Service
      services:
        shop/checkout: {p50: 0.08, p95: 0.4}

A pod's rate: the ``sandbox.aiops.dev/http-rps`` annotation, else its workload's, else ``rps``. Its 5xx
share: the ``sandbox.aiops.dev/http-error-ratio`` annotation, else the first matching image, else its
workload's, else ``error_ratio``.
"""

from __future__ import annotations

import fnmatch
import functools
import math
import weakref
from dataclasses import dataclass, field
from typing import Any

from sandbox import podstatus
from sandbox.resources import of_kind
from sandbox.rollouts import controller_of
from sandbox.store import ObjectStore
from sandbox.units import parse_time

RPS_ANNOTATION = "sandbox.aiops.dev/http-rps"
ERROR_ANNOTATION = "sandbox.aiops.dev/http-error-ratio"
REQUESTS = "http_requests_total"
DURATION = "http_request_duration_seconds"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""The Prometheus clients' default buckets; ``+Inf`` comes last."""
METHODS = (("GET", 0.8), ("POST", 0.2))
OK_CODE, ERROR_CODE = "200", "500"
DEFAULT_LATENCY = (0.05, 0.25)
_Z95 = 1.6448536269514722
POD, RS, SERVICE = of_kind("Pod"), of_kind("ReplicaSet"), of_kind("Service")


def escape(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def label_text(labels: dict[str, Any]) -> str:
    """``{a="1",b="2"}``: the label set as the text formats write it (the same for live and history)."""
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in labels.items()) + "}"


def le_text(bound: float) -> str:
    """A bucket bound as the Go client writes it (``0.005``, ``1``, ``+Inf``)."""
    if math.isinf(bound):
        return "+Inf"
    return str(int(bound)) if float(bound).is_integer() else repr(float(bound))


@dataclass(frozen=True)
class Latency:
    """A log-normal latency distribution through its median and 95th percentile (seconds)."""

    p50: float
    p95: float

    @property
    def sigma(self) -> float:
        return max((math.log(self.p95) - math.log(self.p50)) / _Z95, 1e-9)

    def below(self, bound: float) -> float:
        """The share of requests that take at most ``bound`` seconds."""
        if math.isinf(bound):
            return 1.0
        z = (math.log(bound) - math.log(self.p50)) / self.sigma
        return 0.5 * (1 + math.erf(z / math.sqrt(2)))

    @property
    def mean(self) -> float:
        return math.exp(math.log(self.p50) + self.sigma**2 / 2)


def _latency(data: Any, default: Latency) -> Latency:
    data = data if isinstance(data, dict) else {}
    return Latency(float(data.get("p50", default.p50)), float(data.get("p95", default.p95)))


@dataclass(frozen=True)
class Settings:
    """The scenario's ``traffic:`` section (see the module docstring for the keys)."""

    enabled: bool = False
    rps: float = 0.0
    error_ratio: float = 0.0
    images: tuple[tuple[str, float], ...] = ()
    workloads: dict[str, dict[str, float]] = field(default_factory=dict)
    latency: Latency = Latency(*DEFAULT_LATENCY)
    services: dict[str, Latency] = field(default_factory=dict)

    @classmethod
    def from_scenario(cls, data: Any) -> Settings:
        if not isinstance(data, dict):
            return cls()
        latency = _latency(data.get("latency"), Latency(*DEFAULT_LATENCY))
        return cls(
            enabled=True,
            rps=float(data.get("rps", 0)),
            error_ratio=float(data.get("error_ratio", 0)),
            images=tuple((str(k), float(v)) for k, v in (data.get("images") or {}).items()),
            workloads={
                str(k): {key: float(v[key]) for key in ("rps", "error_ratio") if key in v}
                for k, v in (data.get("workloads") or {}).items()
            },
            latency=latency,
            services={str(k): _latency(v, latency) for k, v in (data.get("services") or {}).items()},
        )

    def service_latency(self, namespace: str, service: str) -> Latency:
        return self.services.get(f"{namespace}/{service}", self.latency)

    def error_ratio_for(self, image: str, workload: str, annotations: dict[str, str]) -> float:
        if ERROR_ANNOTATION in annotations:
            return _ratio(annotations[ERROR_ANNOTATION], self.error_ratio)
        for pattern, ratio in self.images:
            if fnmatch.fnmatchcase(image, pattern) or fnmatch.fnmatchcase(image, f"*/{pattern}"):
                return ratio
        return self.workloads.get(workload, {}).get("error_ratio", self.error_ratio)

    def rps_for(self, workload: str, annotations: dict[str, str]) -> float:
        if RPS_ANNOTATION in annotations:
            return max(0.0, _ratio(annotations[RPS_ANNOTATION], self.rps, upper=math.inf))
        return self.workloads.get(workload, {}).get("rps", self.rps)


def _ratio(text: str, default: float, upper: float = 1.0) -> float:
    try:
        value = float(text)
    except ValueError:
        return default
    return min(max(value, 0.0), upper) if math.isfinite(value) else default


def _number_problems(data: dict[str, Any], where: str, keys: dict[str, float]) -> list[str]:
    problems = []
    for key, upper in keys.items():
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= upper:
            bound = f"from 0 to {upper:g}" if math.isfinite(upper) else ">= 0"
            problems.append(f"{where}.{key}: must be a number {bound}")
    return problems


def _share(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and 0 <= value <= 1


def _mapping(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _latency_ok(value: Any) -> bool:
    if not isinstance(value, dict) or not set(value) <= {"p50", "p95"}:
        return False
    numbers = [value[q] for q in ("p50", "p95") if q in value]
    if any(isinstance(v, bool) or not isinstance(v, int | float) or v <= 0 for v in numbers):
        return False
    return "p50" not in value or "p95" not in value or value["p95"] >= value["p50"]


def check(data: Any, where: str = "scenario.yaml: traffic") -> list[str]:
    """Problems with a ``traffic:`` section (empty when usable or absent)."""
    if data is None:
        return []
    if not isinstance(data, dict):
        return [f"{where}: must be a mapping"]
    known = {"rps", "error_ratio", "images", "workloads", "latency", "services"}
    problems = [f"{where}: unknown key {k!r}" for k in data if k not in known]
    problems += _number_problems(data, where, {"rps": math.inf, "error_ratio": 1.0})
    for key in ("images", "workloads", "services"):
        if not isinstance(data.get(key) or {}, dict):
            problems.append(f"{where}.{key}: must be a mapping")
    images = _mapping(data, "images")
    problems += [
        f"{where}.images[{k!r}]: a 5xx share from 0 to 1" for k, v in images.items() if not _share(v)
    ]
    workloads = _mapping(data, "workloads")
    for key, value in workloads.items():
        here = f"{where}.workloads[{key!r}]"
        if not isinstance(value, dict) or "/" not in str(key):
            problems.append(f"{here}: a namespace/name key with {{rps, error_ratio}}")
        else:
            problems += _number_problems(value, here, {"rps": math.inf, "error_ratio": 1.0})
    services = _mapping(data, "services")
    latencies = {"latency": data.get("latency"), **{f"services[{k!r}]": v for k, v in services.items()}}
    for key, value in latencies.items():
        if value is not None and not _latency_ok(value):
            problems.append(f"{where}.{key}: {{p50, p95}} in seconds, p95 >= p50 > 0")
    return problems


def workload_of(store: ObjectStore, pod: dict[str, Any]) -> str:
    """``namespace/name`` of the workload a pod belongs to: its ReplicaSet's Deployment, its owner, itself."""
    namespace = pod["metadata"]["namespace"]
    ref = controller_of(pod)
    if ref is None:
        return f"{namespace}/{pod['metadata']['name']}"
    if ref.get("kind") == "ReplicaSet":
        rs = store.get(RS, namespace, ref["name"])
        top = controller_of(rs) if rs is not None else None
        if top is not None:
            return f"{namespace}/{top['name']}"
    return f"{namespace}/{ref['name']}"


def request_counts(requests: float, error_ratio: float) -> list[tuple[str, str, int]]:
    """(method, code, count) for ``requests`` served with ``error_ratio`` 5xx; monotonic in ``requests``."""
    return [
        (
            method,
            code,
            math.floor(requests * share * (error_ratio if code == ERROR_CODE else 1 - error_ratio)),
        )
        for method, share in METHODS
        for code in (OK_CODE, ERROR_CODE)
    ]


@functools.lru_cache(maxsize=256)
def _bucket_shares(latency: Latency) -> tuple[tuple[str, float], ...]:
    return tuple((le_text(b), latency.below(b)) for b in (*BUCKETS, math.inf))


Samples = list[tuple[str, dict[str, str], list[float]]]


def histogram_series(totals: list[float], latency: Latency) -> Samples:
    """(suffix, extra labels, values) of a histogram holding each of ``totals`` requests in turn."""
    series: Samples = [
        ("_bucket", {"le": le}, [math.floor(t * share) for t in totals])
        for le, share in _bucket_shares(latency)
    ]
    series += [
        ("_sum", {}, [round(t * latency.mean, 6) for t in totals]),
        ("_count", {}, [math.floor(t) for t in totals]),
    ]
    return series


def histogram_samples(total: float, latency: Latency) -> list[tuple[str, dict[str, str], float]]:
    """(suffix, extra labels, value) of one histogram holding ``total`` requests."""
    return [(suffix, extra, values[0]) for suffix, extra, values in histogram_series([total], latency)]


@dataclass
class Served:
    """One pod's traffic: who it is, when it turned Ready, and its rate."""

    namespace: str
    pod: str
    container: str
    labels: dict[str, str]
    rps: float
    error_ratio: float
    ready_at: float | None
    """None while a pod without a sandbox behaviour is not Ready (checked again at each look)."""
    end: float | None = None

    def requests(self, now: float) -> float:
        if self.ready_at is None:
            return 0.0
        stop = now if self.end is None else min(now, self.end)
        return max(0.0, stop - self.ready_at) * self.rps


def serving_since(store: ObjectStore, pod: dict[str, Any]) -> float | None:
    """When a pod turned (or will turn) Ready; ``math.inf`` for a pod that never will, None if unknown."""
    behaviour = store.behaviours.get(pod["metadata"].get("uid", ""))
    if behaviour is not None:
        return behaviour.started + behaviour.ready_delay_s if behaviour.state == "running" else math.inf
    view = podstatus.view(store, POD, pod)
    ready = next(
        (c for c in (view.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None
    )
    if ready is not None and ready.get("status") == "True":
        return parse_time(ready["lastTransitionTime"])
    return None


class Model:
    """Every pod that served traffic in one store (deleted ones too, for the Service totals)."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.pods: dict[str, Served] = {}
        self.offsets: dict[tuple[str, str], float] = {}
        """Requests a Service had served before the live pods (set by ``sandbox.history``)."""
        self.floors: dict[str, float] = {}
        """The last value written of each series (name and labels): counters never go back, not even
        by a rounding step where the live model takes over from the history."""

    def counter(self, name: str, labels: dict[str, Any], value: float) -> str:
        """One sample line of a counter, never below the value last written for it."""
        key = name + label_text(labels)
        value = max(value, self.floors.get(key, 0.0))
        self.floors[key] = value
        number = str(int(value)) if float(value).is_integer() else repr(float(value))
        return f"{key} {number}"

    def refresh(self, settings: Settings, now: float) -> None:
        present = set()
        for pod in self.store.items(POD):
            meta = pod["metadata"]
            annotations = meta.get("annotations") or {}
            if not settings.enabled and RPS_ANNOTATION not in annotations:
                continue
            uid = meta.get("uid", "")
            present.add(uid)
            served = self.pods.get(uid)
            if served is None:
                # A pod recreated under the same name (a StatefulSet's) starts its counters again.
                mine = f'{REQUESTS}{{namespace="{escape(meta["namespace"])}",pod="{escape(meta["name"])}",'
                for key in [k for k in self.floors if k.startswith(mine)]:
                    del self.floors[key]
                containers = (pod.get("spec") or {}).get("containers") or [{"name": "", "image": ""}]
                workload = workload_of(self.store, pod)
                served = self.pods[uid] = Served(
                    meta["namespace"],
                    meta["name"],
                    containers[0]["name"],
                    dict(meta.get("labels") or {}),
                    settings.rps_for(workload, annotations),
                    settings.error_ratio_for(containers[0].get("image", ""), workload, annotations),
                    serving_since(self.store, pod),
                )
            elif served.ready_at is None:
                served.ready_at = serving_since(self.store, pod)
        for uid, served in self.pods.items():
            if uid not in present and served.end is None:
                behaviour = self.store.behaviours.get(uid)
                served.end = behaviour.deleted if behaviour is not None and behaviour.deleted else now

    def service_total(self, namespace: str, selector: dict[str, str], now: float) -> float:
        """Requests served so far by the pods ``selector`` matches, the history's share included."""
        return sum(
            s.requests(now)
            for s in self.pods.values()
            if s.namespace == namespace and all(s.labels.get(k) == v for k, v in selector.items())
        )


_MODELS: weakref.WeakKeyDictionary[ObjectStore, Model] = weakref.WeakKeyDictionary()


def model(store: ObjectStore) -> Model:
    """The traffic model of ``store`` (one per store, created on first use)."""
    with store.lock:
        found = _MODELS.get(store)
        if found is None:
            found = _MODELS[store] = Model(store)
        return found


def exposition(store: ObjectStore, scenario_data: dict[str, Any], now: float) -> str:
    """The two families in the Prometheus text format (empty without traffic); callers hold ``store.lock``."""
    settings = Settings.from_scenario(scenario_data.get("traffic"))
    traffic = model(store)
    traffic.refresh(settings, now)
    live = [s for s in traffic.pods.values() if s.end is None]
    if not live and not traffic.offsets:
        return ""
    out = [f"# HELP {REQUESTS} Total number of HTTP requests.", f"# TYPE {REQUESTS} counter"]
    for s in sorted(live, key=lambda s: (s.namespace, s.pod)):
        base = {"namespace": s.namespace, "pod": s.pod, "container": s.container}
        for method, code, count in request_counts(s.requests(now), s.error_ratio):
            out.append(traffic.counter(REQUESTS, {**base, "method": method, "code": code}, count))
    out += [f"# HELP {DURATION} HTTP request latency.", f"# TYPE {DURATION} histogram"]
    for service in store.items(SERVICE):
        meta, selector = service["metadata"], (service.get("spec") or {}).get("selector") or {}
        namespace, name = meta["namespace"], meta["name"]
        selected = [s for s in traffic.pods.values() if s.namespace == namespace and selector and all(
            s.labels.get(k) == v for k, v in selector.items()
        )]  # fmt: skip
        offset = traffic.offsets.get((namespace, name), 0.0)
        if not selected and not offset:
            continue
        total = offset + traffic.service_total(namespace, selector, now)
        base = {"namespace": namespace, "service": name}
        for suffix, extra, value in histogram_samples(total, settings.service_latency(namespace, name)):
            out.append(traffic.counter(DURATION + suffix, {**base, **extra}, value))
    return "\n".join(out) + "\n"
