"""The monitoring.stack.aws_managed role against a real moto server: stage and prod from inventories.

Each environment's values (region, workspace alias, bucket, KMS key, cluster, services) come from
a per-environment inventory's group_vars, as in inventories/<env>/group_vars/all/aws_managed.yml.
The S3 bucket (SSE-KMS default encryption), the KMS key, the VPC/subnet, the ECS cluster, the task
definition and the services are created in moto first, as they exist before the role runs.

moto differs from AWS here:
- the AMP Alertmanager definition API is not implemented (404), so the converge runs set
  ``aws_managed_alertmanager_enabled: false``; the module is tested with botocore's Stubber
  (tests/unit/plugins/modules/), and the last test here shows the role's SNS definition passing the
  module's validation before it meets the 404;
- a workspace is ACTIVE at once, a forced ECS deployment only renames the deployment, and
  ``services_stable`` is met at once (MOTO_ECS_SERVICE_RUNNING=1);
- under SSE-KMS the ETag is the MD5 (otel_config never looks at it).
"""

from __future__ import annotations

import json
import sys

import boto3
import pytest
import yaml

pytestmark = pytest.mark.slow

REGION = "eu-west-1"
ACCOUNT = "123456789012"
SHA_TAG = "monitoring-stack:otel-config-sha256"
ENVIRONMENTS = {
    "stage": {
        "bucket": "stage-connectly",
        "cluster": "crawlinghub-cluster-stage",
        "packs": ["service", "http_micrometer"],
        "services": [
            {"name": "web-api", "port": 8080},
            {"name": "crawl-worker", "port": 8082, "job_name": "crawlinghub-worker-metrics", "traces": False},
        ],
        "roles": True,
    },
    "prod": {
        "bucket": "prod-connectly",
        "cluster": "crawlinghub-cluster-prod",
        "packs": ["service", "http_micrometer", "node"],
        "services": [
            {"name": "web-api", "port": 8080},
            {"name": "scheduler", "port": 8081, "metric_prefixes": ["scheduler_job_"]},
            {"name": "crawl-worker", "port": 8082, "job_name": "crawlinghub-worker-metrics"},
        ],
        "roles": False,
    },
}

PLAY = [{"name": "AWS-managed monitoring", "hosts": "localhost", "gather_facts": False,
         "roles": [{"role": "monitoring.stack.aws_managed"}]}]


def _task(result, name):
    return result.result("monitoring.stack.aws_managed : " + name)


def _client(name):
    return boto3.client(name, region_name=REGION)


def _prepare(env):
    """What exists before the role runs: KMS key, SSE-KMS bucket, network, cluster, services."""
    spec = ENVIRONMENTS[env]
    key_arn = _client("kms").create_key(Description="%s otel configs" % env)["KeyMetadata"]["Arn"]
    s3 = _client("s3")
    s3.create_bucket(Bucket=spec["bucket"], CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_encryption(Bucket=spec["bucket"], ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}]})
    _client("logs").create_log_group(logGroupName="/aws/prometheus/crawlinghub-%s" % env)
    ec2 = _client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="svc-%s" % env, Description="svc", VpcId=vpc)["GroupId"]
    ecs = _client("ecs")
    ecs.create_cluster(clusterName=spec["cluster"])
    ecs.register_task_definition(family="crawlinghub-%s" % env, networkMode="awsvpc", containerDefinitions=[
        {"name": "app", "image": "app:1", "memory": 512},
        {"name": "adot-collector", "image": "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0",
         "memory": 256}])
    for service in spec["services"]:
        ecs.create_service(cluster=spec["cluster"], serviceName=service["name"],
                           taskDefinition="crawlinghub-%s" % env, desiredCount=1, launchType="FARGATE",
                           networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet],
                                                                         "securityGroups": [group]}})
    return key_arn


