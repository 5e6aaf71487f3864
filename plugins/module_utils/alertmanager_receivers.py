# -*- coding: utf-8 -*-
# Copyright (c) monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each Alertmanager receiver integration needs, by Alertmanager version.

One table serves the alertmanager role's preflight (a receiver the selected version does not
know is refused, naming the version), its renderer (secrets moved into files where the version
reads them from files) and the tests, which hold every row against the real amtool of each
version line (0.25 bookworm, 0.28 trixie, 0.33 sid).

Versions of the integrations come from Alertmanager's CHANGELOG (msteams 0.26; msteamsv2,
rocketchat, jira 0.28; incidentio 0.29; mattermost 0.30); what all three lines' amtool accept
is marked as always available. The ``*_file`` variants are used from the lowest version whose
real amtool was seen to accept them here (a conservative bound: below it the secret stays in
the 0640 alertmanager.yml instead of a file of its own).
"""

from __future__ import annotations

import re

from ansible_collections.monitoring.stack.plugins.module_utils.common import plain_copy

__all__ = ["GLOBAL_SECRETS", "RECEIVERS", "externalize_config", "externalize_secrets", "kind_problems", "parse_version",
           "version_problems"]


class Receiver(object):
    """One integration: its ``<kind>_configs`` key, the version that added it, the fields one
    of which each group must set, and its secret fields -> (file variant, version that has it)."""

    def __init__(self, kind, since=None, required=(), secrets=None, example=None):
        self.kind = kind
        self.key = kind + "_configs"
        self.since = since
        self.required = required
        self.secrets = secrets or {}
        self.example = example or {}


RECEIVERS = {r.kind: r for r in (
    Receiver("email", required=(("to",),), secrets={"auth_password": ("auth_password_file", None)},
             example={"to": "oncall@example.com", "from": "alertmanager@example.com",
                      "smarthost": "smtp.example.com:587", "auth_username": "alertmanager",
                      "auth_password": "smtp-password"}),
    Receiver("slack", required=(("api_url", "api_url_file"),), secrets={"api_url": ("api_url_file", None)},
             example={"api_url": "https://hooks.slack.com/services/T000/B000/XXXX", "channel": "#alerts"}),
    Receiver("pagerduty", required=(("routing_key", "routing_key_file", "service_key", "service_key_file"),),
             secrets={"routing_key": ("routing_key_file", None), "service_key": ("service_key_file", None)},
             example={"routing_key": "0123456789abcdef0123456789abcdef"}),
    Receiver("webhook", required=(("url", "url_file"),), secrets={"url": ("url_file", "0.28")},
             example={"url": "https://hooks.example.com/alertmanager"}),
    Receiver("opsgenie", required=(("api_key", "api_key_file"),), secrets={"api_key": ("api_key_file", None)},
             example={"api_key": "opsgenie-key"}),
    Receiver("pushover", required=(("user_key", "user_key_file"), ("token", "token_file")),
             secrets={"user_key": ("user_key_file", "0.28"), "token": ("token_file", "0.28")},
             example={"user_key": "pushover-user", "token": "pushover-token"}),
    Receiver("victorops", required=(("routing_key",),), secrets={"api_key": ("api_key_file", None)},
             example={"api_key": "victorops-key", "routing_key": "ops"}),
    Receiver("wechat", required=(("corp_id",),), secrets={"api_secret": ("api_secret_file", "0.33")},
             example={"api_secret": "wechat-secret", "corp_id": "corp"}),
    Receiver("sns", required=(("topic_arn", "phone_number", "target_arn"),),
             secrets={},   # sigv4.secret_key has no file variant: it stays in the 0640 config
             example={"topic_arn": "arn:aws:sns:eu-west-1:123456789012:alerts", "sigv4": {"region": "eu-west-1"}}),
    Receiver("telegram", required=(("bot_token", "bot_token_file"), ("chat_id",)),
             secrets={"bot_token": ("bot_token_file", "0.28")},
             example={"bot_token": "123456:telegram-token", "chat_id": -1001234567890}),
    Receiver("discord", required=(("webhook_url", "webhook_url_file"),),
             secrets={"webhook_url": ("webhook_url_file", "0.28")},
             example={"webhook_url": "https://discord.com/api/webhooks/123/discord-token"}),
    Receiver("webex", required=(("room_id",),), secrets={},   # its token is http_config.authorization
             example={"room_id": "room", "http_config": {"authorization": {"credentials": "webex-token"}}}),
    Receiver("msteams", since="0.26", required=(("webhook_url", "webhook_url_file"),),
             secrets={"webhook_url": ("webhook_url_file", "0.28")},
             example={"webhook_url": "https://example.webhook.office.com/webhookb2/msteams-token"}),
    Receiver("msteamsv2", since="0.28", required=(("webhook_url", "webhook_url_file"),),
             secrets={"webhook_url": ("webhook_url_file", "0.28")},
             example={"webhook_url": "https://prod.westeurope.logic.azure.com/workflows/msteamsv2-token"}),
    Receiver("rocketchat", since="0.28", required=(("token", "token_file"), ("token_id", "token_id_file")),
             secrets={"token": ("token_file", "0.28"), "token_id": ("token_id_file", "0.28")},
             example={"token": "rocketchat-token", "token_id": "rocketchat-id", "channel": "#alerts"}),
    Receiver("jira", since="0.28", required=(("project",), ("issue_type",)), secrets={},   # http_config auth
             example={"api_url": "https://example.atlassian.net", "project": "OPS", "issue_type": "Bug",
                      "http_config": {"basic_auth": {"username": "alertmanager", "password": "jira-password"}}}),
    Receiver("incidentio", since="0.29", required=(("url", "url_file"), ("alert_source_token", "alert_source_token_file")),
             secrets={"url": ("url_file", "0.33"), "alert_source_token": ("alert_source_token_file", "0.33")},
             example={"url": "https://api.incident.io/v2/alert_events/alertmanager/01ABC",
                      "alert_source_token": "incidentio-token"}),
    Receiver("mattermost", since="0.30", required=(("webhook_url", "webhook_url_file"),),
             secrets={"webhook_url": ("webhook_url_file", "0.33")},
             example={"webhook_url": "https://mattermost.example.com/hooks/mattermost-token"}),
)}

# prometheus/common's HTTP client settings of every integration: secrets with a file variant
# in every version we support.
HTTP_CONFIG_SECRETS = (
    (("basic_auth", "password"), "password_file"),
    (("authorization", "credentials"), "credentials_file"),
    (("oauth2", "client_secret"), "client_secret_file"),
)


# Secrets of the ``global`` section -> (file variant, lowest version whose real amtool accepts it
# here; None: all three lines). Held against each line's amtool by the role tests.
GLOBAL_SECRETS = {
    "smtp_auth_password": ("smtp_auth_password_file", None),
    "slack_api_url": ("slack_api_url_file", None),
    "opsgenie_api_key": ("opsgenie_api_key_file", None),
    "victorops_api_key": ("victorops_api_key_file", None),
    "rocketchat_token": ("rocketchat_token_file", "0.28"),
    "rocketchat_token_id": ("rocketchat_token_id_file", "0.28"),
    "wechat_api_secret": ("wechat_api_secret_file", "0.33"),
    "telegram_bot_token": ("telegram_bot_token_file", "0.33"),
}


def parse_version(text):
    """'0.28.1' -> (0, 28, 1); 'v0.33' -> (0, 33); None when there is no version."""
    match = re.match(r"^v?(\d+(?:\.\d+)*)", str(text or "").strip())
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def _at_least(version, since):
    """True also when the version is unknown (the role checks again once it is known)."""
    parsed = parse_version(version)
    return since is None or parsed is None or parsed >= parse_version(since)


def kind_problems(receiver, where):
    """Unknown keys are left to amtool; this names the integrations we know and their needs."""
    problems = []
    for kind, spec in RECEIVERS.items():
        configs = receiver.get(spec.key)
        if configs is None:
            continue
        if not isinstance(configs, list):
            problems.append("%s.%s: must be a list" % (where, spec.key))
            continue
        for index, conf in enumerate(configs):
            if not isinstance(conf, dict):
                problems.append("%s.%s[%d]: must be a mapping" % (where, spec.key, index))
                continue
            for group in spec.required:
                if not any(conf.get(field) not in (None, "") for field in group):
                    problems.append("%s.%s[%d]: %s needs %s" % (where, spec.key, index, kind, " or ".join(group)))
    return problems


def version_problems(receivers, version, variable="alertmanager_receivers"):
    """Integrations the Alertmanager ``version`` does not have, each naming the version."""
    problems = []
    for index, receiver in enumerate(receivers or []):
        if not isinstance(receiver, dict):
            continue
        for kind, spec in RECEIVERS.items():
            if receiver.get(spec.key) is not None and not _at_least(version, spec.since):
                problems.append("%s[%d] (%s): %s needs Alertmanager >= %s, but the version is %s"
                                % (variable, index, receiver.get("name", "?"), spec.key, spec.since, version))
    return problems


def _safe(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "receiver"


def externalize_secrets(receivers, version, secret_dir):
    """Move every receiver secret into a file of its own where ``version`` reads it from one.

    Returns ``(receivers, files)``: a copy of the receivers whose secret fields are replaced by
    their ``*_file`` variants, and ``{path: secret}`` for the files to write (mode 0640).
    Secrets whose file variant the version lacks stay where they are (alertmanager.yml is
    written 0640 and never shown in a diff).
    """
    result = plain_copy(receivers or [])
    files = {}
    for receiver in result:
        if not isinstance(receiver, dict):
            continue
        name = _safe(receiver.get("name"))
        for kind, spec in RECEIVERS.items():
            for index, conf in enumerate(receiver.get(spec.key) or []):
                if not isinstance(conf, dict):
                    continue
                stem = "%s/%s-%s-%d" % (secret_dir.rstrip("/"), name, kind, index)
                for field, (file_field, since) in sorted(spec.secrets.items()):
                    if conf.get(field) not in (None, "") and _at_least(version, since):
                        path = "%s-%s" % (stem, field)
                        files[path] = str(conf.pop(field))
                        conf[file_field] = path
                _externalize_http_config(conf.get("http_config"), stem, files)
    return result, files


def _externalize_http_config(http, stem, files):
    for (section, field), file_field in HTTP_CONFIG_SECRETS:
        block = http.get(section) if isinstance(http, dict) else None
        if isinstance(block, dict) and block.get(field) not in (None, ""):
            path = "%s-%s-%s" % (stem, section, field)
            files[path] = str(block.pop(field))
            block[file_field] = path


def externalize_config(config, version, secret_dir):
    """externalize_secrets for a whole alertmanager.yml: its receivers and its ``global``
    section. Returns ``(config, files)``; the input is not modified."""
    result = plain_copy(config or {})
    result["receivers"], files = externalize_secrets(result.get("receivers"), version, secret_dir)
    settings = result.get("global")
    if isinstance(settings, dict):
        stem = "%s/global" % secret_dir.rstrip("/")
        for field, (file_field, since) in sorted(GLOBAL_SECRETS.items()):
            if settings.get(field) not in (None, "") and _at_least(version, since):
                path = "%s-%s" % (stem, field)
                files[path] = str(settings.pop(field))
                settings[file_field] = path
        _externalize_http_config(settings.get("http_config"), stem, files)
    return result, files
