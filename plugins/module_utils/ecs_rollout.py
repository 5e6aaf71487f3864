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
import time

try:
    from botocore.exceptions import BotoCoreError
    from botocore.exceptions import ClientError
except ImportError:  # pragma: no cover - AnsibleAWSModule reports the missing library
    class BotoCoreError(Exception):
        """Stand-in when botocore is missing."""

    class ClientError(Exception):
        """Stand-in when botocore is missing."""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import retrying
from ansible_collections.monitoring.stack.plugins.module_utils.common import MonitoringError

MARKER_TAG = "monitoring-stack:otel-config-sha256"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
DESCRIBE_BATCH = 10  # DescribeServices takes at most 10 services per call (ECS API limit)
PENDING = " pending "  # marker value "<sha256> pending <deployment id>" (ECS tag values allow spaces)
NOT_RECORDED = ("the new deployment was started, but the config hash was not recorded: the next run rolls the "
                "service out again; see the service's events for why tasks do not start")


class RolloutError(MonitoringError):
    """``action`` that failed, its ``cause`` and a ``hint`` for known mistakes."""


def sha256_problem(value):
    if not _SHA256.match(str(value or "")):
        return ("config_sha256: expected 64 lowercase hex digits (the sha256 that otel_config returns), got %r"
                % (value,))
    return None


