# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory checks that site.yml runs before touching any host (pure functions).

Every host belongs to exactly one environment (`monitoring_environment`, set in the group_vars of
its environment group), and an environment belongs to exactly one inventory: the same name in
two inventories would mix their series under one `environment` label.
"""

from __future__ import annotations

import os
import re

# A Prometheus label value may be anything, but environment names end up in URLs, dashboard
# variables and AMP aliases: keep them simple.
_ENV_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_VAR_LINE = re.compile(r"^\s*monitoring_environment\s*:\s*['\"]?([^'\"#\s]+)['\"]?\s*(#.*)?$")
_YAML_SUFFIXES = (".yml", ".yaml")


def host_environment_problems(host_environments):
    """``{host: environment or ''}`` -> problems."""
    problems = []
    for host, environment in sorted(host_environments.items()):
        if not environment:
            problems.append(
                "host %s is in no environment group: put it in a group (prod, stage, dev, loadtest, ...) "
                "whose group_vars set monitoring_environment" % host)
        elif not _ENV_NAME.match(str(environment)):
            problems.append(
                "host %s: monitoring_environment %r must be lower-case letters, digits, '-' or '_'"
                % (host, environment))
    return problems


def declared_environments(inventory_dir):
    """Environment names an inventory directory declares literally in its YAML files."""
    found = set()
    for base, dirs, files in os.walk(inventory_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.endswith(_YAML_SUFFIXES) and name not in ("hosts", "hosts.ini"):
                continue
            try:
                with open(os.path.join(base, name), encoding="utf-8") as handle:
                    lines = handle.read().splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            for line in lines:
                match = _VAR_LINE.match(line)
                if match and "{{" not in line:
                    found.add(match.group(1))
    return found


def shared_environment_problems(current_inventory, inventories_root, environments):
    """Problems for each of ``environments`` (of the current inventory) that another inventory
    under ``inventories_root`` declares too."""
    problems = []
    if not inventories_root or not os.path.isdir(inventories_root):
        return problems
    current = os.path.realpath(current_inventory)
    for name in sorted(os.listdir(inventories_root)):
        other = os.path.join(inventories_root, name)
        if not os.path.isdir(other) or os.path.realpath(other) == current:
            continue
        for environment in sorted(set(environments) & declared_environments(other)):
            problems.append(
                "environment %r is used by two inventories: %s and %s; an environment belongs to one "
                "inventory (its series would mix under one environment label)"
                % (environment, current_inventory, other))
    return problems
