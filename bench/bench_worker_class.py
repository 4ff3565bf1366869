"""Benchmark: the per-job cost of RQ's worker classes, and whether each keeps hard job timeouts (issue 18).

    .venv/bin/python bench/bench_worker_class.py [--jobs 300] [--latency-jobs 50]
        [--classes Worker,SimpleWorker,SpawnWorker] [--mutex-wait 5] [--skip-throughput] [--skip-timeouts]

Starts, on 127.0.0.1, a private redis-server on a free port and the sandbox cluster (``aiops sandbox
serve`` on sandbox/scenarios/demo-crashloop, with a kubeconfig for it), and for every case one worker
process, this file with ``--child``, so that each class starts clean. Everything is stopped on exit,
Ctrl-C or SIGTERM, work horses included (by pid: a posix-spawned horse has no parent-death signal).

Cases (the ``alerts`` queue; Redis is flushed between cases):

- ``trivial``: RQ's own class on a plain connection running ``trivial_job`` (returns 1), a function of
  this module (bench/ is on sys.path, so the horse imports it as ``bench_worker_class``);
- ``context``: the worker as ``aiops worker`` builds it (``run_worker``'s steps: ``build_context`` with
  rules polling, parent-death signal, ``install``, ``warm_up`` or not, ``build_worker``; for SimpleWorker
  and SpawnWorker ``build_worker`` is handed a ResponderWorker variant of that class), running
  ``context_job``: ``current()``, a PING, the workflow registry, the diagnosis regexes, the Prometheus
  client and one Kubernetes read (a pod that does not exist: a 404, as warm_up does). A spawned horse
  has no context, so the job builds one the way the worker does (a SpawnWorker product would have to).
  The bench's jobs are added to the worker's allowed functions in the worker process only.

Per case: ``--jobs`` jobs enqueued first, then the worker in burst mode: wall time of ``work()`` / jobs
(it includes up to about 1 s of RQ's own start and stop), the mean job cycle (last
``ended_at`` - first, over jobs - 1) and p50/p95 of the gap between consecutive jobs' ``ended_at`` and of
``started_at`` -> ``ended_at``. Then ``--latency-jobs`` jobs one at a time to an idle worker (non-burst):
p50/p95 of ``enqueued_at`` -> ``ended_at`` (what an alert waits when no storm is queued).

Timeouts, per class (product build, warm): jobs with ``job_timeout=1`` that (1) sleep 5 s in a Python
loop, (2) re-acquire a held ``threading.Lock`` (a C call, but one that wakes up for signals), (3) run one
~3 s C loop (``sum(range(3e8))``), (4) deadlock in ``pthread_mutex_lock`` (C, no EINTR: a signal handler
never runs); after each a trivial job shows whether the worker takes the next one. (4) waits
``--mutex-wait`` s; RQ's fork worker kills a horse only at job timeout + 60 s (checked every
``job_monitoring_interval``), so ``--mutex-wait 100`` shows that backstop.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import itertools
import json
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import redis
    from rq.job import Job

    from workers.spine.context import Context

# Kept light on purpose: a spawned work horse imports this module (for the job functions and the worker
# variants), so the harness and the product are imported only where they are used.

MODULE = Path(__file__).stem  # "bench_worker_class", as a horse imports it
QUEUE = "alerts"
CLASSES = ("Worker", "SimpleWorker", "SpawnWorker")
ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "sandbox" / "scenarios" / "demo-crashloop"
MISSING_POD = "bench-worker-class-missing"


# --- the jobs -----------------------------------------------------------------------------------------


def trivial_job() -> int:
    return 1


def context_job() -> int:
    """What every investigation touches first: the context, Redis, the workflows, the regexes, the clients."""
    from workers.errors import AiopsError
    from workers.workflows.pod_failure.signals import warm_patterns

    ctx = _context()
    ctx.redis.ping()
    _ = ctx.workflows.actions
    patterns = warm_patterns()
    _ = ctx.prometheus
    with contextlib.suppress(AiopsError):
        ctx.kube.get_pod("default", MISSING_POD)
    return patterns


def _context() -> Context:
    from workers.spine import context

    try:
        return context.current()
    except RuntimeError:  # a spawned horse: a fresh interpreter with no context installed
        from workers.settings import load_settings

        built = context.build_context(load_settings())
        context.install(built)
        return built


def sleep_job(seconds: float = 5.0) -> str:
    """Python bytecode all along: a signal handler runs within 50 ms."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
    return "slept"


