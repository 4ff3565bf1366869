"""docs/settings.md, generated from the settings model: every key with its environment variable, type,
default and meaning (the field's docstring in ``workers/settings.py``).

Regenerate with ``python -m workers.settings_doc --out docs/settings.md`` (or ``aiops settings doc --out
docs/settings.md``); a test fails while the committed file differs from what this module writes.
"""

from __future__ import annotations

import argparse
import sys
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
import yaml
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from workers import settings as settings_module
from workers.settings import SHORT_VARIABLES, STANDARD_VARIABLES, Settings

SOURCE_ROOT = Path(settings_module.__file__).resolve().parent.parent
COMMAND = "python -m workers.settings_doc --out docs/settings.md"

_SCALARS: dict[Any, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    Path: "path",
    SecretStr: "secret string",
}
_BOUNDS = (
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Ge, "ge", ">="),
    (annotated_types.Lt, "lt", "<"),
    (annotated_types.Le, "le", "<="),
)


def _holds_model(annotation: Any) -> bool:
    if isinstance(annotation, type):
        return issubclass(annotation, BaseModel)
    return any(_holds_model(arg) for arg in get_args(annotation))


def type_text(annotation: Any) -> str:
    """A reader's name for a field's type: ``integer``, ``list of strings``, ``one of `log`, `webhook```."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        present = [arg for arg in args if arg is not type(None)]
        text = " or ".join(type_text(arg) for arg in present)
        return f"{text}, optional" if len(present) < len(args) else text
    if origin is Literal:
        return "one of " + ", ".join(f"`{value}`" for value in args)
    if origin is list:
        inner = type_text(args[0])
        return f"list of {inner}s" if " " not in inner else f"list of ({inner})"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return _SCALARS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bounds(field: FieldInfo) -> str:
    found = []
    for item in field.metadata:
        for kind, attribute, sign in _BOUNDS:
            if isinstance(item, kind):
                found.append(f"{sign} {getattr(item, attribute)}")
    return f" ({', '.join(found)})" if found else ""


def default_text(value: Any) -> str:
    """The default as it would be written in the YAML settings file."""
    if value is None:
        return "unset"
    if isinstance(value, Path):
        if value.is_absolute() and value.is_relative_to(SOURCE_ROOT):
            return f"`{value.relative_to(SOURCE_ROOT).as_posix()}` (in the installed package)"
        return f"`{value.as_posix()}`"
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [item.model_dump(mode="json") if isinstance(item, BaseModel) else item for item in value]
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return f"`{text.removesuffix('...').strip()}`"


def env_variables(section: str, name: str, field: FieldInfo) -> list[str]:
    """The variables that set ``section.name``, strongest first; empty when only the YAML file can."""
    if _holds_model(field.annotation):
        return []
    names = [
        var for var, where in {**STANDARD_VARIABLES, **SHORT_VARIABLES}.items() if where == (section, name)
    ]
    return [*names, f"AIOPS_{section}_{name}".upper()]


def _meaning(field: FieldInfo) -> str:
    text = " ".join((field.description or "").split())
    return text.replace("``", "`").replace("|", "\\|")


def _doc(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split()).replace("``", "`")


def _section_models(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, type[BaseModel]]]:
    yield prefix, model
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _section_models(annotation, f"{prefix}.{name}")


def _table(key: str, model: type[BaseModel]) -> list[str]:
    top = key.split(".", maxsplit=1)[0]
    nested = "." in key
    lines = ["| key | environment | type | default | meaning |", "|---|---|---|---|---|"]
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            continue  # a nested section gets its own table
        env = [] if nested else env_variables(top, name, field)
        env_text = ", ".join(f"`{var}`" for var in env) or "YAML only"
        if env and get_origin(annotation) is list:
            env_text += " (comma-separated)"
        default = default_text(field.get_default(call_default_factory=True))
        kind = type_text(annotation) + _bounds(field)
        lines.append(f"| `{key}.{name}` | {env_text} | {kind} | {default} | {_meaning(field)} |")
    return lines


def render() -> str:
    """The whole of docs/settings.md."""
    lines = [
        "# Settings",
        "",
        f"<!-- Generated from workers/settings.py by `{COMMAND}`; do not edit by hand. -->",
        "",
        "Every `aiops` process reads one settings object. Each key below comes from, lowest precedence",
        "first: its default, the YAML file named by `AIOPS_CONFIG` (or `aiops --config FILE`), its",
        "`AIOPS_<SECTION>_<KEY>` variable, and for three keys the standard variable (`REDIS_URL`,",
        "`PROMETHEUS_URL`, `KUBECONFIG`), which wins over the `AIOPS_` form.",
        "",
        "The YAML file holds one mapping per section, e.g. `prometheus: {url: http://prometheus:9090}`.",
        "Environment values are strings: booleans are `true`/`false`, lists are comma-separated. Keys of",
        "nested sections (`advisers.kubectl_ai`, ...) and lists of mappings (`notify.sinks`) are set in",
        "the YAML file only. A bad value stops start-up with a message naming the key and its variable.",
        "",
    ]
    sections = [name for name in Settings.model_fields]
    lines.append("Sections: " + ", ".join(f"[`{name}`](#{name})" for name in sections) + ".")
    lines.append("")
    for section in sections:
        model = Settings.model_fields[section].annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        for key, part in _section_models(model, section):
            lines.append(f"{'##' if key == section else '###'} {key}")
            lines.append("")
            if _doc(part):
                lines.extend([_doc(part), ""])
            lines.extend(_table(key, part))
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workers.settings_doc", description="Write the settings reference (docs/settings.md)."
    )
    parser.add_argument("--out", type=Path, metavar="FILE", help="write here instead of standard output")
    args = parser.parse_args(argv)
    text = render()
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
