#!/usr/bin/env python
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: ADOT collector configs for N ECS services, first run and unchanged re-run.

Compares, in the same run against the same moto server (a bucket with default SSE-KMS):
  otel_config  monitoring.stack.otel_config in a loop (render + validate + S3 upload)
  otel_bulk    monitoring.stack.otel_config with `services` (all of them in one module run), into other keys
  s3_object    amazon.aws.s3_object in a loop (put the same rendered YAML, SSE-KMS, overwrite=different)
  ecs_rollout  monitoring.stack.ecs_rollout in a loop (redeploy only what changed)
  ecs_bulk     monitoring.stack.ecs_rollout with `services` (DescribeServices 10 at a time), on a second cluster

AWS API calls are counted by a loopback proxy in front of moto (tests/support/counting_proxy.py):
every module's boto3 client reaches moto through it (AWS_ENDPOINT_URL), so the counts are the
requests really sent. Wall time is the whole ansible-playbook run (process start included).

  .venv/bin/python benchmarks/otel_rollout.py [--services 50]

Note: moto's ETag equals the MD5 even under SSE-KMS, so s3_object's ETag comparison finds
the objects unchanged here; on AWS the ETag of an SSE-KMS object is not an MD5 and s3_object
re-uploads every object on every run (amazon.aws #105). otel_config compares a SHA-256 kept as
object metadata and behaves the same on both.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "collections")]

import boto3  # noqa: E402

from tests.support.counting_proxy import CountingProxy  # noqa: E402
from tests.support.moto import MotoServer  # noqa: E402
from tests.support.playbook import run_playbook  # noqa: E402

REGION = "eu-west-1"
BUCKET = "bench-otel-configs"
CLUSTER = "bench-cluster"
BULK_CLUSTER = "bench-cluster-bulk"
PROJECT = "bench"


def services(count):
    return [{"service": "svc-%02d" % i, "port": 8080 + i} for i in range(count)]


def otel_play(items):
    return [{"name": "otel_config", "hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "configs",
        "monitoring.stack.otel_config": {
            "project": PROJECT, "service": "{{ item.service }}", "app_port": "{{ item.port }}",
            "s3_bucket": BUCKET, "region": REGION},
        "loop": items, "register": "otel"}]}]


def otel_bulk_play(items):
    return [{"name": "otel_bulk", "hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "configs",
        "monitoring.stack.otel_config": {
            "project": PROJECT, "s3_bucket": BUCKET, "region": REGION,
            "services": [{"service": item["service"], "app_port": item["port"],
                          "s3_key": "bulk/%s/otel-config.yaml" % item["service"]} for item in items]},
        "register": "otel"}]}]


def rollout_bulk_play(items):
    return [{"name": "ecs_bulk", "hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "rollout",
        "monitoring.stack.ecs_rollout": {
            "cluster": BULK_CLUSTER, "region": REGION,
            "services": [{"service": item["service"], "config_sha256": item["sha256"]} for item in items]}}]}]


def s3_object_play(items):
    return [{"name": "s3_object", "hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "configs",
        "amazon.aws.s3_object": {
            "bucket": BUCKET, "object": "s3_object/{{ item.service }}/otel-config.yaml",
            "content": "{{ item.content }}", "mode": "put", "encrypt": True, "encryption_mode": "aws:kms",
            "overwrite": "different", "region": REGION},
        "loop": items, "loop_control": {"label": "{{ item.service }}"}}]}]


def rollout_play(items):
    return [{"name": "ecs_rollout", "hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "rollout",
        "monitoring.stack.ecs_rollout": {
            "cluster": CLUSTER, "service": "{{ item.service }}", "config_sha256": "{{ item.sha256 }}",
            "region": REGION},
        "loop": items, "loop_control": {"label": "{{ item.service }}"}}]}]


def setup(endpoint, items):
    kw = {"region_name": REGION, "endpoint_url": endpoint}
    key = boto3.client("kms", **kw).create_key(Description="bench")["KeyMetadata"]["Arn"]
    s3 = boto3.client("s3", **kw)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
    ec2 = boto3.client("ec2", **kw)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="bench", Description="bench", VpcId=vpc)["GroupId"]
    ecs = boto3.client("ecs", **kw)
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.create_cluster(clusterName=BULK_CLUSTER)
    ecs.register_task_definition(family="bench", networkMode="awsvpc",
                                 containerDefinitions=[{"name": "app", "image": "app:1", "memory": 256}])
    for cluster in (CLUSTER, BULK_CLUSTER):
        for item in items:
            ecs.create_service(cluster=cluster, serviceName=item["service"], taskDefinition="bench", desiredCount=1,
                               launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {
                                   "subnets": [subnet], "securityGroups": [group]}})