def _inventory(tmp_path, env, key_arn):
    """inventories/<env>: localhost plus the environment's aws_managed_* values in group_vars."""
    spec = ENVIRONMENTS[env]
    root = tmp_path / env
    (root / "group_vars" / "all").mkdir(parents=True)
    (root / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    values = {
        "aws_managed_region": REGION,
        "aws_managed_workspace_alias": "crawlinghub-%s" % env,
        "aws_managed_workspace_tags": {"environment": env},
        "aws_managed_log_group_arn": "arn:aws:logs:%s:%s:log-group:/aws/prometheus/crawlinghub-%s"
                                     % (REGION, ACCOUNT, env),
        "aws_managed_rule_packs": spec["packs"],
        # moto does not implement the AMP Alertmanager definition API (HTTP 404).
        "aws_managed_alertmanager_enabled": False,
        "aws_managed_project": "crawlinghub",
        "aws_managed_config_bucket": spec["bucket"],
        "aws_managed_config_kms_key_arn": key_arn,
        "aws_managed_cluster": spec["cluster"],
        "aws_managed_services": spec["services"],
        "aws_managed_rollout_wait_timeout": 60,
    }
    if spec["roles"]:
        values["aws_managed_adot_task_role_name"] = "crawlinghub-%s-adot-task" % env
        values["aws_managed_grafana_role_name"] = "crawlinghub-%s-grafana" % env
    (root / "group_vars" / "all" / "aws_managed.yml").write_text(yaml.safe_dump(values, sort_keys=False))
    return root


def _workspace(alias):
    found = [w for w in _client("amp").list_workspaces()["workspaces"] if w.get("alias") == alias]
    assert len(found) == 1, found
    return found[0]


def _policy_document(name):
    iam = _client("iam")
    [policy] = [p for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"] == name]
    version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])
    document = version["PolicyVersion"]["Document"]
    return policy["Arn"], (json.loads(document) if isinstance(document, str) else document)


def _statements(document):
    return {s["Sid"]: s for s in document["Statement"]}


def _check_converged(env, key_arn):
    spec = ENVIRONMENTS[env]
    alias = "crawlinghub-%s" % env
    workspace = _workspace(alias)
    ws_arn, ws_id = workspace["arn"], workspace["workspaceId"]
    amp = _client("amp")
    assert amp.describe_workspace(workspaceId=ws_id)["workspace"]["tags"] == {"environment": env}
    logging = amp.describe_logging_configuration(workspaceId=ws_id)["loggingConfiguration"]
    assert logging["logGroupArn"].startswith("arn:aws:logs:%s:%s:log-group:/aws/prometheus/%s" % (REGION, ACCOUNT, alias))

    namespaces = amp.list_rule_groups_namespaces(workspaceId=ws_id)["ruleGroupsNamespaces"]
    assert sorted(n["name"] for n in namespaces) == sorted(spec["packs"])
    for pack in spec["packs"]:
        data = amp.describe_rule_groups_namespace(workspaceId=ws_id, name=pack)["ruleGroupsNamespace"]["data"]
        with open("rules/%s.yml" % pack, "rb") as handle:
            assert yaml.safe_load(data) == yaml.safe_load(handle), pack

    keys = ["otel-config/crawlinghub-%s/otel-config.yaml" % s["name"] for s in spec["services"]]
    _arn, adot = _policy_document("%s-adot-task" % alias)
    statements = _statements(adot)
    assert statements["AmpRemoteWrite"] == {"Sid": "AmpRemoteWrite", "Effect": "Allow",
                                            "Action": ["aps:RemoteWrite"], "Resource": ws_arn}
    resources = statements["ReadCollectorConfig"]["Resource"]
    assert sorted(resources if isinstance(resources, list) else [resources]) == sorted(
        "arn:aws:s3:::%s/%s" % (spec["bucket"], key) for key in keys)
    assert statements["DecryptCollectorConfig"]["Action"] == ["kms:Decrypt"]
    assert statements["DecryptCollectorConfig"]["Resource"] == key_arn
    assert statements["XRayWrite"]["Resource"] == "*"
    assert set(statements) == {"AmpRemoteWrite", "ReadCollectorConfig", "DecryptCollectorConfig", "XRayWrite"}

    _arn, grafana = _policy_document("%s-grafana-datasource" % alias)
    statements = _statements(grafana)
    assert statements["AmpQuery"]["Resource"] == ws_arn
    assert statements["AmpQuery"]["Action"] == ["aps:GetLabels", "aps:GetMetricMetadata", "aps:GetSeries",
                                                "aps:QueryMetrics"]
    assert statements["CloudWatchRead"]["Resource"] == "*"
    assert "aps:ListWorkspaces" not in json.dumps(grafana)

    s3 = _client("s3")
    ecs = _client("ecs")
    write_url = "https://aps-workspaces.%s.amazonaws.com/workspaces/%s/api/v1/remote_write" % (REGION, ws_id)
    for service, key in zip(spec["services"], keys):
        head = s3.head_object(Bucket=spec["bucket"], Key=key)
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"].endswith(key_arn.split("/")[-1])
        body = s3.get_object(Bucket=spec["bucket"], Key=key)["Body"].read().decode()
        config = yaml.safe_load(body)
        [scrape] = config["receivers"]["prometheus"]["config"]["scrape_configs"]
        assert scrape["job_name"] == service.get("job_name", "crawlinghub-%s-metrics" % service["name"])
        assert scrape["static_configs"][0]["targets"] == ["localhost:%d" % service["port"]]
        assert write_url in body
        for prefix in service.get("metric_prefixes", []):
            assert prefix in body
        assert ("traces" in config["service"]["pipelines"]) is service.get("traces", True)
        [svc] = ecs.describe_services(cluster=spec["cluster"], services=[service["name"]],
                                      include=["TAGS"])["services"]
        tags = {t["key"]: t["value"] for t in svc.get("tags") or []}
        assert tags[SHA_TAG] == head["Metadata"]["content-sha256"], service["name"]
    return ws_arn


