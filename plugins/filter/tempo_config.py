# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the tempo role (logic in module_utils/tempo_config.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: tempo_config
short_description: The Grafana Tempo configuration from the tempo role's settings
description:
  - Builds the Tempo 2.9 single binary configuration (server, OTLP receivers, compactor retention,
    local or S3 storage with SSE) as a dict from a few settings; C(extra) is merged over it.
  - The same file provides C(tempo_config_problems), the structural validator (known top-level keys,
    C(storage.trace.backend) local or s3 with the keys each needs, receivers, ports, durations); it
    returns a list of messages, empty when the structure is usable, and never quotes a secret.
positional: ""
options:
  _input:
    description: Settings (http_listen_address, grpc_listen_address, otlp_grpc_listen_address,
      otlp_http_listen_address, data_dir, storage, retention, s3_*, log_level, extra).
    type: dict
    required: true
"""

EXAMPLES = r"""
config: "{{ {'storage': 'local', 'data_dir': '/var/lib/tempo'} | monitoring.stack.tempo_config }}"
problems: "{{ config | monitoring.stack.tempo_config_problems({'storage.trace.s3.region': 'tempo_s3_region'}) }}"
"""

RETURN = r"""
_value:
  description: The Tempo configuration as a dict.
  type: dict
"""

from ansible_collections.monitoring.stack.plugins.module_utils.tempo_config import build_config, config_problems


class FilterModule(object):
    def filters(self):
        return {
            "tempo_config": build_config,
            "tempo_config_problems": config_problems,
        }
