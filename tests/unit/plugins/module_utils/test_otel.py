"""The ADOT collector config model: build, validate (every rule, each its own message), render.

No collector binary ships here (components.md): the validator is the check. When
`otelcol-contrib` or `aws-otel-collector` is on PATH, the last test also runs the real one.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils import otel

FIXTURE = Path(__file__).resolve().parents[3] / "unit" / "fixtures" / "seed000_adot_template.yaml"
PROJECT = "crawlinghub"

# seed 000 section 3.3: the per-service table.
SEED_SERVICES = [
    # service, job_name, port
    ("web-api", "crawlinghub-web-api-metrics", 8080),
    ("scheduler", "crawlinghub-scheduler-metrics", 8081),
    ("crawl-worker", "crawlinghub-worker-metrics", 8082),
]


def build(**spec):
    spec.setdefault("project", PROJECT)
    spec.setdefault("service", "web-api")
    return otel.build_config(spec)


def problems_of(config, **kwargs):
    return otel.validate_config(config, **kwargs)


def only_problem(config, **kwargs):
    problems = problems_of(config, **kwargs)
    assert len(problems) == 1, problems
    return problems[0]


# ---------------------------------------------------------------------------- data


def test_component_list_is_data_with_its_version():
    assert otel.ADOT_VERSION == "v0.49.0"
    assert set(otel.ADOT_COMPONENTS) == {"extensions", "receivers", "processors", "exporters", "connectors"}
    assert "prometheusremotewrite" in otel.ADOT_COMPONENTS["exporters"]
    assert "logging" not in otel.ADOT_COMPONENTS["exporters"]
    assert "awsecscontainermetrics" in otel.ADOT_COMPONENTS["receivers"]
    assert otel.ADOT_COMPONENTS["connectors"] == frozenset()
    # The whole table against a literal transcription of ADOT v0.49.0's defaults.go.
    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "adot-v0.49.0-components.txt"
    expected = {}
    for line in fixture.read_text().splitlines():
        if line and not line.startswith("#"):
            kind, _sep, names = line.partition(":")
            expected[kind] = frozenset(n.strip() for n in names.split(",") if n.strip())
    assert otel.ADOT_COMPONENTS == expected


# ---------------------------------------------------------------------------- build


def _seed_template(service, job_name, port):
    """The seed's template for one row of its per-service table, ${X} written ${env:X}."""
    text = FIXTURE.read_text()
    # ${VAR} and ${env:VAR} expand identically in ADOT; the model always writes ${env:VAR}.
    text = re.sub(r"\$\{([A-Z_]+)\}", r"${env:\1}", text)
    config = yaml.safe_load(text)
    job = config["receivers"]["prometheus"]["config"]["scrape_configs"][0]
    job["job_name"] = job_name
    job["static_configs"][0]["targets"] = ["localhost:%d" % port]
    config["processors"]["resource"]["attributes"][2]["value"] = service
    return config


@pytest.mark.parametrize("service, job_name, port", SEED_SERVICES, ids=[s[0] for s in SEED_SERVICES])
def test_build_gives_the_seed_template_for_each_service(service, job_name, port):
    expected = _seed_template(service, job_name, port)
    spec = {"service": service, "app_port": port}
    if job_name != "%s-%s-metrics" % (PROJECT, service):
        spec["job_name"] = job_name  # the seed names crawl-worker's job crawlinghub-worker-metrics
    built = build(**spec)
    assert built == expected
    # and the rendered YAML parses back to the same thing
    assert yaml.safe_load(otel.render_yaml(built)) == expected


def test_seed_template_itself_passes_validation():
    config = yaml.safe_load(FIXTURE.read_text())
    assert problems_of(config, required_prefixes=[PROJECT]) == []


