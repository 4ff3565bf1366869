"""The Dockerfile read as data (no Docker engine runs here): its global ARGs and its stages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
# The image leaves sandbox/ out: only the modules behind `aiops demo` and `aiops sandbox` may import it.
SANDBOX_VERBS = ("receiver.demo", "receiver.sandbox_cli")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [argument for kw, argument in self.instructions if kw == keyword]

    def copied(self) -> list[str]:
        """The build-context paths this stage's COPY instructions take (not those from another stage)."""
        sources: list[str] = []
        for copy in self.all("COPY"):
            *names, _ = copy.split()
            if any(name.startswith("--from=") for name in names):
                continue
            sources.extend(name.rstrip("/") for name in names if not name.startswith("--"))
        return sources


def parse_dockerfile(path: Path = DOCKERFILE) -> tuple[dict[str, str], list[Stage]]:
    """Global ARGs and the stages, with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, argument = line.partition(" ")
        keyword, argument = keyword.upper(), " ".join(argument.split())
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?: AS (\S+))?", argument, flags=re.IGNORECASE)
            assert match, line
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], match.group(1))
            stages.append(Stage(base, match.group(2)))
        elif keyword == "ARG" and not stages:
            name, _, default = argument.partition("=")
            args[name] = default
        else:
            assert stages, f"{keyword} before FROM"
            stages[-1].instructions.append((keyword, argument))
    return args, stages
