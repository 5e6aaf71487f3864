# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""More than one monitoring host, from the inventory: Prometheus replica pairs and the
Alertmanager gossip mesh.

Pure functions, no Ansible imports (plugins/filter/prometheus.py and alertmanager.py wrap them).
The engines do the clustering; this only derives each host's settings from its group, and
refuses an inventory whose members disagree.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.monitoring.stack.plugins.module_utils.common import split_address

# The variables that make a Prometheus replica scrape, evaluate and alert as its twin does: the
# members of prometheus_ha_group must agree on each (their values are never printed: some hold
# credentials).
REPLICA_VARIABLES = (
    "monitoring_environment",
    "prometheus_environment",
    "prometheus_cluster",
    "prometheus_external_labels",
    "prometheus_scrape_interval",
    "prometheus_scrape_timeout",
    "prometheus_evaluation_interval",
    "prometheus_scrape_groups",
    "prometheus_node_exporter_groups",
    "prometheus_alertmanager_groups",
    "prometheus_alertmanager_urls",
    # Both replicas write to the same stores: AMP and Mimir elect one replica per cluster.
    "prometheus_remote_write",
    "prometheus_amp_remote_write",
    "prometheus_blackbox_groups",
    "prometheus_extra_scrape_configs",
    "prometheus_file_sd_targets",
    "prometheus_ec2_sd_jobs",
    "prometheus_metric_filters",
    "prometheus_rule_packs",
    "prometheus_extra_rules",
    "prometheus_rule_for_overrides",
    "prometheus_ha_replica_label",
    "prometheus_agent_mode",
)
# Labels every target of the role's jobs may carry.
TARGET_LABELS = ("job", "instance", "environment", "service")
_WILDCARD_HOSTS = ("", "0.0.0.0", "::")
DEFAULT_GOSSIP_PORT = 9094


def group_members(groups, group):
    """The hosts of inventory group ``group`` in inventory order ([] for an unknown or empty name)."""
    return list(groups.get(group, []) or []) if group else []


# ---------------------------------------------------------------------------------------------
# Prometheus replicas


def replica_settings(me, members, replica_label, replica=None):
    """{replica_label, replica} for host ``me`` of an HA pair, {} when it is not a member."""
    if me not in members or not replica_label:
        return {}
    return {"replica_label": str(replica_label), "replica": str(replica or me)}


def replica_problems(group, members_vars, variables=REPLICA_VARIABLES):
    """Preflight messages for replicas that differ: ``members_vars`` is {host: {variable: value}}
    of every member (an unset variable is missing or None, and equals another unset one)."""
    hosts = list(members_vars)
    problems = []
    for variable in variables:
        first = hosts[0] if hosts else None
        for host in hosts[1:]:
            if members_vars[host].get(variable) != members_vars[first].get(variable):
                problems.append(
                    "%s: the replicas of prometheus_ha_group %r must be identical, and it differs between %s and %s "
                    "(set it for the group, not per host)" % (variable, group, first, host))
                break
    return problems


def replica_label_problems(replica_label, cluster_label, external_labels, hosts, file_sd_targets=None):
    """A replica label that would collide with a label the series already carry (external labels,
    the role's target labels, a target's own labels) is refused: de-duplication would then merge
    or split the wrong series."""
    if not replica_label:
        return []
    if not isinstance(replica_label, str) or not re.match(r"^[a-zA-Z_][a-zA-Z0-9_]*$", replica_label):
        return ["prometheus_ha_replica_label: %r is not a label name" % (replica_label,)]
    taken = {name: "a label of every target" for name in TARGET_LABELS}
    taken[cluster_label] = "the cluster label"
    for name in external_labels or {}:
        taken.setdefault(str(name), "a key of prometheus_external_labels")
    for host in hosts or []:
        for target in host.get("scrape_targets") or []:
            if isinstance(target, dict):
                for name in target.get("labels") or {}:
                    taken.setdefault(str(name), "a label of %s's monitoring_scrape_targets" % host.get("name"))
    for job, groups in (file_sd_targets or {}).items():
        for group in groups or []:
            if isinstance(group, dict):
                for name in group.get("labels") or {}:
                    taken.setdefault(str(name), "a label of prometheus_file_sd_targets.%s" % job)
    if replica_label in taken:
        return ["prometheus_ha_replica_label: %r collides with %s; choose a name no series carries "
                "(__replica__ for AMP, Mimir and Cortex, replica for Thanos)" % (replica_label, taken[replica_label])]
    return []