def lock_job() -> str:
    """Blocks in C, but CPython's lock wait returns on a signal to run the handler."""
    lock = threading.Lock()
    lock.acquire()
    lock.acquire()
    return "acquired"


def c_loop_job(count: int = 300_000_000) -> int:
    """One C call of a few seconds: the handler runs only when it returns."""
    return sum(range(count))


def c_mutex_job() -> str:
    """A deadlock in C that no signal ends: a pthread mutex locked twice (a normal mutex never returns
    EINTR). What a C library's lock held across fork by another thread does to a horse."""
    libc = ctypes.CDLL(None)
    mutex = ctypes.create_string_buffer(64)  # zeroed = PTHREAD_MUTEX_INITIALIZER on glibc
    libc.pthread_mutex_lock(mutex)
    libc.pthread_mutex_lock(mutex)
    return "unreachable"


BENCH_JOBS = frozenset(
    f"{MODULE}.{job.__name__}"
    for job in (trivial_job, context_job, sleep_job, lock_job, c_loop_job, c_mutex_job)
)


# --- the worker variants (built on first use, so that a trivial horse does not import the product) ---

_VARIANTS = ("ResponderSimpleWorker", "ResponderSpawnWorker")


def __getattr__(name: str) -> Any:
    # pickle finds the class a SpawnWorker sends its horse by module attribute.
    if name in _VARIANTS:
        return _responder_variants()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _responder_variants() -> dict[str, type]:
    """ResponderWorker's behaviour on SimpleWorker and SpawnWorker; and the bench's jobs allowed."""
    cached = globals().get("_built_variants")
    if cached is not None:
        return dict(cached)
    from rq.worker import SimpleWorker, SpawnWorker

    from workers.runner import worker as product

    # In this process only: the worker runs nothing that is not in its catalog.
    product.JOB_FUNCTIONS = product.JOB_FUNCTIONS | BENCH_JOBS

    class ResponderSpawnWorker(product.ResponderWorker, SpawnWorker):
        pass

    class ResponderSimpleWorker(SimpleWorker):
        """The refusal of foreign jobs, on the in-process worker. The heartbeat TTL stays SimpleWorker's
        (job timeout + 60 s): with no parent to renew it while a job runs, ResponderWorker's
        (monitoring interval + grace) would let another worker take a long job as abandoned."""

        heartbeat_grace_s = 60
        refuse: Any = product.ResponderWorker.refuse

        def perform_job(self, job: Job, queue: Any, execution: Any) -> bool:
            reason = product.refusal(job)
            if reason is None:
                return bool(super().perform_job(job, queue, execution))
            self.refuse(job, queue, execution, reason)
            return False

    built: dict[str, type] = {}
    for cls in (ResponderSimpleWorker, ResponderSpawnWorker):
        cls.__qualname__ = cls.__name__
        built[cls.__name__] = cls
    globals()["_built_variants"] = built
    globals().update(built)
    return dict(built)


def product_worker(ctx: Context, class_name: str) -> Any:
    """``build_worker(ctx, [QUEUE])``, with ResponderWorker swapped for the variant of ``class_name``."""
    from unittest import mock

    from workers.runner import worker as product

    variants = _responder_variants()
    cls = {
        "Worker": product.ResponderWorker,
        "SimpleWorker": variants["ResponderSimpleWorker"],
        "SpawnWorker": variants["ResponderSpawnWorker"],
    }[class_name]
    with mock.patch.object(product, "ResponderWorker", cls):
        return product.build_worker(ctx, [QUEUE])


# --- the worker process (--child) ---------------------------------------------------------------------


