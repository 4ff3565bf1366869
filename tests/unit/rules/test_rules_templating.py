"""Templating: the promql filter turns any value into one string literal, and the sandbox holds."""

from __future__ import annotations

import pytest

from rules.errors import RuleRenderError
from rules.templating import check_template, promql_quote, promql_regex_quote, render, template_variables
from tests.unit.rules.samples import make_alert

QUERY = "up{namespace={{ labels.namespace | promql }}, pod={{ labels.pod | promql }}}"


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("checkout-7d9f", '"checkout-7d9f"'),
        ('x"} or vector(1) #', r'"x\"} or vector(1) #"'),
        ("a\\b", r'"a\\b"'),
        ('\\"', r'"\\\""'),
        ("\\", r'"\\"'),
        ("line1\nline2\r\tend", r'"line1\nline2\r\tend"'),
        ("}", '"}"'),
        ("`'", '"`\'"'),
        ("naïve-😀-名前", '"naïve-😀-名前"'),
        ("\x00\x1b[31m\x7f\x85", r'"\u0000\u001b[31m\u007f\u0085"'),
        ("\u2028\u2029", r'"\u2028\u2029"'),
        ("\ud800", '"\ufffd"'),
        ("", '""'),
        (42, '"42"'),
    ],
)
def test_promql_quote(value: object, quoted: str) -> None:
    assert promql_quote(value) == quoted


def test_promql_quote_refuses_none() -> None:
    with pytest.raises(RuleRenderError, match="cannot quote None"):
        promql_quote(None)


def test_promql_regex_quote_matches_literally() -> None:
    assert promql_regex_quote("api.v1+x") == r'"api\\.v1\\+x"'
    assert promql_regex_quote('a"b') == r'"a\"b"'


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        ('x"} or vector(1) #', r'up{namespace="shop", pod="x\"} or vector(1) #"}'),
        (
            'x\\"}) or on() vector(1) or up{a="',
            r'up{namespace="shop", pod="x\\\"}) or on() vector(1) or up{a=\""}',
        ),
        ("x\n} or vector(1)", r'up{namespace="shop", pod="x\n} or vector(1)"}'),
        ('\\\\"}', r'up{namespace="shop", pod="\\\\\"}"}'),
        ("ünï\u2028côdé}", r'up{namespace="shop", pod="ünï\u2028côdé}"}'),
    ],
)
def test_hostile_label_stays_one_string_literal(pod: str, expected: str) -> None:
    variables = template_variables(make_alert(namespace="shop", pod=pod))
    assert render(QUERY, variables) == expected


def test_rendered_literal_decodes_back_to_the_value() -> None:
    hostile = 'a\\"}\n\t\x00\x07 or vector(1) # ü'
    literal = promql_quote(hostile)
    # A PromQL string literal uses Go escapes; every escape produced here is also a JSON escape.
    import json

    assert json.loads(literal.replace("\\a", "\\u0007")) == hostile


@pytest.mark.parametrize(
    "template",
    [
        "{{ labels.__class__ }}",
        "{{ labels.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ alert.__init__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ labels.pop('pod') }}",
        "{{ labels.update({'pod': 'x'}) }}",
        "{{ annotations.clear() }}",
    ],
)
def test_sandbox_blocks_unsafe_access(template: str) -> None:
    alert = make_alert(pod="p")
    with pytest.raises(RuleRenderError, match="unsafe template access"):
        render(template, template_variables(alert))
    assert alert["labels"]["pod"] == "p"


def test_missing_label_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(RuleRenderError, match="undefined value: 'dict object' has no attribute 'pod'"):
        render("{{ labels.pod }}", template_variables(make_alert()))


def test_default_filter_handles_a_missing_label() -> None:
    assert render('{{ labels.pod | default("none") }}', template_variables(make_alert())) == "none"


def test_autoescape_is_off() -> None:
    assert render("{{ annotations.summary }}", {"annotations": {"summary": "<a & b>"}}) == "<a & b>"


def test_template_syntax_error_is_a_render_error() -> None:
    with pytest.raises(RuleRenderError, match="template syntax error on template line 1"):
        render("{{ labels.pod", {})


def test_template_variables() -> None:
    alert = make_alert(pod="p")
    variables = template_variables(alert)
    assert sorted(variables) == ["alert", "annotations", "fingerprint", "labels", "startsAt", "status"]
    assert variables["labels"] == {"alertname": "KubePodCrashLooping", "pod": "p"}
    assert variables["alert"] is alert
    assert (variables["status"], variables["fingerprint"], variables["startsAt"]) == (
        "firing",
        "c4f1aa",
        "2026-11-25T10:00:00Z",
    )
    rendered = render("{{ alert.labels.pod }} {{ status }} {{ fingerprint }} {{ startsAt }}", variables)
    assert rendered == "p firing c4f1aa 2026-11-25T10:00:00Z"


@pytest.mark.parametrize(
    "template",
    [
        "up",
        'up{job="x"}',
        "up{pod={{ labels.pod | promql }}}",
        "up{pod=~{{ labels.pod | promql_re }}}",
        "up{pod={{ labels.pod | lower | promql }}}",
        'up{pod={{ labels.get("pod", "none") | promql }}}',
        'rate(x[{{ "5m" }}])',
        "{% if labels.container is defined %}up{c={{ labels.container | promql }}}{% else %}up{% endif %}",
    ],
)
def test_safe_promql_templates_pass_check(template: str) -> None:
    assert check_template(template, promql=True) == []


def test_non_promql_templates_need_no_filter() -> None:
    assert check_template("{{ labels.pod }}", promql=False) == []


def test_set_variables_do_not_bypass_the_filter_check() -> None:
    assert check_template("{% set p = labels.pod %}up{pod={{ p }}}", promql=True) == [
        "{{ p }} reaches PromQL without the promql filter; write {{ p | promql }} (template line 1)"
    ]


def test_filter_blocks_are_refused_in_promql() -> None:
    template = "{% filter upper %}up{pod={{ labels.pod | promql }}}{% endfilter %}"
    assert check_template(template, promql=True) == [
        "filter blocks are not allowed in PromQL templates (template line 1)"
    ]


def test_include_fails_the_sample_render() -> None:
    assert check_template('{% include "x" %}', promql=False) == [
        "fails on a sample alert: template failed: TypeError: no loader for this environment specified"
    ]
