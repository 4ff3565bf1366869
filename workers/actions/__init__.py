"""Allowlisted actions: plans decided before approval, executed with guards, dry run and snapshot."""
