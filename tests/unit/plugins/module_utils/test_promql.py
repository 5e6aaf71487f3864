"""PromQL label injection: spliced into the user's text, checked by re-parsing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile

import promql_parser
import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.promql import (
    PromQLError,
    add_label_matcher,
    inject_label,
    substitute_variables,
    validate,
)

M = 'environment=~"$environment"'


def inject(expr):
    return add_label_matcher(expr, "environment", "$environment")


@pytest.mark.parametrize("expr, expected", [
    ("up", "up{%s}" % M),
    ("x{}", "x{%s}" % M),
    ('sum(up{job="$job"})', 'sum(up{job="$job",%s})' % M),
    ('foo{a="b",}', 'foo{a="b",%s}' % M),
    ('{__name__=~"http_.*"}', '{__name__=~"http_.*",%s}' % M),
    # nested functions, $__rate_interval kept
    ('histogram_quantile(0.95, sum by (le) (rate(http_bucket{job="$job"}[$__rate_interval])))',
     'histogram_quantile(0.95, sum by (le) (rate(http_bucket{job="$job",%s}[$__rate_interval])))' % M),
    # binary expression over two selectors, newline kept
    ('sum(rate(a_sum[1m]))\n/ sum(rate(a_count[1m]))',
     'sum(rate(a_sum{%s}[1m]))\n/ sum(rate(a_count{%s}[1m]))' % (M, M)),
    # by/without label lists are not selectors
    ('sum without (instance) (foo)', 'sum without (instance) (foo{%s})' % M),
    ('sum(foo) by (job, $label)', 'sum(foo{%s}) by (job, $label)' % M),
    ('a * on(job) group_left(instance) b', 'a{%s} * on(job) group_left(instance) b{%s}' % (M, M)),
    # subquery, offset, @
    ('max_over_time(rate(foo[5m])[1h:$__interval])', 'max_over_time(rate(foo{%s}[5m])[1h:$__interval])' % M),
    ('rate(foo[5m] offset 1h)', 'rate(foo{%s}[5m] offset 1h)' % M),
    ('foo offset $offset', 'foo{%s} offset $offset' % M),
    ('foo @ start()', 'foo{%s} @ start()' % M),
    ('foo @ 1700000000', 'foo{%s} @ 1700000000' % M),
    # already filtered: left exactly as written (any operator)
    ('foo{environment="prod"}', 'foo{environment="prod"}'),
    ('foo{environment!~"dev"} / bar', 'foo{environment!~"dev"} / bar{%s}' % M),
    # variables in numbers, names and label values survive
    ('sum(foo) > $threshold', 'sum(foo{%s}) > $threshold' % M),
    ('topk($n, foo)', 'topk($n, foo{%s})' % M),
    ('${metric}{job="a"}', '${metric}{job="a",%s}' % M),
    ('node_cpu_${mode}_total', 'node_cpu_${mode}_total{%s}' % M),
    ('rate(foo[[[interval]]])', 'rate(foo{%s}[[[interval]]])' % M),
    ('rate(foo[${__range}])', 'rate(foo{%s}[${__range}])' % M),
    # recording rule names with colons, bool, unary minus, strings with $1, comments
    ('sum(rate(job:http:rate5m[5m]))', 'sum(rate(job:http:rate5m{%s}[5m]))' % M),
    ('foo > bool 1', 'foo{%s} > bool 1' % M),
    ('-foo', '-foo{%s}' % M),
    ('label_replace(up, "a", "$1", "b", "(.*)")', 'label_replace(up{%s}, "a", "$1", "b", "(.*)")' % M),
    ('count(up) # total\n', 'count(up{%s}) # total\n' % M),
    # Prometheus 3 or-matchers: every alternative gets the matcher
    ('foo{a="1" or b="2"}', 'foo{a="1",%s or b="2",%s}' % (M, M)),
    # nothing to filter
    ("vector(1)", "vector(1)"),
    ("1 + 1", "1 + 1"),
])
def test_add_label_matcher(expr, expected):
    result = inject(expr)
    assert result == expected
    assert validate(result) is None
    # idempotent: a second pass changes nothing
    assert inject(result) == result


def test_seed_queries_match_the_hand_written_ones():
    """The seed's own target form (section 5.4) comes out of its pre-filter queries."""
    expr = ('sum by (aws_ecs_task_id) (\n  jvm_memory_used_bytes{job="$job",area="heap",'
            'aws_ecs_task_id=~"$task_id"}\n)')
    assert inject(expr) == ('sum by (aws_ecs_task_id) (\n  jvm_memory_used_bytes{job="$job",area="heap",'
                            'aws_ecs_task_id=~"$task_id",environment=~"$environment"}\n)')


