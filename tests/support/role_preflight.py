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


def case_id(role, expected):
    """Test id of a case: the role and the variable the message names."""
    return "%s-%s" % (role, expected.split(":", maxsplit=1)[0])
