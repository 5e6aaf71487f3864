# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The configuration file of YACE (prometheus-community/yet-another-cloudwatch-exporter): built
from the yace role's settings, and checked structurally.

Pure functions (no Ansible): the role calls them through plugins/filter/yace.py, unit tests call
them directly. The keys and rules follow YACE's docs/configuration.md; the namespaces are the list
"Supported services with auto discovery through tags" of YACE's README; both read at commit
1a0ddb1efec8b5c2ecac6431c75da5eebc469ed0 (v0.67.0-11). There is no yace binary here, so
`yace verify-config` cannot run: this is a structural check only (the role says so).
"""

from __future__ import annotations

import difflib
import re

from ansible_collections.monitoring.stack.plugins.module_utils.common import WILDCARD_HOSTS, plain_copy, split_address
from ansible_collections.monitoring.stack.plugins.module_utils.otel import is_region_shape

API_VERSION = "v1alpha1"

# README.md of YACE, "Supported services with auto discovery through tags" (103 entries, in its order).
# YACE's code (pkg/config/services.go) knows a few more (e.g. AWS/EKS): allow those with
# yace_extra_namespaces rather than by guessing here.
SUPPORTED_NAMESPACES = (
    "/aws/sagemaker/Endpoints", "/aws/sagemaker/InferenceRecommendationsJobs", "/aws/sagemaker/ProcessingJobs",
    "/aws/sagemaker/TrainingJobs", "/aws/sagemaker/TransformJobs", "AmazonMWAA", "AWS/ACMPrivateCA", "AWS/AmazonMQ",
    "AWS/AOSS", "AWS/ApiGateway", "AWS/ApplicationELB", "AWS/AppRunner", "AWS/AppStream", "AWS/AppSync",
    "AWS/Athena", "AWS/AutoScaling", "AWS/Backup", "AWS/Bedrock", "AWS/Billing", "AWS/Cassandra",
    "AWS/CertificateManager", "AWS/ClientVPN", "AWS/CloudFront", "AWS/Cognito", "AWS/DataSync", "AWS/DDoSProtection",
    "AWS/DirectoryService", "AWS/DMS", "AWS/DocDB", "AWS/DX", "AWS/DynamoDB", "AWS/EBS", "AWS/EC2", "AWS/EC2Spot",
    "AWS/ECR", "AWS/ECS", "AWS/EFS", "AWS/ElastiCache", "AWS/ElasticBeanstalk", "AWS/ElasticMapReduce", "AWS/ELB",
    "AWS/EMRServerless", "AWS/ES", "AWS/Events", "AWS/Firehose", "AWS/FSx", "AWS/GameLift", "AWS/GatewayELB",
    "AWS/GlobalAccelerator", "AWS/IoT", "AWS/IPAM", "AWS/Kafka", "AWS/KafkaConnect", "AWS/Kinesis",
    "AWS/KinesisAnalytics", "AWS/KMS", "AWS/Lambda", "AWS/Logs", "AWS/MediaConnect", "AWS/MediaConvert",
    "AWS/MediaLive", "AWS/MediaPackage", "AWS/MediaTailor", "AWS/MemoryDB", "AWS/MWAA", "AWS/NATGateway",
    "AWS/Neptune", "AWS/NetworkELB", "AWS/NetworkFirewall", "AWS/Network Manager", "AWS/PrivateLinkEndpoints",
    "AWS/PrivateLinkServices", "AWS/Prometheus", "AWS/QLDB", "AWS/QuickSight", "AWS/RDS", "AWS/Redshift",
    "AWS/Redshift-Serverless", "AWS/Route53", "AWS/Route53Resolver", "AWS/RUM", "AWS/S3",
    "AWS/Sagemaker/ModelBuildingPipeline", "AWS/SageMaker", "AWS/Scheduler", "AWS/SecretsManager", "AWS/SES",
    "AWS/SNS", "AWS/SQS", "AWS/States", "AWS/StorageGateway", "AWS/Timestream", "AWS/TransitGateway",
    "AWS/TrustedAdvisor", "AWS/Usage", "AWS/VpcLattice", "AWS/VPN", "AWS/WAFV2", "AWS/WorkSpaces",
    "ContainerInsights", "CWAgent", "ECS/ContainerInsights", "Glue",
)

# docs/configuration.md, metric_config notes: "Maximum, Minimum, Sum, SampleCount, Average, pXX (e.g. p90)".
STATISTICS = ("Maximum", "Minimum", "Sum", "SampleCount", "Average")
_PERCENTILE = re.compile(r"^p(100|[0-9]{1,2}(\.[0-9]{1,2})?)$")

TOP_KEYS = ("apiVersion", "sts-region", "discovery", "static", "customNamespace")
DISCOVERY_KEYS = ("exportedTagsOnMetrics", "jobs")
_METRIC_FIELDS = ("statistics", "period", "length", "delay", "nilToZero", "addCloudwatchTimestamp",
                  "exportAllDataPoints")
DISCOVERY_JOB_KEYS = ("regions", "type", "roles", "searchTags", "customTags", "dimensionNameRequirements",
                      "roundingPeriod", "recentlyActiveOnly", "includeContextOnInfoMetrics", "enhancedMetrics",
                      "metrics") + _METRIC_FIELDS
STATIC_JOB_KEYS = ("name", "namespace", "regions", "roles", "customTags", "dimensions", "metrics")
CUSTOM_JOB_KEYS = ("name", "namespace", "regions", "roles", "customTags", "dimensionNameRequirements",
                   "roundingPeriod", "recentlyActiveOnly", "metrics") + _METRIC_FIELDS
METRIC_KEYS = ("name",) + _METRIC_FIELDS
# Defaults of YACE when neither the metric nor the job sets them (pkg/model: 5 minutes).
DEFAULT_PERIOD = 300
DEFAULT_LENGTH = 300


def is_statistic(value):
    return isinstance(value, str) and (value in STATISTICS or _PERCENTILE.match(value) is not None)


def _tags(value):
    """{key: value} or [{key, value}] -> YACE's [{key, value}] list."""
    if isinstance(value, dict):
        return [{"key": k, "value": v} for k, v in value.items()]
    return plain_copy(list(value or []))


