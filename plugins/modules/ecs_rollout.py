#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecs_rollout
short_description: Redeploy ECS services when their ADOT collector config changed
version_added: 0.1.0
description:
  - The ADOT collector sidecar reads its config (from S3, a file or C(AOT_CONFIG_CONTENT)) only
    when a task starts, so a new config needs a new deployment of the service. This module forces
    a new deployment of one ECS service when the config it runs differs from O(config_sha256),
    optionally waits until the service is stable, and leaves other services untouched.
  - What a service runs is recorded as a tag on the ECS service, O(marker_tag_key) =
    O(config_sha256), written only once the new deployment was seen stable. The decision compares
    the recorded value with the wanted one, not "did the upload change", so a run that uploaded a
    config and then failed to redeploy, or whose deployment failed, is repaired by the next run.
  - With O(wait=false) the tag records C(<sha256> pending <deployment id>). The next run looks at
    that deployment. Stable, it records O(config_sha256) (changed, no new deployment); still in
    progress, it leaves it (RV(pending)); failed or rolled back, it forces a new deployment.
  - To roll out several services, give them as O(services) (one module run) or loop over them.
    With O(services) the services of each cluster are described 10 at a time (the most one
    C(DescribeServices) call takes), so an unchanged re-run of N services in one cluster sends
    ceil(N/10) C(DescribeServices) calls and nothing else; only the changed services get a new
    deployment, and with O(wait) their deployments are polled together (10 per call again) for
    at most O(wait_timeout) seconds in all. A failing service (missing, a deployment that fails
    or does not become stable) fails only itself, the others are rolled out, and the task fails
    at the end naming it (RV(services) has every result). In a loop, a failing item likewise
    fails only that item. Re-running after fixing the cause converges, because the services
    that were rolled out are recorded.
author:
  - monitoring.stack contributors (@monitoring-stack)
