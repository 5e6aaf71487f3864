"""monitoring.stack.amp_alertmanager_definition through ansible-playbook against the moto server.

moto (5.2.x) does not implement the Alertmanager definition API: it answers 404. The module's
logic is therefore tested with botocore's Stubber (tests/unit/plugins/modules/); this test pins
what a user of moto sees (a clear "Failed to ..." error, no crash) and that validation runs before
any call. When moto gains the API, the first test fails: replace it by the four steps.
"""

from __future__ import annotations

import boto3
import pytest

pytestmark = pytest.mark.slow

REGION = "eu-west-1"
DEFINITION = {"alertmanager_config": {
    "route": {"receiver": "sns"},
    "receivers": [{"name": "sns", "sns_configs": [{"topic_arn": "arn:aws:sns:eu-west-1:123456789012:alerts",
                                                   "sigv4": {"region": REGION}}]}]}}


def _run(playbook, args, **kwargs):
    play = [{"name": "amp", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "am", "monitoring.stack.amp_alertmanager_definition": dict(args, region=REGION)}]}]
    result = playbook(play, **kwargs)
    return result, result.result("am")


def test_moto_does_not_implement_the_api(aws, playbook):
    boto3.client("amp", region_name=REGION).create_workspace(alias="am")
    result, res = _run(playbook, {"workspace_alias": "am", "definition": DEFINITION})
    assert result.rc != 0
    assert res["msg"].startswith("Failed to describe the Alertmanager definition of workspace ws-"), res["msg"]


def test_invalid_definition_fails_before_any_call(aws, playbook):
    bad = {"alertmanager_config": {"route": {"receiver": "pager"}, "receivers": [{"name": "sns"}]}}
    result, res = _run(playbook, {"workspace_alias": "absent", "definition": bad}, check=True)
    assert result.rc != 0
    assert "receiver 'pager' is not defined in receivers" in res["msg"]
