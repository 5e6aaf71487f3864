# -*- coding: utf-8 -*-
# Copyright (c) monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules every module and filter of the collection shares, each in one place.

- durations: Prometheus' own grammar (``1h30m``, ``2w``, ``500ms``; no decimals, units in
  descending order) and Go's ``time.ParseDuration`` (``1.5s``, ``300ms``, ``1h2m``), which
  Alloy, Promtail and the OpenTelemetry collector use;
- label names: the classic ``[a-zA-Z_][a-zA-Z0-9_]*`` rule, and Prometheus 3's UTF-8 rule;
- one error type whose message reads "Failed to <action>: <cause>. Hint: <hint>";
- the address a local client uses to reach a listen address (a wildcard is reached on
  loopback).

Plain Python, no Ansible imports, so unit tests call it directly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = [
    "LABEL_NAME",
    "MonitoringError",
    "connect_address",
    "failure_message",
    "go_duration_seconds",
    "is_go_duration",
    "is_label_name",
    "is_prometheus_duration",
    "local_url",
    "plain_copy",
    "prometheus_duration_seconds",
    "split_address",
]

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

# github.com/prometheus/common/model.ParseDuration: each unit at most once, in this order.
_PROMETHEUS_DURATION = re.compile(
    r"^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$")
_PROMETHEUS_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)

# Go's time.ParseDuration: a sequence of decimal numbers, each with a unit, optional sign.
_GO_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}

WILDCARD_HOSTS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "[::1]", "[::]": "[::1]"}


def prometheus_duration_seconds(value):
    """Seconds of a Prometheus duration (``'1h30m'`` -> 5400.0, ``'0s'`` -> 0.0).

    None when ``value`` is not one (``'thirty'``, ``'30 seconds'``, ``'1.5h'``, ``''``, a
    number, None). ``'0'`` is accepted, as Prometheus accepts it.
    """
    if isinstance(value, bool) or not isinstance(value, str):
        return None
    if value == "0":
        return 0.0
    match = _PROMETHEUS_DURATION.match(value)
    if not value or not match or not any(match.groups()):
        return None
    return float(sum(int(group) * unit for group, unit in zip(match.groups(), _PROMETHEUS_UNITS) if group))


def is_prometheus_duration(value):
    return prometheus_duration_seconds(value) is not None


def go_duration_seconds(value):
    """Seconds of a Go duration (``'1.5s'``, ``'1h2m3s'``, ``'-5m'``, ``'0'``); None otherwise."""
    if isinstance(value, bool) or not isinstance(value, str) or not value:
        return None
    text, sign = value, 1.0
    if text[0] in "+-":
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    if not text:
        return None
    total, position = 0.0, 0
    while position < len(text):
        match = _GO_PART.match(text, position)
        if not match or match.group(1) in ("", "."):
            return None
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        position = match.end()
    return sign * total


def is_go_duration(value):
    return go_duration_seconds(value) is not None


def is_label_name(name, utf8=False):
    """A label name the target accepts: the classic rule, or (``utf8=True``, Prometheus 3's
    default ``metric_name_validation_scheme: utf8``) any non-empty valid UTF-8 string."""
    if not isinstance(name, str) or not name:
        return False
    if utf8:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    return LABEL_NAME.match(name) is not None


def failure_message(action, cause, hint=None):
    """The one message shape: 'Failed to <action>: <cause>. Hint: <hint>'."""
    text = "Failed to %s: %s" % (action, cause)
    if hint:
        text = "%s. Hint: %s" % (text.rstrip("."), hint)
    return text


class MonitoringError(Exception):
    """The collection's error: ``action`` and ``cause`` (and a ``hint`` for known mistakes)."""

    def __init__(self, action, cause, hint=None):
        self.action = action
        self.cause = cause
        self.hint = hint
        super().__init__(failure_message(action, cause, hint))


def variable_namer(names):
    """A function that names a config path by the user's variable that sets it.

    names maps config paths (dotted) to variable names; the longest matching prefix wins, so
    "limits_config.retention_period" can name another variable than "limits_config". The result
    reads "variable (path)", or the bare path when no variable sets it.
    """
    names = names or {}
    prefixes = sorted(names, key=len, reverse=True)

    def name(path):
        for prefix in prefixes:
            if path == prefix or path.startswith(prefix + "."):
                return "%s (%s)" % (names[prefix], path)
        return path
    return name


def split_address(address):
    """``'host:port'`` -> ``('host', 'port')``; ``'[::1]:9100'`` -> ``('[::1]', '9100')``."""
    host, _sep, port = str(address).rpartition(":")
    return host, port


def connect_address(listen_address):
    """The ``host:port`` a client on the same host uses for a listen address
    (``0.0.0.0:9090`` -> ``127.0.0.1:9090``, ``[::]:9093`` -> ``[::1]:9093``)."""
    host, port = split_address(listen_address)
    return "%s:%s" % (WILDCARD_HOSTS.get(host, host), port)


def local_url(listen_address, scheme="http", path=""):
    """``local_url('0.0.0.0:9090', path='/-/ready')`` -> ``'http://127.0.0.1:9090/-/ready'``."""
    return "%s://%s%s" % (scheme, connect_address(listen_address), path)


def dotted_get(config, path):
    """The value at PATH ("a.b.c") in nested dicts, or None where a part is missing."""
    node = config
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def plain_copy(data):
    """A deep copy of JSON-like data (dicts, lists, tuples, scalars) as plain dicts and lists.

    What a filter copies its input with, instead of ``copy.deepcopy``: in a play the input is one
    of Ansible's lazy template containers, whose deep copy also copies its templar and so every
    variable of the play (seconds per call in a site run, for a few kilobytes of data).
    Strings and other scalars are immutable and shared; a set is copied.
    """
    if isinstance(data, Mapping):
        return {key: plain_copy(value) for key, value in data.items()}
    if isinstance(data, list):
        return [plain_copy(value) for value in data]
    if isinstance(data, tuple):
        return tuple(plain_copy(value) for value in data)
    if isinstance(data, (set, frozenset)):
        return type(data)(data) if isinstance(data, frozenset) else set(data)
    return data
