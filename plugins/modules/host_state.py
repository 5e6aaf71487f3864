#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: host_state
short_description: Say in one call which parts of a host are already in their desired state
version_added: 0.1.0
description:
  - Reads users, groups, paths, directory contents, systemd units and installed packages (dpkg), and returns for each item
    whether it is exactly what the task that manages it would leave. The roles run it once and skip
    every task whose item is in sync; a task whose item drifted runs as before and repairs it.
  - Strict by design. Anything not positively known to be in the desired state counts as drift
    (a symlink where a file or directory is wanted, a mode that is not octal, a unit that needs a
    daemon-reload, a unit state other than started or stopped), so the real task runs.
  - It only reads. It returns paths, names and reasons only, never a file's content or checksum;
    the desired checksums it is given are not logged.
author: monitoring.stack contributors (@monitoring-stack)
options:
  scope:
    description: A name returned as is, for the C(in_sync) filter to tell this probe's result from another's.
    type: str
    required: true
  groups:
    description: Groups that must exist (as M(ansible.builtin.group) creates them).
    type: list
    elements: str
    default: []
  users:
    description: Users as M(ansible.builtin.user) with C(append=true) leaves them.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: User name.
        type: str
        required: true
      group:
        description: Primary group.
        type: str
      groups:
        description: Supplementary groups the user must be in (others are allowed, as with C(append)).
        type: list
        elements: str
        default: []
      shell:
        description: Login shell.
        type: str
      home:
        description: Home directory.
        type: str
      sets:
        description: Names of the sets (see I(sets)) this item belongs to.
        type: list
        elements: str
        default: []
  paths:
    description: Files and directories.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The path (not followed when it is a link, except with C(state=exists)).
        type: path
        required: true
      state:
        description:
          - C(file) a regular file, C(directory), C(absent), or C(exists) (anything, links
            followed, as C(creates) tests it).
          - C(masked) a link to C(/dev/null) or a regular file, as the install role leaves a package's unit.
        type: str
        choices: [file, directory, exists, absent, masked]
        default: file
      owner:
        description: Owner name or uid.
        type: str
      group:
        description: Group name or gid.
        type: str
      mode:
        description: Octal mode such as C(0644); a symbolic mode always counts as drift.
        type: str
      checksum:
        description: SHA-1 of the content the file must have (C(content | hash('sha1'))).
        type: str
      same_as:
        description: A file whose content the file must have (a copy with C(remote_src)).
        type: path
      sets:
        description: Names of the sets (see I(sets)) this item belongs to.
        type: list
        elements: str
        default: []
  listings:
    description: Directories that must hold no entry other than the ones named (a find and remove pair).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The directory. A directory that does not exist holds nothing to remove.
        type: path
        required: true
      patterns:
        description: Shell patterns of the entries that count; empty for every entry.
        type: list
        elements: str
        default: []
      keep:
        description: Names of entries that stay (with I(recurse), paths relative to I(path)).
        type: list
        elements: str
        default: []
      recurse:
        description:
          - Count every file below I(path), as M(ansible.builtin.find) with C(recurse=true) finds them.
          - I(patterns) then match each file's base name.
        type: bool
        default: false
      sets:
        description: Names of the sets (see I(sets)) this item belongs to.
        type: list
        elements: str
        default: []
  units:
    description: Systemd units as M(ansible.builtin.systemd_service) leaves them.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Unit name, such as C(prometheus.service).
        type: str
        required: true
      enabled:
        description: Whether it must be enabled; unset to not compare.
        type: bool
      state:
        description: C(started) or C(stopped); any other state always acts, so it is drift.
        type: str
      sets:
        description: Names of the sets (see I(sets)) this item belongs to.
        type: list
        elements: str
        default: []
  packages:
    description:
      - Packages as M(ansible.builtin.package) with C(state=present) leaves them, read from dpkg's status
        file (C(NAME) for any architecture, C(NAME:ARCH) for one). Only the status C(installed) with the
        wanted state C(install) or C(hold) is in sync; unpacked, half-configured or removed packages, a host
        without a dpkg database, and unapplied dpkg journal entries are drift.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Package name.
        type: str
        required: true
      sets:
        description: Names of the sets (see I(sets)) this item belongs to.
        type: list
        elements: str
        default: []
  sets:
    description:
      - Named sets of items, each a list of keys of the result (C(path:/etc/prometheus), C(unit:prometheus.service));
        an item's own I(sets) adds it to those sets. C(set:NAME) is in sync when every key in it is, so
        that a whole task file can be skipped; a key that no item has, or an empty set, makes the set drift.
    type: dict
    default: {}
