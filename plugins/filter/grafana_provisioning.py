# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the grafana role (logic in module_utils/grafana_provisioning.py and, for the
dashboard transforms, module_utils/dashboard_transforms.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: grafana_dashboard_prepare
short_description: Parse a dashboard file and apply the provisioning transforms
description:
  - Parses dashboard JSON text (an error names the file, line and column), then applies the
    collection's dashboard transforms (C(__inputs) and datasource-UID swap, C($environment)
    variable and matcher) exactly as the C(grafana_dashboard) module does.
  - The same file also provides C(to_grafana_ini) (dict of sections to grafana.ini text),
    C(grafana_ini_problems), C(grafana_datasources) (adds stable uids), C(grafana_datasource_problems)
    (which also checks a Tempo datasource's trace to logs and trace to metrics links),
    C(grafana_tempo_datasource) (a Tempo datasource from C(url), C(name), C(uid), C(logs_datasource_uid),
    C(metrics_datasource_uid), C(tags)),
    C(grafana_dashboard_problems) (input a list of dicts with C(source) and C(dashboard)),
    C(grafana_user_problems) and C(grafana_role_attribute_path).
  - For a shared database and replicas it also provides C(grafana_database_ini) and
    C(grafana_database_problems) (the [database] section of O(grafana_database)),
    C(grafana_remote_cache_ini) and C(grafana_remote_cache_problems) ([remote_cache]),
    C(grafana_ha) (input C(groups); arguments C(hostvars), the host, and the role's settings
    C(group), C(port), C(listen_address), C(cluster_listen_address), C(cluster_advertise_address),
    C(cluster_peers), C(database); returns C(members), C(alerting) - the [unified_alerting] C(ha_*)
    keys, one peer per other member - and C(problems)) and C(grafana_ini_masked) (grafana.ini text
    with every password, secret, token and connection-string password replaced by C(<redacted>)).
positional: source, datasource_uids, datasources, add_environment, environment_label
options:
  _input:
    description: The dashboard JSON text.
    type: str
    required: true
  source:
    description: Where the text comes from (the file name), for error messages.
    type: str
    required: true
  datasource_uids:
    description: Map of C(__inputs) name or literal datasource uid to the uid to use.
    type: dict
  datasources:
    description: The provisioned datasources (name, type, uid), to resolve C(__inputs) by type.
    type: list
    elements: dict
  add_environment:
    description: Add the environment variable and matcher to every Prometheus query.
    type: bool
    default: false
  environment_label:
    description: Name of the label and variable.
    type: str
    default: environment
"""

EXAMPLES = r"""
dashboard: "{{ lookup('ansible.builtin.file', 'node.json') | monitoring.stack.grafana_dashboard_prepare('node.json', {}, grafana_datasources, true) }}"
"""

RETURN = r"""
_value:
  description: The prepared dashboard.
  type: dict
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.monitoring.stack.plugins.module_utils.grafana_provisioning import (
    DEFAULT_ALERTING_HA_PORT,
    ProvisioningError,
    alerting_ha,
    dashboard_problems,
    database_ini,
    database_problems,
    ha_members,
    ha_problems,
    mask_ini,
    remote_cache_ini,
    remote_cache_problems,
    datasource_problems,
    ini_problems,
    normalize_datasources,
    parse_dashboard,
    render_ini,
    role_attribute_path,
    tempo_datasource,
    user_problems,
)
from ansible_collections.monitoring.stack.plugins.module_utils.dashboard_transforms import (
    DashboardError,
    prepare_dashboard,
)


def _dashboard_prepare(text, source, datasource_uids=None, datasources=None, add_environment=False,
                       environment_label="environment"):
    try:
        dashboard = parse_dashboard(text, source)
        return prepare_dashboard(dashboard, datasource_uids=datasource_uids or {},
                                 datasources=normalize_datasources(datasources),
                                 add_environment=bool(add_environment), environment_label=environment_label)
    except (ProvisioningError, DashboardError) as exc:
        message = str(exc)
        raise AnsibleFilterError(message if message.startswith(source) else "%s: %s" % (source, message))


def _to_ini(data):
    try:
        return render_ini(data)
    except ProvisioningError as exc:
        raise AnsibleFilterError(str(exc))


# The sections the structural checks read: a string there (grafana_ini: {server: x}) would crash them.
_SECTIONS_READ = ("security", "auth.generic_oauth", "auth.anonymous", "server")


def _kind(value):
    """'str', 'list', 'int'... of a value (Ansible's tagged strings and lists included)."""
    for kind in (str, bool, int, float, list):
        if isinstance(value, kind):
            return kind.__name__
    return type(value).__name__


def _ini_problems(ini, names=None, sections=None):
    """``ini_problems``, after checking the shape: the sections the role writes (``sections``) and
    those the checks read must stay ``{key: value}`` mappings. A user's ``grafana_ini: {server: x}``
    would otherwise replace a whole section with a string (rendered as ``server = x`` in the
    default section) or crash the checks."""
    if not isinstance(ini, Mapping):
        return ["grafana_ini: must be a mapping of sections ({section: {key: value}}), got %s" % _kind(ini)]
    wanted = set(_SECTIONS_READ) | set(sections or ())
    shape = ["grafana_ini.%s: must be a mapping of settings ({key: value}) since [%s] is a grafana.ini section, "
             "got %s" % (section, section, _kind(value))
             for section, value in ini.items() if section in wanted and not isinstance(value, Mapping)]
    return shape or ini_problems(ini, names)


def _dashboard_problems(dashboards, datasources):
    return dashboard_problems([(item["source"], item["dashboard"]) for item in dashboards or []], datasources)


def _grafana_ha(groups, hostvars, me, settings):
    """This host's replica settings from ``grafana_ha_group``: members, [unified_alerting] ha_*
    keys and preflight problems."""
    group = settings.get("group") or ""
    port = int(settings.get("port") or DEFAULT_ALERTING_HA_PORT)
    members = ha_members(groups, hostvars, group, me, settings)
    member_databases = dict((m["name"], (hostvars[m["name"]] if m["name"] in hostvars else {}).get("grafana_database"))
                            for m in members)
    problems = ha_problems(group, members, me, settings.get("database"), member_databases)
    alerting = {} if problems else alerting_ha(me, members, port, settings.get("cluster_peers"))
    return {"members": [m["name"] for m in members], "alerting": alerting, "problems": problems}


def _safe(function):
    def run(*args):
        try:
            return function(*args)
        except ProvisioningError as exc:
            raise AnsibleFilterError(str(exc))
    return run


class FilterModule(object):
    def filters(self):
        return {
            "grafana_dashboard_prepare": _dashboard_prepare,
            "to_grafana_ini": _to_ini,
            "grafana_ini_problems": _ini_problems,
            "grafana_datasources": normalize_datasources,
            "grafana_tempo_datasource": tempo_datasource,
            "grafana_datasource_problems": datasource_problems,
            "grafana_dashboard_problems": _dashboard_problems,
            "grafana_user_problems": user_problems,
            "grafana_role_attribute_path": role_attribute_path,
            "grafana_database_ini": database_ini,
            "grafana_database_problems": database_problems,
            "grafana_remote_cache_ini": remote_cache_ini,
            "grafana_remote_cache_problems": remote_cache_problems,
            "grafana_ha": _grafana_ha,
            "grafana_ini_masked": _safe(mask_ini),
        }
