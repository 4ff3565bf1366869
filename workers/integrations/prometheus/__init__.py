"""Prometheus: the client, evidence queries, and whether a range query has enough history."""
