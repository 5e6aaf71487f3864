#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: doctor
short_description: Find why dashboard panels would show "No data", before anything is deployed
version_added: 0.1.0
description:
  - Reads Grafana dashboards (JSON files, directories of them, or data) and what feeds them, the
    Prometheus scrape configs (C(prometheus.yml) files, or the data the C(monitoring.stack.prometheus_config)
    filter builds), the ADOT collector configs (files, data, or specs as taken by
    M(monitoring.stack.otel_config)) and the Grafana datasources, and reports every cause of "No data"
    it can see without a running server.
  - C(metric_dropped) - a query's metric is removed (or renamed) by a scrape job's
    C(metric_relabel_configs), evaluated as Prometheus 2.42 evaluates every relabel action, or by
    an ADOT C(filter) processor. The series relabelled carries the metric name, the job, the
    target labels the scrape config fixes and the query's literal C(label="value") matchers;
    other labels are taken as missing. A query pinned
    to jobs (a literal C(job) matcher, the values of a custom/constant C($job) variable, or the
    jobs a C(label_values(<selector>, job)) query variable can take) is checked against each of
    those jobs; any other query only when every scraped job drops the metric. The synthetic
    series C(up) and C(scrape_*) are never dropped by relabelling.
  - C(unknown_job) - a literal C(job="...") matcher (or a custom/constant C($job) value, or a
    literal C(job=~) regex) names no scraped job.
  - C(hardcoded_environment) - C(environment="prod") matchers, environment names in the dashboard
    title, tags and panel titles, and a constant or single-value C($environment) variable; in
    ADOT configs, a literal environment in C(resource)/C(attributes) processors (the rule of
    M(monitoring.stack.otel_config)'s validator).
  - C(unknown_datasource) - a datasource uid or name, an C(__inputs) entry or a datasource
    variable that no given datasource satisfies (only when O(datasources) or O(datasource_files) are given).
  - C(invalid_query) - PromQL that does not parse (Grafana variables are allowed).
  - C(environment_filter) (only when listed in O(checks)) - a selector without an C(environment) matcher.
  - Never changes anything. Fails with a report (file, dashboard, panel, refId, query, problem,
    fix) when there are findings, unless O(fail_on_findings=false).
  - Runs where its files are; use it on the controller (a play on C(localhost)), as the
    C(playbooks/doctor.yml) playbook of the collection does. Give absolute paths (the module's
    working directory is not the playbook's); the playbook makes them absolute.
author: monitoring.stack contributors (@monitoring-stack)
options:
  dashboards:
    description:
      - Dashboard JSON files, or directories searched recursively for C(*.json).
    type: list
    elements: path
    default: []
  dashboard_data:
    description:
      - Dashboards as data (each a dashboard JSON object).
    type: list
    elements: dict
    default: []
  prometheus_configs:
    description:
      - C(prometheus.yml) files whose C(scrape_configs) feed the dashboards.
    type: list
    elements: path
    default: []
  prometheus_config_data:
    description:
      - Prometheus configs as data (a mapping with C(scrape_configs), or a list of scrape jobs),
        for example the result of the C(monitoring.stack.prometheus_config) filter.
    type: list
    elements: raw
    default: []
  otel_configs:
    description:
      - ADOT collector config files (YAML) whose Prometheus receivers feed the dashboards.
    type: list
    elements: path
    default: []
  otel_config_data:
    description:
      - ADOT collector configs as data (mappings or YAML text).
    type: list
    elements: raw
    default: []
  otel_specs:
    description:
      - Specs of ADOT collector configs, with the options of M(monitoring.stack.otel_config)
        (C(project), C(service), C(custom_metric_prefixes), ...); each is built the way that module builds it.
    type: list
    elements: dict
    default: []
  datasources:
    description:
      - The Grafana datasources that will exist, in the format of the grafana role's
        C(grafana_datasources) (Grafana's provisioning format). The doctor reads C(name), C(type)
        and C(uid) only; a datasource without a uid gets the one the grafana role derives from its name.
      - The secret fields of that format (C(secureJsonData), C(password), C(basicAuthPassword)) are
        C(no_log) and never read; an unknown field is refused. The C(playbooks/doctor.yml)
        playbook passes only C(name), C(type) and C(uid).
      - When neither this nor O(datasource_files) is given, datasources are not checked.
    type: list
    elements: dict
    suboptions:
      name:
        description: The datasource name.
        type: str
      type:
        description: The datasource plugin type (C(prometheus), C(loki), C(cloudwatch), ...).
        type: str
      uid:
        description: The datasource uid.
        type: str
      secureJsonData:
        description: Not read; accepted so that a provisioning entry can be passed as it is, and never shown.
        type: dict
      password:
        description: Not read, never shown.
        type: str
      basicAuthPassword:
        description: Not read, never shown.
        type: str
      access:
        description: Not read.
        type: str
      url:
        description: Not read.
        type: str
      user:
        description: Not read.
        type: str
      database:
        description: Not read.
        type: str
      basicAuth:
        description: Not read.
        type: bool
      basicAuthUser:
        description: Not read.
        type: str
      withCredentials:
        description: Not read.
        type: bool
      isDefault:
        description: Not read.
        type: bool
      jsonData:
        description: Not read.
        type: dict
      orgId:
        description: Not read.
        type: int
      version:
        description: Not read.
        type: int
      editable:
        description: Not read.
        type: bool
  datasource_files:
    description:
      - Grafana datasource provisioning files (C(apiVersion), C(datasources)).
    type: list
    elements: path
    default: []
  environments:
    description:
      - Environment names (for example the C(monitoring_environment) values of the inventory),
        added to the built-in list (prod, production, stage, staging, dev, qa, loadtest, ...)
        of words that must not be hard-coded.
    type: list
    elements: str
    default: []
  environment_label:
    description:
      - The label (and dashboard variable) that carries the environment.
    type: str
    default: environment
  checks:
    description:
      - The checks to run.
    type: list
    elements: str
    choices: [invalid_query, metric_dropped, unknown_job, hardcoded_environment, unknown_datasource, environment_filter]
    default: [invalid_query, metric_dropped, unknown_job, hardcoded_environment, unknown_datasource]
  fail_on_findings:
    description:
      - Fail when there is any finding. With V(false) the findings are only returned.
    type: bool
    default: true
requirements:
  - promql-parser (Python)
  - PyYAML
extends_documentation_fragment:
  - monitoring.stack.attributes.check_only
  - monitoring.stack.attributes.platform_posix
attributes:
  check_mode:
    details: The module only reads; check mode runs every check.
notes:
  - See the C(docs/doctor.md) file of the collection for the checks and the troubleshooting table they come from.
"""

EXAMPLES = r"""
- name: Check the shipped dashboards against the Prometheus config
  monitoring.stack.doctor:
    dashboards:
      - "{{ playbook_dir }}/../dashboards"
    prometheus_configs:
      - /etc/prometheus/prometheus.yml
    datasources:
      - name: Prometheus
        type: prometheus
        uid: prometheus

- name: Check dashboards against the ADOT configs of the ECS services
  monitoring.stack.doctor:
    dashboards:
      - dashboards/services
    otel_specs:
      - project: crawlinghub
        service: web-api
      - project: crawlinghub
        service: scheduler
        custom_metric_prefixes: [tasks_scheduled_]

- name: Only collect the findings
  monitoring.stack.doctor:
    dashboards: [my-dashboards/]
    otel_configs: [otel-config-worker.yaml]
    fail_on_findings: false
  register: doctor
"""

RETURN = r"""
findings:
  description: Every finding.
  returned: always
  type: list
  elements: dict
  contains:
    check:
      description: The check (C(metric_dropped), C(unknown_job), C(hardcoded_environment), C(unknown_datasource), C(invalid_query), C(environment_filter)).
      type: str
    file:
      description: The dashboard file (C(dashboard_data[N]) for data).
      type: str
    dashboard:
      description: The dashboard title.
      type: str
    uid:
      description: The dashboard uid.
      type: str
    panel:
      description: The panel title, when the finding is about a panel.
      type: str
    ref_id:
      description: The target's refId, when the finding is about a query.
      type: str
    variable:
      description: The dashboard variable, when the finding is about one.
      type: str
    query:
      description: The PromQL query.
      type: str
    problem:
      description: What is wrong.
      type: str
    fix:
      description: How to fix it.
      type: str
  sample:
    - check: metric_dropped
      file: dashboards/services/spring-boot-api.json
      dashboard: Spring Boot API
      uid: ms-spring-boot-api
      panel: Connections (active / idle / pending)
      ref_id: A
      variable: null
      query: sum by (pool) (hikaricp_connections_active{job="web-api"})
      problem: metric hikaricp_connections_active is dropped before it is stored for job web-api by ...
      fix: add 'hikaricp_.*' to the keep regex of job web-api ...
report:
  description: The findings as text for a person.
  returned: always
  type: str
summary:
  description: Counts (dashboards, queries, findings, by_check) and the scraped jobs.
  returned: always
  type: dict
not_checked:
  description: Checks that could not run, and why (for example no datasources given).
  returned: always
  type: list
  elements: str
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from ansible_collections.monitoring.stack.plugins.module_utils import doctor as doc
    from ansible_collections.monitoring.stack.plugins.module_utils import otel
    from ansible_collections.monitoring.stack.plugins.module_utils.common import failure_message
    from ansible_collections.monitoring.stack.plugins.module_utils.promql import HAS_PROMQL_PARSER
    IMPORT_ERROR = None
except ImportError:  # pragma: no cover - promql-parser or PyYAML missing
    HAS_PROMQL_PARSER = False
    IMPORT_ERROR = traceback.format_exc()


INPUT_HINT = ("paths are read on the host the module runs on; give absolute paths "
              "(playbooks/doctor.yml makes them absolute)")

# Grafana's datasource provisioning fields: the doctor reads name, type and uid; the secret ones
# are no_log so that a grafana_datasources entry passed as it is never shows them.
DATASOURCE_OPTIONS = dict(
    name=dict(type="str"), type=dict(type="str"), uid=dict(type="str"),
    secureJsonData=dict(type="dict", no_log=True), password=dict(type="str", no_log=True),
    basicAuthPassword=dict(type="str", no_log=True),
    access=dict(type="str"), url=dict(type="str"), user=dict(type="str"), database=dict(type="str"),
    basicAuth=dict(type="bool"), basicAuthUser=dict(type="str"), withCredentials=dict(type="bool"),
    isDefault=dict(type="bool"), jsonData=dict(type="dict"), orgId=dict(type="int"), version=dict(type="int"),
    editable=dict(type="bool"),
)


def _inputs(params):
    dashboards = doc.load_dashboards(params["dashboards"])
    for index, item in enumerate(params["dashboard_data"]):
        dashboards.append(("dashboard_data[%d]" % index, item))
    prometheus = doc.load_yaml_files(params["prometheus_configs"])
    for index, item in enumerate(params["prometheus_config_data"]):
        prometheus.append(("prometheus_config_data[%d]" % index, item))
    otel_configs = doc.load_yaml_files(params["otel_configs"])
    for index, item in enumerate(params["otel_config_data"]):
        otel_configs.append(("otel_config_data[%d]" % index, otel.parse_config(item)))
    for index, spec in enumerate(params["otel_specs"]):
        name = "otel_specs[%d] (%s-%s)" % (index, spec.get("project"), spec.get("service"))
        otel_configs.append((name, otel.build_config(spec)))
    datasources = None
    if params["datasources"] is not None or params["datasource_files"]:
        datasources = [dict((key, ds.get(key)) for key in ("name", "type", "uid") if ds.get(key) is not None)
                       for ds in params["datasources"] or []]
        for source, data in doc.load_yaml_files(params["datasource_files"]):
            datasources.extend(doc.datasources_from_provisioning(data, source))
    return dashboards, prometheus, otel_configs, datasources


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dashboards=dict(type="list", elements="path", default=[]),
            dashboard_data=dict(type="list", elements="dict", default=[]),
            prometheus_configs=dict(type="list", elements="path", default=[]),
            prometheus_config_data=dict(type="list", elements="raw", default=[]),
            otel_configs=dict(type="list", elements="path", default=[]),
            otel_config_data=dict(type="list", elements="raw", default=[]),
            otel_specs=dict(type="list", elements="dict", default=[]),
            datasources=dict(type="list", elements="dict", options=DATASOURCE_OPTIONS),
            datasource_files=dict(type="list", elements="path", default=[]),
            environments=dict(type="list", elements="str", default=[]),
            environment_label=dict(type="str", default="environment"),
            checks=dict(type="list", elements="str",
                        choices=["invalid_query", "metric_dropped", "unknown_job", "hardcoded_environment",
                                 "unknown_datasource", "environment_filter"],
                        default=["invalid_query", "metric_dropped", "unknown_job", "hardcoded_environment",
                                 "unknown_datasource"]),
            fail_on_findings=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    if IMPORT_ERROR or not HAS_PROMQL_PARSER:
        module.fail_json(msg=missing_required_lib("promql-parser"), exception=IMPORT_ERROR)
    params = module.params
    try:
        dashboards, prometheus, otel_configs, datasources = _inputs(params)
    except (doc.DoctorError, otel.SpecError, ValueError) as exc:
        module.fail_json(msg=failure_message("read the doctor's inputs", exc, INPUT_HINT))
    if not dashboards:
        module.fail_json(msg=failure_message("find dashboards", "none given",
                                             "give dashboards (files or directories with *.json) or dashboard_data"))
    try:
        result = doc.diagnose(dashboards, prometheus_configs=prometheus, otel_configs=otel_configs,
                              datasources=datasources, environments=params["environments"],
                              environment_label=params["environment_label"], checks=params["checks"])
    except doc.DoctorError as exc:
        module.fail_json(msg=failure_message("check the dashboards", exc))
    report = doc.format_report(result)
    out = dict(changed=False, findings=result["findings"], report=report, summary=result["summary"],
               not_checked=result["skipped"])
    if result["findings"] and params["fail_on_findings"]:
        module.fail_json(msg=report, **out)
    module.exit_json(msg=report.splitlines()[0], **out)


if __name__ == "__main__":
    main()