def test_stage_and_prod_converge_idempotently(aws, playbook, tmp_path):
    keys = {env: _prepare(env) for env in ENVIRONMENTS}
    inventories = {env: _inventory(tmp_path, env, keys[env]) for env in ENVIRONMENTS}

    workspace_arns = {}
    for env, inventory in inventories.items():
        result = playbook(PLAY, inventory=inventory)
        assert result.rc == 0, result
        assert result.changed() > 0
        assert _task(result, "Workspace crawlinghub-%s" % env)["changed"] is True
        rollouts = _task(result, "Redeploy the services whose collector config changed")["services"]
        assert [r["service"] for r in rollouts] == [s["name"] for s in ENVIRONMENTS[env]["services"]]
        assert [r["changed"] for r in rollouts] == [True] * len(ENVIRONMENTS[env]["services"])
        assert _task(result, "Alertmanager definition (alerts to SNS)").get("skipped") is True
        workspace_arns[env] = _check_converged(env, keys[env])

        result = playbook(PLAY, inventory=inventory)
        assert result.rc == 0 and result.changed() == 0, result

        result = playbook(PLAY, inventory=inventory, check=True, diff=True)
        assert result.rc == 0 and result.changed() == 0, result

    assert workspace_arns["stage"] != workspace_arns["prod"]
    # stage's services are not prod's: prod's policy does not reach stage's workspace or bucket
    _arn, prod_policy = _policy_document("crawlinghub-prod-adot-task")
    assert workspace_arns["stage"] not in json.dumps(prod_policy) and "stage-connectly" not in json.dumps(prod_policy)

    # roles (stage only): trust the service principals, policies attached
    iam = _client("iam")
    role = iam.get_role(RoleName="crawlinghub-stage-adot-task")["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    attached = iam.list_attached_role_policies(RoleName="crawlinghub-stage-adot-task")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["crawlinghub-stage-adot-task"]
    attached = iam.list_attached_role_policies(RoleName="crawlinghub-stage-grafana")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["crawlinghub-stage-grafana-datasource"]
    assert not [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("crawlinghub-prod")]


def test_check_mode_on_a_fresh_environment_writes_nothing(aws, playbook, tmp_path):
    key_arn = _prepare("stage")
    inventory = _inventory(tmp_path, "stage", key_arn)
    result = playbook(PLAY, inventory=inventory, check=True)
    assert result.rc == 0, result
    assert _task(result, "Workspace crawlinghub-stage")["changed"] is True
    assert _client("amp").list_workspaces()["workspaces"] == []
    assert _client("iam").list_policies(Scope="Local")["Policies"] == []
    assert _client("s3").list_objects_v2(Bucket="stage-connectly").get("KeyCount", 0) == 0


def test_a_missing_service_fails_alone_and_the_others_roll_out(aws, playbook, tmp_path):
    """ecs_rollout's bulk form: one failing service does not stop the others."""
    key_arn = _prepare("stage")
    inventory = _inventory(tmp_path, "stage", key_arn)
    extra = {"aws_managed_services": ENVIRONMENTS["stage"]["services"] + [{"name": "ghost", "port": 9090}]}
    result = playbook(PLAY, inventory=inventory, extravars=extra)
    assert result.rc != 0
    rollout = _task(result, "Redeploy the services whose collector config changed")
    assert rollout["failed"] is True and "ghost" in rollout["msg"] and "web-api" not in rollout["msg"]
    items = {r["service"]: r for r in rollout["services"]}
    assert items["ghost"]["failed"] is True and "ghost" in items["ghost"]["msg"]
    assert items["web-api"]["changed"] is True and not items["web-api"].get("failed")
    assert items["crawl-worker"]["changed"] is True and not items["crawl-worker"].get("failed")
    # the service is created (the cause fixed): the re-run rolls out only that one
    [existing] = _client("ecs").describe_services(cluster="crawlinghub-cluster-stage", services=["web-api"])["services"]
    _client("ecs").create_service(cluster="crawlinghub-cluster-stage", serviceName="ghost",
                                  taskDefinition="crawlinghub-stage", desiredCount=1, launchType="FARGATE",
                                  networkConfiguration=existing["networkConfiguration"])
    result = playbook(PLAY, inventory=inventory, extravars=extra)
    assert result.rc == 0, result
    changed = {r["service"]: r["changed"]
               for r in _task(result, "Redeploy the services whose collector config changed")["services"]}
    assert changed == {"web-api": False, "crawl-worker": False, "ghost": True}
    assert result.changed() == 1, result


def test_alertmanager_definition_passes_validation_then_meets_motos_missing_api(aws, playbook, tmp_path):
    """moto answers 404 for the Alertmanager definition API, so the converge tests skip the step.

    With it enabled, the role's SNS definition goes through the module's validation (structure, and
    amtool check-config when amtool is on PATH) and only then fails on moto's missing API: the
    module's "Failed to describe" error, not a validation error.
    """
    key_arn = _prepare("stage")
    inventory = _inventory(tmp_path, "stage", key_arn)
    extra = {"aws_managed_alertmanager_enabled": True,
             "aws_managed_alert_topic_arn": "arn:aws:sns:%s:%s:crawlinghub-alerts" % (REGION, ACCOUNT)}
    result = playbook(PLAY, inventory=inventory, extravars=extra, extra_args=["--tags", "aws_managed_amp"])
    assert result.rc != 0
    [(task, message)] = result.failures()
    assert task == "monitoring.stack.aws_managed : Alertmanager definition (alerts to SNS)"
    assert message.startswith("Failed to describe the Alertmanager definition of workspace ws-"), message
    # the steps behind the tag did not run
    assert _client("iam").list_policies(Scope="Local")["Policies"] == []


def test_tags_work_on_their_own(aws, playbook, tmp_path):
    """aws_managed_otel writes the configs only (the workspace lookup runs for its URL);
    aws_managed_rollout then rolls them out; aws_managed_iam writes the policies only."""
    key_arn = _prepare("prod")
    inventory = _inventory(tmp_path, "prod", key_arn)
    services = [s["name"] for s in ENVIRONMENTS["prod"]["services"]]

    def rolled_out():
        described = _client("ecs").describe_services(cluster="crawlinghub-cluster-prod", services=services,
                                                     include=["TAGS"])["services"]
        return sorted(s["serviceName"] for s in described if SHA_TAG in {t["key"] for t in s.get("tags") or []})

    result = playbook(PLAY, inventory=inventory, extra_args=["--tags", "aws_managed_otel"])
    assert result.rc == 0, result
    ws_id = _workspace("crawlinghub-prod")["workspaceId"]
    assert _client("s3").list_objects_v2(Bucket="prod-connectly")["KeyCount"] == 3
    assert _client("amp").list_rule_groups_namespaces(workspaceId=ws_id)["ruleGroupsNamespaces"] == []
    assert _client("iam").list_policies(Scope="Local")["Policies"] == []
    assert rolled_out() == []

    result = playbook(PLAY, inventory=inventory, extra_args=["--tags", "aws_managed_rollout"])
    assert result.rc == 0, result
    assert rolled_out() == sorted(services)
    assert _task(result, "ADOT collector config per service (validated, stored in S3 under SSE-KMS)")["changed"] is False

    result = playbook(PLAY, inventory=inventory, extra_args=["--tags", "aws_managed_iam"])
    assert result.rc == 0, result
    assert sorted(p["PolicyName"] for p in _client("iam").list_policies(Scope="Local")["Policies"]) == [
        "crawlinghub-prod-adot-task", "crawlinghub-prod-grafana-datasource"]
    assert _client("amp").list_rule_groups_namespaces(workspaceId=ws_id)["ruleGroupsNamespaces"] == []
