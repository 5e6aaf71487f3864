"""The fast-path probe's comparisons, on real files in tmp_path and the real user database.

Every kind of drift must read as drift: a probe that says "in sync" wrongly skips the task that
would repair the host.
"""
from __future__ import annotations

import grp
import hashlib
import json
import os
import pwd
import shutil
import subprocess

import pytest

from ansible_collections.monitoring.stack.plugins.module_utils.host_state import (
    compare,
    listing_drift,
    package_drift,
    parse_unit_properties,
    path_drift,
    read_dpkg_status,
    unit_drift,
    user_drift,
)
from ansible_collections.monitoring.stack.plugins.filter.host_state import in_sync

ME = pwd.getpwuid(os.getuid())
MY_GROUP = grp.getgrgid(os.getgid()).gr_name
CONTENT = "global:\n  resolve_timeout: 5m\n"


def sha1(text):
    return hashlib.sha1(text.encode()).hexdigest()


@pytest.fixture(name="config")
def _config(tmp_path):
    path = tmp_path / "alertmanager.yml"
    path.write_text(CONTENT)
    path.chmod(0o640)
    return {"path": str(path), "owner": ME.pw_name, "group": MY_GROUP, "mode": "0640", "checksum": sha1(CONTENT)}


def test_file_as_written_is_in_sync(config):
    assert path_drift(config) == []


def test_changed_content_is_drift(config):
    with open(config["path"], "a", encoding="utf-8") as handle:
        handle.write("route: {}\n")
    assert path_drift(config) == ["%s: content differs" % config["path"]]


def test_same_size_other_content_is_drift(config):
    with open(config["path"], "w", encoding="utf-8") as handle:
        handle.write(CONTENT.replace("5m", "6m"))
    assert path_drift(config) == ["%s: content differs" % config["path"]]


def test_mode_is_drift(config):
    os.chmod(config["path"], 0o644)
    assert path_drift(config) == ["%s: mode is 0644, not 0640" % config["path"]]


def test_owner_and_group_are_drift(config):
    other_user = "nobody" if ME.pw_name != "nobody" else "root"
    other_group = "nogroup" if MY_GROUP != "nogroup" else "root"
    assert path_drift(dict(config, owner=other_user, group=other_group)) == [
        "%s: owner is %s, not %s" % (config["path"], ME.pw_name, other_user),
        "%s: group is %s, not %s" % (config["path"], MY_GROUP, other_group)]
    assert path_drift(dict(config, owner=str(ME.pw_uid + 1))) != []
    assert path_drift(dict(config, owner=str(ME.pw_uid), group=str(os.getgid()))) == []


def test_missing_file_and_wrong_type_are_drift(config, tmp_path):
    os.remove(config["path"])
    assert path_drift(config) == ["%s: does not exist" % config["path"]]
    os.mkdir(config["path"])
    assert path_drift(config) == ["%s: is not a regular file" % config["path"]]


def test_symlink_to_the_right_content_is_drift(config, tmp_path):
    target = tmp_path / "real.yml"
    os.rename(config["path"], target)
    os.symlink(target, config["path"])
    assert path_drift(config) == ["%s: is not a regular file" % config["path"]]


def test_symbolic_mode_is_left_to_the_task(config):
    assert path_drift(dict(config, mode="u=rw,g=r")) == [
        "%s: mode u=rw,g=r is not an octal mode, left to the task" % config["path"]]
    assert path_drift(dict(config, mode="0698")) != []


def test_directory(tmp_path):
    spec = {"path": str(tmp_path / "d"), "state": "directory", "owner": ME.pw_name, "mode": "0750"}
    assert path_drift(spec) == ["%s: does not exist" % spec["path"]]
    os.mkdir(spec["path"], 0o750)
    os.chmod(spec["path"], 0o750)
    assert path_drift(spec) == []
    os.chmod(spec["path"], 0o755)
    assert path_drift(spec) == ["%s: mode is 0755, not 0750" % spec["path"]]
    os.rmdir(spec["path"])
    (tmp_path / "d").write_text("")
    assert path_drift(spec) == ["%s: is not a directory" % spec["path"]]


def test_binary_replaced_is_drift(tmp_path):
    release, installed = tmp_path / "release-prometheus", tmp_path / "prometheus"
    release.write_bytes(b"\x7fELF release build")
    installed.write_bytes(b"\x7fELF release build")
    installed.chmod(0o755)
    spec = {"path": str(installed), "same_as": str(release), "owner": ME.pw_name, "mode": "0755"}
    assert path_drift(spec) == []
    installed.write_bytes(b"\x7fELF patched build")  # same size, other bytes
    assert path_drift(spec) == ["%s: content differs from %s" % (installed, release)]
    release.unlink()
    assert path_drift(spec) == ["%s: its source %s is not a file" % (installed, release)]


