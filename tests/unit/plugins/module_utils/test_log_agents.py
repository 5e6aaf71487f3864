"""The shared log agent model: inputs -> problems -> model -> Promtail YAML / Alloy syntax.

Neither Promtail nor Alloy exists on this machine, so their own checkers (promtail -check-syntax,
alloy validate) cannot run here: each config is checked by the collection's structural
validators, and the tests below also prove those validators reject broken configs. When a binary
is on PATH, the last tests run it on the rendered config; otherwise they are skipped, visibly.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils import log_agents as la

PUSH = "http://127.0.0.63:3100/loki/api/v1/push"


def _inputs(**overrides):
    inputs = {
        "agent": "alloy", "role": "alloy", "prefix": "alloy", "environment": "prod", "host": "app-1",
        "push_url": PUSH,
        "files": [
            {"path": "/var/log/photogather/*.log", "service": "photogather-api", "labels": {"team": "photo"}},
            {"path": "/home/ubuntu/worker/logs/app.log", "service": "worker"},
        ],
        "journal": True, "journal_max_age": "12h", "stages": None, "labels": {"region": "ap-northeast-2"},
    }
    inputs.update(overrides)
    return inputs


@pytest.fixture
def model():
    assert la.input_problems(_inputs()) == []
    return la.model(_inputs())


# ---------------------------------------------------------------------------- inputs


def test_representative_inputs_have_no_problems():
    assert la.input_problems(_inputs()) == []
    assert la.input_problems(_inputs(agent="promtail", role="promtail", prefix="promtail")) == []


@pytest.mark.parametrize("overrides, expected", [
    ({"agent": "fluentd"}, "monitoring_log_agent: unknown log agent 'fluentd'"),
    ({"agent": "promtail"}, "monitoring_log_agent: this host runs promtail, but the monitoring.stack.alloy role"),
    ({"environment": ""}, "alloy_environment: required"),
    ({"push_url": ""}, "alloy_loki_push_url: required"),
    ({"push_url": "loki:3100"}, "alloy_loki_push_url: must be an http(s) URL"),
    ({"files": [{"path": "logs/app.log", "service": "web"}]}, "alloy_log_files[0].path: must be an absolute path"),
    ({"files": [{"service": "web"}]}, "alloy_log_files[0].path: required"),
    ({"files": [{"path": "/a.log"}]}, "alloy_log_files[0].service: required"),
    ({"files": [{"path": "/a.log", "service": "web", "label": {}}]}, "alloy_log_files[0]: unknown keys label"),
    ({"files": [{"path": "/a.log", "service": "web-api"}, {"path": "/b.log", "service": "web_api"}]},
     "alloy_log_files[1].service: 'web_api' collides with alloy_log_files[0].service"),
    ({"files": [{"path": "/a.log", "service": "web", "labels": {"bad-name": "x"}}]},
     "alloy_log_files[0].labels: 'bad-name' is not a valid label name"),
    ({"files": [{"path": "/a.log", "service": "web", "labels": {"service": "x"}}]},
     "alloy_log_files[0].labels: 'service' is set by the role"),
    ({"labels": {"__meta": "x"}}, "alloy_labels: '__meta' is not a valid label name"),
    ({"journal_max_age": "twelve hours"}, "alloy_journal_max_age: must be a duration"),
    ({"files": [], "journal": False}, "nothing to collect"),
    ({"stages": [{"type": "grok"}]}, "alloy_log_stages[0]: type must be one of"),
    ({"stages": [{"type": "regex", "expression": "(?P<level"}]}, "alloy_log_stages[0].expression: does not compile"),
    ({"stages": [{"type": "regex", "expression": "INFO"}]}, "has no named group"),
    ({"stages": [{"type": "labels", "names": ["level"]}]},
     "alloy_log_stages[0].names: 'level' is not extracted by an earlier regex or json stage"),
])
def test_bad_inputs_name_the_variable(overrides, expected):
    problems = la.input_problems(_inputs(**overrides))
    assert any(expected in p for p in problems), problems


def test_promtail_relative_path_names_promtail_variable():
    problems = la.input_problems(_inputs(agent="promtail", role="promtail", prefix="promtail",
                                         files=[{"path": "var/log/app.log", "service": "web"}]))
    assert problems == ["promtail_log_files[0].path: must be an absolute path, got 'var/log/app.log' "
                        "(agents resolve relative paths against their own working directory)"]


def test_model_labels_and_defaults(model):
    files = [s for s in model["sources"] if s["kind"] == "file"]
    assert [f["name"] for f in files] == ["photogather_api", "worker"]
    assert files[0]["labels"] == {"team": "photo", "service": "photogather-api", "job": "photogather-api"}
    assert model["external_labels"] == {"region": "ap-northeast-2", "environment": "prod", "host": "app-1"}
    assert model["stages"] == la.DEFAULT_STAGES
    assert model["reads_home"] is True
    assert la.model(_inputs(files=[{"path": "/var/log/a.log", "service": "a"}]))["reads_home"] is False


def test_default_stages_extract_level_and_trace_id_from_spring_boot_lines():
    level = re.compile(la.DEFAULT_STAGES[0]["expression"])
    trace = re.compile(la.DEFAULT_STAGES[1]["expression"])
    line = ("2025-09-17T10:15:30.123+09:00  WARN 4321 --- [photogather] [nio-8080-exec-1] "
            "c.p.api.PhotoController : upload slow traceId=4bf92f3577b34da6a3ce929d0e0e4736 took=2100ms")
    assert level.search(line).group("level") == "WARN"
    assert trace.search(line).group("traceId") == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert level.search("2025-09-17 10:15:30.123 ERROR 1 --- [main] boom").group("level") == "ERROR"
    assert trace.search("2025-09-17 INFO no trace here") is None


# ---------------------------------------------------------------------------- Promtail


def test_promtail_config_is_valid_and_complete(model):
    cfg = la.promtail_config(model, listen_address="127.0.0.62:9080", positions_file="/var/lib/promtail/positions.yaml")
    assert la.validate_promtail(cfg) == []
    assert cfg["server"] == {"http_listen_address": "127.0.0.62", "http_listen_port": 9080,
                             "grpc_listen_port": 0, "log_level": "info"}
    assert cfg["positions"] == {"filename": "/var/lib/promtail/positions.yaml"}
    labels = {"region": "ap-northeast-2", "environment": "prod", "host": "app-1"}
    assert cfg["clients"] == [{"url": PUSH, "external_labels": labels}]
    web = cfg["scrape_configs"][0]
    assert web["job_name"] == "photogather_api"
    assert web["static_configs"][0]["labels"]["__path__"] == "/var/log/photogather/*.log"
    assert [list(s)[0] for s in web["pipeline_stages"]] == ["regex", "regex", "labels", "structured_metadata"]
    assert web["pipeline_stages"][2] == {"labels": {"level": ""}}
    journal = cfg["scrape_configs"][2]
    assert journal["journal"] == {"max_age": "12h", "labels": {"job": "systemd-journal"}}
    assert journal["relabel_configs"][0]["source_labels"] == ["__journal__systemd_unit"]
    # It survives a YAML round trip unchanged (what the role writes with to_nice_yaml).
    assert yaml.safe_load(yaml.safe_dump(cfg)) == cfg


def test_promtail_ipv6_listen_address(model):
    cfg = la.promtail_config(model, listen_address="[::1]:9080")
    assert cfg["server"]["http_listen_address"] == "::1"


@pytest.mark.parametrize("mutate, expected", [
    (lambda c: c.pop("clients"), "clients: at least one client is required"),
    (lambda c: c["clients"][0].update(url="loki:3100"), "clients[0].url: must be an http(s) URL"),
    (lambda c: c["positions"].update(filename="positions.yaml"), "positions.filename: must be an absolute path"),
    (lambda c: c["scrape_configs"][1].update(job_name="photogather_api"), "scrape_configs[1].job_name: 'photogather_api' is used twice"),
    (lambda c: c["scrape_configs"][0]["static_configs"][0]["labels"].update(__path__="app/*.log"),
     "scrape_configs[0].static_configs[0].labels.__path__: must be an absolute path"),
    (lambda c: c["scrape_configs"][0].update(journal={}), "needs exactly one of static_configs or journal"),
    (lambda c: c["scrape_configs"][0]["pipeline_stages"].pop(0), "'level' is not extracted by an earlier stage"),
    (lambda c: c["scrape_configs"][0]["pipeline_stages"].append({"grok": {}}), "unsupported stage 'grok'"),
    (lambda c: c["server"].update(http_listen_port=99999), "server.http_listen_port: must be a port number"),
    (lambda c: c.update(scrape_config=[]), "config: unknown top-level keys scrape_config"),
])
def test_promtail_validator_rejects_broken_configs(model, mutate, expected):
    cfg = la.promtail_config(model)
    mutate(cfg)
    problems = la.validate_promtail(cfg)
    assert any(expected in p for p in problems), problems


# ---------------------------------------------------------------------------- Alloy syntax


@pytest.mark.parametrize("value, rendered", [
    ("plain", '"plain"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("C:\\logs\\app.log", '"C:\\\\logs\\\\app.log"'),
    ("a\nb\tc", '"a\\nb\\tc"'),
    ("\x01", '"\\u0001"'),
    ("한국어 로그", '"한국어 로그"'),
])
def test_alloy_strings_are_escaped_and_parse_back(value, rendered):
    assert la.alloy_string(value) == rendered
    (block,) = la.parse_alloy('logging {\n  level = %s\n}\n' % rendered)
    assert block.attrs()["level"] == value


def test_alloy_values_round_trip():
    value = {"a b": [1, 2.5, True, None, "x"], "nested": {"k": ["v"]}, "ref": la.Ref("loki.write.default.receiver")}
    text = la.render_alloy([la.Block("logging", body=[("v", value)])])
    (block,) = la.parse_alloy(text)
    assert block.attrs()["v"] == value


def test_alloy_config_is_valid_and_complete(model):
    text = la.alloy_config(model, remote_write_url="http://127.0.0.64:9090/api/v1/write",
                           sigv4={"region": "ap-northeast-2", "role_arn": ""})
    assert la.validate_alloy(text) == []
    blocks = {(b.name, b.label): b for b in la.parse_alloy(text)}
    assert set(blocks) == {
        ("logging", None), ("local.file_match", "photogather_api"), ("loki.source.file", "photogather_api"),
        ("local.file_match", "worker"), ("loki.source.file", "worker"), ("loki.process", "files"),
        ("loki.relabel", "journal"), ("loki.source.journal", "journal"), ("loki.write", "default"),
        ("prometheus.exporter.unix", "host"), ("prometheus.scrape", "host"), ("prometheus.remote_write", "default"),
    }
    assert blocks[("loki.source.file", "worker")].attrs()["targets"] == la.Ref("local.file_match.worker.targets")
    process = blocks[("loki.process", "files")]
    assert [b.name for b in process.blocks()] == ["stage.regex", "stage.regex", "stage.labels", "stage.structured_metadata"]
    assert process.blocks()[0].attrs()["expression"] == la.DEFAULT_STAGES[0]["expression"]
    rw = blocks[("prometheus.remote_write", "default")].blocks("endpoint")[0]
    assert rw.attrs()["url"] == "http://127.0.0.64:9090/api/v1/write"
    # Empty SigV4 settings are left out, not rendered as "".
    assert rw.blocks("sigv4")[0].attrs() == {"region": "ap-northeast-2"}


def test_alloy_without_remote_write_renders_no_metrics(model):
    text = la.alloy_config(model, host_metrics=True, remote_write_url="")
    assert la.validate_alloy(text) == []
    assert "prometheus." not in text


def test_alloy_without_sigv4_has_no_sigv4_block(model):
    text = la.alloy_config(model, remote_write_url="https://aps.example/api/v1/remote_write")
    assert "sigv4" not in text


def test_alloy_journal_only(model):
    mdl = la.model(_inputs(files=[]))
    text = la.alloy_config(mdl)
    assert la.validate_alloy(text) == []
    assert "loki.process" not in text and "loki.source.journal" in text


@pytest.mark.parametrize("text, expected", [
    ('logging {\n  level = "info"\n', "syntax: line 3: expected ident, got 'end of file'"),
    ('logging {\n  level = "a\\qb"\n}\n', "unknown escape \\q"),
    ('loki.write "default" {\n  endpoint {\n    url = "http://l/push"\n  }\n}\n'
     'loki.write "default" {\n  endpoint {\n    url = "http://l/push"\n  }\n}\n', 'loki.write "default": defined twice'),
    ('loki.source.file "a" {\n  targets = []\n}\n', 'loki.source.file "a": missing required argument forward_to'),
    ('loki.write "default" { }\n', 'loki.write "default": missing required block endpoint'),
    ('loki.write "default" {\n  endpoint {\n    url = "loki:3100"\n  }\n}\n', "endpoint.url must be an http(s) URL"),
    ('loki.process "p" {\n  forward_to = [loki.write.nope.receiver]\n}\n',
     "forward_to = loki.write.nope.receiver refers to nothing defined"),
    ('loki.process "p" {\n  forward_to = []\n  stage.grok { }\n}\n', "unsupported block stage.grok"),
    ('local.file_match "a" {\n  path_targets = [{"__path__" = "logs/*.log"}]\n}\n', "__path__ must be an absolute path"),
    ('otelcol.receiver.jaeger "a" { }\n', "unknown component"),
    ('loki.relabel {\n  forward_to = []\n}\n', "a component needs a label"),
    ('loki.relabel "my-label" {\n  forward_to = []\n}\n', "block label 'my-label' must be an identifier"),
])
def test_alloy_validator_rejects_broken_configs(text, expected):
    problems = la.validate_alloy(text)
    assert any(expected in p for p in problems), problems


# ---------------------------------------------------------------------------- the switch


@pytest.mark.parametrize("stages", [None, [
    {"type": "json", "expressions": {"level": "level", "traceId": "trace.id", "msg": "message"}},
    {"type": "labels", "names": ["level"]},
    {"type": "structured_metadata", "names": ["traceId"]},
    {"type": "static_labels", "values": {"format": "json"}},
]], ids=["default-stages", "json-stages"])
def test_promtail_and_alloy_describe_the_same_collection(stages):
    """Switching monitoring_log_agent changes the agent, not what is collected or how it is labelled."""
    # (The two models are equal by construction: the model does not depend on the agent. What each
    # agent is given is pinned by the literal configs of the two tests below.)
    promtail = la.model(_inputs(agent="promtail", role="promtail", prefix="promtail", stages=stages))
    alloy = la.model(_inputs(stages=stages))
    from_promtail = la.describe_promtail(la.promtail_config(promtail))
    from_alloy = la.describe_alloy(la.alloy_config(alloy, remote_write_url="http://127.0.0.64:9090/api/v1/write"))
    assert from_promtail == from_alloy
    # ... and the description is the inputs, not an empty shape that happens to match.
    assert [f["path"] for f in from_alloy["files"]] == ["/home/ubuntu/worker/logs/app.log", "/var/log/photogather/*.log"]
    assert from_alloy["files"][1]["labels"] == {"team": "photo", "service": "photogather-api", "job": "photogather-api"}
    assert from_alloy["external_labels"] == {"region": "ap-northeast-2", "environment": "prod", "host": "app-1"}
    assert [s["type"] for s in from_alloy["files"][0]["stages"]] == [s["type"] for s in (stages or la.DEFAULT_STAGES)]
    assert from_alloy["journal"]["relabel"][0]["target_label"] == "service"
    assert from_alloy["push_url"] == PUSH


# One file and the journal with the default stages, as each agent's documentation writes them:
# Promtail's "Configure Promtail" examples (static_configs with __path__, pipeline_stages regex /
# labels / structured_metadata, a journal scrape config with max_age, labels and
# relabel_configs), and Alloy's reference examples of local.file_match + loki.source.file,
# loki.process stages, loki.relabel "journal" + loki.source.journal (relabel_rules) and
# loki.write endpoint. Written by hand, not produced by the renderer.
_SMALL = dict(files=[{"path": "/var/log/photogather/*.log", "service": "photogather-api"}], labels={})

PROMTAIL_EXPECTED = r"""
server:
  http_listen_address: 127.0.0.1
  http_listen_port: 9080
  grpc_listen_port: 0
  log_level: info
