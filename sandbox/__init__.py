"""A simulated Kubernetes API server, served from a folder of manifests (tests and ``aiops demo`` only).

``SandboxCluster.from_dir(path).start()`` serves the scenario on 127.0.0.1; the official
``kubernetes`` client talks to it as to a real cluster. ``serve`` is the blocking entry point of
``aiops sandbox serve``. Both are imported lazily, so ``import sandbox`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SandboxCluster", "ScenarioError", "serve"]


def __getattr__(name: str) -> Any:
    if name in ("SandboxCluster", "serve"):
        from sandbox import server

        return getattr(server, name)
    if name == "ScenarioError":
        from sandbox.errors import ScenarioError

        return ScenarioError
    raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
