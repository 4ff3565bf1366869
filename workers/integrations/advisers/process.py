"""Run an adviser CLI safely: an argument list (never a shell), a minimal environment, its own process
group, a hard deadline.

The child starts in a new session, so it and everything it forks share one process group that we
own. On timeout the whole group gets SIGKILL: an AI tool that spawned ``kubectl`` (which may have
spawned a credential plugin) leaves nothing behind. The group is also swept after a normal exit, so
background grandchildren never outlive the call.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

# How long to wait for pipes to drain after the group was killed (a grandchild that escaped the
# group could otherwise hold them open for ever).
DRAIN_TIMEOUT_S = 2.0


@dataclass
class CommandResult:
    """What a finished (or killed) command left behind."""

    argv: list[str]
    returncode: int | None
    """``None`` when the command was killed on timeout."""
    stdout: str
    stderr: str
    timed_out: bool
    duration_s: float

    @property
    def output(self) -> str:
        """stdout and stderr together, for matching tool messages that may land on either."""
        return f"{self.stdout}\n{self.stderr}" if self.stderr else self.stdout


class CommandNotFound(Exception):
    """The binary could not be started (missing, not executable)."""


def resolve_binary(binary: str) -> str | None:
    """The path of ``binary`` (a name on PATH or a path), or None when it cannot be run."""
    if os.sep in binary:
        return binary if os.path.isfile(binary) and os.access(binary, os.X_OK) else None
    return shutil.which(binary)


def kill_group(pgid: int) -> None:
    """SIGKILL every process of group ``pgid``; a group that is already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _decode(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


def run_command(
    argv: Sequence[str],
    *,
    stdin: str | None,
    timeout_s: float,
    env: Mapping[str, str],
    cwd: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> CommandResult:
    """Run ``argv`` with ``stdin`` as input, in its own process group, for at most ``timeout_s`` seconds.

    ``env`` is the child's whole environment (an adviser's allowlist, ``process_environment()`` of its
    settings): nothing of the worker's own is inherited. Raises ``CommandNotFound`` when the binary cannot
    be started. Output is decoded as UTF-8 with replacement characters; it is returned whole (callers
    truncate).
    """
    args = [str(arg) for arg in argv]
    started = clock()
    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,  # own session, own process group: pgid == pid
            close_fds=True,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        raise CommandNotFound(f"cannot run {args[0]}: {exc.strerror or exc}") from exc
    pgid = proc.pid
    data = stdin.encode("utf-8") if stdin is not None else None
    timed_out = False
    try:
        out, err = proc.communicate(input=data, timeout=max(0.0, timeout_s))
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(pgid)
        try:
            out, err = proc.communicate(timeout=DRAIN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            # Something outside the group holds the pipes; give up on the rest of the output.
            proc.kill()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
            proc.wait()
            out, err = b"", b""
    finally:
        kill_group(pgid)
    return CommandResult(
        argv=args,
        returncode=None if timed_out else proc.returncode,
        stdout=_decode(out),
        stderr=_decode(err),
        timed_out=timed_out,
        duration_s=clock() - started,
    )
