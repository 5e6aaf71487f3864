# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way every AWS call of the collection is made: through a retrying client.

``retrying(client)`` wraps every API method of a boto3 client (S3, SSM, ECS, AMP) with one
retry policy (amazon.aws's jittered backoff, told about the throttling codes the services
actually send: ``ThrottlingException`` from AMP/ECS/SSM, ``SlowDown`` from S3), so no call can
forget to opt in. Tests pass a policy with tiny delays.

``AmpClient`` adds the AMP modules' error wrapping and status polling on top of it.
"""

from __future__ import annotations

import time

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing dependency

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.monitoring.stack.plugins.module_utils.common import MonitoringError

# Codes the services answer when throttling, besides those amazon.aws's AWSRetry already knows
# (RequestLimitExceeded, Throttling, TooManyRequestsException, ServiceUnavailable, ...).
THROTTLING_CODES = ("ThrottlingException", "SlowDown", "ThrottledException", "RequestThrottled",
                    "RequestThrottledException", "ProvisionedThroughputExceededException")
# Client methods that are not API calls (or poll on their own).
_NOT_API_CALLS = frozenset(["get_paginator", "can_paginate", "get_waiter", "generate_presigned_url",
                            "generate_presigned_post", "close"])
FAILED_STATES = ("CREATION_FAILED", "UPDATE_FAILED")


def retry_policy(retries=10, delay=1, max_delay=30):
    """The collection's retry decorator (amazon.aws's jittered backoff with the throttling codes)."""
    return AWSRetry.jittered_backoff(retries=retries, delay=delay, max_delay=max_delay,
                                     catch_extra_error_codes=list(THROTTLING_CODES))


class RetryingClient:
    """A boto3 client whose every API method goes through ``retry`` (default: ``retry_policy()``)."""

    def __init__(self, client, retry=None):
        self._client = client
        self._retry = retry or retry_policy()

    @property
    def unwrapped(self):
        return self._client

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if name.startswith("_") or name in _NOT_API_CALLS or not callable(attribute):
            return attribute
        return self._retry(attribute)


def retrying(client, retry=None):
    """``client`` with the retry policy on every call (a client already wrapped is returned as is)."""
    if isinstance(client, RetryingClient):
        return client
    return RetryingClient(client, retry)


class AmpError(MonitoringError):
    """A request that cannot be carried out as asked; ``str()`` is the whole message."""


class AmpApiError(MonitoringError):
    """An AWS call failed while doing ``action``; ``exception`` is the botocore error."""

    def __init__(self, action, exception):
        self.exception = exception
        super().__init__(action, exception)


def decode(blob):
    if isinstance(blob, bytes):
        return blob.decode("utf-8")
    return blob or ""


def status_code(description):
    return ((description or {}).get("status") or {}).get("statusCode")


class AmpClient:
    """A boto3 ``amp`` client with the collection's retries, error wrapping and status polling.

    ``retry`` is the retry decorator (default ``retry_policy()``); ``sleep`` and ``clock`` are
    injectable so that status polling is testable.
    """

    def __init__(self, client, retry=None, sleep=time.sleep, clock=time.monotonic):
        self.client = retrying(client, retry)
        self.sleep = sleep
        self.clock = clock

    def call(self, action, operation, **kwargs):
        try:
            return getattr(self.client, operation)(**kwargs)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise AmpApiError(action, exc) from None

    def call_or_none(self, action, operation, **kwargs):
        """Like ``call`` but returns None when AWS answers ResourceNotFoundException."""
        try:
            return getattr(self.client, operation)(**kwargs)
        except is_boto3_error_code("ResourceNotFoundException"):
            return None
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:  # pylint: disable=duplicate-except
            raise AmpApiError(action, exc) from None

    def wait_for(self, action, describe, timeout, delay=5):
        """Poll ``describe()`` (returns a description with a status) until ACTIVE.

        Fails on a *_FAILED status with AWS's reason, and when ``timeout`` seconds pass.
        """
        deadline = self.clock() + timeout
        while True:
            description = describe()
            status = status_code(description)
            if status == "ACTIVE" or description is None:
                return description
            if status in FAILED_STATES:
                reason = (description.get("status") or {}).get("statusReason") or "no reason given"
                raise AmpError(action, "AWS reports %s: %s" % (status, reason),
                               "fix the content and run again; AMP validates it after accepting the request")
            if self.clock() >= deadline:
                raise AmpError(action, "still %s after %ss" % (status, timeout), "raise wait_timeout")
            self.sleep(delay)

    def wait_waiter(self, action, name, timeout, delay=2, **kwargs):
        """botocore's own waiter (``workspace_active``, ``workspace_deleted``) bounded by ``timeout``."""
        attempts = max(1, int(timeout // delay) + 1)
        try:
            self.client.get_waiter(name).wait(WaiterConfig={"Delay": delay, "MaxAttempts": attempts}, **kwargs)
        except botocore.exceptions.WaiterError as exc:
            raise AmpError(action, "%s did not finish within %ss (%s)" % (name, timeout, exc), "raise wait_timeout")


def is_known_region(region):
    """Whether botocore knows ``region`` in any partition (catches typos such as eu-wset-1)."""
    try:
        import botocore.session
    except ImportError:  # pragma: no cover - AnsibleAWSModule reports the missing library
        return True
    session = botocore.session.get_session()
    for partition in session.get_available_partitions():
        if region in session.get_available_regions("s3", partition_name=partition):
            return True
    return False
