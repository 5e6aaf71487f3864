from __future__ import annotations

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils import alertmanager_config as ac

BASE = {
    "global": {}, "route_receiver": "blackhole", "severity_receivers": {}, "extra_routes": [],
    "group_by": ["alertname", "environment", "service"], "group_wait": "30s", "group_interval": "5m",
    "repeat_interval": "4h", "templates": {}, "templates_dir": "/etc/alertmanager/templates",
    "inhibit_rules": [{"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'],
                       "equal": ["alertname", "instance"]}],
    "cluster_listen_address": "", "cluster_peers": [],
    "receivers": [
        {"name": "team-slack", "slack": {"api_url": "https://hooks.slack.com/services/T/B/X", "channel": "#alerts"}},
        {"name": "on-call", "pagerduty": {"routing_key": "k"}},
        {"name": "mail", "email": [{"to": "ops@example.com"}]},
        {"name": "hook", "webhook": {"url": "http://127.0.0.1:5001/"}},
    ],
}


def settings(**kw):
    out = dict(BASE)
    out.update(kw)
    return out


def test_routing_by_severity_with_receivers_by_kind_and_blackhole_default():
    config = ac.build_config(settings(severity_receivers={"critical": "on-call", "warning": "team-slack"},
                                      templates={"slack.tmpl": "x"}))
    assert config["route"]["receiver"] == "blackhole"
    assert config["route"]["routes"] == [{"receiver": "on-call", "matchers": ['severity="critical"']},
                                         {"receiver": "team-slack", "matchers": ['severity="warning"']}]
    receivers = {r["name"]: r for r in config["receivers"]}
    assert receivers["team-slack"]["slack_configs"] == [
        {"api_url": "https://hooks.slack.com/services/T/B/X", "channel": "#alerts", "send_resolved": True}]
    assert receivers["on-call"]["pagerduty_configs"][0]["routing_key"] == "k"
    assert receivers["mail"]["email_configs"] == [{"to": "ops@example.com"}]
    assert receivers["hook"]["webhook_configs"][0]["url"] == "http://127.0.0.1:5001/"
    assert receivers["blackhole"] == {"name": "blackhole"}
    assert config["inhibit_rules"][0]["equal"] == ["alertname", "instance"]
    assert config["templates"] == ["/etc/alertmanager/templates/*.tmpl"]
    assert ac.config_problems(settings(severity_receivers={"critical": "on-call"})) == []


@pytest.mark.parametrize("change, expected", [
    ({"receivers": [{"name": "s", "slack": {"channel": "#a"}}]}, "alertmanager_receivers[0] (s): slack[0] needs api_url"),
    ({"receivers": [{"name": "p", "pagerduty": {}}]}, "pagerduty[0] needs routing_key"),
    ({"receivers": [{"name": "w", "webhook": {}}]}, "webhook[0] needs url"),
    ({"receivers": [{"name": "e", "email": {"from": "x"}}]}, "email[0] needs to"),
    ({"receivers": [{"name": "x", "sms": {}}]}, "unknown keys sms"),
    ({"receivers": [{"name": "a"}, {"name": "a"}]}, "duplicate receiver name"),
    ({"severity_receivers": {"critical": "nobody"}}, "alertmanager_severity_receivers.critical: no receiver named 'nobody'"),
    ({"route_receiver": "nobody"}, "alertmanager_route_receiver: no receiver named 'nobody'"),
    ({"group_wait": "soon"}, "alertmanager_group_wait: 'soon' is not a duration"),
    ({"group_by": ["bad-label"]}, "alertmanager_group_by: 'bad-label'"),
    ({"cluster_peers": ["10.0.0.1:9094"]}, "alertmanager_cluster_peers: needs alertmanager_cluster_listen_address"),
    ({"templates": {"x.txt": ""}}, "alertmanager_templates: 'x.txt'"),
])
def test_problems_name_the_variable(change, expected):
    problems = ac.config_problems(settings(**change))
    assert any(expected in p for p in problems), problems


def test_problems_do_not_print_secrets():
    secret = "https://hooks.slack.com/services/SECRET"
    problems = ac.config_problems(settings(receivers=[{"name": "s", "slack": {"api_url": secret}, "pagerduty": {}}]))
    assert problems and all(secret not in p for p in problems)
