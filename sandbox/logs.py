"""Pod logs: loaded from ``logs/<ns>/<pod>/<container>[.previous].log`` and served as plain text.

Pods the sandbox creates serve their outcome case's ``log`` as both the current and the previous
log. Missing logs fail the way the kubelet does (400 with "previous terminated container ... not
found"); ``tailLines``, ``limitBytes`` and ``timestamps`` are honoured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox import errors
from sandbox.podstatus import view
from sandbox.resources import of_kind
from sandbox.store import ObjectStore
from sandbox.units import rfc3339

_WAITING_NO_LOG = {"ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "ContainerCreating"}


def load_logs(directory: Path) -> dict[tuple[str, str, str, bool], str]:
    """Every log file under ``directory/logs``, keyed by (namespace, pod, container, previous)."""
    logs: dict[tuple[str, str, str, bool], str] = {}
    root = directory / "logs"
    if not root.is_dir():
        return logs
    for path in sorted(root.glob("*/*/*.log")):
        namespace, pod = path.parent.parent.name, path.parent.name
        previous = path.name.endswith(".previous.log")
        container = path.name.removesuffix(".log").removesuffix(".previous")
        logs[(namespace, pod, container, previous)] = path.read_text(errors="replace")
    return logs


def _pick_container(pod: dict[str, Any], query: dict[str, str]) -> str:
    spec, name = pod.get("spec") or {}, pod["metadata"]["name"]
    names = [c["name"] for c in spec.get("containers") or []]
    every = names + [c["name"] for c in spec.get("initContainers") or []]
    container = query.get("container")
    if not container:
        if len(names) != 1:
            raise errors.BadRequest(
                f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
            )
        return str(names[0])
    if container not in every:
        raise errors.BadRequest(f"container {container} is not valid for pod {name}")
    return container


def _waiting_reason(store: ObjectStore, pod: dict[str, Any], container: str) -> str | None:
    status = view(store, of_kind("Pod"), pod).get("status") or {}
    for c in status.get("containerStatuses") or []:
        if c.get("name") == container:
            return ((c.get("state") or {}).get("waiting") or {}).get("reason")
    return None


def read_log(store: ObjectStore, pod: dict[str, Any], query: dict[str, str]) -> str:
    """The log text a ``GET .../pods/{name}/log`` returns."""
    meta = pod["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    container = _pick_container(pod, query)
    previous = query.get("previous", "").lower() == "true"
    text = store.logs.get((namespace, name, container, previous))
    behaviour = store.behaviours.get(meta.get("uid", ""))
    if text is None and behaviour is not None and behaviour.applies_to(container):
        if behaviour.log is not None and (not previous or behaviour.crashing):
            text = behaviour.log
        elif behaviour.crashing:
            text = ""
    if text is None:
        if previous:
            raise errors.BadRequest(f'previous terminated container "{container}" in pod "{name}" not found')
        reason = _waiting_reason(store, pod, container)
        if reason in _WAITING_NO_LOG:
            raise errors.BadRequest(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
        text = ""
    lines = text.splitlines(keepends=True)
    if query.get("tailLines"):
        tail = int(query["tailLines"])
        lines = lines[-tail:] if tail > 0 else []
    if query.get("timestamps", "").lower() == "true":
        stamp = rfc3339(store.clock.time()).replace("Z", ".000000000Z")
        lines = [f"{stamp} {line}" for line in lines]
    text = "".join(lines)
    if query.get("limitBytes"):
        text = text.encode()[: int(query["limitBytes"])].decode(errors="ignore")
    return text
