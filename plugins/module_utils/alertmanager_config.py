# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Alertmanager configuration, built from the role's data in one place.

Pure functions, no Ansible imports (plugins/filter/alertmanager.py wraps them).

Receivers are given by kind, one mapping (or a list) per kind::

    - name: team-slack
      slack: {api_url: https://hooks.slack.com/services/..., channel: "#alerts"}
    - name: on-call
      pagerduty: {routing_key: ...}
    - name: mail
      email: {to: ops@example.com}
    - name: hook
      webhook: {url: http://127.0.0.1:5001/}

Routing sends alerts by their ``severity`` label to one receiver each (critical -> one,
warning -> another), and an inhibition rule mutes a warning while a critical alert with the
same alertname and instance fires.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from ansible_collections.monitoring.stack.plugins.module_utils.common import (
    LABEL_NAME,
    is_prometheus_duration as is_duration,
    plain_copy,
)

from ansible_collections.monitoring.stack.plugins.module_utils.alertmanager_receivers import (
    RECEIVERS,
    externalize_config,
    kind_problems,
    parse_version,
    version_problems as receiver_version_problems,
)

# Every integration by its short name (slack: {...}) -> its <kind>_configs key.
KINDS = {kind: spec.key for kind, spec in sorted(RECEIVERS.items())}
SEND_RESOLVED = ("slack", "webhook", "pagerduty")
BLACKHOLE = "blackhole"
URL_FIELDS = ("api_url", "url", "webhook_url")
_HTTP_URL = re.compile(r"^https?://[^/\s]+", re.IGNORECASE)
# The oldest Alertmanager the role is tested with (Debian 12's package); the config it writes
# uses matchers (0.22) and time_intervals (0.24).
MIN_VERSION = "0.25"
# Flags of the role -> (variable, version that added the flag: CHANGELOG, and checked with the
# --help of the real binaries of each line: 0.25 lacks them, 0.28 and 0.33 have them).
VERSIONED_FLAGS = (
    ("cluster_label", "cluster.label", "0.26"),
    ("silences_max_silences", "silences.max-silences", "0.28"),
    ("silences_max_silence_size_bytes", "silences.max-silence-size-bytes", "0.28"),
)
# Deprecated route and inhibition keys -> the matchers list that replaces them.
_ROUTE_LEGACY = (("match", "=", "matchers"), ("match_re", "=~", "matchers"))
_INHIBIT_LEGACY = (("source_match", "=", "source_matchers"), ("source_match_re", "=~", "source_matchers"),
                   ("target_match", "=", "target_matchers"), ("target_match_re", "=~", "target_matchers"))


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _needs(group):
    """'routing_key or service_key': the fields of a required group, without their _file twins."""
    plain = [field for field in group if not field.endswith("_file")]
    return " or ".join(plain or group)


def _url_problems(conf, where):
    problems = []
    # The URL is a secret (a Slack hook): the message names the field, not the value.
    for field in URL_FIELDS:
        value = conf.get(field)
        if isinstance(value, str) and value and not _HTTP_URL.match(value):
            problems.append("%s.%s has no scheme (http:// or https://)" % (where, field))
    return problems


def receiver_problems(receivers, global_settings=None):
    problems, names = [], set()
    global_settings = global_settings if isinstance(global_settings, dict) else {}
    if not isinstance(receivers, list):
        return ["alertmanager_receivers: must be a list of {name, <kind>: settings}"]
    for index, receiver in enumerate(receivers):
        item = "alertmanager_receivers[%d]" % index
        if not isinstance(receiver, dict) or not receiver.get("name"):
            problems.append("%s: a receiver needs a name" % item)
            continue
        name = receiver["name"]
        item = "%s (%s)" % (item, name)
        if name in names:
            problems.append("%s: duplicate receiver name" % item)
        names.add(name)
        unknown = set(receiver) - set(KINDS) - {"name"} - set(KINDS.values())
        if unknown:
            problems.append("%s: unknown keys %s (receiver kinds: %s)" % (item, ", ".join(sorted(unknown)), ", ".join(KINDS)))
        problems.extend(kind_problems({k: v for k, v in receiver.items() if k in KINDS.values()}, item))
        for kind, spec in RECEIVERS.items():
            for index2, conf in enumerate(_as_list(receiver.get(kind))):
                where = "%s: %s[%d]" % (item, kind, index2)
                if not isinstance(conf, dict):
                    problems.append("%s must be a mapping" % where)
                    continue
                missing = [g for g in spec.required if not any(conf.get(f) not in (None, "") for f in g)]
                for group in missing:
                    problems.append("%s needs %s" % (where, _needs(group)))
                if missing:
                    continue
                if kind == "email":
                    # Alertmanager refuses an email receiver with no SMTP server or sender.
                    for field in ("smarthost", "from"):
                        if not conf.get(field) and not global_settings.get("smtp_" + field):
                            problems.append("%s needs %s (or alertmanager_global.smtp_%s)" % (where, field, field))
                problems.extend(_url_problems(conf, where))
            for index2, conf in enumerate(_as_list(receiver.get(spec.key))):
                if isinstance(conf, dict):
                    problems.extend(_url_problems(conf, "%s: %s[%d]" % (item, spec.key, index2)))
    return problems


def _legacy_problems(data, legacy, where):
    problems = []
    for key, _op, _target in legacy:
        value = data.get(key)
        if value is not None and not (isinstance(value, dict) and all(LABEL_NAME.match(str(k)) for k in value)):
            problems.append("%s.%s: must be a mapping of label name: value" % (where, key))
    return problems


def _route_problems(route, where, receivers, intervals):
    if not isinstance(route, dict):
        return ["%s: must be a mapping" % where]
    problems = []
    if "receiver" in route and route["receiver"] not in receivers:
        problems.append("%s: no receiver named %r" % (where, route["receiver"]))
    problems.extend(_legacy_problems(route, _ROUTE_LEGACY, where))
    for key in ("mute_time_intervals", "active_time_intervals"):
        for name in _as_list(route.get(key)):
            if name not in intervals:
                problems.append("%s.%s: no time interval named %r (alertmanager_time_intervals)" % (where, key, name))
    for index, child in enumerate(_as_list(route.get("routes"))):
        problems.extend(_route_problems(child, "%s.routes[%d]" % (where, index), receivers, intervals))
    return problems


def config_problems(settings):
    receivers = settings.get("receivers") or []
    problems = receiver_problems(receivers, settings.get("global"))
    names = {r.get("name") for r in receivers if isinstance(r, dict)} | {BLACKHOLE}
    route_receiver = settings.get("route_receiver")
    if route_receiver not in names:
        problems.append("alertmanager_route_receiver: no receiver named %r" % (route_receiver,))
    for severity, receiver in sorted((settings.get("severity_receivers") or {}).items()):
        if receiver not in names:
            problems.append("alertmanager_severity_receivers.%s: no receiver named %r" % (severity, receiver))
    intervals = set()
    for index, interval in enumerate(settings.get("time_intervals") or []):
        if not isinstance(interval, dict) or not interval.get("name") or not isinstance(interval.get("time_intervals"), list):
            problems.append("alertmanager_time_intervals[%d]: needs a name and a time_intervals list" % index)
            continue
        if interval["name"] in intervals:
            problems.append("alertmanager_time_intervals[%d]: duplicate name %r" % (index, interval["name"]))
        intervals.add(interval["name"])
    for index, route in enumerate(settings.get("extra_routes") or []):
        where = "alertmanager_extra_routes[%d]" % index
        if not isinstance(route, dict) or route.get("receiver") not in names:
            problems.append("%s: no receiver named %r" % (where, route.get("receiver") if isinstance(route, dict) else route))
            continue
        problems.extend(_route_problems(route, where, names, intervals))
    for index, rule in enumerate(settings.get("inhibit_rules") or []):
        problems.extend(_legacy_problems(rule, _INHIBIT_LEGACY, "alertmanager_inhibit_rules[%d]" % index)
                        if isinstance(rule, dict) else ["alertmanager_inhibit_rules[%d]: must be a mapping" % index])
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if not is_duration(settings.get(key)):
            problems.append("alertmanager_%s: %r is not a duration (e.g. 30s, 5m, 4h)" % (key, settings.get(key)))
    for label in settings.get("group_by") or []:
        if label != "..." and not LABEL_NAME.match(str(label)):
            problems.append("alertmanager_group_by: %r is not a valid label name" % (label,))
    for name in settings.get("templates") or {}:
        if "/" in str(name) or not str(name).endswith(".tmpl"):
            problems.append("alertmanager_templates: %r must be a file name ending in .tmpl" % (name,))
    if settings.get("cluster_peers") and not settings.get("cluster_listen_address"):
        problems.append("alertmanager_cluster_peers: needs alertmanager_cluster_listen_address "
                        "(clustering is off: alertmanager_cluster_mode, or one host in alertmanager_cluster_group)")
    if settings.get("cluster_label") and not settings.get("cluster_listen_address"):
        problems.append("alertmanager_cluster_label: needs alertmanager_cluster_listen_address "
                        "(clustering is off: alertmanager_cluster_mode, or one host in alertmanager_cluster_group)")
    for key in ("silences_max_silences", "silences_max_silence_size_bytes"):
        value = settings.get(key, 0)
        if isinstance(value, bool) or not re.match(r"^\d+$", str(value).strip()):
            problems.append("alertmanager_%s: %r must be a whole number >= 0 (0: no limit)" % (key, value))
    return problems


def version_problems(settings):
    """What the Alertmanager version (settings ``version``, found as ``version_source`` says)
    does not have: receiver integrations and flags, each naming the version that added it."""
    version = settings.get("version") or ""
    source = settings.get("version_source") or "alertmanager_version"
    if not version:
        return []
    if parse_version(version) is None:
        return ["%s: %r is not a version (e.g. 0.33.1)" % (source, version)]
    if parse_version(version) < parse_version(MIN_VERSION):
        return ["%s: Alertmanager %s is older than %s, the oldest version this role supports" % (
            source, version, MIN_VERSION)]
    suffix = "" if source == "alertmanager_version" else " (%s)" % source
    problems = [p + suffix for p in receiver_version_problems(
        [_receiver(r) for r in settings.get("receivers") or [] if isinstance(r, dict) and r.get("name")], version)]
    for key, flag, since in VERSIONED_FLAGS:
        if str(settings.get(key) or "").strip() not in ("", "0") and parse_version(version) < parse_version(since):
            problems.append("alertmanager_%s: --%s needs Alertmanager >= %s, but the version is %s%s" % (
                key, flag, since, version, suffix))
    return problems


def _quote(value):
    """A matcher value in double quotes, escaped as Alertmanager's matcher parser reads it."""
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _modernize(data, legacy):
    """``data`` with its deprecated match keys turned into matchers (the same alerts match)."""
    out = plain_copy(data)
    for key, op, target in legacy:
        value = out.pop(key, None)
        if isinstance(value, dict):
            out[target] = list(out.get(target) or []) + ["%s%s%s" % (k, op, _quote(v)) for k, v in sorted(value.items())]
    return out


def _modern_route(route):
    out = _modernize(route, _ROUTE_LEGACY)
    if isinstance(out.get("routes"), list):
        out["routes"] = [_modern_route(r) if isinstance(r, dict) else r for r in out["routes"]]
    return out


def _receiver(receiver):
    out = {"name": receiver["name"]}
    for kind, key in KINDS.items():
        configs = [plain_copy(c) for c in _as_list(receiver.get(kind))]
        if kind in SEND_RESOLVED:
            for conf in configs:
                conf.setdefault("send_resolved", True)
        configs += [plain_copy(c) for c in _as_list(receiver.get(key))]
        if configs:
            out[key] = configs
    return out


def build_config(settings):
    """alertmanager.yml data, every secret inline (see secret_files for the file form).
    settings keys: global, receivers, route_receiver, severity_receivers, extra_routes,
    group_by, group_wait, group_interval, repeat_interval, inhibit_rules, time_intervals,
    templates_dir, templates."""
    receivers = [_receiver(r) for r in settings.get("receivers") or []]
    names = {r["name"] for r in receivers}
    routes = [_modern_route(r) for r in settings.get("extra_routes") or []]
    for severity, receiver in sorted((settings.get("severity_receivers") or {}).items()):
        routes.append({"receiver": receiver, "matchers": ['severity="%s"' % severity]})
    route = {
        "receiver": settings["route_receiver"],
        "group_by": list(settings.get("group_by") or []),
        "group_wait": settings["group_wait"],
        "group_interval": settings["group_interval"],
        "repeat_interval": settings["repeat_interval"],
    }
    if routes:
        route["routes"] = routes
    used = {route["receiver"]} | {r.get("receiver") for r in routes}
    if BLACKHOLE in used and BLACKHOLE not in names:
        receivers.append({"name": BLACKHOLE})
    config = {}
    if settings.get("global"):
        config["global"] = plain_copy(settings["global"])
    if settings.get("templates"):
        config["templates"] = ["%s/*.tmpl" % settings["templates_dir"]]
    config["route"] = route
    config["receivers"] = receivers
    if settings.get("inhibit_rules"):
        config["inhibit_rules"] = [_modernize(r, _INHIBIT_LEGACY) for r in settings["inhibit_rules"]]
    if settings.get("time_intervals"):
        config["time_intervals"] = plain_copy(settings["time_intervals"])
    return config


def secret_files(config, version, secret_dir):
    """``{"config": ..., "files": {path: secret}}``: the config with every secret the version
    can read from a file replaced by its ``*_file`` option, and the files to write."""
    moved, files = externalize_config(config, version, secret_dir)
    return {"config": moved, "files": files}


# ---------------------------------------------------------------------------------------------
# Secrets: never shown in a message or a diff

# Fields of prometheus/common's HTTP client (shared by Prometheus scrape, remote_write and
# Alertmanager's http_config) that hold a secret; every string under them is one.
HTTP_CLIENT_SECRET_KEYS = frozenset((
    "password", "credentials", "client_secret", "bearer_token", "secret_key", "access_key",
    "headers", "http_headers", "proxy_connect_header",
))
# Receiver fields: webhook URLs are credentials (anyone holding a Slack hook URL can post).
RECEIVER_SECRET_KEYS = HTTP_CLIENT_SECRET_KEYS | frozenset((
    "api_url", "url", "webhook_url", "slack_api_url", "routing_key", "service_key", "api_key", "api_secret",
    "auth_password", "auth_secret", "smtp_auth_password", "smtp_auth_secret", "token", "bot_token", "user_key",
    "opsgenie_api_key", "victorops_api_key", "wechat_api_secret", "telegram_bot_token", "integration_key",
    "alert_source_token", "token_id", "secret",
))
REDACTED = "<redacted>"
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^/@:\s]*:)(?P<password>[^/@\s]+)@")


