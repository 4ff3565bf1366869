"""Scenario folders merged into a few sandbox clusters, so one pipeline run covers many scenarios.

Starting a sandbox, waiting for Prometheus to scrape it and watching a validation window cost seconds
per scenario; a cluster that holds many scenarios pays them once. Scenarios go into the same batch only
when their objects cannot meet: no object of one has the kind, namespace and name of an object of
another, except Namespaces (merged) and Nodes with the same spec and conditions (kept once). A
scenario.yaml with settings besides ``outcomes`` (``restart_period_s``, ``hpa``, ...) gets a batch of
its own, since those settings are cluster-wide.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.support.scenario_evidence import manifest_files

PER_SCENARIO_KEYS = frozenset({"description", "expect", "outcomes", "message_source"})


def _documents(path: Path) -> list[dict[str, Any]]:
    return [
        doc
        for file in manifest_files(path)
        for doc in yaml.safe_load_all(file.read_text(encoding="utf-8"))
        if doc
    ]


def _key(doc: dict[str, Any]) -> tuple[str, str, str]:
    meta = doc.get("metadata") or {}
    return (doc["kind"], meta.get("namespace", ""), meta["name"])


def _node_shape(doc: dict[str, Any]) -> str:
    status = doc.get("status") or {}
    return json.dumps([doc.get("spec"), status.get("conditions")], sort_keys=True, default=str)


def _spec(path: Path) -> dict[str, Any]:
    return yaml.safe_load((path / "scenario.yaml").read_text(encoding="utf-8")) or {}


class _Batch:
    def __init__(self) -> None:
        self.paths: list[Path] = []
        self.keys: set[tuple[str, str, str]] = set()
        self.nodes: dict[str, str] = {}
        self.alone = False

    def fits(self, docs: list[dict[str, Any]], alone: bool) -> bool:
        if self.alone or (alone and self.paths):
            return False
        for doc in docs:
            key = _key(doc)
            if doc["kind"] == "Namespace":
                continue
            if doc["kind"] == "Node":
                if self.nodes.get(key[2], _node_shape(doc)) != _node_shape(doc):
                    return False
            elif key in self.keys:
                return False
        return True

    def add(self, path: Path, docs: list[dict[str, Any]], alone: bool) -> None:
        self.paths.append(path)
        self.alone = alone
        for doc in docs:
            if doc["kind"] == "Node":
                self.nodes[doc["metadata"]["name"]] = _node_shape(doc)
            elif doc["kind"] != "Namespace":
                self.keys.add(_key(doc))


def batches(paths: list[Path], size: int = 40) -> list[list[Path]]:
    """Group scenario folders into batches of at most ``size`` whose objects do not collide."""
    found: list[_Batch] = []
    for path in paths:
        docs = _documents(path)
        alone = bool(set(_spec(path)) - PER_SCENARIO_KEYS)
        batch = next((b for b in found if len(b.paths) < size and b.fits(docs, alone)), None)
        if batch is None:
            batch = _Batch()
            found.append(batch)
        batch.add(path, docs, alone)
    return [batch.paths for batch in found]


def merge(paths: list[Path], directory: Path) -> Path:
    """Write one scenario folder holding every object, log and outcome of ``paths``; returns it."""
    directory.mkdir(parents=True)
    seen: set[tuple[str, str, str]] = set()
    outcomes: list[Any] = []
    extra: dict[str, Any] = {}
    for path in paths:
        docs = []
        for doc in _documents(path):
            if doc["kind"] in ("Namespace", "Node") and _key(doc) in seen:
                continue
            seen.add(_key(doc))
            docs.append(doc)
        (directory / f"{path.name}.yaml").write_text(
            yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8"
        )
        if (path / "logs").is_dir():
            shutil.copytree(path / "logs", directory / "logs", dirs_exist_ok=True)
        spec = _spec(path)
        outcomes += spec.get("outcomes") or []
        extra.update({key: value for key, value in spec.items() if key not in PER_SCENARIO_KEYS})
    (directory / "scenario.yaml").write_text(
        yaml.safe_dump({**extra, "outcomes": outcomes}, sort_keys=False), encoding="utf-8"
    )
    return directory