positions:
  filename: /var/lib/promtail/positions.yaml
clients:
  - url: http://127.0.0.63:3100/loki/api/v1/push
    external_labels:
      environment: prod
      host: app-1
scrape_configs:
  - job_name: photogather_api
    static_configs:
      - targets: [localhost]
        labels:
          service: photogather-api
          job: photogather-api
          __path__: /var/log/photogather/*.log
    pipeline_stages:
      - regex:
          expression: '^\S+(?:\s\S+)?\s+(?P<level>TRACE|DEBUG|INFO|WARN|ERROR|FATAL)\b'
      - regex:
          expression: 'traceId[=:]\s*(?P<traceId>[0-9A-Fa-f-]{16,36})'
      - labels:
          level: ""
      - structured_metadata:
          traceId: ""
  - job_name: journal
    journal:
      max_age: 12h
      labels:
        job: systemd-journal
    relabel_configs:
      - source_labels: [__journal__systemd_unit]
        regex: '(.+?)(?:\.service)?'
        target_label: service
      - source_labels: [__journal__systemd_unit]
        target_label: unit
      - source_labels: [__journal_priority_keyword]
        target_label: level
"""

ALLOY_EXPECTED = r"""// Managed by monitoring.stack (Ansible): local changes are overwritten.

logging {
  level  = "info"
  format = "logfmt"
}

local.file_match "photogather_api" {
  path_targets = [
    {
      "__path__" = "/var/log/photogather/*.log",
      "job" = "photogather-api",
      "service" = "photogather-api",
    },
  ]
}

loki.source.file "photogather_api" {
  targets    = local.file_match.photogather_api.targets
  forward_to = [loki.process.files.receiver]
}

loki.process "files" {
  forward_to = [loki.write.default.receiver]

  stage.regex {
    expression = "^\\S+(?:\\s\\S+)?\\s+(?P<level>TRACE|DEBUG|INFO|WARN|ERROR|FATAL)\\b"
  }

  stage.regex {
    expression = "traceId[=:]\\s*(?P<traceId>[0-9A-Fa-f-]{16,36})"
  }

  stage.labels {
    values = {
      "level" = "",
    }
  }

  stage.structured_metadata {
    values = {
      "traceId" = "",
    }
  }
}

loki.relabel "journal" {
  forward_to = []

  rule {
    source_labels = ["__journal__systemd_unit"]
    regex         = "(.+?)(?:\\.service)?"
    target_label  = "service"
  }

  rule {
    source_labels = ["__journal__systemd_unit"]
    target_label  = "unit"
  }

  rule {
    source_labels = ["__journal_priority_keyword"]
    target_label  = "level"
  }
}

loki.source.journal "journal" {
  max_age       = "12h"
  labels        = {
    "job" = "systemd-journal",
  }
  relabel_rules = loki.relabel.journal.rules
  forward_to    = [loki.write.default.receiver]
}

loki.write "default" {
  endpoint {
    url = "http://127.0.0.63:3100/loki/api/v1/push"
  }

  external_labels = {
    "environment" = "prod",
    "host" = "app-1",
  }
}
"""


def test_promtail_config_is_the_documented_shape():
    mdl = la.model(_inputs(agent="promtail", role="promtail", prefix="promtail", **_SMALL))
    assert la.promtail_config(mdl) == yaml.safe_load(PROMTAIL_EXPECTED)


def test_alloy_config_is_the_documented_shape():
    mdl = la.model(_inputs(**_SMALL))
    assert la.alloy_config(mdl).lstrip("\n") == ALLOY_EXPECTED.lstrip("\n")


def test_describe_detects_a_difference():
    """The comparison above can fail: a changed label shows up."""
    mdl = la.model(_inputs())
    other = la.model(_inputs(labels={"region": "eu-west-1"}))
    assert la.describe_promtail(la.promtail_config(mdl)) != la.describe_alloy(la.alloy_config(other))


# ---------------------------------------------------------------------------- the real checkers


@pytest.mark.skipif(shutil.which("promtail") is None,
                    reason="promtail binary not available here (no package; Promtail reached end of life)")
def test_promtail_check_syntax_accepts_rendered_config(model, tmp_path):
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(la.promtail_config(model)))
    subprocess.run(["promtail", "-check-syntax", "-config.file=%s" % path], check=True, timeout=60)


@pytest.mark.skipif(shutil.which("alloy") is None, reason="alloy binary not available here (no package reachable)")
def test_alloy_validate_accepts_rendered_config(model, tmp_path):
    path = tmp_path / "config.alloy"
    path.write_text(la.alloy_config(model, remote_write_url="http://127.0.0.64:9090/api/v1/write",
                                    sigv4={"region": "ap-northeast-2"}))
    subprocess.run(["alloy", "validate", str(path)], check=True, timeout=60)


# ---------------------------------------------------------------------------- one duration rule


@pytest.mark.parametrize("value, accepted", [
    ("12h", True), ("1.5h", True), ("1h30m", True), ("90s", True), ("500ms", True),
    ("0", False), ("-5m", False), ("12 hours", False), ("1d", False), ("", False),
])
def test_journal_max_age_follows_gos_duration_syntax(value, accepted):
    """Promtail and Alloy parse max_age with Go's time.ParseDuration (common.go_duration_seconds):
    no day unit, decimals allowed; the role also refuses zero and negative ages."""
    problems = [p for p in la.input_problems(_inputs(journal_max_age=value)) if p.startswith("alloy_journal_max_age")]
    assert (problems == []) is accepted, problems


def test_the_split_modules_are_what_log_agents_exports():
    """module_utils/log_agents.py re-exports the four modules' names: callers keep one import."""
    from ansible_collections.monitoring.stack.plugins.module_utils import (
        alloy_config, alloy_syntax, log_agent_model, promtail_config)
    assert la.model is log_agent_model.model and la.input_problems is log_agent_model.input_problems
    assert la.promtail_config is promtail_config.promtail_config
    assert la.parse_alloy is alloy_syntax.parse_alloy and la.Block is alloy_syntax.Block
    assert la.alloy_config is alloy_config.alloy_config and la.validate_alloy is alloy_config.validate_alloy


# ---------------------------------------------------------------------------- traces to Tempo (Alloy)

TRACES = {"endpoint": "127.0.0.233:4317", "insecure": True,
          "grpc_listen_address": "127.0.0.1:4317", "http_listen_address": "127.0.0.1:4318"}


def test_alloy_traces_receiver_to_tempo_literal(model):
    text = la.alloy_config(model, traces=TRACES)
    assert la.validate_alloy(text) == []
    assert text.endswith('''
otelcol.receiver.otlp "default" {
  grpc {
    endpoint = "127.0.0.1:4317"
  }

  http {
    endpoint = "127.0.0.1:4318"
  }

  output {
    traces = [otelcol.exporter.otlp.tempo.input]
  }
}

otelcol.exporter.otlp "tempo" {
  client {
    endpoint = "127.0.0.233:4317"

    tls {
      insecure = true
    }
  }
}
''')


def test_alloy_traces_with_tls_ca_and_grpc_only(model):
    text = la.alloy_config(model, traces=dict(TRACES, insecure=False, ca_file="/etc/ssl/tempo-ca.pem",
                                              http_listen_address=""))
    assert la.validate_alloy(text) == []
    blocks = {(b.name, b.label): b for b in la.parse_alloy(text)}
    receiver = blocks[("otelcol.receiver.otlp", "default")]
    assert [b.name for b in receiver.blocks()] == ["grpc", "output"]
    tls = blocks[("otelcol.exporter.otlp", "tempo")].blocks("client")[0].blocks("tls")[0]
    assert tls.attrs() == {"insecure": False, "ca_file": "/etc/ssl/tempo-ca.pem"}


def test_alloy_without_traces_renders_no_otelcol(model):
    assert "otelcol." not in la.alloy_config(model)


@pytest.mark.parametrize("broken, message", [
    (('    traces = [otelcol.exporter.otlp.tempo.input]\n', '    traces = [otelcol.exporter.otlp.other.input]\n'),
     'otelcol.receiver.otlp "default": traces = otelcol.exporter.otlp.other.input refers to nothing defined'),
    (('    endpoint = "127.0.0.233:4317"\n', '    endpoint = "http://127.0.0.233:4317"\n'),
     'otelcol.exporter.otlp "tempo": client.endpoint must be host:port (gRPC), got \'http://127.0.0.233:4317\''),
    (('  output {\n    traces = [otelcol.exporter.otlp.tempo.input]\n  }\n', ''),
     'otelcol.receiver.otlp "default": missing required block output'),
])
def test_alloy_validator_rejects_broken_traces(model, broken, message):
    text = la.alloy_config(model, traces=TRACES)
    old, new = broken
    assert old in text
    problems = la.validate_alloy(text.replace(old, new))
    assert any(p.startswith(message) for p in problems), problems