def test_build_defaults_pass_validation_with_project_and_custom_prefixes():
    spec = {"project": "fileflow", "service": "worker", "custom_metric_prefixes": ["sqs_consumer_", "scheduler_job"]}
    config = otel.build_config(spec)
    regex = config["receivers"]["prometheus"]["config"]["scrape_configs"][0]["metric_relabel_configs"][0]["regex"]
    for name in ("fileflow_files_total", "sqs_consumer_messages_total", "scheduler_job_duration_seconds",
                 "jvm_memory_used_bytes", "hikaricp_connections_active"):
        assert re.fullmatch(regex, name), (regex, name)
    assert not re.fullmatch(regex, "go_goroutines")
    assert problems_of(config, required_prefixes=otel.required_prefixes_for(spec)) == []


def test_environment_and_cluster_come_from_the_environment():
    attrs = {a["key"]: a["value"] for a in build()["processors"]["resource"]["attributes"]}
    assert attrs == {"environment": "${env:ENVIRONMENT}", "cluster_name": "${env:CLUSTER_NAME}",
                     "service_name": "web-api"}


def test_build_options_switch_parts_off():
    config = build(traces=False, ecs_container_metrics=False, memory_limit_mib=300, memory_spike_limit_mib=64,
                   amp_endpoint="https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write",
                   amp_region="eu-west-1", scrape_interval="15s", metrics_path="/metrics")
    assert set(config["service"]["pipelines"]) == {"metrics"}
    assert "awsxray" not in config["exporters"]
    assert "awsecscontainermetrics" not in config["receivers"]
    assert config["processors"]["memory_limiter"]["limit_mib"] == 300
    assert config["processors"]["memory_limiter"]["spike_limit_mib"] == 64
    assert config["extensions"]["sigv4auth"]["region"] == "eu-west-1"
    job = config["receivers"]["prometheus"]["config"]["scrape_configs"][0]
    assert job["scrape_interval"] == "15s" and job["metrics_path"] == "/metrics"
    assert problems_of(config, required_prefixes=[PROJECT]) == []


@pytest.mark.parametrize("spec, fragment", [
    ({"service": "web-api"}, "project: required"),
    ({"project": "p"}, "service: required"),
    ({"project": "p", "service": "s", "app_port": 70000}, "app_port: must be between 1 and 65535"),
    ({"project": "p", "service": "s", "app_port": "http"}, "app_port: must be a port number"),
    ({"project": "p", "service": "s", "metrics_path": "metrics"}, "metrics_path: must start with '/'"),
    ({"project": "p", "service": "s", "custom_metric_prefixes": ["bad prefix"]}, "custom_metric_prefixes"),
])
def test_bad_spec_names_the_option(spec, fragment):
    with pytest.raises(otel.SpecError, match=re.escape(fragment)):
        otel.build_config(spec)


def test_project_with_dash_gives_underscore_prefix():
    assert otel.project_prefix("crawling-hub") == "crawling_hub_"
    assert otel.normalize_prefix("image_.*") == "image_"


# ---------------------------------------------------------------------------- validate


def test_unknown_component_type():
    config = build()
    config["exporters"]["logging"] = {}
    config["service"]["pipelines"]["metrics"]["exporters"].append("logging")
    msg = only_problem(config, required_prefixes=[PROJECT])
    assert msg.startswith("exporters.logging: unknown exporter type 'logging' for the ADOT collector v0.49.0")
    assert "use 'debug'" in msg


def test_named_component_type_is_the_part_before_the_slash():
    config = build()
    config["receivers"]["prometheus/app"] = config["receivers"].pop("prometheus")
    config["service"]["pipelines"]["metrics"]["receivers"][1] = "prometheus/app"
    assert problems_of(config, required_prefixes=[PROJECT]) == []
    config["receivers"]["hostmetrics/x"] = {}
    config["service"]["pipelines"]["metrics"]["receivers"].append("hostmetrics/x")
    msg = only_problem(config, required_prefixes=[PROJECT])
    assert msg.startswith("receivers.hostmetrics/x: unknown receiver type 'hostmetrics'")


def test_connectors_are_not_shipped():
    config = build()
    config["connectors"] = {"spanmetrics": {}}
    problems = problems_of(config, required_prefixes=[PROJECT])
    assert "connectors.spanmetrics: the ADOT collector v0.49.0 ships no connectors" in problems