def _strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str) and value:
        yield value


def secret_values(data, keys=RECEIVER_SECRET_KEYS):
    """Every secret string in a config: the values under ``keys`` (at any depth) and the
    passwords of URLs with user info (``https://user:password@host``)."""
    found = []

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key in keys:
                    found.extend(_strings(item))
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            found.extend(m.group("password") for m in _URL_PASSWORD.finditer(value))

    walk(data)
    return sorted(set(found))


def _forms(secret):
    """The secret and the ways a tool may print it: quoted (Go %q, JSON) and, for a URL, its
    path, query and password on their own (a tool may print a URL it has normalised)."""
    forms = {secret, json.dumps(secret)[1:-1]}
    if "://" in secret:
        try:
            parts = urlsplit(secret)
        except ValueError:
            parts = None
        if parts is not None:
            forms.update(p for p in (parts.path, parts.query, parts.password) if p and len(p) > 1)
    return forms


def redact_secrets(text, secrets):
    """``text`` with every one of ``secrets`` replaced by <redacted>, longest first.

    For validator messages (amtool, promtool): the reason stays, the secret goes.
    """
    out = "" if text is None else str(text)
    forms = set()
    for secret in secrets or []:
        if isinstance(secret, str) and secret:
            forms.update(_forms(secret))
    for form in sorted(forms, key=len, reverse=True):
        out = out.replace(form, REDACTED)
    return out


def mask_secrets(data, keys=RECEIVER_SECRET_KEYS):
    """A copy of ``data`` with every secret value replaced by <redacted> (for diffs)."""
    if isinstance(data, dict):
        return {k: (_mask_all(v) if k in keys else mask_secrets(v, keys)) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_secrets(v, keys) for v in data]
    if isinstance(data, str):
        return _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED + "@", data)
    return plain_copy(data)


def _mask_all(value):
    if isinstance(value, dict):
        return {k: _mask_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_all(v) for v in value]
    return REDACTED if isinstance(value, str) and value else value
