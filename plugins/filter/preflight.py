# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters behind the roles' preflight checks (logic in module_utils/preflight.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: install_problems
short_description: Problems with a role's install settings
description:
  - Returns a list of messages, each naming the user's variable; empty when the settings are usable.
  - Also provides C(listen_address_problems) (input a dict of variable name to C(host:port)),
    C(checksum_problems), C(local_archive_digest) (the digest a local archive must have, empty
    when the checksum is a URL or unset) and C(list_problems) (input a role's argument spec
    options, argument the settings by name; a string where a list is expected is refused) and
    C(release_arch) (the one architecture map of the collection, C(x86_64) -> C(amd64),
    C(aarch64) -> C(arm64), used in every role's release archive URL; C(release_arch('loki')) follows
    Loki's and Promtail's names, C(armv7l) -> C(arm)).
positional: prefix, archive_url, checksum, download_on, local_archive
options:
  _input:
    description: The install method.
    type: str
    required: true
  prefix:
    description: The role's variable prefix.
    type: str
    required: true
  archive_url:
    description: Archive URL.
    type: str
  checksum:
    description: Archive checksum.
    type: str
  download_on:
    description: Where the archive is downloaded.
    type: str
  local_archive:
    description: Path of the archive on the controller.
    type: str
"""

EXAMPLES = r"""
problems: "{{ 'archive' | monitoring.stack.install_problems('node_exporter', '', '') }}"
"""

RETURN = r"""
_value:
  description: Problem messages; empty when everything is usable.
  type: list
  elements: str
"""

from ansible_collections.monitoring.stack.plugins.module_utils.preflight import (
    checksum_problems,
    install_problems,
    list_problems,
    listen_address_problems,
    local_archive_digest,
    release_arch,
)


def _install_problems(method, prefix, archive_url="", checksum="", download_on="target", local_archive=""):
    return install_problems(prefix, method, archive_url, checksum, download_on, local_archive)


class FilterModule(object):
    def filters(self):
        return {
            "install_problems": _install_problems,
            "listen_address_problems": listen_address_problems,
            "checksum_problems": checksum_problems,
            "local_archive_digest": local_archive_digest,
            "list_problems": list_problems,
            "release_arch": release_arch,
        }