def test_pipeline_naming_an_undefined_receiver():
    config = build()
    config["service"]["pipelines"]["metrics"]["receivers"].append("statsd")
    assert only_problem(config, required_prefixes=[PROJECT]) == (
        "service.pipelines.metrics names receiver 'statsd', which is not defined under receivers")


def test_pipeline_naming_an_undefined_processor_and_exporter():
    config = build()
    config["service"]["pipelines"]["traces"]["processors"].append("tail_sampling")
    config["service"]["pipelines"]["traces"]["exporters"].append("otlp")
    assert problems_of(config, required_prefixes=[PROJECT]) == [
        "service.pipelines.traces names processor 'tail_sampling', which is not defined under processors",
        "service.pipelines.traces names exporter 'otlp', which is not defined under exporters",
    ]


def test_undefined_extension():
    config = build()
    config["service"]["extensions"].append("pprof")
    assert only_problem(config, required_prefixes=[PROJECT]) == (
        "service.extensions names extension 'pprof', which is not defined under extensions")


def test_defined_but_unused_components():
    config = build()
    config["exporters"]["debug"] = {}
    config["extensions"]["zpages"] = {}
    assert problems_of(config, required_prefixes=[PROJECT]) == [
        "extensions.zpages: defined but not used by service.extensions (remove it or add it)",
        "exporters.debug: defined but not used by any pipeline (remove it or add it)",
    ]


def test_pipeline_without_exporters_and_unknown_signal():
    config = build()
    config["service"]["pipelines"]["traces"]["exporters"] = []
    config["service"]["pipelines"]["profiles"] = {"receivers": ["otlp"], "exporters": ["awsxray"]}
    problems = problems_of(config, required_prefixes=[PROJECT])
    assert "service.pipelines.traces: no exporters (a pipeline needs at least one)" in problems
    assert "service.pipelines.profiles: unknown signal 'profiles' (use metrics, traces or logs)" in problems


def test_missing_service_and_not_a_mapping():
    assert problems_of({"receivers": {}}) == ["service: missing (the collector needs service.pipelines)"]
    assert problems_of(["x"]) == ["the ADOT collector config must be a mapping, got list"]
    config = build()
    config["service"]["pipelines"] = {}
    assert "service.pipelines: missing or empty" in problems_of(config)[0]


def test_bare_variable_is_rejected():
    config = build()
    config["processors"]["resource"]["attributes"][0]["value"] = "$ENVIRONMENT"
    assert only_problem(config, required_prefixes=[PROJECT]) == (
        "processors.resource.attributes[0].value: bare $ENVIRONMENT is not expanded by the ADOT collector: "
        "write ${env:ENVIRONMENT} (or $$ for a literal $)")


def test_lone_dollar_is_rejected_and_double_dollar_is_a_literal():
    config = build()
    config["receivers"]["prometheus"]["config"]["scrape_configs"][0]["relabel_configs"] = [
        {"source_labels": ["__address__"], "regex": "(.*):.*", "target_label": "host", "replacement": "$$1"}]
    assert problems_of(config, required_prefixes=[PROJECT]) == []
    config["receivers"]["prometheus"]["config"]["scrape_configs"][0]["relabel_configs"][0]["replacement"] = "$1"
    msg = only_problem(config, required_prefixes=[PROJECT])
    assert msg.startswith("receivers.prometheus.config.scrape_configs[0].relabel_configs[0].replacement: a lone '$'")
    assert "write $$ for a literal $" in msg


@pytest.mark.parametrize("value, ok", [
    ("${ENVIRONMENT}", True), ("${env:ENVIRONMENT}", True), ("a-${env:X}-b$$", True),
    ("${env:}", False), ("${ENV-X}", False), ("cost $", False), ("$HOME/x", False),
])
def test_substitution_forms(value, ok):
    assert (otel.substitution_problems_in("x", value) == []) is ok