options:
  cluster:
    description:
      - The ECS cluster name or ARN.
      - Required with O(service); with O(services), the cluster of the elements that name none.
    type: str
  service:
    description:
      - The ECS service name or ARN. One of O(service) and O(services) is required.
    type: str
  config_sha256:
    description:
      - The SHA-256 of the config the service must run (RV(monitoring.stack.otel_config#module:sha256)).
      - Required with O(service).
    type: str
  services:
    description:
      - Several services in one run (the bulk form); mutually exclusive with O(service) and O(config_sha256).
      - Every element is checked first (hash shape, a cluster, no service twice in a cluster);
        any problem fails the run before any AWS call, naming C(services[<service>]).
    type: list
    elements: dict
    suboptions:
      service:
        description: The ECS service name or ARN.
        type: str
        required: true
      config_sha256:
        description: The SHA-256 of the config the service must run.
        type: str
        required: true
      cluster:
        description: The cluster of this service (default O(cluster)).
        type: str
      task_definition:
        description: The task definition ARN this service must run (see O(task_definition)).
        type: str
  task_definition:
    description:
      - The task definition (ARN, as RV(monitoring.stack.ecs_collector_sidecar#module:task_definition_arn)
        returns it) the service must run. A service running another one gets a new deployment
        onto it, even when its recorded config hash is the wanted one; a service already running
        it is left alone (unless its config hash differs).
      - Without it, the service keeps its task definition.
    type: str
  wait:
    description:
      - Wait for the new deployment to become stable before recording the rollout. Stable is
        ECS's C(rolloutState=COMPLETED), or one deployment left with as many running tasks as
        desired; C(rolloutState=FAILED) (the deployment circuit breaker) or a rollback fails the
        task at once with ECS's reason.
      - With V(false), the rollout is recorded as pending and confirmed by the next run (see the description).
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait at most with O(wait).
    type: int
    default: 600
  marker_tag_key:
    description:
      - The tag key that records the rolled-out config hash on the service.
    type: str
    default: "monitoring-stack:otel-config-sha256"
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - monitoring.stack.attributes.check_diff
  - monitoring.stack.attributes.platform_aws
  - monitoring.stack.attributes.action_group_aws
attributes:
  diff_mode:
    details: The diff shows the recorded and the wanted config hash.
notes:
  - Tagging an ECS service needs the long ARN format (the default for services created since 2021).
  - Deployments whose new tasks fail are tested with botocore's Stubber (moto starts no tasks).
  - Needs C(ecs:DescribeServices), C(ecs:UpdateService) and C(ecs:TagResource) on the service.
  - >-
    Tested against moto, where a forced deployment only renames the deployment (no new tasks
    start) and C(services_stable) is met at once (the server runs with
    C(MOTO_ECS_SERVICE_RUNNING=1)).
seealso:
  - module: monitoring.stack.otel_config
"""

EXAMPLES = r"""
- name: Redeploy the services whose config changed, in one task
  monitoring.stack.ecs_rollout:
    cluster: crawlinghub-cluster-prod
    services:
      - {service: web-api, config_sha256: "{{ web_api_sha256 }}"}
      - {service: scheduler, config_sha256: "{{ scheduler_sha256 }}", cluster: crawlinghub-batch-prod}
    wait: true

- name: Upload the collector configs
  monitoring.stack.otel_config:
    project: crawlinghub
    service: "{{ item.service }}"
    app_port: "{{ item.port }}"
    s3_bucket: prod-connectly
  loop: "{{ crawlinghub_services }}"
  register: otel

# One failing service does not stop the others: loop items go on after a failure.
- name: Redeploy the services whose config changed
  monitoring.stack.ecs_rollout:
    cluster: crawlinghub-cluster-prod
    service: "{{ item.item.service }}"
    config_sha256: "{{ item.sha256 }}"
    wait: true
    wait_timeout: 900
  loop: "{{ otel.results }}"
  loop_control:
    label: "{{ item.item.service }}"
"""

RETURN = r"""
services:
  description:
    - With O(services), one result per service in the order given, each with C(cluster),
      C(service), C(changed) and the single-service return values below; a failed service also
      has C(failed) and C(msg).
  returned: when O(services) is given
  type: list
  elements: dict
totals:
  description: With O(services), the counts C(services), C(changed), C(rolled_out), C(unchanged), C(failed).
  returned: when O(services) is given
  type: dict
  sample: {"services": 50, "changed": 1, "rolled_out": 1, "unchanged": 49, "failed": 0}
service_arn:
  description: The service ARN.
  returned: without O(services)
  type: str
  sample: arn:aws:ecs:ap-northeast-2:123456789012:service/crawlinghub-cluster-prod/web-api
config_sha256:
  description: The wanted config hash (recorded on the service after a rollout).
  returned: without O(services)
  type: str
previous_config_sha256:
  description: The config hash recorded on the service before this run (null when none was).
  returned: without O(services)
  type: str
rolled_out:
  description: Whether a new deployment was forced (or would be, in check mode).
  returned: without O(services)
  type: bool
deployment_id:
  description: The id of the new primary deployment (null when nothing was rolled out or in check mode).
  returned: without O(services)
  type: str
  sample: ecs-svc/1234567890123456789
stable:
  description: True when the new deployment was seen stable; null when not looked at; false while pending.
  returned: without O(services)
  type: bool
task_definition:
  description: The wanted task definition (O(task_definition)), null when none was given.
  returned: without O(services)
  type: str
previous_task_definition:
  description: The task definition the service ran before this run.
  returned: without O(services)
  type: str
pending:
  description: The rollout is recorded as pending (O(wait=false)), to be confirmed by the next run.
  returned: without O(services)
  type: bool
"""

try:
    import botocore  # noqa: F401  pylint: disable=unused-import
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.monitoring.stack.plugins.module_utils.ecs_rollout import EcsRollout
from ansible_collections.monitoring.stack.plugins.module_utils.ecs_rollout import MARKER_TAG
from ansible_collections.monitoring.stack.plugins.module_utils.ecs_rollout import RolloutError
from ansible_collections.monitoring.stack.plugins.module_utils.ecs_rollout import sha256_problem


def run_bulk(module):
    """``services``: describe the services of each cluster in batches of 10, redeploy only the changed ones."""
    params = module.params
    problems, items, seen = [], [], {}
    for index, element in enumerate(params["services"]):
        cluster = element["cluster"] or params["cluster"]
        label = element["service"]
        problem = sha256_problem(element["config_sha256"])
        if problem:
            problems.append("services[%s]: %s" % (label, problem))
        if not cluster:
            problems.append("services[%s]: cluster: required (set it on the service or on the module)" % label)
        if (cluster, label) in seen:
            problems.append("services[%s]: service: named more than once in cluster %s (items %d and %d)"
                            % (label, cluster, seen[(cluster, label)], index))
        seen[(cluster, label)] = index
        items.append({"cluster": cluster, "service": label, "config_sha256": element["config_sha256"],
                      "task_definition": element["task_definition"]})
    if params["wait_timeout"] < 1:
        problems.append("wait_timeout: must be at least 1 second")
    if problems:
        module.fail_json(msg="Failed to roll out the ECS services: %d problem(s), nothing was rolled out: %s"
                         % (len(problems), "; ".join(problems)), problems=problems)

    rollout = EcsRollout(module.client("ecs"), check_mode=module.check_mode, tag_key=params["marker_tag_key"])
    results = rollout.ensure_many(items, wait=params["wait"], wait_timeout=params["wait_timeout"])
    failed = [r for r in results if r.get("failed")]
    totals = {"services": len(results), "changed": sum(1 for r in results if r["changed"]),
              "rolled_out": sum(1 for r in results if r["rolled_out"]), "failed": len(failed)}
    totals["unchanged"] = sum(1 for r in results if not r["changed"] and not r.get("failed"))
    out = {"changed": totals["changed"] > 0, "services": results, "totals": totals}
    if module._diff:
        out["diff"] = [{"before": {"config_sha256": r["previous_config_sha256"]},
                        "after": {"config_sha256": r["config_sha256"] if r["changed"] else r["previous_config_sha256"]},
                        "before_header": r["service_arn"] or r["service"], "after_header": r["service_arn"] or r["service"]}
                       for r in results if r["changed"]]
    if failed:
        module.fail_json(msg="Failed to roll out %d of %d ECS services (the others went on): %s" % (
            len(failed), len(results), "; ".join("%s: %s" % (r["service"], r["msg"]) for r in failed)), **out)
    module.exit_json(**out)


def main():
    argument_spec = dict(
        cluster=dict(type="str"),
        service=dict(type="str"),
        config_sha256=dict(type="str"),
        task_definition=dict(type="str"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
        marker_tag_key=dict(type="str", default=MARKER_TAG, no_log=False),
        services=dict(type="list", elements="dict", options=dict(
            service=dict(type="str", required=True),
            config_sha256=dict(type="str", required=True),
            cluster=dict(type="str"),
            task_definition=dict(type="str"),
        )),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True,
                              mutually_exclusive=[["services", "service"], ["services", "config_sha256"],
                                                  ["services", "task_definition"]],
                              required_one_of=[["service", "services"]],
                              required_by={"service": ["cluster", "config_sha256"]})
    params = module.params
    if params["services"] is not None:
        run_bulk(module)
        return
    problem = sha256_problem(params["config_sha256"])
    if problem:
        module.fail_json(msg="Failed to roll out ECS service %s: %s" % (params["service"], problem))
    if params["wait_timeout"] < 1:
        module.fail_json(msg="Failed to roll out ECS service %s: wait_timeout must be at least 1 second" % params["service"])

    client = module.client("ecs")
    rollout = EcsRollout(client, check_mode=module.check_mode, tag_key=params["marker_tag_key"])
    try:
        changed, result = rollout.ensure(params["cluster"], params["service"], params["config_sha256"],
                                         wait=params["wait"], wait_timeout=params["wait_timeout"],
                                         task_definition=params["task_definition"])
    except RolloutError as exc:
        module.fail_json(msg=to_native(exc))
    if module._diff:
        before = {"config_sha256": result["previous_config_sha256"]}
        after = {"config_sha256": params["config_sha256"]}
        if params["task_definition"]:
            before["task_definition"] = result["previous_task_definition"]
            after["task_definition"] = params["task_definition"]
        result["diff"] = {"before": before, "after": after if changed else before,
                          "before_header": result["service_arn"], "after_header": result["service_arn"]}
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
