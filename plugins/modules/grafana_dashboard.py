#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_dashboard
short_description: Create, update or delete one Grafana dashboard, idempotently
version_added: 0.1.0
description:
  - Saves a dashboard through C(POST /api/dashboards/db) only when it differs from the stored one. The comparison
    ignores what the server sets (C(id), C(version), C(schemaVersion), export-only C(__*) keys) and includes the
    folder, and returns C(changed=false) when nothing differs.
  - 'Requests when nothing changed: one C(GET) of the dashboard (root folder, or the O(folder_uid) it is already
    in); one more (C(GET /api/search), resolving the whole path at once) with O(folder); one more
    (C(GET /api/datasources)) when the dashboard needs the server''s datasources: an C(__inputs) entry not in
    O(datasource_uids), or, with O(add_environment), a datasource given by name, variable or uid without type.'
  - The JSON must be one dashboard object; a file or URL holding a list is refused, naming the option.
  - Resolves the C(__inputs) of a dashboard exported "for sharing externally" (C(${DS_PROMETHEUS})...) to the
    server's datasource UIDs, remaps literal datasource UIDs, optionally adds an C($environment) variable and the
    matching filter to every PromQL query (parsed, not regex-replaced), drops tags, and sets a stable uid.
  - 'Schema v2 dashboards (the C(dashboard.grafana.app/v2beta1) or C(/v2) resource, or its spec with C(elements) and
    C(layout)) get the same transforms (datasource uids, C(__inputs), uid, tags, C($environment) in every PromQL query
    and as a v2 QueryVariable) and are saved through C(/apis/dashboard.grafana.app/v2beta1) (Grafana 12) or C(/v2)
    (Grafana 13). With O(api=legacy), or on a Grafana with only the legacy API, the task fails before any write
    (with O(api=legacy) before any request). Classic JSON is never converted to v2.'
  - The module runs where the task runs (usually C(localhost)); O(path) is read there.
author:
  - monitoring.stack contributors (!UNKNOWN)
requirements:
  - promql-parser (Python), for O(add_environment)
extends_documentation_fragment:
  - monitoring.stack.grafana
  - monitoring.stack.attributes.check_diff
  - monitoring.stack.attributes.platform_grafana
  - monitoring.stack.attributes.action_group_grafana
attributes:
  diff_mode:
    details: The diff shows the normalized dashboard JSON and its folder uid.
