"""The receiver table against the real amtool of every version line.

For each integration and each line (0.25 bookworm, 0.28 trixie, 0.33 sid) the real amtool
must accept the integration exactly where the table says the version has it, and likewise its
`*_file` secret variants: the table is never its own oracle. Also: secrets moved into files
leave no secret in the rendered config, and amtool accepts the result.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils import alertmanager_receivers as receivers
from tests.support.playbook import REPO

sys.path.insert(0, str(REPO / "tests" / "hosts"))
import version_lines  # noqa: E402  pylint: disable=wrong-import-position

# Debian's 0.28.1+ds build leaves the Jira notifier out (upstream 0.28.0 added it): amtool of
# the trixie line refuses jira_configs although upstream 0.28 has it.
DEBIAN_BUILD_DIFFERENCES = {("jira", "trixie")}


@pytest.fixture(scope="module", params=version_lines.LINES)
def line(request):
    try:
        found = version_lines.stage(request.param)
    except (OSError, subprocess.SubprocessError, SystemExit) as exc:
        pytest.skip("the %s line could not be staged: %s" % (request.param, exc))
    if not found.get("amtool"):
        pytest.skip("no amtool in the %s line" % request.param)
    return request.param, found["amtool"], os.path.join(version_lines.bindir(request.param), "amtool")


def _amtool(amtool, tmp_path, receiver):
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump({"route": {"receiver": "r"}, "receivers": [dict(receiver, name="r")]}))
    proc = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60, check=False)
    return proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("kind", sorted(receivers.RECEIVERS))
def test_integration_exists_exactly_where_the_table_says(kind, line, tmp_path):
    name, version, amtool = line
    spec = receivers.RECEIVERS[kind]
    accepted, output = _amtool(amtool, tmp_path, {spec.key: [spec.example]})
    expected = not receivers.version_problems([{"name": "r", spec.key: [spec.example]}], version)
    if (kind, name) in DEBIAN_BUILD_DIFFERENCES:
        expected = False
    assert accepted == expected, "%s on %s (%s): amtool says %s" % (kind, name, version, output)


@pytest.mark.parametrize("kind", sorted(k for k, r in receivers.RECEIVERS.items() if r.secrets or k in ("jira", "webex")))
def test_file_variants_exist_where_the_table_uses_them(kind, line, tmp_path):
    name, version, amtool = line
    spec = receivers.RECEIVERS[kind]
    available = not receivers.version_problems([{"name": "r", spec.key: [spec.example]}], version) and \
        (kind, name) not in DEBIAN_BUILD_DIFFERENCES
    moved, files = receivers.externalize_secrets([{"name": "r", spec.key: [spec.example]}], version, str(tmp_path))
    for path, secret in files.items():
        with open(path, "w") as handle:
            handle.write(secret)
    accepted, output = _amtool(amtool, tmp_path, {spec.key: moved[0][spec.key]})
    # Where the integration itself is missing, the config is refused with or without files.
    assert accepted == available, "%s on %s (%s) with secrets in files %s: %s" % (kind, name, version, sorted(files), output)
    rendered = yaml.safe_dump(moved)
    for secret in files.values():
        assert secret not in rendered


def test_a_receiver_too_new_for_the_version_is_refused_naming_it():
    problems = receivers.version_problems(
        [{"name": "teams", "msteamsv2_configs": [{"webhook_url": "https://x"}]},
         {"name": "slack", "slack_configs": [{"api_url": "https://hooks.slack.com/x"}]}], "0.25.0")
    assert problems == ["alertmanager_receivers[0] (teams): msteamsv2_configs needs Alertmanager >= 0.28, "
                        "but the version is 0.25.0"]
    assert receivers.version_problems([{"name": "teams", "msteamsv2_configs": [{}]}], "0.33.1") == []


def test_secrets_stay_inline_where_the_version_has_no_file_variant(tmp_path):
    moved, files = receivers.externalize_secrets(
        [{"name": "tg", "telegram_configs": [{"bot_token": "SENTINEL-tg", "chat_id": 1}]}], "0.25.0", "/etc/am/secrets")
    assert files == {}
    assert moved[0]["telegram_configs"][0]["bot_token"] == "SENTINEL-tg"
    moved, files = receivers.externalize_secrets(
        [{"name": "tg", "telegram_configs": [{"bot_token": "SENTINEL-tg", "chat_id": 1}]}], "0.33.1", "/etc/am/secrets")
    assert files == {"/etc/am/secrets/tg-telegram-0-bot_token": "SENTINEL-tg"}
    assert moved[0]["telegram_configs"][0] == {"bot_token_file": "/etc/am/secrets/tg-telegram-0-bot_token", "chat_id": 1}


def test_required_fields_are_named():
    assert receivers.kind_problems({"rocketchat_configs": [{"token": "t"}]}, "receivers[0]") == [
        "receivers[0].rocketchat_configs[0]: rocketchat needs token_id or token_id_file"]
    assert receivers.kind_problems({"slack_configs": "x"}, "receivers[1]") == ["receivers[1].slack_configs: must be a list"]
