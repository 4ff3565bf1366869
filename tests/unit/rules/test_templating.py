"""Templating: the promql filter turns any value into one string literal, the sandbox holds, and a render
is bounded in loops, size and time."""

# The expected messages are compared exactly; they read best unwrapped.
# ruff: noqa: E501

from __future__ import annotations

import pytest

from rules import bounds
from rules.errors import RuleRenderError
from rules.templating import check_template, promql_quote, promql_regex_quote, render, template_variables
from tests.support.rule_samples import make_alert

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
    assert variables["alert"] == alert
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


def test_label_values_are_normalised_as_the_matcher_sees_them() -> None:
    alert = make_alert(namespace="kube-system\t", pod=" web-1 ", team=None)  # type: ignore[arg-type]
    variables = template_variables(alert)
    assert variables["labels"] == {
        "alertname": "KubePodCrashLooping",
        "namespace": "kube-system",
        "pod": "web-1",
        "team": "",
    }
    assert render("{{ alert.labels.namespace }}/{{ labels.pod }}", variables) == "kube-system/web-1"
    assert alert["labels"]["namespace"] == "kube-system\t"  # the alert itself is left as received


# Each of these would loop for hours or build gigabytes without the bounds; each fails at once, naming the bound.
HOSTILE = [
    pytest.param(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "range() of 100000 items: rule templates may use at most 1000",
        id="nested-range-100000",
    ),
    pytest.param(
        "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
        "the template's loops run more than 1000 iterations in all",
        id="nested-loops",
    ),
    pytest.param(
        "{% for c in labels.pod * 5000 %}{% for d in labels.pod * 5000 %}{% endfor %}{% endfor %}",
        "the template's loops run more than 1000 iterations in all",
        id="loops-over-strings",
    ),
    pytest.param(
        "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
        "the template takes more than 10000 steps (filters, calls, operators)",
        id="exponential-macro",
    ),
    pytest.param("{{ 'x' * 1000000000 }}", "a * repetition is larger than 32768 characters", id="repeat-string"),
    pytest.param("{{ [[1] * 1000] * 1000 }}", "a * repetition is larger than 32768 characters", id="repeat-list"),
    pytest.param("{{ 7 ** 100000 }}", "a ** power is an integer of more than 1024 bits", id="power"),
    pytest.param(
        "{% set a = 10 ** 300 %}{{ a * a * a * a }}", "a * product is an integer of more than 1024 bits", id="product"
    ),
    pytest.param(
        "{% set a = 'xxxxxxxxxx' %}{% set b = a~a~a~a~a~a~a~a~a~a %}{% set c = b~b~b~b~b~b~b~b~b~b %}"
        "{% set d = c~c~c~c~c~c~c~c~c~c %}{% set e = d~d~d~d~d~d~d~d~d~d %}{% set f = e~e~e~e~e~e~e~e~e~e %}{{ f }}",
        "a call argument is larger than 32768 characters",
        id="concatenation-doubling",
    ),
    pytest.param(
        "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
        "a + sum is larger than 32768 characters",
        id="addition-doubling",
    ),
    pytest.param(
        "{% set a = 'x' * 30000 %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}{{ b }}",
        "an output value is larger than 32768 characters",
        id="shared-references",
    ),
    pytest.param(
        "{% set a = 'x' * 30000 %}{{ [a, a, a] | join }}",
        "the input of join is larger than 32768 characters",
        id="join",
    ),
    pytest.param("{{ '%01000000000d' % 1 }}", "a % format width or precision is over 32768", id="printf-width"),
    pytest.param("{{ '%*d' | format(1000000000, 1) }}", "a % format may not take its width or precision from an argument (*)", id="printf-star"),
    pytest.param("{{ 'ab' | replace('', 'x' * 20000) }}", "a replace() result would be larger than 32768 characters", id="replace-filter"),
    pytest.param("{{ 'ab'.replace('', 'x' * 20000) }}", "a replace() result would be larger than 32768 characters", id="replace-method"),
    pytest.param("{{ range(10) | sum(start=[]) }}", "sum: only numbers can be summed in rule templates", id="sum-lists"),
    pytest.param("{{ labels | tojson(indent=100000000) }}", "tojson: indent must be a number from 0 to 8", id="tojson-indent"),
    pytest.param(
        "{% for i in range(1000) %}" + "y" * 4000 + "{% endfor %}",
        "the template renders more than 32768 characters",
        id="output-size",
    ),
    pytest.param("{% for x in [1] recursive %}{{ loop([]) }}{% endfor %}", "recursive loops are not allowed in rule templates (template line 1)", id="recursive-loop"),
    pytest.param("{{ 'x' * " + "9" * 4096 + " }}", "the template is longer than 4096 characters", id="template-length"),
]  # fmt: skip


