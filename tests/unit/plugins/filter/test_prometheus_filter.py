"""The filter plugin's own parts: pack files, bcrypt through libcrypt, inventory extraction."""

from __future__ import annotations

import shutil

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.filter import prometheus as f
from tests.support.real_tools import promtool_check_rules


def test_pack_names_come_from_the_rules_directory():
    assert {"service", "node", "prometheus", "http_micrometer", "http_prometheus_client"} <= set(
        f.prometheus_rule_pack_names())


def test_rule_file_from_the_shipped_packs_with_override():
    out = promtool_check_rules(f.prometheus_rule_file(["service"], {"ServiceDown": "15s"}, []))
    (rule,) = out["groups"][0]["rules"]
    assert rule["alert"] == "ServiceDown" and rule["for"] == "15s"
    assert "{{ $labels.instance }}" in rule["annotations"]["summary"]
    assert f.prometheus_rule_problems(["service", "nope"], {}, [])[0].startswith(
        "prometheus_rule_packs: unknown rule pack 'nope'")


def test_bcrypt_hash_verifies_and_is_kept_across_runs():
    try:
        first = f.prometheus_web_users([{"name": "admin", "password": "s3cret"}], {})["admin"]
    except Exception as exc:  # pragma: no cover - controller without libcrypt bcrypt
        pytest.skip("libcrypt without bcrypt on this controller: %s" % exc)
    assert first.startswith("$2b$10$") and len(first) == 60
    assert f._bcrypt_verify("s3cret", first) and not f._bcrypt_verify("other", first)
    again = f.prometheus_web_users([{"name": "admin", "password": "s3cret"}], {"admin": first})["admin"]
    assert again == first
    changed = f.prometheus_web_users([{"name": "admin", "password": "new"}], {"admin": first})["admin"]
    assert changed != first and f._bcrypt_verify("new", changed)
    assert "basic_auth_users" in yaml.safe_load(yaml.safe_dump(f.prometheus_web_config({"admin": first})))


def test_hosts_from_groups_and_hostvars():
    groups = {"app_hosts": ["app1"], "all": ["app1", "mon"], "alertmanager": ["mon"]}
    hostvars = {"app1": {"ansible_host": "10.0.0.1", "monitoring_environment": "prod",
                         "monitoring_scrape_targets": [{"service": "web", "port": 80}]},
                "mon": {"alertmanager_listen_address": "0.0.0.0:9093"}}
    hosts = f.prometheus_hosts(groups, hostvars, ["app_hosts"], ["all"], ["alertmanager"])
    assert [h["name"] for h in hosts] == ["app1", "mon"]
    assert hosts[0]["address"] == "10.0.0.1" and hosts[0]["in_scrape_groups"] and not hosts[1]["in_scrape_groups"]
    assert hosts[1]["in_alertmanager_groups"] and hosts[1]["address"] == "mon"


BROKEN = [{"name": "mine", "rules": [{"alert": "Broken", "expr": "rate(http_requests_total[5m]"},
                                     {"alert": "Fine", "expr": "sum by (job) (rate(http_requests_total[5m])) > 1"}]}]


@pytest.mark.parametrize("parser", ["promql_parser", "promtool"])
def test_extra_rules_with_invalid_promql_fail_preflight(monkeypatch, parser):
    if parser == "promtool":
        if not shutil.which("promtool"):
            pytest.skip("promtool is not installed: the fallback parser cannot run")
        monkeypatch.setattr(f, "promql_parser", None)
    elif f.promql_parser is None:
        pytest.skip("the promql-parser package is not installed")
    (problem,) = f.prometheus_rule_problems(["service"], {}, BROKEN)
    assert problem.startswith("prometheus_extra_rules[0].rules[0] (Broken): invalid PromQL in expr: "), problem
    assert f.prometheus_promql_checked()


def test_without_a_parser_preflight_says_so(monkeypatch):
    monkeypatch.setattr(f, "promql_parser", None)
    monkeypatch.setattr(f.shutil, "which", lambda name: None)
    assert not f.prometheus_promql_checked()
    assert f.prometheus_rule_problems(["service"], {}, BROKEN) == []


@pytest.mark.parametrize("listen, url", [
    ("0.0.0.0:9090", "http://127.0.0.1:9090"), (":9093", "http://127.0.0.1:9093"),
    ("[::]:9090", "http://[::1]:9090"), ("127.0.0.31:19090", "http://127.0.0.31:19090"),
])
def test_the_roles_reach_their_own_listen_address_on_loopback(listen, url):
    filters = f.FilterModule().filters()
    assert filters["local_url"](listen) == url
    assert filters["local_url"](listen, "https", "/-/reload") == url.replace("http:", "https:") + "/-/reload"
    assert filters["connect_address"](listen) == url.split("://", 1)[1]
