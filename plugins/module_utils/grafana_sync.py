# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired-vs-actual logic of the Grafana modules, on GrafanaClient (no AnsibleModule here).

Every ``ensure_*`` returns a dict with ``changed``, ``action`` and ``before``/``after`` (for
diffs); writes are skipped when ``check_mode`` is true. Errors are raised as SyncError with a
"Failed to <action>: <cause>" message.
"""

from __future__ import annotations

from ansible_collections.monitoring.stack.plugins.module_utils.dashboard_transforms import (
    normalize_for_compare,
    to_json,
)
from ansible_collections.monitoring.stack.plugins.module_utils.grafana_client import GrafanaAPIError


class SyncError(Exception):
    pass


def api_call(action, func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except GrafanaAPIError as exc:
        raise SyncError(exc.describe(action))


def split_folder_path(path):
    return [part.strip() for part in (path or "").strip("/").split("/") if part.strip()]


class GrafanaSync(object):
    def __init__(self, client, check_mode=False):
        self.client = client
        self.check_mode = check_mode
        self._children = {}  # parent uid -> [folder list items]
        self.planned = set()  # folder uids "created" in check mode

    # folders ----------------------------------------------------------------------------------
    def _list_children(self, parent_uid):
        key = parent_uid or ""
        if key not in self._children:
            if key in self.planned:
                self._children[key] = []
            else:
                self._children[key] = api_call("list folders", self.client.list_folders, parent_uid or None)
        return self._children[key]

    def ensure_folder(self, title, uid=None, parent_uid=None, description=None, rename=False):
        """Create or update one folder. Returns {changed, action, folder, before, after}."""
        parent_uid = parent_uid or ""
        existing = None
        if uid:
            existing = api_call("read folder %s" % uid, self.client.get_folder, uid)
        else:
            match = [f for f in self._list_children(parent_uid) if f.get("title") == title]
            if match:
                existing = api_call("read folder %s" % match[0]["uid"], self.client.get_folder, match[0]["uid"])
        desired = {"title": title, "parentUid": parent_uid}
        if description is not None:
            desired["description"] = description
        if existing is None:
            if self.check_mode:
                planned_uid = uid or "(new folder %s)" % title
                self.planned.add(planned_uid)
                folder = dict(desired, uid=planned_uid)
            else:
                folder = api_call("create folder %r" % title, self.client.create_folder, title, uid=uid,
                                  parent_uid=parent_uid or None, description=description)
                self._children.setdefault(parent_uid, []).append({"uid": folder["uid"], "title": title})
            return {"changed": True, "operation": "created", "folder": folder, "before": {}, "after": desired}
        before = {"title": existing.get("title"), "parentUid": existing.get("parentUid") or ""}
        if description is not None:
            before["description"] = existing.get("description") or ""
        if before == desired:
            return {"changed": False, "operation": "unchanged", "folder": existing, "before": before, "after": desired}
        if before["title"] != title and not rename:
            raise SyncError(
                "Failed to ensure folder %r: the folder uid %s is already used by the folder %r (hint: pick another "
                "uid, or set rename: true to rename that folder)" % (title, existing["uid"], existing["title"]))
        folder = existing
        if not self.check_mode:
            if before["title"] != title or before.get("description") != desired.get("description"):
                folder = api_call("update folder %s" % existing["uid"], self.client.update_folder, existing["uid"],
                                  title, existing.get("version"), description=description)
            if before["parentUid"] != parent_uid:
                folder = api_call("move folder %s" % existing["uid"], self.client.move_folder, existing["uid"],
                                  parent_uid)
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
                    raise SyncError("Failed to find folder %s: no folder has this uid (hint: give folder: <title> to "
                                    "create it)" % uid)
                return False, uid
            return False, ""
        changed = False
        parent = ""
        for index, title in enumerate(parts):
            last = index == len(parts) - 1
            result = self.ensure_folder(title, uid=uid if last else None, parent_uid=parent)
            changed = changed or result["changed"]
            parent = result["folder"]["uid"]
        return changed, parent

    # dashboards -------------------------------------------------------------------------------
    def ensure_dashboard(self, desired, folder_uid="", overwrite=False, message=None, stored=None):
        """Save ``desired`` (prepared) in ``folder_uid`` unless it is already there unchanged.

        ``stored`` may be given when the caller has already read the dashboard (False = known
        missing). Returns {changed, action, uid, version, url, before, after}.
        """
        uid = desired["uid"]
        if stored is None:
            stored = api_call("read dashboard %s" % uid, self.client.get_dashboard, uid)
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
        if stored:
            body["version"] = stored["dashboard"].get("version")
        else:
            body.pop("version", None)
        response = api_call("save dashboard %s" % uid, self.client.save_dashboard, body, folder_uid=folder_uid,
                            overwrite=overwrite, message=message)
        result.update({"version": response.get("version"), "url": response.get("url")})
        return result

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
