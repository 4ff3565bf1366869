"""Routing, authentication and the read verbs (get, list, watch, pod logs) of the sandbox API.

``Api.handle`` takes a transport-free ``Request`` and returns a ``Response`` whose body is a dict
(JSON), a str (plain text) or an iterator of byte lines (a watch stream); the HTTP layer in
``server.py`` only moves bytes. Every failure becomes a Kubernetes ``Status`` object.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox import errors, paging, podstatus
from sandbox.controllers import Controllers
from sandbox.logs import read_log
from sandbox.resources import ResourceType, by_path, discovery_document, version_info
from sandbox.selectors import field_matcher, label_matcher
from sandbox.store import ObjectStore
from sandbox.tables import table, wants_table
from sandbox.writes import Writer, parse_json

log = logging.getLogger(__name__)

# Fixed, documented tokens of a loopback test server: not secrets.
ADMIN_TOKEN = "sandbox-admin"  # noqa: S105
READONLY_TOKEN = "sandbox-readonly"  # noqa: S105
TOKENS = {ADMIN_TOKEN: "admin", READONLY_TOKEN: "readonly"}
"""Bearer token -> role. ``admin`` may do everything; ``readonly`` may get, list and watch."""
READ_ONLY_HIDDEN = {"secrets"}
"""Like the built-in ``view`` ClusterRole, the read-only role cannot read Secrets."""
DEFAULT_WATCH_TIMEOUT = 1800


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    """Header names in lower case."""
    body: bytes = b""


@dataclass
class Response:
    status: int
    body: Any
    content_type: str = "application/json"


@dataclass
class Target:
    """A parsed resource URL."""

    rtype: ResourceType
    namespace: str | None
    name: str | None
    sub: str | None


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


class Api:
    """The sandbox's Kubernetes API, independent of the HTTP server that carries it."""

    def __init__(
        self,
        store: ObjectStore,
        controllers: Controllers,
        server_address: Callable[[], str],
        metrics: Callable[[], str],
    ) -> None:
        self.store = store
        self.controllers = controllers
        self.writer = Writer(store, controllers)
        self.server_address = server_address
        self.metrics = metrics

    def handle(self, req: Request) -> Response:
        try:
            return self._handle(req)
        except errors.ApiError as exc:
            return Response(exc.code, exc.to_status())
        except Exception as exc:  # a sandbox bug: answer like an API server would, and say where
            log.exception("sandbox API error on %s %s", req.method, req.path)
            failure = errors.ApiError(f"sandbox internal error: {type(exc).__name__}: {exc}")
            return Response(failure.code, failure.to_status())

    def _handle(self, req: Request) -> Response:
        path = "/" + req.path.strip("/")
        with self.store.lock:  # controllers driven by the clock catch up before anyone looks
            self.controllers.sync()
        if path == "/metrics":
            return Response(200, self.metrics(), "text/plain; version=0.0.4; charset=utf-8")
        if path in ("/healthz", "/readyz", "/livez"):
            return Response(200, "ok", "text/plain; charset=utf-8")
        if path == "/version":
            return Response(200, version_info())
        role = self._authenticate(req)
        doc = discovery_document(path, self.server_address())
        if doc is not None:
            return Response(200, doc)
        target = self._route(path)
        verb = self._verb(req, target)
        self._authorize(role, verb, target)
        return self._dispatch(req, target, verb)

    @staticmethod
    def _authenticate(req: Request) -> str:
        header = req.headers.get("authorization") or ""
        scheme, _, token = header.partition(" ")
        role = TOKENS.get(token.strip()) if scheme.lower() == "bearer" else None
        if role is None:
            raise errors.Unauthorized("Unauthorized")
        return role

    @staticmethod
    def _route(path: str) -> Target:
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) > 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) > 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise errors.NotFound("the server could not find the requested resource")
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        rtype = by_path(group, version, rest[0])
        if rtype is None or len(rest) > 3 or (namespace is not None and not rtype.namespaced):
            raise errors.NotFound("the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if (rtype.namespaced and name is not None and namespace is None) or (
            sub is not None and sub not in rtype.subresources
        ):
            raise errors.NotFound("the server could not find the requested resource")
        return Target(rtype, namespace, name, sub)

    @staticmethod
    def _verb(req: Request, target: Target) -> str:
        method = req.method.upper()
        if method == "GET":
            if target.name is None:
                return "watch" if _truthy(req.query.get("watch")) else "list"
            return "get"
        verbs = {
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete" if target.name else "deletecollection",
        }
        if method not in verbs or (method == "POST") != (target.name is None):
            raise errors.MethodNotAllowed("the server does not allow this method on the requested resource")
        return verbs[method]

    @staticmethod
    def _authorize(role: str, verb: str, target: Target) -> None:
        rtype = target.rtype
        read = verb in ("get", "list", "watch")
        if role == "admin" or (read and rtype.plural not in READ_ONLY_HIDDEN):
            return
        resource = f"{rtype.plural}/{target.sub}" if target.sub else rtype.plural
        subject = f'{rtype.plural} "{target.name}"' if target.name else rtype.plural
        where = f'in the namespace "{target.namespace}"' if target.namespace else "at the cluster scope"
        raise errors.Forbidden(
            f'{subject} is forbidden: User "{READONLY_TOKEN}" cannot {verb} resource "{resource}" '
            f'in API group "{rtype.group}" {where}',
            {"name": target.name or "", "group": rtype.group, "kind": rtype.plural},
        )

    def _dispatch(self, req: Request, target: Target, verb: str) -> Response:
        rtype, ns, name, sub = target.rtype, target.namespace, target.name, target.sub
        dry_run = req.query.get("dryRun") == "All"
        with self.store.lock:
            as_table = wants_table(req.headers.get("accept", ""))
            if verb == "list":
                found = self.list_objects(rtype, ns, req.query)
                if as_table:
                    version = found["metadata"]["resourceVersion"]
                    return Response(200, table(rtype.kind, found["items"], version, self.store.clock.time()))
                return Response(200, found)
            if verb == "watch":
                return Response(200, self.watch(rtype, ns, req.query))
            if verb == "create":
                return Response(201, self.writer.create(rtype, ns, parse_json(req.body), dry_run))
            if verb == "deletecollection":
                return Response(200, self._delete_collection(rtype, ns, req.query, dry_run))
            assert name is not None
            if verb == "get":
                response = self._get(rtype, ns, name, sub, req.query)
                if as_table and sub is None:
                    version = self.store.resource_version
                    return Response(200, table(rtype.kind, [response.body], version, self.store.clock.time()))
                return response
            if verb == "update":
                return Response(
                    200, self.writer.replace(rtype, ns, name, parse_json(req.body), sub=sub, dry_run=dry_run)
                )
            if verb == "patch":
                content_type = (req.headers.get("content-type") or "").split(";")[0].strip().lower()
                status, obj = self.writer.patch(
                    rtype, ns, name, content_type, req.body, sub=sub, dry_run=dry_run
                )
                return Response(status, obj)
            options = parse_json(req.body) if req.body.strip() else {}
            options = options if isinstance(options, dict) else {}
            for key in ("propagationPolicy", "gracePeriodSeconds"):
                if key in req.query:
                    options[key] = int(req.query[key]) if key == "gracePeriodSeconds" else req.query[key]
            dry_run = dry_run or "All" in (options.get("dryRun") or [])
            return Response(200, self.writer.delete(rtype, ns, name, options, dry_run))

    def _get(
        self, rtype: ResourceType, ns: str | None, name: str, sub: str | None, query: dict[str, str]
    ) -> Response:
        obj = self.store.get(rtype, ns or "", name)
        if obj is None:
            raise errors.not_found(rtype.plural, rtype.group, name)
        if sub == "log":
            return Response(200, read_log(self.store, obj, query), "text/plain")
        if sub == "scale":
            return Response(200, self.writer.scale_of(rtype, obj))
        return Response(200, podstatus.view(self.store, rtype, obj))

    def _select(self, rtype: ResourceType, ns: str | None, query: dict[str, str]) -> list[dict[str, Any]]:
        labels = label_matcher(query.get("labelSelector"))
        fields = field_matcher(query.get("fieldSelector"), rtype.kind)
        if rtype.kind != "Pod":  # selectors never look at what the view computes for other kinds
            kept = self.store.items(rtype, ns, keep=lambda obj: bool(labels(obj) and fields(obj)))
            return [podstatus.view(self.store, rtype, obj) for obj in kept]
        # A pod's labels are stored as given (only its status is computed): select on them before the
        # view is rendered, which is most of a list's cost in a namespace of thousands of pods.
        kept = self.store.items(rtype, ns, keep=lambda obj: bool(labels(obj)))
        items = [podstatus.view(self.store, rtype, obj) for obj in kept]
        return [obj for obj in items if fields(obj)]

    def list_objects(self, rtype: ResourceType, ns: str | None, query: dict[str, str]) -> dict[str, Any]:
        """A ``{Kind}List`` of the matching objects, or one page of it (see ``sandbox.paging``)."""
        limit = paging.parse_limit(query.get("limit"))
        cursor = paging.decode(query["continue"]) if query.get("continue") else None
        if cursor is not None and query.get("resourceVersion") not in (None, "", "0"):
            raise errors.BadRequest("specifying resource version is not allowed when using continue")
        now, version = self.store.clock.time(), int(self.store.resource_version)
        if cursor is not None:
            paging.check_fresh(cursor, self.store, now)
        if limit == 0 and cursor is None:
            items = self._select(rtype, ns, query)
            metadata: dict[str, Any] = {"resourceVersion": str(version)}
        else:
            items, metadata = self._page(rtype, ns, query, limit, cursor, now, version)
        for item in items:
            item.pop("apiVersion", None)
            item.pop("kind", None)
        kinds = {"kind": rtype.list_kind, "apiVersion": rtype.api_version}
        return {**kinds, "metadata": metadata, "items": items}

    def _page(
        self,
        rtype: ResourceType,
        ns: str | None,
        query: dict[str, str],
        limit: int,
        cursor: paging.Cursor | None,
        now: float,
        version: int,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        labels = label_matcher(query.get("labelSelector"))
        fields = field_matcher(query.get("fieldSelector"), rtype.kind)
        # Only a pod's status is computed by its view; other fields can be matched on the stored object.
        raw_fields = rtype.kind != "Pod" or "status." not in (query.get("fieldSelector") or "")
        snapshot = cursor.resource_version if cursor is not None and cursor.resource_version > 0 else version
        after = cursor.after if cursor is not None else None
        page = paging.read_page(
            self.store,
            rtype,
            ns,
            snapshot,
            after,
            limit,
            keep=lambda obj: bool(labels(obj) and (not raw_fields or fields(obj))),
            view=lambda obj: podstatus.view(self.store, rtype, obj),
            keep_view=None if raw_fields else lambda obj: bool(fields(obj)),
        )
        metadata: dict[str, Any] = {"resourceVersion": str(snapshot)}
        if page.more:
            metadata["continue"] = paging.encode(paging.Cursor(snapshot, page.last_key, now))
            if not (query.get("labelSelector") or query.get("fieldSelector")):
                metadata["remainingItemCount"] = page.remaining
        return page.items, metadata

    def _delete_collection(
        self, rtype: ResourceType, ns: str | None, query: dict[str, str], dry_run: bool
    ) -> dict[str, Any]:
        for obj in self._select(rtype, ns, query):
            meta = obj["metadata"]
            self.writer.delete(rtype, meta.get("namespace"), meta["name"], {}, dry_run)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}

    def watch(self, rtype: ResourceType, ns: str | None, query: dict[str, str]) -> Iterator[bytes]:
        """A stream of watch events (one JSON object a line) from ``resourceVersion`` on."""
        labels = label_matcher(query.get("labelSelector"))
        fields = field_matcher(query.get("fieldSelector"), rtype.kind)
        timeout = int(query.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT)
        since = query.get("resourceVersion") or "0"
        if not since.isdigit():
            raise errors.BadRequest(f"invalid resourceVersion {since!r}")
        initial: list[bytes] = []
        last = int(since)
        if last == 0:
            last = int(self.store.resource_version)
            initial = [_line("ADDED", obj) for obj in self._select(rtype, ns, query)]
        elif last < self.store.oldest_resource_version - 1:
            expired = errors.Expired(
                f"too old resource version: {last} ({self.store.oldest_resource_version})"
            )
            initial, last = [_line("ERROR", expired.to_status())], -1

        def matches(obj: dict[str, Any]) -> bool:
            in_namespace = ns is None or obj["metadata"].get("namespace") == ns
            return in_namespace and labels(obj) and fields(obj)

        return self._stream(rtype, matches, initial, last, time.monotonic() + timeout)

    def _stream(
        self,
        rtype: ResourceType,
        matches: Callable[[dict[str, Any]], bool],
        initial: list[bytes],
        last: int,
        deadline: float,
    ) -> Iterator[bytes]:
        yield from initial
        while last >= 0:
            with self.store.changed:
                changes = self.store.changes_since(last, rtype.kind)
                if not changes:
                    remaining = deadline - time.monotonic()
                    if self.store.closed or remaining <= 0:
                        return
                    self.store.changed.wait(min(remaining, 1.0))
                    continue
                lines = []
                for change in changes:
                    last = change.resource_version
                    obj = podstatus.view(self.store, rtype, change.obj)
                    if matches(obj):
                        lines.append(_line(change.type, obj))
            yield from lines


def _line(kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": obj}).encode() + b"\n"
