"""The write verbs of the API: create, replace, patch, delete, and the status and scale subresources.

Every write is normalised, defaulted and validated before it is stored; ``dryRun=All`` runs all of
that and returns the would-be object without storing it. Controllers run after each stored write.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from sandbox import errors, patching, podstatus
from sandbox.defaults import apply_defaults
from sandbox.host import ControllerHost
from sandbox.resources import ResourceType, of_kind
from sandbox.rollouts import HASH_LABEL
from sandbox.selectors import selector_string
from sandbox.store import ObjectStore, clone
from sandbox.units import normalize, rfc3339
from sandbox.validation import validate

NAMESPACE = of_kind("Namespace")
_SELECTOR_IMMUTABLE = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"}


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise errors.BadRequest(f"error decoding request body: {exc}") from exc


def _qualified(rtype: ResourceType) -> str:
    return f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural


class Writer:
    """Applies validated writes to the store and runs the controllers after them."""

    def __init__(self, store: ObjectStore, controllers: ControllerHost) -> None:
        self.store = store
        self.controllers = controllers

    def _check(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        causes = validate(obj, rtype)
        if causes:
            group = rtype.group
            raise errors.Invalid.for_object(rtype.kind, group, obj["metadata"].get("name", ""), causes)

    def _fresh(self, rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        current = self.store.get(rtype, *self.store.key(obj)) or obj
        return podstatus.view(self.store, rtype, current)

    def create(self, rtype: ResourceType, namespace: str | None, body: Any, dry_run: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errors.BadRequest("the body of a create must be a JSON object")
        obj: dict[str, Any] = normalize(body)
        if (
            obj.get("apiVersion", rtype.api_version) != rtype.api_version
            or obj.get("kind", rtype.kind) != rtype.kind
        ):
            raise errors.BadRequest(
                f"the API version in the data ({obj.get('apiVersion')}) does not match the expected API "
                f"version ({rtype.api_version})"
            )
        meta = obj.setdefault("metadata", {})
        for server_set in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation"):
            meta.pop(server_set, None)
        if rtype.namespaced:
            if meta.get("namespace", namespace) != namespace:
                raise errors.BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
            if self.store.get(NAMESPACE, "", namespace or "") is None:
                raise errors.not_found("namespaces", "", namespace or "")
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(
                self.controllers.rng.choices("bcdfghjklmnpqrstvwxz2456789", k=5)
            )
        if meta.get("name") and self.store.get(rtype, namespace or "", meta["name"]) is not None:
            raise errors.AlreadyExists(
                f'{_qualified(rtype)} "{meta["name"]}" already exists',
                {"name": meta["name"], "group": rtype.group, "kind": rtype.plural},
            )
        if rtype.kind == "Pod":
            obj = self.controllers.admit_pod(obj)
        obj = apply_defaults(rtype, self.store.stamp(obj, rtype))
        self._check(rtype, obj)
        if dry_run:
            return podstatus.view(self.store, rtype, obj)
        stored = self.store.create(rtype, obj)
        self.controllers.created(rtype, stored)
        return self._fresh(rtype, stored)

    def _existing(self, rtype: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        old = self.store.get(rtype, namespace or "", name)
        if old is None:
            raise errors.not_found(rtype.plural, rtype.group, name)
        return old

    def _conflict(self, rtype: ResourceType, name: str) -> errors.Conflict:
        return errors.Conflict(
            f'Operation cannot be fulfilled on {_qualified(rtype)} "{name}": the object has been modified; '
            "please apply your changes to the latest version and try again",
            {"name": name, "group": rtype.group, "kind": rtype.plural},
        )

    def _update(
        self, rtype: ResourceType, old: dict[str, Any], new: dict[str, Any], sub: str | None, dry_run: bool
    ) -> dict[str, Any]:
        new = normalize(new)
        wanted_rv = (new.get("metadata") or {}).get("resourceVersion")
        if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
            raise self._conflict(rtype, old["metadata"]["name"])
        if sub == "status":
            new = {**clone(old), "status": new.get("status")}
        new["apiVersion"], new["kind"] = rtype.api_version, rtype.kind
        meta = new.setdefault("metadata", {})
        for fixed in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "generation"):
            if fixed in old["metadata"]:
                meta[fixed] = old["metadata"][fixed]
            else:
                meta.pop(fixed, None)
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if rtype.has_status and sub != "status":
            new.pop("status", None)
            if "status" in old:
                new["status"] = old["status"]
        new = apply_defaults(rtype, new)
        if rtype.has_generation and new.get("spec") != old.get("spec"):
            meta["generation"] = old["metadata"].get("generation", 1) + 1
        self._check(rtype, new)
        if rtype.kind in _SELECTOR_IMMUTABLE and (new.get("spec") or {}).get("selector") != (
            old.get("spec") or {}
        ).get("selector"):
            raise errors.Invalid.for_object(rtype.kind, rtype.group, meta["name"], [
                ("spec.selector", f"Invalid value: {new['spec'].get('selector')!r}: field is immutable")
            ])  # fmt: skip
        if new == old or dry_run:
            return podstatus.view(self.store, rtype, new)
        stored = self.store.update(rtype, new)
        self.controllers.updated(rtype, old, stored)
        return self._fresh(rtype, stored)

    def replace(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        sub: str | None,
        dry_run: bool,
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errors.BadRequest("the body of an update must be a JSON object")
        body_name = (body.get("metadata") or {}).get("name")
        if body_name != name:
            raise errors.BadRequest(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        old = self._existing(rtype, namespace, name)
        if sub == "scale":
            return self._scale(rtype, old, body, dry_run)
        return self._update(rtype, old, body, sub, dry_run)

    def patch(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        content_type: str,
        body: bytes,
        *,
        sub: str | None,
        dry_run: bool,
    ) -> tuple[int, dict[str, Any]]:
        """Returns (HTTP status, object): 201 when an apply patch created the object."""
        if content_type == patching.APPLY_PATCH:
            try:
                patch = yaml.safe_load(body or b"{}")
            except yaml.YAMLError as exc:
                raise errors.BadRequest(f"error decoding YAML: {exc}") from exc
            if self.store.get(rtype, namespace or "", name) is None:
                return 201, self.create(rtype, namespace, patch, dry_run)
            content_type = patching.STRATEGIC_MERGE_PATCH
        elif content_type in (patching.JSON_PATCH, patching.MERGE_PATCH, patching.STRATEGIC_MERGE_PATCH):
            patch = parse_json(body)
        else:
            raise errors.UnsupportedMediaType(
                f"the body of the request was in an unknown format - accepted media types include: "
                f"{patching.JSON_PATCH}, {patching.MERGE_PATCH}, {patching.APPLY_PATCH}, "
                f"{patching.STRATEGIC_MERGE_PATCH}"
            )
        old = self._existing(rtype, namespace, name)
        if sub == "scale":
            return 200, self._scale(
                rtype, old, patching.apply(content_type, self.scale_of(rtype, old), patch), dry_run
            )
        current = podstatus.view(self.store, rtype, clone(old))
        return 200, self._update(rtype, old, patching.apply(content_type, current, patch), sub, dry_run)

    def scale_of(self, rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """The ``autoscaling/v1`` Scale view of a workload."""
        meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
        selector = dict(spec.get("selector") or {})
        if rtype.kind == "Deployment":
            selector.get("matchLabels", {}).pop(HASH_LABEL, None)
        return {
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {
                k: meta[k]
                for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if k in meta
            },
            "spec": {"replicas": spec.get("replicas", 1)},
            "status": {"replicas": status.get("replicas", 0), "selector": selector_string(selector)},
        }

    def _scale(self, rtype: ResourceType, old: dict[str, Any], scale: Any, dry_run: bool) -> dict[str, Any]:
        replicas = ((scale or {}).get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.Invalid.for_object("Scale", "autoscaling", old["metadata"]["name"], [
                ("spec.replicas", f"Invalid value: {replicas!r}: must be greater than or equal to 0")
            ])  # fmt: skip
        new = clone(old)
        new["spec"]["replicas"] = replicas
        new["metadata"]["resourceVersion"] = (scale.get("metadata") or {}).get("resourceVersion")
        return self.scale_of(rtype, self._update(rtype, old, new, None, dry_run))

    def delete(
        self, rtype: ResourceType, namespace: str | None, name: str, options: dict[str, Any], dry_run: bool
    ) -> dict[str, Any]:
        old = self._existing(rtype, namespace, name)
        preconditions = options.get("preconditions") or {}
        for field in ("uid", "resourceVersion"):
            if preconditions.get(field) and preconditions[field] != old["metadata"].get(field):
                raise errors.Conflict(
                    f"Precondition failed: {field.upper() if field == 'uid' else field} in precondition: "
                    f"{preconditions[field]}, {field} in object meta: {old['metadata'].get(field)}",
                    {"name": name, "group": rtype.group, "kind": rtype.plural},
                )
        grace = options.get("gracePeriodSeconds")
        if grace is None:
            grace = (
                (old.get("spec") or {}).get("terminationGracePeriodSeconds", 30) if rtype.kind == "Pod" else 0
            )
        gone = podstatus.view(self.store, rtype, clone(old))
        if rtype.kind in ("Pod", "Namespace"):
            gone["metadata"]["deletionTimestamp"] = rfc3339(self.store.clock.time() + int(grace))
            gone["metadata"]["deletionGracePeriodSeconds"] = int(grace)
            if rtype.kind == "Namespace":
                gone["status"] = {"phase": "Terminating"}
        if not dry_run:
            self.store.delete(rtype, namespace or "", name)
            self.controllers.deleted(rtype, old, options.get("propagationPolicy"))
        if rtype.kind in ("Pod", "Namespace"):
            return gone
        return errors.success_status(rtype.plural, rtype.group, name, old["metadata"]["uid"])