def test_prefix_missing_from_keep_regex():
    spec = {"project": PROJECT, "service": "scheduler", "custom_metric_prefixes": ["scheduler_job_"]}
    config = otel.build_config(spec)
    rule = config["receivers"]["prometheus"]["config"]["scrape_configs"][0]["metric_relabel_configs"][0]
    rule["regex"] = rule["regex"].replace("|scheduler_job_.*", "")
    msg = only_problem(config, required_prefixes=otel.required_prefixes_for(spec))
    assert msg.startswith("receivers.prometheus scrape job 'crawlinghub-scheduler-metrics': metric_relabel_configs[0]")
    assert "drops metrics with prefix 'scheduler_job_' (e.g. scheduler_job_sample_total)" in msg
    assert "add 'scheduler_job_.*' to the keep regex" in msg and '"No data"' in msg


def test_keep_regex_is_tested_by_matching_not_by_substring():
    # 'crawlinghub' occurs in the regex, but only as 'xcrawlinghub_.*': no crawlinghub_ metric survives.
    config = build()
    rule = config["receivers"]["prometheus"]["config"]["scrape_configs"][0]["metric_relabel_configs"][0]
    rule["regex"] = rule["regex"].replace("crawlinghub_.*", "xcrawlinghub_.*")
    assert "crawlinghub" in rule["regex"]
    assert "prefix 'crawlinghub_'" in only_problem(config, required_prefixes=[PROJECT])
    # a regex that holds every prefix in another shape passes
    rule["regex"] = "(http|jvm|process|system|application|business|spring|hikaricp|crawlinghub)_.+"
    assert problems_of(config, required_prefixes=[PROJECT]) == []


def test_default_prefix_dropped_by_keep_regex():
    config = build()
    rule = config["receivers"]["prometheus"]["config"]["scrape_configs"][0]["metric_relabel_configs"][0]
    rule["regex"] = rule["regex"].replace("hikaricp_.*|", "")
    assert "prefix 'hikaricp_'" in only_problem(config, required_prefixes=[PROJECT])
    assert problems_of(config, required_prefixes=[PROJECT], default_prefixes=()) == []


def test_drop_rule_and_bad_regex():
    config = build()
    job = config["receivers"]["prometheus"]["config"]["scrape_configs"][0]
    job["metric_relabel_configs"].append({"source_labels": ["__name__"], "regex": "jvm_.*", "action": "drop"})
    assert "metric_relabel_configs[1] (drop regex 'jvm_.*') drops metrics with prefix 'jvm_'" in only_problem(
        config, required_prefixes=[PROJECT])
    job["metric_relabel_configs"] = [{"source_labels": ["__name__"], "regex": "(http_.*", "action": "keep"}]
    assert "regex '(http_.*' does not compile" in only_problem(config, required_prefixes=[PROJECT])


def test_keep_regex_is_compiled_as_re2_not_python_re():
    """RE2 takes a flag group in mid-pattern (Python's re refuses it): Prometheus keeps
    HTTP_server_requests_seconds_count with this regex, so nothing is reported."""
    config = build()
    job = config["receivers"]["prometheus"]["config"]["scrape_configs"][0]
    regex = job["metric_relabel_configs"][0]["regex"]
    job["metric_relabel_configs"][0]["regex"] = "x(?i)y|" + regex
    assert problems_of(config, required_prefixes=[PROJECT]) == []


