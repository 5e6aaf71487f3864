#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: otel_config
short_description: Render, validate and deliver the ADOT collector configs of ECS services
version_added: 0.1.0
description:
  - Builds the AWS Distro for OpenTelemetry (ADOT) collector config of one ECS service from a few
    values (O(project), O(service), O(app_port), ...), or takes a full O(config), validates it and
    delivers it to any combination of a local file (O(dest)), an S3 object encrypted with SSE-KMS
    (O(s3_bucket)) and an SSM parameter (O(ssm_parameter)).
  - The built config is the sidecar pipeline of the ECS/ADOT guide the collection grew from
    (OTLP, a Prometheus scrape of the app, ECS container metrics; memory_limiter,
    resourcedetection with the C(env) and C(ecs) detectors, resource attributes, batch; remote
    write to Amazon Managed Prometheus with SigV4; traces to X-Ray). The environment and the
    cluster come from C(${env:ENVIRONMENT}) and C(${env:CLUSTER_NAME}), so one config serves
    every environment.
  - The config is validated before anything is written; on any problem the module fails, lists
    every problem, and writes nothing. The rules are those of the collection's ADOT validator
    (see the C(docs/otel_config.md) file of the collection) for aws-otel-collector v0.49.0.
    Every component a pipeline names is defined and every defined component is used; every
    component type ships in ADOT; only C(${VAR}) and C(${env:VAR}) substitutions (C($$) is a
    literal C($)); the metric keep regex keeps the default, project and custom prefixes; no
    collector self-scrape; C(resourcedetection) with the C(ecs) detector on ECS; no hard-coded
    environment names in resource attributes, scrape labels, relabel replacements or C(metricstransform)
    operations.
  - Each destination is compared before writing. On S3, "unchanged" is decided by the SHA-256 of
    the content kept with the object as metadata (C(x-amz-meta-content-sha256)), never by the
    ETag, which is not an MD5 under SSE-KMS.
  - Always returns the rendered RV(content), RV(aot_config_content) (the value for the
    C(AOT_CONFIG_CONTENT) environment variable of the collector container) and RV(sha256), which
    M(monitoring.stack.ecs_rollout) takes to redeploy only services whose config changed.
  - Credentials written literally in the config (HTTP C(headers), keys such as C(password),
    C(token), C(secret), C(authorization), C(api_key) holding more than a C(${env:VAR})) are
    masked in RV(content), RV(aot_config_content), the diff and the arguments shown at C(-vvv),
    and each one is a warning (the stored config still holds it, so use C(${env:VAR})). An SSM
    C(SecureString) is compared decrypted; its previous value is shown only where the new config repeats it, every other value masked.
  - Every destination is read and checked before any is written; when a write fails, the message
    and RV(written) say which destinations were already written.
  - Build options are checked first and a bad one fails naming it (durations, memory limits,
    O(amp_endpoint) without a scheme, unknown regions, names with spaces).
  - With O(services), one module run does every service of the list (the bulk form). Every
    config is built and validated first; when any service has a problem the whole run fails
    before any AWS call, each problem starting with C(services[<service>]) and naming the option, and nothing
    is written. Then each object is read with one C(HeadObject) (the bucket's region is read once
    per bucket, its default KMS key once per bucket and only when something must be written),
    and only the changed services are uploaded. An unchanged re-run of N services sends N
    C(HeadObject) and one C(GetBucketLocation) per bucket, nothing else.
author:
  - monitoring.stack contributors (@monitoring-stack)
