# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the log agent roles (logic in module_utils/log_agents.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: log_agent_model
short_description: The agent-neutral log collection model of the promtail and alloy roles
description:
  - Builds the one model both log agent roles render from; input is a dict of the role's inputs
    (C(agent), C(role), C(prefix), C(environment), C(host), C(push_url), C(files), C(journal),
    C(journal_max_age), C(stages), C(labels), C(tenant_id)).
  - Also provides C(log_agent_problems) (the same input; a list of messages each naming the variable to fix),
    C(promtail_config) (model to the Promtail configuration dict; options listen_address, positions_file, log_level),
    C(promtail_config_problems) (structural problems of a Promtail configuration dict),
    C(alloy_config) (model to Alloy configuration text; options host_metrics, remote_write_url, sigv4,
    scrape_interval, log_level, traces - C(endpoint), C(insecure), C(ca_file), C(grpc_listen_address),
    C(http_listen_address) of the OTLP receiver to Tempo exporter) and C(alloy_config_problems) (structural problems of Alloy configuration text).
options:
  _input:
    description: The role's inputs.
    type: dict
    required: true
"""

EXAMPLES = r"""
model: "{{ {'agent': 'alloy', 'role': 'alloy', 'prefix': 'alloy', 'environment': 'prod', 'host': 'app1',
            'push_url': 'http://loki:3100/loki/api/v1/push', 'files': [], 'journal': true,
            'journal_max_age': '12h', 'stages': none, 'labels': {}} | monitoring.stack.log_agent_model }}"
config: "{{ model | monitoring.stack.alloy_config(host_metrics=true, remote_write_url='') }}"
problems: "{{ config | monitoring.stack.alloy_config_problems }}"
"""

RETURN = r"""
_value:
  description: The model (a dict with push_url, external_labels, sources, stages, reads_home).
  type: dict
"""

from ansible_collections.monitoring.stack.plugins.module_utils.log_agents import (
    alloy_config,
    input_problems,
    model,
    promtail_config,
    validate_alloy,
    validate_promtail,
)


def _model(inputs):
    return model(dict(inputs))


def _problems(inputs):
    return input_problems(dict(inputs))


def _promtail_config(mdl, listen_address="127.0.0.1:9080", positions_file="/var/lib/promtail/positions.yaml",
                     log_level="info"):
    return promtail_config(mdl, listen_address=listen_address, positions_file=positions_file, log_level=log_level)


def _alloy_config(mdl, host_metrics=True, remote_write_url="", sigv4=None, scrape_interval="15s", log_level="info",
                  traces=None):
    return alloy_config(mdl, host_metrics=host_metrics, remote_write_url=remote_write_url or "",
                        sigv4=dict(sigv4 or {}), scrape_interval=scrape_interval, log_level=log_level,
                        traces=dict(traces or {}))


class FilterModule(object):
    def filters(self):
        return {
            "log_agent_model": _model,
            "log_agent_problems": _problems,
            "promtail_config": _promtail_config,
            "promtail_config_problems": validate_promtail,
            "alloy_config": _alloy_config,
            "alloy_config_problems": validate_alloy,
        }
