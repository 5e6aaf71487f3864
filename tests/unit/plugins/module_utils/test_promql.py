"""PromQL label injection: spliced into the user's text, checked by re-parsing."""

from __future__ import annotations

import promql_parser
import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.promql import (
    PromQLError,
    add_label_matcher,
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