def test_filter_processor_must_keep_prefixes():
    config = build()
    config["processors"]["filter/keep"] = {"metrics": {"include": {"match_type": "regexp", "metric_names": ["^jvm_.*"]}}}
    config["service"]["pipelines"]["metrics"]["processors"].insert(1, "filter/keep")
    problems = problems_of(config, required_prefixes=[PROJECT])
    assert "processors.filter/keep: metrics.include does not match prefix 'crawlinghub_' (e.g. crawlinghub_sample_total)" in problems[-1]
    # every prefix of the seed template's keep regex but jvm_, each its own message (counted from the
    # fixture, not from the code's own constant)
    seed_job = yaml.safe_load(FIXTURE.read_text())["receivers"]["prometheus"]["config"]["scrape_configs"][0]
    seed_prefixes = [p[:-2] for p in seed_job["metric_relabel_configs"][0]["regex"].strip("()").split("|")]
    assert len(problems) == len([p for p in seed_prefixes if p != "jvm_"]) == 8
    config["processors"]["filter/keep"] = {"metrics": {"exclude": {"match_type": "strict",
                                                                   "metric_names": ["http_sample_total"]}}}
    assert "metrics.exclude drops prefix 'http_'" in only_problem(config, required_prefixes=[PROJECT])


def test_collector_self_scrape_is_rejected():
    config = build()
    config["receivers"]["prometheus"]["config"]["scrape_configs"].append(
        {"job_name": "otel-collector", "static_configs": [{"targets": ["localhost:8888"]}]})
    msg = only_problem(config, required_prefixes=[PROJECT])
    assert msg.startswith("receivers.prometheus scrape job 'otel-collector' scrapes the collector's own metrics "
                          "(localhost:8888)")
    assert "awsecscontainermetrics" in msg


def test_resourcedetection_with_ecs_detector_is_required_on_ecs():
    config = build()
    config["processors"]["resourcedetection"]["detectors"] = ["env"]
    msg = only_problem(config, required_prefixes=[PROJECT])
    assert msg.startswith("processors.resourcedetection: detectors ['env'] lack 'ecs'")
    assert "out of order sample" in msg
    assert problems_of(config, required_prefixes=[PROJECT], on_ecs=False) == []


def test_missing_resourcedetection_on_ecs():
    config = build(traces=False)
    del config["processors"]["resourcedetection"]
    config["service"]["pipelines"]["metrics"]["processors"].remove("resourcedetection")
    msg = only_problem(config, required_prefixes=[PROJECT])
    assert msg.startswith("service.pipelines.metrics scrapes Prometheus targets on ECS without a "
                          "resourcedetection processor")
    assert problems_of(config, required_prefixes=[PROJECT], on_ecs=False) == []


@pytest.mark.parametrize("key, value, word", [
    ("environment", "prod", "prod"),
    ("cluster_name", "fileflow-cluster-prod", "prod"),
    ("deployment.environment", "loadtest", "loadtest"),
    ("environment", "production", "production"),
    ("tier", "stage", "stage"),
])
def test_hard_coded_environment_names(key, value, word):
    config = build()
    config["processors"]["resource"]["attributes"].append({"key": key, "value": value, "action": "upsert"})
    msg = only_problem(config, required_prefixes=[PROJECT])
    assert msg.startswith("processors.resource.attributes[3] (%s: %r): hard-coded environment name %s"
                          % (key, value, word)), msg


def test_environment_key_with_a_literal_value_is_flagged_too():
    config = build()
    config["processors"]["resource"]["attributes"][1]["value"] = "crawlinghub-cluster"
    assert "take it from ${env:CLUSTER_NAME}" in only_problem(config, required_prefixes=[PROJECT])


def test_every_problem_is_reported_at_once():
    config = build()
    config["processors"]["resource"]["attributes"][0]["value"] = "$ENVIRONMENT"
    config["processors"]["resourcedetection"]["detectors"] = ["env"]
    config["service"]["pipelines"]["metrics"]["receivers"].append("zipkin")
    assert len(problems_of(config, required_prefixes=[PROJECT, "missing_prefix_"])) == 4


# ---------------------------------------------------------------------------- render


