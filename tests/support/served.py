"""Serve a WSGI app on a free loopback port in a background thread, as a real HTTP server."""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import make_server

from tests.support.servers import free_port


class ServedApp:
    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServedApp:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
