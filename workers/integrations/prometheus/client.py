"""The Prometheus client as the responder uses it: instant and range queries, answered as the API's JSON.

``prometheus_api_client.PrometheusConnect`` is one (``prometheus_client`` builds it).
The protocol names the calls that the spine, the evidence queries and the workflows make, so that they
are typed without depending on the library's own annotations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from workers.settings import PrometheusSettings


class Prometheus(Protocol):
    """A Prometheus HTTP API client."""

    def custom_query(self, query: str) -> list[dict[str, Any]]:
        """The ``result`` of ``/api/v1/query`` for ``query``: a vector's series, each with its ``value``.

        Raises ``requests.RequestException`` when Prometheus cannot be reached and
        ``PrometheusApiClientException`` when it answers with an error status.
        """
        ...

    def custom_query_range(
        self, query: str, start_time: datetime, end_time: datetime, step: str
    ) -> list[dict[str, Any]]:
        """The ``result`` of ``/api/v1/query_range``: a matrix's series, each with its ``values``."""
        ...


def prometheus_client(settings: PrometheusSettings) -> Prometheus:
    """A ``PrometheusConnect`` for ``settings``, with its timeout and optional bearer token."""
    from prometheus_api_client import PrometheusConnect

    headers = None
    if settings.bearer_token_file:
        token = settings.bearer_token_file.read_text(encoding="utf-8").strip()
        headers = {"Authorization": f"Bearer {token}"}
    from urllib3.util.retry import Retry

    # The package exports the class through a module __getattr__, so mypy sees Any here: the annotation
    # is where the client gets its type (workers.integrations.prometheus.client).
    client: Prometheus = PrometheusConnect(
        url=settings.url.rstrip("/"),
        headers=headers,
        disable_ssl=not settings.verify_tls,
        # One quick retry: an unreachable Prometheus must cost an investigation a moment, not the
        # library's default of three retries with exponential backoff (about 6 s per query).
        retry=Retry(total=1, backoff_factor=0.1, status_forcelist=[429, 502, 503, 504]),
        timeout=settings.timeout_s,
    )
    return client