def _die_with_parent_hook() -> None:
    """Forked children (horses, RQ's scheduler) get SIGTERM when the worker dies, as the product does."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def hook() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    os.register_at_fork(after_in_child=hook)


def child(spec: dict[str, Any]) -> int:
    """One worker: ``spec`` says the class, the kind (trivial or context), warm-up, burst or not."""
    started = time.perf_counter()
    if spec["kind"] == "trivial":
        import redis as redis_client
        import rq.worker

        _die_with_parent_hook()
        cls = getattr(rq.worker, spec["class"])
        worker = cls([QUEUE], connection=redis_client.Redis.from_url(os.environ["REDIS_URL"]))
        level = "INFO"
    else:
        from receiver.runtime import (
            children_die_with_this_process,
            configure_logging,
            reload_rules_on_sighup,
            warm_up,
        )
        from workers.settings import load_settings
        from workers.spine.context import build_context, install

        settings = load_settings()
        configure_logging(settings)
        ctx = build_context(settings, poll_rules=True)
        children_die_with_this_process()
        install(ctx)
        if spec["warm"]:
            warm_up(ctx)
        reload_rules_on_sighup(ctx)
        worker = product_worker(ctx, spec["class"])
        level = settings.logging.level
    ready = time.perf_counter()
    worker.work(burst=spec["burst"], with_scheduler=True, logging_level=level)
    done = time.perf_counter()
    if spec.get("result"):
        Path(spec["result"]).write_text(json.dumps({"startup_s": ready - started, "work_s": done - ready}))
    return 0


# --- the benchmark (parent) ---------------------------------------------------------------------------


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, start time) of every process under ``pid``, read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
    found: list[tuple[int, str]] = []
    todo = [pid]
    while todo:
        for kid in children.get(todo.pop(), []):
            start = _start_time(kid)
            if start is not None:
                found.append((kid, start))
                todo.append(kid)
    return found


def stop_worker(child: Any) -> None:
    """Stop a worker child and then any horse or scheduler it left (same pid and start time only)."""
    left = descendants(child.pid)
    child.stop(timeout=5)  # a worker stuck in C never runs its SIGTERM handler: SIGKILL after 5 s
    for pid, start in left:
        if _start_time(pid) == start:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class Bench:
    def __init__(self, stack: contextlib.ExitStack, workdir: Path, env: dict[str, str], store: redis.Redis):
        self.stack, self.workdir, self.env, self.store = stack, workdir, env, store
        self.count = 0

    def spawn(self, spec: dict[str, Any]) -> Any:
        import _harness as h

        self.count += 1
        name = f"worker-{self.count}-{spec['class']}-{spec['kind']}"
        argv = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
        child = h.spawn(self.stack, name, argv, self.workdir, env=self.env)
        self.stack.callback(stop_worker, child)
        return child

    def wait_registered(self, child: Any, timeout: float = 60.0) -> None:
        from rq import Worker

        deadline = time.monotonic() + timeout
        while Worker.count(connection=self.store) < 1:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited with {child.proc.returncode}:\n{child.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{child.name} did not register in {timeout} s:\n{child.tail()}")
            time.sleep(0.05)

    def queue(self) -> Any:
        from rq import Queue

        return Queue(QUEUE, connection=self.store)

    def burst(self, case: dict[str, Any], jobs: int) -> dict[str, Any]:
        from rq.job import Job

        queue = self.queue()
        func = f"{MODULE}.{case['kind']}_job"
        # Past RQ's default result_ttl (500 s): a slow class's first jobs would expire before the last ends.
        datas = [queue.prepare_data(func, result_ttl=7200) for _ in range(jobs)]
        ids = [job.id for job in queue.enqueue_many(datas)]
        result_path = self.workdir / f"result-{self.count + 1}.json"
        child = self.spawn({**case, "burst": True, "result": str(result_path)})
        child.proc.wait(timeout=max(600.0, jobs * 5.0))
        if child.proc.returncode != 0 or not result_path.exists():
            raise RuntimeError(f"{child.name} exited with {child.proc.returncode}:\n{child.tail()}")
        timing = json.loads(result_path.read_text())
        fetched = [job for job in Job.fetch_many(ids, connection=self.store) if job is not None]
        finished = [job for job in fetched if job.get_status() == "finished"]
        failures = collections.Counter(_why(job) for job in fetched if job.get_status() != "finished")
        if len(fetched) < len(ids):
            failures["expired before the end"] = len(ids) - len(fetched)
        ended = sorted(_ts(job.ended_at) for job in finished)
        cycles = [b - a for a, b in itertools.pairwise(ended)]
        runs = [_ts(job.ended_at) - _ts(job.started_at) for job in finished]
        self.store.flushall()
        return {
            **timing,
            "finished": len(finished),
            "failures": dict(failures),
            "per_job_ms": 1000 * timing["work_s"] / jobs,
            "mean_cycle_ms": 1000 * (ended[-1] - ended[0]) / (len(ended) - 1) if len(ended) > 1 else math.nan,
            "cycle": _p50_p95(cycles),
            "run": _p50_p95(runs),
        }

    def closed_loop(self, case: dict[str, Any], jobs: int) -> dict[str, Any]:
        if jobs <= 0:
            return {"latency": (math.nan, math.nan), "latency_done": 0}
        child = self.spawn({**case, "burst": False})
        self.wait_registered(child)
        queue = self.queue()
        func = f"{MODULE}.{case['kind']}_job"
        done = []
        for _ in range(jobs):
            job = queue.enqueue(func, job_timeout=60)
            if wait_result(job, 60.0) is not None:
                job.refresh()
                done.append(_ts(job.ended_at) - _ts(job.enqueued_at))
        stop_worker(child)
        self.store.flushall()
        return {"latency": _p50_p95(done), "latency_done": len(done)}

    def timeouts(self, class_name: str, mutex_wait: float) -> list[dict[str, Any]]:
        child = self.spawn({"class": class_name, "kind": "context", "warm": True, "burst": False})
        self.wait_registered(child)
        rows = []
        for func, wait in (("sleep_job", 15.0), ("lock_job", 15.0), ("c_loop_job", 30.0)):
            rows.append(self.probe(func, wait))
        rows.append(self.probe("c_mutex_job", mutex_wait))
        stop_worker(child)
        self.store.flushall()
        return rows

    def probe(self, func: str, wait: float) -> dict[str, Any]:
        """Enqueue ``func`` with job_timeout=1; how long until it ended, why, and is the next job taken."""
        queue = self.queue()
        job = queue.enqueue(f"{MODULE}.{func}", job_timeout=1, failure_ttl=600, result_ttl=600)
        begun = time.monotonic()
        result = wait_result(job, wait)
        seen = time.monotonic() - begun
        job.refresh()
        status = job.get_status()
        row: dict[str, Any] = {"job": func, "status": getattr(status, "value", status), "seen_s": seen}
        if result is None:
            row.update(ended=False, reason=f"still running after {wait:g} s")
        else:
            row.update(
                ended=True,
                ran_s=_ts(job.ended_at) - _ts(job.started_at) if job.started_at and job.ended_at else seen,
                reason=_reason(result.exc_string or "finished"),
            )
        nxt = queue.enqueue(f"{MODULE}.trivial_job", job_timeout=60)
        row["next_taken"] = wait_result(nxt, 5.0 if result is None else 10.0) is not None
        return row


def wait_result(job: Job, wait: float) -> Any:
    """The job's result once it has one (finished or failed), or None after ``wait`` s. Blocks 1 s at a time:
    redis-py's default socket timeout (5 s) is shorter than a long XREAD BLOCK."""
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        result = job.latest_result(timeout=1)
        if result is not None:
            return result