def alert_relabel_configs(replica_label):
    """Drop the replica label from alerts, so that Alertmanager sees one alert from both replicas."""
    return [{"action": "labeldrop", "regex": re.escape(replica_label)}] if replica_label else []


# ---------------------------------------------------------------------------------------------
# Alertmanager mesh


def _is_ip(host):
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _join(host, port):
    return "[%s]:%s" % (host, port) if ":" in host and not host.startswith("[") else "%s:%s" % (host, port)


def _member_listen(member, port):
    """The gossip listen address of a member: its own, else its web address' host on ``port``."""
    if member.get("cluster_listen_address"):
        return member["cluster_listen_address"]
    web_host = split_address(member.get("listen_address") or "")[0] or "0.0.0.0"
    return _join(web_host, port)


def _member_gossip(member, port):
    """Where the other members reach this one: its advertise address, else its listen address
    when that names a host, else its inventory address on the listen port."""
    if member.get("cluster_advertise_address"):
        return member["cluster_advertise_address"]
    listen = _member_listen(member, port)
    host, listen_port = split_address(listen)
    if host.strip("[]") not in _WILDCARD_HOSTS:
        return listen
    return _join(member.get("address") or member["name"], listen_port or port)


def mesh_settings(me, members, mode="auto", port=DEFAULT_GOSSIP_PORT):
    """The gossip settings of host ``me``: {enabled, listen_address, advertise_address, peers}.

    ``members`` are the hosts of the mesh group, in inventory order, as
    [{name, address, listen_address, cluster_listen_address, cluster_advertise_address,
    cluster_peers}]. ``mode``: ``auto`` (a mesh when the group has two or more hosts, or when
    the host sets its cluster_listen_address), ``mesh`` (also for one host) or ``off``. Peers are the other members' gossip addresses unless the
    host lists its own ``cluster_peers``.
    """
    by_name = {m["name"]: m for m in members}
    member = by_name.get(me)
    # auto: a mesh for two or more members, or when the host names its gossip address itself.
    enabled = member is not None and (mode == "mesh" or (mode == "auto" and (
        len(members) >= 2 or bool(member.get("cluster_listen_address")))))
    if not enabled:
        return {"enabled": False, "listen_address": "", "advertise_address": "", "peers": []}
    listen = _member_listen(member, port)
    advertise = member.get("cluster_advertise_address") or ""
    if not advertise and split_address(listen)[0].strip("[]") in _WILDCARD_HOSTS:
        # Alertmanager looks for a private address when it listens on every interface and
        # fails without one: advertise the inventory address when it is an IP.
        gossip = _member_gossip(member, port)
        if _is_ip(split_address(gossip)[0]):
            advertise = gossip
    peers = list(member.get("cluster_peers") or []) or [
        _member_gossip(other, port) for other in members if other["name"] != me]
    return {"enabled": True, "listen_address": listen, "advertise_address": advertise, "peers": peers}


def mesh_problems(members, mode="auto", port=DEFAULT_GOSSIP_PORT):
    """Members that list their peers by hand must describe the same mesh: each one's peers plus
    itself is the same set (a member missing from one list would gossip with only part of it)."""
    if mode == "off":
        return []
    views = {}
    for member in members:
        if member.get("cluster_peers"):
            views[member["name"]] = sorted(set(member["cluster_peers"]) | {_member_gossip(member, port)})
    names = list(views)
    for name in names[1:]:
        if views[name] != views[names[0]]:
            return ["alertmanager_cluster_peers: the members of the mesh list different peers: %s sees %s, %s sees %s "
                    "(leave alertmanager_cluster_peers unset to derive them from the group)"
                    % (names[0], views[names[0]], name, views[name])]
    return []


def mesh_members(groups, hostvars, group, me, my_settings):
    """The members of the mesh group as mesh_settings() takes them; host ``me`` is described by
    ``my_settings`` (the role's own variables, which include its defaults and play variables that
    hostvars do not hold)."""
    members = []
    names = group_members(groups, group)
    for name in names:
        if name == me:
            values = dict(my_settings)
        else:
            hv = hostvars[name]
            values = {key: hv.get("alertmanager_" + key) for key in
                      ("listen_address", "cluster_listen_address", "cluster_advertise_address", "cluster_peers")}
        values.update(name=name, address=(hostvars[name].get("ansible_host") if name in hostvars else None) or name)
        members.append(values)
    return members
