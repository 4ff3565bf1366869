"""Safe YAML parsing that remembers the line of every mapping key and list item.

Lint reports ``file:line: message``, so the loader needs more than ``yaml.safe_load``: it composes
the node tree with PyYAML's ``SafeLoader`` (the only loader used anywhere in this package),
constructs plain Python data from it, and walks the tree once to record a line for each path
such as ``("remediation", "actions", 1)``. Duplicate keys, which ``safe_load`` silently resolves
to the last one, are reported. Aliases are allowed, but the walk gives up on documents that
expand to too many nodes, so an alias bomb cannot exhaust memory or time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = ["MAX_NODES", "Path", "SourceError", "YamlDocument", "dotted", "parse_yaml"]

#: Upper bound on nodes visited (aliases counted each time they are used).
MAX_NODES = 100_000

Path = tuple[str | int, ...]


class SourceError(Exception):
    """The text is not a usable YAML document; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class YamlDocument:
    """Plain data from one YAML document, with the line of each key and item."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    duplicates: list[tuple[int, str]] = field(default_factory=list)

    def line_of(self, path: Sequence[str | int]) -> int:
        """The line of ``path``, or of its nearest ancestor that the document holds."""
        key: Path = tuple(path)
        while key:
            found = self.lines.get(key)
            if found is not None:
                return found
            key = key[:-1]
        return self.lines.get((), 1)


class _RuleLoader(yaml.SafeLoader):
    """SafeLoader, kept as a subclass so this package never changes PyYAML's global resolvers."""


def parse_yaml(text: str) -> YamlDocument:
    """Parse one YAML document safely. Raises ``SourceError`` with the line of the problem.

    An empty document gives ``data=None``. More than one document (``---``) is an error.
    """
    document = YamlDocument(None)
    try:
        loader = _RuleLoader(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        raise SourceError(line, f"YAML error: {exc.reason} (character #x{exc.character:04x})") from None
    try:
        node = loader.get_single_node()
        if node is not None:
            # Walk before constructing: construction flattens merge keys (<<) in place.
            _Walker(document).walk(node, ())
            document.data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        parts = [p for p in (exc.context, exc.problem) if p]
        joined = " ".join(parts) if exc.problem and exc.problem.startswith("but ") else ": ".join(parts)
        raise SourceError(line, "YAML syntax error: " + (joined or str(exc))) from None
    except yaml.YAMLError as exc:
        raise SourceError(1, f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    return document


class _Walker:
    def __init__(self, document: YamlDocument) -> None:
        self.document = document
        self.visited = 0

    def walk(self, node: yaml.Node, path: Path) -> None:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise SourceError(
                node.start_mark.line + 1,
                f"document too large: more than {MAX_NODES} YAML nodes (check aliases)",
            )
        self.document.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = str(key_node.value)
                line = key_node.start_mark.line + 1
                if key in seen and key != "<<":
                    self.document.duplicates.append((line, dotted((*path, key))))
                seen.add(key)
                self.document.lines.setdefault((*path, key), line)
                self.walk(value_node, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.walk(item, (*path, index))


def dotted(path: Sequence[object]) -> str:
    """``("validate", "checks", 0, "promql")`` -> ``validate.checks[0].promql``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
