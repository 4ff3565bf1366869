"""``aiops sandbox serve``: the one verb besides ``aiops demo`` that may import ``sandbox``.

Kept out of cli.py so the import contract's exception names this module alone; cli.py imports it
only when the verb runs, so an install without the sandbox still runs every other verb.
"""

from __future__ import annotations

from pathlib import Path

from sandbox.server import serve


def serve_sandbox(directory: Path, port: int, kubeconfig_out: Path | None) -> int:
    serve(directory, port, kubeconfig_out)
    return 0
