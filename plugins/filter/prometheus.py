# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the prometheus role: inventory -> configuration data (logic in module_utils/prometheus_config.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: prometheus_config
short_description: The prometheus.yml of the prometheus role, as data
description:
  - Builds the whole Prometheus configuration (global settings, external labels, rule files,
    Alertmanager targets, scrape jobs generated from the inventory, file_sd, ec2_sd and extra
    jobs, metric keep/drop lists, remote write with SigV4 for Amazon Managed Prometheus).
  - Companion filters in this file, used by the same role
    C(prometheus_hosts) (inventory groups and hostvars to plain host data),
    C(prometheus_config_problems) (preflight messages naming the variable to fix),
    C(prometheus_rule_problems) and C(prometheus_rule_file) (rule packs from the collection's
    C(rules/) directory, C(for:) overrides, extra rules; the PromQL of extra rules is parsed with
    the C(promql-parser) Python package, else C(promtool) on the controller),
    C(prometheus_promql_checked) (whether the controller can parse PromQL), C(prometheus_rule_pack_names),
    C(prometheus_file_sd) (file_sd target files), C(prometheus_web_users) and
    C(prometheus_web_config) (basic auth users with bcrypt hashes that stay the same across runs),
    C(prometheus_flags) (the command line for the selected version, with agent mode, console templates and
    C(--enable-feature)), C(prometheus_probe) (the installed version, the package candidate and the
    version that last wrote the data directory, from the output of the role's one probe command),
    C(prometheus_downgrade_problem) (a data directory written by 3.x and a target below 2.55),
    C(prometheus_newest_version) (the newest of some versions),
    C(prometheus_replica) (the replica label and value of a host of an HA pair, and the variables the
    pair's members disagree on),
    C(connect_address) and C(local_url) (where a client on the same host reaches a listen address,
    C(0.0.0.0:9090) -> C(127.0.0.1:9090); C(local_url(scheme, path)) -> C(http://127.0.0.1:9090/path)).
positional: hosts
options:
  _input:
    description: Settings of the role (see the role's vars/main.yml C(_prometheus_settings)).
    type: dict
    required: true
  hosts:
    description: Plain host data, from C(prometheus_hosts).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
config: "{{ _prometheus_settings | monitoring.stack.prometheus_config(_prometheus_hosts) }}"
"""

RETURN = r"""
_value:
  description: The Prometheus configuration, ready for C(to_nice_yaml).
  type: dict
"""

import ctypes
import ctypes.util
import os
import re
import secrets
import shutil
import subprocess
import tempfile

import yaml

try:
    import promql_parser
except ImportError:
    promql_parser = None

from ansible.errors import AnsibleFilterError
from ansible_collections.monitoring.stack.plugins.module_utils import ha
from ansible_collections.monitoring.stack.plugins.module_utils import prometheus_config as pc
from ansible_collections.monitoring.stack.plugins.module_utils import prometheus_versions as pv
from ansible_collections.monitoring.stack.plugins.module_utils.common import connect_address, local_url

RULES_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "rules"))
_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_libcrypt = None


def _crypt(password, setting):
    """crypt(3) from libcrypt (libxcrypt on Debian/Ubuntu knows bcrypt)."""
    global _libcrypt
    if _libcrypt is None:
        name = ctypes.util.find_library("crypt")
        if not name:
            raise AnsibleFilterError("prometheus_basic_auth_users: libcrypt is needed on the controller to hash "
                                     "passwords; give password_hash (bcrypt) instead")
        _libcrypt = ctypes.CDLL(name)
        _libcrypt.crypt.restype = ctypes.c_char_p
        _libcrypt.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    result = _libcrypt.crypt(str(password).encode(), str(setting).encode())
    if not result or result.startswith(b"*"):
        raise AnsibleFilterError("prometheus_basic_auth_users: this controller's libcrypt cannot make bcrypt hashes; "
                                 "give password_hash (bcrypt) instead")
    return result.decode()


def _bcrypt_hash(password, rounds=10):
    # The last salt character carries only 2 bits: pick from the 4 canonical ones.
    salt = "".join(secrets.choice(_BCRYPT_ALPHABET) for dummy in range(21)) + secrets.choice(".Oeu")
    return _crypt(password, "$2b$%02d$%s" % (rounds, salt))


def _bcrypt_verify(password, hashed):
    return _crypt(password, hashed) == hashed


def _host_data(name, hv, in_scrape, in_node, in_am):
    get = hv.get
    return {
        "name": name,
        "address": get("ansible_host") or name,
        "environment": get("monitoring_environment") or "",
        "service": get("monitoring_service") or "",
        "scrape_targets": get("monitoring_scrape_targets"),
        "node_exporter_listen_address": get("node_exporter_listen_address") or "",
        "alertmanager_listen_address": get("alertmanager_listen_address") or "",
        "in_scrape_groups": in_scrape,
        "in_node_groups": in_node,
        "in_alertmanager_groups": in_am,
    }


def prometheus_hosts(groups, hostvars, scrape_groups, node_groups, alertmanager_groups):
    """Hosts of the named groups (in inventory order) as plain data."""
    def members(names):
        out = []
        for group in names or []:
            for host in groups.get(group, []):
                if host not in out:
                    out.append(host)
        return out

    scrape, node, am = members(scrape_groups), members(node_groups), members(alertmanager_groups)
    ordered = []
    for host in scrape + node + am:
        if host not in ordered:
            ordered.append(host)
    return [_host_data(h, hostvars[h], h in scrape, h in node, h in am) for h in ordered]


def prometheus_replica(groups, hostvars, me, group, replica_label, replica=None):
    """{replica_label, replica, cluster, problems} of this host in HA pair ``group`` ({} values
    when it is not a member); problems name the variables the members disagree on."""
    members = ha.group_members(groups, group)
    out = ha.replica_settings(me, members, replica_label, replica)
    out["cluster"] = group if out else ""
    out["problems"] = ha.replica_problems(group, {h: {v: hostvars[h].get(v) for v in ha.REPLICA_VARIABLES}
                                                  for h in members}) if out else []
    return out


def prometheus_config(settings, hosts):
    return pc.build_config(settings, hosts)


def prometheus_config_problems(settings, hosts):
    return pc.config_problems(settings, hosts)


def prometheus_flags(settings):
    return pc.build_flags(settings)


def prometheus_probe(output):
    """The output of the role's probe command -> {installed, candidate, data_version}.

    ``installed``: the version the installed binary reports; ``candidate``: the package
    candidate (``apt-cache policy``); ``data_version``: the version the role last recorded in
    the data directory, else the installed version when the data directory holds a WAL.
    """
    text = str(output or "")
    installed = pv.version_from_output(text)
    candidate = re.search(r"^\s*Candidate:\s*(?:\d+:)?(\d+\.\d+\.\d+)", text, re.MULTILINE)
    recorded = re.search(r"^data_version=(\S+)", text, re.MULTILINE)
    populated = re.search(r"^data_dir=populated$", text, re.MULTILINE) is not None
    data_version = recorded.group(1) if recorded else (installed if populated else None)
    return {"installed": installed, "candidate": candidate.group(1) if candidate else None,
            "data_version": data_version}


def prometheus_downgrade_problem(data_version, target_version):
    return pv.downgrade_problem(data_version, target_version) or ""


def prometheus_newest_version(versions):
    """The newest of the given versions (empty ones skipped): what the data marker records."""
    known = [str(v) for v in versions or [] if pv.parse_version(v)]
    return max(known, key=pv.parse_version) if known else ""


def prometheus_rule_pack_names(_ignored=None, rules_dir=None):
    directory = rules_dir or RULES_DIR
    return sorted(f[:-4] for f in os.listdir(directory) if f.endswith(".yml"))


def _load_packs(selected, rules_dir):
    packs = {}
    for name in selected:
        with open(os.path.join(rules_dir, name + ".yml")) as handle:
            packs[name] = yaml.safe_load(handle) or {}
    return packs


def _promtool_expr_error(promtool, expr):
    """Why promtool rejects ``expr`` (as the expr of a one-rule group), or None."""
    with tempfile.TemporaryDirectory(prefix="ms-promql-") as tmp:
        path = os.path.join(tmp, "rule.yml")
        with open(path, "w") as handle:
            yaml.safe_dump({"groups": [{"name": "check", "rules": [{"record": "check", "expr": expr}]}]}, handle)
        proc = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True, check=False,
                              timeout=60)
    if proc.returncode == 0:
        return None
    lines = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    return lines[-1] if lines else "rejected by promtool"


def promql_checker():
    """A function expr -> error (None when it parses): the promql-parser package, else promtool
    on the controller. None when neither exists; the caller then says the rules are not parsed."""
    if promql_parser is not None:
        def parse(expr):
            try:
                promql_parser.parse(expr)
            except ValueError as exc:
                return str(exc)
            return None
        return parse
    promtool = shutil.which("promtool")
    if promtool:
        return lambda expr: _promtool_expr_error(promtool, expr)
    return None


def prometheus_rule_problems(selected, for_overrides=None, extra_rules=None, rules_dir=None):
    directory = rules_dir or RULES_DIR
    available = prometheus_rule_pack_names(rules_dir=directory)
    known = [name for name in (selected if isinstance(selected, list) else []) if name in available]
    alerts = {name: [r.get("alert") for g in data.get("groups") or [] for r in g.get("rules") or []]
              for name, data in _load_packs(known, directory).items()}
    return pc.rule_problems(available, selected, for_overrides or {}, extra_rules or [], alerts, promql_checker())


def prometheus_promql_checked(_ignored=None):
    """True when the controller can parse PromQL (preflight warns visibly when it cannot)."""
    return promql_checker() is not None


def prometheus_rule_file(selected, for_overrides=None, extra_rules=None, rules_dir=None):
    directory = rules_dir or RULES_DIR
    return pc.rule_file(_load_packs(selected, directory), selected, for_overrides or {}, extra_rules or [])


def prometheus_file_sd(file_sd_targets):
    return pc.file_sd_files(file_sd_targets)


def prometheus_web_users(users, existing=None):
    return pc.web_users(users, existing or {}, _bcrypt_hash, _bcrypt_verify)


def prometheus_web_config(users_hashed, tls=None):
    return pc.web_config(users_hashed, tls)


class FilterModule(object):
    def filters(self):
        return {
            "prometheus_hosts": prometheus_hosts,
            "prometheus_config": prometheus_config,
            "prometheus_replica": prometheus_replica,
            "prometheus_config_problems": prometheus_config_problems,
            "prometheus_flags": prometheus_flags,
            "prometheus_probe": prometheus_probe,
            "prometheus_downgrade_problem": prometheus_downgrade_problem,
            "prometheus_newest_version": prometheus_newest_version,
            "prometheus_rule_pack_names": prometheus_rule_pack_names,
            "prometheus_rule_problems": prometheus_rule_problems,
            "prometheus_promql_checked": prometheus_promql_checked,
            "prometheus_rule_file": prometheus_rule_file,
            "prometheus_file_sd": prometheus_file_sd,
            "prometheus_web_users": prometheus_web_users,
            "prometheus_web_config": prometheus_web_config,
            "connect_address": connect_address,
            "local_url": local_url,
        }