def build_config(settings):
    """The YACE config (data) from the role's settings.

    settings: sts_region, regions, search_tags, period, length, exported_tags_on_metrics and jobs
    (discovery jobs in YACE's own keys). A job without regions, searchTags, period or length takes
    the role-wide one; a metric's own period/length/statistics are kept as they are.
    """
    jobs = []
    for job in settings.get("jobs") or []:
        job = plain_copy(job)
        out = {"type": job.pop("type", None),
               "regions": job.pop("regions", None) or list(settings.get("regions") or [])}
        tags = job.pop("searchTags", None)
        tags = _tags(tags if tags is not None else settings.get("search_tags"))
        if tags:
            out["searchTags"] = tags
        for key in ("period", "length"):
            value = job.pop(key, None) or settings.get(key)
            if value:
                out[key] = int(value)
        out.update(job)
        jobs.append(out)
    discovery = {}
    exported = settings.get("exported_tags_on_metrics") or {}
    if exported:
        discovery["exportedTagsOnMetrics"] = plain_copy(dict(exported))
    discovery["jobs"] = jobs
    config = {"apiVersion": API_VERSION}
    if settings.get("sts_region"):
        config["sts-region"] = settings["sts_region"]
    config["discovery"] = discovery
    return config


def _unknown(where, data, known):
    return ["%s: unknown key %r (known: %s)" % (where, key, ", ".join(known))
            for key in data if key not in known]


