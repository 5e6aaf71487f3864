"""Generated configs use matchers, source_matchers/target_matchers and time_intervals only.

Deprecated match/match_re keys in the role's data are rewritten as matchers; the real amtool
is the oracle that the rewrite routes the same alerts to the same receiver (`amtool config
routes test` on the original and on the rewritten config, for the same label sets), on every
version line that is staged.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils import alertmanager_config as ac
from tests.support.playbook import REPO
from tests.support.real_tools import amtool_check_config

sys.path.insert(0, str(REPO / "tests" / "hosts"))
import version_lines  # noqa: E402  pylint: disable=wrong-import-position

DEPRECATED_ROUTE_KEYS = ("match", "match_re")
DEPRECATED_INHIBIT_KEYS = ("source_match", "source_match_re", "target_match", "target_match_re")

LEGACY_ROUTES = [
    {"receiver": "quoted", "match": {"service": 'say "hi"\\now'}},
    {"receiver": "regex", "match_re": {"instance": r"db-\d+\.example\.com"}, "match": {"environment": "prod"}},
    {"receiver": "nested", "match": {"team": "a"}, "routes": [
        {"receiver": "quoted", "match_re": {"severity": "critical|page"}, "mute_time_intervals": ["weekends"]}]},
]
LEGACY_INHIBIT = [{"source_match": {"severity": "critical"}, "target_match_re": {"severity": "warning|info"},
                   "equal": ["alertname"]}]
TIME_INTERVALS = [{"name": "weekends", "time_intervals": [{"weekdays": ["saturday", "sunday"]}]}]

# label sets -> the receiver both configs must pick
LABEL_SETS = [
    {"service": 'say "hi"\\now'},
    {"service": "say hi"},
    {"instance": "db-12.example.com", "environment": "prod"},
    {"instance": "db-12xexample.com", "environment": "prod"},
    {"instance": "db-12.example.com", "environment": "dev"},
    {"team": "a", "severity": "page"},
    {"team": "a", "severity": "warning"},
    {"team": "b", "severity": "critical"},
]


def _settings():
    return {"global": {}, "receivers": [{"name": n} for n in ("default", "quoted", "regex", "nested")],
            "route_receiver": "default", "severity_receivers": {}, "extra_routes": LEGACY_ROUTES,
            "group_by": ["alertname"], "group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h",
            "inhibit_rules": LEGACY_INHIBIT, "time_intervals": TIME_INTERVALS, "templates": {},
            "templates_dir": "/etc/alertmanager/templates", "cluster_listen_address": "", "cluster_peers": []}


def _legacy_config():
    config = ac.build_config(dict(_settings(), extra_routes=[], inhibit_rules=[], time_intervals=[]))
    config["route"]["routes"] = LEGACY_ROUTES
    config["inhibit_rules"] = LEGACY_INHIBIT
    config["mute_time_intervals"] = TIME_INTERVALS
    return config


def _walk_routes(route):
    yield route
    for child in route.get("routes") or []:
        yield from _walk_routes(child)


def _go_quoted(value):
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


@pytest.fixture(scope="module", params=version_lines.LINES)
def amtool(request):
    try:
        version_lines.stage(request.param)
    except (OSError, subprocess.SubprocessError, SystemExit) as exc:
        pytest.skip("the %s line could not be staged: %s" % (request.param, exc))
    path = os.path.join(version_lines.bindir(request.param), "amtool")
    if not os.path.exists(path):
        pytest.skip("no amtool in the %s line" % request.param)
    return path


def _routes_test(amtool, path, labels):
    proc = subprocess.run([amtool, "config", "routes", "test", "--config.file=%s" % path]
                          + ["%s=%s" % (k, _go_quoted(v)) for k, v in sorted(labels.items())],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_rendered_config_has_no_deprecated_keys():
    config = ac.build_config(_settings())
    assert "mute_time_intervals" not in config
    assert config["time_intervals"] == TIME_INTERVALS
    routes = list(_walk_routes(config["route"]))
    assert len(routes) == 5
    for route in routes:
        assert not set(DEPRECATED_ROUTE_KEYS) & set(route), route
    assert config["route"]["routes"][1]["matchers"] == ['environment="prod"', 'instance=~"db-\\\\d+\\\\.example\\\\.com"']
    assert config["route"]["routes"][2]["routes"][0]["mute_time_intervals"] == ["weekends"]  # a route key, not deprecated
    (rule,) = config["inhibit_rules"]
    assert not set(DEPRECATED_INHIBIT_KEYS) & set(rule), rule
    assert rule == {"source_matchers": ['severity="critical"'], "target_matchers": ['severity=~"warning|info"'],
                    "equal": ["alertname"]}
    assert LEGACY_ROUTES[0] == {"receiver": "quoted", "match": {"service": 'say "hi"\\now'}}  # input unchanged


def test_rewritten_routes_pick_the_same_receiver_as_the_deprecated_ones(amtool, tmp_path):
    legacy, modern = tmp_path / "legacy.yml", tmp_path / "modern.yml"
    legacy.write_text(yaml.safe_dump(_legacy_config()))
    modern.write_text(yaml.safe_dump(amtool_check_config(ac.build_config(_settings()), amtool=amtool)))
    picked = {}
    for labels in LABEL_SETS:
        expected = _routes_test(amtool, legacy, labels)
        assert _routes_test(amtool, modern, labels) == expected, labels
        picked[expected] = picked.get(expected, 0) + 1
    # The label sets reach every receiver: the comparison is not between two defaults.
    assert set(picked) == {"default", "quoted", "regex", "nested"}, picked


@pytest.mark.parametrize("change, expected", [
    ({"extra_routes": [{"receiver": "default", "match": ["severity=critical"]}]},
     "alertmanager_extra_routes[0].match: must be a mapping of label name: value"),
    ({"extra_routes": [{"receiver": "default", "routes": [{"receiver": "default", "mute_time_intervals": ["nights"]}]}]},
     "alertmanager_extra_routes[0].routes[0].mute_time_intervals: no time interval named 'nights'"),
    ({"extra_routes": [{"receiver": "default", "routes": [{"receiver": "nobody"}]}]},
     "alertmanager_extra_routes[0].routes[0]: no receiver named 'nobody'"),
    ({"inhibit_rules": [{"target_match_re": "severity=warning"}]},
     "alertmanager_inhibit_rules[0].target_match_re: must be a mapping of label name: value"),
    ({"time_intervals": [{"name": "weekends"}]}, "alertmanager_time_intervals[0]: needs a name and a time_intervals list"),
])
def test_bad_routes_and_intervals_name_the_variable(change, expected):
    problems = ac.config_problems(dict(_settings(), **change))
    assert any(expected in p for p in problems), problems
