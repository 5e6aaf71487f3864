# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare a host with the state the roles' tasks would put it in, read-only.

The fast path of the roles (monitoring.stack.host_state): one call reads users, groups, paths,
directory contents and systemd units, and says for each whether it is already exactly what the
task that manages it would leave. Every comparison errs towards "drift": anything not positively
known to be in the desired state (a mode given symbolically, a symlink where a file is wanted, a
unit that needs a daemon-reload) counts as drift, and then the real task runs. Results name paths
and reasons only: no file content and no checksum leaves the host.
"""

from __future__ import annotations

import errno
import fnmatch
import grp
import hashlib
import os
import pwd
import stat


def state_key(kind, name):
    """The key of one item in the result: user:NAME, group:NAME, path:PATH, listing:PATH, unit:NAME,
    package:NAME, set:NAME."""
    return "%s:%s" % (kind, name)


def file_sha1(path):
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _lstat(path):
    try:
        return os.lstat(path)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def _owner_drift(path, info, owner, group):
    reasons = []
    for wanted, actual_id, lookup, what in ((owner, info.st_uid, pwd.getpwuid, "owner"),
                                            (group, info.st_gid, grp.getgrgid, "group")):
        if wanted is None or wanted == "":
            continue
        wanted = str(wanted)
        if wanted.isdigit():
            if int(wanted) != actual_id:
                reasons.append("%s: %s is %d, not %s" % (path, what, actual_id, wanted))
            continue
        try:
            actual = lookup(actual_id)[0]
        except KeyError:
            actual = str(actual_id)
        if actual != wanted:
            reasons.append("%s: %s is %s, not %s" % (path, what, actual, wanted))
    return reasons


def _mode_drift(path, info, mode):
    if mode is None or mode == "":
        return []
    text = str(mode)
    # Only octal modes are compared; a symbolic mode (u=rw) is left to the task.
    if not text.isdigit() or any(c not in "01234567" for c in text):
        return ["%s: mode %s is not an octal mode, left to the task" % (path, text)]
    actual = stat.S_IMODE(info.st_mode)
    if actual != int(text, 8):
        return ["%s: mode is %04o, not %04o" % (path, actual, int(text, 8))]
    return []


def path_drift(spec):
    """Reasons why PATH is not in its desired state (empty: in sync).

    spec: path, state (file, directory, exists, absent, masked), owner, group, mode, checksum (SHA-1 of
    the content a file must have), same_as (a file whose content it must have).
    """
    path, state = spec["path"], spec.get("state") or "file"
    if state == "exists":
        # As `creates:` tests it: the path exists, following links.
        return [] if os.path.exists(path) else ["%s: does not exist" % path]
    info = _lstat(path)
    if state == "absent":
        return [] if info is None else ["%s: exists" % path]
    if info is None:
        return ["%s: does not exist" % path]
    if state == "masked":
        # As the install role masks a package's unit: a link to /dev/null, or a regular file (our
        # own unit under the package's unit name), which the role leaves alone.
        if stat.S_ISREG(info.st_mode):
            return []
        if stat.S_ISLNK(info.st_mode):
            target = os.readlink(path)
            return [] if target == "/dev/null" else ["%s: links to %s, not /dev/null" % (path, target)]
        return ["%s: is neither a link to /dev/null nor a regular file" % path]
    if state == "directory" and not stat.S_ISDIR(info.st_mode):
        return ["%s: is not a directory" % path]
    if state == "file" and not stat.S_ISREG(info.st_mode):
        return ["%s: is not a regular file" % path]
    reasons = _owner_drift(path, info, spec.get("owner"), spec.get("group"))
    reasons += _mode_drift(path, info, spec.get("mode"))
    if state == "file":
        wanted = (spec.get("checksum") or "").lower()
        if spec.get("same_as"):
            other = spec["same_as"]
            try:
                other_info = os.stat(other)  # the copy follows a link in its source
            except OSError:
                other_info = None
            if other_info is None or not stat.S_ISREG(other_info.st_mode):
                reasons.append("%s: its source %s is not a file" % (path, other))
            elif info.st_size != other_info.st_size or file_sha1(path) != file_sha1(other):
                reasons.append("%s: content differs from %s" % (path, other))
        if wanted and file_sha1(path) != wanted:
            reasons.append("%s: content differs" % path)
    return reasons


def user_drift(spec):
    """What ansible.builtin.user (append: true) would change for user NAME."""
    name = spec["name"]
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return ["user %s: does not exist" % name]
    reasons = []
    group = spec.get("group")
    if group:
        try:
            primary = grp.getgrgid(entry.pw_gid).gr_name
        except KeyError:
            primary = str(entry.pw_gid)
        if primary != group:
            reasons.append("user %s: primary group is %s, not %s" % (name, primary, group))
    for supplementary in spec.get("groups") or []:
        try:
            members = grp.getgrnam(supplementary).gr_mem
        except KeyError:
            reasons.append("user %s: group %s does not exist" % (name, supplementary))
            continue
        if name not in members:
            reasons.append("user %s: not in group %s" % (name, supplementary))
    for field, actual in (("shell", entry.pw_shell), ("home", entry.pw_dir)):
        if spec.get(field) and spec[field] != actual:
            reasons.append("user %s: %s is %s, not %s" % (name, field, actual, spec[field]))
    return reasons


def group_drift(name):
    try:
        grp.getgrnam(name)
    except KeyError:
        return ["group %s: does not exist" % name]
    return []


def listing_drift(spec):
    """Entries of directory PATH that a find + remove task pair would remove (empty: in sync).

    spec: path, patterns (shell patterns; empty: every entry), keep (names that stay), recurse.
    Every entry counts, hidden ones and directories too, so the probe never hides one the find
    sees. With recurse, as `find recurse=true` (files only): every file below PATH, named by its
    path relative to PATH (what keep names), the patterns matched against its base name.
    """
    path = spec["path"]
    if not os.path.isdir(path):
        return []
    if spec.get("recurse"):
        names = sorted(os.path.relpath(os.path.join(top, name), path)
                       for top, _dirs, files in os.walk(path) for name in files)
    else:
        try:
            names = sorted(os.listdir(path))
        except OSError as error:
            if error.errno in (errno.ENOENT, errno.ENOTDIR):
                return []
            raise
    keep = set(spec.get("keep") or [])
    patterns = spec.get("patterns") or []
    extra = [n for n in names
             if n not in keep and (not patterns or any(fnmatch.fnmatch(os.path.basename(n), p) for p in patterns))]
    return ["%s: holds %s, which is not wanted" % (path, n) for n in extra]


def read_dpkg_status(admindir="/var/lib/dpkg"):
    """The packages of dpkg's status file: {"packages": {name: [(architecture, status), ...]}}.

    Strict: unapplied journal entries under updates/ (an interrupted dpkg run) make the file stale,
    so then "error" is set and every package counts as drift.
    """
    status_path = os.path.join(admindir, "status")
    try:
        pending = [n for n in os.listdir(os.path.join(admindir, "updates")) if n.isdigit()]
        with open(status_path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return {"error": "no dpkg database at %s" % admindir, "packages": {}}
        raise
    if pending:
        return {"error": "dpkg has unapplied updates (%s/updates)" % admindir, "packages": {}}
    packages = {}
    for stanza in text.split("\n\n"):
        fields = {}
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t"):
                continue  # a continuation line of a multi-line field
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip()] = value.strip()
        if "Package" in fields:
            packages.setdefault(fields["Package"], []).append((fields.get("Architecture", ""), fields.get("Status", "")))
    return {"error": None, "packages": packages}


def _is_installed(status):
    words = status.split()
    return len(words) == 3 and words[0] in ("install", "hold") and words[1] == "ok" and words[2] == "installed"


def package_drift(name, database):
    """What `ansible.builtin.package: state=present` would change for NAME (NAME:ARCH for one architecture).

    A name without an architecture is in sync when it is installed for any architecture.
    """
    if database.get("error"):
        return ["package %s: %s, left to the task" % (name, database["error"])]
    package, dummy, architecture = name.partition(":")
    entries = [(arch, status) for arch, status in database["packages"].get(package, [])
               if not architecture or arch == architecture]
    if any(_is_installed(status) for dummy, status in entries):
        return []
    if not entries or all(status.endswith(" not-installed") for dummy, status in entries):
        return ["package %s: is not installed" % name]
    return ["package %s: is %s, not installed" % (name, "; ".join(status for dummy, status in entries))]


UNIT_PROPERTIES = ("LoadState", "ActiveState", "UnitFileState", "NeedDaemonReload")


def parse_unit_properties(text):
    """`systemctl show -p A -p B` output -> {A: value, B: value}."""
    found = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            found[key.strip()] = value.strip()
    return found


def unit_drift(spec, properties):
    """What ansible.builtin.systemd_service (enabled, state) would change, from `systemctl show`.

    spec: name, enabled (true, false or None), state (started, stopped or None; any other state,
    such as restarted or reloaded, always acts, so it is always drift).
    """
    name = spec["name"]
    reasons = []
    if properties.get("LoadState") != "loaded":
        return ["unit %s: is %s, not loaded" % (name, properties.get("LoadState") or "unknown")]
    if properties.get("NeedDaemonReload") != "no":
        reasons.append("unit %s: needs a daemon-reload" % name)
    enabled = spec.get("enabled")
    if enabled is not None:
        actual = properties.get("UnitFileState", "")
        if (actual != "enabled") if enabled else (actual != "disabled"):
            reasons.append("unit %s: is %s, not %s" % (name, actual or "unknown", "enabled" if enabled else "disabled"))
    state = spec.get("state")
    actual = properties.get("ActiveState", "")
    if state == "started" and actual != "active":
        reasons.append("unit %s: is %s, not active" % (name, actual or "unknown"))
    elif state == "stopped" and actual not in ("inactive", "failed"):
        reasons.append("unit %s: is %s, not stopped" % (name, actual or "unknown"))
    elif state not in (None, "", "started", "stopped"):
        reasons.append("unit %s: state %s always acts" % (name, state))
    return reasons


def compare(spec, show_unit):
    """Compare every item of SPEC; show_unit(name) returns `systemctl show` output of a unit.

    Returns {"in_sync": {key: bool}, "drift": [reason, ...]}; an item that appears twice is in
    sync only when both of its specs are. Each set (spec["sets"], {name: [key, ...]}, plus every
    item that names it in its own "sets") adds set:NAME, in sync when every key in it is.
    """
    in_sync, drift = {}, []
    sets = {name: list(keys) for name, keys in (spec.get("sets") or {}).items()}

    def record(key, reasons, item=None):
        in_sync[key] = in_sync.get(key, True) and not reasons
        drift.extend(reasons)
        for name in (item or {}).get("sets") or []:
            sets.setdefault(name, []).append(key)

    for name in spec.get("groups") or []:
        record(state_key("group", name), group_drift(name))
    for user in spec.get("users") or []:
        record(state_key("user", user["name"]), user_drift(user), user)
    for path in spec.get("paths") or []:
        record(state_key("path", path["path"]), path_drift(path), path)
    for listing in spec.get("listings") or []:
        record(state_key("listing", listing["path"]), listing_drift(listing), listing)
    for unit in spec.get("units") or []:
        record(state_key("unit", unit["name"]), unit_drift(unit, parse_unit_properties(show_unit(unit["name"]))), unit)
    if spec.get("packages"):
        database = read_dpkg_status(spec.get("dpkg_admindir") or "/var/lib/dpkg")
        for package in spec["packages"]:
            record(state_key("package", package["name"]), package_drift(package["name"], database), package)
    # A set is in sync when every item it names is: a whole task file can then be skipped. A
    # name no item has (a typo, an item left out) makes the set drift, and so does an empty set.
    for name, keys in sets.items():
        in_sync[state_key("set", name)] = bool(keys) and all(in_sync.get(key) is True for key in keys)
    return {"in_sync": in_sync, "drift": drift}