def test_exists_and_absent(tmp_path):
    path = tmp_path / "bin"
    assert path_drift({"path": str(path), "state": "exists"}) == ["%s: does not exist" % path]
    assert path_drift({"path": str(path), "state": "absent"}) == []
    path.write_text("")
    assert path_drift({"path": str(path), "state": "exists"}) == []
    assert path_drift({"path": str(path), "state": "absent"}) == ["%s: exists" % path]


def test_listing(tmp_path):
    spec = {"path": str(tmp_path), "patterns": ["*.tmpl"], "keep": ["slack.tmpl"]}
    (tmp_path / "slack.tmpl").write_text("")
    (tmp_path / "notes.txt").write_text("")
    assert listing_drift(spec) == []
    (tmp_path / ".old.tmpl").write_text("")  # hidden: find skips it, the probe still counts it
    (tmp_path / "email.tmpl").write_text("")
    assert listing_drift(spec) == ["%s: holds .old.tmpl, which is not wanted" % tmp_path,
                                   "%s: holds email.tmpl, which is not wanted" % tmp_path]
    assert listing_drift({"path": str(tmp_path / "missing")}) == []
    assert len(listing_drift({"path": str(tmp_path), "keep": ["slack.tmpl"]})) == 3


def test_user_of_the_real_user_database():
    spec = {"name": ME.pw_name, "group": MY_GROUP, "groups": [], "shell": ME.pw_shell, "home": ME.pw_dir}
    assert user_drift(spec) == []
    assert user_drift(dict(spec, shell="/usr/sbin/nologin-other")) == [
        "user %s: shell is %s, not /usr/sbin/nologin-other" % (ME.pw_name, ME.pw_shell)]
    assert user_drift(dict(spec, home="/elsewhere")) != []
    assert user_drift(dict(spec, name="ms-no-such-user")) == ["user ms-no-such-user: does not exist"]
    other = next(g.gr_name for g in grp.getgrall() if g.gr_gid != os.getgid() and ME.pw_name not in g.gr_mem)
    assert user_drift(dict(spec, group=other)) == ["user %s: primary group is %s, not %s" % (ME.pw_name, MY_GROUP, other)]
    assert user_drift(dict(spec, groups=[other])) == ["user %s: not in group %s" % (ME.pw_name, other)]
    assert user_drift(dict(spec, groups=["ms-no-such-group"])) == [
        "user %s: group ms-no-such-group does not exist" % ME.pw_name]


SHOW = "LoadState=loaded\nActiveState=active\nUnitFileState=enabled\nNeedDaemonReload=no\n"


@pytest.mark.parametrize("change, reason", [
    ("", None),
    ("ActiveState=inactive", "is inactive, not active"),
    ("ActiveState=failed", "is failed, not active"),
    ("ActiveState=activating", "is activating, not active"),
    ("UnitFileState=disabled", "is disabled, not enabled"),
    ("UnitFileState=static", "is static, not enabled"),
    ("NeedDaemonReload=yes", "needs a daemon-reload"),
])
def test_unit_started_and_enabled(change, reason):
    text = SHOW + change + "\n"
    found = unit_drift({"name": "prometheus.service", "enabled": True, "state": "started"}, parse_unit_properties(text))
    assert found == ([] if reason is None else ["unit prometheus.service: " + reason])


def test_unit_not_loaded_and_other_states():
    assert unit_drift({"name": "x.service", "state": "started"}, parse_unit_properties("LoadState=not-found\n")) == [
        "unit x.service: is not-found, not loaded"]
    assert unit_drift({"name": "x.service"}, {}) == ["unit x.service: is unknown, not loaded"]
    stopped = parse_unit_properties(SHOW.replace("=active", "=inactive").replace("=enabled", "=disabled"))
    assert unit_drift({"name": "x.service", "enabled": False, "state": "stopped"}, stopped) == []
    assert unit_drift({"name": "x.service", "state": "restarted"}, stopped) == ["unit x.service: state restarted always acts"]