extends_documentation_fragment:
  - monitoring.stack.attributes.check_only
  - monitoring.stack.attributes.platform_posix
notes:
  - The C(monitoring.stack.in_sync) filter reads the result in a task's C(when).
"""

EXAMPLES = r"""
- name: Read the state of the host in one call
  monitoring.stack.host_state:
    scope: prometheus
    groups: [prometheus]
    users:
      - {name: prometheus, group: prometheus, shell: /usr/sbin/nologin, home: /nonexistent}
    paths:
      - {path: /etc/prometheus, state: directory, owner: root, group: prometheus, mode: "0755"}
      - path: /etc/prometheus/prometheus.yml
        owner: root
        group: prometheus
        mode: "0640"
        checksum: "{{ _prometheus_config | ansible.builtin.to_nice_yaml(indent=2) | ansible.builtin.hash('sha1') }}"
    units:
      - {name: prometheus.service, enabled: true, state: started}
  register: _state

- name: Write the config
  ansible.builtin.copy:
    content: "{{ _prometheus_config | ansible.builtin.to_nice_yaml(indent=2) }}"
    dest: /etc/prometheus/prometheus.yml
    owner: root
    group: prometheus
    mode: "0640"
  when: not (_state | monitoring.stack.in_sync('path', '/etc/prometheus/prometheus.yml', 'prometheus'))
"""

RETURN = r"""
scope:
  description: The scope the probe was called with.
  returned: always
  type: str
  sample: prometheus
in_sync:
  description: For each item and set, C(KIND:NAME) (C(user:), C(group:), C(path:), C(listing:), C(unit:), C(package:), C(set:)), whether it is in sync.
  returned: always
  type: dict
  sample: {"path:/etc/prometheus/prometheus.yml": true, "unit:prometheus.service": false}
drift:
  description: Why each item that drifted is not in sync.
  returned: always
  type: list
  elements: str
  sample: ["unit prometheus.service: is inactive, not active"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.monitoring.stack.plugins.module_utils.host_state import UNIT_PROPERTIES, compare


def main():
    module = AnsibleModule(
        argument_spec=dict(
            scope=dict(type="str", required=True),
            groups=dict(type="list", elements="str", default=[]),
            users=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                group=dict(type="str"),
                groups=dict(type="list", elements="str", default=[]),
                shell=dict(type="str"),
                home=dict(type="str"),
                sets=dict(type="list", elements="str", default=[]),
            )),
            paths=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                state=dict(type="str", default="file", choices=["file", "directory", "exists", "absent", "masked"]),
                owner=dict(type="str"),
                group=dict(type="str"),
                mode=dict(type="str"),
                checksum=dict(type="str", no_log=True),
                same_as=dict(type="path"),
                sets=dict(type="list", elements="str", default=[]),
            )),
            listings=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                patterns=dict(type="list", elements="str", default=[]),
                keep=dict(type="list", elements="str", default=[]),
                recurse=dict(type="bool", default=False),
                sets=dict(type="list", elements="str", default=[]),
            )),
            sets=dict(type="dict", default={}),
            packages=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                sets=dict(type="list", elements="str", default=[]),
            )),
            units=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                enabled=dict(type="bool"),
                state=dict(type="str"),
                sets=dict(type="list", elements="str", default=[]),
            )),
        ),
        supports_check_mode=True,
    )
    systemctl = module.get_bin_path("systemctl") if module.params["units"] else None

    def show_unit(name):
        if not systemctl:
            return ""
        argv = [systemctl, "show", "--no-pager"] + ["--property=%s" % p for p in UNIT_PROPERTIES] + ["--", name]
        rc, out, dummy = module.run_command(argv)
        return out if rc == 0 else ""

    try:
        result = compare(module.params, show_unit)
    except OSError as error:
        module.fail_json(msg="Failed to read the state of the host: %s" % error)
    module.exit_json(changed=False, scope=module.params["scope"], **result)


if __name__ == "__main__":
    main()
