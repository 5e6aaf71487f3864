#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_dashboards
short_description: Sync a directory of dashboard JSON files to Grafana in one task
version_added: 0.1.0
description:
  - Reads every C(*.json) file of O(path) (subdirectories become folders, nested as in the tree), applies the same
    transforms as M(monitoring.stack.grafana_dashboard), and saves only the dashboards that differ from the stored
    ones.
  - 'Requests of a run where nothing changed, for N dashboards: one C(GET) per dashboard, plus one
    C(GET /api/search) when there are folders (O(folder), subdirectories) or O(prune), plus one C(GET /api/datasources)
    when a dashboard needs the server''s datasources (an C(__inputs) entry not in O(datasource_uids), or, with
    O(add_environment), a datasource given by name, variable or uid without type). So N+1, or N+2 with that lookup.'
  - All requests of a run go over one keep-alive HTTP(S) connection (unless a proxy applies to O(url)).
  - Every saved dashboard carries a top-level key C(__monitoringStackSync) with a fingerprint of what it was made
    from (the file's bytes, the options that change the transforms, the server's datasources when they were listed)
    and a hash of the content saved. When the stored dashboard has the same fingerprint and its content still has
    that hash, it is reported V(unchanged) without transforming the file. An edit made in Grafana keeps the key but
    changes the content, so it is found and replaced as before; any other case (no key, other fingerprint, other
    folder) is transformed and compared in full. The key is left out of every compare and diff. Dashboards saved
    without it (by earlier versions or other tools) are not rewritten just to add it; they get it with their next
    change. Schema v2 dashboards do not get the key (their schema is closed); they are always transformed and compared
    in full.
  - Files may hold classic JSON or schema v2 dashboards, handled as in M(monitoring.stack.grafana_dashboard); when a
    file is schema v2 and this Grafana or O(api) cannot carry it, the task fails before any other request, naming the
    files.
  - All files are read, and those not provably unchanged transformed, before anything is written, so invalid JSON
    or an unresolvable datasource in one file fails the task with nothing written.
  - Every dashboard saved by this module carries the tag O(managed_tag). With O(prune=true), dashboards of the
    managed folders (the folders of the directory tree, and O(folder)) that have no file any more are deleted if
    they carry that tag, so dashboards made by hand in those folders stay (unless O(prune_unmanaged=true)). The root
    (General) folder is never pruned.
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
    details: One diff per created, updated or deleted dashboard (normalized JSON and folder uid).
options:
  path:
    description: Directory of dashboard JSON files on the host running the module.
    type: path
    required: true
  folder:
    description: Folder title or path (V(Team/Service)) that the directory maps to; files at the top of O(path) go
      there and subdirectories below it. Empty means the root (General) folder.
    type: str
    default: ""
  recursive:
    description: Descend into subdirectories (each one a folder).
    type: bool
    default: true
  prune:
    description: Delete the dashboards with the tag O(managed_tag) in the managed folders that are not in the
      directory any more.
    type: bool
    default: false
  managed_tag:
    description:
      - Tag added to every dashboard this module saves; O(prune) deletes only dashboards that carry it.
      - Dashboards saved before this option existed get it on the next run (reported as V(updated) once).
      - Must not be listed in O(drop_tags). Empty means no tag, and then O(prune) needs O(prune_unmanaged=true).
    type: str
    default: managed-by-monitoring-stack
  prune_unmanaged:
    description: With O(prune), also delete dashboards without the tag O(managed_tag) (made by hand or by other
      tools) from the managed folders.
    type: bool
    default: false
  overwrite:
    description: Skip Grafana's conflict checks when saving; see M(monitoring.stack.grafana_dashboard).
    type: bool
    default: false
  commit_message:
    description: Version-history message of each save.
    type: str
  datasource_uids:
    description: Map of C(__inputs) names or literal datasource uids to uids on this server.
    type: dict
    default: {}
  resolve_inputs:
    description: Resolve C(__inputs) through the server's datasources (listed once per run).
    type: bool
    default: true
  add_environment:
    description: Add the C($environment) variable and filter to every dashboard; see
      M(monitoring.stack.grafana_dashboard).
    type: bool
    default: false
  environment_label:
    description: Label and variable name used by O(add_environment).
    type: str
    default: environment
  drop_tags:
    description: Tags to remove from every dashboard.
    type: list
    elements: str
    default: []