def wait_settings(timeout, delay=15):
    """(Delay, MaxAttempts) for polling the deployment, bounded by ``timeout`` seconds."""
    timeout = max(1, int(timeout))
    delay = max(1, min(delay, timeout))
    return delay, max(1, timeout // delay)


def deployment_state(service, deployment_id):
    """'stable', 'failed' (with a reason) or 'pending' for deployment ``deployment_id`` of ``service``.

    Stable is what botocore's services_stable waiter checks (one deployment left, running ==
    desired), or ECS's own ``rolloutState: COMPLETED``; failed is ECS's ``rolloutState: FAILED``
    (deployment circuit breaker), or the deployment gone while another is primary (rolled back).
    """
    deployments = service.get("deployments") or []
    mine = [d for d in deployments if d.get("id") == deployment_id] if deployment_id else []
    primary = [d for d in deployments if d.get("status") == "PRIMARY"]
    current = (mine or primary or [{}])[0]
    if current.get("rolloutState") == "FAILED":
        reason = current.get("rolloutStateReason") or "%s task(s) failed" % current.get("failedTasks", "some")
        return "failed", reason
    if deployment_id and not mine:
        return "failed", "deployment %s is gone (rolled back to %s)" % (
            deployment_id, ", ".join(d.get("id", "?") for d in primary) or "another deployment")
    if current.get("rolloutState") == "COMPLETED" and current.get("status") == "PRIMARY":
        return "stable", None
    if len(deployments) == 1 and service.get("runningCount") == service.get("desiredCount") \
            and not current.get("rolloutState"):
        return "stable", None
    return "pending", None


class EcsRollout:
    def __init__(self, client, check_mode=False, tag_key=MARKER_TAG, sleep=time.sleep, clock=time.monotonic):
        self.client = retrying(client)
        self.check_mode = check_mode
        self.tag_key = tag_key
        self.sleep = sleep
        self.clock = clock

    def describe(self, cluster, service):
        where = "ECS service %s in cluster %s" % (service, cluster)
        try:
            response = self.client.describe_services(cluster=cluster, services=[service], include=["TAGS"])
        except ClientError as exc:
            hint = ("cluster %s does not exist" % cluster
                    if isinstance(exc, is_boto3_error_code("ClusterNotFoundException", exc)) else None)
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

    def wait_stable(self, cluster, service, deployment_id, wait_timeout, delay=15):
        """Poll until the deployment is stable; RolloutError when it failed or the time is up."""
        where = "ECS service %s in cluster %s" % (service, cluster)
        delay, _attempts = wait_settings(wait_timeout, delay)
        deadline = self.clock() + wait_timeout
        while True:
            state, reason = deployment_state(self.describe(cluster, service), deployment_id)
            if state == "stable":
                return
            if state == "failed":
                raise RolloutError("roll out " + where, "deployment %s failed: %s" % (deployment_id, reason),
                                   NOT_RECORDED)
            if self.clock() >= deadline:
                raise RolloutError("wait for %s to become stable within %ss" % (where, wait_timeout),
                                   "deployment %s is still in progress" % deployment_id, NOT_RECORDED)
            self.sleep(delay)

    def _record(self, where, service_arn, value):
        try:
            self.client.tag_resource(resourceArn=service_arn, tags=[{"key": self.tag_key, "value": value}])
        except (ClientError, BotoCoreError) as exc:
            hint = None
            if "long arn" in str(exc).lower():
                hint = ("tagging needs the long ECS ARN format: enable serviceLongArnFormat for the account "
                        "(aws ecs put-account-setting-default) and recreate the service")
            raise RolloutError("record the rolled-out config on " + where, exc, hint) from None

    def _update(self, where, cluster, service, task_definition):
        """Force a new deployment, onto ``task_definition`` when given (the revision with the new sidecar)."""
        extra = {"taskDefinition": task_definition} if task_definition else {}
        try:
            return self.client.update_service(cluster=cluster, service=service, forceNewDeployment=True,
                                              **extra)["service"]
        except (ClientError, BotoCoreError) as exc:
            raise RolloutError("force a new deployment of " + where, exc) from None

    def ensure(self, cluster, service, config_sha256, wait=True, wait_timeout=600, delay=15, task_definition=None):
        """(changed, result): force a new deployment unless the service is known to run ``config_sha256``.

        The marker tag holds the hash once the deployment was seen stable. Without ``wait`` it
        holds ``<hash> pending <deployment id>``: the next run confirms it (deployment stable:
        the hash is recorded, no new deployment), leaves it (still in progress) or rolls out
        again (the deployment failed or was rolled back).

        ``task_definition`` (an ARN): a service running another one is updated to it, whatever the hash.
        """
        svc = self.describe(cluster, service)
        where = "ECS service %s in cluster %s" % (service, cluster)
        marker = self.recorded(svc) or ""
        previous, _sep, pending = marker.partition(PENDING)
        result = {"cluster": cluster, "service": service, "service_arn": svc["serviceArn"],
                  "config_sha256": config_sha256, "previous_config_sha256": previous or None,
                  "rolled_out": False, "deployment_id": None, "stable": None, "pending": False,
                  "task_definition": task_definition, "previous_task_definition": svc.get("taskDefinition")}
        new_definition = task_definition if task_definition and task_definition != svc.get("taskDefinition") else None
        if previous == config_sha256 and not pending and not new_definition:
            return False, result
        if previous == config_sha256 and not new_definition:
            result["deployment_id"] = pending
            state, reason = deployment_state(svc, pending)
            if state == "pending":
                result["pending"] = True
                result["stable"] = False
                return False, result
            if state == "stable":
                result["stable"] = True
                if not self.check_mode:
                    self._record(where, svc["serviceArn"], config_sha256)
                return True, result
            result["previous_failure"] = reason
        result["rolled_out"] = True
        if self.check_mode:
            return True, result
        updated = self._update(where, cluster, service, new_definition)
        primary = [d for d in updated.get("deployments", []) if d.get("status") == "PRIMARY"]
        result["deployment_id"] = (primary or updated.get("deployments") or [{}])[0].get("id")
        if not wait:
            self._record(where, svc["serviceArn"], "%s%s%s" % (config_sha256, PENDING, result["deployment_id"]))
            result["pending"] = True
            return True, result
        self.wait_stable(cluster, service, result["deployment_id"], wait_timeout, delay)
        result["stable"] = True
        self._record(where, svc["serviceArn"], config_sha256)
        return True, result

    def describe_many(self, cluster, names):
        """{name: service or RolloutError} for ``names`` of one cluster, in batches of DESCRIBE_BATCH."""
        found = {}
        for start in range(0, len(names), DESCRIBE_BATCH):
            batch = names[start:start + DESCRIBE_BATCH]
            try:
                response = self.client.describe_services(cluster=cluster, services=batch, include=["TAGS"])
            except ClientError as exc:
                hint = ("cluster %s does not exist" % cluster
                        if isinstance(exc, is_boto3_error_code("ClusterNotFoundException", exc)) else None)
                for name in batch:
                    found[name] = RolloutError("describe ECS service %s in cluster %s" % (name, cluster), exc, hint)
                continue
            except BotoCoreError as exc:
                for name in batch:
                    found[name] = RolloutError("describe ECS service %s in cluster %s" % (name, cluster), exc)
                continue
            active = [s for s in response.get("services", []) if s.get("status") != "INACTIVE"]
            failures = response.get("failures", [])
            for name in batch:
                match = [s for s in active if name in (s.get("serviceName"), s.get("serviceArn"))]
                if match:
                    found[name] = match[0]
                    continue
                reasons = ", ".join(f.get("reason", "?") for f in failures
                                    if f.get("arn") == name or str(f.get("arn", "")).endswith("/" + name))
                found[name] = RolloutError("roll out ECS service %s in cluster %s" % (name, cluster),
                                           "the service was not found (%s)" % (reasons or "INACTIVE"),
                                           "check the service name and the cluster; create the service before "
                                           "rolling it out")
        return found

    def ensure_many(self, items, wait=True, wait_timeout=600, delay=15):
        """[result] for ``items`` [{'cluster', 'service', 'config_sha256'}], in their order.

        The bulk form of ``ensure``: the services of each cluster are described in batches of
        DESCRIBE_BATCH, only the changed ones get a new deployment, and, with ``wait``, their new
        deployments are polled together (in batches again) until stable, failed or ``wait_timeout``
        seconds (for all of them) are up. A failing service fails only itself: its result has
        ``failed`` and ``msg``, the others go on.
        """
        by_cluster = {}
        for item in items:
            by_cluster.setdefault(item["cluster"], []).append(item["service"])
        described = {}
        for cluster, names in by_cluster.items():
            for name, found in self.describe_many(cluster, names).items():
                described[(cluster, name)] = found
        results, waiting = [], []
        for item in items:
            cluster, service, wanted = item["cluster"], item["service"], item["config_sha256"]
            result = {"cluster": cluster, "service": service, "service_arn": None, "config_sha256": wanted,
                      "previous_config_sha256": None, "rolled_out": False, "deployment_id": None, "stable": None,
                      "pending": False, "changed": False, "task_definition": item.get("task_definition"),
                      "previous_task_definition": None}
            results.append(result)
            svc = described[(cluster, service)]
            try:
                if isinstance(svc, RolloutError):
                    raise svc
                if self._decide(svc, result, wait):
                    waiting.append(result)
            except RolloutError as exc:
                result.update(failed=True, msg=str(exc))
        if waiting:
            self._wait_many(waiting, wait_timeout, delay)
        return results

    def _decide(self, svc, result, wait):
        """``ensure``'s decision for one described service; True when its new deployment must be waited for."""
        cluster, service, wanted = result["cluster"], result["service"], result["config_sha256"]
        where = "ECS service %s in cluster %s" % (service, cluster)
        previous, _sep, pending = (self.recorded(svc) or "").partition(PENDING)
        result.update(service_arn=svc["serviceArn"], previous_config_sha256=previous or None,
                      previous_task_definition=svc.get("taskDefinition"))
        wanted_definition = result.get("task_definition")
        new_definition = wanted_definition if wanted_definition and wanted_definition != svc.get("taskDefinition") else None
        if previous == wanted and not pending and not new_definition:
            return False
        if previous == wanted and not new_definition:
            result["deployment_id"] = pending
            state, reason = deployment_state(svc, pending)
            if state == "pending":
                result.update(pending=True, stable=False)
                return False
            if state == "stable":
                result.update(stable=True, changed=True)
                if not self.check_mode:
                    self._record(where, svc["serviceArn"], wanted)
                return False
            result["previous_failure"] = reason
        result.update(rolled_out=True, changed=True)
        if self.check_mode:
            return False
        updated = self._update(where, cluster, service, new_definition)
        primary = [d for d in updated.get("deployments", []) if d.get("status") == "PRIMARY"]
        result["deployment_id"] = (primary or updated.get("deployments") or [{}])[0].get("id")
        if not wait:
            self._record(where, svc["serviceArn"], "%s%s%s" % (wanted, PENDING, result["deployment_id"]))
            result["pending"] = True
            return False
        return True

    def _wait_many(self, results, wait_timeout, delay=15):
        """Poll the new deployments of ``results`` together; record each one seen stable."""
        delay, _attempts = wait_settings(wait_timeout, delay)
        deadline = self.clock() + wait_timeout
        left = list(results)
        while left:
            by_cluster = {}
            for result in left:
                by_cluster.setdefault(result["cluster"], []).append(result["service"])
            described = {}
            for cluster, names in by_cluster.items():
                for name, found in self.describe_many(cluster, names).items():
                    described[(cluster, name)] = found
            still = []
            for result in left:
                where = "ECS service %s in cluster %s" % (result["service"], result["cluster"])
                svc = described[(result["cluster"], result["service"])]
                try:
                    if isinstance(svc, RolloutError):
                        raise svc
                    state, reason = deployment_state(svc, result["deployment_id"])
                    if state == "failed":
                        raise RolloutError("roll out " + where, "deployment %s failed: %s" % (
                            result["deployment_id"], reason), NOT_RECORDED)
                    if state == "stable":
                        result["stable"] = True
                        self._record(where, result["service_arn"], result["config_sha256"])
                        continue
                except RolloutError as exc:
                    result.update(failed=True, msg=str(exc))
                    continue
                still.append(result)
            left = still
            if left and self.clock() >= deadline:
                for result in left:
                    where = "ECS service %s in cluster %s" % (result["service"], result["cluster"])
                    result.update(failed=True, stable=False, msg=str(RolloutError(
                        "wait for %s to become stable within %ss" % (where, wait_timeout),
                        "deployment %s is still in progress" % result["deployment_id"], NOT_RECORDED)))
                return
            if left:
                self.sleep(delay)