options:
  project:
    description:
      - The project name. Names the scrape job (C(<project>-<service>-metrics)), the default S3
        key and the project's custom metric prefix (C(<project>_), dashes become underscores),
        which the keep regex always holds.
      - Required unless O(config) is given.
    type: str
  service:
    description:
      - The service name (for example C(web-api)). Required with O(project).
    type: str
  service_name:
    description:
      - The C(service_name) resource attribute. Defaults to O(service).
    type: str
  job_name:
    description:
      - The Prometheus scrape job name. Defaults to C(<project>-<service>-metrics).
    type: str
  app_port:
    description:
      - The port the application serves its metrics on inside the task.
    type: int
    default: 8080
  app_host:
    description:
      - The host the collector scrapes (the app container shares the task's network namespace).
    type: str
    default: localhost
  metrics_path:
    description:
      - The application's metrics path.
    type: str
    default: /actuator/prometheus
  scrape_interval:
    description:
      - Scrape and ECS container metrics collection interval.
    type: str
    default: 30s
  scrape_timeout:
    description:
      - Scrape timeout.
    type: str
    default: 10s
  custom_metric_prefixes:
    description:
      - Further metric name prefixes the keep regex must hold (for example C(scheduler_job_),
        C(sqs_consumer_)). A trailing C(_) or C(_.*) is optional.
      - A prefix missing from the keep regex is the most common cause of "No data" in Grafana.
    type: list
    elements: str
    default: []
  keep_default_prefixes:
    description:
      - Keep the Spring Boot / Micrometer prefixes (C(http_ jvm_ process_ system_ application_
        business_ spring_ hikaricp_)) in the keep regex, and require them when validating.
    type: bool
    default: true
  amp_endpoint:
    description:
      - The Amazon Managed Prometheus remote-write URL. The default reads it from the
        collector container's C(AMP_ENDPOINT) environment variable.
    type: str
    default: "${env:AMP_ENDPOINT}"
  amp_region:
    description:
      - The region for SigV4 signing and X-Ray. The default reads C(AWS_REGION) in the container.
      - Not the region of this module's own AWS calls (O(region)).
    type: str
    default: "${env:AWS_REGION}"
  traces:
    description:
      - Add the traces pipeline (OTLP receiver to X-Ray, or to Tempo with O(traces_exporter=otlp)).
    type: bool
    default: true
  traces_exporter:
    description:
      - Where the traces pipeline exports spans. V(xray) is the C(awsxray) exporter (region O(amp_region)).
      - V(otlp) is the C(otlp) (gRPC) exporter to O(traces_otlp_endpoint), for example the Tempo of the
        monitoring.stack.tempo role (its OTLP gRPC receiver, port 4317), instead of X-Ray.
    type: str
    choices: [xray, otlp]
    default: xray
  traces_otlp_endpoint:
    description:
      - C(host:port) of the OTLP gRPC receiver (C(exporters.otlp.endpoint)); required with O(traces_exporter=otlp).
    type: str
  traces_otlp_insecure:
    description:
      - Plaintext gRPC to O(traces_otlp_endpoint) (C(exporters.otlp.tls.insecure)); C(false) uses TLS.
    type: bool
    default: false
  traces_otlp_ca_file:
    description:
      - CA bundle, a path inside the collector container, that signs the endpoint's certificate
        (C(exporters.otlp.tls.ca_file)); the system CAs when unset. Needs O(traces_otlp_insecure=false).
    type: str
  ecs_container_metrics:
    description:
      - Add the C(awsecscontainermetrics) receiver (task CPU, memory, network).
    type: bool
    default: true
  memory_limit_mib:
    description:
      - The C(memory_limiter) limit.
    type: int
    default: 410
  memory_spike_limit_mib:
    description:
      - The C(memory_limiter) spike limit.
    type: int
    default: 128
  config:
    description:
      - A full collector config (a mapping, or YAML text) instead of the built one. It is
        validated with the same rules and rendered with the same stable key order.
      - Mutually exclusive with O(project); the build options are then ignored.
    type: raw
  required_metric_prefixes:
    description:
      - Metric name prefixes the keep regex must hold, checked in addition to the default ones
        (O(keep_default_prefixes)), the project's and O(custom_metric_prefixes).
    type: list
    elements: str
    default: []
  on_ecs:
    description:
      - The collector runs as an ECS sidecar, so scraping needs C(resourcedetection) with the
        C(ecs) detector (else AMP rejects samples as "out of order sample").
    type: bool
    default: true
  dest:
    description:
      - Write the config to this local file (atomically). The directory must exist.
    type: path
  mode:
    description:
      - The permissions of O(dest), as for M(ansible.builtin.copy).
    type: raw
  s3_bucket:
    description:
      - Upload the config to this bucket, encrypted with SSE-KMS.
    type: str
  s3_key:
    description:
      - The object key. Defaults to C(otel-config/<project>-<service>/otel-config.yaml).
      - Required with O(s3_bucket) when O(config) is given.
    type: str
  kms_key_id:
    description:
      - The KMS key (id, ARN or alias) to encrypt the object with. Defaults to the bucket's default
        KMS key, or the AWS-managed C(aws/s3) key when the bucket has none.
      - When given as an id or ARN, an object under another key is re-uploaded.
    type: str
  ssm_parameter:
    description:
      - Store the config in this SSM parameter (for example for the ECS task definition's
        C(secrets)/C(valueFrom) of C(AOT_CONFIG_CONTENT)).
    type: str
  ssm_parameter_type:
    description:
      - The parameter type.
    type: str
    choices: [String, SecureString]
    default: String
  ssm_key_id:
    description:
      - The KMS key of a SecureString parameter (default the account's C(aws/ssm) key).
    type: str
  services:
    description:
      - Several services in one run (the bulk form), each delivered to S3 (SSE-KMS) as the
        single-service form does.
      - Each element takes O(services[].service) and any of the options below; an option an
        element leaves out takes the module's own value (so O(project), O(s3_bucket),
        O(kms_key_id), O(amp_endpoint), O(amp_region) are usually set once for all).
      - Mutually exclusive with O(service), O(config), O(s3_key), O(dest) and O(ssm_parameter)
        (the bulk form writes to S3 only; without any O(s3_bucket) it only renders).
      - Service names and S3 objects must be unique in the list.
    type: list
    elements: dict
    suboptions:
      service:
        description: The service name (as O(service)); names the service in results and errors.
        type: str
        required: true
      project:
        description: As O(project).
        type: str
      service_name:
        description: As O(service_name).
        type: str
      job_name:
        description: As O(job_name).
        type: str
      app_port:
        description: As O(app_port).
        type: int
      app_host:
        description: As O(app_host).
        type: str
      metrics_path:
        description: As O(metrics_path).
        type: str
      scrape_interval:
        description: As O(scrape_interval).
        type: str
      scrape_timeout:
        description: As O(scrape_timeout).
        type: str
      custom_metric_prefixes:
        description: As O(custom_metric_prefixes).
        type: list
        elements: str
      keep_default_prefixes:
        description: As O(keep_default_prefixes).
        type: bool
      amp_endpoint:
        description: As O(amp_endpoint).
        type: str
      amp_region:
        description: As O(amp_region).
        type: str
      traces:
        description: As O(traces).
        type: bool
      traces_exporter:
        description: As O(traces_exporter).
        type: str
        choices: [xray, otlp]
      traces_otlp_endpoint:
        description: As O(traces_otlp_endpoint).
        type: str
      traces_otlp_insecure:
        description: As O(traces_otlp_insecure).
        type: bool
      traces_otlp_ca_file:
        description: As O(traces_otlp_ca_file).
        type: str
      ecs_container_metrics:
        description: As O(ecs_container_metrics).
        type: bool
      memory_limit_mib:
        description: As O(memory_limit_mib).
        type: int
      memory_spike_limit_mib:
        description: As O(memory_spike_limit_mib).
        type: int
      config:
        description:
          - A full collector config for this service instead of the built one, as O(config);
            needs O(services[].s3_key) when uploaded.
        type: raw
      required_metric_prefixes:
        description: As O(required_metric_prefixes).
        type: list
        elements: str
      on_ecs:
        description: As O(on_ecs).
        type: bool
      s3_bucket:
        description: As O(s3_bucket).
        type: str
      s3_key:
        description: As O(s3_key) (default C(otel-config/<project>-<service>/otel-config.yaml)).
        type: str
      kms_key_id:
        description: As O(kms_key_id).
        type: str
requirements:
  - PyYAML (Python)
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - monitoring.stack.attributes.check_diff
  - monitoring.stack.attributes.platform_aws
  - monitoring.stack.attributes.action_group_aws
attributes:
  diff_mode:
    details: The diff shows the YAML change per destination (before from the destination).
notes:
  - >-
    The ADOT collector reads an S3 config given as C(--config s3://<bucket>.s3.<region>.amazonaws.com/<key>)
    (RV(s3_uri)) at start, with the task role's credentials; under SSE-KMS that role also needs
    C(kms:Decrypt) on the key. A running task does not notice a new config: roll the service out
    with M(monitoring.stack.ecs_rollout).
  - C(AOT_CONFIG_CONTENT), when set at all, overrides every C(--config).
  - The integration tests run against moto, whose ETag is the MD5 even under SSE-KMS; the module
    never looks at the ETag, so it behaves the same on AWS.
  - Every AWS call is retried with a jittered backoff on throttling (C(ThrottlingException),
    C(SlowDown), C(RequestLimitExceeded), ...).
seealso:
  - module: monitoring.stack.ecs_rollout
"""

EXAMPLES = r"""
# Traces to a self-hosted Tempo (monitoring.stack.tempo, OTLP gRPC on 4317) instead of X-Ray
- name: ADOT config whose traces go to Tempo
  monitoring.stack.otel_config:
    project: photogather
    service: api
    traces_exporter: otlp
    traces_otlp_endpoint: tempo.monitoring.internal:4317
    traces_otlp_insecure: true  # inside the VPC; set traces_otlp_ca_file for TLS instead
    dest: /etc/otel/api.yaml

# seed 000's per-service table as one task: one config per service, uploaded under SSE-KMS
- name: ADOT collector configs
  monitoring.stack.otel_config:
    project: crawlinghub
    service: "{{ item.service }}"
    app_port: "{{ item.port }}"
    job_name: "{{ item.job_name | default(omit) }}"
    custom_metric_prefixes: "{{ item.prefixes | default([]) }}"
    s3_bucket: prod-connectly
    region: ap-northeast-2
  loop:
    - {service: web-api, port: 8080}
    - {service: scheduler, port: 8081, prefixes: [scheduler_job_]}
    - {service: crawl-worker, port: 8082, job_name: crawlinghub-worker-metrics}
  register: otel

- name: Redeploy the services whose config changed
  monitoring.stack.ecs_rollout:
    cluster: crawlinghub-cluster-prod
    service: "{{ item.item.service }}"
    config_sha256: "{{ item.sha256 }}"
    region: ap-northeast-2
  loop: "{{ otel.results }}"

# The same in one task: one module run, one HeadObject per service on an unchanged re-run
- name: ADOT collector configs (bulk)
  monitoring.stack.otel_config:
    project: crawlinghub
    s3_bucket: prod-connectly
    region: ap-northeast-2
    services:
      - {service: web-api, app_port: 8080}
      - {service: scheduler, app_port: 8081, custom_metric_prefixes: [scheduler_job_]}
      - {service: crawl-worker, app_port: 8082, job_name: crawlinghub-worker-metrics}
  register: otel_bulk

- name: Redeploy the services whose config changed (bulk)
  monitoring.stack.ecs_rollout:
    cluster: crawlinghub-cluster-prod
    services: >-
      {{ otel_bulk.services | ansible.builtin.items2dict(key_name='service', value_name='sha256')
         | ansible.builtin.dict2items(key_name='service', value_name='config_sha256') }}
    region: ap-northeast-2

- name: A hand-written config, validated and written to a file and an SSM parameter
  monitoring.stack.otel_config:
    config: "{{ lookup('ansible.builtin.file', 'files/otel-config-resizing-worker.yaml') }}"
    required_metric_prefixes: [image_, resizing_, sqs_consumer_]
    dest: /etc/otel/resizing-worker.yaml
    mode: "0644"
    ssm_parameter: /fileflow/otel/resizing-worker
    ssm_parameter_type: SecureString

- name: Only render (for the AOT_CONFIG_CONTENT variable of a task definition)
  monitoring.stack.otel_config:
    project: fileflow
    service: web-api
  register: web_api_otel
"""

RETURN = r"""
content:
  description: The rendered config (YAML, stable key order, with a header comment).
  returned: without O(services)
  type: str
aot_config_content:
  description:
    - The config as one line of JSON (valid YAML), the value for the collector container's
      C(AOT_CONFIG_CONTENT) environment variable. It is the config itself, not base64.
  returned: without O(services)
  type: str
sha256:
  description: SHA-256 of RV(content); give it to M(monitoring.stack.ecs_rollout) as O(monitoring.stack.ecs_rollout#module:config_sha256).
  returned: without O(services)
  type: str
  sample: 5d41402abc4b2a76b9719d911017c592b3c3a5f0c7f1b5d0e1f2a3b4c5d6e7f8
s3_uri:
  description: The object as the ADOT collector's C(--config) accepts it, in the bucket's own region (GetBucketLocation).
  returned: when O(s3_bucket) is given
  type: str
  sample: s3://prod-connectly.s3.ap-northeast-2.amazonaws.com/otel-config/crawlinghub-web-api/otel-config.yaml
destinations:
  description: Per destination, whether it changed and what was written.
  returned: without O(services)
  type: dict
  contains:
    file:
      description: C(changed), C(path). Present when O(dest) is given.
      type: dict
      returned: when O(dest) is given
    s3:
      description:
        - C(changed), C(bucket), C(key), C(sha256), C(previous_sha256), C(kms_key_id), C(version_id).
        - C(kms_key_id) is the key the object is (or, in check mode, would be) encrypted with.
      type: dict
      returned: when O(s3_bucket) is given
    ssm:
      description: C(changed), C(name), C(type), C(sha256), C(version).
      type: dict
      returned: when O(ssm_parameter) is given
  sample: {"s3": {"changed": true, "bucket": "b", "key": "otel-config/p-s/otel-config.yaml"}}
written:
  description:
    - The destinations written by this run, in order (C(s3), C(ssm), C(file)); on failure, those written before it.
    - With O(services), C(<service>:s3) for each service uploaded.
  returned: always
  type: list
  elements: str
  sample: ["s3"]
problems:
  description:
    - The validation problems (empty when the config passed; the module fails otherwise).
    - With O(services), each problem starts with C(services[<service>]:).
  returned: always
  type: list
  elements: str
services:
  description:
    - With O(services), one result per service, in the order given. Each has C(service),
      C(changed), C(content), C(aot_config_content) and C(sha256) (as the single-service form's
      RV(content), RV(aot_config_content), RV(sha256), credentials masked), C(s3_uri),
      C(destinations) (C(s3) as in RV(destinations)) and C(written).
  returned: when O(services) is given
  type: list
  elements: dict
  sample: [{"service": "web-api", "changed": false, "sha256": "5d41...", "written": [],
            "s3_uri": "s3://prod-connectly.s3.ap-northeast-2.amazonaws.com/otel-config/crawlinghub-web-api/otel-config.yaml"}]
totals:
  description: With O(services), how many services there were, changed (or would change in check mode), were unchanged and were written.
  returned: when O(services) is given
  type: dict
  sample: {"services": 50, "changed": 1, "unchanged": 49, "written": 1}
"""

import os
import tempfile

try:
    import botocore  # noqa: F401  pylint: disable=unused-import
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.monitoring.stack.plugins.module_utils import otel
from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import is_known_region
from ansible_collections.monitoring.stack.plugins.module_utils.common import failure_message
from ansible_collections.monitoring.stack.plugins.module_utils.otel_delivery import DeliveryError
from ansible_collections.monitoring.stack.plugins.module_utils.otel_delivery import S3Destination
from ansible_collections.monitoring.stack.plugins.module_utils.otel_delivery import SsmDestination
from ansible_collections.monitoring.stack.plugins.module_utils.otel_delivery import bucket_region

SPEC_OPTIONS = ("project", "service", "service_name", "job_name", "app_port", "app_host", "metrics_path",
                "scrape_interval", "scrape_timeout", "custom_metric_prefixes", "keep_default_prefixes",
                "amp_endpoint", "amp_region", "traces", "traces_exporter", "traces_otlp_endpoint",
                "traces_otlp_insecure", "traces_otlp_ca_file", "ecs_container_metrics", "memory_limit_mib",
                "memory_spike_limit_mib")
HEADER = "Managed by monitoring.stack.otel_config: change the inventory, not this file."


def masked_invocation(module):
    """The module's arguments with every credential of ``config`` masked (shown at -vvv)."""
    params = dict(module.params)
    if params.get("config") is not None:
        try:
            params["config"] = otel.mask_secrets(otel.parse_config(params["config"]))
        except ValueError:
            params["config"] = "(not shown: not a readable config)"
    if params.get("services"):
        params["services"] = [dict(element, config=_masked_config(element.get("config")))
                              for element in params["services"]]
    return {"module_args": params}


def _masked_config(config):
    if config is None:
        return None
    try:
        return otel.mask_secrets(otel.parse_config(config))
    except ValueError:
        return "(not shown: not a readable config)"


def fail(module, msg, **result):
    module.fail_json(msg=msg, invocation=masked_invocation(module), **result)


def build_params(params):
    """(config, name, required_prefixes, default_prefixes, problems) from one service's parameters.

    ``problems`` name the option; when it is not empty the config is None."""
    default_prefixes = otel.DEFAULT_KEEP_PREFIXES if params["keep_default_prefixes"] else ()
    required = list(params["required_metric_prefixes"] or [])
    if params.get("config") is not None:
        try:
            config = otel.parse_config(params["config"])
        except ValueError as exc:
            return None, None, required, default_prefixes, ["config: %s" % to_native(exc)]
        return config, None, required, default_prefixes, []
    spec = {key: params[key] for key in SPEC_OPTIONS}
    problems = otel.spec_problems(spec)
    amp_region = params["amp_region"] or ""
    if otel.is_region_shape(amp_region) and not is_known_region(amp_region):
        problems.append("amp_region: %r is not a region botocore knows (a typo? a new region needs a newer botocore)"
                        % amp_region)
    if problems:
        return None, None, required, default_prefixes, problems
    config = otel.build_config(spec)
    name = "%s-%s" % (params["project"], params["service"])
    return config, name, otel.required_prefixes_for(spec) + required, default_prefixes, []


def build(module):
    """(config, name, required_prefixes, default_prefixes) from the module's parameters."""
    params = module.params
    config, name, required, default_prefixes, problems = build_params(params)
    if problems and params["config"] is not None:
        fail(module, failure_message("read the ADOT collector config", problems[0][len("config: "):]))
    if problems:
        fail(module, failure_message("build the ADOT collector config", "; ".join(problems)), problems=problems)
    return config, name, required, default_prefixes


class FileDestination:
    """The local file, with the S3/SSM destinations' interface: ``prepare`` reads and checks,
    ``write`` replaces it atomically (and sets ``mode``)."""

    def __init__(self, module, path, want_before):
        self.module = module
        self.path = path
        self.want_before = want_before
        self._pending = None
        self._result = None

    def prepare(self, content, _sha256=None):
        module, path = self.module, self.path
        result = {"path": path, "changed": False}
        before = None
        if os.path.isfile(path):
            try:
                with open(path, "rb") as handle:
                    before = handle.read().decode("utf-8", errors="replace")
            except OSError as exc:
                raise DeliveryError("read %s" % path, to_native(exc)) from None
        elif os.path.exists(path):
            raise DeliveryError("write %s" % path, "it exists and is not a regular file")
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise DeliveryError("write %s" % path, "directory %s does not exist" % directory, "create it first")
        if before != content:
            result["changed"] = True
            if self.want_before:
                result["before"] = before or ""
            self._pending = content
        self._result = result
        return result["changed"], result

    def write(self):
        module, path, result = self.module, self.path, self._result
        wrote = False
        if self._pending is not None and not module.check_mode:
            directory = os.path.dirname(os.path.abspath(path))
            try:
                fd, tmp = tempfile.mkstemp(prefix=".otel_config.", dir=directory)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(self._pending.encode("utf-8"))
            except OSError as exc:
                raise DeliveryError("write %s" % path, to_native(exc)) from None
            module.atomic_move(tmp, path)
            wrote = True
        if module.params["mode"] is not None and (os.path.exists(path) or not module.check_mode):
            if module.set_mode_if_different(path, module.params["mode"], False):
                result["changed"] = True
                wrote = wrote or not module.check_mode
        return wrote


def masked_text(text, header, secret_as_a_whole=None):
    """Stored config text as the diff shows it: credentials masked; unreadable text not shown.

    ``secret_as_a_whole`` (the new, masked config) is given for a SecureString: then every old
    value the new config does not repeat is masked too, whatever its key."""
    if not text:
        return ""
    try:
        old = otel.mask_secrets(otel.parse_config(text))
    except ValueError:
        return "(previous content not shown: %d characters that are not a readable config)\n" % len(text)
    if secret_as_a_whole is not None:
        old = otel.mask_unlike(old, secret_as_a_whole)
    return otel.render_yaml(old, header=header)


# Options of one element of ``services``; an option an element leaves out takes the module's value.
SERVICE_OPTIONS = SPEC_OPTIONS + ("config", "required_metric_prefixes", "on_ecs", "s3_bucket", "s3_key", "kms_key_id")


def element_params(params, element):
    """One service's parameters: the module's values overridden by what the element sets."""
    merged = {key: params.get(key) for key in SERVICE_OPTIONS}
    merged.update({key: value for key, value in element.items() if value is not None})
    merged["service"] = element["service"]
    return merged


def render_service(label, merged):
    """Everything about one service that needs no AWS call, or (None, problems naming it)."""
    config, name, required, default_prefixes, problems = build_params(merged)
    if not problems:
        problems = otel.validate_config(config, required_prefixes=required, on_ecs=merged["on_ecs"],
                                        default_prefixes=default_prefixes)
    if not problems and merged["s3_bucket"] and not merged["s3_key"] and not name:
        problems = ["s3_key: required with config"]
    if problems:
        return None, ["services[%s]: %s" % (label, problem) for problem in problems]
    header = ("ADOT collector config for %s\n" % name if name else "ADOT collector config\n") + HEADER
    content = otel.render_yaml(config, header=header)
    masked = otel.mask_secrets(config)
    key = None
    if merged["s3_bucket"]:
        key = merged["s3_key"] or "otel-config/%s/otel-config.yaml" % name
    return {"label": label, "name": name, "header": header, "content": content, "sha256": otel.sha256(content),
            "masked": masked, "shown": otel.render_yaml(masked, header=header), "bucket": merged["s3_bucket"],
            "key": key, "kms_key_id": merged["kms_key_id"], "credentials": otel.literal_credentials(config)}, []


class SharedBucketS3Destination(S3Destination):
    """An S3Destination that reads its bucket's default KMS key at most once per run (``cache``)."""

    def __init__(self, client, bucket, key, cache, **kwargs):
        super().__init__(client, bucket, key, **kwargs)
        self.cache = cache

    def bucket_default_kms_key(self):
        if self.bucket not in self.cache:
            self.cache[self.bucket] = super().bucket_default_kms_key()
        return self.cache[self.bucket]


def run_bulk(module):
    """``services``: render and validate every service, then read every object, then write."""
    params = module.params
    elements = params["services"]
    result = {"changed": False, "services": [], "problems": [], "written": [],
              "totals": {"services": len(elements), "changed": 0, "unchanged": 0, "written": 0}}
    problems, rendered, seen_names, seen_keys = [], [], {}, {}
    for index, element in enumerate(elements):
        label = element["service"] or "#%d" % index
        if label in seen_names:
            problems.append("services[%s]: service: named more than once in services (items %d and %d)"
                            % (label, seen_names[label], index))
            continue
        seen_names[label] = index
        service, service_problems = render_service(label, element_params(params, element))
        problems.extend(service_problems)
        if service is None:
            continue
        if service["key"]:
            where = (service["bucket"], service["key"])
            if where in seen_keys:
                problems.append("services[%s]: s3_key: s3://%s/%s is also the object of service %s"
                                % (label, where[0], where[1], seen_keys[where]))
            seen_keys[where] = label
        rendered.append(service)
    if problems:
        fail(module, "Failed to validate the ADOT collector configs: %d problem(s) in %d of %d service(s), "
             "nothing was written: %s" % (len(problems), len({p.split("]", 1)[0] for p in problems}),
                                          len(elements), "; ".join(problems)), problems=problems)
    for service in rendered:
        for path in service["credentials"]:
            module.warn("The ADOT collector config of service %s holds a literal credential at %s: it is masked "
                        "in this task's output, but stored in clear; write it as ${env:VAR} and give the "
                        "collector container that variable from a secret" % (service["label"], path))
    for service in rendered:
        entry = {"service": service["label"], "changed": False, "content": service["shown"],
                 "aot_config_content": otel.render_compact(service["masked"]), "sha256": service["sha256"],
                 "destinations": {}, "written": []}
        result["services"].append(entry)

    if any(service["bucket"] for service in rendered):
        region = module.region
        if not region:
            fail(module, failure_message("deliver the ADOT collector configs", "no AWS region",
                                         "set region or AWS_REGION"), **result)
        if not is_known_region(region):
            fail(module, failure_message("deliver the ADOT collector configs",
                                         "region: %r is not a region botocore knows" % region,
                                         "check for a typo (a new region needs a newer botocore)"), **result)
        client = module.client("s3")
    default_keys = {}  # bucket -> its default KMS key, read once

    # 1. Every object is read (one HeadObject each) before any is written.
    pending = []
    try:
        for service, entry in zip(rendered, result["services"]):
            if not service["bucket"]:
                continue
            entry["s3_uri"] = otel.s3_config_uri(service["bucket"], bucket_region(client, service["bucket"]),
                                                 service["key"])
            destination = SharedBucketS3Destination(client, service["bucket"], service["key"], default_keys,
                                                    kms_key_id=service["kms_key_id"], check_mode=module.check_mode,
                                                    want_before=module._diff)
            changed, entry["destinations"]["s3"] = destination.prepare(service["content"], service["sha256"])
            entry["changed"] = changed
            if changed:
                pending.append((service, entry, destination))
    except DeliveryError as exc:
        fail(module, "%s (service %s). Nothing was written" % (exc, service["label"]), **result)

    # 2. Then only the changed ones are written; a failure says which were written before it.
    for service, entry, destination in pending:
        try:
            wrote = destination.write()
        except DeliveryError as exc:
            fail(module, "%s (service %s). Written before the failure: %s" % (
                exc, service["label"], ", ".join(result["written"]) or "nothing"), **result)
        if wrote:
            entry["written"].append("s3")
            result["written"].append("%s:s3" % service["label"])

    diffs = []
    for service, entry, destination in pending:
        before = entry["destinations"]["s3"].pop("before", None)
        if before is not None:
            diffs.append({"before_header": destination.url, "after_header": destination.url,
                          "before": masked_text(before, service["header"]), "after": service["shown"]})
    for entry in result["services"]:
        entry["destinations"].get("s3", {}).pop("before", None)
    totals = result["totals"]
    totals["changed"] = sum(1 for entry in result["services"] if entry["changed"])
    totals["unchanged"] = totals["services"] - totals["changed"]
    totals["written"] = len(result["written"])
    result["changed"] = totals["changed"] > 0
    if module._diff:
        result["diff"] = diffs
    module.exit_json(invocation=masked_invocation(module), **result)


def main():
    argument_spec = dict(
        project=dict(type="str"),
        service=dict(type="str"),
        service_name=dict(type="str"),
        job_name=dict(type="str"),
        app_port=dict(type="int", default=8080),
        app_host=dict(type="str", default="localhost"),
        metrics_path=dict(type="str", default="/actuator/prometheus"),
        scrape_interval=dict(type="str", default="30s"),
        scrape_timeout=dict(type="str", default="10s"),
        custom_metric_prefixes=dict(type="list", elements="str", default=[]),
        keep_default_prefixes=dict(type="bool", default=True),
        amp_endpoint=dict(type="str", default="${env:AMP_ENDPOINT}"),
        amp_region=dict(type="str", default="${env:AWS_REGION}"),
        traces=dict(type="bool", default=True),
        traces_exporter=dict(type="str", default="xray", choices=["xray", "otlp"]),
        traces_otlp_endpoint=dict(type="str"),
        traces_otlp_insecure=dict(type="bool", default=False),
        traces_otlp_ca_file=dict(type="str"),
        ecs_container_metrics=dict(type="bool", default=True),
        memory_limit_mib=dict(type="int", default=410),
        memory_spike_limit_mib=dict(type="int", default=128),
        config=dict(type="raw"),
        required_metric_prefixes=dict(type="list", elements="str", default=[]),
        on_ecs=dict(type="bool", default=True),
        dest=dict(type="path"),
        mode=dict(type="raw"),
        s3_bucket=dict(type="str"),
        s3_key=dict(type="str", no_log=False),
        kms_key_id=dict(type="str", no_log=False),
        ssm_parameter=dict(type="str"),
        ssm_parameter_type=dict(type="str", default="String", choices=["String", "SecureString"]),
        ssm_key_id=dict(type="str", no_log=False),
        services=dict(type="list", elements="dict", options=dict(
            service=dict(type="str", required=True),
            project=dict(type="str"),
            service_name=dict(type="str"),
            job_name=dict(type="str"),
            app_port=dict(type="int"),
            app_host=dict(type="str"),
            metrics_path=dict(type="str"),
            scrape_interval=dict(type="str"),
            scrape_timeout=dict(type="str"),
            custom_metric_prefixes=dict(type="list", elements="str"),
            keep_default_prefixes=dict(type="bool"),
            amp_endpoint=dict(type="str"),
            amp_region=dict(type="str"),
            traces=dict(type="bool"),
            traces_exporter=dict(type="str", choices=["xray", "otlp"]),
            traces_otlp_endpoint=dict(type="str"),
            traces_otlp_insecure=dict(type="bool"),
            traces_otlp_ca_file=dict(type="str"),
            ecs_container_metrics=dict(type="bool"),
            memory_limit_mib=dict(type="int"),
            memory_spike_limit_mib=dict(type="int"),
            config=dict(type="raw"),
            required_metric_prefixes=dict(type="list", elements="str"),
            on_ecs=dict(type="bool"),
            s3_bucket=dict(type="str"),
            s3_key=dict(type="str", no_log=False),
            kms_key_id=dict(type="str", no_log=False),
        )),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        mutually_exclusive=[["config", "project"], ["services", "service"], ["services", "config"],
                            ["services", "dest"], ["services", "ssm_parameter"], ["services", "s3_key"]],
        required_one_of=[["config", "project", "services"]],
        required_by={"mode": "dest", "service": "project"},
        supports_check_mode=True,
    )
    if not otel.HAS_YAML:
        fail(module, failure_message("render the ADOT collector config", "PyYAML is required"))
    params = module.params
    if params["services"] is not None:
        run_bulk(module)
        return
    if params["project"] and not params["service"]:
        module.fail_json(msg="parameters are required together: project, service")

    config, name, required, default_prefixes = build(module)
    problems = otel.validate_config(config, required_prefixes=required, on_ecs=params["on_ecs"],
                                    default_prefixes=default_prefixes)
    if problems:
        fail(module, "Failed to validate the ADOT collector config%s: %d problem(s), nothing was written: %s" % (
             " for " + name if name else "", len(problems),
             "; ".join("(%d) %s" % (i, p) for i, p in enumerate(problems, 1))), problems=problems)
    for path in otel.literal_credentials(config):
        module.warn("The ADOT collector config holds a literal credential at %s: it is masked in this task's "
                    "output, but stored in clear; write it as ${env:VAR} and give the collector container that "
                    "variable from a secret" % path)

    header = ("ADOT collector config for %s\n" % name if name else "ADOT collector config\n") + HEADER
    content = otel.render_yaml(config, header=header)
    sha = otel.sha256(content)
    masked = otel.mask_secrets(config)
    shown = otel.render_yaml(masked, header=header)
    result = {"changed": False, "content": shown, "aot_config_content": otel.render_compact(masked),
              "sha256": sha, "destinations": {}, "problems": [], "written": []}

    # 1. Every destination is checked and read before any is written.
    destinations = []  # (name, destination, diff header)
    if params["s3_bucket"] or params["ssm_parameter"]:
        region = module.region
        if not region:
            fail(module, failure_message("deliver the ADOT collector config", "no AWS region",
                                         "set region or AWS_REGION"), **result)
        if not is_known_region(region):
            fail(module, failure_message("deliver the ADOT collector config",
                                         "region: %r is not a region botocore knows" % region,
                                         "check for a typo (a new region needs a newer botocore)"), **result)
    try:
        if params["s3_bucket"]:
            key = params["s3_key"]
            if not key:
                if not name:
                    fail(module, failure_message("upload the ADOT collector config", "s3_key is required with config"),
                         **result)
                key = "otel-config/%s/otel-config.yaml" % name
            client = module.client("s3")
            result["s3_uri"] = otel.s3_config_uri(params["s3_bucket"], bucket_region(client, params["s3_bucket"]), key)
            destination = S3Destination(client, params["s3_bucket"], key, kms_key_id=params["kms_key_id"],
                                        check_mode=module.check_mode, want_before=module._diff)
            destinations.append(("s3", destination, destination.url))
        if params["ssm_parameter"]:
            destination = SsmDestination(module.client("ssm"), params["ssm_parameter"], params["ssm_parameter_type"],
                                         key_id=params["ssm_key_id"], check_mode=module.check_mode,
                                         want_before=module._diff)
            destinations.append(("ssm", destination, "ssm:" + params["ssm_parameter"]))
        if params["dest"]:
            destinations.append(("file", FileDestination(module, params["dest"], module._diff), params["dest"]))
        for kind, destination, _header in destinations:
            _changed, result["destinations"][kind] = destination.prepare(content, sha)
    except DeliveryError as exc:
        fail(module, "%s. Nothing was written" % exc, **result)

    # 2. Then written; a failure reports exactly what was written before it.
    for kind, destination, _header in destinations:
        try:
            wrote = destination.write()
        except DeliveryError as exc:
            fail(module, "%s. Written before the failure: %s" % (exc, ", ".join(result["written"]) or "nothing"),
                 **result)
        if wrote:
            result["written"].append(kind)

    diffs = []
    for kind, destination, diff_header in destinations:
        before = result["destinations"][kind].pop("before", None)
        if before is not None:
            secure = masked if getattr(destination, "parameter_type", None) == "SecureString" else None
            diffs.append({"before_header": diff_header, "after_header": diff_header,
                          "before": masked_text(before, header, secure), "after": shown})
    result["changed"] = any(d["changed"] for d in result["destinations"].values())
    if module._diff:
        result["diff"] = diffs
    module.exit_json(invocation=masked_invocation(module), **result)


if __name__ == "__main__":
    main()