seealso:
  - module: monitoring.stack.grafana_dashboard
"""

EXAMPLES = r"""
- name: Sync docs/grafana (subdirectories become folders) below the FileFlow folder
  monitoring.stack.grafana_dashboards:
    url: "{{ grafana_url }}"
    token: "{{ grafana_token }}"
    path: docs/grafana
    folder: FileFlow
    datasource_uids:
      ef4r3izgbak8wb: "{{ amp_datasource_uid }}"
    add_environment: true
    drop_tags: [prod]
    prune: true   # deletes dashboards tagged managed-by-monitoring-stack whose file is gone
"""

RETURN = r"""
dashboards:
  description: One entry per dashboard file, and per pruned dashboard.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: File the dashboard came from (empty for pruned dashboards).
      type: str
    uid:
      description: Dashboard uid.
      type: str
    title:
      description: Dashboard title.
      type: str
    folder_uid:
      description: Uid of its folder (empty for the root; a placeholder in check mode for a folder to create).
      type: str
    operation:
      description: V(created), V(updated), V(unchanged) or V(deleted).
      type: str
    notes:
      description: What the transforms left alone (library panels).
      type: list
      elements: str
  sample: [{"path": "docs/grafana/api.json", "uid": "api", "title": "API", "folder_uid": "abc", "operation": "unchanged",
            "notes": []}]
counts:
  description: Number of dashboards per operation.
  returned: always
  type: dict
  sample: {"created": 0, "updated": 1, "unchanged": 199, "deleted": 0}
