"""A real Redis Sentinel deployment on loopback for tests: a primary and two replicas with AOF (so that a
replica is left to acknowledge writes after a failover), and three ``redis-sentinel`` processes
(quorum 2), each started and stopped by pid."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from sandbox.localprom import die_with_parent, free_port, stop_process, wait_for_port
from tests.support.servers import RedisServer

SERVICE = "aiops"
DOWN_AFTER_MS = 1000


class SentinelSet:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.primary: RedisServer | None = None
        self.replicas: list[RedisServer] = []
        self.sentinels: list[subprocess.Popen[bytes]] = []
        self.sentinel_ports: list[int] = []

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def start(self) -> SentinelSet:
        durable = ["--appendonly", "yes", "--appendfsync", "everysec", "--repl-diskless-sync-delay", "0"]
        self.primary = RedisServer(self.workdir / "primary", extra_args=durable).start()
        for index in range(2):
            replica = RedisServer(
                self.workdir / f"replica-{index}",
                extra_args=[*durable, "--replicaof", "127.0.0.1", str(self.primary.port)],
            ).start()
            self.replicas.append(replica)
            self._wait_for_link(replica)
        binary = shutil.which("redis-sentinel")
        if binary is None:
            raise RuntimeError("redis-sentinel is not installed (apt-get install -y redis-sentinel)")
        for index in range(3):
            port = free_port()
            directory = self.workdir / f"sentinel-{index}"
            directory.mkdir(parents=True, exist_ok=True)
            conf = directory / "sentinel.conf"  # sentinels rewrite their config: it must be writable
            conf.write_text(
                "\n".join(
                    [
                        "bind 127.0.0.1",
                        f"port {port}",
                        f"dir {directory}",
                        f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} 2",
                        f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}",
                        f"sentinel failover-timeout {SERVICE} 10000",
                        f"sentinel parallel-syncs {SERVICE} 1",
                        "",
                    ]
                )
            )
            proc = subprocess.Popen(
                [binary, str(conf)],
                stdout=(directory / "log").open("wb"),
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - a prctl call, no locks taken
            )
            self.sentinels.append(proc)
            self.sentinel_ports.append(port)
            wait_for_port(port, proc=proc)
        self._wait(lambda: all(self._sentinel_sees_replica(port) for port in self.sentinel_ports), 20)
        return self

    def _wait_for_link(self, server: RedisServer) -> None:
        replica = redis.Redis(port=server.port)
        try:
            self._wait(lambda: replica.info("replication").get("master_link_status") == "up", 20)
        finally:
            replica.close()

    def _sentinel_sees_replica(self, port: int) -> bool:
        client = redis.Redis(port=port, decode_responses=True)
        try:
            return len(client.execute_command("SENTINEL", "REPLICAS", SERVICE)) == 2
        except redis.RedisError:
            return False
        finally:
            client.close()

    def primary_port(self) -> int:
        """The port the sentinels name as the primary now."""
        client = redis.Redis(port=self.sentinel_ports[0], decode_responses=True)
        try:
            _host, port = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
            return int(port)
        finally:
            client.close()

    def kill_primary(self) -> int:
        """SIGKILL the primary (by pid), as when its node dies; returns the port it listened on."""
        assert self.primary is not None and self.primary.proc is not None
        port = self.primary.port
        os.kill(self.primary.proc.pid, signal.SIGKILL)
        self.primary.proc.wait()
        return port

    def wait_for_failover(self, old_port: int, timeout: float = 30) -> int:
        self._wait(lambda: self.primary_port() != old_port, timeout)
        return self.primary_port()

    @staticmethod
    def _wait(predicate: object, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if callable(predicate) and predicate():
                return
            time.sleep(0.1)
        raise TimeoutError("the sentinel deployment did not reach the expected state")

    def stop(self) -> None:
        for proc in self.sentinels:
            stop_process(proc)
        for server in [*self.replicas, self.primary]:
            if server is not None:
                server.stop()
