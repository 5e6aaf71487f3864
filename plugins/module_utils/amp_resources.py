# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resources inside an AMP workspace: rule groups namespaces and the Alertmanager
definition, over an ``aws_transport.AmpClient``. ``ensure_*`` returns ``(changed, state)``;
check mode runs the same path with the writes skipped; the diff is left in ``.diff``.
"""

from __future__ import annotations

from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.monitoring.stack.plugins.module_utils.amp_validation import dump_yaml
from ansible_collections.monitoring.stack.plugins.module_utils.amp_validation import load_yaml
from ansible_collections.monitoring.stack.plugins.module_utils.amp_validation import normalize_alertmanager_definition
from ansible_collections.monitoring.stack.plugins.module_utils.amp_validation import redact_alertmanager_secrets
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import AmpError
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import decode as _decode
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import status_code as _status


class RuleGroupsNamespaces:
    """One rule groups namespace in one workspace."""

    def __init__(self, amp, workspace_id, check_mode=False, wait=True, wait_timeout=300):
        self.amp = amp
        self.workspace_id = workspace_id
        self.check_mode = check_mode
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.diff = {}

    def describe(self, name):
        if self.workspace_id is None:  # check mode, workspace not created yet
            return None
        result = self.amp.call_or_none("describe rule groups namespace %r" % name, "describe_rule_groups_namespace",
                                       workspaceId=self.workspace_id, name=name)
        return None if result is None else result["ruleGroupsNamespace"]

    def _state(self, description, data):
        description = description or {}
        return {"workspace_id": self.workspace_id, "name": description.get("name"), "arn": description.get("arn"),
                "status": _status(description), "tags": dict(description.get("tags") or {}), "data": data}

    def _wait(self, name):
        if self.wait and not self.check_mode:
            return self.amp.wait_for("apply rule groups namespace %r" % name, lambda: self.describe(name),
                                     self.wait_timeout)
        return self.describe(name)

    def ensure_present(self, name, data, text, tags=None, purge_tags=True):
        current = self.describe(name)
        if current is None:
            diff = {"before": "", "after": dump_yaml(data)}
            if self.check_mode:
                self.diff = diff
                return True, self._state({"name": name, "tags": tags or {}}, data)
            kwargs = {"workspaceId": self.workspace_id, "name": name, "data": text.encode("utf-8")}
            if tags:
                kwargs["tags"] = dict(tags)
            self.amp.call("create rule groups namespace %r" % name, "create_rule_groups_namespace", **kwargs)
            self.diff = diff
            return True, self._state(self._wait(name), data)
        try:
            current_data = load_yaml(_decode(current.get("data")), "stored rules")
        except AmpError:
            current_data = None  # unreadable content is replaced
        changed = False
        diff = {"before": dump_yaml(current_data) if current_data is not None else _decode(current.get("data")),
                "after": dump_yaml(data)}
        if current_data != data:
            changed = True
            if not self.check_mode:
                self.amp.call("update rule groups namespace %r" % name, "put_rule_groups_namespace",
                              workspaceId=self.workspace_id, name=name, data=text.encode("utf-8"))
        tags_now = dict(current.get("tags") or {})
        if tags is not None:
            to_set, to_remove = compare_aws_tags(tags_now, tags, purge_tags)
            if to_remove and not self.check_mode:
                self.amp.call("remove tags from rule groups namespace %r" % name, "untag_resource",
                              resourceArn=current["arn"], tagKeys=list(to_remove))
            if to_set and not self.check_mode:
                self.amp.call("tag rule groups namespace %r" % name, "tag_resource",
                              resourceArn=current["arn"], tags=to_set)
            for key in to_remove:
                tags_now.pop(key, None)
            tags_now.update(to_set)
            changed = changed or bool(to_set or to_remove)
        if changed and not self.check_mode:
            self.diff = diff
            return True, self._state(self._wait(name), data)
        self.diff = diff
        return changed, self._state(dict(current, tags=tags_now), data)

    def ensure_absent(self, name):
        current = self.describe(name)
        if current is None:
            self.diff = {"before": "", "after": ""}
            return False, None
        if not self.check_mode:
            self.amp.call("delete rule groups namespace %r" % name, "delete_rule_groups_namespace",
                          workspaceId=self.workspace_id, name=name)
        self.diff = {"before": _decode(current.get("data")), "after": ""}
        return True, None


class AlertManagerDefinitions:
    """The (single) Alertmanager definition of one workspace."""

    def __init__(self, amp, workspace_id, check_mode=False, wait=True, wait_timeout=300):
        self.amp = amp
        self.workspace_id = workspace_id
        self.check_mode = check_mode
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.diff = {}

    def describe(self):
        if self.workspace_id is None:  # check mode, workspace not created yet
            return None
        result = self.amp.call_or_none("describe the Alertmanager definition of workspace %s" % self.workspace_id,
                                       "describe_alert_manager_definition", workspaceId=self.workspace_id)
        return None if result is None else result["alertManagerDefinition"]

    def _state(self, description, definition):
        return {"workspace_id": self.workspace_id, "status": _status(description),
                "definition": redact_alertmanager_secrets(definition)}

    def _wait(self):
        if self.wait and not self.check_mode:
            return self.amp.wait_for("apply the Alertmanager definition of workspace %s" % self.workspace_id,
                                     self.describe, self.wait_timeout)
        return self.describe()

    def ensure_present(self, definition, text):
        current = self.describe()
        after = _shown(definition)
        if current is None:
            if not self.check_mode:
                self.amp.call("create the Alertmanager definition of workspace %s" % self.workspace_id,
                              "create_alert_manager_definition", workspaceId=self.workspace_id, data=text.encode("utf-8"))
                current = self._wait()
            self.diff = {"before": "", "after": after}
            return True, self._state(current, definition)
        current_definition = _readable_definition(current)
        before = _shown(current_definition)
        if current_definition == definition:
            self.diff = {"before": before, "after": after}
            return False, self._state(current, definition)
        if not self.check_mode:
            self.amp.call("update the Alertmanager definition of workspace %s" % self.workspace_id,
                          "put_alert_manager_definition", workspaceId=self.workspace_id, data=text.encode("utf-8"))
            current = self._wait()
        self.diff = {"before": before, "after": after}
        return True, self._state(current, definition)

    def ensure_absent(self):
        current = self.describe()
        if current is None:
            self.diff = {"before": "", "after": ""}
            return False, None
        if not self.check_mode:
            self.amp.call("delete the Alertmanager definition of workspace %s" % self.workspace_id,
                          "delete_alert_manager_definition", workspaceId=self.workspace_id)
        self.diff = {"before": _shown(_readable_definition(current)), "after": ""}
        return True, None


def _readable_definition(description):
    """The stored definition as data, or None when it cannot be read (it is then replaced)."""
    try:
        return normalize_alertmanager_definition(_decode(description.get("data")))
    except AmpError:
        return None


def _shown(definition):
    """A definition as the diff shows it: YAML with every secret masked; unreadable: not shown."""
    if definition is None:
        return "(stored definition not shown: it is not a readable Alertmanager definition)\n"
    return dump_yaml(redact_alertmanager_secrets(definition))