"""

import hashlib
import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.monitoring.stack.plugins.module_utils.common import MonitoringError, failure_message
from ansible_collections.monitoring.stack.plugins.module_utils.dashboard_transforms import (
    SYNC_MARKER,
    TRANSFORM_VERSION,
    DashboardError,
    content_hash,
    dashboard_uid,
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
    SyncError,
    api_call,
    diff_of,
    needs_datasources,
    split_folder_path,
)
from ansible_collections.monitoring.stack.plugins.module_utils.promql import PROMQL_PARSER_VERSION


def collect(root, recursive):
    """([(file path, folder parts relative to root)], [folder parts of every directory]), sorted."""
    if not os.path.isdir(root):
        raise DashboardError("%s is not a directory" % root)
    found = []
    directories = []
    for current, dirs, files in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(current, root)
        parts = [] if rel == "." else rel.split(os.sep)
        directories.append(parts)
        for name in sorted(files):
            if name.endswith(".json") and not name.startswith("."):
                found.append((os.path.join(current, name), parts))
        if not recursive:
            dirs[:] = []
    return found, directories


def check_options(params):
    tag = params["managed_tag"]
    if tag and tag in (params["drop_tags"] or []):
        raise DashboardError("managed_tag %r is also in drop_tags; prune could then not tell this module's "
                             "dashboards from others" % tag)
    if tag and len(tag) > 50:
        raise DashboardError("managed_tag %r is longer than 50 characters (Grafana 12 refuses such tags)" % tag)
    if params["prune"] and not tag and not params["prune_unmanaged"]:
        raise DashboardError("prune needs managed_tag (the tag that marks the dashboards this module saved), or "
                             "prune_unmanaged: true to delete every dashboard without a file in the managed folders")


def with_managed_tag(dashboard, tag):
    if tag and tag not in (dashboard.get("tags") or []):
        dashboard["tags"] = list(dashboard.get("tags") or []) + [tag]
    return dashboard


# Module options that change what prepare_dashboard (plus the managed tag) makes of a file.
FINGERPRINT_OPTIONS = ("datasource_uids", "resolve_inputs", "add_environment", "environment_label", "drop_tags",
                       "managed_tag")


def fingerprint(raw, params, datasources):
    """sha256 of everything the saved dashboard is made from: the file's bytes, the options that
    change the transform, the server's datasources when this run listed them, the transform's
    version (and the PromQL parser's, with add_environment)."""
    extra = {"transform": TRANSFORM_VERSION, "options": dict((key, params[key]) for key in FINGERPRINT_OPTIONS)}
    if datasources is not None:
        extra["datasources"] = sorted(
            [[ds.get("uid"), ds.get("name"), ds.get("type"), bool(ds.get("isDefault"))]
             for ds in datasources if isinstance(ds, dict)], key=lambda item: [str(part) for part in item])
    if params["add_environment"]:
        extra["promql_parser"] = PROMQL_PARSER_VERSION
    digest = hashlib.sha256(raw)
    digest.update(b"\0" + json.dumps(extra, sort_keys=True, default=str).encode("utf-8"))
    return digest.hexdigest()


def unchanged_by_marker(stored, source_fingerprint, folder_uid):
    """The notes recorded with the stored dashboard when it is provably what this run would
    save, else None (then the file is transformed and compared as usual).

    Provably: its SYNC_MARKER names the same source fingerprint (same file, options, datasources,
    transform), the content hash recorded at the save equals the hash of the stored content now
    (an edit in Grafana keeps the marker but not the content, so it is caught), and it is in
    ``folder_uid`` (None: the folder does not exist yet).
    """
    dashboard = stored.get("dashboard") if isinstance(stored, dict) else None
    marker = dashboard.get(SYNC_MARKER) if isinstance(dashboard, dict) else None
    if not isinstance(marker, dict) or marker.get("source") != source_fingerprint or folder_uid is None:
        return None
    if ((stored.get("meta") or {}).get("folderUid") or "") != folder_uid:
        return None
    notes = marker.get("notes")
    if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
        return None
    if marker.get("content") != content_hash(dashboard):
        return None
    return list(notes)


def run(module):
    params = module.params
    check_options(params)
    client = client_from_module(module)
    sync = GrafanaSync(client, check_mode=module.check_mode)
    base = split_folder_path(params["folder"])
    files, directories = collect(params["path"], params["recursive"])
    loaded = []
    for path, parts in files:
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except (IOError, OSError) as exc:
            raise DashboardError("cannot read %s: %s" % (path, exc))
        loaded.append((path, parts, load_json(to_text(raw), path), raw))
    v2_files = [path for path, _parts, src, _raw in loaded if is_schema_v2(src)]
    if v2_files:  # refused before any other request where this Grafana/api cannot carry schema v2
        try:
            client.schema_v2_version()
        except MonitoringError as exc:
            raise MonitoringError(exc.action, "%s (files: %s)" % (exc.cause, ", ".join(v2_files)), exc.hint)
    datasources = None
    if any(needs_datasources(src, params["datasource_uids"], params["resolve_inputs"], params["add_environment"])
           for _p, _f, src, _r in loaded):
        datasources = api_call("list datasources", client.list_datasources)

    if params["prune"]:
        sync.listing(dashboards=True)  # one search: the folder tree and the prune candidates
    # Reads first (one GET per dashboard), then the transforms of the files whose stored dashboard
    # is not provably unchanged: a failing transform stops the task before anything is written.
    entries = []
    seen = {}
    for path, parts, source, raw in loaded:
        folder_path = "/".join(base + parts)
        source_fingerprint = fingerprint(raw, params, datasources)
        uid = dashboard_uid(source)
        stored = None
        notes = None
        if uid is not None and uid not in seen:
            stored = api_call("read dashboard %s" % uid, client.get_dashboard, uid, schema_v2=is_schema_v2(source)) or False
            if stored:
                folder_uid = sync.find_folder_path(split_folder_path(folder_path)) if folder_path else ""
                notes = unchanged_by_marker(stored, source_fingerprint, folder_uid)
        if notes is not None:
            seen[uid] = path
            entries.append({"path": path, "folder_path": folder_path, "uid": uid, "stored": stored, "notes": notes,
                            "desired": None})
            continue
        notes = []
        try:
            desired = prepare_dashboard(source, datasource_uids=params["datasource_uids"], datasources=datasources,
                                        add_environment=params["add_environment"],
                                        environment_label=params["environment_label"],
                                        drop_tags=params["drop_tags"], report=notes)
        except DashboardError as exc:
            raise DashboardError("%s (source: %s)" % (exc, path))
        if desired["uid"] in seen:
            raise DashboardError("%s and %s both have the uid %s" % (seen[desired["uid"]], path, desired["uid"]))
        seen[desired["uid"]] = path
        desired = with_managed_tag(desired, params["managed_tag"])
        if is_schema_v2(desired):  # no extra top-level key in a v2 spec (its schema is closed): compared in full
            entries.append({"path": path, "folder_path": folder_path, "uid": desired["uid"], "notes": notes,
                            "stored": stored if desired["uid"] == uid else None, "desired": desired})
            continue
        desired[SYNC_MARKER] = {"source": source_fingerprint, "content": content_hash(desired), "notes": list(notes)}
        entries.append({"path": path, "folder_path": folder_path, "uid": desired["uid"], "notes": notes,
                        "stored": stored if desired["uid"] == uid else None, "desired": desired})

    changed = False
    folder_uids = {}
    results, diffs = [], []
    written = []
    try:
        for folder_path in sorted(set("/".join(base + parts) for parts in directories)):
            if folder_path:
                folder_changed, folder_uids[folder_path] = sync.ensure_folder_path(folder_path)
                changed = changed or folder_changed
            else:
                folder_uids[folder_path] = ""
        for entry in entries:
            folder_uid = folder_uids[entry["folder_path"]]
            desired = entry["desired"]
            if desired is None:  # the stored dashboard is provably what this run would save
                results.append({"path": entry["path"], "uid": entry["uid"],
                                "title": entry["stored"]["dashboard"].get("title"), "folder_uid": folder_uid,
                                "operation": "unchanged", "notes": entry["notes"]})
                continue
            outcome = sync.ensure_dashboard(desired, folder_uid=folder_uid, overwrite=params["overwrite"],
                                            message=params["commit_message"], stored=entry["stored"])
            changed = changed or outcome["changed"]
            if outcome["changed"]:
                written.append(desired["uid"])
            results.append({"path": entry["path"], "uid": desired["uid"], "title": desired.get("title"),
                            "folder_uid": folder_uid, "operation": outcome["operation"], "notes": entry["notes"]})
            if outcome["changed"]:
                diffs.append(diff_of(outcome, "dashboard %s (%s)" % (desired["uid"], entry["path"])))
        if params["prune"]:
            managed = set(uid for uid in folder_uids.values() if uid and uid not in sync.planned)
            for hit in sync.listing(dashboards=True):
                if hit.get("type") != "dash-db" or hit.get("uid") in seen or hit.get("folderUid") not in managed:
                    continue
                if not params["prune_unmanaged"] and params["managed_tag"] not in (hit.get("tags") or []):
                    continue  # made by hand (or by another tool): not ours to delete
                outcome = sync.delete_dashboard(hit["uid"])
                changed = changed or outcome["changed"]
                if outcome["changed"]:
                    written.append(hit["uid"])
                results.append({"path": "", "uid": hit["uid"], "title": hit.get("title"),
                                "folder_uid": hit.get("folderUid"), "operation": "deleted", "notes": []})
                diffs.append(diff_of(outcome, "dashboard %s" % hit["uid"]))
    except SyncError as exc:
        if written and not module.check_mode:
            raise SyncError(exc.action, "%s (already written in this run: %s)" % (exc.cause, ", ".join(written)),
                            exc.hint)
        raise
    return changed, results, diffs


def main():
    module = AnsibleModule(
        argument_spec=grafana_argument_spec(
            path=dict(type="path", required=True),
            folder=dict(type="str", default=""),
            recursive=dict(type="bool", default=True),
            prune=dict(type="bool", default=False),
            managed_tag=dict(type="str", default="managed-by-monitoring-stack"),
            prune_unmanaged=dict(type="bool", default=False),
            overwrite=dict(type="bool", default=False),
            commit_message=dict(type="str"),
            datasource_uids=dict(type="dict", default={}),
            resolve_inputs=dict(type="bool", default=True),
            add_environment=dict(type="bool", default=False),
            environment_label=dict(type="str", default="environment"),
            drop_tags=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    try:
        changed, results, diffs = run(module)
    except DashboardError as exc:
        module.fail_json(msg=failure_message("prepare dashboards", str(exc)))
    except MonitoringError as exc:
        module.fail_json(msg=str(exc))
    counts = dict((op, 0) for op in ("created", "updated", "unchanged", "deleted"))
    for item in results:
        counts[item["operation"]] = counts.get(item["operation"], 0) + 1
    output = {"changed": changed, "dashboards": results, "counts": counts}
    if module._diff:
        output["diff"] = diffs
    module.exit_json(**output)


if __name__ == "__main__":
    main()
