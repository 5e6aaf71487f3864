# -*- coding: utf-8 -*-
# Copyright (c) monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What changes between Prometheus 2.x and 3.x, for the prometheus role's preflight and flags.

Facts from the Prometheus 3.0 migration guide
(https://prometheus.io/docs/prometheus/latest/migration/), each held against the real 2.42,
2.53 and 3.5 binaries by the tests:

- feature flags folded into 3.x's default behaviour or replaced by a flag of their own are
  unknown to 3.x (it logs "Unknown option for --enable-feature" and ignores them);
- 3.x expands ``$var`` / ``${var}`` in external label values from the environment (the old
  ``expand-external-labels`` flag made default), so a literal ``$`` must be written ``$$``;
- 3.x writes a TSDB that Prometheus older than 2.55 cannot read back: a downgrade from a 3.x
  data directory below 2.55 is refused;
- the 3.x release archives ship no console templates, so no ``--web.console.*`` flags there.
"""

from __future__ import annotations

import re

__all__ = [
    "FALLBACK_SCRAPE_PROTOCOLS",
    "FEATURES_REMOVED_IN_3",
    "METRIC_NAME_VALIDATION_SCHEMES",
    "REMOTE_WRITE_MESSAGES",
    "at_least",
    "downgrade_problem",
    "escape_external_labels",
    "feature_flag_problems",
    "is_v3",
    "parse_version",
    "utf8_names",
    "version_from_output",
]

# flag -> what to do instead on 3.x
FEATURES_REMOVED_IN_3 = {
    "promql-at-modifier": "always on in 3.x: drop the flag",
    "promql-negative-offset": "always on in 3.x: drop the flag",
    "new-service-discovery-manager": "always on in 3.x: drop the flag",
    "expand-external-labels": "always on in 3.x: drop the flag (and write a literal $ as $$)",
    "no-default-scrape-port": "always on in 3.x: drop the flag (add :80/:443 to targets that relied on it)",
    "agent": "use prometheus_agent_mode: true (3.x's --agent flag)",
    "remote-write-receiver": "use prometheus_web_enable_remote_write_receiver (3.x's --web.enable-remote-write-receiver)",
    "auto-gomemlimit": "always on in 3.x: drop the flag",
    "auto-gomaxprocs": "always on in 3.x: drop the flag",
}
# The oldest 2.x that reads a TSDB written by 3.x (the migration guide's "downgrade" section).
OLDEST_READER_OF_V3_TSDB = (2, 55, 0)
# Settings 3.x added (2.42 and 2.53 reject each one; 3.5 accepts each value).
METRIC_NAME_VALIDATION_SCHEMES = ("utf8", "legacy")
FALLBACK_SCRAPE_PROTOCOLS = ("PrometheusProto", "OpenMetricsText0.0.1", "OpenMetricsText1.0.0",
                             "PrometheusText0.0.4", "PrometheusText1.0.0")
# remote write 1.0 and 2.0
REMOTE_WRITE_MESSAGES = ("prometheus.WriteRequest", "io.prometheus.write.v2.Request")
# The scrape setting that keeps classic histograms beside native ones: `scrape_classic_histograms`
# from 2.45 (2.42 rejects it, 2.53 accepts it), renamed `always_scrape_classic_histograms` in 3.0.
CLASSIC_HISTOGRAMS_SINCE = (2, 45, 0)
# From 3.8 native histograms are a config setting (`scrape_native_histograms`); before, the
# `native-histograms` feature flag (3.5 rejects the setting and knows the flag).
NATIVE_HISTOGRAMS_SETTING_SINCE = (3, 8, 0)


def parse_version(text):
    """'3.5.3' -> (3, 5, 3); '2.53' -> (2, 53, 0); None for anything else."""
    match = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", str(text or "").strip())
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def is_v3(version):
    parsed = parse_version(version)
    return bool(parsed) and parsed[0] >= 3


def at_least(version, minimum):
    parsed = parse_version(version)
    return bool(parsed) and parsed >= tuple(minimum)


def utf8_names(version, scheme=""):
    """Whether the selected version takes UTF-8 metric and label names: 3.x unless
    ``metric_name_validation_scheme: legacy``; 2.x never."""
    return is_v3(version) and scheme != "legacy"


def version_from_output(text):
    """'prometheus, version 3.5.3+ds1 (branch: ...)' -> '3.5.3'; None when there is none."""
    match = re.search(r"^prometheus, version (\d+\.\d+\.\d+)", str(text or ""), re.MULTILINE)
    return match.group(1) if match else None


def feature_flag_problems(flags, version, variable="prometheus_enable_features"):
    """Feature flags the selected version no longer knows, each with what to do instead."""
    if not is_v3(version):
        return []
    return ["%s: %r was removed in Prometheus 3 (%s is selected): %s"
            % (variable, flag, version, FEATURES_REMOVED_IN_3[flag])
            for flag in flags or [] if flag in FEATURES_REMOVED_IN_3]


def escape_external_labels(labels, version):
    """External labels as the selected version reads them: on 3.x a literal ``$`` is ``$$``
    (3.x expands ``$var`` from the environment); 2.x takes values as they are."""
    if not is_v3(version):
        return dict(labels or {})
    return {name: str(value).replace("$", "$$") for name, value in (labels or {}).items()}


def downgrade_problem(data_version, target_version, variable="prometheus_version"):
    """A message when ``target_version`` cannot read a data directory last written by
    ``data_version`` (3.x data, target below 2.55); None when it can."""
    data, target = parse_version(data_version), parse_version(target_version)
    if not data or not target or data[0] < 3 or target >= OLDEST_READER_OF_V3_TSDB:
        return None
    return ("%s: %s cannot read the data directory, last written by Prometheus %s: a TSDB written by 3.x is "
            "readable only by 2.55 or newer. Choose %s >= 2.55.0, or move the data directory away first"
            % (variable, target_version, data_version, variable))