def _is_seconds(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def namespace_problem(where, value, extra_namespaces=()):
    known = list(SUPPORTED_NAMESPACES) + [n for n in extra_namespaces or () if n not in SUPPORTED_NAMESPACES]
    if value in known:
        return None
    by_tail = {n.lower().rsplit("/", maxsplit=1)[-1]: n for n in known}
    guess = (by_tail.get(str(value).lower().rsplit("/", maxsplit=1)[-1])
             or next(iter(difflib.get_close_matches(str(value), known, 1)), None))
    hint = " (did you mean %s?)" % guess if guess else ""
    return ("%s: %r is not a namespace YACE discovers%s; YACE needs the namespace, not an alias; "
            "valid: %s" % (where, value, hint, ", ".join(known)))


def _regions_problems(where, regions):
    if not regions:
        return ["%s.regions: is required (a non-empty list of AWS regions)" % where]
    if not isinstance(regions, list):
        return ["%s.regions: must be a list of regions, got %r" % (where, regions)]
    return ["%s.regions: %r is not a region name (like eu-west-1)" % (where, r) for r in regions if not is_region_shape(r)]


def _tag_problems(where, tags, regex):
    if tags is None:
        return []
    if not isinstance(tags, list):
        return ["%s: must be a list of {key, value}" % where]
    problems = []
    for index, tag in enumerate(tags):
        here = "%s[%d]" % (where, index)
        if not isinstance(tag, dict):
            problems.append("%s: must be a mapping {key, value}" % here)
            continue
        problems += _unknown(here, tag, ("key", "value"))
        if not tag.get("key"):
            problems.append("%s.key: is required" % here)
        if regex:
            try:
                re.compile(str(tag.get("value", "")))
            except re.error as exc:
                problems.append("%s.value: %r is not a regular expression (%s)" % (here, tag.get("value"), exc))
    return problems


def _metric_problems(where, metrics, job, enhanced=False):
    if not metrics:
        if enhanced:
            return []
        return ["%s.metrics: is required (a non-empty list of {name, statistics})" % where]
    if not isinstance(metrics, list):
        return ["%s.metrics: must be a list" % where]
    problems = []
    for index, metric in enumerate(metrics):
        here = "%s.metrics[%d]" % (where, index)
        if not isinstance(metric, dict):
            problems.append("%s: must be a mapping {name, statistics, ...}" % here)
            continue
        if metric.get("name"):
            here = "%s (%s)" % (here, metric["name"])
        problems += _unknown(here, metric, METRIC_KEYS)
        if not metric.get("name"):
            problems.append("%s.name: is required (the CloudWatch metric name)" % here)
        statistics = metric.get("statistics") or job.get("statistics")
        if not statistics:
            problems.append("%s.statistics: is required on the metric or its job (e.g. [Average])" % here)
        elif not isinstance(statistics, list):
            problems.append("%s.statistics: must be a list, got %r" % (here, statistics))
        else:
            problems += ["%s.statistics: %r is not a statistic (valid: %s, or a percentile pNN such as p90)"
                         % (here, s, ", ".join(STATISTICS)) for s in statistics if not is_statistic(s)]
        values = {}
        for key, default in (("period", DEFAULT_PERIOD), ("length", DEFAULT_LENGTH)):
            value = metric.get(key, job.get(key)) or default
            if not _is_seconds(value):
                problems.append("%s.%s: must be a positive number of seconds, got %r" % (here, key, value))
            values[key] = value
        for key in ("period", "length"):
            if key in metric and not _is_seconds(metric[key]):
                problems.append("%s.%s: must be a positive number of seconds, got %r" % (here, key, metric[key]))
        if all(_is_seconds(v) for v in values.values()) and values["length"] < values["period"]:
            problems.append("%s: length (%d) is smaller than period (%d): the data asked for is not ready yet "
                            "and the series has gaps" % (here, values["length"], values["period"]))
        export_all = metric.get("exportAllDataPoints", job.get("exportAllDataPoints"))
        timestamps = metric.get("addCloudwatchTimestamp", job.get("addCloudwatchTimestamp"))
        if export_all and not timestamps:
            problems.append("%s: exportAllDataPoints needs addCloudwatchTimestamp" % here)
    return problems


def _job_level_problems(where, job):
    problems = []
    for key in ("period", "length"):
        if key in job and not _is_seconds(job[key]):
            problems.append("%s.%s: must be a positive number of seconds, got %r" % (where, key, job[key]))
    if "statistics" in job:
        statistics = job["statistics"]
        if not isinstance(statistics, list):
            problems.append("%s.statistics: must be a list, got %r" % (where, statistics))
        else:
            problems += ["%s.statistics: %r is not a statistic" % (where, s) for s in statistics if not is_statistic(s)]
    for index, role in enumerate(job.get("roles") or []):
        if not isinstance(role, dict) or set(role) - {"roleArn", "externalId"}:
            problems.append("%s.roles[%d]: must be {roleArn, externalId}" % (where, index))
        elif role.get("externalId") and not role.get("roleArn"):
            problems.append("%s.roles[%d].roleArn: is required with externalId" % (where, index))
    return problems


def config_problems(config, jobs_variable="discovery.jobs", extra_namespaces=()):
    """Every structural problem of a YACE config, each naming where it is; [] when none.

    ``jobs_variable`` names the discovery jobs in the messages (the role passes its variable)."""
    if not isinstance(config, dict):
        return ["the YACE config must be a mapping"]
    problems = _unknown("the YACE config", config, TOP_KEYS)
    if config.get("apiVersion", API_VERSION) != API_VERSION:
        problems.append("apiVersion: must be %s, got %r" % (API_VERSION, config.get("apiVersion")))
    if config.get("sts-region") and not is_region_shape(config["sts-region"]):
        problems.append("sts-region: %r is not a region name" % config["sts-region"])
    discovery = config.get("discovery") or {}
    jobs = discovery.get("jobs") if isinstance(discovery, dict) else None
    if not jobs and not config.get("static") and not config.get("customNamespace"):
        problems.append("%s: at least one discovery job (or a static or customNamespace job) is required" % jobs_variable)
    if isinstance(discovery, dict):
        problems += _unknown("discovery", discovery, DISCOVERY_KEYS)
    types = set()
    for index, job in enumerate(jobs or []):
        where = "%s[%d]" % (jobs_variable, index)
        if not isinstance(job, dict):
            problems.append("%s: must be a mapping" % where)
            continue
        problems += _unknown(where, job, DISCOVERY_JOB_KEYS)
        if not job.get("type"):
            problems.append("%s.type: is required (a CloudWatch namespace such as AWS/RDS)" % where)
        else:
            problem = namespace_problem(where + ".type", job["type"], extra_namespaces)
            if problem:
                problems.append(problem)
            types.add(job["type"])
        problems += _regions_problems(where, job.get("regions"))
        problems += _tag_problems(where + ".searchTags", job.get("searchTags"), regex=True)
        problems += _tag_problems(where + ".customTags", job.get("customTags"), regex=False)
        problems += _job_level_problems(where, job)
        problems += _metric_problems(where, job.get("metrics"), job, enhanced=bool(job.get("enhancedMetrics")))
    exported = discovery.get("exportedTagsOnMetrics") if isinstance(discovery, dict) else None
    for namespace, tags in (exported or {}).items():
        where = "discovery.exportedTagsOnMetrics[%r]" % namespace
        if namespace not in types:
            problems.append("%s: %r is not the type of any discovery job (keys are the jobs' namespaces)"
                            % (where, namespace))
        if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
            problems.append("%s: must be a list of tag keys" % where)
    for section, keys in (("static", STATIC_JOB_KEYS), ("customNamespace", CUSTOM_JOB_KEYS)):
        for index, job in enumerate(config.get(section) or []):
            where = "%s[%d]" % (section, index)
            if not isinstance(job, dict):
                problems.append("%s: must be a mapping" % where)
                continue
            problems += _unknown(where, job, keys)
            for key in ("name", "namespace"):
                if not job.get(key):
                    problems.append("%s.%s: is required" % (where, key))
            problems += _regions_problems(where, job.get("regions"))
            problems += _metric_problems(where, job.get("metrics"), job if section == "customNamespace" else {})
    return problems


def _prom_string(text):
    """CloudWatch name -> Prometheus name part, as YACE writes it (README examples: HTTPCode_Backend_4XX
    -> httpcode_backend_4_xx, DatabaseConnections -> database_connections)."""
    out = []
    previous = ""
    for char in text:
        if char in " ,\t/\\.-:=@<>()":
            out.append("_")
        elif char == "%":
            out.append("_percent")
        else:
            if char.isupper() and (previous.islower() or previous.isdigit()):
                out.append("_")
            out.append(char.lower())
        previous = char
    return "".join(out)


def _namespace_part(namespace):
    name = _prom_string(namespace.lstrip("/").lower())
    return name if name.startswith("aws") else "aws_" + name


def metric_name(namespace, metric, statistic):
    """The Prometheus name YACE gives a CloudWatch metric's statistic (aws_rds_cpuutilization_average)."""
    return "%s_%s_%s" % (_namespace_part(namespace), _prom_string(metric), _prom_string(statistic))


def exported_metric_names(config):
    """Every metric name a config makes YACE export (discovery jobs), plus each namespace's _info."""
    names = set()
    for job in ((config.get("discovery") or {}).get("jobs") or []):
        names.add(_namespace_part(job["type"]) + "_info")
        for metric in job.get("metrics") or []:
            for statistic in metric.get("statistics") or job.get("statistics") or []:
                names.add(metric_name(job["type"], metric["name"], statistic))
    return names


# Every CloudWatch metric YACE exports is named aws_<namespace>_... (metric_name above) and its
# own counters yace_...; the job keeps only those. Without the filter the exporter's Go runtime
# metrics (process_cpu_seconds_total...) make it one of the "services" of dashboards whose $job
# lists the jobs with process metrics, and the doctor cannot tell which metrics the job lacks.
SCRAPE_KEEP_METRICS = "aws.*|yace_.*"


def scrape_job(hosts, job_name="yace", scrape_interval="60s", scrape_timeout="30s", keep_metrics=SCRAPE_KEEP_METRICS):
    """The Prometheus scrape job of the exporters; None without any.

    hosts: [{name, address, environment, listen_address}]. YACE polls CloudWatch in the background
    (-scraping-interval, 300 s by default) and serves the last values, so a scrape more often than
    that adds no data but keeps the series fresh: Prometheus marks a series stale after 5 minutes
    without a sample.
    """
    configs = []
    for host in hosts or []:
        listen = host.get("listen_address")
        if not listen:
            continue
        listen_host, port = split_address(listen)
        # A wildcard listener is reached from another host at that host's address.
        target_host = (host.get("address") or host["name"]) if listen_host in WILDCARD_HOSTS else listen_host
        labels = {"environment": host.get("environment") or "", "service": job_name,
                  "instance": "%s:%s" % (host["name"], port)}
        configs.append({"targets": ["%s:%s" % (target_host, port)],
                        "labels": {k: v for k, v in labels.items() if v != ""}})
    if not configs:
        return None
    job = {"job_name": job_name, "scrape_interval": scrape_interval, "scrape_timeout": scrape_timeout,
           "metrics_path": "/metrics", "static_configs": configs}
    if keep_metrics:
        job["metric_relabel_configs"] = [{"source_labels": ["__name__"], "regex": keep_metrics, "action": "keep"}]
    return job
