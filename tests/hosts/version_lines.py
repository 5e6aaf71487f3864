#!/usr/bin/env python
"""Real Prometheus-family binaries of three Debian version lines, staged for the tests.

    version_lines.py stage LINE     download (cached) and unpack; print {binary: version} as JSON
    version_lines.py bindir LINE    print the directory holding that line's binaries
    version_lines.py versions LINE  print {binary: version} read from the binaries (JSON)
    version_lines.py templates LINE print the directory of that line's Alertmanager default
                                    templates (default.tmpl, email.tmpl)

Lines: ``bookworm`` (the machine's own packages in /usr/bin, as scripts/setup-system.sh
installs them), ``trixie`` (Debian 13) and ``sid`` (unstable: it moves, so versions are always
read from the binaries, never assumed). trixie and sid packages are downloaded by package name
with a private apt state (its own sources list, lists and cache under the cache directory): the
machine's apt sources are never changed. Their binaries are Go programs linked only against libc
and run on Debian 12 as they are.

The cache lives in $MONITORING_STACK_CACHE (default ~/.cache/monitoring-stack)/lines/LINE and is
rebuilt only when a binary is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import json
import os
import re
import shutil
import subprocess
import sys

LINES = ("bookworm", "trixie", "sid")
# Debian package -> the binaries it ships in /usr/bin (Debian's names).
PACKAGES = {
    "prometheus": ("prometheus",),
    "promtool": ("promtool",),   # its own package from 3.x; part of `prometheus` before
    "prometheus-alertmanager": ("prometheus-alertmanager", "amtool"),
    "prometheus-node-exporter": ("prometheus-node-exporter",),
    "prometheus-blackbox-exporter": ("prometheus-blackbox-exporter",),
    # A real remote-write receiver with a Prometheus query API (tests/integration/test_remote_storage.py,
    # Molecule ha_failover).
    "victoria-metrics": ("victoria-metrics",),
}
BINARIES = ("prometheus", "promtool", "prometheus-alertmanager", "amtool", "prometheus-node-exporter",
            "prometheus-blackbox-exporter")
# Staged too, but not in `versions`: Debian's victoria-metrics build prints nothing for -version,
# and its /metrics has an empty vm_app_version: its version is the Debian package's.
STAGED_ONLY = ("victoria-metrics",)
_VERSION = re.compile(r"version (\d+\.\d+\.\d+)")


def cache_root():
    base = os.environ.get("MONITORING_STACK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "monitoring-stack")
    return os.path.join(base, "lines")


def debian_mirror():
    if os.environ.get("DEBIAN_MIRROR"):
        return os.environ["DEBIAN_MIRROR"]
    for path in glob.glob("/etc/apt/sources.list.d/*.sources"):
        with open(path) as handle:
            for line in handle:
                if line.startswith("URIs:"):
                    return line.split()[1]
    return "http://deb.debian.org/debian"


def bindir(line):
    if line == "bookworm":
        return "/usr/bin"
    return os.path.join(cache_root(), line, "root", "usr", "bin")


def templates_dir(line):
    """Where the line's Debian Alertmanager keeps default.tmpl and email.tmpl.

    Debian patches Alertmanager to read them from /usr/share/prometheus/alertmanager instead of
    embedding them as upstream does, so a binary taken out of the package needs them beside it.
    """
    if line == "bookworm":
        return "/usr/share/prometheus/alertmanager"
    return os.path.join(cache_root(), line, "root", "usr", "share", "prometheus", "alertmanager")


def _apt_options(state):
    return ["-o", "Dir::Etc::sourcelist=%s" % os.path.join(state, "sources.list"), "-o", "Dir::Etc::sourceparts=-",
            "-o", "Dir::State::Lists=%s" % os.path.join(state, "lists"),
            "-o", "Dir::Cache=%s" % os.path.join(state, "cache"), "-o", "APT::Get::List-Cleanup=0",
            "-o", "APT::Sandbox::User=root"]


def stage(line):
    """Make sure every binary of the line is present; return {binary: version}."""
    if line not in LINES:
        raise SystemExit("version_lines: unknown line %r (one of %s)" % (line, ", ".join(LINES)))
    with _line_lock(line):
        return _stage_locked(line)


@contextlib.contextmanager
def _line_lock(line):
    """One stage of a line at a time: Molecule lanes and pytest workers stage the same line at once."""
    path = os.path.join(cache_root(), line)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, ".stage.lock"), "w") as handle:
        # Blocking is bounded: the holder's apt-get and dpkg-deb calls each have a timeout.
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stage_locked(line):
    target = bindir(line)
    if line != "bookworm" and not all(os.path.exists(os.path.join(target, b)) for b in BINARIES + STAGED_ONLY):
        state = os.path.join(cache_root(), line, "apt")
        debs = os.path.join(state, "debs")
        for sub in ("lists/partial", "cache/archives/partial", "debs"):
            os.makedirs(os.path.join(state, sub), exist_ok=True)
        with open(os.path.join(state, "sources.list"), "w") as handle:
            handle.write("deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n"
                         % (debian_mirror(), line))
        options = _apt_options(state)
        subprocess.run(["apt-get"] + options + ["update", "-qq"], check=True, timeout=600)
        for old in glob.glob(os.path.join(debs, "*.deb")):
            os.unlink(old)
        subprocess.run(["apt-get"] + options + ["download", "-qq"] + sorted(PACKAGES), cwd=debs, check=True,
                       timeout=600, stdout=subprocess.DEVNULL)
        root = os.path.join(cache_root(), line, "root")
        shutil.rmtree(root, ignore_errors=True)
        for deb in sorted(glob.glob(os.path.join(debs, "*.deb"))):
            subprocess.run(["dpkg-deb", "-x", deb, root], check=True, timeout=300)
    return versions(line)


def binary_version(path, attempts=2):
    """The version a binary reports (``prometheus --version`` -> '3.5.3'); None if it reports none."""
    # A second attempt: right after staging, one binary of a line once reported nothing.
    for _attempt in range(attempts):
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60, check=False)
        except OSError:
            continue
        match = _VERSION.search(out.stdout + out.stderr)
        if match:
            return match.group(1)
    return None


def versions(line):
    found = {}
    for binary in BINARIES:
        path = os.path.join(bindir(line), binary)
        if os.path.exists(path):
            found[binary] = binary_version(path)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("stage", "bindir", "versions", "templates"))
    parser.add_argument("line", choices=LINES)
    args = parser.parse_args()
    if args.command == "bindir":
        print(bindir(args.line))
    elif args.command == "templates":
        print(templates_dir(args.line))
    elif args.command == "versions":
        print(json.dumps(versions(args.line), sort_keys=True))
    else:
        print(json.dumps(stage(args.line), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
