# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired-vs-actual logic of the Grafana modules, on GrafanaClient (no AnsibleModule here).

Every ``ensure_*`` returns a dict with ``changed``, ``action`` and ``before``/``after`` (for
diffs); writes are skipped when ``check_mode`` is true. Errors are raised as SyncError, a
MonitoringError ("Failed to <action>: <cause>. Hint: <hint>").

Request cost: folders are resolved from one ``GET /api/search?type=dash-folder`` per run (every
folder at every depth with its direct parent), not folder by folder; a folder is read by uid
only when the caller manages its uid or description.
"""

from __future__ import annotations


from ansible_collections.monitoring.stack.plugins.module_utils.common import MonitoringError
from ansible_collections.monitoring.stack.plugins.module_utils.dashboard_transforms import (
    is_schema_v2,
    iter_datasource_refs,
    normalize_for_compare,
    to_json,
)
from ansible_collections.monitoring.stack.plugins.module_utils.grafana_client import GrafanaAPIError


class SyncError(MonitoringError):
    pass


def api_call(action, func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except GrafanaAPIError as exc:
        raise SyncError(action, exc.cause, exc.hint)


def split_folder_path(path):
    return [part.strip() for part in (path or "").strip("/").split("/") if part.strip()]


def _typed(ref):
    return isinstance(ref, dict) and bool(ref.get("type"))


def datasource_references(value):
    """Every value of a ``datasource`` key anywhere in the dashboard JSON (panels, targets,
    variables, annotations), and None for a panel with queries that names none (it uses the
    default datasource); a target without one inherits its panel's and is skipped."""
    if isinstance(value, dict):
        if "targets" in value:
            yield value.get("datasource")
        elif value.get("datasource") is not None:
            yield value["datasource"]
        for key, item in value.items():
            if key != "datasource":
                yield from datasource_references(item)
    elif isinstance(value, list):
        for item in value:
            yield from datasource_references(item)


def needs_datasources(dashboard, datasource_uids, resolve_inputs=True, add_environment=False):
    """Whether preparing ``dashboard`` needs the server's datasource list.

    - an ``__inputs`` datasource not mapped by ``datasource_uids`` (``resolve_inputs``);
    - with ``add_environment`` (which must know which queries are Prometheus): any reference the
      JSON does not type itself, i.e. a name or uid string (``"datasource": "Loki"``), a variable
      (``$ds``, ``${ds}``), ``{"uid": ...}`` without ``type``, or none (the default datasource).
    """
    if not isinstance(dashboard, dict):
        return False
    mapping = datasource_uids or {}
    if resolve_inputs:
        for item in dashboard.get("__inputs") or []:
            if isinstance(item, dict) and item.get("type", "datasource") == "datasource" \
                    and item.get("pluginId") != "__expr__" and item.get("name") not in mapping:
                return True
    if add_environment:
        if is_schema_v2(dashboard):  # a v2 DataQuery names its type (group) itself, a variable's type may be a variable
            return any(not _typed(ref) for _where, ref, _holder in iter_datasource_refs(dashboard))
        return any(not _typed(ref) for ref in datasource_references(dashboard))
    return False


