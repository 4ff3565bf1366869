"""Benchmark: an approved action starts within 2 s while a 2,000-alert storm over 500 workloads drains.

Target (issue 18, "Storms"): the storm must not starve the ``actions`` queue; workers take
``actions`` before ``alerts`` (``workers.spine.queues.ALL``), so an approved action waits at most for
the alert jobs the workers are already running.

    .venv/bin/python bench/bench_storm_actions.py [--pods 2000] [--replicas 4] [--workers 2]
        [--approvals 12] [--interval 3] [--jitter 2] [--payload-size 200] [--min-queue 100]
        [--actions-workers 0] [--shuffle]

Everything runs on 127.0.0.1 and is stopped on exit, Ctrl-C or SIGTERM (``bench/_harness.py``): the
generated sandbox scenario of ``bench_alert_to_proposal`` (``--pods`` crash-looping pods in Deployments
of ``--replicas``, namespace ``bench``) plus ``--approvals`` one-replica Deployments ``parked-NN``
whose pod is OOMKilled (their proposal is a real change: ``raise-memory-limit``, a patch of the
Deployment), served by ``aiops sandbox serve``; a real Prometheus; a private redis-server; the receiver
(``aiops serve``, gunicorn) and ``--workers`` ``aiops worker`` processes; the default rules without
their cooldown.

1. Park: one alert per ``parked-NN`` Deployment, one request each; wait for every proposal.
2. Storm: one alert per storm pod, in Alertmanager payloads of ``--payload-size`` alerts, posted back to
   back.
3. Approve (``POST /api/v1/approvals/{id}/approve``, approver token) the parked proposals one by one,
   spread over the drain by queue depth: the first once the payloads' fan-out jobs have filled the
   ``alerts`` queue (``peak`` jobs), the others each time the queue has shrunk by another
   (peak - ``--min-queue``) / ``--approvals``, at least ``--interval`` s apart, each after a random delay
   of up to ``--jitter`` s (so it does not always meet a worker that has just taken a job). One that finds
   fewer than ``--min-queue`` jobs waiting fails the run (the storm no longer competes).
4. Wait for the storm to drain (``alerts`` queue empty, no alert job running) and every execution to end.

"Action started" is the proposal's ``execution.started_at``: the worker's compare-and-set to
``executing``, the first thing the action job does to the proposal (set by the worker; this machine's
clock, as is the client's). Also shown: RQ's ``started_at`` of the ``execute-<id>`` job (its work horse
about to call the function) and ``execution.finished_at``. Each is measured from the moment the client
got the approve answer. Exits non-zero when an action started later than ``--target`` s, an approval
found the queue drained, or the storm did not make one proposal per workload.

A handful of approvals samples the workers' schedule only at a few points, so the jobs the workers ran
(RQ's started_at/ended_at and worker name, every queue) are replayed as well: for an approval at every
50 ms of the drain, the wait until the first worker is free (a worker takes ``actions`` first, so that
is the action's wait, less the ~30 ms of dequeue and fork). ``--actions-workers N`` adds N workers on
``actions`` only, a pool of their own, to compare.

The sandbox builds its pods one by one at start-up, each time over every pod (scheduling, owner
lookups): 2,000 pods take 2-3 minutes before it answers (``--sandbox-timeout``), and a label-selector
list of pods costs it ~170 ms at 2,000 pods (it renders every pod before filtering), which makes
every investigation and sibling join slower than against a real API server.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _harness as h
import bench_alert_to_proposal as a2p
import httpx
import redis
import yaml
from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

from workers.spine import counters, queues, records

PARKED = "parked"
OOM_LOG = "2026-11-25T10:00:03.100Z INFO  loading the promotion index (48211 -> 96422 entries)\n"


# --- the scenario: the storm's Deployments and the parked ones ---------------------------------------


def add_parked(directory: Path, count: int) -> list[str]:
    """``count`` one-replica Deployments whose pod is OOMKilled at its 256Mi limit (and runs at 384Mi):
    their proposals raise the memory limit, a real patch when approved."""
    names = [f"{PARKED}-{index:02d}" for index in range(count)]
    manifests = [a2p._deployment(name, 1) for name in names]
    (directory / "parked.yaml").write_text(yaml.safe_dump_all(manifests, sort_keys=False))
    scenario = yaml.safe_load((directory / "scenario.yaml").read_text())
    scenario["outcomes"] += [
        {
            "deployment": f"{a2p.NAMESPACE}/{name}",
            "container": "app",
            "cases": [
                {
                    "when": {"memory_limit_at_least": "384Mi"},
                    "state": "running",
                    "usage": {"memory": "200Mi", "cpu": "20m"},
                },
                {"state": "oom_killed", "usage": {"memory": "256Mi", "cpu": "50m"}, "log": OOM_LOG},
            ],
        }
        for name in names
    ]
    (directory / "scenario.yaml").write_text(yaml.safe_dump(scenario, sort_keys=False))
    return names


# --- timings ----------------------------------------------------------------------------------------


def _ts(moment: datetime | None) -> float | None:
    """Epoch seconds of an RQ or stored time (UTC; RQ's are aware, a naive one is UTC too)."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _stored_ts(text: str | None) -> float | None:
    return _ts(datetime.fromisoformat(text.replace("Z", "+00:00"))) if text else None


def _job(store: redis.Redis, job_id: str) -> Job | None:
    try:
        return Job.fetch(job_id, connection=store)
    except NoSuchJobError:
        return None


def _kind(job_id: str) -> str:
    """An alert job's kind from its id: fanout-, investigate-, siblings-, resolved-."""
    return job_id.split("-", 1)[0]


@dataclass
class Approval:
    proposal_id: str
    sent: float
    answered: float
    queue_depth: int
    """Jobs waiting in ``alerts`` just before the approve request."""
    busy: list[str]
    """The job each worker was running when the request was sent (``idle`` for none)."""
    results: dict[str, Any] = field(default_factory=dict)


def proposal_doc(store: redis.Redis, proposal_id: str) -> dict[str, Any]:
    return dict(json.loads(store.hget(f"aiops:proposal:{proposal_id}", "doc") or b"{}"))


def busy_jobs(store: redis.Redis) -> list[str]:
    return sorted(worker.get_current_job_id() or "idle" for worker in Worker.all(connection=store))


def approve(http: httpx.Client, store: redis.Redis, proposal_id: str) -> Approval:
    depth = queues.queue(queues.ALERTS, store).count
    busy = busy_jobs(store)
    sent = time.time()
    answer = http.post(
        f"/api/v1/approvals/{proposal_id}/approve",
        json={"comment": "bench: approved during the storm"},
        headers=h.auth("approver"),
    )
    answered = time.time()
    if answer.status_code != 200 or answer.json().get("status") != "approved":
        raise RuntimeError(f"approve {proposal_id} answered {answer.status_code}: {answer.text[:300]}")
    return Approval(proposal_id, sent, answered, depth, busy)


def measure(store: redis.Redis, approval: Approval) -> None:
    """The execution's times, relative to the approve answer; and when the jobs the workers were busy
    with at the approval ended."""
    doc = proposal_doc(store, approval.proposal_id)
    execution = doc.get("execution") or {}
    job = _job(store, f"execute-{approval.proposal_id}")
    base = approval.answered

    def since(moment: float | None) -> float | None:
        return None if moment is None else moment - base

    ends = []
    for job_id in approval.busy:
        if job_id == "idle":
            ends.append("idle")
            continue
        busy = _job(store, job_id)
        end = _ts(busy.ended_at) if busy is not None else None
        ends.append(f"{_kind(job_id)} {'?' if end is None else f'ended {end - base:+.2f} s'}")
    approval.results = {
        "status": doc.get("status"),
        "action": (doc.get("action") or {}).get("type"),
        "request": approval.answered - approval.sent,
        "rq_started": since(_ts(job.started_at) if job else None),
        "started": since(_stored_ts(execution.get("started_at"))),
        "finished": since(_stored_ts(execution.get("finished_at"))),
        "busy_ends": ends,
    }


def executions_done(store: redis.Redis, approvals: list[Approval]) -> bool:
    return all(
        proposal_doc(store, a.proposal_id).get("status") not in ("approved", "executing") for a in approvals
    )


# --- the storm ----------------------------------------------------------------------------------


def idle(store: redis.Redis) -> bool:
    """No job waiting in a queue, none started, no worker on a job (a job a worker has just taken is in
    none of these for a moment, so callers ask again before they believe it)."""
    waiting = sum(queues.queue(name, store).count for name in queues.ALL)
    running = sum(StartedJobRegistry(name, connection=store).count for name in queues.ALL)
    return not waiting and not running and all(job == "idle" for job in busy_jobs(store))


def wait_idle(store: redis.Redis, timeout: float, still_for: float = 1.0, progress: bool = False) -> bool:
    """Wait until the workers have been idle for ``still_for`` seconds (``progress``: say so every minute)."""
    began = time.monotonic()
    deadline, shown = began + timeout, began
    since = None
    while time.monotonic() < deadline:
        if progress and time.monotonic() - shown >= 60:
            shown = time.monotonic()
            depth = queues.queue(queues.ALERTS, store).count
            print(f"  draining: {depth} alert jobs queued, load average {h.load_average()}", flush=True)
        if not idle(store):
            since = None
        elif since is None:
            since = time.monotonic()
        elif time.monotonic() - since >= still_for:
            return True
        time.sleep(0.1)
    return False


def job_durations(store: redis.Redis, after: float) -> tuple[dict[str, list[float]], float | None]:
    """Run time (RQ started_at -> ended_at, inside the work horse) of the alert jobs started after ``after``,
    by kind; and when the last of them ended."""
    ids = FailedJobRegistry(queues.ALERTS, connection=store).get_job_ids()
    ids += FinishedJobRegistry(queues.ALERTS, connection=store).get_job_ids()
    durations: dict[str, list[float]] = {}
    last = None
    for job in Job.fetch_many(ids, connection=store):
        if (
            job is None
            or job.started_at is None
            or job.ended_at is None
            or (_ts(job.started_at) or 0.0) < after
        ):
            continue
        durations.setdefault(_kind(job.id), []).append((job.ended_at - job.started_at).total_seconds())
        last = max(last or 0.0, _ts(job.ended_at) or 0.0)
    return durations, last


def worker_timelines(store: redis.Redis, after: float) -> dict[str, list[tuple[float, float]]]:
    """Per worker, the (start, end) of every job it ran after ``after`` (every queue), sorted."""
    timelines: dict[str, list[tuple[float, float]]] = {}
    for name in queues.ALL:
        ids = FailedJobRegistry(name, connection=store).get_job_ids()
        ids += FinishedJobRegistry(name, connection=store).get_job_ids()
        for job in Job.fetch_many(ids, connection=store):
            if job is None or not job.worker_name:
                continue
            start, end = _ts(job.started_at), _ts(job.ended_at)
            if start is not None and end is not None and start >= after:
                timelines.setdefault(job.worker_name, []).append((start, end))
    return {worker: sorted(spans) for worker, spans in timelines.items()}


def virtual_waits(
    timelines: dict[str, list[tuple[float, float]]], workers: int, since: float, until: float, step: float
) -> list[float]:
    """For an approval at every ``step`` s from ``since`` to ``until``: how long until the first worker is
    free (the end of the job it runs then; 0 when one is idle), from the jobs the workers actually ran.
    A worker picks ``actions`` first once free, so this is the action's wait, less the ~30 ms of dequeue
    and fork (RQ's ``started_at`` is taken in the forked work horse)."""
    waits = []
    moment = since
    while moment < until:
        remaining = []
        for spans in timelines.values():
            index = bisect.bisect_right(spans, (moment, float("inf"))) - 1
            busy = index >= 0 and spans[index][1] > moment
            remaining.append(spans[index][1] - moment if busy else 0.0)
        remaining += [0.0] * (workers - len(timelines))  # a worker that ran nothing was free
        waits.append(min(remaining) if remaining else 0.0)
        moment += step
    return waits


def storm_counts(store: redis.Redis) -> dict[str, Any]:
    totals = counters.read_all(store)
    created = {
        dict(labels).get("action", "?"): value
        for (name, labels), value in totals.items()
        if name == "proposals_created_total"
    }
    joined = sum(
        value
        for (name, labels), value in totals.items()
        if name == "investigations_skipped_total" and dict(labels).get("reason") == "joined_incident"
    )
    return {
        "records": int(store.zcard(records.INDEX)),
        "proposals_created": created,
        "joined_incident": joined,
        "failed_alert_jobs": FailedJobRegistry(queues.ALERTS, connection=store).count,
    }


def storm_proposals(store: redis.Redis, groups: dict[str, list[dict[str, Any]]]) -> tuple[int, float | None]:
    """How many storm workloads have a proposal, and the latest ``created_at`` among them."""
    found, _ = a2p.wait_for_proposals(store, groups, 0)
    latest = [
        _stored_ts(proposal_doc(store, a2p.pid_of(alert)).get("created_at")) for alert in found.values()
    ]
    times = [moment for moment in latest if moment is not None]
    return len(found), max(times) if times else None


# --- the run ------------------------------------------------------------------------------------


def probe_sandbox(base: str, pod: str, app: str) -> str:
    """Median time of the sandbox calls every investigation makes: one pod, the workload's pods."""
    headers = {"Authorization": "Bearer sandbox-admin"}
    paths = {
        "get pod": f"/api/v1/namespaces/{a2p.NAMESPACE}/pods/{pod}",
        "list by label": f"/api/v1/namespaces/{a2p.NAMESPACE}/pods?labelSelector=app%3D{app}",
        "list all pods": f"/api/v1/namespaces/{a2p.NAMESPACE}/pods",
    }
    shown = []
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for name, path in paths.items():
            times = []
            for _ in range(5):
                began = time.perf_counter()
                client.get(path).raise_for_status()
                times.append(time.perf_counter() - began)
            shown.append(f"{name} {1000 * sorted(times)[2]:.1f} ms")
    return ", ".join(shown)


def park(
    http: httpx.Client, store: redis.Redis, pods: dict[str, str], starts_at: str, timeout: float
) -> list[str]:
    """One alert per parked Deployment; returns the proposal ids, once all exist and the queues are empty."""
    alerts = {app: a2p.crash_alert(pod, starts_at, "park") for app, pod in sorted(pods.items())}
    for alert in alerts.values():
        a2p.post(http, [alert])
    found, missing = a2p.wait_for_proposals(store, {app: [alert] for app, alert in alerts.items()}, timeout)
    if missing:
        a2p.explain_missing(store, {app: [alerts[app]] for app in missing}, missing)
        raise RuntimeError(f"{len(missing)} parked proposals missing after {timeout:.0f} s")
    if not wait_idle(store, timeout):
        raise TimeoutError("the parking alerts' jobs did not finish")
    ids = [a2p.pid_of(alert) for alert in found.values()]
    kinds = Counter(str((proposal_doc(store, pid).get("action") or {}).get("type")) for pid in ids)
    print(f"parked {len(ids)} proposals: {dict(kinds)}", flush=True)
    return ids


def post_storm(http: httpx.Client, alerts: list[dict[str, Any]], size: int) -> tuple[float, float]:
    """Post ``alerts`` in payloads of ``size``; returns (first post's start, seconds it took)."""
    began = time.time()
    for start in range(0, len(alerts), size):
        a2p.post(http, alerts[start : start + size])
    return began, time.time() - began


def fanned_out(store: redis.Redis) -> bool:
    """Every payload's fan-out job has run: the queue holds the storm's investigations and batches."""
    waiting = queues.queue(queues.ALERTS, store).get_job_ids()
    return not any(_kind(job_id) == "fanout" for job_id in [*waiting, *busy_jobs(store)])


def approve_during(
    http: httpx.Client, store: redis.Redis, parked: list[str], args: argparse.Namespace, began: float
) -> tuple[list[Approval], list[str]]:
    """Approve the parked proposals one by one, spread over the drain by queue depth: the first once the
    fan-out jobs have filled the queue, then each when the queue has shrunk by another 1/n of the way down
    to ``--min-queue`` (and at least ``--interval`` s after the one before)."""
    problems: list[str] = []
    deadline = time.monotonic() + 120
    while not fanned_out(store):
        if time.monotonic() > deadline:
            problems.append("the fan-out jobs had not all run after 120 s")
            return [], problems
        time.sleep(0.05)
    peak = queues.queue(queues.ALERTS, store).count
    steps = [peak - index * (peak - args.min_queue) / len(parked) for index in range(len(parked))]
    print(
        f"  fanned out {time.time() - began:.1f} s after the first post: {peak} alert jobs queued; "
        f"approving at queue depths {', '.join(f'{step:.0f}' for step in steps)}",
        flush=True,
    )
    approvals: list[Approval] = []
    jitter = random.Random(18)
    for index, (proposal_id, step) in enumerate(zip(parked, steps, strict=True)):
        if approvals:
            time.sleep(max(0.0, approvals[-1].answered + args.interval - time.time()))
        while queues.queue(queues.ALERTS, store).count > step:
            time.sleep(0.05)
        # The depth drops when a worker takes a job: approving right then would always meet one worker at
        # the start of its job. A random delay puts the approval at any point of the workers' jobs.
        time.sleep(jitter.uniform(0.0, args.jitter))
        depth = queues.queue(queues.ALERTS, store).count
        if depth < args.min_queue:
            problems.append(
                f"approval {index + 1}: the alerts queue held only {depth} jobs (< {args.min_queue}): "
                "drained too far for a meaningful measurement"
            )
            break
        approval = approve(http, store, proposal_id)
        approvals.append(approval)
        print(
            f"  {approval.answered - began:6.1f} s: approved {proposal_id} with {approval.queue_depth} alert "
            f"jobs queued (answer in {1000 * (approval.answered - approval.sent):.0f} ms), load average "
            f"{h.load_average()}",
            flush=True,
        )
    return approvals, problems


def seconds(values: list[float]) -> str:
    ordered = sorted(values)
    if not ordered:
        return "no values"
    p50, p95 = h.percentile(ordered, 50), h.percentile(ordered, 95)
    return f"p50 {p50:.3f} s  p95 {p95:.3f} s  max {ordered[-1]:.3f} s  (n={len(ordered)})"


def report(
    approvals: list[Approval], durations: dict[str, list[float]], counts: dict[str, Any], target: float
) -> list[str]:
    """Print the figures; returns the approvals that missed ``target``."""
    print("\napprovals (times from the approve answer; busy = the workers' jobs at the approval, and when")
    print("each of them ended):")
    late = []
    for index, approval in enumerate(approvals, 1):
        r = approval.results

        def shown(key: str, r: dict[str, Any] = r) -> str:
            return "-" if r.get(key) is None else f"{r[key]:.3f} s"

        print(
            f"  {index}. {approval.proposal_id} ({r['action']}, now {r['status']}): "
            f"queue {approval.queue_depth}, "
            f"RQ start {shown('rq_started')}, executing {shown('started')}, finished {shown('finished')}; "
            f"busy: {', '.join(r['busy_ends'])}"
        )
        if r.get("started") is None or r["started"] > target:
            late.append(approval.proposal_id)
    starts = [a.results["started"] for a in approvals if a.results.get("started") is not None]
    print(f"\napprove answer -> executing (target < {target:.0f} s): {seconds(starts)}")
    rq_starts = [a.results["rq_started"] for a in approvals if a.results.get("rq_started") is not None]
    print(f"approve answer -> RQ job started          : {seconds(rq_starts)}")
    ends = [a.results["finished"] for a in approvals if a.results.get("finished") is not None]
    print(f"approve answer -> execution finished      : {seconds(ends)}")
    print(f"approve request (sent -> answer)          : {seconds([a.results['request'] for a in approvals])}")
    print(f"queue depth at the approvals              : {[a.queue_depth for a in approvals]}")
    print("\nalert jobs, run time inside the work horse (RQ started_at -> ended_at):")
    for kind, values in sorted(durations.items()):
        print(f"  {kind:<12} {seconds(values)}")
    print(
        f"\naudit records {counts['records']} (parked ones included), proposals created "
        f"{counts['proposals_created']}, investigations that joined an incident {counts['joined_incident']}, "
        f"failed alert jobs {counts['failed_alert_jobs']}"
    )
    return late


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=2000, help="crash-looping storm pods, one alert each")
    parser.add_argument(
        "--replicas", type=int, default=4, help="pods per storm Deployment (one incident each)"
    )
    parser.add_argument("--workers", type=int, default=2, help="aiops worker processes (default 2)")
    parser.add_argument(
        "--actions-workers",
        type=int,
        default=0,
        help="more aiops workers on the actions queue only (a pool of their own; default 0)",
    )
    parser.add_argument(
        "--approvals", type=int, default=12, help="parked proposals approved during the storm"
    )
    parser.add_argument("--interval", type=float, default=3.0, help="seconds at least between approvals")
    parser.add_argument("--payload-size", type=int, default=200, help="alerts per webhook request")
    parser.add_argument(
        "--jitter", type=float, default=2.0, help="random delay (0 to this, s) before each approval"
    )
    parser.add_argument("--min-queue", type=int, default=100, help="alert jobs that must wait at an approval")
    parser.add_argument("--shuffle", action="store_true", help="spread each workload's alerts over payloads")
    parser.add_argument("--target", type=float, default=2.0, help="approve -> executing, seconds")
    parser.add_argument("--scrape-interval", default="5s", help="Prometheus scrape interval (default 5s)")
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds to wait for the storm to drain"
    )
    parser.add_argument(
        "--sandbox-timeout",
        type=float,
        default=900.0,
        help="seconds for the sandbox to start (grows with the square of the pods: minutes at 2,000)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args()
    print(f"machine: {h.machine()}")
    with h.workdir("aiops-bench-storm-", args.keep) as workdir, contextlib.ExitStack() as stack:
        scenario = workdir / "scenario"
        storm_names = set(a2p.write_scenario(scenario, -(-args.pods // args.replicas), args.replicas))
        parked_names = add_parked(scenario, args.approvals)
        began = time.monotonic()
        cluster = a2p.start_cluster(
            stack,
            workdir,
            scenario,
            len(storm_names) * args.replicas + len(parked_names),
            args.scrape_interval,
            args.sandbox_timeout,
        )
        owners = {pod["metadata"]["name"]: pod["metadata"]["labels"]["app"] for pod in cluster.pods}
        storm_pods = sorted(pod for pod, app in owners.items() if app in storm_names)[: args.pods]
        parked_pods = {app: pod for pod, app in owners.items() if app in parked_names}
        print(
            f"sandbox {cluster.sandbox_url}: {len(cluster.pods)} pods in {a2p.NAMESPACE}, serving and "
            f"scraped by Prometheus (scrape {args.scrape_interval}) "
            f"{time.monotonic() - began:.1f} s after start; "
            f"{probe_sandbox(cluster.sandbox_url, storm_pods[0], owners[storm_pods[0]])}",
            flush=True,
        )
        redis_url, store = h.start_redis(stack, workdir)
        env = a2p.responder_env(workdir, redis_url, cluster)
        receiver, _ = h.start_receiver(stack, workdir, env)
        http = stack.enter_context(httpx.Client(base_url=receiver, timeout=60))
        h.start_workers(stack, workdir, env, args.workers, store)
        h.start_workers(stack, workdir, env, args.actions_workers, store, queues.ACTIONS, "actions-worker")
        print(
            f"receiver {receiver}, redis {redis_url}, {args.workers} aiops worker(s) on every queue, "
            f"{args.actions_workers} on actions only",
            flush=True,
        )
        starts_at = (datetime.now(UTC) - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        parked = park(http, store, parked_pods, starts_at, 120)

        alerts = [a2p.crash_alert(pod, starts_at, "storm") for pod in storm_pods]
        if args.shuffle:
            random.Random(18).shuffle(alerts)
        groups: dict[str, list[dict[str, Any]]] = {}
        for alert in alerts:
            groups.setdefault(owners[alert["labels"]["pod"]], []).append(alert)
        print(
            f"storm: {len(alerts)} alerts about {len(groups)} Deployments in "
            f"{-(-len(alerts) // args.payload_size)} payloads; load average {h.load_average()}",
            flush=True,
        )
        first_post, posting = post_storm(http, alerts, args.payload_size)
        print(f"  posted in {posting:.2f} s", flush=True)
        approvals, problems = approve_during(http, store, parked, args, first_post)
        load = h.load_average()  # while the storm still drains
        if not wait_idle(store, args.timeout, progress=True) or not executions_done(store, approvals):
            problems.append(f"the storm had not drained after {args.timeout:.0f} s")
        for approval in approvals:
            measure(store, approval)
        made, last_created = storm_proposals(store, groups)
        if made != len(groups):
            problems.append(f"{made} storm proposals for {len(groups)} Deployments")
        durations, drained = job_durations(store, first_post)
        late = report(approvals, durations, storm_counts(store), args.target)
        if drained is not None:
            everyone = args.workers + args.actions_workers
            waits = virtual_waits(worker_timelines(store, first_post), everyone, first_post, drained, 0.05)
            over = sum(wait > args.target for wait in waits)
            p99 = h.percentile(sorted(waits), 99)
            print("an approval at any moment of the drain (every 50 ms; from the jobs the workers ran),")
            print(f"  its wait for a free worker: {seconds(waits)}, p99 {p99:.3f} s;")
            share = 100 * over / len(waits)
            print(f"  over {args.target:.0f} s: {over} of {len(waits)} moments ({share:.1f} %)")
        if drained is not None:
            print(
                f"storm drained (last alert job ended) {drained - first_post:.1f} s after the first post",
                end="",
            )
        if last_created is not None:
            print(f"; its last proposal was created after {last_created - first_post:.1f} s", end="")
        print(
            f"\nstorm proposals {made}/{len(groups)}; load average after the approvals {load}, "
            f"at the end {h.load_average()}"
        )
    if late:
        problems.append(f"{len(late)} of {len(approvals)} actions started later than {args.target:.0f} s")
    if len(approvals) < args.approvals and not problems:
        problems.append(f"only {len(approvals)} of {args.approvals} approvals made")
    for problem in problems:
        print(f"FAIL: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(h.run(main))
