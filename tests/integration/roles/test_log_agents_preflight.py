"""Bad log agent input fails in preflight, before anything changes on the host.

Through the shared harness (tests/support/role_preflight.py): the cases of a role run in one
check-mode run against localhost, a host per case, and each case asserts that the run failed, that the failure names the variable
to fix, and that no task reported a change.
"""

from __future__ import annotations

import pytest

from tests.support.role_preflight import CasesByRole, case_id

GOOD = {
    "monitoring_environment": "dev",
    "monitoring_loki_push_url": "http://127.0.0.63:3100/loki/api/v1/push",
    "monitoring_log_files": [{"path": "/var/log/photogather/*.log", "service": "photogather-api"}],
}

CASES = [
    ("promtail", {"monitoring_log_files": [{"path": "logs/app.log", "service": "web"}]},
     "promtail_log_files[0].path: must be an absolute path, got 'logs/app.log'"),
    ("log_agent", {"monitoring_log_agent": "fluentd"},
     'monitoring_log_agent: unknown log agent "fluentd" (choose alloy or promtail)'),
    ("alloy", {"monitoring_log_agent": "fluentd"}, "monitoring_log_agent: unknown log agent 'fluentd'"),
    ("alloy", {"monitoring_log_agent": "promtail"},
     "monitoring_log_agent: this host runs promtail, but the monitoring.stack.alloy role was applied"),
    ("alloy", {"monitoring_loki_push_url": ""}, "alloy_loki_push_url: required"),
    ("alloy", {"alloy_listen_address": "12345"}, "alloy_listen_address: must be host:port"),
    ("promtail", {"monitoring_log_stages": [{"type": "labels", "names": ["level"]}]},
     "promtail_log_stages[0].names: 'level' is not extracted"),
]


@pytest.fixture(scope="module")
def bad_input_runs(tmp_path_factory):
    """Each role's cases in one ansible-playbook run per role, made on first use."""
    by_role = {}
    for role, extravars, _expected in CASES:
        by_role.setdefault(role, []).append(dict(GOOD, **extravars))
    return CasesByRole(by_role, tmp_path_factory.mktemp("log-agent-cases"))


def _index_in_role(position):
    """The index of CASES[position] among its role's cases."""
    role = CASES[position][0]
    return [c[0] for c in CASES[:position]].count(role)


@pytest.mark.slow
@pytest.mark.parametrize("position", range(len(CASES)), ids=[case_id(c[0], c[2]) for c in CASES])
def test_bad_input_fails_before_any_change(bad_input_runs, position):
    role, _extravars, expected = CASES[position]
    bad_input_runs(role).fails_before_any_change(_index_in_role(position), expected)


@pytest.mark.slow
@pytest.mark.parametrize("role", ["alloy", "promtail"])
def test_good_input_passes_preflight(role_preflight, role):
    """The cases above fail for their own reason: the same base input passes every preflight check."""
    result = role_preflight.run(role, dict(GOOD, monitoring_log_agent=role), extra_args=["--tags", role + "_configure"])
    names = [name for name, _res in result.results()]
    assert result.failures() == [], result
    assert any("structural validator" in name for name in names), names
