"""The Dockerfile, read as data (no Docker engine runs here): two stages on python:3.11-slim, a wheel
built in the first, only the virtual environment copied into the second, a non-root user, no build
tools at run time, and the one entrypoint for every process."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest

from tests.helm.conftest import REPO

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
BUILD_TOOLS = ("build-essential", "gcc", "g++", "make", "clang", "python3-dev", "libc-dev", "git")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [argument for kw, argument in self.instructions if kw == keyword]


def _parse() -> tuple[dict[str, str], list[Stage]]:
    """Global ARGs and the stages, with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, argument = line.partition(" ")
        keyword, argument = keyword.upper(), " ".join(argument.split())
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?: AS (\S+))?", argument, flags=re.IGNORECASE)
            assert match, line
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], match.group(1))
            stages.append(Stage(base, match.group(2)))
        elif keyword == "ARG" and not stages:
            name, _, default = argument.partition("=")
            args[name] = default
        else:
            assert stages, f"{keyword} before FROM"
            stages[-1].instructions.append((keyword, argument))
    return args, stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return _parse()[1]


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
