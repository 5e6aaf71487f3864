# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the yace role and of its Prometheus scrape job (logic in module_utils/yace_config.py
and module_utils/aws_iam_policies.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: yace_config
short_description: The configuration file of YACE (yet-another-cloudwatch-exporter), as data
description:
  - Builds the YACE configuration (C(apiVersion) v1alpha1, C(sts-region), C(discovery.exportedTagsOnMetrics),
    C(discovery.jobs)) from the yace role's settings; a job without C(regions), C(searchTags), C(period) or
    C(length) takes the role-wide value.
  - Companion filters in this file, used by the same role and by inventories
    C(yace_config_problems) (structural problems of a YACE config, each naming where it is; an unknown namespace
    with the valid ones listed, bad statistics, missing regions, length below period, unknown keys),
    C(yace_iam_policy) (the least-privilege IAM policy of the identity YACE runs as, for a config),
    C(yace_metric_names) (the Prometheus metric names a config makes YACE export) and
    C(yace_scrape_configs) (the Prometheus scrape job of the exporters of inventory groups, a list of zero or one
    entry for C(prometheus_extra_scrape_configs); it keeps only the metrics named C(aws*) and C(yace_*),
    C(keep_metrics='') keeps every metric).
positional: ""
options:
  _input:
    description: C({sts_region, regions, search_tags, period, length, exported_tags_on_metrics, jobs}).
    type: dict
    required: true
"""

EXAMPLES = r"""
config: >-
  {{ {'regions': ['eu-west-1'],
      'jobs': [{'type': 'AWS/RDS', 'metrics': [{'name': 'CPUUtilization', 'statistics': ['Average']}]}]}
     | monitoring.stack.yace_config }}
problems: "{{ config | monitoring.stack.yace_config_problems('yace_discovery_jobs') }}"
policy: "{{ config | monitoring.stack.yace_iam_policy | ansible.builtin.to_json }}"
prometheus_extra_scrape_configs: "{{ groups | monitoring.stack.yace_scrape_configs(hostvars, ['yace']) }}"
"""

RETURN = r"""
_value:
  description: The YACE configuration, ready for C(to_nice_yaml).
  type: dict
"""

from ansible_collections.monitoring.stack.plugins.module_utils import aws_iam_policies as aip
from ansible_collections.monitoring.stack.plugins.module_utils import yace_config as yc

DEFAULT_LISTEN_ADDRESS = "0.0.0.0:5000"


def yace_config(settings):
    return yc.build_config(settings)


def yace_config_problems(config, jobs_variable="discovery.jobs", extra_namespaces=None):
    return yc.config_problems(config, jobs_variable, extra_namespaces or ())


def yace_iam_policy(config, account_alias=False):
    return aip.yace_exporter_policy(config, account_alias)


def yace_metric_names(config):
    return sorted(yc.exported_metric_names(config))


def yace_scrape_configs(groups, hostvars, yace_groups=None, job_name="yace", scrape_interval="60s",
                        scrape_timeout="30s", keep_metrics=yc.SCRAPE_KEEP_METRICS):
    names = []
    for group in yace_groups or ["yace"]:
        for host in groups.get(group, []):
            if host not in names:
                names.append(host)
    hosts = [{"name": name, "address": hostvars[name].get("ansible_host") or name,
              "environment": hostvars[name].get("monitoring_environment") or "",
              "listen_address": hostvars[name].get("yace_listen_address") or DEFAULT_LISTEN_ADDRESS}
             for name in names]
    job = yc.scrape_job(hosts, job_name, scrape_interval, scrape_timeout, keep_metrics)
    return [job] if job else []


class FilterModule(object):
    def filters(self):
        return {
            "yace_config": yace_config,
            "yace_config_problems": yace_config_problems,
            "yace_iam_policy": yace_iam_policy,
            "yace_metric_names": yace_metric_names,
            "yace_scrape_configs": yace_scrape_configs,
        }