def test_every_selector_in_the_result_carries_the_matcher():
    expr = ('(sum(rate(a{job="x"}[5m])) or vector(0)) / ignoring(code) '
            'sum(increase(b[1h] offset 1d)) + avg_over_time(c[10m:1m])')
    result = promql_parser.parse(inject(expr))
    seen = []

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            seen.append(node)

    promql_parser.walk(result, visit)
    assert len(seen) == 3
    assert all(any(m.name == "environment" and m.value == "$environment" for m in s.matchers.matchers) for s in seen)


@pytest.mark.parametrize("expr", ["up{", "sum(up", "rate(up)", "", "foo{a=}", "sum by (le (foo)"])
def test_invalid_promql_raises(expr):
    with pytest.raises(PromQLError):
        inject(expr)


def test_other_operators_and_values_are_quoted():
    assert add_label_matcher("up", "env", 'a"b', op="=") == 'up{env="a\\"b"}'
    with pytest.raises(PromQLError, match="operator"):
        add_label_matcher("up", "env", "x", op="~")
    with pytest.raises(PromQLError, match="label name"):
        add_label_matcher("up", "1env", "x")


def test_variables_are_substituted_by_context():
    text = substitute_variables('rate(foo{a="$x"}[$__rate_interval]) > $t')
    assert '"$x"' in text  # strings untouched
    assert "[1m]" in text and "> 1" in text


# --------------------------------------------------------------------------- Grafana variables
# Every position a Grafana variable takes in a real dashboard query. The expected text is
# literal; the oracle for "still PromQL" is the real parser: the result, with each variable
# replaced the way Grafana would interpolate it (SAMPLES, below, written independently of the
# code under test), must parse with promql_parser and with Prometheus' own promtool.

SAMPLES = {
    "__rate_interval": "1m", "__interval": "30s", "__interval_ms": "30000", "__range": "1h",
    "__range_s": "3600", "__to": "1700000000", "step": "1m", "range": "2h", "off": "1d",
    "ts": "1700000000", "n": "5", "q": "0.95", "threshold": "0.5", "max": "100", "job": "api",
    "instance": "host:9100", "path": "/api", "src": "instance", "label": "job",
    "group": ["job", "instance"], "drop": "instance", "extra": "version", "metric": "http_requests_total",
    "prefix": "http", "mode": "idle", "environment": "prod", "query": "up",
}
_GRAFANA_VAR = re.compile(r"\$\{(\w+)(?::([^}]*))?\}|\$(\w+)|\[\[(\w+)(?::(\w+))?\]\]")


def grafana_interpolate(expr):
    """What Grafana sends to Prometheus for ``expr`` with the SAMPLES values."""
    def value(match):
        name = match.group(1) or match.group(3) or match.group(4)
        fmt = match.group(2) or match.group(5) or ""
        if name.isdigit():
            return match.group(0)  # $1 of label_replace: not a variable
        assert name in SAMPLES, "no sample value for $%s" % name
        sample = SAMPLES[name]
        values = sample if isinstance(sample, list) else [sample]
        if fmt == "csv":
            return ",".join(values)
        if fmt in ("regex", "pipe"):
            return "|".join(values)
        return ",".join(values)
    return _GRAFANA_VAR.sub(value, expr)