def _why(job: Job) -> str:
    """Status and, for a failed job, the last line of its error."""
    result = job.latest_result()
    status = job.get_status()
    why = _reason(result.exc_string) if result is not None and result.exc_string else "no result"
    return f"{getattr(status, 'value', status)}: {why}"


def _ts(moment: Any) -> float:
    return float(moment.timestamp())


def _p50_p95(values: list[float]) -> tuple[float, float]:
    import _harness as h

    ordered = sorted(values)
    return 1000 * h.percentile(ordered, 50), 1000 * h.percentile(ordered, 95)


def _reason(exc_string: str) -> str:
    lines = [line for line in exc_string.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else exc_string
    name, _, message = last.partition(": ")
    last = f"{name.rsplit('.', 1)[-1]}: {message}" if message else last  # no module path
    return last if len(last) <= 90 else last[:90] + "…"


def start_sandbox(stack: contextlib.ExitStack, workdir: Path) -> Path:
    import _harness as h

    port = h.free_port()
    kubeconfig = workdir / "kubeconfig"
    argv = [sys.executable, "-m", "receiver.cli", "sandbox", "serve", str(SCENARIO)]
    argv += ["--port", str(port), "--kubeconfig-out", str(kubeconfig)]
    sandbox = h.spawn(stack, "sandbox", argv, workdir, env=h.child_env())
    h.wait_http(f"http://127.0.0.1:{port}/healthz", sandbox, timeout=120)
    return kubeconfig


def cases(classes: list[str]) -> list[dict[str, Any]]:
    found = [{"class": name, "kind": "trivial", "warm": False} for name in classes]
    for name in classes:
        found.append({"class": name, "kind": "context", "warm": True})
        if name == "Worker":
            found.append({"class": name, "kind": "context", "warm": False})
    return found


def throughput_line(case: dict[str, Any], r: dict[str, Any], jobs: int) -> str:
    warm = "-" if case["kind"] == "trivial" else ("yes" if case["warm"] else "no")
    if case["class"] == "SpawnWorker" and case["kind"] == "context":
        warm += " (parent only)"
    return (
        f"| {case['kind']} | {case['class']} | {warm} | {r['finished']}/{jobs} | {r['work_s']:.2f} | "
        f"{r['per_job_ms']:.1f} | **{r['mean_cycle_ms']:.1f}** | {r['cycle'][0]:.1f} / {r['cycle'][1]:.1f} | "
        f"{r['run'][0]:.1f} / {r['run'][1]:.1f} | {r['latency'][0]:.1f} / {r['latency'][1]:.1f} | "
        f"{r['startup_s']:.2f} |"
    )


def timeout_line(class_name: str, row: dict[str, Any]) -> str:
    ended = f"yes, {row['ran_s']:.2f} s" if row["ended"] else "**no**"
    killed = row["ended"] and row["ran_s"] <= 2.5
    return (
        f"| {class_name} | {row['job']} | {ended} | {'yes' if killed else '**no**'} | {row['reason']} | "
        f"{'yes' if row['next_taken'] else '**no**'} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300, help="jobs per burst case (default 300)")
    parser.add_argument(
        "--latency-jobs", type=int, default=50, help="jobs sent one at a time per case (default 50; 0: none)"
    )
    parser.add_argument("--classes", default=",".join(CLASSES), help="comma-separated RQ worker classes")
    parser.add_argument(
        "--mutex-wait", type=float, default=5.0, help="seconds to wait for the C-deadlocked job (default 5)"
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-timeouts", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        # Run as the importable module, so that RQ stores and horses find ``bench_worker_class.*``.
        import importlib

        return int(importlib.import_module(MODULE).child(json.loads(args.child)))

    import _harness as h
    import rq
    import rq.worker

    classes = [name.strip() for name in args.classes.split(",") if name.strip()]
    unknown = [name for name in classes if name not in CLASSES]
    if unknown:
        parser.error(f"--classes: {', '.join(unknown)} not among {', '.join(CLASSES)}")
    missing = [name for name in classes if not hasattr(rq.worker, name)]
    classes = [name for name in classes if name not in missing]
    print(f"machine: {h.machine()}")
    print(f"rq {rq.__version__}; classes {', '.join(classes)}" + (f" (absent: {missing})" if missing else ""))
    throughput: list[tuple[dict[str, Any], dict[str, Any]]] = []
    timeouts: list[tuple[str, dict[str, Any]]] = []
    with h.workdir("aiops-bench-worker-class-", args.keep) as workdir, contextlib.ExitStack() as stack:
        redis_url, store = h.start_redis(stack, workdir)
        kubeconfig = start_sandbox(stack, workdir)
        env = h.child_env(
            REDIS_URL=redis_url, KUBECONFIG=str(kubeconfig), PROMETHEUS_URL="http://127.0.0.1:9"
        )
        bench = Bench(stack, workdir, env, store)
        print(f"redis {redis_url}, sandbox kubeconfig {kubeconfig}\n", flush=True)
        if not args.skip_throughput:
            for case in cases(classes):
                result = bench.burst(case, args.jobs) | bench.closed_loop(case, args.latency_jobs)
                throughput.append((case, result))
                print(f"  {throughput_line(case, result, args.jobs)}  load {h.load_average()}", flush=True)
                for why, count in result["failures"].items():
                    print(f"    not finished: {count} x {why}", flush=True)
        if not args.skip_timeouts:
            for name in classes:
                for row in bench.timeouts(name, args.mutex_wait):
                    timeouts.append((name, row))
                    print(f"  {timeout_line(name, row)}", flush=True)
    if throughput:
        print(f"\nper-job cost: {args.jobs} jobs per burst, {args.latency_jobs} one at a time (ms)\n")
        print(
            "| job | class | warm-up | finished | work() s | work()/job | mean cycle | cycle p50 / p95 | "
            "run p50 / p95 | idle: enqueued->ended p50 / p95 | worker start-up s |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for case, result in throughput:
            print(throughput_line(case, result, args.jobs))
        for case, result in throughput:
            for why, count in result["failures"].items():
                print(f"\n{case['kind']} on {case['class']}: {count} not finished ({why})")
    if timeouts:
        print(f"\nhard timeouts: job_timeout=1; C deadlock waited {args.mutex_wait:g} s\n")
        print("| class | job | ended (started->ended) | within ~2 s | why | next job taken |")
        print("|---|---|---|---|---|---|")
        for name, row in timeouts:
            print(timeout_line(name, row))
    print(f"\nload average at the end: {h.load_average()}")
    return 0


if __name__ == "__main__":
    if "--child" in sys.argv:  # a worker process: none of the harness's imports in what it forks
        sys.exit(main())
    import _harness

    sys.exit(_harness.run(main))
