from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils import alertmanager_config as ac
from tests.support.real_tools import amtool_check_config

BASE = {
    "global": {"smtp_smarthost": "127.0.0.1:25", "smtp_from": "alertmanager@example.com"},
    "route_receiver": "blackhole", "severity_receivers": {}, "extra_routes": [],
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
    config = amtool_check_config(ac.build_config(settings(severity_receivers={"critical": "on-call", "warning": "team-slack"},
                                                          templates={"slack.tmpl": "x"})))
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
    ({"global": {}}, "alertmanager_receivers[2] (mail): email[0] needs smarthost (or alertmanager_global.smtp_smarthost)"),
    ({"global": {"smtp_smarthost": "127.0.0.1:25"}},
     "alertmanager_receivers[2] (mail): email[0] needs from (or alertmanager_global.smtp_from)"),
    ({"receivers": [{"name": "w", "webhook": {"url": "127.0.0.1:5001/hook"}}]},
     "alertmanager_receivers[0] (w): webhook[0].url has no scheme (http:// or https://)"),
    ({"receivers": [{"name": "s", "slack": [{"api_url": "https://hooks.slack.com/x"}, {"api_url": "hooks.slack.com/y"}]}]},
     "alertmanager_receivers[0] (s): slack[1].api_url has no scheme"),
])
def test_problems_name_the_variable(change, expected):
    problems = ac.config_problems(settings(**change))
    assert any(expected in p for p in problems), problems


def test_email_with_its_own_smarthost_and_from_needs_no_global():
    mail = {"name": "mail", "email": {"to": "ops@example.com", "smarthost": "127.0.0.1:25", "from": "am@example.com"}}
    config = amtool_check_config(ac.build_config(settings(**{"global": {}, "receivers": [mail]})))
    assert config["receivers"][0]["email_configs"][0]["smarthost"] == "127.0.0.1:25"
    assert ac.config_problems(settings(**{"global": {}, "receivers": [mail]})) == []


def test_problems_do_not_print_secrets():
    secret = "https://hooks.slack.com/services/SECRET"
    problems = ac.config_problems(settings(receivers=[{"name": "s", "slack": {"api_url": secret}, "pagerduty": {}}]))
    assert problems and all(secret not in p for p in problems)
    problems = ac.config_problems(settings(receivers=[{"name": "w", "webhook": {"url": "hooks.example.com/SECRET"}}]))
    assert problems and all("SECRET" not in p for p in problems)


def _amtool_check(tmp_path, config):
    """amtool check-config on a rendered config: (return code, everything it printed)."""
    amtool = shutil.which("amtool")
    if not amtool:
        pytest.skip("amtool is not installed: the rendered config cannot be checked by Alertmanager's own tool")
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, check=False, timeout=60)
    return proc.returncode, proc.stdout + proc.stderr


SENTINEL_HOOK = "https://hooks.slack.com/services/T0SENTINEL/B0SENTINEL/xoxb-SENTINEL-%zz"


def test_amtool_rejection_is_redacted_but_keeps_its_reason(tmp_path):
    config = ac.build_config(settings(receivers=[
        {"name": "team-slack", "slack": {"api_url": SENTINEL_HOOK, "channel": "#alerts"}},
        {"name": "on-call", "pagerduty": {"routing_key": "SENTINEL-ROUTING-KEY"}},
    ], severity_receivers={"critical": "on-call", "warning": "team-slack"}))
    rc, output = _amtool_check(tmp_path, config)
    assert rc != 0 and SENTINEL_HOOK in output, output  # amtool itself prints the whole webhook URL
    redacted = ac.redact_secrets(output, ac.secret_values(config))
    assert "SENTINEL" not in redacted, redacted
    assert 'invalid URL escape "%zz"' in redacted, redacted
    assert "<redacted>" in redacted


def test_secret_values_of_every_receiver_kind_and_the_http_client():
    config = {"global": {"smtp_auth_password": "s-smtp", "slack_api_url": "https://hooks.slack.com/g"},
              "receivers": [{"name": "r",
                             "webhook_configs": [{"url": "http://u:s-pw@h/x",
                                                  "http_config": {"authorization": {"credentials": "s-tok"},
                                                                  "oauth2": {"client_secret": "s-oauth",
                                                                             "client_id": "visible"}}}],
                             "opsgenie_configs": [{"api_key": "s-genie"}],
                             "email_configs": [{"to": "ops@example.com", "auth_password": "s-mail"}]}]}
    found = set(ac.secret_values(config))
    assert {"s-smtp", "https://hooks.slack.com/g", "http://u:s-pw@h/x", "s-tok", "s-oauth", "s-genie",
            "s-mail"} <= found
    assert "visible" not in found and "ops@example.com" not in found
    masked = ac.mask_secrets(config)
    assert "s-" not in yaml.safe_dump(masked) and "visible" in yaml.safe_dump(masked)
    assert config["global"]["smtp_auth_password"] == "s-smtp"  # the input is not modified
