# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument spec and client construction shared by the Grafana modules (doc fragment
``monitoring.stack.grafana``)."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.monitoring.stack.plugins.module_utils.common import MonitoringError
from ansible_collections.monitoring.stack.plugins.module_utils.grafana_client import GrafanaClient


def grafana_argument_spec(**extra):
    """The connection options of the doc fragment, plus ``extra`` module options."""
    spec = dict(
        url=dict(type="str", required=True, aliases=["grafana_url"], fallback=(env_fallback, ["GRAFANA_URL"])),
        token=dict(type="str", no_log=True, aliases=["grafana_api_key"], fallback=(env_fallback, ["GRAFANA_TOKEN"])),
        url_username=dict(type="str", aliases=["grafana_user"], fallback=(env_fallback, ["GRAFANA_USER"])),
        url_password=dict(type="str", no_log=True, aliases=["grafana_password"],
                          fallback=(env_fallback, ["GRAFANA_PASSWORD"])),
        org_id=dict(type="int", fallback=(env_fallback, ["GRAFANA_ORG_ID"])),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        timeout=dict(type="int", default=30),
        retries=dict(type="int", default=3),
        use_proxy=dict(type="bool", default=True),
        api=dict(type="str", default="auto", choices=["auto", "legacy", "apis"]),
        namespace=dict(type="str"),
        grafana_flavor=dict(type="str", default="auto", choices=["auto", "grafana", "amg"]),
    )
    spec.update(extra)
    return spec


def client_from_module(module):
    """The client of the task's connection options; bad ones (api, namespace) fail the task before
    any request."""
    try:
        return GrafanaClient.from_params(module.params)
    except MonitoringError as exc:
        module.fail_json(msg=str(exc))
        raise  # not reached: fail_json exits