def promtool_parses(expr):
    """promtool's verdict on ``expr`` as a recording rule: None when valid, else its message."""
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool is not installed: the Prometheus parser check cannot run")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rules.yml")
        with open(path, "w") as handle:
            json.dump({"groups": [{"name": "case", "rules": [{"record": "case:expr", "expr": expr}]}]}, handle)
        proc = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True, timeout=60, check=False)
    return None if proc.returncode == 0 else (proc.stdout + proc.stderr)


VARIABLE_CASES = [
    # range of a range vector
    ("rate(x[$__rate_interval])", "rate(x{%s}[$__rate_interval])" % M),
    ("rate(x[$__interval])", "rate(x{%s}[$__interval])" % M),
    ("increase(x[${__range}])", "increase(x{%s}[${__range}])" % M),
    ("increase(x[${__range_s}s])", "increase(x{%s}[${__range_s}s])" % M),
    ("rate(x[[[range]]])", "rate(x{%s}[[[range]]])" % M),
    # subquery range and step
    ("max_over_time(rate(x[5m])[$__range:])", "max_over_time(rate(x{%s}[5m])[$__range:])" % M),
    ("max_over_time(rate(x[5m])[$__interval:$__interval])",
     "max_over_time(rate(x{%s}[5m])[$__interval:$__interval])" % M),
    ("max_over_time(rate(x[5m])[${__range}:1m])", "max_over_time(rate(x{%s}[5m])[${__range}:1m])" % M),
    ("avg_over_time(x[1h:${step}])", "avg_over_time(x{%s}[1h:${step}])" % M),
    ("max_over_time(x[[[range]]:[[step]]])", "max_over_time(x{%s}[[[range]]:[[step]]])" % M),
    ("max_over_time(rate(x[$__rate_interval])[${__range_s}s:$step])",
     "max_over_time(rate(x{%s}[$__rate_interval])[${__range_s}s:$step])" % M),
    # offset and @ modifiers
    ("x offset $__interval", "x{%s} offset $__interval" % M),
    ("rate(x[5m] offset ${__range})", "rate(x{%s}[5m] offset ${__range})" % M),
    ("x offset ${__range_s}s", "x{%s} offset ${__range_s}s" % M),
    ("sum(x offset [[off]])", "sum(x{%s} offset [[off]])" % M),
    ("x @ ${__to:date:seconds}", "x{%s} @ ${__to:date:seconds}" % M),
    ("rate(x[5m] @ $ts)", "rate(x{%s}[5m] @ $ts)" % M),
    ("x @ end() offset $__interval", "x{%s} @ end() offset $__interval" % M),
    ("max_over_time(x[$__range:] offset $off)", "max_over_time(x{%s}[$__range:] offset $off)" % M),
    # numbers
    ("topk($n, x)", "topk($n, x{%s})" % M),
    ("quantile($q, x)", "quantile($q, x{%s})" % M),
    ("histogram_quantile($q, sum by (le) (rate(x_bucket[$__rate_interval])))",
     "histogram_quantile($q, sum by (le) (rate(x_bucket{%s}[$__rate_interval])))" % M),
    ("x > $threshold", "x{%s} > $threshold" % M),
    ("clamp_max(x, $max)", "clamp_max(x{%s}, $max)" % M),
    ("topk($n, ${metric}{job=\"$job\"})", "topk($n, ${metric}{job=\"$job\",%s})" % M),
    ("x / ($__interval_ms / 1000)", "x{%s} / ($__interval_ms / 1000)" % M),
    # label values and regexes
    ('x{job="$job"}', 'x{job="$job",%s}' % M),
    ('x{job=~"${job:regex}"}', 'x{job=~"${job:regex}",%s}' % M),
    ('x{job=~"${job:pipe}"}', 'x{job=~"${job:pipe}",%s}' % M),
    ('x{instance=~"[[instance]]"}', 'x{instance=~"[[instance]]",%s}' % M),
    ('x{job=~"$job|static"}', 'x{job=~"$job|static",%s}' % M),
    ('x{path!~"${path}/.*"}', 'x{path!~"${path}/.*",%s}' % M),
    ('label_replace(x, "dst", "$1", "${src}", "(.*)")', 'label_replace(x{%s}, "dst", "$1", "${src}", "(.*)")' % M),
    ('x{$label="api"}', 'x{$label="api",%s}' % M),
    # by / without / on / group_left label lists
    ("sum by ($label) (x)", "sum by ($label) (x{%s})" % M),
    ("sum by (${group:csv}) (x)", "sum by (${group:csv}) (x{%s})" % M),
    ("sum by ([[label]]) (x)", "sum by ([[label]]) (x{%s})" % M),
    ("sum without (${drop}) (x)", "sum without (${drop}) (x{%s})" % M),
    ("sum(x) by (job, $label)", "sum(x{%s}) by (job, $label)" % M),
    ("a * on($label) group_left(${extra}) b", "a{%s} * on($label) group_left(${extra}) b{%s}" % (M, M)),
    ('count_values("$label", x)', 'count_values("$label", x{%s})' % M),
    # metric names built from variables
    ('${metric}{job="a"}', '${metric}{job="a",%s}' % M),
    ('$metric{job="a"}', '$metric{job="a",%s}' % M),
    ('[[metric]]{job="a"}', '[[metric]]{job="a",%s}' % M),
    ("node_cpu_${mode}_total", "node_cpu_${mode}_total{%s}" % M),
    ("rate(${prefix}_requests_total[5m])", "rate(${prefix}_requests_total{%s}[5m])" % M),
    ("rate(${prefix}_requests_total[$__rate_interval:])", "rate(${prefix}_requests_total{%s}[$__rate_interval:])" % M),
]


