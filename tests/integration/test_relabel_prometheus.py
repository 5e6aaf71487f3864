"""plugins/module_utils/relabel.py against the oracle: a real Prometheus.

One Prometheus (the installed binary) scrapes a loopback HTTP server that exposes a fixed set of
series, once per case: every case is a scrape job with its own ``metric_relabel_configs``. After
the first scrape of every job, the series Prometheus stored are compared with what relabel.py
computes for the same input. ``promtool check config`` checks every config written here, and
the configs relabel.py refuses must be the ones promtool refuses.
"""

from __future__ import annotations

import http.server
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from ansible_collections.monitoring.stack.plugins.module_utils import relabel
from tests.support.playbook import REPO

pytestmark = pytest.mark.slow

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")

# The exposition the test server serves: name, labels, value.
EXPOSED = [
    ("http_requests_total", {"method": "GET", "code": "200"}, 1),
    ("http_requests_total", {"method": "POST", "code": "500"}, 2),
    ("http_request_duration_seconds_bucket", {"le": "0.1"}, 1),
    ("http_request_duration_seconds_bucket", {"le": "+Inf"}, 2),
    ("http_request_duration_seconds_count", {}, 2),
    ("http_request_duration_seconds_sum", {}, 0.5),
    ("jvm_threads_live_threads", {}, 10),
    ("hikaricp_connections_active", {"pool": "HikariPool-1"}, 3),
    ("node_cpu_seconds_total", {"cpu": "0", "mode": "idle"}, 1),
    ("go_goroutines", {}, 5),
    ("MixedCase_metric", {"Path": "/A/b"}, 1),
]
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling",
             "scrape_series_added"}

# name -> metric_relabel_configs. Job names stay intact: series are attributed to cases by job.
CASES = {
    "drop_name_le_any": [{"source_labels": ["__name__", "le"], "regex": ".*", "action": "drop"}],
    "drop_absent_label_any": [{"source_labels": ["le"], "regex": ".*", "action": "drop"}],
    "drop_one_bucket": [{"source_labels": ["__name__", "le"], "regex": r"http_request_duration_seconds_bucket;0\.1",
                         "action": "drop"}],
    "keep_prefixes": [{"source_labels": ["__name__"], "regex": "(http_.*|jvm_.*)", "action": "keep"}],
    "keep_the_prometheus_role_way": [{"source_labels": ["__name__"], "regex": "(?:http_.*)|(?:jvm_.*)",
                                      "action": "keep"}],
    "keep_is_anchored": [{"source_labels": ["__name__"], "regex": "http_", "action": "keep"}],
    "keep_capitalised_action": [{"source_labels": ["__name__"], "regex": "go_.*", "action": "Keep"}],
    "drop_custom_separator": [{"source_labels": ["method", "code"], "separator": "/", "regex": "POST/5..",
                               "action": "drop"}],
    "replace_defaults": [{"source_labels": ["code"], "target_label": "status"}],
    "replace_named_groups": [{"source_labels": ["__name__"], "regex": "(?P<family>[a-z]+)_(.*)",
                              "target_label": "family", "replacement": "${family}-$2"}],
    "replace_ambiguous_reference_deletes": [{"source_labels": ["method"], "target_label": "method",
                                             "replacement": "$1x"}],
    "replace_no_match": [{"source_labels": ["method"], "regex": "nomatch", "target_label": "x", "replacement": "y"}],
    "replace_static": [{"target_label": "team", "replacement": "payments"}],
    "replace_target_template": [{"source_labels": ["__name__"], "regex": "(http|jvm)_.*", "target_label": "kind_${1}",
                                 "replacement": "yes$$"}],
    "replace_invalid_expanded_target": [{"source_labels": ["pool"], "target_label": "$1", "replacement": "x"}],
    "rename_metric": [{"source_labels": ["__name__"], "regex": "jvm_(.*)", "target_label": "__name__",
                       "replacement": "java_$1"}],
    "lowercase_uppercase": [{"source_labels": ["Path"], "target_label": "path", "action": "lowercase"},
                            {"source_labels": ["mode", "cpu"], "target_label": "mode_upper", "action": "uppercase"}],
    "hashmod_then_keep_shard": [{"source_labels": ["__name__", "le"], "target_label": "shard", "modulus": 4,
                                 "action": "hashmod"},
                                {"source_labels": ["shard"], "regex": "1|3", "action": "keep"}],
    "hashmod_big_modulus": [{"source_labels": ["__name__", "instance"], "target_label": "shard",
                             "modulus": 1000003, "action": "hashmod"}],
    "labelmap": [{"regex": "(m.*)", "replacement": "copy_$1", "action": "labelmap"}],
    "labeldrop": [{"regex": "le|code", "action": "labeldrop"}],
    "labelkeep": [{"regex": "__name__|job|instance|method", "action": "labelkeep"}],
    "keepequal_absent_equals_absent": [
        {"source_labels": ["code"], "regex": "200", "target_label": "expected", "replacement": "GET"},
        {"source_labels": ["method"], "target_label": "expected", "action": "keepequal"}],
    "dropequal": [
        {"source_labels": ["code"], "regex": "200", "target_label": "expected", "replacement": "GET"},
        {"source_labels": ["method"], "target_label": "expected", "action": "dropequal"}],
    "case_insensitive_flag": [{"source_labels": ["__name__"], "regex": "(?i)HTTP_REQUESTS_.*|mixedcase_metric",
                               "action": "keep"}],
    "flag_in_the_middle": [{"source_labels": ["__name__"], "regex": "go_(?i)GOROUTINES|NODE_cpu_seconds_total",
                            "action": "keep"}],
    "posix_and_ascii_classes": [{"source_labels": ["le"], "regex": r"[[:digit:]]+\.\d+", "action": "keep"}],
    "empty_regex_keeps_absent": [{"source_labels": ["le"], "regex": "", "action": "keep"}],
    "literal_brace": [{"source_labels": ["__name__"], "regex": "x{,3}|go_.*", "action": "keep"}],
    "word_boundary": [{"source_labels": ["Path"], "regex": r".*\bA\b.*", "action": "keep"}],
    "escapes_and_dollar": [{"source_labels": ["Path"], "regex": r"\x2fA\057b$", "action": "drop"}],
    "quoted_literal": [{"source_labels": ["le"], "regex": r"\Q+Inf\E", "action": "drop"}],
    "chain_replace_then_drop": [
        {"source_labels": ["__name__"], "regex": "(.+)_total", "target_label": "counter", "replacement": "$1"},
        {"source_labels": ["counter", "method"], "regex": "http_requests;POST", "action": "drop"}],
}
NEWER_THAN = {"lowercase": (2, 36), "uppercase": (2, 36), "keepequal": (2, 41), "dropequal": (2, 41)}

