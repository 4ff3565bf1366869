"""Process entry points: the receiver under gunicorn (or Flask's server), RQ workers, the cron scheduler.

Each entry point ends through a normal exit on SIGTERM and SIGINT, so that the exit hook gives back the
process's lease on the shared embedded Redis (``workers.integrations.redis.embedded``): gunicorn's master,
RQ's worker and cron scheduler, and the watch handle both signals and return; Flask's server gets
``exit_on_signals``.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import redis
from flask import Flask

from receiver.app import create_app
from receiver.auth import TokenBook
from workers.errors import SettingsError
from workers.settings import Settings
from workers.spine.context import Context, build_context, install

if TYPE_CHECKING:
    from workers.sources.watch import WatchStats

log = logging.getLogger(__name__)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        import json

        message = record.getMessage()
        if record.name == "aiops.audit" and message.startswith("{"):
            return message
        data = {
            "at": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    if settings.logging.json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.logging.level)
    # Audit entries are the operations log's durable copy: they are written whatever the level.
    logging.getLogger("aiops.audit").setLevel(logging.INFO)


_Built = TypeVar("_Built")


def receiver_app(settings: Settings, dev: bool = False, context: Context | None = None) -> Flask:
    """The receiver app; refuses to build without an approver token unless ``dev``."""
    tokens = TokenBook.from_file(settings.auth.tokens_file)
    if not dev and not tokens.has_role("approver"):
        raise SettingsError(
            "auth.tokens_file (env AIOPS_TOKENS_FILE): no token with role approver; nobody could approve a "
            "proposal. Add one, or run with --dev for local experiments."
        )
    if not dev and not tokens.has_role("webhook"):
        log.warning("no token with role webhook: Alertmanager cannot post alerts")
    return create_app(context or build_context(settings, poll_rules=True), tokens)


def serve(settings: Settings, host: str, port: int, dev: bool) -> None:
    """Serve the receiver: gunicorn normally, Flask's development server with ``dev``."""
    if dev:
        app = receiver_app(settings, dev=True)
        reload_rules_on_sighup(app.extensions["aiops"])
        exit_on_signals(signal.SIGTERM)  # SIGINT already ends it with KeyboardInterrupt
        app.run(host=host, port=port, threaded=True)
        return
    receiver_app(settings)  # fail fast, before forking workers, on bad tokens or rules
    children_die_with_this_process()
    # The app is built in each gunicorn worker, after the fork.
    gunicorn_application(settings, host, port, lambda: long_lived(receiver_app(settings))).run()


def long_lived(built: _Built) -> _Built:
    """Hide what start-up built from the garbage collector (``gc.freeze``): it lives as long as the process,
    so a full collection under load scans only what requests and jobs made since, not the whole app (a
    tail-latency pause otherwise), and a forked work horse does not touch, and so copy, those pages."""
    gc.collect()
    gc.freeze()
    return built


