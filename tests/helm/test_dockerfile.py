"""The Dockerfile, read as data (no Docker engine runs here): two stages on python:3.11-slim, a wheel
built in the first, only the virtual environment copied into the second, a non-root user, no build
tools at run time, and the one entrypoint for every process."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.support.dockerfile import REPO, SANDBOX_VERBS, Stage, parse_dockerfile

DOCKERIGNORE = REPO / ".dockerignore"
BUILD_TOOLS = ("build-essential", "gcc", "g++", "make", "clang", "python3-dev", "libc-dev", "git")
# With `sandbox` unimportable: the modules of the processes the image runs (`aiops serve|worker|cron|watch`)
# import, so does every other module of the three packages, and `aiops demo` says what is missing.
WITHOUT_SANDBOX = f"""
import importlib, pkgutil, sys
sys.modules["sandbox"] = None
import receiver.cli, receiver.runtime, workers.runner.worker, workers.runner.jobs, workers.sources.watch
for package in ("receiver", "workers", "rules"):
    for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
        if info.name not in {SANDBOX_VERBS!r}:
            importlib.import_module(info.name)
sys.exit(receiver.cli.main(["demo"]))
"""


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile()[1]


def test_two_stages_on_python_311_slim(stages: list[Stage]) -> None:
    assert len(stages) == 2
    assert all(stage.base == "python:3.11-slim" for stage in stages)


def test_first_stage_builds_a_wheel_and_a_venv(stages: list[Stage]) -> None:
    build = " ".join(stages[0].all("RUN"))
    assert "pip wheel" in build
    assert "python -m venv /opt/aiops" in build
    assert "--no-index" in build  # the venv gets exactly the wheels just built


def test_final_stage_copies_only_the_venv(stages: list[Stage]) -> None:
    build, final = stages
    copies = final.all("COPY")
    assert copies == [f"--from={build.name} /opt/aiops /opt/aiops"]
    for command in final.all("RUN"):
        assert "apt-get install" not in command and "pip install" not in command, command
        assert not any(re.search(rf"\b{re.escape(tool)}\b", command) for tool in BUILD_TOOLS), command
    assert any("/opt/aiops/bin" in env for env in final.all("ENV"))


def test_runs_as_uid_10001(stages: list[Stage]) -> None:
    final = stages[-1]
    assert final.all("USER")[-1] in ("10001", "10001:10001")
    created = " ".join(final.all("RUN"))
    assert "--uid 10001" in created and "--gid 10001" in created


def test_one_entrypoint_for_every_process(stages: list[Stage]) -> None:
    final = stages[-1]
    assert json.loads(final.all("ENTRYPOINT")[-1]) == ["aiops"]
    assert json.loads(final.all("CMD")[-1]) == ["serve", "--host", "0.0.0.0"]
    assert final.all("EXPOSE") == ["8080"]


def test_build_context_holds_what_the_build_copies(stages: list[Stage]) -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "the context is an allow-list"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    for copy in stages[0].all("COPY"):
        *sources, _ = copy.split()
        for source in sources:
            assert source.rstrip("/") in allowed, source
            assert (REPO / source).exists(), source
    assert not {".venv", ".git", "tests"} & allowed


def test_the_image_leaves_the_sandbox_out(stages: list[Stage]) -> None:
    assert "sandbox" not in stages[0].copied()
    assert "!sandbox/" not in DOCKERIGNORE.read_text(encoding="utf-8").split()


def test_the_image_processes_never_import_the_sandbox() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_SANDBOX], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("aiops: `aiops demo` needs the sandbox package"), result.stderr
