"""The import contracts (pyproject.toml, ``[tool.importlinter]``) hold, and they catch what they promise.

import-linter checks every import, nested and TYPE_CHECKING ones included. What it cannot see is
checked here by hand: who reads the environment, and imports or job hand-offs spelled as strings.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("receiver", "workers", "rules", "sandbox")
SERVICE = ("receiver", "workers", "rules")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    # A wide console: rich would otherwise wrap the import chains that the assertions look for.
    env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_import_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


# Each probe is a new module with one nested import (inside a function, where the old layer test did
# not look) and the line that lint-imports must print for it.
PROBES: dict[str, tuple[str, str]] = {
    "receiver/probe_sandbox.py": ("import sandbox.server", "receiver.probe_sandbox -> sandbox.server"),
    "receiver/probe_verb.py": ("import receiver.demo", "receiver.probe_verb -> receiver.demo"),
    "rules/probe.py": ("import workers.errors", "rules.probe -> workers.errors"),
    "workers/spine/probe.py": (
        "import workers.workflows.pod_failure",
        "workers.spine.probe -> workers.workflows.pod_failure",
    ),
    "workers/workflows/probe/__init__.py": (
        "import workers.workflows.pod_failure",
        "workers.workflows.probe -> workers.workflows.pod_failure",
    ),
    "workers/integrations/probe.py": (
        "import workers.runner.jobs",
        "workers.integrations.probe -> workers.runner.jobs",
    ),
    # A module directly under workers/ that no layer names (the layers contract is exhaustive).
    "workers/probe.py": ("import workers.errors", "- workers.probe\n"),
    "receiver/probe_cycle_a.py": ("import receiver.probe_cycle_b", "No cycles are allowed in receiver."),
    "receiver/probe_cycle_b.py": ("import receiver.probe_cycle_a", "No cycles are allowed in receiver."),
}


def _copy_sources(target: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            target / package,
            ignore=lambda folder, names: [
                name for name in names if not name.endswith(".py") and not Path(folder, name).is_dir()
            ],
        )


def test_the_contracts_catch_nested_imports_a_new_workflow_and_cycles(tmp_path: Path) -> None:
    _copy_sources(tmp_path)
    for relative, (statement, _) in PROBES.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'"""A probe."""\n\n\ndef probe() -> None:\n    {statement}\n', encoding="utf-8")

    result = lint_imports(tmp_path)

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    missing = [expected for _, expected in PROBES.values() if expected not in output]
    assert not missing, output


def _service_sources() -> list[Path]:
    return [path for package in SERVICE for path in sorted((ROOT / package).rglob("*.py"))]


def test_only_settings_reads_the_environment() -> None:
    offenders = []
    for path in _service_sources():
        if path.relative_to(ROOT).as_posix() == "workers/settings.py":
            continue
        text = path.read_text(encoding="utf-8")
        if "os.environ" in text or "os.getenv" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders


# Calls that take what to import or to run by name: a string there is an import no contract sees.
BY_NAME = {"import_module", "__import__", "enqueue", "enqueue_call", "enqueue_in", "enqueue_at", "create"}


def _named_target(call: ast.Call) -> str | None:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name not in BY_NAME:
        return None
    candidates = call.args[:1] + [keyword.value for keyword in call.keywords if keyword.arg == "func"]
    for node in candidates:
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.split(".")[0] in PACKAGES
        ):
            return node.value
    return None


def test_no_module_or_job_of_ours_is_named_by_a_string() -> None:
    offenders = []
    for path in _service_sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and (target := _named_target(node)):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} names {target!r}")
    assert not offenders, offenders