def gunicorn_application(settings: Settings, host: str, port: int, load: Callable[[], Flask]) -> Any:
    """The gunicorn server `aiops serve` runs (gthread workers as settings.server says) around ``load()``."""
    from gunicorn.app.base import BaseApplication

    class Gunicorn(BaseApplication):  # type: ignore[misc]  # gunicorn ships no types: its base class is Any
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", settings.server.workers)
            self.cfg.set("threads", settings.server.threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", None)
            self.cfg.set("graceful_timeout", 20)

        def load(self) -> Flask:
            return load()

    return Gunicorn()


def run_worker(
    settings: Settings, queue_names: Sequence[str], burst: bool = False, context: Context | None = None
) -> bool:
    """An RQ worker on ``queue_names`` with the scheduler (for validation rounds) enabled."""
    from workers.runner.worker import build_worker

    ctx = context or build_context(settings, poll_rules=True)
    if context is None:
        children_die_with_this_process()
    install(ctx)
    warm_up(ctx)
    long_lived(ctx)
    reload_rules_on_sighup(ctx)
    while True:
        worker = build_worker(ctx, queue_names)
        worked = bool(worker.work(burst=burst, with_scheduler=True, logging_level=settings.logging.level))
        # RQ's worker quits on a Redis error outside its dequeue loop (a failover, a restart); it asked
        # to stop only when it says so. Start a new one once Redis answers again.
        if burst or _asked_to_stop(worker):
            return worked
        log.warning("the worker lost Redis; a new one starts when Redis answers")
        exit_on_signals(signal.SIGTERM, signal.SIGINT)  # RQ's handlers went with its worker
        if not wait_for_store(ctx):
            return worked


def _asked_to_stop(worker: Any) -> bool:
    """The worker ended because it was asked to (SIGTERM, SIGINT), not because Redis went away. RQ 3 sets
    ``_stop_requested`` only when busy; an idle worker raises StopRequested after recording the request."""
    return bool(getattr(worker, "_stop_requested", True) or getattr(worker, "_shutdown_requested_date", None))


def wait_for_store(context: Context, timeout_s: float | None = None) -> bool:
    """Wait, with backoff, until Redis answers a PING; False when ``timeout_s`` passes."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    delay = 0.2
    while deadline is None or time.monotonic() < deadline:
        try:
            context.redis.ping()
            return True
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("Redis does not answer (%s); retrying in %.1f s", exc, delay)
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
    return False


def warm_up(context: Context) -> None:
    """Load and build, before RQ forks a work horse per job, what every job would otherwise build again.

    A horse's memory is thrown away after its job, so anything it loads itself it loads for every job:
    the job modules, the diagnosis table's regexes, the clients, and the Kubernetes client's per-call
    validators (built on a method's first call; a read of a name that does not exist builds them).
    """
    from workers.errors import AiopsError, TemporaryError
    from workers.workflows.pod_failure.signals import warm_patterns

    _ = context.workflows.actions
    warm_patterns()
    _ = context.prometheus
    try:
        kube = context.kube
    except Exception as exc:  # a missing kubeconfig is reported by the first job instead
        log.warning("no Kubernetes client yet: %s", exc)
        return
    probe = "aiops-warm-up-does-not-exist"
    reads = (
        lambda: kube.get_pod("default", probe),
        lambda: kube.list_pods("default", f"app={probe}"),
        lambda: kube.pod_log("default", probe, probe, True, 1, 1),
        lambda: kube.events_for("default", "Pod", probe),
        lambda: kube.get_node(probe),
        lambda: kube.get_replicaset("default", probe),
        lambda: kube.list_replicasets("default", f"app={probe}"),
        lambda: kube.get_deployment("default", probe),
    )
    saved, kube.timeout_s = kube.timeout_s, 1.0  # start-up must not wait on a slow API server
    try:
        for read in reads:
            try:
                read()
            except TemporaryError:
                break  # unreachable or slow: the first job reports it; no point trying the rest
            except AiopsError:
                continue  # 404s are expected
    finally:
        kube.timeout_s = saved


def run_cron(settings: Settings, context: Context | None = None) -> None:
    """The periodic jobs (RQ's cron scheduler, ``workers.runner.cron``) until SIGTERM or SIGINT."""
    from workers.runner.cron import build_scheduler

    use_utc_clock()
    ctx = context or build_context(settings)
    build_scheduler(ctx, settings).start()


def use_utc_clock() -> None:
    """Make this process's local time UTC: RQ's CronScheduler matches cron fields against local time and
    takes no timezone, and the schedules (``0 0 * * 1``) are documented as UTC whatever the host's TZ.
    ``putenv`` sets the C environment that ``tzset`` reads, and leaves reading the environment to settings."""
    os.putenv("TZ", "UTC")
    time.tzset()


def run_watch(
    settings: Settings, namespaces: Sequence[str] | None = None, context: Context | None = None
) -> WatchStats:
    """The Kubernetes watch source (pods) until SIGTERM or SIGINT; returns what it did."""
    from workers.sources.rollout_watch import RolloutWatcher
    from workers.sources.watch import PodWatcher

    ctx = context or build_context(settings, poll_rules=True)
    watcher = PodWatcher(ctx, namespaces)
    # Deployments too: a new pod template on an opted-in Deployment starts a rollout gate (US4).
    deployments = RolloutWatcher(ctx, watcher.scopes, watcher.stopping)
    rollouts = threading.Thread(target=deployments.run, name="watch-rollouts", daemon=True)
    rollouts.start()
    # The handler only sets the event: stop() takes locks the interrupted main thread may hold.
    previous = {
        sig: signal.signal(sig, lambda *_: watcher.stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        return watcher.run()
    finally:
        deployments.stop()
        rollouts.join(timeout=1)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def exit_on_signals(*signums: int) -> None:
    """End the process normally on ``signums`` (their default action skips exit hooks, leaving the embedded
    Redis lease to the supervisor's slower sweep)."""

    def leave(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    for signum in signums:
        signal.signal(signum, leave)


def children_die_with_this_process() -> None:
    """Forked children (gunicorn's workers, RQ's scheduler and work horses) get SIGTERM when this process
    dies: after a SIGKILL of its worker, RQ's scheduler would otherwise run on for ever, holding the lease on
    the embedded Redis it inherited."""
    from workers.integrations.redis import embedded

    embedded.parent_death_signal()  # resolves prctl here, not in a child
    os.register_at_fork(after_in_child=embedded.die_with_parent)


def reload_rules_on_sighup(context: Context) -> None:
    """`kill -HUP` re-reads the rules now; an invalid set keeps the last good one (see /readyz)."""
    signal.signal(signal.SIGHUP, lambda signum, frame: context.rules.reload())