def test_render_is_stable_and_independent_of_input_key_order():
    config = build()
    shuffled = yaml.safe_load(yaml.safe_dump(config, sort_keys=True))
    reversed_top = dict(reversed(list(copy.deepcopy(config).items())))
    assert otel.render_yaml(config) == otel.render_yaml(shuffled) == otel.render_yaml(reversed_top)
    assert otel.render_yaml(config, header="h") == otel.render_yaml(build(), header="h")
    text = otel.render_yaml(config, header="ADOT collector config\nline two")
    assert text.startswith("# ADOT collector config\n# line two\nextensions:\n")
    assert list(yaml.safe_load(text)) == ["extensions", "receivers", "processors", "exporters", "service"]
    # processors keep their pipeline order (order matters to the collector)
    assert yaml.safe_load(text)["service"]["pipelines"]["metrics"]["processors"][0] == "memory_limiter"


def test_render_compact_is_one_line_yaml_of_the_same_config():
    config = build()
    compact = otel.render_compact(config)
    assert "\n" not in compact
    assert yaml.safe_load(compact) == config


def test_parse_config_and_s3_uri():
    assert otel.parse_config("a: 1\n") == {"a": 1}
    with pytest.raises(ValueError, match="must be a YAML mapping"):
        otel.parse_config("- 1\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        otel.parse_config("a: [")
    assert otel.s3_config_uri("b", "ap-northeast-2", "otel-config/x/otel-config.yaml") == (
        "s3://b.s3.ap-northeast-2.amazonaws.com/otel-config/x/otel-config.yaml")
    assert otel.sha256("x") == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"


def test_real_collector_validates_the_built_config(tmp_path):
    """Runs only where otelcol-contrib is on PATH; none ships on this machine (components.md), and
    aws-otel-collector has no validate command."""
    binary = shutil.which("otelcol-contrib")
    if not binary:
        pytest.skip("no otelcol-contrib on PATH: validate_config() above is the only check of the ADOT config here")
    path = tmp_path / "config.yaml"
    path.write_text(otel.render_yaml(build()))
    env = dict(os.environ, ENVIRONMENT="test", CLUSTER_NAME="c", AWS_REGION="eu-west-1",
               AMP_ENDPOINT="https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws/api/v1/remote_write")
    proc = subprocess.run([binary, "validate", "--config", str(path)], capture_output=True, text=True,
                          timeout=60, env=env, check=False)
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------------------- bad build options (item 19)


@pytest.mark.parametrize("option, value, fragment", [
    ("scrape_interval", "thirty", "scrape_interval: 'thirty' is not a duration"),
    ("scrape_interval", "30 seconds", "scrape_interval: '30 seconds' is not a duration"),
    ("scrape_interval", "0s", "scrape_interval: '0s' is not a duration"),
    ("scrape_interval", "2d", "scrape_interval: '2d' is not a duration"),  # not Go's grammar (ECS metrics)
    ("scrape_timeout", "1m", "scrape_timeout: 1m is longer than scrape_interval 30s"),
    ("memory_limit_mib", -5, "memory_limit_mib: must be a positive number of MiB, got -5"),
    ("memory_spike_limit_mib", 500, "memory_spike_limit_mib: 500 must be below memory_limit_mib 410"),
    ("memory_spike_limit_mib", -1, "memory_spike_limit_mib: must be zero or a positive number"),
    ("amp_endpoint", "", "amp_endpoint: '' is neither an https:// URL"),
    ("amp_endpoint", "aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write",
     "amp_endpoint: 'aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write' is neither"),
    ("amp_region", "eu-west1", "amp_region: 'eu-west1' is not an AWS region"),
    ("amp_region", "", "amp_region: '' is not an AWS region"),
    ("service", "web api", "service: 'web api' may hold only letters"),
    ("project", "crawling hub", "project: 'crawling hub' may hold only letters"),
    ("job_name", "my job", "job_name: 'my job' may hold only letters"),
])
def test_bad_build_option_is_refused_naming_it(option, value, fragment):
    spec = {"project": PROJECT, "service": "web-api", option: value}
    with pytest.raises(otel.SpecError) as info:
        otel.build_config(spec)
    assert fragment in str(info.value)
    assert otel.spec_problems(spec) == [str(info.value)]


def test_good_build_options_pass():
    spec = {"project": PROJECT, "service": "web-api", "scrape_interval": "1m30s", "scrape_timeout": "1m",
            "memory_limit_mib": 512, "memory_spike_limit_mib": 0, "amp_region": "ap-northeast-2",
            "amp_endpoint": "https://aps-workspaces.ap-northeast-2.amazonaws.com/workspaces/ws-1/api/v1/remote_write"}
    assert otel.spec_problems(spec) == []
    assert otel.spec_problems({"project": PROJECT, "service": "web-api"}) == []


# ---------------------------------------------------------------------------- hard-coded environments (item 19)


def test_hard_coded_environment_in_scrape_labels_and_relabel_replacements():
    config = build()
    job = config["receivers"]["prometheus"]["config"]["scrape_configs"][0]
    job["static_configs"][0]["labels"] = {"env": "prod", "team": "crawling"}
    job["relabel_configs"] = [{"target_label": "environment", "replacement": "staging"},
                              {"source_labels": ["__address__"], "target_label": "instance", "replacement": "$$1"}]
    problems = otel.hardcoded_environment_problems(config)
    assert problems == [
        "receivers.prometheus scrape job 'crawlinghub-web-api-metrics' static_configs[0].labels (env: 'prod'): "
        "hard-coded environment name prod; one config serves every environment, so take it from ${env:ENVIRONMENT}",
        "receivers.prometheus scrape job 'crawlinghub-web-api-metrics' relabel_configs[0] (environment: 'staging'): "
        "hard-coded environment name staging; one config serves every environment, so take it from ${env:ENVIRONMENT}",
    ]
    assert set(problems) <= set(problems_of(config, required_prefixes=[PROJECT]))


def test_hard_coded_environment_in_metricstransform_actions():
    config = build()
    transforms = config["processors"]["metricstransform"]["transforms"]
    transforms[0]["operations"].append({"action": "add_label", "new_label": "deployment.environment",
                                        "new_value": "production"})
    transforms.append({"include": "http_requests_total", "action": "update", "operations": [
        {"action": "update_label", "label": "stage", "value_actions": [{"value": "x", "new_value": "dev"}]}]})
    transforms.append({"include": "jvm_gc", "action": "insert", "new_name": "jvm_gc_prod"})
    problems = otel.hardcoded_environment_problems(config)
    assert [p.split(" (")[0] for p in problems] == [
        "processors.metricstransform.transforms[0].operations[1]",
        "processors.metricstransform.transforms[1].operations[0].value_actions[0]",
        "processors.metricstransform.transforms[2]",
    ]
    assert "hard-coded environment name production" in problems[0]
    assert "hard-coded environment name prod" in problems[2]


def test_hard_coded_environment_check_takes_the_callers_environment_names():
    config = build()
    config["processors"]["resource"]["attributes"].append({"key": "tier", "value": "blue", "action": "upsert"})
    assert otel.hardcoded_environment_problems(config) == []
    [problem] = otel.hardcoded_environment_problems(config, environments=["Blue", "green"])
    assert problem.startswith("processors.resource.attributes[3] (tier: 'blue'): hard-coded environment name blue")
    # the built config itself names no environment (platform=ecs is not one)
    assert otel.hardcoded_environment_problems(build()) == []


# ---------------------------------------------------------------------------- credentials (item 4)

TOKEN = "s3ntinel-adot-token-93f1"


def test_literal_credentials_are_found_and_masked_substitutions_are_kept():
    config = build()
    config["exporters"]["otlphttp/vendor"] = {"endpoint": "https://otlp.example.com",
                                              "headers": {"Authorization": "Bearer " + TOKEN,
                                                          "X-Tenant": "${env:TENANT}"}}
    config["extensions"]["bearertokenauth"] = {"token": "${env:OTLP_TOKEN}"}
    config["extensions"]["basicauth/client"] = {"client_auth": {"username": "u", "password": TOKEN}}
    config["exporters"]["otlphttp/env"] = {"endpoint": "https://x", "headers": {"authorization": "Bearer ${env:T}"}}
    assert otel.literal_credentials(config) == ["exporters.otlphttp/vendor.headers.Authorization",
                                                "extensions.basicauth/client.client_auth.password"]
    masked = otel.mask_secrets(config)
    text = otel.render_yaml(masked) + otel.render_compact(masked)
    assert TOKEN not in text
    assert masked["exporters"]["otlphttp/vendor"]["headers"] == {"Authorization": "********", "X-Tenant": "${env:TENANT}"}
    assert masked["extensions"]["bearertokenauth"] == {"token": "${env:OTLP_TOKEN}"}
    assert masked["exporters"]["otlphttp/env"]["headers"] == {"authorization": "Bearer ${env:T}"}
    assert TOKEN in otel.render_yaml(config), "the config itself is left as it is"
    assert otel.literal_credentials(build()) == [] and otel.mask_secrets(build()) == build()


def test_mask_unlike_shows_only_what_the_new_config_repeats():
    """The before of a SecureString: a value the new config does not hold at the same place,
    whatever its key, is masked (the sentinel test's old value was `previous: <secret>`)."""
    old = {"previous": "SENTINEL-old", "exporters": {"otlp": {"endpoint": "https://a", "x": ["1", "2"]}}}
    new = {"exporters": {"otlp": {"endpoint": "https://a", "x": ["1"]}}}
    assert otel.mask_unlike(old, new) == {
        "previous": otel.MASK, "exporters": {"otlp": {"endpoint": "https://a", "x": ["1", otel.MASK]}}}


# ---------------------------------------------------------------------------- traces to Tempo (OTLP)


def test_traces_to_tempo_by_otlp_instead_of_xray_literal():
    config = build(traces_exporter="otlp", traces_otlp_endpoint="tempo.monitoring.internal:4317",
                   traces_otlp_insecure=True, ecs_container_metrics=False)
    text = otel.render_yaml({"exporters": {"otlp": config["exporters"]["otlp"]},
                             "service": {"pipelines": {"traces": config["service"]["pipelines"]["traces"]}}})
    assert text == """\
exporters:
  otlp:
    endpoint: tempo.monitoring.internal:4317
    tls:
      insecure: true
service:
  pipelines:
    traces:
      receivers:
        - otlp
      processors:
        - memory_limiter
        - resourcedetection
        - resource
        - batch
      exporters:
        - otlp
"""
    assert "awsxray" not in config["exporters"]
    assert problems_of(config) == []


def test_traces_otlp_with_tls_and_a_ca_file():
    config = build(traces_exporter="otlp", traces_otlp_endpoint="tempo.example.com:4317",
                   traces_otlp_ca_file="/etc/ssl/tempo-ca.pem")
    assert config["exporters"]["otlp"] == {"endpoint": "tempo.example.com:4317",
                                           "tls": {"insecure": False, "ca_file": "/etc/ssl/tempo-ca.pem"}}


def test_traces_exporter_defaults_to_xray():
    config = build()
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["awsxray"]
    assert "otlp" not in config["exporters"]


@pytest.mark.parametrize("spec, message", [
    ({"traces_exporter": "jaeger"}, "traces_exporter: must be xray or otlp, got 'jaeger'"),
    ({"traces_exporter": "otlp"}, "traces_otlp_endpoint: required with traces_exporter otlp (host:port of Tempo's "
                                  "OTLP gRPC receiver, e.g. tempo.internal:4317)"),
    ({"traces_exporter": "otlp", "traces_otlp_endpoint": "http://tempo:4318"},
     "traces_otlp_endpoint: must be host:port (gRPC), got 'http://tempo:4318'"),
    ({"traces_exporter": "otlp", "traces_otlp_endpoint": "tempo:4317", "traces_otlp_insecure": True,
      "traces_otlp_ca_file": "/ca.pem"},
     "traces_otlp_ca_file: a CA file needs TLS (traces_otlp_insecure false)"),
])
def test_traces_exporter_bad_input(spec, message):
    assert otel.spec_problems(dict(spec, project=PROJECT, service="web-api")) == [message]
