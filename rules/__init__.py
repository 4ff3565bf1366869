"""Rules: which alerts aiops-responder handles, and how (model, loader, lint, matcher, templates).

Rules are YAML files in one directory (see ``docs/rules.md``). ``load_rule_dir`` turns the
directory (``load_rule_paths`` any files and directories) into a ``RuleSet``; ``RuleSet.match``
finds the rules for an alert (RE2 regexes, linear time) and ``mismatches`` says why a rule does
not; ``render_rule`` renders a rule's target, PromQL evidence queries and checks for that alert in
a bounded Jinja sandbox; ``RuleRegistry`` keeps the last good set active while files change. Label
values are normalised once (``label_value``) for matching and templates alike. This package
imports nothing from ``workers`` or ``receiver``.
"""

from __future__ import annotations

from rules.allowlist import ACTIONS, ADVISERS, KUBERNETES_EVIDENCE, NO_ACTION, PLAYBOOKS, Risk
from rules.durations import format_duration, parse_duration
from rules.errors import Problem, RuleError, RuleRenderError, RuleSetError
from rules.labels import label_value
from rules.loader import LintReport, lint_dir, lint_paths, load_rule_dir, load_rule_paths, parse_rules
from rules.matcher import Mismatch, RuleSet, mismatches
from rules.model import (
    Check,
    Evidence,
    Match,
    Remediation,
    Rule,
    Target,
    Validate,
    effective_risk,
    rule_json_schema,
)
from rules.registry import RuleRegistry
from rules.render import RenderedRule, render_rule
from rules.templating import TEMPLATE_VARIABLES, promql_quote, render, template_variables

__all__ = [
    "ACTIONS",
    "ADVISERS",
    "KUBERNETES_EVIDENCE",
    "NO_ACTION",
    "PLAYBOOKS",
    "TEMPLATE_VARIABLES",
    "Check",
    "Evidence",
    "LintReport",
    "Match",
    "Mismatch",
    "Problem",
    "Remediation",
    "RenderedRule",
    "Risk",
    "Rule",
    "RuleError",
    "RuleRegistry",
    "RuleRenderError",
    "RuleSet",
    "RuleSetError",
    "Target",
    "Validate",
    "effective_risk",
    "format_duration",
    "label_value",
    "lint_dir",
    "lint_paths",
    "load_rule_dir",
    "load_rule_paths",
    "mismatches",
    "parse_duration",
    "parse_rules",
    "promql_quote",
    "render",
    "render_rule",
    "rule_json_schema",
    "template_variables",
]
