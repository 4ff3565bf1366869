"""Did the failure start with the current Deployment revision?

A rollback is only worth proposing when the failure began soon after the current revision rolled out
*and* that revision changed something that can break a container: its image, command, args or env. A
revision that only changed an annotation (``kubectl rollout restart``) does not count: rolling back to
it would restart the pods with the same images and the same configuration.

Reads ``evidence["owner"]``: ``revision``, ``rolled_out_at``, ``replicaset`` and ``revisions`` (entries
with ``revision``, ``replicaset``, ``images``, ``created``, and either ``env`` -- the env variable names
per container -- or the pod template's ``containers`` with ``name``, ``image``, ``command``, ``args``
and ``env``, which also shows changed values).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from workers.workflows.pod_failure.model import Citation

# A failure that begins this long after the rollout is not blamed on it.
REVISION_WINDOW = timedelta(hours=1)

# Waiting reasons that mean the container never started: the failure began when the pod was created.
NEVER_STARTED = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "ContainerCreating",
    }
)


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as an aware datetime, or None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def first_failure(evidence: dict[str, Any], container: dict[str, Any] | None) -> datetime | None:
    """The earliest sign of this failure: warning events of the pod, since when the pod is not Ready,
    the container's last termination, or the pod's start when the container never started at all."""
    candidates: list[datetime] = []
    pod_status = (evidence.get("pod") or {}).get("status") or {}
    for condition in pod_status.get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") != "True":
            parsed = parse_time(condition.get("lastTransitionTime"))
            if parsed is not None:
                candidates.append(parsed)
    for event in evidence.get("events") or []:
        if event.get("type") != "Warning" or not str(event.get("object", "Pod/")).startswith("Pod/"):
            continue
        stamp = event.get("firstTimestamp") or event.get("eventTime") or event.get("lastTimestamp")
        parsed = parse_time(stamp)
        if parsed is not None:
            candidates.append(parsed)
    if container is not None:
        terminated = container.get("lastTerminated") or {}
        parsed = parse_time(terminated.get("finishedAt"))
        if parsed is not None:
            candidates.append(parsed)
        waiting = container.get("waiting") or {}
        if waiting.get("reason") in NEVER_STARTED and not terminated:
            status = (evidence.get("pod") or {}).get("status") or {}
            metadata = (evidence.get("pod") or {}).get("metadata") or {}
            parsed = parse_time(status.get("startTime") or metadata.get("creationTimestamp"))
            if parsed is not None:
                candidates.append(parsed)
    return min(candidates) if candidates else None


def _env_map(container: dict[str, Any]) -> dict[str, str]:
    result = {}
    for item in container.get("env") or []:
        if "value" in item:
            result[item["name"]] = str(item["value"])
        else:
            result[item["name"]] = json.dumps(item.get("valueFrom"), sort_keys=True)
    return result


def template_changes(current: dict[str, Any], previous: dict[str, Any]) -> list[str]:
    """What the current revision changed in the containers, one line per change."""
    changes: list[str] = []
    now = {c["name"]: c for c in current.get("containers") or []}
    before = {c["name"]: c for c in previous.get("containers") or []}
    if now and before:
        for name, spec in now.items():
            old = before.get(name)
            if old is None:
                changes.append(f"container {name} added")
                continue
            if spec.get("image") != old.get("image"):
                changes.append(f"image of {name}: {old.get('image')} -> {spec.get('image')}")
            for field in ("command", "args"):
                if (spec.get(field) or []) != (old.get(field) or []):
                    changes.append(f"{field} of {name}: {old.get(field) or []} -> {spec.get(field) or []}")
            env_now, env_old = _env_map(spec), _env_map(old)
            removed = sorted(set(env_old) - set(env_now))
            added = sorted(set(env_now) - set(env_old))
            altered = sorted(key for key in set(env_now) & set(env_old) if env_now[key] != env_old[key])
            if removed or added or altered:
                parts = [
                    f"{label} {', '.join(keys)}"
                    for label, keys in (("removed", removed), ("added", added), ("changed", altered))
                    if keys
                ]
                changes.append(f"env of {name}: {'; '.join(parts)}")
        changes.extend(f"container {name} removed" for name in before if name not in now)
        return changes
    images_now, images_before = list(current.get("images") or []), list(previous.get("images") or [])
    if images_now != images_before:
        changes.append(f"images: {', '.join(images_before)} -> {', '.join(images_now)}")
    names_now, names_before = current.get("env"), previous.get("env")
    if isinstance(names_now, dict) and isinstance(names_before, dict):  # env variable names per container
        for name in sorted(set(names_now) | set(names_before)):
            removed = sorted(set(names_before.get(name) or []) - set(names_now.get(name) or []))
            added = sorted(set(names_now.get(name) or []) - set(names_before.get(name) or []))
            parts = [
                f"{label} {', '.join(keys)}"
                for label, keys in (("removed", removed), ("added", added))
                if keys
            ]
            if parts:
                changes.append(f"env of {name}: {'; '.join(parts)}")
    return changes


def check_revision(
    evidence: dict[str, Any], container: dict[str, Any] | None
) -> tuple[bool, dict[str, Any] | None, list[Citation]]:
    """Return (started_with_revision, details, citations) for the failing container."""
    owner = evidence.get("owner") or {}
    current_number = owner.get("revision")
    if not owner.get("deployment") or current_number is None:
        return False, None, []
    current_number = int(current_number)
    revisions = {
        int(entry["revision"]): entry for entry in owner.get("revisions") or [] if "revision" in entry
    }
    current = revisions.get(current_number, {})
    older = [number for number in revisions if number < current_number]
    previous_number = max(older) if older else None
    previous = revisions.get(previous_number, {}) if previous_number is not None else {}
    rolled_out = parse_time(owner.get("rolled_out_at") or current.get("created"))
    failed = first_failure(evidence, container)
    changes = template_changes(current, previous) if previous else []
    current_rs = current.get("replicaset")
    pod_in_current = not current_rs or not owner.get("replicaset") or owner.get("replicaset") == current_rs
    details: dict[str, Any] = {
        "deployment": owner.get("deployment"),
        "current": current_number,
        "previous": previous_number,
        "rolled_out_at": rolled_out.isoformat().replace("+00:00", "Z") if rolled_out else None,
        "first_failure": failed.isoformat().replace("+00:00", "Z") if failed else None,
        "changes": changes,
        "pod_in_current_revision": pod_in_current,
    }
    in_window = bool(rolled_out and failed and rolled_out <= failed <= rolled_out + REVISION_WINDOW)
    started = bool(previous_number is not None and pod_in_current and in_window and changes)
    if not started:
        return False, details, []
    assert rolled_out is not None and failed is not None
    delay = int((failed - rolled_out).total_seconds())
    text = (
        f"revision {current_number} of deployment {owner.get('deployment')} rolled out at "
        f"{details['rolled_out_at']}; first failure {delay}s later; it changed " + "; ".join(changes)
    )
    return True, details, [Citation("owner.revisions", text)]
