"""Load and lint rules: every ``*.yaml`` file of a directory (or of files and folders given), each
problem with its file and line.

A rule file holds one YAML document: either one rule (a mapping) or a list of rules; an explicit
empty list (``[]``) holds none. A directory's files are read in name order, and hidden files are
skipped (so a Kubernetes ConfigMap mount works). Lint reports every problem in one pass: a rule
with one wrong key is still checked for all the others, and its name still counts when names are
compared across files. ``lint_paths`` (and ``lint_dir``) return every problem found;
``load_rule_paths`` (and ``load_rule_dir``) return a ``RuleSet`` only when there are none, and
otherwise raise ``RuleSetError`` with the same list. Loading never executes rule content: YAML is
parsed with ``SafeLoader`` only, and templates are only rendered, in the bounded sandbox, against a
sample alert.
"""

from __future__ import annotations

import os
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from rules.errors import Problem, RuleSetError
from rules.matcher import RuleSet
from rules.model import Rule
from rules.source import SourceError, YamlDocument, dotted, parse_yaml

__all__ = [
    "MAX_FILE_BYTES",
    "RULE_FILE_SUFFIX",
    "LintReport",
    "LocatedRule",
    "lint_dir",
    "lint_paths",
    "load_rule_dir",
    "load_rule_paths",
    "parse_rules",
]

RULE_FILE_SUFFIX = ".yaml"
MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class LocatedRule:
    """A valid rule and where it was defined."""

    rule: Rule
    file: str
    line: int


@dataclass(frozen=True)
class LintReport:
    """What lint found in the paths given: every problem, the rule files considered, the valid rules."""

    problems: list[Problem]
    files: list[str]
    located: list[LocatedRule]

    @property
    def files_with_problems(self) -> list[str]:
        """The files considered that hold at least one problem, in load order."""
        flagged = {problem.file for problem in self.problems}
        return [file for file in self.files if file in flagged]

    @property
    def path_problems(self) -> list[Problem]:
        """Problems with a path given rather than with a rule file (missing, empty folder, ...)."""
        read = set(self.files)
        return [problem for problem in self.problems if problem.file not in read]


def load_rule_dir(path: str | os.PathLike[str]) -> RuleSet:
    """Load every rule in the directory ``path``. Raises ``RuleSetError`` listing every problem."""
    directory = Path(path)
    if not directory.is_dir():
        raise RuleSetError([_not_a_directory(directory)])
    return load_rule_paths([directory])


def load_rule_paths(paths: Sequence[str | os.PathLike[str]]) -> RuleSet:
    """Load the rules of ``paths`` (files and directories, in that order). Raises ``RuleSetError``."""
    report = lint_paths(paths)
    if report.problems:
        raise RuleSetError(report.problems)
    return RuleSet(item.rule for item in report.located)


def lint_dir(path: str | os.PathLike[str]) -> list[Problem]:
    """Every problem in the rule directory ``path``, sorted by file and line (empty when clean)."""
    directory = Path(path)
    if not directory.is_dir():
        return [_not_a_directory(directory)]
    return lint_paths([directory]).problems


def lint_paths(paths: Sequence[str | os.PathLike[str]]) -> LintReport:
    """Lint rule files and directories together: names must be unique across all of them.

    A directory contributes its ``*.yaml`` files (a ``*.yml`` one is a problem); a file given by
    name is read whatever its suffix. A file reached twice is read once.
    """
    files, problems = _rule_files([Path(p) for p in paths])
    located: list[LocatedRule] = []
    names: list[_Name] = []
    read: list[str] = []
    for file, given in files:
        read.append(str(file))
        if file.suffix != RULE_FILE_SUFFIX:
            problems.append(
                Problem(str(file), 1, f"rule files must end in {RULE_FILE_SUFFIX}; rename this file")
            )
            if not given:
                continue
        text, problem = _read(file)
        if problem is not None:
            problems.append(problem)
            continue
        found, file_problems, file_names = _parse(text, str(file))
        located.extend(found)
        problems.extend(file_problems)
        names.extend(file_names)
    problems.extend(_duplicate_names(names))
    return LintReport(sorted(set(problems)), read, located)


def parse_rules(text: str, file: str = "<rules>") -> tuple[list[LocatedRule], list[Problem]]:
    """Parse the text of one rule file: the valid rules, and the problems found in it."""
    located, problems, _ = _parse(text, file)
    return located, problems


@dataclass(frozen=True)
class _Name:
    """A rule name as written, valid rule or not, for the cross-file duplicate check."""

    name: str
    file: str
    line: int


def _parse(text: str, file: str) -> tuple[list[LocatedRule], list[Problem], list[_Name]]:
    try:
        document = parse_yaml(text)
    except SourceError as exc:
        return [], [Problem(file, exc.line, exc.message)], []
    problems = [
        Problem(file, line, f"{path}: duplicate key (a later value would win)")
        for line, path in document.duplicates
    ]
    data = document.data
    items: list[tuple[tuple[str | int, ...], Any]]
    if data is None:
        return (
            [],
            [*problems, Problem(file, 1, "empty file: expected a rule (a mapping) or a list of rules")],
            [],
        )
    if isinstance(data, dict):
        items = [((), data)]
    elif isinstance(data, list):
        items = [((index,), item) for index, item in enumerate(data)]
    else:
        message = f"a rule file holds a rule (a mapping) or a list of rules, not a {_kind(data)}"
        return [], [*problems, Problem(file, 1, message)], []
    located: list[LocatedRule] = []
    names: list[_Name] = []
    for prefix, item in items:
        if not isinstance(item, dict):
            problems.append(
                Problem(file, document.line_of(prefix), f"a rule must be a mapping, not a {_kind(item)}")
            )
            continue
        line = document.line_of((*prefix, "name"))
        if isinstance(item.get("name"), str):
            names.append(_Name(item["name"], file, line))
        try:
            rule = Rule.model_validate(item)
        except ValidationError as exc:
            problems.extend(_problems(exc, document, prefix, file))
            continue
        located.append(LocatedRule(rule, file, line))
    return located, problems, names


