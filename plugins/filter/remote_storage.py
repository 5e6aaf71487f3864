# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grafana datasources for the long-term stores of prometheus_remote_write
(logic in module_utils/remote_storage.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: remote_storage_datasources
short_description: Grafana datasources for the stores Prometheus remote-writes to
description:
  - Turns the entries of the prometheus role's C(prometheus_remote_write) (and
    C(prometheus_amp_remote_write)) into datasources in Grafana's provisioning form (C(name),
    C(type), C(access), C(url), C(jsonData), C(secureJsonData)), the form the grafana role's
    C(grafana_datasources) takes.
  - One datasource per entry whose store can be queried. The query URL is C(query_url) when given,
    else derived from the entry's C(kind) - C(victoriametrics) the write URL without C(/api/v1/write),
    C(amp) the workspace URL (C(.../workspaces/<id>)), C(mimir) the push URL's base plus
    C(/prometheus). C(thanos_receive) (queried through Thanos Query) and entries without a kind
    need C(query_url); without one they are left out.
  - C(amp) gets C(jsonData.sigV4Auth) true, C(sigV4AuthType) C(default) (the AWS default
    credential chain of the Grafana host) and C(sigV4Region); C(mimir) with a C(tenant) sends
    C(X-Scope-OrgID) through C(jsonData.httpHeaderName1) and C(secureJsonData.httpHeaderValue1);
    a C(basic_auth) with a password becomes C(basicAuth), C(basicAuthUser) and
    C(secureJsonData.basicAuthPassword).
  - The name is C(datasource_name), else the entry's C(name), else its kind.
  - The result holds the secrets of the entries (in C(secureJsonData)); use it only where the
    grafana role keeps them out of logs.
positional: amp_remote_write
options:
  _input:
    description: The C(prometheus_remote_write) list.
    type: list
    elements: dict
    required: true
  amp_remote_write:
    description: The C(prometheus_amp_remote_write) mapping (empty for none).
    type: dict
"""

EXAMPLES = r"""
# group_vars of the Grafana hosts: one datasource per store the monitoring hosts write to
grafana_datasources: >-
  {{ hostvars[groups['monitoring'][0]].prometheus_remote_write
     | monitoring.stack.remote_storage_datasources }}
"""

RETURN = r"""
_value:
  description: Datasources in Grafana's provisioning form.
  type: list
  elements: dict
"""

from ansible_collections.monitoring.stack.plugins.module_utils import remote_storage


def remote_storage_datasources(remote_write, amp_remote_write=None):
    return remote_storage.datasources(remote_write, amp_remote_write)


class FilterModule(object):
    def filters(self):
        return {
            "remote_storage_datasources": remote_storage_datasources,
        }
