"""Build the project's wheel from a copy of the checkout and install it into a fresh virtual environment, as
a user would, offline and without installing the third-party dependencies again.

The build runs in a copy so that no ``build/`` or ``*.egg-info`` lands in the checkout and no stale
``build/lib`` from an earlier build (modules since deleted) leaks into the wheel. The new environment gets
the project's dependencies from this interpreter's site-packages through one ``.pth`` line: that folder
is appended to ``sys.path`` after the environment's own site-packages, and the ``.pth`` files inside it
(the editable install's finder among them) are not run, so ``receiver``, ``workers``, ``rules`` and
``sandbox`` can only come from the installed wheel.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.support.leaks import alive, stop_pid

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("receiver", "workers", "rules", "sandbox")
# What `pip wheel .` needs besides the packages (pyproject names README.md as the long description).
PROJECT_FILES = ("pyproject.toml", "README.md")
_BYTECODE = shutil.ignore_patterns("__pycache__", "*.pyc")


def copy_sources(dest: Path, names: Iterable[str]) -> Path:
    """The checkout's files and folders ``names`` under ``dest`` (without bytecode)."""
    dest.mkdir(parents=True)
    for name in names:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=_BYTECODE)
        else:
            shutil.copy2(source, dest / name)
    return dest


def data_files(sources: Path) -> set[str]:
    """Every file but Python sources under the packages of ``sources``, as paths inside a wheel."""
    return {
        path.relative_to(sources).as_posix()
        for package in PACKAGES
        if (sources / package).is_dir()
        for path in (sources / package).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc")
    }


def build_wheel(sources: Path, out: Path) -> Path:
    """``pip wheel --no-deps`` of ``sources`` into ``out``; the one wheel it wrote."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-w", str(out), str(sources)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = out.glob("*.whl")
    return wheel


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@dataclass(frozen=True)
class Venv:
    root: Path
    site_packages: Path

    def bin(self, name: str) -> Path:
        return self.root / "bin" / name


def install_in_fresh_venv(root: Path, wheel: Path) -> Venv:
    """A new virtual environment at ``root`` holding ``wheel`` (not its dependencies: see the module)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    site_packages = Path(purelib)
    ours = sysconfig.get_paths()
    dependencies = sorted({ours["purelib"], ours["platlib"]})
    (site_packages / "project-dependencies.pth").write_text("\n".join(dependencies) + "\n", encoding="utf-8")
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "--python", str(python), "install"),
            *("--no-deps", "--no-index", "--no-cache-dir", str(wheel)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return Venv(root, site_packages)


def user_environment(tmp: Path, **extra: str) -> dict[str, str]:
    """A new user's shell: no PYTHONPATH, no REDIS_URL, KUBECONFIG or PROMETHEUS_URL, no ``AIOPS_``
    setting but the test session's leak marker, no path into the checkout; temporary files under ``tmp``."""
    path = os.pathsep.join(
        part for part in os.environ.get("PATH", "").split(os.pathsep) if part and not _inside(part, REPO)
    )
    kept = {
        key: value
        for key, value in os.environ.items()
        if key in ("HOME", "LANG", "LC_ALL", "USER", "AIOPS_TEST_SESSION")
    }
    (tmp / "tmp").mkdir(exist_ok=True)
    return {**kept, "PATH": path, "TMPDIR": str(tmp / "tmp"), **extra}


def _inside(path: str, root: Path) -> bool:
    with contextlib.suppress(OSError, ValueError):
        return Path(path).resolve().is_relative_to(root)
    return False


def processes_under(root: Path, marker: str) -> list[tuple[int, str]]:
    """Live processes (pid, command line) with ``marker`` (a ``KEY=value`` entry) in their environment, or
    working or named under ``root``: what a run from ``root`` left behind (redis-server overwrites its
    environment, not its working directory)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        proc = Path("/proc") / name
        try:
            argv = [part.decode(errors="replace") for part in (proc / "cmdline").read_bytes().split(b"\0")]
            environ = (proc / "environ").read_bytes().split(b"\0")
            cwd = Path(os.readlink(proc / "cwd"))
        except OSError:
            continue  # gone meanwhile, or not ours to read
        named = any(part.startswith(str(root)) for part in argv)
        if (marker.encode() in environ or cwd.is_relative_to(root) or named) and alive(int(name)):
            found.append((int(name), " ".join(argv).strip()))
    return found


def left_behind(root: Path, marker: str, timeout: float = 30.0) -> list[tuple[int, str]]:
    """Waits up to ``timeout`` for the processes of a finished run to be gone; those that stay are
    stopped (by pid) and returned."""
    deadline = time.monotonic() + timeout
    while (stray := processes_under(root, marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid, _ in stray:
        stop_pid(pid)
    return stray
