"""Helpers to run a module's main() in-process with botocore Stubber-checked clients.

Stubber validates every request against the real service model and fails on any call that was
not expected, so a test states the exact calls a run makes (a throttled call then its retry are
two expected calls). The retry policy is patched to tiny delays so throttling tests stay fast.
"""

from __future__ import annotations

import json

import boto3
import pytest
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.monitoring.stack.plugins.module_utils import aws_transport


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    def tiny(retries=4, delay=None, max_delay=None):
        return AWSRetry.jittered_backoff(retries=retries, delay=0.001, max_delay=0.001,
                                         catch_extra_error_codes=list(aws_transport.THROTTLING_CODES))
    monkeypatch.setattr(aws_transport, "retry_policy", tiny)


@pytest.fixture
def stubbed_clients(monkeypatch):
    """``stubbed_clients('s3', 'ssm')`` -> {service: Stubber}; module.client(service) returns them."""
    clients, stubbers = {}, {}

    def make(*services, region="eu-west-1"):
        for service in services:
            clients[service] = boto3.client(service, region_name=region, aws_access_key_id="x",
                                            aws_secret_access_key="x")
            stubbers[service] = Stubber(clients[service])
            stubbers[service].activate()
        monkeypatch.setattr(AnsibleAWSModule, "client", lambda self, service, *a, **kw: clients[service])
        return stubbers

    yield make
    for stubber in stubbers.values():
        stubber.deactivate()
        stubber.assert_no_pending_responses()


def run_module(module, capsys, args, check_mode=False, diff=False, region="eu-west-1"):
    # AnsibleModule keeps warnings in a process-wide registry: start each run with none.
    ansible_warnings._global_warnings.clear()
    ansible_warnings._global_deprecations.clear()
    args = dict(args, region=region)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def throttle(stubber, operation, code="ThrottlingException", status=400):
    stubber.add_client_error(operation, code, "Rate exceeded", status)
