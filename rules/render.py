"""Render a rule's templates for one alert: the target, the evidence queries and the checks.

``render_rule`` is what a worker calls after a rule matched. Every template runs in the rule
sandbox (see ``rules.templating``); any failure raises ``RuleRenderError`` naming the rule and
the field, e.g. ``rule 'pod-crashloop': target.name: undefined value: 'dict object' has no
attribute 'pod'``. The rendered target is checked to be a valid Kubernetes namespace and
object name, so a hostile label value cannot address something unexpected. Templates see label
values normalised as the matcher saw them (``rules.labels``): a padded ``'kube-system '`` cannot
pass a rule's exclusion and then render as ``kube-system``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rules.errors import RuleRenderError
from rules.model import Rule
from rules.templating import render, template_variables

__all__ = ["RenderedRule", "render_rule"]

# RFC 1123 label (namespaces) and subdomain (most object names), as the API server checks them.
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"(?=.{1,253}\Z)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


@dataclass(frozen=True)
class RenderedRule:
    """A rule's templates rendered for one alert.

    ``target`` is ``{"kind", "namespace", "name"}``; ``queries`` maps each evidence query name to
    its PromQL; ``checks`` lists ``{"name", "promql"}`` or ``{"name", "kubernetes"}`` in order.
    """

    rule: str
    target: dict[str, str]
    queries: dict[str, str] = field(default_factory=dict)
    checks: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, for records."""
        return {
            "rule": self.rule,
            "target": dict(self.target),
            "queries": dict(self.queries),
            "checks": [dict(check) for check in self.checks],
        }


def render_rule(rule: Rule, alert: Mapping[str, Any]) -> RenderedRule:
    """Render ``rule``'s target, evidence queries and validation checks for ``alert``.

    Raises ``RuleRenderError`` (with ``.rule`` and ``.field`` set) when a template fails or the
    target is not a valid Kubernetes name.
    """
    variables = template_variables(alert)

    def run(field_path: str, template: str) -> str:
        try:
            return render(template, variables)
        except RuleRenderError as exc:
            raise RuleRenderError(exc.detail, rule=rule.name, field=field_path) from exc

    namespace = run("target.namespace", rule.target.namespace).strip()
    name = run("target.name", rule.target.name).strip()
    _check_name(rule, "target.namespace", namespace, _DNS_LABEL, "namespace")
    _check_name(rule, "target.name", name, _DNS_SUBDOMAIN, f"{rule.target.kind} name")
    queries = {
        key: run(f"evidence.prometheus.{key}", query) for key, query in rule.evidence.prometheus.items()
    }
    checks: list[dict[str, str]] = []
    for index, (check_name, check) in enumerate(
        zip(rule.validate_.check_names(), rule.validate_.checks, strict=True)
    ):
        if check.promql is not None:
            checks.append(
                {"name": check_name, "promql": run(f"validate.checks[{index}].promql", check.promql)}
            )
        elif check.kubernetes is not None:
            checks.append({"name": check_name, "kubernetes": check.kubernetes})
    target = {"kind": rule.target.kind, "namespace": namespace, "name": name}
    return RenderedRule(rule=rule.name, target=target, queries=queries, checks=checks)


def _check_name(rule: Rule, field_path: str, value: str, pattern: re.Pattern[str], what: str) -> None:
    if not pattern.fullmatch(value):
        shown = repr(value) if len(value) <= 80 else repr(value[:80]) + "..."
        raise RuleRenderError(f"{shown} is not a valid Kubernetes {what}", rule=rule.name, field=field_path)
