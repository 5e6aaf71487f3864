"""The one bad-input harness of the role tests (fixture ``role_preflight`` in
tests/integration/roles/conftest.py).

``RolePreflight.fails_before_any_change(role, extravars, expected)`` runs a role against
localhost (in check mode unless told otherwise, so even a broken preflight could not change
this machine) and asserts what every bad-input case must show: the run failed, a failure
message contains ``expected`` (the variable to fix and why), no task reported a change, and no
given secret appears anywhere in the output.
"""

from __future__ import annotations

import sys

import yaml


class RolePreflight:
    def __init__(self, playbook, tmp_path):
        self._playbook = playbook
        self._tmp_path = tmp_path

    def inventory(self, app_targets):
        """localhost plus an application host app1 (never contacted) with these
        monitoring_scrape_targets (none when None)."""
        app1 = {"monitoring_environment": "dev"}
        if app_targets is not None:
            app1["monitoring_scrape_targets"] = app_targets
        data = {"all": {
            "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}},
            "children": {"app_hosts": {"hosts": {"app1": app1}}},
        }}
        path = self._tmp_path / "inventory.yml"
        path.write_text(yaml.safe_dump(data))
        return path

    def run(self, role, extravars=None, *, check=True, tasks_from=None, app_targets=None, inventory=False,
            extra_args=()):
        """Run monitoring.stack.<role> (or its ``tasks_from`` entry point) on localhost.
        ``inventory=True`` (or ``app_targets``) adds the application host app1."""
        play = {"name": "preflight", "hosts": "localhost", "gather_facts": False}
        if tasks_from:
            play["tasks"] = [{"name": "Run %s of %s" % (tasks_from, role), "ansible.builtin.include_role": {
                "name": "monitoring.stack." + role, "tasks_from": tasks_from}}]
        else:
            play["roles"] = [{"role": "monitoring.stack." + role}]
        use_inventory = inventory or app_targets is not None
        return self._playbook([play], inventory=self.inventory(app_targets) if use_inventory else None,
                              extravars=extravars, check=check, extra_args=list(extra_args))

    def run_cases(self, role, cases, *, check=True):
        """monitoring.stack.<role> for every variable set in ``cases`` in one run (PreflightCases).

        The variables are host variables here, not extra variables: both override the role's
        defaults; only a variable of the same name in the role's vars/ or a set_fact would tell
        them apart, and the roles keep only internal (``_``-prefixed) names there.
        """
        hosts = ["case-%d" % index for index in range(len(cases))]
        data = {"all": {"hosts": {host: dict(extravars, ansible_connection="local",
                                             ansible_python_interpreter=sys.executable)
                                  for host, extravars in zip(hosts, cases)}}}
        path = self._tmp_path / ("cases-%s.yml" % role)
        path.write_text(yaml.safe_dump(data))
        play = {"name": "preflight", "hosts": "all", "gather_facts": False,
                "roles": [{"role": "monitoring.stack." + role}]}
        return PreflightCases(self._playbook([play], inventory=path, check=check), hosts)

    def fails_before_any_change(self, role, extravars, expected, *, secrets=(), **kwargs):
        result = self.run(role, extravars, **kwargs)
        assert result.rc != 0, result
        messages = " | ".join(msg for _name, msg in result.failures())
        assert expected in messages, result
        assert result.changed() == 0, result
        output = result.stdout + result.stderr
        for secret in secrets:
            assert secret not in output, "a secret is in the output"
        return result


class PreflightCases:
    """Several bad-input cases of one role, made in one ansible-playbook run (``RolePreflight.run_cases``).

    Each case is an inventory host of its own (``case-0``, ``case-1``... all this machine, local
    connection) whose host variables are the case's variables: a host that fails leaves the
    run, the others go on, and each host's result is read as a run of its own would be.
    """

    def __init__(self, result, hosts):
        self.result = result
        self.hosts = hosts

    def fails_before_any_change(self, index, expected, *, secrets=()):
        """What ``RolePreflight.fails_before_any_change`` asserts, for case ``index``."""
        host, result = self.hosts[index], self.result
        assert result.stats.get(host, {}).get("failures", 0) > 0, result
        messages = " | ".join(msg for _name, msg in result.failures(host))
        assert expected in messages, (host, messages, result)
        assert result.changed(host) == 0, result
        output = result.stdout + result.stderr
        for secret in secrets:
            assert secret not in output, "a secret is in the output"
        return result


class CasesByRole:
    """``cases_by_role`` ({role: [extravars, ...]}) run as one ansible-playbook run per role, made on
    first use and kept for the module: ``runs(role).fails_before_any_change(index, expected)``.
    For a module-scoped fixture: one run of N cases instead of N runs."""

    def __init__(self, cases_by_role, tmp_dir, playbook=None):
        if playbook is None:
            from tests.support.playbook import run_playbook as playbook  # pylint: disable=import-outside-toplevel
        self._preflight = RolePreflight(playbook, tmp_dir)
        self._cases = cases_by_role
        self._runs = {}

    def __call__(self, role):
        if role not in self._runs:
            self._runs[role] = self._preflight.run_cases(role, self._cases[role])
        return self._runs[role]


def case_id(role, expected):
    """Test id of a case: the role and the variable the message names."""
    return "%s-%s" % (role, expected.split(":", maxsplit=1)[0])