@pytest.mark.parametrize(("template", "message"), HOSTILE)
def test_hostile_templates_stop_at_a_bound(template: str, message: str) -> None:
    with pytest.raises(RuleRenderError) as caught:
        render(template, template_variables(make_alert(pod="p")))
    assert caught.value.detail == message


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{{ 'x' | center(1000000000) }}", "template syntax error on template line 1: No filter named 'center'."),
        ("{{ labels.pod | wordwrap(1) }}", "template syntax error on template line 1: No filter named 'wordwrap'."),
        ("{{ range(3) | batch(1000000000, 'x') }}", "template syntax error on template line 1: No filter named 'batch'."),
        ("{{ lipsum(1000000) }}", "unknown template variable 'lipsum' (known: alert, annotations, fingerprint, labels, startsAt, status)"),
        ("{{ labels.pod.center(1000000000) }}", "fails on a sample alert: unsafe template access: access to attribute 'center' of 'str' object is unsafe."),
        ("{{ labels.pod.ljust(1000000000) }}", "fails on a sample alert: unsafe template access: access to attribute 'ljust' of 'str' object is unsafe."),
        ("{{ '{:>1000000000}'.format(1) }}", "fails on a sample alert: unsafe template access: access to attribute 'format' of 'str' object is unsafe."),
        ("{{ (1).to_bytes(1000000000, 'big') }}", "fails on a sample alert: unsafe template access: access to attribute 'to_bytes' of 'int' object is unsafe."),
    ],
)  # fmt: skip
def test_size_amplifying_filters_and_methods_are_not_available(template: str, problem: str) -> None:
    assert check_template(template, promql=False) == [problem]


def test_a_render_stops_at_its_time_bound() -> None:
    with pytest.raises(RuleRenderError, match=r"the template took longer than 0s to render"):
        render("{% for i in range(10) %}{{ i }}{% endfor %}", {}, time_limit_s=0)


def test_bounds_leave_ordinary_templates_alone() -> None:
    variables = template_variables(make_alert(namespace="shop", pod="web-1", container="app"))
    template = (
        "{% for k, v in labels | dictsort %}{% if not loop.first %},{% endif %}{{ k }}={{ v | promql }}{% endfor %}"
        " {{ range(3) | map('string') | join('+') }} {{ '%s-%s' | format(labels.pod, 2) }} {{ 'up' ~ 1 }}"
        " {% for i in range(3) %}{{ loop.index }}/{{ loop.length }} {% endfor %}{{ labels.get('team', 'none') }}"
        " {{ (labels.pod * 2) | replace('-', '_') | upper }} {{ 2 ** 10 }}"
    )
    assert render(template, variables) == (
        'alertname="KubePodCrashLooping",container="app",namespace="shop",pod="web-1" 0+1+2 web-1-2 up1'
        " 1/3 2/3 3/3 none WEB_1WEB_1 1024"
    )
    # One template may use the whole of each budget, and a fresh render gets a fresh budget.
    full = "{% for i in range(" + str(bounds.MAX_LOOP_ITERATIONS) + ") %}{% endfor %}ok"
    assert render(full, {}) == render(full, {}) == "ok"
