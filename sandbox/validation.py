"""Validation of every object the sandbox stores: the Kubernetes JSON schema, then semantic checks.

The schema comes from kubernetes-validate (strict: unknown fields are errors, which is stricter than
a real API server's default of dropping them with a warning). The semantic checks are the subset of
the API server's validation that remediation actions can trip: names, selectors that must match
template labels, quantities, and requests that exceed limits.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate.utils as kv
from referencing import Registry, Resource

from sandbox.resources import KUBERNETES_VERSION, ResourceType
from sandbox.selectors import selector_matches
from sandbox.units import parse_quantity

Cause = tuple[str, str]

_SCHEMA_DIR = f"kubernetes-json-schema/v{KUBERNETES_VERSION}.0-local-strict"
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_WORKLOADS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"}
_PATH_NAMED = {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}


@cache
def _registry() -> Registry:
    definitions = kv.schema_contents(f"{_SCHEMA_DIR}/_definitions.json", KUBERNETES_VERSION)
    return Resource.from_contents(definitions) @ Registry()


@cache
def _validator(kind: str, api_version: str) -> jsonschema.Validator:
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = kv.schema_contents(f"{_SCHEMA_DIR}/{kind.lower()}-{group_version}.json", KUBERNETES_VERSION)
    registry = Resource.from_contents(schema) @ _registry()
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def field_path(parts: list[Any] | tuple[Any, ...]) -> str:
    """``["spec", "containers", 0, "image"]`` -> ``spec.containers[0].image``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _schema_causes(error: jsonschema.ValidationError) -> list[Cause]:
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        declared = set(error.schema.get("properties", {}))
        return [
            (field_path([*path, extra]), f'unknown field "{field_path([*path, extra])}"')
            for extra in sorted(set(error.instance) - declared)
        ]
    if error.validator == "required" and isinstance(error.validator_value, list):
        missing = [name for name in error.validator_value if name not in (error.instance or {})]
        return [(field_path([*path, name]), "Required value") for name in missing]
    return [(field_path(path), f"Invalid value: {error.instance!r}: {error.message}")]


def schema_causes(obj: dict[str, Any]) -> list[Cause]:
    """Every violation of the object's JSON schema, as ``(field, message)``."""
    validator = _validator(obj["kind"], obj["apiVersion"])
    causes: list[Cause] = []
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
        causes.extend(_schema_causes(error))
    return causes


def _quantity_causes(resources: dict[str, Any], prefix: str) -> list[Cause]:
    causes: list[Cause] = []
    parsed: dict[str, dict[str, float]] = {"limits": {}, "requests": {}}
    for section in ("limits", "requests"):
        for name, value in (resources.get(section) or {}).items():
            try:
                parsed[section][name] = parse_quantity(value)
            except ValueError:
                causes.append(
                    (
                        f"{prefix}.{section}[{name}]",
                        f"Invalid value: {value!r}: quantities must match the regular expression "
                        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                    )
                )
    for name, request in parsed["requests"].items():
        limit = parsed["limits"].get(name)
        if limit is not None and request > limit:
            value = resources["requests"][name]
            causes.append(
                (
                    f"{prefix}.requests[{name}]",
                    f"Invalid value: {value!r}: must be less than or equal to {name} limit of "
                    f"{resources['limits'][name]}",
                )
            )
    return causes


def _pod_spec_causes(spec: dict[str, Any], prefix: str) -> list[Cause]:
    causes: list[Cause] = []
    seen: set[str] = set()
    for section in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(section) or []):
            where = f"{prefix}.{section}[{i}]"
            name = container.get("name", "")
            if name and not _LABEL.match(name):
                causes.append(
                    (
                        f"{where}.name",
                        f"Invalid value: {name!r}: a lowercase RFC 1123 label "
                        "must consist of lower case alphanumeric characters or '-'",
                    )
                )
            if name in seen:
                causes.append((f"{where}.name", f"Duplicate value: {name!r}"))
            seen.add(name)
            if not container.get("image"):
                causes.append((f"{where}.image", "Required value"))
            causes.extend(_quantity_causes(container.get("resources") or {}, f"{where}.resources"))
    return causes


def _metadata_causes(obj: dict[str, Any], rtype: ResourceType) -> list[Cause]:
    metadata = obj.get("metadata") or {}
    name = metadata.get("name") or ""
    causes: list[Cause] = []
    if not name:
        causes.append(("metadata.name", "Required value: name or generateName is required"))
    elif rtype.kind in _PATH_NAMED:
        if "/" in name or "%" in name or name in (".", ".."):
            causes.append(("metadata.name", f"Invalid value: {name!r}: may not contain '/' or '%'"))
    elif len(name) > 253 or not _SUBDOMAIN.match(name):
        causes.append(
            (
                "metadata.name",
                f"Invalid value: {name!r}: a lowercase RFC 1123 subdomain must "
                "consist of lower case alphanumeric characters, '-' or '.', and must start and "
                "end with an alphanumeric character",
            )
        )
    for key, value in (metadata.get("labels") or {}).items():
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                (
                    f"metadata.labels[{key}]",
                    f"Invalid value: {value!r}: a valid label value "
                    "must be 63 characters or less and consist of alphanumerics, '-', '_' or '.'",
                )
            )
    return causes


def semantic_causes(obj: dict[str, Any], rtype: ResourceType) -> list[Cause]:
    """The API server's own checks beyond the schema (a subset; see the module docstring)."""
    causes = _metadata_causes(obj, rtype)
    spec = obj.get("spec") or {}
    if rtype.kind == "Pod":
        causes.extend(_pod_spec_causes(spec, "spec"))
    if rtype.kind in _WORKLOADS or rtype.kind == "Job":
        template = spec.get("template") or {}
        causes.extend(_pod_spec_causes(template.get("spec") or {}, "spec.template.spec"))
    if rtype.kind in _WORKLOADS:
        selector = spec.get("selector")
        labels = (spec.get("template") or {}).get("metadata", {}).get("labels") or {}
        if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
            causes.append(("spec.selector", "Required value"))
        elif not selector_matches(selector, labels):
            causes.append(
                (
                    "spec.template.metadata.labels",
                    f"Invalid value: {labels!r}: `selector` does not match template `labels`",
                )
            )
        if isinstance(spec.get("replicas"), int) and spec["replicas"] < 0:
            causes.append(("spec.replicas", "Invalid value: must be greater than or equal to 0"))
    return causes


def validate(obj: dict[str, Any], rtype: ResourceType) -> list[Cause]:
    """All problems with ``obj`` (empty when it is valid): schema first, then semantics."""
    causes = [] if rtype.custom else schema_causes(obj)  # a CRD's kind has no schema in kubernetes-validate
    return causes or semantic_causes(obj, rtype)
