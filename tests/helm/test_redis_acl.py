"""The bundled Redis's ACL users, tried on a real redis-server started with the chart's own arguments and
ACL file: each component does its real work as its own user (the receiver's webhook and approval API, RQ
workers running the jobs, `aiops cron`, the pod watcher) and Redis refuses none of it (ACL LOG stays
empty), while no user may run a dangerous command, touch keys beyond its own, or sign in as default.

An extra administrator, added through the chart's own ``redis.bundled.acl.extraUsers``, reads the ACL
LOG; the components never use it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import redis
from rq import Queue, SimpleWorker
from rq.registry import FailedJobRegistry

from rules.registry import RuleRegistry
from tests.helm.conftest import REPO, Rendered, render
from tests.support.pipeline import Pipeline, auth, build_pipeline, crash_alert, fast_rules, stop_pipeline
from tests.support.servers import RedisServer
from workers.settings import Settings
from workers.spine import queues
from workers.spine.context import Context, install

SCENARIO = REPO / "sandbox" / "scenarios" / "demo-crashloop"
ADMIN_PASSWORD = "acl-test-admin-0123456789abcdef"
ACL_VALUES: dict[str, Any] = {
    "watcher": {"enabled": True},
    "worker": {"keda": {"enabled": True}},
    "redis": {
        "bundled": {
            "acl": {
                "extraUsers": [
                    f"user admin on #{hashlib.sha256(ADMIN_PASSWORD.encode()).hexdigest()} ~* &* +@all"
                ]
            }
        }
    },
}
COMPONENTS = ("receiver", "worker", "cron", "watcher", "keda", "probe")
# Refused to every component: the commands that reconfigure, stop, wipe, replicate or spy on Redis,
# or run code in it. (name, arguments); SHUTDOWN last, so that a wrong grant ends the test loudly.
DANGEROUS = [
    ("FLUSHALL", ()),
    ("FLUSHDB", ()),
    ("CONFIG", ("GET", "dir")),
    ("CONFIG", ("SET", "dir", "/tmp")),
    ("DEBUG", ("SLEEP", "0")),
    ("MODULE", ("LIST",)),
    ("MODULE", ("LOAD", "/tmp/evil.so")),
    ("ACL", ("LIST",)),
    ("ACL", ("SETUSER", "evil", "on", ">x", "~*", "+@all")),
    ("KEYS", ("*",)),
    ("MONITOR", ()),
    ("REPLICAOF", ("127.0.0.1", "1")),
    ("SLAVEOF", ("127.0.0.1", "1")),
    ("SAVE", ()),
    ("BGSAVE", ()),
    ("BGREWRITEAOF", ()),
    ("SWAPDB", ("0", "1")),
    ("MIGRATE", ("127.0.0.1", "1", "rq:queue:alerts", "0", "1000")),
    ("RESTORE", ("rq:x", "0", "x")),
    ("CLIENT", ("KILL", "TYPE", "normal")),
    ("CLIENT", ("LIST",)),
    ("SCRIPT", ("FLUSH",)),
    ("FUNCTION", ("FLUSH",)),
    ("FUNCTION", ("LOAD", "#!lua name=evil\nredis.register_function('evil', function() return 1 end)")),
    ("SHUTDOWN", ("NOSAVE",)),
]
# (component, command): a key or command outside what the component needs.
BEYOND_ITS_KEYS = [
    ("receiver", ("SET", "rq:worker:evil", "x")),
    ("receiver", ("ZADD", "rq:scheduled:alerts", "1", "x")),
    ("receiver", ("SET", "aiops:advice:x", "x")),
    ("receiver", ("SET", "other:key", "x")),
    ("receiver", ("EVAL", "return 1", "0")),
    ("receiver", ("SUBSCRIBE", "rq:pubsub:x")),
    ("cron", ("HGET", "aiops:proposal:p-1", "doc")),
    ("cron", ("LRANGE", "aiops:record:r-1", "0", "-1")),
    ("cron", ("HSET", "rq:worker:evil", "a", "b")),
    ("watcher", ("SADD", "aiops:proposals:by-alert:x", "p-1")),
    ("watcher", ("HGET", "aiops:proposal:p-1", "doc")),
    ("watcher", ("ZADD", "aiops:proposals:approved", "1", "p-1")),
    ("worker", ("SET", "other:key", "x")),
    ("worker", ("SCAN", "0")),  # key names beyond its own (only the receiver's /metrics scans records)
    ("cron", ("SCAN", "0")),
    ("watcher", ("SCAN", "0")),
    ("keda", ("SCAN", "0")),
    ("worker", ("PUBLISH", "other-channel", "x")),
    ("keda", ("RPUSH", "rq:queue:alerts", "x")),
    ("keda", ("DEL", "rq:queue:alerts")),
    ("keda", ("HGETALL", "aiops:counters")),
    ("keda", ("EVAL", "return redis.call('rpush', KEYS[1], 'x')", "1", "rq:queue:alerts")),
    ("probe", ("GET", "aiops:counters")),
]


def _secret(rendered: Rendered, name: str, key: str) -> str:
    return base64.b64decode(rendered.one("Secret", name)["data"][key]).decode("utf-8")


@dataclass
class AclRedis:
    """A redis-server started as the chart starts it, and each component's password."""

    server: RedisServer
    passwords: dict[str, str]
    admin: redis.Redis
    clients: list[redis.Redis] = field(default_factory=list)

    def url(self, component: str) -> str:
        return self.server.url_for(component, self.passwords[component])

    def connect(self, component: str) -> redis.Redis:
        client = redis.Redis.from_url(self.url(component))
        self.clients.append(client)
        return client

    def refused(self) -> list[str]:
        """What Redis refused since the last call: "user: reason object" per ACL LOG entry."""
        entries: Any = self.admin.acl_log()
        self.admin.acl_log_reset()
        return [f"{e['username']}: {e['reason']} {e['object']}" for e in entries]


