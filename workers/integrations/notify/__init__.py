"""Notification sinks: where proposals and outcomes are announced."""
