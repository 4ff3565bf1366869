"""The three PATCH formats of the Kubernetes API, applied to plain dicts.

- JSON merge patch (RFC 7386, ``application/merge-patch+json``): maps merge, lists replace.
- JSON patch (RFC 6902, ``application/json-patch+json``): a list of operations.
- Strategic merge patch (``application/strategic-merge-patch+json``): like merge patch, but lists
  that Kubernetes declares ``patchStrategy: merge`` merge by their key (containers by ``name``,
  volumeMounts by ``mountPath``, ...), with the ``$patch``, ``$setElementOrder``,
  ``$deleteFromPrimitiveList`` and ``$retainKeys`` directives.
"""

from __future__ import annotations

from typing import Any

from sandbox.errors import Invalid
from sandbox.store import clone

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# Field-name suffixes of lists with patchStrategy "merge" -> their patchMergeKey. The longest
# suffix wins, so container ports merge by containerPort and Service ports by port.
_MERGE_KEYS: dict[tuple[str, ...], str] = {
    ("containers",): "name",
    ("initContainers",): "name",
    ("ephemeralContainers",): "name",
    ("env",): "name",
    ("volumes",): "name",
    ("volumeMounts",): "mountPath",
    ("volumeDevices",): "devicePath",
    ("imagePullSecrets",): "name",
    ("hostAliases",): "ip",
    ("resourceClaims",): "name",
    ("topologySpreadConstraints",): "topologyKey",
    ("conditions",): "type",
    ("ownerReferences",): "uid",
    ("containers", "ports"): "containerPort",
    ("initContainers", "ports"): "containerPort",
    ("ephemeralContainers", "ports"): "containerPort",
    ("spec", "ports"): "port",
    ("status", "addresses"): "type",
    ("status", "images"): "names",
}
# Lists of scalars that merge as sets instead of being replaced.
_MERGE_SETS = {("metadata", "finalizers"), ("spec", "finalizers")}


class PatchError(Invalid):
    """A patch cannot be applied; reported as 422 Invalid, as the API server does."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: return ``target`` with ``patch`` merged in (``null`` deletes a key)."""
    if not isinstance(patch, dict):
        return clone(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], path: str) -> Any:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PatchError(f"doc is missing path: {path!r}")
    return node


def _index(node: list[Any], part: str, path: str, adding: bool) -> int:
    if adding and part == "-":
        return len(node)
    if not part.isdigit() or int(part) > len(node) or (not adding and int(part) == len(node)):
        raise PatchError(f"unable to access invalid index {part!r} in path {path!r}")
    return int(part)


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent, last = _parent(doc, parts, path), parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, path, adding=False)]
    raise PatchError(f"doc is missing path: {path!r}")


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    parent, last = _parent(doc, parts, path), parts[-1] if parts else ""
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, path, adding=False))
    raise PatchError(f"unable to remove nonexistent key: {last}: missing value")


def _add(doc: Any, path: str, value: Any, replace: bool = False) -> Any:
    parts = _pointer(path)
    if not parts:
        return clone(value)
    parent, last = _parent(doc, parts, path), parts[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError(f"replace operation does not apply: doc is missing key: {path}")
        parent[last] = clone(value)
    elif isinstance(parent, list):
        if replace:
            parent[_index(parent, last, path, adding=False)] = clone(value)
        else:
            parent.insert(_index(parent, last, path, adding=True), clone(value))
    else:
        raise PatchError(f"doc is missing path: {path!r}")
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902: apply ``operations`` in order to a copy of ``target``; any failure applies none."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = clone(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid JSON patch operation: {op!r}")
        name, path = op["op"], op["path"]
        if name in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"missing value for {name} operation on {path!r}")
        if name == "add":
            doc = _add(doc, path, op["value"])
        elif name == "remove":
            _remove(doc, path)
        elif name == "replace":
            doc = _add(doc, path, op["value"], replace=True)
        elif name in ("move", "copy"):
            if "from" not in op:
                raise PatchError(f"missing from for {name} operation on {path!r}")
            value = _remove(doc, op["from"]) if name == "move" else clone(_get(doc, op["from"]))
            doc = _add(doc, path, value)
        elif name == "test":
            if _get(doc, path) != op["value"]:
                raise PatchError(f"testing value {path} failed: test operation for path {path} failed")
        else:
            raise PatchError(f"unexpected JSON patch operation {name!r}")
    return doc


def _merge_key(path: tuple[str, ...]) -> str | None:
    for length in (2, 1):
        key = _MERGE_KEYS.get(path[-length:]) if len(path) >= length else None
        if key:
            return key
    return None


def _ordered(items: list[Any], order: list[Any], key: str | None) -> list[Any]:
    """Sort ``items`` by their position in a ``$setElementOrder`` list; unlisted items go last."""
    ident = [o.get(key) if key and isinstance(o, dict) else o for o in order]
    rank = {repr(v): i for i, v in enumerate(ident)}

    def position(item: Any) -> int:
        value = item.get(key) if key and isinstance(item, dict) else item
        return rank.get(repr(value), len(rank))

    return sorted(items, key=position)


def _merge_list(original: list[Any], patch: list[Any], path: tuple[str, ...]) -> list[Any]:
    key = _merge_key(path)
    if any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
        return [p for p in patch if not (isinstance(p, dict) and "$patch" in p)]
    if path[-2:] in _MERGE_SETS:
        return list(dict.fromkeys([*original, *patch]))
    if key is None:
        return [p for p in patch if not (isinstance(p, dict) and p.get("$patch"))]
    result = [clone(o) for o in original]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise PatchError(f"map: {item!r} does not contain declared merge key: {key}")
        position = next((i for i, o in enumerate(result) if o.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if position is not None:
                result.pop(position)
        elif position is None:
            result.append(_strip_directives(item))
        else:
            result[position] = _merge_map(result[position], item, path)
    return result


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def _merge_map(original: dict[str, Any], patch: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    directive = patch.get("$patch")
    if directive == "replace":
        replaced: dict[str, Any] = _strip_directives(patch)
        return replaced
    if directive == "delete":
        return {}
    result: dict[str, Any] = clone(original)
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
        elif key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in value]
        elif key.startswith("$"):
            continue
        elif value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            existing = result.get(key)
            merged = _merge_map(existing if isinstance(existing, dict) else {}, value, (*path, key))
            if value.get("$patch") == "delete":
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            existing = result.get(key)
            result[key] = _merge_list(existing if isinstance(existing, list) else [], value, (*path, key))
        else:
            result[key] = value
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _ordered(result[field], order, _merge_key((*path, field)))
    if "$retainKeys" in patch:
        keep = set(patch["$retainKeys"])
        result = {k: v for k, v in result.items() if k in keep}
    return result


def strategic_merge_patch(target: dict[str, Any], patch: Any) -> dict[str, Any]:
    """Apply a strategic merge patch to a copy of ``target`` (a whole object)."""
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be a JSON object")
    return _merge_map(target, patch, ())


def apply(content_type: str, target: dict[str, Any], patch: Any) -> dict[str, Any]:
    """Apply ``patch`` of the given content type to ``target``; returns the patched copy."""
    if content_type == JSON_PATCH:
        result = json_patch(target, patch)
    elif content_type == MERGE_PATCH:
        if not isinstance(patch, dict):
            raise PatchError("a merge patch must be a JSON object")
        result = merge_patch(target, patch)
    else:
        result = strategic_merge_patch(target, patch)
    if not isinstance(result, dict):
        raise PatchError("the patched document is not an object")
    return result