def measure(proxy, env, plays, label, run):
    proxy.take()
    start = time.monotonic()
    result = run_playbook(plays, env=env, timeout=1800)
    seconds = time.monotonic() - start
    counts = proxy.take()
    if result.rc != 0:
        raise SystemExit("%s %s failed: %r" % (label, run, result))
    last = result.results()[-1][1]
    if "totals" in last:  # the bulk forms: one task, per-service results
        changed = last["totals"]["changed"]
    else:
        changed = sum(1 for r in last.get("results", []) if r.get("changed"))
    return {"tool": label, "run": run, "calls": sum(counts.values()), "seconds": seconds, "changed": changed,
            "counts": counts, "result": result}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--services", type=int, default=50)
    args = parser.parse_args(argv)
    items = services(args.services)

    moto = MotoServer().start()
    proxy = CountingProxy(moto.endpoint).start()
    try:
        env = dict(moto.env(), AWS_ENDPOINT_URL=proxy.endpoint)
        os.environ.update(env)
        setup(proxy.endpoint, items)
        proxy.take()
        rows = []
        for run in ("first", "re-run"):
            rows.append(measure(proxy, env, otel_play(items), "otel_config", run))
        # the same content for s3_object: rendered by the same code, so the work is identical
        first = rows[0]["result"].results()[-1][1]["results"]
        content = [dict(item, content=res["content"], sha256=res["sha256"]) for item, res in zip(items, first)]
        for run in ("first", "re-run"):
            rows.append(measure(proxy, env, s3_object_play(content), "s3_object", run))
        for run in ("first", "re-run"):
            rows.append(measure(proxy, env, otel_bulk_play(items), "otel_bulk", run))
        bulk = rows[-2]["result"].results()[-1][1]["services"]
        if [r["sha256"] for r in bulk] != [c["sha256"] for c in content]:
            raise SystemExit("otel_bulk rendered other configs than otel_config")
        for run in ("first", "re-run"):
            rows.append(measure(proxy, env, rollout_play(content), "ecs_rollout", run))
        for run in ("first", "re-run"):
            rows.append(measure(proxy, env, rollout_bulk_play(content), "ecs_bulk", run))
    finally:
        proxy.stop()
        moto.stop()

    print("\n%d services, moto %s behind a counting proxy\n" % (args.services, "server"))
    print("| tool | run | API calls | calls/service | wall s | changed |")
    print("|---|---|---:|---:|---:|---:|")
    for row in rows:
        per_service = row["calls"] / float(args.services)
        print("| %s | %s | %d | %.1f | %.1f | %d |" % (
            row["tool"], row["run"], row["calls"], per_service, row["seconds"], row["changed"]))
    by = {(r["tool"], r["run"]): r for r in rows}
    print()
    for run in ("first", "re-run"):
        ours, theirs = by[("otel_config", run)], by[("s3_object", run)]
        print("%s: s3_object / otel_config = %.2fx API calls, %.2fx wall time" % (
            run, theirs["calls"] / float(max(ours["calls"], 1)), theirs["seconds"] / max(ours["seconds"], 1e-9)))
    for run in ("first", "re-run"):
        ours, theirs = by[("otel_bulk", run)], by[("s3_object", run)]
        print("%s: otel_bulk / s3_object = %.2fx API calls, %.3fx wall time (goal for the re-run: <= 0.1x)" % (
            run, ours["calls"] / float(max(theirs["calls"], 1)), ours["seconds"] / max(theirs["seconds"], 1e-9)))
    for run in ("first", "re-run"):
        ours, theirs = by[("ecs_bulk", run)], by[("ecs_rollout", run)]
        print("%s: ecs_bulk / ecs_rollout loop = %.2fx API calls, %.3fx wall time" % (
            run, ours["calls"] / float(max(theirs["calls"], 1)), ours["seconds"] / max(theirs["seconds"], 1e-9)))
    print()
    for row in rows:
        print("%-12s %-7s %s" % (row["tool"], row["run"], ", ".join(
            "%s=%d" % (k, v) for k, v in sorted(row["counts"].items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
