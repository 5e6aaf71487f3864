# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Long-term storage by remote write: ``prometheus_remote_write`` entries described by kind.

Pure functions, no Ansible imports (prometheus_config.build_config and the filter
plugins/filter/remote_storage.py call them; unit tests call them directly).

An entry of ``prometheus_remote_write`` may carry ``kind``; an entry without one is a raw
Prometheus ``remote_write`` entry and passes through unchanged. The keys this module reads
(``kind``, ``region``, ``workspace_id``, ``role_arn``, ``tenant``, ``deduplicate``,
``query_url``, ``datasource_name``) are removed from the rendered entry; every other key
(``name``, ``url``, ``headers``, ``basic_auth``, ``tls_config``, ``write_relabel_configs``,
``queue_config``, ``sigv4``...) is Prometheus' own and is kept.

What each store needs (checked against the upstream documentation):

* ``amp`` - Amazon Managed Service for Prometheus. SigV4 signs every request for the
  workspace's region (``sigv4.region``; ``role_arn`` is assumed first when given). The URL is
  ``https://aps-workspaces.<region>.amazonaws.com/workspaces/<workspace_id>/api/v1/remote_write``
  unless ``url`` is given. HA pairs: "You need to apply both __replica__ and cluster labels for
  de-duplication to work ... it strips the replica label when the samples are accepted ... The
  cluster label is kept" (AMP user guide, "Send high availability data to Amazon Managed Service
  for Prometheus with Prometheus"): the label names are fixed, so an HA pair whose replica label
  is not ``__replica__`` is refused.