options:
  state:
    description: Whether the dashboard should exist.
    type: str
    choices: [present, absent]
    default: present
  path:
    description: JSON file of the dashboard on the host running the module. Exactly one of O(path), O(dashboard_url),
      O(dashboard) is required with O(state=present).
    type: path
  dashboard_url:
    description: URL to download the dashboard JSON from.
    type: str
  dashboard:
    description: The dashboard model as a dictionary (for example C("{{ lookup('file', 'd.json') | from_json }}")), classic
      JSON or schema v2.
    type: dict
  uid:
    description:
      - The dashboard uid (at most 40 of C(a-zA-Z0-9-_)). Overrides the uid in the JSON. Required with
        O(state=absent) unless the source gives it.
      - Without a uid in either place, a stable uid is derived from the title.
    type: str
  folder_uid:
    description:
      - Uid of the folder to put the dashboard in. With O(folder) the folder is created with this uid when missing;
        a folder that has this uid but another title is an error.
      - Without O(folder_uid) and O(folder), the dashboard goes to the root (General) folder.
    type: str
  folder:
    description: Title of the folder, or a path of titles for nested folders (V(Team/Service)); created when
      missing.
    type: str
  overwrite:
    description:
      - Skip Grafana's conflict checks; the version check (a change made by someone else between this module's read
        and its write) and, on Grafana 11.2 and older, the same-title-in-folder check (which then replaces that
        other dashboard). Leave it false unless you mean to take over.
      - With V(false), a change made in Grafana between the read and the write is never overwritten; the dashboard
        is read again and the task reports V(unchanged) if it now matches, else fails naming both versions (the next
        run then applies the source again).
    type: bool
    default: false
  commit_message:
    description: Version-history message of the save (at most 500 characters).
    type: str
  datasource_uids:
    description:
      - Map of C(__inputs) names (V(DS_PROMETHEUS)) or literal datasource uids found in the JSON (V(ef4r3izgbak8wb))
        to the uid of a datasource on this server.
    type: dict
    default: {}
  resolve_inputs:
    description: Resolve C(__inputs) not given in O(datasource_uids) by looking up the server's datasources by type
      (a datasource named like the input's label wins, then the default one, then the only one of that type).
    type: bool
    default: true
  add_environment:
    description: Add the C($environment) query variable (C(label_values(up, environment)), multi-value, All) unless
      present, and C(environment=~"$environment") to every selector of every Prometheus query of the dashboard
      (panels in collapsed rows and query variables included; library panels are reported, not changed).
    type: bool
    default: false
  environment_label:
    description: Label (and variable) name used by O(add_environment).
    type: str
    default: environment
  drop_tags:
    description: Tags to remove from the dashboard (for example V(prod) in a dashboard shared by environments).
    type: list
    elements: str
    default: []
seealso:
  - module: monitoring.stack.grafana_dashboards
  - module: monitoring.stack.grafana_folder
"""

EXAMPLES = r"""
- name: Import an exported dashboard into Amazon Managed Grafana with $environment added
  monitoring.stack.grafana_dashboard:
    url: https://g-0123456789.grafana-workspace.ap-northeast-2.amazonaws.com
    token: "{{ amg_token }}"
    path: docs/grafana/dashboard-api.json
    folder: FileFlow
    datasource_uids:
      ef4r3izgbak8wb: "{{ amp_datasource_uid }}"
    add_environment: true
    drop_tags: [prod]
    commit_message: managed by Ansible

- name: Remove a dashboard
  monitoring.stack.grafana_dashboard:
    url: http://127.0.0.1:3000
    token: "{{ grafana_token }}"
    uid: fileflow-api
    state: absent
"""

RETURN = r"""
uid:
  description: Uid of the dashboard.
  returned: always
  type: str
  sample: fileflow-api
operation:
  description: What happened, V(created), V(updated), V(unchanged), V(deleted) or V(absent).
  returned: always
  type: str
  sample: unchanged
version:
  description: Dashboard version on the server after the run (none in check mode when a write was needed).
  returned: state is present
  type: int
  sample: 3
url:
  description: Path of the dashboard in Grafana.
  returned: state is present
  type: str
  sample: /d/fileflow-api/fileflow-api
folder_uid:
  description: Uid of the dashboard's folder (empty for the root).
  returned: state is present
  type: str
  sample: fileflow
notes:
  description: What the transforms left alone (library panels, library panel models of an export).
  returned: always
  type: list
  elements: str
  sample: ["library panel 'Errors' (uid lib-1) left unchanged: add the environment filter in the library panel itself"]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.urls import open_url

from ansible_collections.monitoring.stack.plugins.module_utils.common import MonitoringError, failure_message
from ansible_collections.monitoring.stack.plugins.module_utils.dashboard_transforms import (
    DashboardError,
    is_schema_v2,
    load_json,
    prepare_dashboard,
)
from ansible_collections.monitoring.stack.plugins.module_utils.grafana_module import (
    client_from_module,
    grafana_argument_spec,
)
from ansible_collections.monitoring.stack.plugins.module_utils.grafana_sync import (
    GrafanaSync,
    api_call,
    diff_of,
    needs_datasources,
)


def load_source(module):
    params = module.params
    if params["path"]:
        try:
            with open(params["path"], "rb") as handle:
                text = to_text(handle.read())
        except (IOError, OSError) as exc:
            raise DashboardError("cannot read %s: %s" % (params["path"], exc))
        return load_json(text, "path=%s" % params["path"]), params["path"]
    if params["dashboard_url"]:
        try:
            response = open_url(params["dashboard_url"], validate_certs=params["validate_certs"],
                                ca_path=params["ca_path"], timeout=params["timeout"])
            text = to_text(response.read())
        except Exception as exc:  # pylint: disable=broad-except
            raise DashboardError("cannot download %s: %s" % (params["dashboard_url"], exc))
        return load_json(text, "dashboard_url=%s" % params["dashboard_url"]), params["dashboard_url"]
    return params["dashboard"], "the dashboard parameter"


def run(module):
    params = module.params
    client = client_from_module(module)
    sync = GrafanaSync(client, check_mode=module.check_mode)
    notes = []
    if params["state"] == "absent":
        uid = params["uid"]
        if not uid and (params["path"] or params["dashboard_url"] or params["dashboard"]):
            source, _name = load_source(module)
            uid = source.get("uid")
        if not uid:
            raise DashboardError("state=absent needs the dashboard uid (set uid)")
        result = sync.delete_dashboard(uid)
        return result, notes
    source, name = load_source(module)
    schema_v2 = is_schema_v2(source)
    if schema_v2:  # refused here, before any other request, where this Grafana/api cannot carry v2
        client.schema_v2_version()
    datasources = None
    if needs_datasources(source, params["datasource_uids"], params["resolve_inputs"], params["add_environment"]):
        datasources = api_call("list datasources", client.list_datasources)
    try:
        desired = prepare_dashboard(source, datasource_uids=params["datasource_uids"], datasources=datasources,
                                    add_environment=params["add_environment"],
                                    environment_label=params["environment_label"], drop_tags=params["drop_tags"],
                                    uid=params["uid"], report=notes)
    except DashboardError as exc:
        raise DashboardError("%s (source: %s)" % (exc, name))
    stored = api_call("read dashboard %s" % desired["uid"], client.get_dashboard, desired["uid"], schema_v2=schema_v2) or False
    folder_uid = params["folder_uid"] or ""
    stored_folder = ((stored or {}).get("meta") or {}).get("folderUid") or ""
    folder_changed = False
    if params["folder"]:  # one folder search resolves the whole path
        folder_changed, folder_uid = sync.ensure_folder_path(params["folder"], uid=params["folder_uid"])
    elif folder_uid and not (stored and stored_folder == folder_uid):  # in place: its meta proves the folder
        folder_changed, folder_uid = sync.ensure_folder_path("", uid=folder_uid)
    result = sync.ensure_dashboard(desired, folder_uid=folder_uid, overwrite=params["overwrite"],
                                   message=params["commit_message"], stored=stored)
    result["changed"] = result["changed"] or folder_changed
    result["folder_uid"] = folder_uid
    return result, notes


def main():
    argument_spec = grafana_argument_spec(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        path=dict(type="path"),
        dashboard_url=dict(type="str"),
        dashboard=dict(type="dict"),
        uid=dict(type="str"),
        folder_uid=dict(type="str"),
        folder=dict(type="str"),
        overwrite=dict(type="bool", default=False),
        commit_message=dict(type="str"),
        datasource_uids=dict(type="dict", default={}),
        resolve_inputs=dict(type="bool", default=True),
        add_environment=dict(type="bool", default=False),
        environment_label=dict(type="str", default="environment"),
        drop_tags=dict(type="list", elements="str", default=[]),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("path", "dashboard_url", "dashboard")],
        required_if=[("state", "present", ("path", "dashboard_url", "dashboard"), True)],
        supports_check_mode=True,
    )
    try:
        result, notes = run(module)
    except DashboardError as exc:
        module.fail_json(msg=failure_message("prepare dashboard", str(exc)))
    except MonitoringError as exc:
        module.fail_json(msg=str(exc))
    output = {"changed": result["changed"], "uid": result["uid"], "operation": result["operation"], "notes": notes}
    if module.params["state"] == "present":
        output.update({"version": result.get("version"), "url": result.get("url"),
                       "folder_uid": result.get("folder_uid", "")})
    if module._diff:
        output["diff"] = diff_of(result, "dashboard %s" % result["uid"])
    module.exit_json(**output)


if __name__ == "__main__":
    main()