@pytest.fixture(scope="module")
def acl_render(chart: helm.Chart) -> Rendered:
    return render(chart, "redis-acl", ACL_VALUES)


def _server_args(rendered: Rendered, workdir: Path, acl_file: Path) -> list[str]:
    """The chart's redis-server arguments, with its paths moved under ``workdir``."""
    (container,) = rendered.one("StatefulSet", "redis")["spec"]["template"]["spec"]["containers"]
    args = list(container["args"])
    args[args.index("--dir") + 1] = str(workdir)
    if "--aclfile" in args:
        assert args[args.index("--aclfile") + 1] == "/etc/redis/acl/users.acl"
        args[args.index("--aclfile") + 1] = str(acl_file)
    return args


@pytest.fixture
def acl_redis(acl_render: Rendered, tmp_path: Path) -> Iterator[AclRedis]:
    acl_file = tmp_path / "users.acl"
    acl_file.write_text(_secret(acl_render, "redis-acl", "users.acl"), encoding="utf-8")
    passwords = {c: _secret(acl_render, f"redis-{c}", "password") for c in COMPONENTS}
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisServer(
        workdir,
        extra_args=_server_args(acl_render, workdir, acl_file),
        ready_auth=("probe", passwords["probe"]),
    ).start()
    admin = redis.Redis.from_url(server.url_for("admin", ADMIN_PASSWORD))
    served = AclRedis(server, passwords, admin)
    try:
        served.refused()  # start from an empty log
        yield served
    finally:
        for client in [*served.clients, admin]:
            client.close()
        server.stop()


def _context(
    url: str, connection: redis.Redis, rules: Path, kube_factory: Callable[[], Any] | None
) -> Context:
    settings = Settings.model_validate(
        {
            "redis": {"url": url},
            "prometheus": {"url": "http://127.0.0.1:9", "timeout_s": 5},  # unreachable: fails fast, recorded
            "rules": {"dir": str(rules)},
            "notify": {"sinks": [{"type": "log"}]},
        }
    )
    return Context(settings=settings, redis=connection, rules=RuleRegistry(rules), kube_factory=kube_factory)


@pytest.fixture
def pipeline(acl_redis: AclRedis, tmp_path: Path) -> Iterator[Pipeline]:
    """The receiver app on the sandbox cluster, signed in to Redis as the receiver user."""
    rules = fast_rules(tmp_path / "rules")
    built = build_pipeline(
        SCENARIO, acl_redis.connect("receiver"), acl_redis.url("receiver"), tmp_path, rules
    )
    yield built
    stop_pipeline(built)


def _worker_context(acl_redis: AclRedis, pipeline: Pipeline) -> Context:
    rules = pipeline.context.settings.rules.dir
    assert rules is not None
    return _context(
        acl_redis.url("worker"), acl_redis.connect("worker"), rules, pipeline.context.kube_factory
    )


