"""Kubernetes: the API facade, evidence read from objects, and resource quantities."""
