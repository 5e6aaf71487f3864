# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the alertmanager role (logic in module_utils/alertmanager_config.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: alertmanager_config
short_description: The alertmanager.yml of the alertmanager role, as data
description:
  - Builds the Alertmanager configuration - receivers by kind (slack, pagerduty, email, webhook),
    a routing tree by the C(severity) label, grouping, inhibition rules and templates.
  - Also provides C(alertmanager_config_problems) (preflight messages naming the variable to fix).
options:
  _input:
    description: Settings of the role (see the role's vars/main.yml C(_alertmanager_settings)).
    type: dict
    required: true
"""

EXAMPLES = r"""
config: "{{ _alertmanager_settings | monitoring.stack.alertmanager_config }}"
"""

RETURN = r"""
_value:
  description: The Alertmanager configuration, ready for C(to_nice_yaml).
  type: dict
"""

from ansible_collections.monitoring.stack.plugins.module_utils import alertmanager_config as ac


def alertmanager_config(settings):
    return ac.build_config(settings)


def alertmanager_config_problems(settings):
    return ac.config_problems(settings)


class FilterModule(object):
    def filters(self):
        return {
            "alertmanager_config": alertmanager_config,
            "alertmanager_config_problems": alertmanager_config_problems,
        }