def test_compare_ands_items_and_the_filter_reads_scope(config):
    spec = {"paths": [config, dict(config, mode="0600")], "groups": [MY_GROUP, "ms-no-such-group"],
            "units": [{"name": "a.service", "state": "started"}]}
    result = compare(spec, lambda name: SHOW)
    assert result["in_sync"] == {"path:" + config["path"]: False, "group:" + MY_GROUP: True,
                                 "group:ms-no-such-group": False, "unit:a.service": True}
    result["scope"] = "alertmanager"
    assert in_sync(result, "group", MY_GROUP, "alertmanager") is True
    assert in_sync(result, "group", MY_GROUP, "prometheus") is False
    assert in_sync(result, "path", config["path"], "alertmanager") is False
    assert in_sync(result, "path", "/not/probed", "alertmanager") is False
    assert in_sync(dict(result, skipped=True), "group", MY_GROUP, "alertmanager") is False
    assert in_sync({}, "group", MY_GROUP, "alertmanager") is False


def test_a_set_is_in_sync_only_when_every_key_is(config):
    spec = {"paths": [config], "groups": [MY_GROUP, "ms-no-such-group"],
            "sets": {"install": ["group:" + MY_GROUP, "path:" + config["path"]],
                     "broken": ["group:" + MY_GROUP, "group:ms-no-such-group"],
                     "typo": ["path:/not/probed"], "empty": []}}
    found = compare(spec, lambda name: "")["in_sync"]
    assert (found["set:install"], found["set:broken"], found["set:typo"], found["set:empty"]) == (True, False, False, False)
    os.chmod(config["path"], 0o600)
    assert compare(spec, lambda name: "")["in_sync"]["set:install"] is False


def test_items_join_sets_by_name(config, tmp_path):
    other = dict(config, path=str(tmp_path / "missing.yml"), sets=["configure"])
    spec = {"paths": [dict(config, sets=["configure"])], "listings": [{"path": str(tmp_path), "keep": [
        os.path.basename(config["path"])], "sets": ["configure"]}]}
    assert compare(spec, lambda name: "")["in_sync"]["set:configure"] is True
    spec["paths"].append(other)
    assert compare(spec, lambda name: "")["in_sync"]["set:configure"] is False


# Package states as dpkg writes them in its status file (dpkg-query(1), deb-status(5)): want,
# error flag, status. Only "installed" with want install or hold is what `package: state=present`
# leaves; every other status makes the package task run.
DPKG_STANZAS = [
    ("prometheus", "amd64", "install ok installed"),
    ("prometheus-alertmanager", "amd64", "hold ok installed"),
    ("prometheus-node-exporter", "amd64", "deinstall ok config-files"),
    ("grafana", "amd64", "install ok half-configured"),
    ("loki", "amd64", "install ok unpacked"),
    ("alloy", "amd64", "install reinstreq half-installed"),
    ("promtail", "amd64", "install ok triggers-pending"),
    ("libc6", "amd64", "install ok installed"),
    ("libc6", "i386", "deinstall ok not-installed"),
]


def write_dpkg_database(root, stanzas, updates=()):
    (root / "updates").mkdir(parents=True)
    (root / "info").mkdir()
    (root / "available").write_text("")
    for name in updates:
        (root / "updates" / name).write_text("Package: loki\nStatus: install ok installed\n\n")
    (root / "status").write_text("".join(
        "Package: %s\nStatus: %s\nPriority: optional\nMaintainer: Debian <debian@example.org>\nArchitecture: %s\n"
        "Version: 1.0-1\n%sDescription: test package\n multi-line description\n\n"
        % (name, status, arch, "Triggers-Pending: ldconfig\n" if status.endswith("triggers-pending") else "")
        for name, arch, status in stanzas))
    return str(root)


