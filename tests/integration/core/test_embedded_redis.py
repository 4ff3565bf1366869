"""The shared embedded Redis (workers.integrations.redis.embedded) with real user processes: one server
per state directory, shared by racing starters, kept across restarts (AOF), stopped when the last user
leaves however it leaves, and never duplicated by leftovers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.leaks import stop_pid
from workers.errors import SettingsError
from workers.integrations.redis import embedded

ROOT = Path(__file__).resolve().parents[3]

# A user of the embedded Redis: takes a lease, says which server it got, then lives until its stdin closes
# (a normal exit: the exit hook gives the lease back). With "fork", a forked child shares the lease and
# lives until SIGTERM, as a gunicorn worker or an RQ work horse does.
USER = """
import json, os, signal, sys, time
from pathlib import Path
from workers.integrations.redis import embedded
lease = embedded.acquire(Path(sys.argv[1]))
child = 0
if len(sys.argv) > 2:
    child = os.fork()
    if child == 0:
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        while True:
            time.sleep(1)
redis_pid = int((lease.state_dir / "redis.pid").read_text())
print(json.dumps({"pid": os.getpid(), "redis_pid": redis_pid, "child": child}), flush=True)
sys.stdin.read()
"""


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Users:
    """User processes of one state directory; everything they leave is stopped by pid at the end."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.procs: list[subprocess.Popen[str]] = []
        self.pids: list[int] = []

    def start(self, *extra: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", USER, str(self.state_dir), *extra],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        return proc

    def hello(self, proc: subprocess.Popen[str]) -> dict[str, int]:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line, f"user {proc.pid} exited with {proc.wait()} before taking its lease"
        info = json.loads(line)
        self.pids += [pid for pid in (info["child"],) if pid]
        return info

    @staticmethod
    def leave(proc: subprocess.Popen[str]) -> int:
        if proc.stdin:
            proc.stdin.close()
        return proc.wait(timeout=30)

    def servers(self) -> list[int]:
        return embedded.server_pids(self.state_dir)

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        supervisor = self.state_dir / embedded.SUPERVISOR_PID
        extra = [int(supervisor.read_text())] if supervisor.exists() else []
        for pid in [*self.pids, *self.servers(), *extra]:
            stop_pid(pid)


@pytest.fixture
def users(tmp_path: Path) -> Iterator[Users]:
    state = Users(tmp_path.resolve() / "redis")
    try:
        yield state
    finally:
        state.cleanup()


def test_racing_starters_share_one_server_and_the_last_out_stops_it(users: Users) -> None:
    procs = [users.start() for _ in range(4)]  # all at once, before any has a server
    hellos = [users.hello(proc) for proc in procs]
    assert len({hello["redis_pid"] for hello in hellos}) == 1
    assert users.servers() == [hellos[0]["redis_pid"]]
    assert len(list((users.state_dir / "leases").iterdir())) == 4

    for proc in procs[:-1]:
        assert users.leave(proc) == 0
        assert users.servers() == [hellos[0]["redis_pid"]]  # still in use
    assert users.leave(procs[-1]) == 0
    # The last one out stopped it before exiting: nothing to wait for.
    assert users.servers() == []
    assert not (users.state_dir / embedded.REDIS_PID).exists()
    assert not (users.state_dir / embedded.SOCKET).exists()
    assert list((users.state_dir / "leases").iterdir()) == []


def test_data_is_kept_from_one_server_to_the_next(users: Users) -> None:
    first = users.start()
    users.hello(first)
    client = redis.Redis(unix_socket_path=str(users.state_dir / embedded.SOCKET))
    client.rpush("rq:queue:alerts", "job-1")
    client.close()
    users.leave(first)
    assert users.servers() == []

    second = users.start()
    users.hello(second)
    client = redis.Redis(unix_socket_path=str(users.state_dir / embedded.SOCKET))
    assert client.lrange("rq:queue:alerts", 0, -1) == [b"job-1"]
    client.close()
    users.leave(second)


def test_users_killed_with_sigkill_leave_nothing_behind(users: Users) -> None:
    procs = [users.start(), users.start()]
    server = {users.hello(proc)["redis_pid"] for proc in procs}.pop()
    for proc in procs:
        proc.kill()
        proc.wait()
    # Nobody can give a lease back now: the supervisor finds no live lease and stops the server.
    wait_until(lambda: not users.servers(), 30, "the supervisor to stop the orphaned server")
    wait_until(
        lambda: not (users.state_dir / embedded.SUPERVISOR_PID).exists(), 30, "the supervisor to leave"
    )

    # The next start and stop are clean.
    again = users.start()
    assert users.hello(again)["redis_pid"] != server
    assert users.leave(again) == 0
    assert users.servers() == []


def test_a_server_left_by_a_killed_starter_is_reused_not_duplicated(users: Users) -> None:
    starter, other = users.start(), users.start()
    server = users.hello(starter)["redis_pid"]
    assert users.hello(other)["redis_pid"] == server
    starter.kill()
    starter.wait()

    late = users.start()
    assert users.hello(late)["redis_pid"] == server
    assert users.servers() == [server]
    users.leave(other)
    assert users.servers() == [server]  # the killed starter's lease does not count
    users.leave(late)
    assert users.servers() == []


def test_stale_pid_and_socket_files_are_cleaned_up_and_unrelated_pids_left_alone(users: Users) -> None:
    users.state_dir.mkdir(parents=True)
    (users.state_dir / embedded.REDIS_PID).write_text(f"{os.getpid()}\n")  # alive, but not a redis-server
    (users.state_dir / embedded.SUPERVISOR_PID).write_text("999999999\n")
    (users.state_dir / embedded.SOCKET).write_text("")
    (users.state_dir / "leases").mkdir()
    (users.state_dir / "leases" / "12345-dead").write_text("a user that died")

    user = users.start()
    server = users.hello(user)["redis_pid"]
    assert server != os.getpid() and users.servers() == [server]
    assert users.leave(user) == 0
    assert users.servers() == []
    assert list((users.state_dir / "leases").iterdir()) == []


def test_a_killed_supervisor_takes_its_server_along_and_the_next_start_is_clean(users: Users) -> None:
    user = users.start()
    server = users.hello(user)["redis_pid"]
    supervisor = int((users.state_dir / embedded.SUPERVISOR_PID).read_text())
    os.kill(supervisor, signal.SIGKILL)
    wait_until(lambda: not users.servers(), 30, "the server to follow its supervisor (PR_SET_PDEATHSIG)")

    late = users.start()
    fresh = users.hello(late)["redis_pid"]
    assert fresh != server and users.servers() == [fresh]
    users.leave(user)
    users.leave(late)
    assert users.servers() == []


def test_a_killed_server_is_replaced_once(users: Users) -> None:
    user = users.start()
    server = users.hello(user)["redis_pid"]
    os.kill(server, signal.SIGKILL)
    wait_until(
        lambda: not (users.state_dir / embedded.SUPERVISOR_PID).exists(), 30, "the supervisor to leave"
    )

    late = users.start()
    fresh = users.hello(late)["redis_pid"]
    assert users.servers() == [fresh]
    users.leave(user)
    users.leave(late)
    assert users.servers() == []


def test_a_forked_child_keeps_its_parents_lease(users: Users) -> None:
    parent = users.start("fork")
    hello = users.hello(parent)
    assert users.leave(parent) == 0
    # The parent gave its lease back, but its child (as a gunicorn worker would) still holds it.
    assert users.servers() == [hello["redis_pid"]]
    os.kill(hello["child"], signal.SIGTERM)
    wait_until(lambda: not users.servers(), 30, "the supervisor to stop the server after the child died")


def test_a_directory_that_cannot_serve_names_redis_url(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="REDIS_URL") as too_long:
        embedded.acquire(tmp_path / ("x" * 120))
    assert "too long" in str(too_long.value)
    assert not (tmp_path / ("x" * 120)).exists()
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    with pytest.raises(SettingsError, match="REDIS_URL"):
        embedded.acquire(blocked / "redis")


def test_connect_redis_without_url_uses_the_shared_server(tmp_path: Path) -> None:
    from workers.integrations.redis.connection import connect_redis, redis_url_of
    from workers.settings import RedisSettings

    state = tmp_path / "redis"
    try:
        client = connect_redis(RedisSettings(embedded_dir=state))
        client.set("k", "v")
        again = redis.Redis.from_url(redis_url_of(connect_redis(RedisSettings(embedded_dir=state))))
        assert again.get("k") == b"v"
        assert redis_url_of(client) == f"unix://{state.resolve() / embedded.SOCKET}?db=0"
        assert len(embedded.server_pids(state.resolve())) == 1
        client.close()
        again.close()
    finally:
        with contextlib.suppress(Exception):
            assert embedded.release(state) is True
        assert embedded.server_pids(state.resolve()) == []
