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
  - The same file provides C(loki_duration_seconds) (a Prometheus-style duration in seconds).
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
"""

RETURN = r"""
_value:
  description: Problem messages; empty when the configuration is usable.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.monitoring.stack.plugins.module_utils.loki_config import (
    LokiConfigError,
    config_problems,
    duration_seconds,
)


def _duration_seconds(value):
    try:
        return duration_seconds(value)
    except LokiConfigError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {
            "loki_config_problems": config_problems,
            "loki_duration_seconds": _duration_seconds,
        }
