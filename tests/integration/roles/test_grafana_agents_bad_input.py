"""Bad input to the grafana, loki, alloy and promtail roles: a clear error naming the variable,
before anything changes, never a crash.

- A string where a list is expected, as ``-e name=a,b`` gives it: role argument validation splits
  the string to check it but leaves the variable a string, which the tasks would use character
  by character. Every list variable of these roles is refused then (or by argument validation,
  for lists of dicts).
- ``grafana_ini: {server: x}`` replaced a whole section by a string and crashed a filter
  (``'str' object has no attribute 'get'``).

Each case runs the role in check mode against localhost (tests/support/playbook.py).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

PASSWORD = "bad-input-test-password"
AGENT = {
    "monitoring_environment": "dev",
    "monitoring_loki_push_url": "http://127.0.0.63:3100/loki/api/v1/push",
}

# (role, extravars, -e strings as a user types them, expected message)
CASES = [
    ("grafana", {"grafana_admin_password": PASSWORD}, ["grafana_plugins=grafana-piechart-panel,grafana-clock-panel"],
     "grafana_plugins: must be a list, got the string 'grafana-piechart-panel,grafana-clock-panel'"),
    ("grafana", {"grafana_admin_password": PASSWORD}, ["grafana_users=admin@example.com"],
     "grafana_users"),
    ("grafana", {"grafana_admin_password": PASSWORD}, ["grafana_datasources=Prometheus"],
     "grafana_datasources"),
    ("grafana", {"grafana_admin_password": PASSWORD, "grafana_ini": {"server": "x"}}, [],
     "grafana_ini.server: must be a mapping of settings ({key: value}) since [server] is a grafana.ini section, got str"),
    ("grafana", {"grafana_admin_password": PASSWORD, "grafana_ini": {"paths": "/srv/grafana"}}, [],
     "grafana_ini.paths: must be a mapping of settings ({key: value}) since [paths] is a grafana.ini section"),
    ("grafana", {"grafana_admin_password": PASSWORD, "grafana_ini": {"security": "strict"}}, [],
     "grafana_ini.security: must be a mapping of settings"),
    ("loki", {}, ["loki_schema_configs=v13"], "loki_schema_configs"),
    ("alloy", dict(AGENT, monitoring_log_agent="alloy"), ["alloy_user_groups=adm,systemd-journal"],
     "alloy_user_groups: must be a list, got the string 'adm,systemd-journal'"),
    ("alloy", dict(AGENT, monitoring_log_agent="alloy"), ["monitoring_log_files=/var/log/app.log"],
     "alloy_log_files"),
    ("promtail", dict(AGENT, monitoring_log_agent="promtail"), ["promtail_user_groups=adm"],
     "promtail_user_groups: must be a list, got the string 'adm'"),
    ("promtail", dict(AGENT, monitoring_log_agent="promtail"), ["monitoring_log_stages=regex"],
     "promtail_log_stages"),
    # The package method's repository key, checked before the repository is written.
    ("alloy", dict(AGENT, monitoring_log_agent="alloy", alloy_install_method="package",
                   alloy_repository_key_checksum="sha256:1234"), [], "alloy_repository_key_checksum"),
    ("promtail", dict(AGENT, monitoring_log_agent="promtail", promtail_install_method="package",
                      promtail_repository_key_checksum="md5:abc"), [], "promtail_repository_key_checksum"),
    ("loki", {"loki_repository_key_checksum": "sha256:zz"}, [], "loki_repository_key_checksum"),
]


@pytest.mark.parametrize("role, extravars, cli, expected", CASES,
                         ids=["%s-%s" % (c[0], (c[2] or [c[3]])[0].split("=")[0].split(":")[0]) for c in CASES])
def test_bad_input_is_refused_by_name(playbook, role, extravars, cli, expected):
    extra_args = []
    for item in cli:
        extra_args += ["-e", item]
    result = playbook(
        [{"name": "bad input", "hosts": "localhost", "gather_facts": False,
          "roles": [{"role": "monitoring.stack." + role}]}],
        extravars=extravars, check=True, extra_args=extra_args)
    assert result.rc != 0, result
    messages = " | ".join(msg for _name, msg in result.failures())
    assert expected in messages, result
    assert "has no attribute" not in messages and "Traceback" not in result.stdout + result.stderr
    assert result.changed() == 0, result
    assert PASSWORD not in result.stdout + result.stderr


def test_a_list_given_as_json_on_the_command_line_passes(playbook):
    """The form the message recommends works: the same variable as a JSON list passes the check."""
    result = playbook(
        [{"name": "good input", "hosts": "localhost", "gather_facts": False,
          "roles": [{"role": "monitoring.stack.alloy"}]}],
        extravars=dict(AGENT, monitoring_log_agent="alloy"), check=True,
        extra_args=["-e", '{"alloy_user_groups": ["adm", "systemd-journal"]}', "--tags", "alloy_configure"])
    assert result.failures() == [], result
    checked = [res for name, res in result.results() if name.endswith(
        "Check the list settings of the role, the install method, its inputs and the listen addresses")]
    assert len(checked) == 1 and not checked[0].get("failed"), result