# Configs Prometheus refuses (promtool check config fails): relabel.py must refuse them too.
REFUSED = {
    "unknown_action": {"source_labels": ["__name__"], "action": "nope"},
    "hashmod_without_modulus": {"source_labels": ["__name__"], "target_label": "s", "action": "hashmod"},
    "replace_without_target": {"source_labels": ["__name__"], "replacement": "x"},
    "labeldrop_with_source": {"source_labels": ["__name__"], "regex": "le", "action": "labeldrop"},
    "keepequal_with_regex": {"source_labels": ["a"], "target_label": "b", "regex": "(.*)", "action": "keepequal"},
    "lowercase_with_replacement": {"source_labels": ["a"], "target_label": "b", "replacement": "x",
                                   "action": "lowercase"},
    "back_reference": {"source_labels": ["__name__"], "regex": r"(a)\1", "action": "keep"},
    "nested_repetition": {"source_labels": ["__name__"], "regex": "a**", "action": "keep"},
    "possessive": {"source_labels": ["__name__"], "regex": "a*+", "action": "keep"},
    "lookahead": {"source_labels": ["__name__"], "regex": "(?=a)a", "action": "keep"},
    "repeat_over_1000": {"source_labels": ["__name__"], "regex": "a{1001}", "action": "keep"},
    "bad_source_label": {"source_labels": ["bad-name"], "action": "drop"},
    "bad_target_label": {"source_labels": ["__name__"], "target_label": "1abc"},
    "python_only_flag": {"source_labels": ["__name__"], "regex": "(?x)a b", "action": "keep"},
    "python_end_anchor": {"source_labels": ["__name__"], "regex": r"a\Z", "action": "keep"},
}