* ``mimir`` - Grafana Mimir: the tenant in the ``X-Scope-OrgID`` header. HA pairs: Mimir's HA
  tracker elects one replica per cluster and drops the other's samples, on the labels
  ``-distributor.ha-tracker.cluster`` (default ``cluster``) and ``-distributor.ha-tracker.replica``
  (default ``__replica__``) (Mimir docs, "Configure Grafana Mimir high-availability
  deduplication"; the defaults are in Cortex's distributor flags, cortexproject/cortex#1687).
  Both labels are sent; they are configurable on Mimir's side, so another replica label is not
  refused.
* ``thanos_receive`` - Thanos Receive: the tenant in the ``THANOS-TENANT`` header (the default
  of ``--receive.tenant-header``). The replica label is kept; Thanos Query merges the replicas
  at query time with ``--query.replica-label=<the replica label>``.
* ``victoriametrics`` - VictoriaMetrics' ``/api/v1/write`` (appended to a URL that has no
  path). It has no HA tracker: samples of identical series are merged by
  ``-dedup.minScrapeInterval`` ("If duplicate data is pushed to VictoriaMetrics from identically
  configured vmagent instances or Prometheus instances, then the -dedup.minScrapeInterval must be
  set to scrape_interval"), so the series of both replicas must be identical: for an HA pair
  the replica label is dropped on the way out (``write_relabel_configs`` ``labeldrop``; write
  relabeling is applied after external labels, per Prometheus' configuration reference).
  ``deduplicate: false`` keeps it (one series per replica).

Queue settings: ``amp`` gets ``max_samples_per_send: 1000, max_shards: 200, capacity: 2500``
(the values AWS's AMP onboarding examples give, which this collection used before); the other
kinds keep Prometheus' defaults. ``queue_config`` keys given on the entry win.
"""

from __future__ import annotations

import re

from ansible_collections.monitoring.stack.plugins.module_utils.common import plain_copy

KINDS = ("amp", "mimir", "thanos_receive", "victoriametrics")
# The keys of an entry this module reads; never rendered into prometheus.yml.
OWN_KEYS = ("kind", "region", "workspace_id", "role_arn", "tenant", "deduplicate", "query_url", "datasource_name")
AMP_REPLICA_LABEL = "__replica__"
AMP_QUEUE = {"max_samples_per_send": 1000, "max_shards": 200, "capacity": 2500}
MIMIR_TENANT_HEADER = "X-Scope-OrgID"
THANOS_TENANT_HEADER = "THANOS-TENANT"
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
AMP_HOST = re.compile(r"^https://aps-workspaces\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/", re.IGNORECASE)
AMP_WRITE_PATH = "/api/v1/remote_write"
VM_WRITE_PATH = "/api/v1/write"
MIMIR_PUSH_PATH = "/api/v1/push"


def _on(value, default=True):
    if value is None or value == "":
        return default
    return value is True or str(value).lower() in ("true", "yes", "1", "on")


def _has_path(url):
    """Whether an http(s) URL names a path beyond '/'."""
    rest = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", str(url))
    _host, slash, path = rest.partition("/")
    return bool(slash and path.strip("/"))


def amp_url(region, workspace_id):
    return "https://aps-workspaces.%s.amazonaws.com/workspaces/%s%s" % (region, workspace_id, AMP_WRITE_PATH)


def url_region(url):
    """The region of an AMP workspace URL (None when the URL is not one)."""
    match = AMP_HOST.match(str(url or ""))
    return match.group(1).lower() if match else None


def entry_problems(variable, entry, replica_label=None):
    """Problems with one ``prometheus_remote_write`` entry (``variable`` names it, e.g.
    ``prometheus_remote_write[0]``); ``replica_label``: the HA pair's, when this host is a replica.

    Messages name keys, never values of credentials (a URL is not printed either: it may hold
    user info)."""
    if not isinstance(entry, dict):
        return ["%s: a remote write entry is a mapping, got %s" % (variable, type(entry).__name__)]
    kind = entry.get("kind")
    if kind in (None, ""):
        return [] if entry.get("url") else ["%s: needs url (or a kind: %s)" % (variable, ", ".join(KINDS))]
    if kind not in KINDS:
        return ["%s.kind: %r is not one of %s" % (variable, kind, ", ".join(KINDS))]
    problems = []
    queue = entry.get("queue_config")
    if queue is not None and not isinstance(queue, dict):
        problems.append("%s.queue_config: must be a mapping of Prometheus queue settings" % variable)
    if kind == "amp":
        region = entry.get("region") or ""
        sigv4 = entry.get("sigv4") or {}
        if not region:
            problems.append("%s.region: AMP needs a region (the workspace's, e.g. eu-west-1): SigV4 signs every "
                            "request for it" % variable)
        elif not REGION.match(str(region)):
            problems.append("%s.region: %r is not an AWS region name (e.g. eu-west-1)" % (variable, region))
        if not entry.get("url") and not entry.get("workspace_id"):
            problems.append("%s.workspace_id: AMP needs workspace_id (or url)" % variable)
        found = url_region(entry.get("url"))
        if region and found and found != str(region).lower():
            problems.append("%s.url: the workspace URL is in region %s, but region is %s: SigV4 would sign for "
                            "the wrong region and AMP would refuse every sample" % (variable, found, region))
        if not isinstance(sigv4, dict):
            problems.append("%s.sigv4: must be a mapping (access_key, secret_key, profile, role_arn)" % variable)
        elif region and sigv4.get("region") and sigv4["region"] != region:
            problems.append("%s.sigv4.region: differs from region (%s); give the region once, in region"
                            % (variable, region))
        if replica_label and replica_label != AMP_REPLICA_LABEL:
            problems.append("%s: AMP de-duplicates an HA pair only on the labels cluster and __replica__, and this "
                            "pair's replica label is %r: set prometheus_ha_replica_label: __replica__"
                            % (variable, replica_label))
    else:
        if not entry.get("url"):
            problems.append("%s.url: %s needs the url of its remote write endpoint" % (variable, kind))
        headers = entry.get("headers")
        if headers is not None and not isinstance(headers, dict):
            problems.append("%s.headers: must be a mapping of header name to value" % variable)
        # No tenant is fine: Mimir with multi-tenancy off and Thanos Receive take a default tenant.
        tenant = entry.get("tenant")
        if tenant is not None and not isinstance(tenant, (str, int)):
            problems.append("%s.tenant: must be a tenant name" % variable)
    if "deduplicate" in entry and kind != "victoriametrics":
        problems.append("%s.deduplicate: only for kind victoriametrics (the other stores de-duplicate an HA pair "
                        "on cluster and the replica label themselves)" % variable)
    return problems


def render(entry, replica_label=None):
    """The Prometheus ``remote_write`` entry for one ``prometheus_remote_write`` entry (checked
    by entry_problems first). An entry without ``kind`` is returned as a copy, unchanged."""
    out = plain_copy(entry)
    kind = out.get("kind")
    if not kind:
        return out
    own = {key: out.pop(key) for key in OWN_KEYS if key in out}
    queue = {}
    if kind == "amp":
        region = own["region"]
        out.setdefault("name", "amp")
        out["url"] = out.get("url") or amp_url(region, own["workspace_id"])
        sigv4 = dict(out.get("sigv4") or {})
        sigv4["region"] = region
        if own.get("role_arn"):
            sigv4["role_arn"] = own["role_arn"]
        out["sigv4"] = sigv4
        queue = dict(AMP_QUEUE)
    elif kind in ("mimir", "thanos_receive"):
        tenant = own.get("tenant")
        if tenant not in (None, ""):
            header = MIMIR_TENANT_HEADER if kind == "mimir" else THANOS_TENANT_HEADER
            out["headers"] = dict(out.get("headers") or {}, **{header: str(tenant)})
    elif kind == "victoriametrics":
        if not _has_path(out["url"]):
            out["url"] = str(out["url"]).rstrip("/") + VM_WRITE_PATH
        if replica_label and _on(own.get("deduplicate")):
            out["write_relabel_configs"] = list(out.get("write_relabel_configs") or []) + [
                {"action": "labeldrop", "regex": re.escape(replica_label)}]
    queue.update(out.get("queue_config") or {})
    if queue:
        out["queue_config"] = queue
    return out


def from_amp_setting(amp):
    """``prometheus_amp_remote_write`` ({workspace_id, region, role_arn, name,
    write_relabel_configs}) as one kind=amp entry: one code path for both."""
    entry = {"kind": "amp"}
    for key in ("workspace_id", "region", "role_arn", "name", "write_relabel_configs", "queue_config", "url"):
        if amp.get(key):
            entry[key] = plain_copy(amp[key])
    return entry


def problems(remote_write, amp_remote_write=None, replica_label=None):
    """Every problem of ``prometheus_remote_write`` and ``prometheus_amp_remote_write``."""
    found = []
    if remote_write is not None and not isinstance(remote_write, list):
        return ["prometheus_remote_write: must be a list of remote write entries"]
    for index, entry in enumerate(remote_write or []):
        found.extend(entry_problems("prometheus_remote_write[%d]" % index, entry, replica_label))
    if amp_remote_write:
        found.extend(p for p in entry_problems("prometheus_amp_remote_write", from_amp_setting(amp_remote_write),
                                               replica_label)
                     if not p.startswith(("prometheus_amp_remote_write.region:",
                                          "prometheus_amp_remote_write.workspace_id:")))
    names = [r.get("name") for r in (remote_write or []) if isinstance(r, dict) and r.get("name")]
    for name in sorted(set(n for n in names if names.count(n) > 1)):
        found.append("prometheus_remote_write: the name %r is given to more than one entry (Prometheus needs "
                     "unique names)" % name)
    return found


def entries(remote_write, amp_remote_write=None, replica_label=None):
    """The rendered ``remote_write`` list: ``prometheus_remote_write`` in order, then
    ``prometheus_amp_remote_write``."""
    out = [render(entry, replica_label) for entry in remote_write or []]
    if amp_remote_write:
        out.append(render(from_amp_setting(amp_remote_write), replica_label))
    return out


# ---------------------------------------------------------------------------------------------
# Grafana datasources for the stores


def _strip(url, suffix):
    url = str(url).rstrip("/")
    return url[: -len(suffix)] if url.endswith(suffix) else None


def query_url(entry):
    """Where Grafana queries the store an entry writes to (its Prometheus API root), or None
    when it cannot be derived (Thanos Receive is queried through Thanos Query: give query_url).

    VictoriaMetrics: the write URL without ``/api/v1/write``. AMP: the workspace URL
    (``.../workspaces/<id>``, Grafana adds ``/api/v1/query``). Mimir: the push URL's base plus
    ``/prometheus`` (Mimir's Prometheus HTTP API prefix)."""
    if entry.get("query_url"):
        return str(entry["query_url"])
    kind, url = entry.get("kind"), entry.get("url")
    if kind == "amp":
        if url:
            return _strip(url, AMP_WRITE_PATH)
        if entry.get("region") and entry.get("workspace_id"):
            return "https://aps-workspaces.%s.amazonaws.com/workspaces/%s" % (entry["region"], entry["workspace_id"])
        return None
    if not url:
        return None
    if kind == "victoriametrics":
        return _strip(url, VM_WRITE_PATH) if _has_path(url) else str(url).rstrip("/")
    if kind == "mimir":
        base = _strip(url, MIMIR_PUSH_PATH)
        return base + "/prometheus" if base is not None else None
    return None


def datasource(entry):
    """One datasource in Grafana's provisioning form (name, type, access, url, jsonData,
    secureJsonData), for the grafana role's ``grafana_datasources``; None without a query URL."""
    url = query_url(entry)
    if not url:
        return None
    kind = entry.get("kind") or "prometheus"
    name = entry.get("datasource_name") or entry.get("name") or kind
    source = {"name": str(name), "type": "prometheus", "access": "proxy", "url": url, "jsonData": {}}
    secure = {}
    if kind == "amp":
        # Grafana's SigV4 settings of the Prometheus datasource; credentials from the default chain.
        source["jsonData"].update({"sigV4Auth": True, "sigV4AuthType": "default",
                                   "sigV4Region": str(entry.get("region") or "")})
        if entry.get("role_arn"):
            source["jsonData"]["sigV4AssumeRoleArn"] = str(entry["role_arn"])
    elif kind == "mimir":
        source["jsonData"]["prometheusType"] = "Mimir"
        tenant = entry.get("tenant") or (entry.get("headers") or {}).get(MIMIR_TENANT_HEADER)
        if tenant not in (None, ""):
            source["jsonData"]["httpHeaderName1"] = MIMIR_TENANT_HEADER
            secure["httpHeaderValue1"] = str(tenant)
    elif kind == "thanos_receive":
        source["jsonData"]["prometheusType"] = "Thanos"
    auth = entry.get("basic_auth") or {}
    if isinstance(auth, dict) and auth.get("username") and auth.get("password"):
        source["basicAuth"] = True
        source["basicAuthUser"] = str(auth["username"])
        secure["basicAuthPassword"] = str(auth["password"])
    if secure:
        source["secureJsonData"] = secure
    return source


def datasources(remote_write, amp_remote_write=None):
    """The datasources of every entry whose store can be queried (see query_url)."""
    candidates = [e for e in remote_write or [] if isinstance(e, dict)]
    if amp_remote_write:
        candidates.append(from_amp_setting(amp_remote_write))
    out = []
    for entry in candidates:
        source = datasource(entry)
        if source:
            out.append(source)
    return out
