"""The outside world: Redis, Kubernetes, Prometheus, AI advisers and notification sinks."""