def dpkg_query_installed(admindir):
    """The oracle: dpkg-query's own reading of the same database."""
    out = subprocess.run(["dpkg-query", "--admindir=" + admindir, "-W", "-f",
                          "${Package}:${Architecture} ${db:Status-Want} ${db:Status-Status}\n"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    found = set()
    for line in out.splitlines():
        name, want, status = line.split()
        if want in ("install", "hold") and status == "installed":
            found.add(name)
    return found


needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="dpkg-query (the oracle) is not installed")


@needs_dpkg
def test_packages_agree_with_dpkg_query(tmp_path):
    admindir = write_dpkg_database(tmp_path, DPKG_STANZAS)
    names = sorted({stanza[0] for stanza in DPKG_STANZAS} | {"libc6:amd64", "libc6:i386", "not-there"})
    expected = dpkg_query_installed(admindir)
    for name in names:
        wanted = any(item == name or item.split(":")[0] == name for item in expected) if ":" not in name \
            else name in expected
        reasons = package_drift(name, read_dpkg_status(admindir))
        assert (reasons == []) is wanted, (name, reasons)
    assert package_drift("prometheus-node-exporter", read_dpkg_status(admindir)) == [
        "package prometheus-node-exporter: is deinstall ok config-files, not installed"]
    assert package_drift("not-there", read_dpkg_status(admindir)) == ["package not-there: is not installed"]


@needs_dpkg
def test_packages_of_this_machine_agree_with_dpkg_query():
    if not os.path.exists("/var/lib/dpkg/status"):
        pytest.skip("this machine has no dpkg database")
    statuses = read_dpkg_status("/var/lib/dpkg")
    expected = dpkg_query_installed("/var/lib/dpkg")
    assert expected, "dpkg-query listed no installed package"
    for name in expected:
        assert package_drift(name, statuses) == [], name
        assert package_drift(name.split(":")[0], statuses) == [], name


def test_pending_dpkg_updates_make_every_package_drift(tmp_path):
    admindir = write_dpkg_database(tmp_path, DPKG_STANZAS, updates=["0001"])
    assert package_drift("prometheus", read_dpkg_status(admindir)) == [
        "package prometheus: dpkg has unapplied updates (%s/updates), left to the task" % admindir]


def test_no_dpkg_database_is_drift(tmp_path):
    assert package_drift("prometheus", read_dpkg_status(str(tmp_path / "none"))) == [
        "package prometheus: no dpkg database at %s, left to the task" % (tmp_path / "none")]


def test_masked_unit_path(tmp_path):
    link = tmp_path / "prometheus.service"
    spec = {"path": str(link), "state": "masked"}
    assert path_drift(spec) == ["%s: does not exist" % link]
    link.symlink_to("/dev/null")
    assert path_drift(spec) == []
    link.unlink()
    link.symlink_to("/lib/systemd/system/prometheus.service")
    assert path_drift(spec) == ["%s: links to /lib/systemd/system/prometheus.service, not /dev/null" % link]
    link.unlink()
    link.write_text("[Unit]\n")  # our own unit under the package's name stays
    assert path_drift(spec) == []


def test_compare_reads_packages_and_joins_sets(tmp_path):
    admindir = write_dpkg_database(tmp_path / "dpkg", DPKG_STANZAS)
    spec = {"packages": [{"name": "prometheus", "sets": ["package"]}], "dpkg_admindir": admindir}
    assert compare(spec, lambda name: "")["in_sync"] == {"package:prometheus": True, "set:package": True}
    spec["packages"].append({"name": "loki", "sets": ["package"]})
    found = compare(spec, lambda name: "")
    assert found["in_sync"]["set:package"] is False
    assert found["drift"] == ["package loki: is install ok unpacked, not installed"]


def _found_by_find(root, patterns):
    """What ansible.builtin.find (recurse, these patterns) lists under ROOT: the real module is the oracle."""
    args = "paths=%s patterns=%s recurse=true" % (root, ",".join(patterns))
    out = subprocess.run(
        ["ansible", "localhost", "-c", "local", "-m", "ansible.builtin.find", "-a", args, "-o"],
        capture_output=True, text=True, check=True, timeout=120,
        env=dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false"))
    result = json.loads(out.stdout.split("=>", 1)[1])
    return sorted(os.path.relpath(f["path"], root) for f in result["files"])


def test_recursive_listing_names_what_find_would_remove(tmp_path):
    # The grafana role's pair: find *.json recursively, remove what is not provisioned.
    for name in ("Services/api.json", "Services/db.json", "Nodes/node.json", "top.json", "Services/notes.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("{}")
    keep = ["Services/api.json", "top.json"]
    spec = {"path": str(tmp_path), "patterns": ["*.json"], "keep": keep, "recurse": True}
    removed_by_find = sorted(set(_found_by_find(tmp_path, ["*.json"])) - set(keep))
    assert removed_by_find == ["Nodes/node.json", "Services/db.json"]
    assert listing_drift(spec) == ["%s: holds %s, which is not wanted" % (tmp_path, n) for n in removed_by_find]
    spec["keep"] = keep + removed_by_find
    assert listing_drift(spec) == []
    # Without recurse only the top level counts, as before.
    assert listing_drift(dict(spec, keep=[], recurse=False)) == ["%s: holds top.json, which is not wanted" % tmp_path]
