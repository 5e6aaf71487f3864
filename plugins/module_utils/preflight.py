# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks shared by every role's preflight: pure functions returning problem messages.

Each message starts with the user's variable name, so that a failed preflight says which
setting to fix. Nothing here touches a host.
"""

from __future__ import annotations

import json
import re

INSTALL_METHODS = ("package", "archive", "local")
# ansible_facts.architecture -> the name release archives use (Go's GOARCH), for every role.
RELEASE_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armv7", "armv6l": "armv6",
                         "i386": "386", "i686": "386", "ppc64le": "ppc64le", "s390x": "s390x"}
DOWNLOAD_PLACES = ("target", "controller")

_URL = re.compile(r"^(https?|ftp|file)://", re.IGNORECASE)
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_ADDRESS = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]*):(?P<port>[0-9]{1,5})$")


def checksum_problems(name, checksum, allow_url=True):
    """Problems with a checksum setting: 'sha256:<64 hex>', a bare digest, or 'sha256:<URL>'."""
    value = (checksum or "").strip()
    if not value:
        return []
    algorithm, sep, rest = value.partition(":")
    if sep and not _URL.match(value):
        if algorithm.lower() != "sha256":
            return ["%s: only sha256 is supported, got %r" % (name, algorithm)]
        digest = rest
    else:
        digest = value
    if _URL.match(digest):
        if not allow_url:
            return ["%s: takes a digest (sha256:<64 hex>) here, not a URL" % name]
        return []
    if not _HEX.match(digest):
        return ["%s: a sha256 digest is hexadecimal, got %r" % (name, digest)]
    if len(digest) != 64:
        return ["%s: a sha256 digest has 64 hex characters, got %d" % (name, len(digest))]
    return []


def install_problems(prefix, method, archive_url="", checksum="", download_on="target", local_archive=""):
    """Problems with a role's install settings; ``prefix`` is the role's variable prefix."""
    problems = []
    if method not in INSTALL_METHODS:
        return ['%s_install_method: unknown install method %r (choose %s)' % (prefix, method, ", ".join(INSTALL_METHODS))]
    if method == "archive":
        if not (archive_url or "").strip():
            problems.append("%s_archive_url: required when %s_install_method is archive" % (prefix, prefix))
        if not (checksum or "").strip():
            problems.append(
                "%s_archive_checksum: required when %s_install_method is archive "
                "(sha256:<64 hex> or sha256:<URL of a checksums file>)" % (prefix, prefix)
            )
        if download_on not in DOWNLOAD_PLACES:
            problems.append("%s_archive_download_on: must be target or controller, got %r" % (prefix, download_on))
    if method == "local" and not (local_archive or "").strip():
        problems.append("%s_local_archive: required when %s_install_method is local "
                        "(the path of an archive on the controller)" % (prefix, prefix))
    if method in ("archive", "local"):
        # With the local method a URL (the roles' default, under their mirror) is not a digest to
        # compare: local_archive_digest() gives '' and preflight says the archive is not verified.
        problems.extend(checksum_problems(prefix + "_archive_checksum", checksum))
    return problems


def local_archive_digest(checksum):
    """The lower-case hex digest a local archive must have; '' when there is none to compare
    (no checksum, or a checksums-file URL)."""
    value = (checksum or "").strip()
    if value.lower().startswith("sha256:"):
        value = value[len("sha256:"):]
    if not value or _URL.match(value) or not _HEX.match(value):
        return ""
    return value.lower()


def _kind(value):
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return "the string %r" % value
    return "%r" % (value,)


def list_problems(options, values):
    """Problems with list settings: ``options`` are a role's argument spec options, ``values``
    the settings' values by name. A string where a list is expected (``-e name=a,b`` gives one)
    is refused, so that a role never iterates over its characters; None is left to defaults."""
    problems = []
    for name in sorted(values):
        spec = options.get(name) or {}
        value = values[name]
        if spec.get("type") != "list" or value is None:
            continue
        if not isinstance(value, list):
            problem = "%s: must be a list, got %s" % (name, _kind(value))
            if isinstance(value, str):
                problem += " (with -e, give JSON: -e '%s')" % json.dumps({name: [v.strip() for v in value.split(",")]})
            problems.append(problem)
            continue
        elements = spec.get("elements")
        for index, item in enumerate(value):
            if elements == "dict" and not isinstance(item, dict):
                problems.append("%s[%d]: must be a mapping, got %r" % (name, index, item))
            elif elements == "str" and isinstance(item, (list, dict)):
                problems.append("%s[%d]: must be a string, got %r" % (name, index, item))
    return problems


def listen_address_problems(addresses):
    """Problems with ``{variable name: 'host:port'}`` settings."""
    problems = []
    for name, value in sorted((addresses or {}).items()):
        match = _ADDRESS.match(str(value))
        if not match or not 1 <= int(match.group("port")) <= 65535:
            problems.append("%s: must be host:port (e.g. 0.0.0.0:9100 or [::1]:9100), got %r" % (name, value))
    return problems


# Where a vendor names an architecture otherwise: Loki's and Promtail's releases call 32-bit
# ARM "arm" (loki-linux-arm.zip), where Prometheus and Grafana say "armv7".
RELEASE_ARCHITECTURE_NAMING = {"loki": {"armv7l": "arm"}}


def release_arch(architecture, naming="prometheus"):
    """The release-archive name of a machine architecture (``x86_64`` -> ``amd64``); an unknown
    one is returned as it is, ``unknown`` when facts are not gathered yet. ``naming="loki"``
    follows Loki's and Promtail's release names."""
    if not architecture:
        return "unknown"
    overrides = RELEASE_ARCHITECTURE_NAMING.get(naming, {})
    return overrides.get(str(architecture), RELEASE_ARCHITECTURES.get(str(architecture), str(architecture)))