def _work(context: Context, until: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Burst RQ workers (with the scheduler) signed in as ``context``'s user until ``until()`` holds."""
    install(context)
    deadline = time.monotonic() + timeout
    while True:
        worker = SimpleWorker(
            [queues.queue(name, context.redis) for name in queues.ALL], connection=context.redis
        )
        worker.work(burst=True, with_scheduler=True, logging_level="WARNING")
        value = until()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("the workers did not reach the expected state in time")
        time.sleep(0.25)


def _failed_jobs(connection: redis.Redis) -> list[str]:
    return [
        job_id
        for name in queues.ALL
        for job_id in FailedJobRegistry(name, connection=connection).get_job_ids()
    ]


def _crashing_pod(pipeline: Pipeline) -> str:
    return next(
        pod["metadata"]["name"]
        for pod in pipeline.cluster.list("Pod", "shop")
        if pod["metadata"]["name"].startswith("checkout-")
    )


def test_the_acl_file_lists_every_component_and_turns_the_default_user_off(acl_render: Rendered) -> None:
    lines = _secret(acl_render, "redis-acl", "users.acl").splitlines()
    users = {line.split()[1]: line for line in lines}
    assert set(users) == {"default", *COMPONENTS, "admin"}
    assert users["default"].split()[2] == "off"
    plain = "\n".join(lines)
    for component in COMPONENTS:
        words = users[component].split()
        assert words[2] == "on" and re.fullmatch(r"#[0-9a-f]{64}", words[3]), component
        password = _secret(acl_render, f"redis-{component}", "password")
        assert words[3] == "#" + hashlib.sha256(password.encode()).hexdigest(), component
        assert password not in plain, component  # hashes only in the file
        assert words[4] == "resetkeys" and "-@all" in words, component
        if component != "probe":
            # Nothing is given back after -@dangerous but INFO (RQ reads the server version with it).
            after = words[words.index("-@dangerous") + 1 :]
            assert [word for word in after if word.startswith("+")] in ([], ["+info"]), component


def test_receiver_and_workers_handle_an_incident_each_as_its_own_user(
    acl_redis: AclRedis, pipeline: Pipeline
) -> None:
    worker = _worker_context(acl_redis, pipeline)
    client = pipeline.client
    pod = _crashing_pod(pipeline)

    assert pipeline.post_alerts(crash_alert(pod))["enqueued"] == 1
    proposal = _work(worker, lambda: worker.proposals.list(status="pending"))[0]

    listed = client.get("/api/v1/approvals?status=pending", headers=auth("viewer"))
    assert listed.status_code == 200 and [p["id"] for p in listed.get_json()["items"]] == [proposal.id]
    assert client.get(f"/api/v1/approvals/{proposal.id}", headers=auth("viewer")).status_code == 200
    assert client.get(f"/api/v1/records/{proposal.record_id}", headers=auth("viewer")).status_code == 200
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and "aiops_alerts_received" in metrics.get_data(as_text=True)
    assert client.get("/readyz").get_json()["checks"]["redis"]["ok"] is True

    approved = client.post(
        f"/api/v1/approvals/{proposal.id}/approve", json={"comment": "ok"}, headers=auth("approver")
    )
    assert approved.status_code == 200, approved.get_data(as_text=True)
    done = _work(
        worker,
        lambda: worker.proposals.get(proposal.id).status in {"validated", "regressed", "failed", "unknown"},
    )
    assert done
    final = worker.proposals.get(proposal.id)
    assert final.status in {"validated", "regressed"}, (final.status, final.execution)
    assert final.execution["result"]["name"] == "checkout"

    # A resolved alert: the receiver queues the supersede check, a worker runs it.
    resolved = pipeline.post_alerts(crash_alert(pod, status="resolved"))
    assert resolved["received"] == 1
    _work(worker, lambda: not Queue(queues.ALERTS, connection=worker.redis).count)

    assert _failed_jobs(worker.redis) == []
    assert acl_redis.refused() == []


def _aiops(acl_redis: AclRedis, component: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
    """``aiops ARGS`` as a process of its own, signed in to Redis as ``component``."""
    environment = {
        **os.environ,
        "REDIS_URL": acl_redis.url(component),
        "AIOPS_LOGGING_LEVEL": "WARNING",
        **env,
    }
    environment.pop("AIOPS_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "receiver.cli", *args],
        cwd=REPO,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def test_cron_and_worker_processes_each_as_its_own_user(acl_redis: AclRedis) -> None:
    """`aiops cron` enqueues the expiry job as cron, and `aiops worker` (RQ's forking worker, with its
    scheduler) runs it as worker."""
    alerts = Queue(queues.ALERTS, connection=acl_redis.connect("worker"))
    cron = _aiops(acl_redis, "cron", "cron", AIOPS_SCHEDULES_EXPIRE_INTERVAL_S="1")
    try:
        deadline = time.monotonic() + 30
        while not any(job.func_name == "workers.spine.lifecycle.expire_job" for job in alerts.get_jobs()):
            assert cron.poll() is None, f"aiops cron exited with {cron.returncode}"
            assert time.monotonic() < deadline, "aiops cron enqueued no expire job"
            time.sleep(0.1)
    finally:
        os.killpg(cron.pid, signal.SIGTERM)
        _, cron_errors = cron.communicate(timeout=15)
    assert cron.returncode == 0, cron_errors.decode()
    job = next(job for job in alerts.get_jobs() if job.func_name == "workers.spine.lifecycle.expire_job")
    worker = _aiops(acl_redis, "worker", "worker", "--burst", "--queues", "alerts")
    try:
        _, errors = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=15)
    assert worker.returncode == 0, errors.decode()
    assert job.get_status(refresh=True) == "finished"
    assert _failed_jobs(alerts.connection) == []
    assert acl_redis.refused() == []


def test_watcher_queues_alerts_as_its_own_user(acl_redis: AclRedis, pipeline: Pipeline) -> None:
    from workers.sources.watch import PodWatcher
    from workers.spine.intake import ingest

    rules = pipeline.context.settings.rules.dir
    assert rules is not None
    context = _context(
        acl_redis.url("watcher"), acl_redis.connect("watcher"), rules, pipeline.context.kube_factory
    )
    context.settings.watch.timeout_s = 2
    context.settings.watch.backoff_max_s = 0.5
    watcher = PodWatcher(context, ["shop"])
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["stats"] = watcher.run()
        except Exception as exc:  # surfaced below, in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="acl-watcher", daemon=True)
    thread.start()
    alerts = Queue(queues.ALERTS, connection=acl_redis.connect("worker"))
    try:
        deadline = time.monotonic() + 30
        while not alerts.count:
            assert thread.is_alive(), outcome
            assert time.monotonic() < deadline, "the watcher queued no investigation"
            time.sleep(0.05)
    finally:
        watcher.stop()
        thread.join(timeout=10)
    assert not thread.is_alive() and "error" not in outcome, outcome
    assert outcome["stats"].alerts >= 1
    # When a container recovers the watcher hands intake the resolved alert, which first asks (read-only)
    # whether the alert has proposals to supersede.
    assert context.settings.alerts.resolved_supersedes
    job = alerts.get_jobs()[0]
    # One alert queues an investigation; several at once, one fan-out job with each in its batch.
    firing = job.args[0][0]["args"][0] if job.func_name == "workers.spine.intake.fan_out_job" else job.args[0]
    assert ingest(context, [{**firing, "status": "resolved"}]).received == 1
    assert acl_redis.refused() == []


def test_keda_reads_the_queue_lengths_and_nothing_else(acl_redis: AclRedis) -> None:
    acl_redis.admin.rpush("rq:queue:alerts", "job-1", "job-2")
    keda = acl_redis.connect("keda")
    assert keda.type("rq:queue:alerts") in (b"list", "list")
    assert keda.llen("rq:queue:alerts") == 2
    # Newer KEDA releases ask inside one script.
    script = "local t = redis.call('type', KEYS[1]).ok; return redis.call('llen', KEYS[1])"
    assert keda.eval(script, 1, "rq:queue:alerts") == 2
    assert acl_redis.refused() == []


def _dry_run(acl_redis: AclRedis, component: str, command: tuple[str, ...]) -> str:
    """Whether ``component``'s user may run ``command`` (ACL DRYRUN: checked, never run): "OK" or why not."""
    answer = acl_redis.admin.execute_command("ACL", "DRYRUN", component, *command)
    return answer.decode() if isinstance(answer, bytes) else str(answer)


def _assert_refused(client: redis.Redis, name: str, args: tuple[str, ...]) -> None:
    # DEBUG and MODULE are also refused to every client by redis-server's own defaults, before the ACL
    # is asked (ACL DRYRUN shows the ACL refuses them too); every other one answers NOPERM.
    with pytest.raises(redis.exceptions.ResponseError) as refused:
        client.execute_command(name, *args)
    if name not in ("DEBUG", "MODULE"):
        assert isinstance(refused.value, redis.exceptions.NoPermissionError), (name, refused.value)


@pytest.mark.parametrize("component", COMPONENTS)
def test_no_component_may_run_a_dangerous_command(acl_redis: AclRedis, component: str) -> None:
    client = acl_redis.connect(component)
    for name, args in DANGEROUS:
        assert "no permissions" in _dry_run(acl_redis, component, (name, *args)), (component, name, args)
        _assert_refused(client, name, args)
    assert acl_redis.admin.ping()  # still up: SHUTDOWN was refused too
    assert {entry.split(": ", 1)[0] for entry in acl_redis.refused()} == {component}


@pytest.mark.parametrize(
    ("component", "command"), BEYOND_ITS_KEYS, ids=[f"{c}:{' '.join(cmd)}"[:40] for c, cmd in BEYOND_ITS_KEYS]
)
def test_components_stay_within_their_keys(
    acl_redis: AclRedis, component: str, command: tuple[str, ...]
) -> None:
    client = acl_redis.connect(component)
    if command[0] == "EVAL" and "no permissions" not in _dry_run(acl_redis, component, command):
        # The user may EVAL, but the script's own commands are checked as it runs them.
        with pytest.raises(redis.exceptions.ResponseError, match="can't run this command"):
            client.execute_command(*command)
        return
    assert "no permissions" in _dry_run(acl_redis, component, command)
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.execute_command(*command)


def test_default_user_is_off(acl_redis: AclRedis) -> None:
    anonymous = redis.Redis.from_url(acl_redis.server.url)
    acl_redis.clients.append(anonymous)
    with pytest.raises(redis.exceptions.AuthenticationError):
        anonymous.ping()
    wrong = redis.Redis.from_url(acl_redis.server.url_for("worker", "not-the-password"))
    acl_redis.clients.append(wrong)
    with pytest.raises(redis.exceptions.AuthenticationError):
        wrong.ping()
    # One component's password does not open another's user.
    borrowed = redis.Redis.from_url(acl_redis.server.url_for("worker", acl_redis.passwords["receiver"]))
    acl_redis.clients.append(borrowed)
    with pytest.raises(redis.exceptions.AuthenticationError):
        borrowed.ping()


def test_one_shared_password_still_refuses_the_dangerous_commands(chart: helm.Chart, tmp_path: Path) -> None:
    """redis.bundled.acl.enabled=false: every component shares the default user and one password, and that
    user still may not run the dangerous commands, while RQ's work goes through."""
    rendered = render(chart, "redis-shared", {"redis": {"bundled": {"acl": {"enabled": False}}}})
    password = _secret(rendered, "redis", "redis-password")
    (container,) = rendered.one("StatefulSet", "redis")["spec"]["template"]["spec"]["containers"]
    assert "--aclfile" not in container["args"]
    workdir = tmp_path / "redis"
    workdir.mkdir()
    # Kubernetes expands $(REDIS_PASSWORD) in the arguments from the container's environment.
    args = [arg.replace("$(REDIS_PASSWORD)", password) for arg in _server_args(rendered, workdir, Path())]
    server = RedisServer(workdir, extra_args=args, ready_auth=("default", password)).start()
    client = redis.Redis.from_url(server.url_for("default", password))
    try:
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis.Redis.from_url(server.url).ping()
        for name, args_ in DANGEROUS:
            _assert_refused(client, name, args_)
        queue = Queue(queues.ALERTS, connection=client)
        job = queue.enqueue_call("workers.spine.intake.fan_out_job", args=([],), job_id="fanout-acl-test")
        worker = SimpleWorker([queue], connection=client)
        install(
            _context(server.url_for("default", password), client, REPO / "rules" / "library", lambda: None)
        )
        worker.work(burst=True, logging_level="WARNING")
        assert job.get_status(refresh=True) == "finished", job.exc_info
    finally:
        client.close()
        server.stop()


def test_deferred_intake_as_the_receiver_worker_and_keda_users(acl_redis: AclRedis, tmp_path: Path) -> None:
    import json

    from receiver.payload import alertmanager_payload
    from workers.spine import inbox

    rules = fast_rules(tmp_path / "rules")
    receiver = _context(acl_redis.url("receiver"), acl_redis.connect("receiver"), rules, None)
    worker = _context(acl_redis.url("worker"), acl_redis.connect("worker"), rules, None)
    body = json.dumps(alertmanager_payload([crash_alert("web-5d8c7b9f4-abcde")])).encode()
    # The first push also stores the drain job's template; the second finds the drainer queued.
    assert inbox.push(receiver, body, "2026-11-25T10:00:01Z") is True
    assert inbox.push(receiver, body, "2026-11-25T10:00:02Z") is False
    assert acl_redis.connect("keda").llen(inbox.INBOX) == 2
    assert inbox.backlog(receiver.redis) == 2  # /metrics reads it as the receiver
    done, total = inbox.drain(worker)
    assert (done, total.received, total.enqueued, total.duplicates) == (2, 2, 1, 1)
    assert inbox.kick(worker.redis) is False  # as cron's kick job runs it, on a worker
    assert acl_redis.refused() == []
