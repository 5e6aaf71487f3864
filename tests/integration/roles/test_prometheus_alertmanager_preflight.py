"""Bad input to the prometheus and alertmanager roles fails in preflight, before any change.

Through the shared harness (tests/support/role_preflight.py): each case runs the role in check
mode against localhost, and asserts that the run failed, that the message names the variable to
fix, and that nothing changed.
Inventory-driven cases (scrape targets) use an inventory where app1 is an application host
(it is never contacted: the play runs on localhost only).
"""

from __future__ import annotations

import pytest

from tests.support.role_preflight import case_id

SLACK_URL = "https://hooks.slack.com/services/T000/B000/NOT-PRINTED"

CASES = [
    ("prometheus", {}, [{"service": "web-api", "metrics_path": "/actuator/prometheus"}],
     "monitoring_scrape_targets of app1[0]: port is required (service web-api)"),
    ("prometheus", {}, [{"service": "web-api", "port": 8080, "labels": {"team-name": "a"}}],
     "monitoring_scrape_targets of app1[0].labels: 'team-name' is not a valid Prometheus label name"),
    ("prometheus", {"prometheus_external_labels": {"2nd": "x"}}, None,
     "prometheus_external_labels: '2nd' is not a valid Prometheus label name"),
    ("prometheus", {"prometheus_extra_scrape_configs": [{"job_name": "web-api", "static_configs": []}]},
     [{"service": "web-api", "port": 8080}],
     "prometheus_extra_scrape_configs: duplicate scrape job name 'web-api' (also from monitoring_scrape_targets)"),
    ("prometheus", {"prometheus_rule_packs": ["service", "kubernetes"]}, None,
     "prometheus_rule_packs: unknown rule pack 'kubernetes'"),
    ("prometheus", {"prometheus_retention_time": "15 days"}, None,
     "prometheus_retention_time: '15 days' is not a duration"),
    ("prometheus", {"prometheus_retention_size": "10 gigs"}, None,
     "prometheus_retention_size: '10 gigs' is not a size"),
    ("prometheus", {"prometheus_rule_for_overrides": {"ServiceDwon": "15s"}}, None,
     "prometheus_rule_for_overrides: no selected rule has the alert 'ServiceDwon'"),
    ("prometheus", {"prometheus_listen_address": "9090"}, None, "prometheus_listen_address: must be host:port"),
    ("alertmanager", {"alertmanager_receivers": [{"name": "team", "slack": {"channel": "#alerts"}}],
                      "alertmanager_severity_receivers": {"warning": "team"}}, None,
     "alertmanager_receivers[0] (team): slack[0] needs api_url"),
    ("alertmanager", {"alertmanager_receivers": [{"name": "team", "slack": {"api_url": SLACK_URL}}],
                      "alertmanager_severity_receivers": {"critical": "pager"}}, None,
     "alertmanager_severity_receivers.critical: no receiver named 'pager'"),
    ("alertmanager", {"alertmanager_cluster_peers": ["10.0.0.2:9094"]}, None,
     "alertmanager_cluster_peers: needs alertmanager_cluster_listen_address"),
]


@pytest.mark.slow
@pytest.mark.parametrize("role, extravars, targets, expected", CASES, ids=[case_id(c[0], c[3]) for c in CASES])
def test_bad_input_fails_before_any_change(role_preflight, role, extravars, targets, expected):
    role_preflight.fails_before_any_change(role, extravars, expected, inventory=True, app_targets=targets,
                                           secrets=[SLACK_URL])
