"""Sentinel secrets and a playbook run that greps every output for them.

Each secret the collection handles gets a distinctive value (``SENTINEL-<kind>-<hex>``). A run
goes through ansible-playbook at ``-vvv`` with the default stdout callback (JSON result format,
so no value is line-wrapped) and, in the same run, the ansible.posix.json report written to a
file by tests/support/sentinel_callback. ``hits`` counts every sentinel in stdout, stderr and
that report; rotated values (``<sentinel>-rotated``) count as the sentinel they start with.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from tests.support.playbook import REPO, run_playbook

SENTINELS = {
    "grafana_token": "SENTINEL-grafana-token-4b1e",
    "datasource_password": "SENTINEL-dspass-2d9c",
    "slack_webhook": "SENTINEL-slack-7f3a",
    "pagerduty_key": "SENTINEL-pagerduty-9c21",
    "smtp_password": "SENTINEL-smtp-5e07",
    "remote_write_password": "SENTINEL-rwpass-83b6",
    "ssm_securestring": "SENTINEL-ssm-securestring-1a4f",
    "adot_header_token": "SENTINEL-adot-header-6c3d",
    # Beyond the list: every other secret a role or module takes.
    "aws_secret_key": "SENTINEL-aws-secret-0e5a",
    "sigv4_secret_key": "SENTINEL-sigv4-secret-77d2",
    "grafana_admin_password": "SENTINEL-grafana-admin-31c8",
    "oauth_client_secret": "SENTINEL-oauth-secret-a94b",
    "prometheus_web_password": "SENTINEL-promweb-5f60",
    "loki_s3_secret": "SENTINEL-loki-s3-c2e1",
    "blackbox_probe_password": "SENTINEL-bbxpass-6d17",
    "blackbox_probe_token": "SENTINEL-bbxtoken-e40b",
    "grafana_db_password": "SENTINEL-grafana-db-5a93",
    "grafana_cache_password": "SENTINEL-grafana-cache-0c6e",
}

SLACK_URL = "https://hooks.slack.com/services/T0000/B0000/" + SENTINELS["slack_webhook"]

CALLBACK_DIR = REPO / "tests" / "support" / "sentinel_callback"


class SentinelRun:
    def __init__(self, result, json_text):
        self.rc = result.rc
        self.stdout = result.stdout
        self.stderr = result.stderr
        self.json_text = json_text
        try:
            self.report = json.loads(json_text) if json_text.strip() else {}
        except ValueError:
            self.report = {}

    def play(self, name):
        """The part of a several-play run that belongs to play ``name``, as a SentinelRun.

        Its stdout is the whole text without the other plays' sections (each from its
        ``PLAY [...]`` header to the next header or the recap), its stderr the whole stderr, its
        report the whole report without the other plays: every character of the run belongs to
        at least one play's part, so a leak anywhere fails at least one case.
        """
        headers = list(re.finditer(r"^PLAY \[(.*)\] \**$", self.stdout, re.M))
        names = [m.group(1) for m in headers]
        if names.count(name) != 1:
            raise KeyError("play %r is not in the output once; plays: %s" % (name, names))
        recap = re.search(r"^PLAY RECAP \**$", self.stdout, re.M)
        ends = [m.start() for m in headers[1:]] + [recap.start() if recap else len(self.stdout)]
        stdout = self.stdout
        for header, end in reversed(list(zip(headers, ends))):
            if header.group(1) != name:
                stdout = stdout[:header.start()] + stdout[end:]
        report = dict(self.report, plays=[p for p in self.report.get("plays", []) if p["play"]["name"] == name])
        part = SentinelRun.__new__(SentinelRun)
        part.rc, part.stdout, part.stderr = self.rc, stdout, self.stderr
        part.report, part.json_text = report, json.dumps(report)
        return part

    def changed_count(self, host):
        """Task results of ``host`` that report a change (the recap's ``changed``, per part)."""
        return sum(1 for h, _name, res in self.task_results() if h == host and res.get("changed"))

    @property
    def hits(self):
        """{sentinel kind: {stream: count}} for every sentinel found (empty: no leak)."""
        found = {}
        streams = {"stdout": self.stdout, "stderr": self.stderr, "json": self.json_text}
        for kind, value in SENTINELS.items():
            counts = {name: text.count(value) for name, text in streams.items() if text.count(value)}
            if counts:
                found[kind] = counts
        return found

    def total_hits(self):
        return sum(sum(counts.values()) for counts in self.hits.values())

    def task_results(self):
        """[(host, task name, result)] from the JSON report, in run order."""
        out = []
        for play in self.report.get("plays", []):
            for task in play.get("tasks", []):
                for host, res in task.get("hosts", {}).items():
                    out.append((host, task["task"]["name"], res))
        return out

    def result(self, name, host=None):
        found = [res for h, task_name, res in self.task_results() if task_name == name and host in (None, h)]
        if not found:
            raise KeyError("task %r did not run; ran: %s" % (name, [t for _h, t, _r in self.task_results()]))
        return found[-1]

    def failed_tasks(self):
        return [name for _h, name, res in self.task_results() if res.get("failed")]

    def contexts(self, width=80, limit=6):
        """Where the sentinels appear (for the failure message)."""
        out = []
        for stream, text in (("stdout", self.stdout), ("stderr", self.stderr), ("json", self.json_text)):
            for value in SENTINELS.values():
                start = text.find(value)
                while start != -1 and len(out) < limit:
                    out.append("%s: ...%s..." % (stream, text[max(0, start - width):start + len(value) + 20]
                                                 .replace("\n", "\\n")))
                    start = text.find(value, start + 1)
        return out

    def describe(self):
        failed = ["%s: %s" % (name, str(res.get("msg", ""))[:400]) for _h, name, res in self.task_results()
                  if res.get("failed")]
        return "hits=%s\n%s\nrc=%s failed tasks: %s\nstderr tail: %s" % (
            self.hits, "\n".join(self.contexts()), self.rc, failed, self.stderr[-1500:])


def _by_reference(node, values):
    """``node`` with every string holding a sentinel replaced by a reference to ``values``.

    ansible-core quotes the playbook's source lines in its error messages: secrets written into
    a play would show up there, which is the user's playbook, not the collection. Users keep
    secrets in variables (vault, inventory); the plays here do the same.
    """
    if isinstance(node, dict):
        return {key: _by_reference(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_by_reference(value, values) for value in node]
    if isinstance(node, str) and any(value in node for value in SENTINELS.values()):
        values.append(node)
        return "{{ sentinel_values[%d] }}" % (len(values) - 1)
    return node


def run_with_sentinels(playbook, *, inventory=None, extravars=None, check=False, diff=False, env=None,
                       timeout=900):
    """ansible-playbook -vvv with both the default text output and the JSON report captured.

    A playbook given as plays gets its secrets moved into extra variables (``_by_reference``).
    """
    if not isinstance(playbook, (str, Path)):
        values = []
        playbook = _by_reference(playbook, values)
        extravars = dict(extravars or {}, sentinel_values=values)
    with tempfile.TemporaryDirectory(prefix="ms-sentinel-") as tmp:
        json_path = Path(tmp) / "report.json"
        run_env = {
            "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
            "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
            "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_DIR),
            "ANSIBLE_CALLBACKS_ENABLED": "sentinel_json",
            "SENTINEL_JSON_PATH": str(json_path),
        }
        run_env.update(env or {})
        result = run_playbook(playbook, inventory=inventory, extravars=extravars, check=check, diff=diff,
                              env=run_env, extra_args=["-vvv"], timeout=timeout)
        json_text = json_path.read_text(encoding="utf-8") if json_path.exists() else ""
    return SentinelRun(result, json_text)