class GrafanaSync(object):
    def __init__(self, client, check_mode=False):
        self.client = client
        self.check_mode = check_mode
        self._folders = None  # uid -> {"uid", "title", "parentUid"}, from one search
        self._hits = None     # every search hit of the run's one listing (prune needs dashboards too)
        self._hits_folders_only = True
        self._nested = None   # (supported, version) once asked
        self.planned = set()  # folder uids "created" in check mode

    # folders ----------------------------------------------------------------------------------
    def listing(self, dashboards=False):
        """The run's one search: folders, and dashboards too when ``dashboards`` (for prune)."""
        if self._hits is None or (dashboards and self._hits_folders_only):
            query = {} if dashboards else {"type": "dash-folder"}
            self._hits = api_call("list folders", self.client.search, **query)
            self._hits_folders_only = not dashboards
            self._folders = None
        return self._hits

    def folders(self):
        if self._folders is None:
            hits = self.listing()
            self._folders = dict((hit["uid"], {"uid": hit["uid"], "title": hit.get("title"),
                                               "parentUid": hit.get("folderUid") or ""})
                                 for hit in hits if hit.get("type", "dash-folder") == "dash-folder" and hit.get("uid"))
        return self._folders

    def _child(self, parent_uid, title):
        for folder in self.folders().values():
            if folder["parentUid"] == (parent_uid or "") and folder["title"] == title:
                return folder
        return None

    def find_folder_path(self, parts, parent_uid=""):
        """Uid of the folder at the end of ``parts`` (titles) under ``parent_uid``, or None."""
        for title in parts:
            match = self._child(parent_uid, title)
            if match is None:
                return None
            parent_uid = match["uid"]
        return parent_uid

    def check_nesting(self, parts, parent_uid=""):
        """Before creating any folder of a path: refuse it whole when it needs nesting that this
        Grafana lacks (so no first level is left behind)."""
        nested = len(parts) > 1 or bool(parent_uid)
        if nested and self.find_folder_path(parts, parent_uid) is None:
            self.require_nested_folders("/".join(parts) if not parent_uid else "%s inside folder %s"
                                        % ("/".join(parts), parent_uid))

    def require_nested_folders(self, what):
        """Refuse nested folders on a Grafana without them (self-hosted 10.x and older, Amazon Managed
        Grafana 8.4/9.4 workspaces), where a parentUid would be ignored and the folder land at the root."""
        if self._nested is None:
            self._nested = self.client.has("nested folders")  # /api/health, asked once per client
        supported, server = self._nested
        if supported:
            return
        if self.client.flavor == "amg":
            raise SyncError("create folder %s" % what,
                            "%s have no nested folders (Amazon Managed Grafana has subfolders from its Grafana 10 "
                            "workspaces), so the folder would land at the root" % server,
                            "use a one-level folder title, or update the workspace to Grafana 10.4 or later")
        raise SyncError(
            "create folder %s" % what,
            "%s has no nested folders (on by default from Grafana 11; 10.x has them only behind the nestedFolders "
            "feature toggle), so the folder would land at the root" % server,
            "use a one-level folder title, or upgrade Grafana")

    def ensure_folder(self, title, uid=None, parent_uid=None, description=None, rename=False):
        """Create or update one folder. Returns {changed, action, folder, before, after}."""
        parent_uid = parent_uid or ""
        existing = None
        if uid:
            existing = api_call("read folder %s" % uid, self.client.get_folder, uid)
        else:
            match = self._child(parent_uid, title)
            if match is not None and description is None:  # nothing else to compare: no read
                return {"changed": False, "operation": "unchanged", "folder": match,
                        "before": {"title": title, "parentUid": parent_uid},
                        "after": {"title": title, "parentUid": parent_uid}}
            if match is not None:
                existing = api_call("read folder %s" % match["uid"], self.client.get_folder, match["uid"])
        desired = {"title": title, "parentUid": parent_uid}
        if description is not None:
            desired["description"] = description
        if existing is None:
            if parent_uid:
                self.require_nested_folders("%s inside folder %s" % (title, parent_uid))
            if self.check_mode:
                planned_uid = uid or "(new folder %s)" % title
                self.planned.add(planned_uid)
                folder = dict(desired, uid=planned_uid)
            else:
                folder = api_call("create folder %r" % title, self.client.create_folder, title, uid=uid,
                                  parent_uid=parent_uid or None, description=description)
            self.folders()[folder["uid"]] = {"uid": folder["uid"], "title": title, "parentUid": parent_uid}
            return {"changed": True, "operation": "created", "folder": folder, "before": {}, "after": desired}
        before = {"title": existing.get("title"), "parentUid": existing.get("parentUid") or ""}
        if description is not None:
            before["description"] = existing.get("description") or ""
        if before == desired:
            return {"changed": False, "operation": "unchanged", "folder": existing, "before": before, "after": desired}
        if before["title"] != title and not rename:
            raise SyncError("ensure folder %r" % title,
                            "the folder uid %s is already used by the folder %r" % (existing["uid"], existing["title"]),
                            "pick another uid, or set rename: true to rename that folder")
        if before["parentUid"] != parent_uid and parent_uid:
            self.require_nested_folders("%s inside folder %s" % (title, parent_uid))
        folder = existing
        if not self.check_mode:
            if before["title"] != title or before.get("description") != desired.get("description"):
                folder = api_call("update folder %s" % existing["uid"], self.client.update_folder, existing["uid"],
                                  title, existing.get("version"), description=description)
            if before["parentUid"] != parent_uid:
                folder = api_call("move folder %s" % existing["uid"], self.client.move_folder, existing["uid"],
                                  parent_uid)
        self.folders()[existing["uid"]] = {"uid": existing["uid"], "title": title, "parentUid": parent_uid}
        return {"changed": True, "operation": "updated", "folder": folder, "before": before, "after": desired}

    def ensure_folder_path(self, path, uid=None):
        """Folders for 'Team/Service' (created when missing); ``uid`` applies to the last one.

        Returns (changed, folder uid).
        """
        parts = split_folder_path(path)
        if not parts:
            if uid:
                folder = api_call("read folder %s" % uid, self.client.get_folder, uid)
                if folder is None:
                    raise SyncError("find folder %s" % uid, "no folder has this uid",
                                    "give folder: <title> to create it")
                return False, uid
            return False, ""
        self.check_nesting(parts)
        changed = False
        parent = ""
        for index, title in enumerate(parts):
            last = index == len(parts) - 1
            known = self.folders().get(uid) if last and uid else None
            if known is not None and known["title"] == title and known["parentUid"] == parent:
                return changed, uid  # the listing already shows it in place: no read
            result = self.ensure_folder(title, uid=uid if last else None, parent_uid=parent)
            changed = changed or result["changed"]
            parent = result["folder"]["uid"]
        return changed, parent

    # dashboards -------------------------------------------------------------------------------
    def ensure_dashboard(self, desired, folder_uid="", overwrite=False, message=None, stored=None):
        """Save ``desired`` (prepared) in ``folder_uid`` unless it is already there unchanged.

        ``stored`` may be given when the caller has already read the dashboard (False = known
        missing). The save carries the version read (none for a create), so a change made in
        Grafana between the read and the write is refused by the server (412 version-mismatch)
        instead of overwritten; the dashboard is then read again: if it now equals ``desired``
        nothing is left to do, otherwise SyncError names both versions. ``overwrite`` skips that
        protection. Returns {changed, operation, uid, version, url, before, after}.
        """
        uid = desired["uid"]
        if stored is None:
            stored = api_call("read dashboard %s" % uid, self.client.get_dashboard, uid, schema_v2=is_schema_v2(desired))
        after = {"folderUid": folder_uid or "", "dashboard": normalize_for_compare(desired)}
        if stored:
            meta = stored.get("meta") or {}
            before = {"folderUid": meta.get("folderUid") or "", "dashboard": normalize_for_compare(stored["dashboard"])}
            if before == after:
                return {"changed": False, "operation": "unchanged", "uid": uid, "version": stored["dashboard"].get("version"),
                        "url": meta.get("url"), "before": before, "after": after}
            action = "updated"
        else:
            before = {}
            action = "created"
        result = {"changed": True, "operation": action, "uid": uid, "before": before, "after": after,
                  "version": None, "url": None}
        if self.check_mode:
            return result
        body = dict(desired)
        body.pop("id", None)
        read_version = stored["dashboard"].get("version") if stored else None
        if stored:
            body["version"] = read_version
        else:
            body.pop("version", None)
        try:
            response = self.client.save_dashboard(body, folder_uid=folder_uid, overwrite=overwrite, message=message)
        except GrafanaAPIError as exc:
            if exc.conflict:  # legacy 412 version-mismatch, /apis 409 Conflict (stale resourceVersion)
                return self._after_conflict(result, desired, folder_uid, read_version, after)
            raise SyncError("save dashboard %s" % uid, exc.cause, exc.hint)
        result.update({"version": response.get("version"), "url": response.get("url")})
        return result

    def _after_conflict(self, result, desired, folder_uid, read_version, after):
        uid = desired["uid"]
        now = api_call("read dashboard %s" % uid, self.client.get_dashboard, uid, schema_v2=is_schema_v2(desired))
        if now:
            meta = now.get("meta") or {}
            current = {"folderUid": meta.get("folderUid") or "", "dashboard": normalize_for_compare(now["dashboard"])}
            if current == after:  # the other change made it what we want
                return dict(result, changed=False, operation="unchanged", version=now["dashboard"].get("version"),
                            url=meta.get("url"), before=current)
            by = " by %s" % meta["updatedBy"] if meta.get("updatedBy") else ""
            changed_what = "changed in Grafana%s after this run read it: this run read %s, Grafana now has version %s" % (
                by, "version %s" % read_version if read_version is not None else "no dashboard with this uid",
                now["dashboard"].get("version"))
        else:
            changed_what = "changed in Grafana after this run read it (version %s), and is now gone" % read_version
        raise SyncError("save dashboard %s" % uid, "the dashboard was %s; nothing was overwritten" % changed_what,
                        "run the task again to compare with the new version (its change is then replaced), or set "
                        "overwrite: true to replace changes made in Grafana without this check")

    def delete_dashboard(self, uid, stored=None):
        if stored is None:
            stored = api_call("read dashboard %s" % uid, self.client.get_dashboard, uid)
        if not stored:
            return {"changed": False, "operation": "absent", "uid": uid, "before": {}, "after": {}}
        before = {"folderUid": (stored.get("meta") or {}).get("folderUid") or "",
                  "dashboard": normalize_for_compare(stored["dashboard"])}
        if not self.check_mode:
            api_call("delete dashboard %s" % uid, self.client.delete_dashboard, uid)
        return {"changed": True, "operation": "deleted", "uid": uid, "before": before, "after": {}}


def diff_of(result, name):
    return {"before": to_json(result["before"]) if result["before"] else "",
            "after": to_json(result["after"]) if result["after"] else "",
            "before_header": name, "after_header": name}
