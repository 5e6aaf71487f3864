# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the alertmanager role (logic in module_utils/alertmanager_config.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: alertmanager_config
short_description: The alertmanager.yml of the alertmanager role, as data
description:
  - Builds the Alertmanager configuration - receivers by kind (every integration of
    C(plugins/module_utils/alertmanager_receivers.py)), a routing tree by the C(severity) label,
    grouping, inhibition rules, time intervals and templates; deprecated C(match)/C(match_re)
    keys become C(matchers).
  - Also provides C(alertmanager_config_problems) (preflight messages naming the variable to fix),
    C(alertmanager_version_problems) (receivers and flags the Alertmanager version does not have),
    C(alertmanager_secret_files) (the config with its secrets moved into C(*_file) options, and
    the files to write),
    C(secret_values) (every secret string of a config; C(keys=prometheus) for the HTTP client
    fields of a Prometheus config only), C(mask_secrets) (a copy with each secret replaced by
    C(<redacted>), for diffs), C(redact_secrets) (a validator message with the given secrets
    replaced by C(<redacted>)) and C(alertmanager_mesh) (this host's gossip settings derived from
    the hosts of its mesh group - listen and advertise address, one peer per other member - and
    the preflight messages of a mesh whose members list different peers).
options:
  _input:
    description: Settings of the role (see the role's vars/main.yml C(_alertmanager_settings)).
    type: dict
    required: true
"""

EXAMPLES = r"""
config: "{{ _alertmanager_settings | monitoring.stack.alertmanager_config }}"
message: "{{ amtool_output | monitoring.stack.redact_secrets(config | monitoring.stack.secret_values) }}"
"""

RETURN = r"""
_value:
  description: The Alertmanager configuration, ready for C(to_nice_yaml).
  type: dict
"""

from ansible_collections.monitoring.stack.plugins.module_utils import alertmanager_config as ac
from ansible_collections.monitoring.stack.plugins.module_utils import ha


def alertmanager_config(settings):
    return ac.build_config(settings)


def alertmanager_config_problems(settings):
    return ac.config_problems(settings)


def alertmanager_version_problems(settings):
    return ac.version_problems(settings)


def alertmanager_secret_files(config, version, secret_dir):
    return ac.secret_files(config, version, secret_dir)


_SECRET_KEYS = {"alertmanager": ac.RECEIVER_SECRET_KEYS, "prometheus": ac.HTTP_CLIENT_SECRET_KEYS}


def secret_values(data, keys="alertmanager"):
    return ac.secret_values(data, _SECRET_KEYS[keys])


def mask_secrets(data, keys="alertmanager"):
    return ac.mask_secrets(data, _SECRET_KEYS[keys])


def redact_secrets(text, secrets):
    return ac.redact_secrets(text, secrets)


def alertmanager_mesh(groups, hostvars, me, settings):
    """settings: {group, mode, port, listen_address, cluster_listen_address,
    cluster_advertise_address, cluster_peers} of this host. Returns {enabled, listen_address,
    advertise_address, peers, problems}."""
    mine = {key: settings.get(key) for key in
            ("listen_address", "cluster_listen_address", "cluster_advertise_address", "cluster_peers")}
    members = ha.mesh_members(groups, hostvars, settings.get("group"), me, mine)
    if me not in [m["name"] for m in members]:
        # not a member of the mesh group: a mesh of its own
        members = [dict(mine, name=me, address=me)]
    mode, port = settings.get("mode") or "auto", int(settings.get("port") or ha.DEFAULT_GOSSIP_PORT)
    result = ha.mesh_settings(me, members, mode, port)
    result["problems"] = ha.mesh_problems(members, mode, port)
    return result


class FilterModule(object):
    def filters(self):
        return {
            "alertmanager_config": alertmanager_config,
            "alertmanager_config_problems": alertmanager_config_problems,
            "alertmanager_version_problems": alertmanager_version_problems,
            "alertmanager_secret_files": alertmanager_secret_files,
            "secret_values": secret_values,
            "mask_secrets": mask_secrets,
            "redact_secrets": redact_secrets,
            "alertmanager_mesh": alertmanager_mesh,
        }
