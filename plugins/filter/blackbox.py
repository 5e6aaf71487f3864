# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the blackbox_exporter role and of the prometheus role's probe jobs
(logic in module_utils/blackbox_config.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: blackbox_probes
short_description: The probes of the inventory and the blackbox exporters, as plain data
description:
  - Reads C(monitoring_probes), C(monitoring_environment) and C(monitoring_service) of the hosts
    of O(probe_groups), and C(blackbox_exporter_listen_address), C(blackbox_exporter_default_modules)
    and C(blackbox_exporter_modules) of the hosts of O(blackbox_groups) (the role's defaults where
    the inventory sets none). The prometheus role passes the result to its config, which adds one
    probe job per module.
  - Companion filters in this file, used by the blackbox_exporter role
    C(blackbox_modules) (the default modules with the user's modules added),
    C(blackbox_module_problems) (preflight messages naming the variable, e.g. an unknown prober) and
    C(blackbox_config) (the C(blackbox.yml) data).
positional: hostvars, probe_groups, blackbox_groups
options:
  _input:
    description: The C(groups) magic variable.
    type: dict
    required: true
  hostvars:
    description: The C(hostvars) magic variable.
    type: dict
    required: true
  probe_groups:
    description: Groups whose hosts declare C(monitoring_probes).
    type: list
    elements: str
    required: true
  blackbox_groups:
    description: Groups whose hosts run the blackbox exporter.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
blackbox_probes: "{{ groups | monitoring.stack.blackbox_probes(hostvars, ['app_hosts'], ['blackbox_exporter']) }}"
"""

RETURN = r"""
_value:
  description: C({groups, exporters, hosts}) for the probe jobs and their preflight checks.
  type: dict
"""

from ansible_collections.monitoring.stack.plugins.module_utils import blackbox_config as bc


def _members(groups, names):
    out = []
    for group in names or []:
        for host in groups.get(group, []):
            if host not in out:
                out.append(host)
    return out


def blackbox_probes(groups, hostvars, probe_groups, blackbox_groups):
    exporters = []
    for name in _members(groups, blackbox_groups):
        hv = hostvars[name]
        exporters.append({
            "name": name,
            "address": hv.get("ansible_host") or name,
            "environment": hv.get("monitoring_environment") or "",
            "listen_address": hv.get("blackbox_exporter_listen_address") or bc.DEFAULT_LISTEN_ADDRESS,
            "modules": bc.effective_modules(hv.get("blackbox_exporter_default_modules", bc.DEFAULT_MODULES),
                                            hv.get("blackbox_exporter_modules", {})),
        })
    hosts = []
    for name in _members(groups, probe_groups):
        hv = hostvars[name]
        hosts.append({
            "name": name,
            "environment": hv.get("monitoring_environment") or "",
            "service": hv.get("monitoring_service") or "",
            "probes": hv.get("monitoring_probes"),
        })
    return {"groups": list(blackbox_groups or []), "exporters": exporters, "hosts": hosts}


def blackbox_modules(default_modules, modules):
    return bc.effective_modules(default_modules, modules)


def blackbox_module_problems(default_modules, modules):
    return bc.module_problems(default_modules, modules)


def blackbox_config(modules):
    return bc.config_file(modules)


class FilterModule(object):
    def filters(self):
        return {
            "blackbox_probes": blackbox_probes,
            "blackbox_modules": blackbox_modules,
            "blackbox_module_problems": blackbox_module_problems,
            "blackbox_config": blackbox_config,
        }
