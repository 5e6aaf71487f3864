# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the result of monitoring.stack.host_state in a task's `when`."""

from __future__ import annotations

DOCUMENTATION = r"""
name: in_sync
short_description: Whether the host_state probe found one item in its desired state
description:
  - Input the registered result of M(monitoring.stack.host_state); returns C(true) only when the
    result is of the given scope, holds the item and says it is in sync. A skipped, failed or missing probe, or an item it
    was not given, gives C(false), so the task that manages the item runs.
positional: kind, name, scope
options:
  _input:
    description: The registered result of M(monitoring.stack.host_state).
    type: dict
    required: true
  kind:
    description: C(user), C(group), C(path), C(listing), C(unit) or C(set).
    type: str
    required: true
  name:
    description: The user, group or unit name, or the path.
    type: str
    required: true
  scope:
    description:
      - The scope the probe was run with (the roles pass their product). A result of a probe with
        another scope, such as one another role left behind, gives C(false).
    type: str
    required: true
"""

EXAMPLES = r"""
when: not (_state | monitoring.stack.in_sync('path', '/etc/prometheus/prometheus.yml', 'prometheus'))
"""

RETURN = r"""
_value:
  description: C(true) when the item is known to be in sync.
  type: bool
"""

from ansible_collections.monitoring.stack.plugins.module_utils.host_state import state_key


def in_sync(result, kind, name, scope):
    if not isinstance(result, dict) or result.get("failed") or result.get("skipped"):
        return False
    if not scope or result.get("scope") != scope:
        return False
    found = result.get("in_sync")
    return isinstance(found, dict) and found.get(state_key(kind, str(name))) is True


class FilterModule(object):
    def filters(self):
        return {"in_sync": in_sync}
