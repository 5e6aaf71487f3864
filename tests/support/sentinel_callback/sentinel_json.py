# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: the ansible.posix.json report, written to $SENTINEL_JSON_PATH.

It lets one ansible-playbook run produce both the default callback's -vvv text (stdout) and
the JSON callback's report, so the sentinel-secret test greps both without running twice.
"""

from __future__ import annotations

import os

from ansible_collections.ansible.posix.plugins.callback.json import CallbackModule as JsonCallback

DOCUMENTATION = """
name: sentinel_json
type: notification
short_description: the ansible.posix.json report written to a file (tests only)
description: [The report of ansible.posix.json, written to the path in SENTINEL_JSON_PATH.]
"""


class _FileDisplay:
    """Stands in for Display: the JSON callback prints its report once, at the end."""

    def __init__(self, display, path):
        self._display = display
        self._path = path

    def display(self, msg, *args, **kwargs):
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(msg + "\n")

    def __getattr__(self, name):
        return getattr(self._display, name)


class CallbackModule(JsonCallback):
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "sentinel_json"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display)
        self._display = _FileDisplay(self._display, os.environ["SENTINEL_JSON_PATH"])

    def get_option(self, k, hostvars=None):
        # The options ansible.posix.json reads, without their DOCUMENTATION: compact, no custom stats.
        return {"json_indent": 0, "show_custom_stats": False}.get(k)
