# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Roll an ECS service out when its collector config changed, and remember what was rolled out.

A plain class over a boto3 ECS client (no Ansible imports). The ADOT sidecar reads its config
only when a task starts, so a new config needs a new deployment. What a service runs is recorded
as a tag on the ECS service (``monitoring-stack:otel-config-sha256=<sha256>``) written only after
the forced deployment succeeded (and, when waiting, became stable). The decision is "recorded
value differs from the wanted one", not "the upload changed something", so a run that uploaded
a config and then failed to redeploy is repaired by the next run.
"""

from __future__ import annotations

import re

try:
    from botocore.exceptions import BotoCoreError
    from botocore.exceptions import ClientError
    from botocore.exceptions import WaiterError
except ImportError:  # pragma: no cover - AnsibleAWSModule reports the missing library
    class BotoCoreError(Exception):
        """Stand-in when botocore is missing."""

    class ClientError(Exception):
        """Stand-in when botocore is missing."""

    class WaiterError(Exception):
        """Stand-in when botocore is missing."""

MARKER_TAG = "monitoring-stack:otel-config-sha256"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class RolloutError(Exception):
    """``action`` that failed, its ``cause`` and a ``hint`` for known mistakes."""

    def __init__(self, action, cause, hint=None):
        self.action = action
        self.cause = cause
        self.hint = hint
        super().__init__("Failed to %s: %s%s" % (action, cause, ". Hint: %s" % hint if hint else ""))


def sha256_problem(value):
    if not _SHA256.match(str(value or "")):
        return ("config_sha256: expected 64 lowercase hex digits (the sha256 that otel_config returns), got %r"
                % (value,))
    return None


def _error_code(exc):
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Code") or "")


def wait_settings(timeout, delay=15):
    """(Delay, MaxAttempts) for the services_stable waiter, bounded by ``timeout`` seconds."""
    timeout = max(1, int(timeout))
    delay = max(1, min(delay, timeout))
    return delay, max(1, timeout // delay)


class EcsRollout:
    def __init__(self, client, check_mode=False, tag_key=MARKER_TAG):
        self.client = client
        self.check_mode = check_mode
        self.tag_key = tag_key

    def describe(self, cluster, service):
        where = "ECS service %s in cluster %s" % (service, cluster)
        try:
            response = self.client.describe_services(cluster=cluster, services=[service], include=["TAGS"])
        except ClientError as exc:
            hint = "cluster %s does not exist" % cluster if _error_code(exc) == "ClusterNotFoundException" else None
            raise RolloutError("describe " + where, exc, hint) from None
        except BotoCoreError as exc:
            raise RolloutError("describe " + where, exc) from None
        services = [s for s in response.get("services", []) if s.get("status") != "INACTIVE"]
        if not services:
            reasons = ", ".join(f.get("reason", "?") for f in response.get("failures", [])) or "INACTIVE"
            raise RolloutError("roll out " + where, "the service was not found (%s)" % reasons,
                               "check the service name and the cluster; create the service before rolling it out")
        return services[0]

    def recorded(self, service):
        for tag in service.get("tags") or []:
            if tag.get("key") == self.tag_key:
                return tag.get("value")
        return None

    def ensure(self, cluster, service, config_sha256, wait=False, wait_timeout=600, delay=15):
        """(changed, result): force a new deployment when the recorded config hash differs."""
        svc = self.describe(cluster, service)
        where = "ECS service %s in cluster %s" % (service, cluster)
        previous = self.recorded(svc)
        result = {"cluster": cluster, "service": service, "service_arn": svc["serviceArn"],
                  "config_sha256": config_sha256, "previous_config_sha256": previous,
                  "rolled_out": False, "deployment_id": None, "stable": None}
        if previous == config_sha256:
            return False, result
        result["rolled_out"] = True
        if self.check_mode:
            return True, result
        try:
            updated = self.client.update_service(cluster=cluster, service=service, forceNewDeployment=True)["service"]
        except (ClientError, BotoCoreError) as exc:
            raise RolloutError("force a new deployment of " + where, exc) from None
        primary = [d for d in updated.get("deployments", []) if d.get("status") == "PRIMARY"]
        result["deployment_id"] = (primary or updated.get("deployments") or [{}])[0].get("id")
        if wait:
            delay, attempts = wait_settings(wait_timeout, delay)
            try:
                self.client.get_waiter("services_stable").wait(
                    cluster=cluster, services=[service], WaiterConfig={"Delay": delay, "MaxAttempts": attempts})
            except WaiterError as exc:
                raise RolloutError(
                    "wait for %s to become stable within %ss" % (where, wait_timeout), exc,
                    "the new deployment was started, but the config hash was not recorded: the next run "
                    "rolls the service out again; see the service's events for why tasks do not start") from None
            result["stable"] = True
        try:
            self.client.tag_resource(resourceArn=svc["serviceArn"],
                                     tags=[{"key": self.tag_key, "value": config_sha256}])
        except (ClientError, BotoCoreError) as exc:
            hint = None
            if "long arn" in str(exc).lower():
                hint = ("tagging needs the long ECS ARN format: enable serviceLongArnFormat for the account "
                        "(aws ecs put-account-setting-default) and recreate the service")
            raise RolloutError("record the rolled-out config on " + where, exc, hint) from None
        return True, result
