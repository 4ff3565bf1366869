"""``SandboxCluster``: a scenario folder served as a Kubernetes API on 127.0.0.1, and ``serve`` for the CLI.

The HTTP layer is the standard library's threading server speaking HTTP/1.1 (keep-alive for the
official client's connection pool, chunked encoding for watch streams); everything Kubernetes
lives in ``api.Api``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import random
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kubernetes import client

from sandbox import exporter, kubeconfig, loader, podstatus, resources
from sandbox.api import ADMIN_TOKEN, Api, Request, Response
from sandbox.controllers import Controllers
from sandbox.errors import SandboxError
from sandbox.store import ObjectStore
from sandbox.units import SandboxClock

log = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, each response waits ~40 ms for the
    # client's delayed ACK.
    disable_nagle_algorithm = True
    server: _Server

    def _serve(self) -> None:
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            self.command, split.path, query, {k.lower(): v for k, v in self.headers.items()}, body
        )
        response = self.server.api.handle(request)
        if isinstance(response.body, Iterator):
            self._stream(response)
            return
        if isinstance(response.body, str):
            payload = response.body.encode()
        else:
            payload = json.dumps(response.body).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for line in response.body:
                self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            response.body.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    api: Api

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._open: set[Any] = set()
        self._open_lock = threading.Lock()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)

    def close_connections(self) -> None:
        """End kept-alive connections, so a client (e.g. a scraper) notices the server went away."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class SandboxCluster:
    """A simulated cluster: an object store, its controllers, and (once started) an HTTP API."""

    def __init__(self, clock: SandboxClock | None = None, rng: random.Random | None = None) -> None:
        self.clock = clock or SandboxClock()
        self.store = ObjectStore(self.clock)
        self.scenario: dict[str, Any] = {}
        self.controllers = Controllers(self.store, self.scenario, rng)
        self.api = Api(
            self.store, self.controllers, self._address, lambda: exporter.render(self.store, self.scenario)
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tls_dir: Path | None = None
        self.ca_file: Path | None = None
        """The certificate to trust when started with ``tls=True`` (None over plain HTTP)."""

    @classmethod
    def from_dir(cls, path: str | Path, clock: Callable[[], dt.datetime] | None = None) -> SandboxCluster:
        """Load a scenario folder (manifests, logs, scenario.yaml); raises ScenarioError when invalid."""
        cluster = cls(SandboxClock(clock))
        loader.load_into(Path(path), cluster.store, cluster.controllers)  # fills cluster.scenario too
        return cluster

    def _address(self) -> str:
        return self.url.split("://", 1)[1]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https://`` with TLS) of the running server."""
        if self._server is None:
            raise SandboxError("the sandbox is not started")
        scheme = "https" if self.ca_file is not None else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def start(self, port: int = 0, tls: bool = False) -> SandboxCluster:
        """Serve on 127.0.0.1:``port`` (0 picks a free one) in a background thread.

        With ``tls=True`` the server speaks HTTPS with a fresh self-signed certificate (``ca_file``),
        which kubectl needs before it sends a bearer token.
        """
        if self._server is not None:
            return self
        self.store.closed = False
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.api = self.api
        if tls:
            self._tls_dir = Path(tempfile.mkdtemp(prefix="aiops-sandbox-tls-"))
            self.ca_file, key = kubeconfig.make_certificate(self._tls_dir)
            context = kubeconfig.server_context(self.ca_file, key)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and end open watch streams."""
        if self._server is None:
            return
        self.store.close()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
        self._tls_dir, self.ca_file = None, None

    def __enter__(self) -> SandboxCluster:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def write_kubeconfig(self, path: str | Path, token: str = ADMIN_TOKEN) -> Path:
        """Write a kubeconfig for this cluster whose current context uses ``token``."""
        return kubeconfig.write(path, self.url, token, ca_file=self.ca_file)

    def api_client(self, token: str = ADMIN_TOKEN) -> client.ApiClient:
        """An official-client ApiClient pointed at this cluster."""
        return kubeconfig.api_client(self.url, token, ca_file=self.ca_file)

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The object as the API would return it now, or None (``kind``: Pod, pods, deploy...)."""
        rtype = resources.lookup(kind)
        with self.store.lock:
            obj = self.store.get(rtype, namespace or "", name)
            return podstatus.view(self.store, rtype, obj) if obj is not None else None

    def list(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Every object of a kind (in one namespace, or all), as the API would return them now."""
        rtype = resources.lookup(kind)
        with self.store.lock:
            return [podstatus.view(self.store, rtype, obj) for obj in self.store.items(rtype, namespace)]

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock forward (restart counts and event counts follow)."""
        self.clock.advance(seconds)


def serve(
    directory: str | Path, port: int, kubeconfig_out: str | Path | None = None, tls: bool = False
) -> None:
    """Serve a scenario folder until SIGINT or SIGTERM; prints the URL (for ``aiops sandbox serve``).

    ``tls=True`` serves HTTPS so that kubectl (which sends no token over HTTP) can use the kubeconfig.
    """
    cluster = SandboxCluster.from_dir(directory).start(port, tls=tls)
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"sandbox cluster serving {directory} at {cluster.url}", flush=True)
        if kubeconfig_out:
            written = cluster.write_kubeconfig(kubeconfig_out)
            print(f"kubeconfig written to {written} (contexts: sandbox, sandbox-readonly)", flush=True)
        stopping.wait()
    finally:
        cluster.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
