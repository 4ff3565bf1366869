"""Start real servers (redis-server, prometheus, alertmanager) on free loopback ports for tests."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from sandbox.localprom import (
    BinaryServer,
    die_with_parent,
    find_binary,
    free_port,
    start_prometheus,
    stop_process,
    wait_for_port,
    wait_for_redis,
)

__all__ = [
    "BinaryServer",
    "RedisServer",
    "free_port",
    "running_redis",
    "start_alertmanager",
    "start_prometheus",
    "wait_for_port",
]


class RedisServer:
    """A real redis-server process, restartable on the same port (for outage tests).

    ``extra_args`` go after the defaults (a later option wins), e.g. ``["--aclfile", path]``; with the
    default user off, ``ready_auth`` is the (user, password) the readiness PING signs in as.
    """

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        extra_args: Sequence[str] = (),
        ready_auth: tuple[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.ready_auth = ready_auth
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def url_for(self, user: str, password: str) -> str:
        """The URL that signs in as ACL user ``user``."""
        return f"redis://{user}:{password}@127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
                *self.extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - a prctl call, no locks taken
        )
        wait_for_port(self.port, proc=self.proc)
        wait_for_redis(self.url_for(*self.ready_auth) if self.ready_auth else self.url)
        return self

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


@contextlib.contextmanager
def running_redis(workdir: Path) -> Iterator[RedisServer]:
    server = RedisServer(workdir).start()
    try:
        yield server
    finally:
        server.stop()


def start_alertmanager(workdir: Path, webhook_url: str, token: str, max_alerts: int = 0) -> BinaryServer:
    """A real Alertmanager whose only receiver is our webhook, with a bearer token.

    ``max_alerts`` > 0 makes Alertmanager cut notifications to that many alerts (``truncatedAlerts``)."""
    import yaml

    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "token").write_text(token)
    config = {
        "route": {
            "receiver": "aiops",
            "group_by": ["alertname", "namespace", "pod"],
            "group_wait": "0s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "aiops",
                "webhook_configs": [
                    {
                        "url": webhook_url,
                        "send_resolved": True,
                        "max_alerts": max_alerts,
                        "http_config": {
                            "authorization": {"type": "Bearer", "credentials_file": str(workdir / "token")}
                        },
                    }
                ],
            }
        ],
    }
    (workdir / "alertmanager.yml").write_text(yaml.safe_dump(config))
    binary = find_binary("prometheus-alertmanager", "alertmanager")
    if binary is None:
        raise RuntimeError("alertmanager is not installed (apt-get install -y prometheus-alertmanager)")
    port = free_port()
    argv = [
        binary,
        f"--config.file={workdir / 'alertmanager.yml'}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    return BinaryServer(argv, port, workdir / "alertmanager.log").start()
