"""The Prometheus client as the responder uses it: instant and range queries, answered as the API's JSON.

``prometheus_api_client.PrometheusConnect`` is one (``workers.integrations.redis.connection`` builds it).
The protocol names the calls that the spine, the evidence queries and the workflows make, so that they
are typed without depending on the library's own annotations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


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