def _not_a_directory(directory: Path) -> Problem:
    what = "does not exist" if not directory.exists() else "is not a directory"
    return Problem(str(directory), 1, f"rules directory {what}")


def _rule_files(paths: Sequence[Path]) -> tuple[list[tuple[Path, bool]], list[Problem]]:
    """The rule files of ``paths``, each with whether it was given by name, and the path problems."""
    files: list[tuple[Path, bool]] = []
    problems: list[Problem] = []
    seen: set[Path] = set()

    def add(file: Path, given: bool) -> None:
        key = file.resolve()
        if key not in seen:
            seen.add(key)
            files.append((file, given))

    for path in paths:
        if path.is_file():
            add(path, True)
            continue
        if not path.is_dir():
            what = "does not exist" if not path.exists() else "is not a file or a directory"
            problems.append(Problem(str(path), 1, f"rules path {what}"))
            continue
        try:
            found = sorted(
                p for p in path.iterdir() if not p.name.startswith(".") and p.suffix in (".yaml", ".yml")
            )
        except OSError as exc:
            problems.append(Problem(str(path), 1, f"cannot list the rules directory: {exc.strerror or exc}"))
            continue
        if not found:
            problems.append(
                Problem(str(path), 1, f"no *{RULE_FILE_SUFFIX} rule files in the rules directory")
            )
        for file in found:
            add(file, False)
    return files, problems


def _read(file: Path) -> tuple[str, Problem | None]:
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            return "", Problem(str(file), 1, f"file is larger than {MAX_FILE_BYTES} bytes")
        return file.read_bytes().decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return "", Problem(str(file), 1, f"file is not UTF-8: {exc.reason} at byte {exc.start}")
    except OSError as exc:
        return "", Problem(str(file), 1, f"cannot read file: {exc.strerror or exc}")


def _duplicate_names(names: Sequence[_Name]) -> list[Problem]:
    first: dict[str, _Name] = {}
    problems = []
    for item in names:
        seen = first.setdefault(item.name, item)
        if seen is not item:
            where = f"{seen.file}:{seen.line}"
            problems.append(
                Problem(item.file, item.line, f"duplicate rule name {item.name!r} (first at {where})")
            )
    return problems


def _problems(
    exc: ValidationError, document: YamlDocument, prefix: tuple[str | int, ...], file: str
) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        is_key = bool(loc) and loc[-1] == "[key]"
        if is_key:
            loc = loc[:-1]
        message = _message(error, loc, is_key)
        problems.append(Problem(file, document.line_of((*prefix, *loc)), message))
    return problems


def _message(error: ErrorDetails, loc: tuple[str | int, ...], is_key: bool = False) -> str:
    kind = error["type"]
    where = f" in {dotted(loc[:-1])}" if loc[:-1] else ""
    if kind == "missing":
        return f"missing required key {loc[-1]!r}{where}"
    if kind == "extra_forbidden":
        return f"unknown key {loc[-1]!r}{where} (allowed: {', '.join(_allowed_keys(loc[:-1]))})"
    path = f"{dotted(loc[:-1]) or 'rule'}: key {loc[-1]!r}" if is_key else (dotted(loc) or "rule")
    got = error["input"]
    if kind == "value_error":
        return f"{path}: {error['msg'].removeprefix('Value error, ')}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{path}: must be a mapping, not a {_kind(got)}"
    if kind == "list_type":
        return f"{path}: must be a list, not a {_kind(got)}"
    if kind == "string_type":
        return f"{path}: must be a string, not a {_kind(got)} (quote the value in YAML)"
    text = error["msg"].replace("Input should be", "must be").replace("String should", "must")
    text = text.replace("Value should", "must")
    if not isinstance(got, dict | list):
        shown = repr(got)
        text += f" (got {shown[:60]}{'...' if len(shown) > 60 else ''})"
    return f"{path}: {text}"


def _kind(value: object) -> str:
    names = {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    """The keys the model at ``loc`` accepts (by their YAML names)."""
    current: Any = Rule
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    model = _plain(current)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [field.alias or name for name, field in model.model_fields.items()]
    return []


def _step(annotation: Any, part: str | int) -> Any:
    plain = _plain(annotation)
    if isinstance(plain, type) and issubclass(plain, BaseModel):
        for name, field in plain.model_fields.items():
            if (field.alias or name) == part:
                return field.annotation
        return None
    args = get_args(plain)
    if get_origin(plain) is list and args:
        return args[0]
    if get_origin(plain) is dict and len(args) == 2:
        return args[1]
    return None


def _plain(annotation: Any) -> Any:
    """Strip ``Annotated[...]`` and ``X | None`` down to the underlying type."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        else:
            return annotation
