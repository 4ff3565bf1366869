"""Evidence gathering: Kubernetes objects and Prometheus queries, as one JSON-serialisable dict."""
