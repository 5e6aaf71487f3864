"""monitoring.stack.amp_rule_groups_namespace in-process on a Stubber client: a missing promtool
is a visible warning, never a silent pass; with promtool present, the real promtool is the
oracle for the rules sent to AMP."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from ansible_collections.monitoring.stack.plugins.module_utils import amp_validation
from ansible_collections.monitoring.stack.plugins.modules import amp_rule_groups_namespace
from tests.support.aws_stubs import run_module

WS = "ws-01234567-89ab-cdef-0123-456789abcdef"
RULES = "groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n        for: 5m\n"


def _workspace(stubber):
    stubber.add_response("describe_workspace", {"workspace": {
        "workspaceId": WS, "arn": "arn:aws:aps:eu-west-1:123456789012:workspace/" + WS,
        "status": {"statusCode": "ACTIVE"}, "createdAt": "2026-01-01T00:00:00Z"}}, {"workspaceId": WS})


def _not_found(stubber):
    stubber.add_client_error("describe_rule_groups_namespace", "ResourceNotFoundException", "none", 404)


def _warnings(out):
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in out.get("warnings", [])]


def test_missing_promtool_is_a_visible_warning(stubbed_clients, capsys, monkeypatch):
    monkeypatch.setattr(amp_validation.shutil, "which", lambda name: None)
    amp = stubbed_clients("amp")["amp"]
    _workspace(amp)
    _not_found(amp)
    out = run_module(amp_rule_groups_namespace, capsys, {"workspace_id": WS, "name": "service", "rules": RULES},
                     check_mode=True)
    assert out["changed"] is True and out["promtool_checked"] is False
    assert any(w.startswith("promtool is not on the PATH of the host running this task: the rules were checked "
                            "for structure only") for w in _warnings(out)), out.get("warnings")


def test_rules_sent_to_amp_pass_the_real_promtool(stubbed_clients, capsys, tmp_path):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool not on PATH: the rules sent to AMP are not checked by the real promtool here")
    amp = stubbed_clients("amp")["amp"]
    _workspace(amp)
    _not_found(amp)
    sent = {}

    class Capture:
        """Matches any request value and keeps it."""

        def __eq__(self, other):
            sent["data"] = other
            return True

    amp.add_response("create_rule_groups_namespace", {"name": "service", "arn": "arn:x", "status": {
        "statusCode": "CREATING"}}, {"workspaceId": WS, "name": "service", "data": Capture()})
    amp.add_response("describe_rule_groups_namespace", {"ruleGroupsNamespace": {
        "name": "service", "arn": "arn:aws:aps:eu-west-1:123456789012:rulegroupsnamespace/%s/service" % WS,
        "status": {"statusCode": "CREATING"}, "data": RULES.encode(), "createdAt": "2026-01-01T00:00:00Z",
        "modifiedAt": "2026-01-01T00:00:00Z"}}, {"workspaceId": WS, "name": "service"})
    out = run_module(amp_rule_groups_namespace, capsys, {"workspace_id": WS, "name": "service", "rules": RULES,
                                                         "wait": False})
    assert out.get("failed") is not True, out.get("msg")
    assert out["promtool_checked"] is True and not _warnings(out)
    path = tmp_path / "sent.yml"
    path.write_bytes(sent["data"])
    proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 1 rules found" in proc.stdout
