"""Paged lists: ``limit`` and ``continue`` served the way kube-apiserver serves them from etcd.

Objects come in key order (namespace, then name). A page with more after it carries an opaque
``metadata.continue`` token (base64 of ``{"v", "rv", "start"}`` like the real one, plus the time it
was issued) and, when the list has no selector, ``metadata.remainingItemCount``. Every page of one
list shows the store as it was at the first page's resourceVersion: objects written since are
rebuilt from the watch history (created ones left out, deleted ones kept, modified ones as they
were); pod status, computed from the clock, is as of each page. Only when the history no longer
holds an object's older version does a page show it as it is now.

A malformed token is ``400 BadRequest`` ("invalid continue token: ..."). A token whose snapshot is
gone is ``410 Gone`` with reason ``Expired``, with a fresh token in ``metadata.continue`` that
continues at the latest version, as after etcd compaction: tokens live 300 s of sandbox time
(kube-apiserver's default ``--etcd-compaction-interval``) and only while the store's history (the
one watches use) still reaches back to their resourceVersion.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox import errors
from sandbox.resources import ResourceType
from sandbox.store import Change, ObjectStore, clone

TOKEN_TTL_S = 300.0
"""How long a continue token stays valid, in sandbox seconds (etcd's compaction interval)."""
_VERSION = "meta.k8s.io/v1"
_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new "
    "list without the continue parameter, or use the continue token in this response to retrieve the "
    "remainder of the results. Continuing with the provided token results in an inconsistent list - "
    "objects that were created, modified, or deleted between the time the first chunk was returned and "
    "now may show up in the list."
)
Key = tuple[str, str]


@dataclass(frozen=True)
class Cursor:
    """What a continue token holds."""

    resource_version: int
    """The snapshot the list is served at; -1 continues at the latest version (after a 410)."""
    after: Key
    """The key of the last object already served."""
    issued: float
    """Sandbox time of the list's first page."""


class ContinueExpired(errors.Expired):
    """410 for a continue token whose snapshot is compacted; the Status carries a token to go on with."""

    def __init__(self, token: str) -> None:
        super().__init__(_EXPIRED)
        self.token = token

    def to_status(self) -> dict[str, Any]:
        status = super().to_status()
        status["metadata"] = {"continue": self.token}
        return status


def parse_limit(value: str | None) -> int:
    """The ``limit`` query parameter (0: no limit)."""
    if value in (None, ""):
        return 0
    try:
        limit = int(value)
    except ValueError as exc:
        raise errors.BadRequest(f'invalid value for "limit": {value!r} is not an integer') from exc
    return max(limit, 0)


def encode(cursor: Cursor) -> str:
    namespace, name = cursor.after
    start = f"{namespace}/{name}\x00" if namespace else f"{name}\x00"
    body = {"v": _VERSION, "rv": cursor.resource_version, "start": start, "issued": cursor.issued}
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


def _invalid(detail: str) -> errors.BadRequest:
    return errors.BadRequest(f"invalid continue token: continue key is not valid: {detail}")


def decode(token: str) -> Cursor:
    """The cursor in a continue token; 400 BadRequest when it is not one the sandbox issued."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise _invalid(str(exc)) from exc
    if not isinstance(data, dict) or data.get("v") != _VERSION:
        raise _invalid("server does not recognize this encoded version")
    rv, start, issued = data.get("rv"), data.get("start"), data.get("issued")
    if not isinstance(rv, int) or isinstance(rv, bool) or rv == 0 or rv < -1:
        raise _invalid(f"incorrect encoded start resourceVersion (version {_VERSION})")
    if not isinstance(start, str) or not start.strip("\x00"):
        raise _invalid(f"encoded start key empty (version {_VERSION})")
    if not isinstance(issued, int | float) or isinstance(issued, bool):
        raise _invalid("missing issue time")
    namespace, _, name = start.rstrip("\x00").rpartition("/")
    return Cursor(rv, (namespace, name), float(issued))


def check_fresh(cursor: Cursor, store: ObjectStore, now: float) -> None:
    """Raise 410 Expired when the cursor's snapshot can no longer be served."""
    if cursor.resource_version == -1:
        return
    if cursor.resource_version > int(store.resource_version):
        raise _invalid(f"incorrect encoded start resourceVersion (version {_VERSION})")
    compacted = cursor.resource_version < store.oldest_resource_version - 1
    if compacted or now - cursor.issued > TOKEN_TTL_S:
        raise ContinueExpired(encode(Cursor(-1, cursor.after, now)))


@dataclass
class Page:
    items: list[dict[str, Any]]
    more: bool
    remaining: int
    last_key: Key


def _as_of(
    store: ObjectStore, rtype: ResourceType, namespace: str | None, snapshot: int, after: Key | None
) -> dict[Key, dict[str, Any] | None]:
    """Objects written since ``snapshot``, as they were at it (None: they did not exist then)."""
    if snapshot >= int(store.resource_version):
        return {}
    history = store.changes_since(0, rtype.kind)
    before: dict[Key, Change] = {}
    since: dict[Key, Change] = {}
    for change in history:
        key = store.key(change.obj)
        if (namespace is not None and key[0] != namespace) or (after is not None and key <= after):
            continue
        if change.resource_version <= snapshot:
            before[key] = change
        else:
            since.setdefault(key, change)
    states: dict[Key, dict[str, Any] | None] = {}
    for key, first in since.items():
        old = before.get(key)
        if old is not None:
            states[key] = None if old.type == "DELETED" else clone(old.obj)
        elif first.type == "ADDED":
            states[key] = None
        elif first.type == "DELETED":
            states[key] = clone(first.obj)
        else:  # the older version is no longer in the history: show the object as it is now
            states[key] = store.get(rtype, *key)
    return states


def read_page(
    store: ObjectStore,
    rtype: ResourceType,
    namespace: str | None,
    snapshot: int,
    after: Key | None,
    limit: int,
    *,
    keep: Callable[[dict[str, Any]], bool],
    view: Callable[[dict[str, Any]], dict[str, Any]],
    keep_view: Callable[[dict[str, Any]], bool] | None = None,
) -> Page:
    """Up to ``limit`` objects (0: all) after ``after`` at ``snapshot``, viewed, with what follows them.

    ``keep`` filters stored objects; ``keep_view`` (pod field selectors) filters their views, which
    costs a copy and a view of every candidate, so it is left out when it is not needed.
    """
    changed = _as_of(store, rtype, namespace, snapshot, after)
    taken, following = 0, 0
    counting = keep_view is None and limit > 0

    def accept(obj: dict[str, Any]) -> bool:
        nonlocal taken, following
        key = store.key(obj)
        if (after is not None and key <= after) or key in changed or not keep(obj):
            return False
        if not counting or taken < limit:
            taken += 1
            return True
        following += 1
        return False

    found = store.items(rtype, namespace, keep=accept)
    found += [obj for obj in changed.values() if obj is not None and keep(obj)]
    found.sort(key=store.key)
    views = (
        [view(obj) for obj in found] if keep_view is None else [v for v in map(view, found) if keep_view(v)]
    )
    total = len(views) + following
    items = views[:limit] if limit > 0 else views
    more = len(items) < total
    last = store.key(items[-1]) if items else (after or ("", ""))
    return Page(items, more, total - len(items), last)