@pytest.mark.parametrize("expr, expected", VARIABLE_CASES)
def test_grafana_variables_in_every_position(expr, expected):
    result, notes = inject_label(expr, "environment", "$environment")
    assert result == expected
    assert notes == []
    assert inject(result) == result  # idempotent
    rendered = grafana_interpolate(result)
    seen = []
    promql_parser.walk(promql_parser.parse(rendered),
                       lambda node: seen.append(node) if isinstance(node, promql_parser.VectorSelector) else None)
    assert seen and all(any(m.name == "environment" and m.value == "prod" for m in s.matchers.matchers)
                        for s in seen), rendered
    assert promtool_parses(rendered) is None, rendered


@pytest.mark.parametrize("expr, fragment", [
    ("rate($metric[5m])", "$metric"),
    ("sum($metric)", "$metric"),
    ("$query", "$query"),
    ("sum(rate([[metric]][$__rate_interval]))", "[[metric]]"),
])
def test_a_metric_that_is_a_variable_is_left_alone_and_noted(expr, fragment):
    result, notes = inject_label(expr, "environment", "$environment")
    assert result == expr
    assert len(notes) == 1 and fragment in notes[0] and "environment" in notes[0]
    assert promtool_parses(grafana_interpolate(result)) is None


def test_a_variable_next_to_a_filtered_selector_is_noted_and_the_rest_injected():
    result, notes = inject_label("sum(rate(x[5m])) / sum(rate($metric[5m]))", "environment", "$environment")
    assert result == "sum(rate(x{%s}[5m])) / sum(rate($metric[5m]))" % M
    assert len(notes) == 1 and "$metric" in notes[0]


def test_the_same_query_is_parsed_once_and_notes_are_the_callers_own(monkeypatch):
    from ansible_collections.monitoring.stack.plugins.module_utils import promql

    calls = []
    real = promql.promql_parser.parse
    monkeypatch.setattr(promql.promql_parser, "parse", lambda text: calls.append(text) or real(text))
    monkeypatch.setattr(promql, "_INJECT_CACHE", {})
    expr = 'sum(rate($metric[5m])) / sum(rate(http_requests_total{job="api"}[5m]))'
    first, notes = promql.inject_label(expr, "env", "$env")
    parsed = len(calls)
    assert parsed >= 1 and first.count('env=~"$env"') == 1 and len(notes) == 1
    notes.append("changed by the caller")
    again, notes_again = promql.inject_label(expr, "env", "$env")
    assert (again, len(notes_again)) == (first, 1) and len(calls) == parsed  # answered from the cache
    promql.inject_label(expr, "env", "$other")
    assert len(calls) > parsed  # another matcher is another answer
