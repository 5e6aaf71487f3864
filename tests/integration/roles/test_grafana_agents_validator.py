"""A missing validator is a visible warning, never a silent pass (loki, alloy, promtail).

Each role checks its config with the product's own command before writing it (loki
-verify-config, alloy validate, promtail -check-syntax) when the binary is on the host. Without
it, the run must say so, in a task that runs and whose message starts with WARNING. With a
binary present, the product's command is used as the write's validator and no warning shows:
a stand-in executable (a shell script, not the product) records its arguments to prove it.
The roles' real configure tasks run on localhost with every path in a temporary directory.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

AGENT = {"monitoring_environment": "dev", "monitoring_loki_push_url": "http://127.0.0.1:3100/loki/api/v1/push"}

ROLES = {
    # role: (binary file name in <role>_binary_dir, the product's check, variables)
    "loki": ("loki-linux-amd64", "-verify-config -config.file=", {
        "loki_install_method": "archive", "loki_service_state": "stopped"}),
    "alloy": ("alloy", "validate ", dict(AGENT, monitoring_log_agent="alloy", alloy_service_state="stopped")),
    "promtail": ("promtail", "-check-syntax -config.file=",
                 dict(AGENT, monitoring_log_agent="promtail", promtail_service_state="stopped")),
}


def _configure(playbook, tmp_path, role, extravars):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (tmp_path / "etc").mkdir(exist_ok=True)
    variables = dict(extravars, **{role + "_config_dir": str(tmp_path / "etc"), role + "_binary_dir": str(bin_dir),
                                   role + "_system_group": "root"})
    return playbook(
        [{"name": "configure", "hosts": "localhost", "gather_facts": True,
          "tasks": [{"name": "Configure", "ansible.builtin.include_role": {
              "name": "monitoring.stack." + role, "tasks_from": "configure"}}]}],
        extravars=variables)


def _warnings(result):
    return [res for name, res in result.results() if "own checker cannot run" in name]


@pytest.mark.parametrize("role", sorted(ROLES))
def test_missing_validator_is_a_visible_warning(playbook, tmp_path, role):
    binary, _check, extravars = ROLES[role]
    result = _configure(playbook, tmp_path, role, extravars)
    assert result.rc == 0, result
    warning = _warnings(result)
    assert len(warning) == 1 and not warning[0].get("skipped"), result
    assert warning[0]["msg"].startswith("WARNING: ") and binary in warning[0]["msg"], warning[0]
    assert "checked only by monitoring.stack's structural validator" in warning[0]["msg"]


@pytest.mark.parametrize("role", sorted(ROLES))
def test_present_validator_checks_the_config_without_a_warning(playbook, tmp_path, role):
    binary, check, extravars = ROLES[role]
    record = tmp_path / "calls.txt"
    script = tmp_path / "bin" / binary
    script.parent.mkdir()
    # A stand-in for the product's binary: records how it was called and accepts the config.
    script.write_text("#!/bin/sh\necho \"$@\" >> %s\nexit 0\n" % record)
    script.chmod(0o755)
    result = _configure(playbook, tmp_path, role, extravars)
    assert result.rc == 0, result
    warning = _warnings(result)
    assert len(warning) == 1 and warning[0].get("skipped"), result
    calls = record.read_text().splitlines()
    assert len(calls) == 1 and calls[0].startswith(check.strip().split()[0]) and check in calls[0] + " ", calls
