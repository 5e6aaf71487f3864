# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the loki role (logic in module_utils/loki_config.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: loki_config_problems
short_description: Structural problems of a Loki configuration
description:
  - Returns a list of messages (required sections, schema_config periods, retention against the
    index period, delete request store, S3 SSE settings, limits); empty when the structure is usable.
  - Also checks an HA ring (C(common.ring.kvstore.store=memberlist)) - shared object storage (never
    filesystem), C(memberlist.join_members), C(common.replication_factor), the memberlist port - and
    refuses a C(target) other than C(all) (read, write and backend are the simple-scalable mode,
    deprecated since Loki 3.6).
  - The same file provides C(loki_duration_seconds) (a Prometheus-style duration in seconds) and
    C(loki_ring) (this host's HA ring settings from the hosts of its inventory group - C(instance_addr),
    the C(memberlist) block with C(join_members), and the preflight messages of a bad ring).
positional: names
options:
  _input:
    description: The Loki configuration as a dict.
    type: dict
    required: true
  names:
    description: Map of config path (C(limits_config.retention_period)) to the user's variable, named in messages.
    type: dict
"""

EXAMPLES = r"""
problems: "{{ loki_config | monitoring.stack.loki_config_problems({'limits_config.retention_period': 'loki_retention_period'}) }}"
ring: >-
  {{ groups | monitoring.stack.loki_ring(hostvars, inventory_hostname, {'group': 'loki', 'port': 7946,
     'replication_factor': 3, 'grpc_listen_address': '0.0.0.0:9095'}) }}
"""

RETURN = r"""
_value:
  description: Problem messages; empty when the configuration is usable.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.monitoring.stack.plugins.module_utils.loki_config import (
    DEFAULT_MEMBERLIST_PORT,
    RING_VARIABLES,
    LokiConfigError,
    config_problems,
    duration_seconds,
    ring_members,
    ring_problems,
    ring_settings,
)


def _duration_seconds(value):
    try:
        return duration_seconds(value)
    except LokiConfigError as exc:
        raise AnsibleFilterError(str(exc))


def _int_or_value(value):
    return int(value) if isinstance(value, str) and value.strip().isdigit() else value


def loki_ring(groups, hostvars, me, settings):
    """settings: {group, port, replication_factor, grpc_listen_address} of this host.
    Returns {enabled, instance_addr, memberlist, problems}; not enabled (and no problems) when
    group is empty."""
    group = settings.get("group") or ""
    if not group:
        return {"enabled": False, "instance_addr": "", "memberlist": {}, "problems": []}
    port = _int_or_value(settings.get("port", DEFAULT_MEMBERLIST_PORT))
    factor = _int_or_value(settings.get("replication_factor"))
    members = ring_members(groups, hostvars, group, me, settings.get("grpc_listen_address"))
    members_vars = {m["name"]: {key: (hostvars.get(m["name"]) or {}).get(key) for key in RING_VARIABLES}
                    for m in members}
    problems = ring_problems(group, me, members, members_vars, factor, port)
    if me not in [m["name"] for m in members] or not isinstance(port, int):
        return {"enabled": True, "instance_addr": "", "memberlist": {}, "problems": problems}
    result = ring_settings(me, members, port)
    result.update(enabled=True, problems=problems)
    return result


class FilterModule(object):
    def filters(self):
        return {
            "loki_config_problems": config_problems,
            "loki_duration_seconds": _duration_seconds,
            "loki_ring": loki_ring,
        }