def _version():
    out = subprocess.run([PROMETHEUS, "--version"], capture_output=True, text=True, timeout=30, check=False)
    match = re.search(r"version (\d+)\.(\d+)", out.stdout + out.stderr)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _exposition():
    lines = []
    for name, labels, value in EXPOSED:
        body = ",".join('%s="%s"' % item for item in sorted(labels.items()))
        lines.append("%s{%s} %s" % (name, body, value) if body else "%s %s" % (name, value))
    return ("\n".join(lines) + "\n").encode()


class _Metrics(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        body = _exposition()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _promtool_check(tmp_path, config, name):
    path = tmp_path / ("%s.yml" % name)
    path.write_text(yaml.safe_dump(config))
    return subprocess.run([PROMTOOL, "check", "config", str(path)], capture_output=True, text=True,
                          timeout=60, check=False)


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def scraped(tmp_path_factory):
    """{case: set of stored label sets} after one scrape of every case's job."""
    if not PROMETHEUS or not PROMTOOL:
        pytest.skip("the prometheus and promtool binaries are not installed: no oracle for relabel.py")
    tmp = tmp_path_factory.mktemp("relabel")
    version = _version()
    cases = dict((name, rules) for name, rules in CASES.items()
                 if all(version >= NEWER_THAN.get(str(r.get("action", "")).lower(), (0, 0)) for r in rules))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Metrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    target = "127.0.0.1:%d" % server.server_address[1]
    config = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
              "scrape_configs": [{"job_name": name, "static_configs": [{"targets": [target]}],
                                  "metric_relabel_configs": rules} for name, rules in cases.items()]}
    check = _promtool_check(tmp, config, "prometheus")
    assert check.returncode == 0, check.stdout + check.stderr
    port = _free_port()
    proc = subprocess.Popen([PROMETHEUS, "--config.file=%s" % (tmp / "prometheus.yml"),
                             "--storage.tsdb.path=%s" % (tmp / "data"), "--web.listen-address=127.0.0.1:%d" % port],
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "prometheus.log", "w"))
    base = "http://127.0.0.1:%d" % port
    try:
        deadline = time.monotonic() + 60
        scraped_jobs = set()
        while time.monotonic() < deadline and scraped_jobs != set(cases):
            time.sleep(0.5)
            try:
                up = _get(base + "/api/v1/query?" + urllib.parse.urlencode({"query": "up == 1"}))
            except OSError:
                continue
            scraped_jobs = set(r["metric"]["job"] for r in up["data"]["result"])
        assert scraped_jobs == set(cases), "not every job was scraped in 60 s: %s" % (set(cases) - scraped_jobs)
        series = _get(base + "/api/v1/series?" + urllib.parse.urlencode({"match[]": '{__name__=~".+"}'}))["data"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        server.shutdown()
        server.server_close()
    stored = dict((name, set()) for name in cases)
    for labels in series:
        if labels["__name__"] not in SYNTHETIC:
            stored[labels["job"]].add(frozenset(labels.items()))
    return {"stored": stored, "target": target, "skipped": sorted(set(CASES) - set(cases))}


@pytest.mark.parametrize("case", sorted(CASES))
def test_relabel_matches_prometheus(scraped, case):
    if case in scraped["skipped"]:
        pytest.skip("this Prometheus is older than the actions of case %s" % case)
    expected = set()
    for name, labels, _value in EXPOSED:
        series = dict(labels, __name__=name, job=case, instance=scraped["target"])
        result, _index = relabel.process(series, relabel.compile_rules(CASES[case]))
        if result is not None:
            expected.add(frozenset(result.items()))
    assert scraped["stored"][case] == expected


def test_the_cases_are_not_trivial(scraped):
    """Some cases drop everything, some keep everything, most are in between."""
    sizes = [len(scraped["stored"][c]) for c in scraped["stored"]]
    assert 0 in sizes and len(EXPOSED) in sizes and any(0 < s < len(EXPOSED) for s in sizes)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_prometheus_refuses_relabel_refuses(tmp_path, case):
    if not PROMTOOL:
        pytest.skip("promtool is not installed: no oracle for the refused configs")
    config = {"scrape_configs": [{"job_name": "x", "static_configs": [{"targets": ["127.0.0.1:1"]}],
                                  "metric_relabel_configs": [REFUSED[case]]}]}
    check = _promtool_check(tmp_path, config, case)
    assert check.returncode != 0, "promtool accepted %s" % case
    with pytest.raises(relabel.RelabelError) as info:
        relabel.compile_rule(REFUSED[case])
    assert not isinstance(info.value, relabel.Unsupported)


def test_what_prometheus_accepts_but_python_cannot_evaluate_is_named(tmp_path):
    """RE2 Unicode classes pass promtool; relabel.py says it cannot evaluate them (no guess)."""
    if not PROMTOOL:
        pytest.skip("promtool is not installed")
    rule = {"source_labels": ["__name__"], "regex": r"\pL+", "action": "keep"}
    config = {"scrape_configs": [{"job_name": "x", "static_configs": [{"targets": ["127.0.0.1:1"]}],
                                  "metric_relabel_configs": [rule]}]}
    assert _promtool_check(tmp_path, config, "unicode").returncode == 0
    with pytest.raises(relabel.Unsupported, match="cannot be evaluated here"):
        relabel.compile_rule(rule)


def _fixture_configs():
    fixtures = REPO / "tests" / "fixtures" / "doctor"
    for path in sorted(fixtures.glob("*/prometheus.yml")):
        yield str(path.relative_to(REPO)), yaml.safe_load(path.read_text())
    for path in sorted(fixtures.glob("*/otel-config-*.yaml")):
        # the collector's loader turns $$ into $ before its prometheus receiver reads the config
        text = path.read_text().replace("$$", "$")
        yield str(path.relative_to(REPO)), yaml.safe_load(text)["receivers"]["prometheus"]["config"]


@pytest.mark.parametrize("name, config", list(_fixture_configs()), ids=lambda value: value if isinstance(value, str) else "")
def test_the_doctor_fixtures_relabel_configs_pass_promtool(tmp_path, name, config):
    """The relabel configs the doctor's tests are judged on are ones Prometheus accepts."""
    if not PROMTOOL:
        pytest.skip("promtool is not installed")
    check = _promtool_check(tmp_path, config, "fixture")
    assert check.returncode == 0, "%s: %s" % (name, check.stdout + check.stderr)
    for job in config["scrape_configs"]:
        relabel.compile_rules(job.get("metric_relabel_configs"))


def _relabel_literals(path):
    """Every relabel config written literally in a test file: dict literals with an ``action``
    or ``source_labels`` key, and the rules the ``keep_job(name, regex[, action])`` helper builds."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        try:
            if isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value in ("action", "source_labels")
                                                  for k in node.keys):
                found.append(ast.literal_eval(node))
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "keep_job" and len(node.args) >= 2:
                args = [ast.literal_eval(a) for a in node.args]
                found.append({"source_labels": ["__name__"], "regex": args[1],
                              "action": args[2] if len(args) > 2 else "keep"})
        except ValueError:  # not all literal (built from variables): the case is covered where it is built
            continue
    return found


TEST_FILES = ["tests/unit/plugins/module_utils/test_doctor.py", "tests/unit/plugins/module_utils/test_relabel.py"]


@pytest.mark.parametrize("test_file", TEST_FILES)
def test_every_relabel_config_in_the_unit_tests_is_judged_by_promtool(tmp_path, test_file):
    """promtool accepts each literal relabel config of the unit tests that relabel.py accepts, and
    refuses each one relabel.py refuses as Prometheus would (not those it cannot evaluate)."""
    if not PROMTOOL:
        pytest.skip("promtool is not installed")
    rules = [r for r in _relabel_literals(REPO / test_file) if isinstance(r, dict)]
    assert len(rules) >= 8, "the scan found the test file's rules"
    for index, rule in enumerate(rules):
        try:
            relabel.compile_rule(rule)
            verdict = True
        except relabel.Unsupported:
            continue
        except relabel.RelabelError:
            verdict = False
        config = {"scrape_configs": [{"job_name": "x", "static_configs": [{"targets": ["127.0.0.1:1"]}],
                                      "metric_relabel_configs": [rule]}]}
        check = _promtool_check(tmp_path, config, "rule%d" % index)
        assert (check.returncode == 0) is verdict, "%s: %r: relabel.py %s, promtool %s" % (
            test_file, rule, "accepts" if verdict else "refuses", check.stdout + check.stderr)
