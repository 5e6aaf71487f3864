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

import copy
import json
import re
from urllib.parse import urlsplit

from ansible_collections.monitoring.stack.plugins.module_utils.common import (
    LABEL_NAME,
    is_prometheus_duration as is_duration,
)

KINDS = {
    "slack": ("slack_configs", ("api_url", "api_url_file"), "api_url"),
    "pagerduty": ("pagerduty_configs", ("routing_key", "service_key", "routing_key_file", "service_key_file"),
                  "routing_key"),
    "email": ("email_configs", ("to",), "to"),
    "webhook": ("webhook_configs", ("url", "url_file"), "url"),
}
SEND_RESOLVED = ("slack", "webhook", "pagerduty")
BLACKHOLE = "blackhole"
URL_FIELDS = ("api_url", "url", "webhook_url")
_HTTP_URL = re.compile(r"^https?://[^/\s]+", re.IGNORECASE)


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def receiver_problems(receivers, global_settings=None):
    problems, names = [], set()
    global_settings = global_settings if isinstance(global_settings, dict) else {}
    if not isinstance(receivers, list):
        return ["alertmanager_receivers: must be a list of {name, slack|pagerduty|email|webhook}"]
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
        unknown = set(receiver) - set(KINDS) - {"name"} - {v[0] for v in KINDS.values()}
        if unknown:
            problems.append("%s: unknown keys %s (receiver kinds: %s)" % (item, ", ".join(sorted(unknown)), ", ".join(KINDS)))
        for kind, (_key, needs, example) in KINDS.items():
            for index2, conf in enumerate(_as_list(receiver.get(kind))):
                if not isinstance(conf, dict) or not any(conf.get(k) for k in needs):
                    problems.append("%s: %s[%d] needs %s" % (item, kind, index2, example))
                    continue
                if kind == "email":
                    # Alertmanager refuses an email receiver with no SMTP server or sender.
                    for field in ("smarthost", "from"):
                        if not conf.get(field) and not global_settings.get("smtp_" + field):
                            problems.append("%s: email[%d] needs %s (or alertmanager_global.smtp_%s)" % (
                                item, index2, field, field))
                # The URL is a secret (a Slack hook): the message names the field, not the value.
                for field in URL_FIELDS:
                    value = conf.get(field)
                    if isinstance(value, str) and value and not _HTTP_URL.match(value):
                        problems.append("%s: %s[%d].%s has no scheme (http:// or https://)" % (item, kind, index2, field))
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
    for index, route in enumerate(settings.get("extra_routes") or []):
        if not isinstance(route, dict) or route.get("receiver") not in names:
            problems.append("alertmanager_extra_routes[%d]: no receiver named %r" % (
                index, route.get("receiver") if isinstance(route, dict) else route))
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
        problems.append("alertmanager_cluster_peers: needs alertmanager_cluster_listen_address (clustering is off)")
    return problems


def _receiver(receiver):
    out = {"name": receiver["name"]}
    for kind, (key, _needs, _example) in KINDS.items():
        configs = [copy.deepcopy(c) for c in _as_list(receiver.get(kind))]
        if kind in SEND_RESOLVED:
            for conf in configs:
                conf.setdefault("send_resolved", True)
        configs += [copy.deepcopy(c) for c in _as_list(receiver.get(key))]
        if configs:
            out[key] = configs
    return out


def build_config(settings):
    """alertmanager.yml data. settings keys: global, receivers, route_receiver,
    severity_receivers, extra_routes, group_by, group_wait, group_interval, repeat_interval,
    inhibit_rules, templates_dir, templates."""
    receivers = [_receiver(r) for r in settings.get("receivers") or []]
    names = {r["name"] for r in receivers}
    routes = [copy.deepcopy(r) for r in settings.get("extra_routes") or []]
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
        config["global"] = copy.deepcopy(settings["global"])
    if settings.get("templates"):
        config["templates"] = ["%s/*.tmpl" % settings["templates_dir"]]
    config["route"] = route
    config["receivers"] = receivers
    if settings.get("inhibit_rules"):
        config["inhibit_rules"] = copy.deepcopy(settings["inhibit_rules"])
    return config


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
    return copy.deepcopy(data)


def _mask_all(value):
    if isinstance(value, dict):
        return {k: _mask_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_all(v) for v in value]
    return REDACTED if isinstance(value, str) and value else value
