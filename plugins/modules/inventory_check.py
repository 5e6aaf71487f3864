#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: inventory_check
short_description: Check an inventory before any host is touched
version_added: 0.1.0
description:
  - Fails, listing every problem, when an inventory host has no environment (it is in no group
    whose group_vars set C(monitoring_environment)), when an environment name is not a simple
    lower-case name, or when another inventory beside this one declares the same environment.
  - C(site.yml) runs it on the controller as its first play. It reads files only; it changes nothing.
author: monitoring.stack contributors (@monitoring-stack)
options:
  host_environments:
    description: Map of inventory host name to its C(monitoring_environment) (empty when unset).
    type: dict
    required: true
  inventory_dir:
    description: The inventory directory in use (C(inventory_dir) of a host).
    type: path
  inventories_root:
    description:
      - Directory holding the sibling inventories (C(inventories/)). Every other inventory under it
        is read for literal C(monitoring_environment) values. Empty to skip that check.
    type: path
extends_documentation_fragment:
  - monitoring.stack.attributes.check_only
  - monitoring.stack.attributes.platform_posix"""

EXAMPLES = r"""
- name: Check the inventory
  monitoring.stack.inventory_check:
    host_environments: "{{ dict(groups['all'] | zip(groups['all'] | map('extract', hostvars, 'monitoring_environment'))) }}"
    inventory_dir: "{{ inventory_dir }}"
    inventories_root: "{{ inventory_dir | dirname }}"
"""

RETURN = r"""
environments:
  description: The environments of this inventory and their hosts.
  returned: always
  type: dict
  sample: {"prod": ["app-1", "app-2"], "dev": ["app-3"]}
problems:
  description: Every problem found (the module fails when there is any).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.monitoring.stack.plugins.module_utils.inventory_checks import (
    host_environment_problems,
    shared_environment_problems,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host_environments=dict(type="dict", required=True),
            inventory_dir=dict(type="path"),
            inventories_root=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    hosts = {h: (e or "") for h, e in module.params["host_environments"].items()}
    environments = {}
    for host, environment in sorted(hosts.items()):
        if environment:
            environments.setdefault(environment, []).append(host)
    problems = host_environment_problems(hosts)
    if module.params["inventory_dir"]:
        problems += shared_environment_problems(
            module.params["inventory_dir"], module.params["inventories_root"], environments)
    if problems:
        module.fail_json(msg="Failed to check the inventory: %d problem(s): %s" % (len(problems), "; ".join(problems)),
                         problems=problems, environments=environments)
    module.exit_json(changed=False, problems=[], environments=environments)


if __name__ == "__main__":
    main()
