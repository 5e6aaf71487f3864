"""Unit tests of plugins/module_utils/relabel.py. The oracle for the semantics is a real
Prometheus (tests/integration/test_relabel_prometheus.py); these pin the RE2 translation and the
Go template expansion on literal expectations from the RE2 syntax and Go regexp documentation."""

from __future__ import annotations

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils import relabel


def test_joined_source_labels_match_an_empty_missing_label():
    """source_labels [__name__, le] read 'http_x;' for a series without le: '.*' drops it."""
    rule = {"source_labels": ["__name__", "le"], "regex": ".*", "action": "drop"}
    assert relabel.process({"__name__": "http_x"}, [rule]) == (None, 0)
    rule = {"source_labels": ["__name__", "le"], "regex": "http_x", "action": "drop"}
    assert relabel.process({"__name__": "http_x"}, [rule]) == ({"__name__": "http_x"}, None)


@pytest.mark.parametrize("pattern, text, matches", [
    ("http_", "http_requests_total", False),           # anchored at both ends
    ("a$", "a\n", False),                                # RE2 $ is the end of the text
    (r"\d+", "\u0663", False),                           # \d is ASCII in RE2
    (r"[[:alpha:]]+", "abC", True),
    ("x{,3}", "x{,3}", True),                            # not a repeat in RE2: literal
    ("a(?i)b|c", "C", True),                             # the flag reaches past |
    ("a(?i)b|c", "aB", True),
    (r"\Qa.b\E", "axb", False),
    (r"\x{41}\101", "AA", True),
    ("(?:http_.*)|(?:jvm_.*)", "jvm_x", True),          # the prometheus role's keep regex
    ("(?i:A)b", "ab", True),
    ("(?i:A)b", "aB", False),
])
def test_re2_translation(pattern, text, matches):
    assert bool(relabel.go_regex(pattern).match(text)) is matches


@pytest.mark.parametrize("pattern", [r"(a)\1", "a*+", "a**", "(?=a)", "(?<n>a)", "a{1001}", "(?x)a", "(a"])
def test_re2_refuses(pattern):
    with pytest.raises(relabel.RelabelError):
        relabel.go_regex(pattern)


@pytest.mark.parametrize("template, expected", [
    ("$1", "api"), ("${1}", "api"), ("$1x", ""), ("${1}x", "apix"), ("$$1", "$1"), ("$name-$2", "api-8080"),
    ("${name}", "api"), ("$", "$"), ("${1", "${1"), ("$9", ""),
])
def test_go_template_expansion(template, expected):
    match = relabel.go_regex("(?P<name>[a-z]+):([0-9]+)").match("api:8080")
    assert relabel.expand(template, match) == expected


def test_hashmod_is_md5_last_eight_bytes_big_endian():
    # md5("") = d41d8cd98f00b204e9800998ecf8427e; last 8 bytes 0xe9800998ecf8427e = 16825458760271544958
    rule = {"target_label": "shard", "modulus": 1000, "action": "hashmod"}
    assert relabel.process({"a": "b"}, [rule])[0]["shard"] == str(16825458760271544958 % 1000)


def test_defaults_and_empty_values():
    assert relabel.process({"a": "x"}, [{"source_labels": ["a"], "target_label": "b"}])[0] == {"a": "x", "b": "x"}
    # an empty replacement removes the target label
    assert relabel.process({"a": "x"}, [{"source_labels": ["z"], "target_label": "a"}])[0] == {}


def test_otel_dollar_escapes():
    rule = relabel.compile_rule({"source_labels": ["__name__"], "regex": "x$$", "action": "keep"}, dollar_escaped=True)
    assert relabel.process({"__name__": "x"}, [rule])[1] is None


@pytest.mark.parametrize("config, message", [
    ({"action": "nope"}, "unknown relabel action"),
    ({"action": "hashmod", "target_label": "s"}, "non-zero modulus"),
    ({"source_labels": ["a"]}, "requires 'target_label'"),
    ({"action": "labelkeep", "source_labels": ["a"]}, "requires only 'regex'"),
    ({"action": "keepequal", "source_labels": ["a"], "target_label": "b", "regex": "(.*)"}, "no other fields"),
])
def test_prometheus_validation_messages(config, message):
    with pytest.raises(relabel.RelabelError, match=message):
        relabel.compile_rule(config)


def test_otel_relabel_keeps_uses_prometheus_semantics_and_never_crashes_the_validator():
    from ansible_collections.monitoring.stack.plugins.module_utils import otel

    joined = [{"source_labels": ["__name__", "le"], "regex": ".*", "action": "drop"}]
    assert otel.relabel_keeps(joined, "http_x") == (False, 0)
    rename = [{"source_labels": ["__name__"], "regex": "http_(.*)", "target_label": "__name__", "replacement": "h_$$1"}]
    assert otel.relabel_keeps(rename, "http_x") == (False, 0)
    # a rule Prometheus refuses for another reason than its regex: no claim, no crash
    assert otel.relabel_keeps([{"action": "hashmod", "target_label": "s"}], "http_x") == (True, None)
    assert otel.validate_config({"receivers": {"prometheus": {"config": {"scrape_configs": [
        {"job_name": "j", "metric_relabel_configs": [{"action": "hashmod", "target_label": "s"}]}]}}}}) is not None
