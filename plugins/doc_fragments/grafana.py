# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by every monitoring.stack Grafana module."""

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of Grafana, for example V(http://127.0.0.1:3000) or, for Amazon Managed Grafana, the
        workspace URL V(https://g-0123456789.grafana-workspace.eu-west-1.amazonaws.com).
      - If not set, the environment variable E(GRAFANA_URL) is used.
      - Set it once for all Grafana modules with C(module_defaults) and the group C(group/monitoring.stack.grafana).
    type: str
    required: true
    aliases: [grafana_url]
  token:
    description:
      - Service-account token, sent in the header C(Authorization) as C(Bearer <token>). The only option on Amazon Managed
        Grafana and Grafana Cloud. Takes precedence over O(url_username)/O(url_password).
      - If not set, the environment variable E(GRAFANA_TOKEN) is used.
    type: str
    aliases: [grafana_api_key]
  url_username:
    description:
      - User for basic authentication (self-hosted Grafana), used when O(token) is not set.
      - If not set, the environment variable E(GRAFANA_USER) is used.
    type: str
    aliases: [grafana_user]
  url_password:
    description:
      - Password for basic authentication.
      - If not set, the environment variable E(GRAFANA_PASSWORD) is used.
    type: str
    aliases: [grafana_password]
  org_id:
    description:
      - Organisation to act on, sent as the C(X-Grafana-Org-Id) header. A service-account token belongs to one
        org; leave this unset with tokens.
      - If not set, the environment variable E(GRAFANA_ORG_ID) is used.
    type: int
  validate_certs:
    description: Verify the server's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: PEM file of the CA that signed the server's certificate.
    type: path
  timeout:
    description: Seconds to wait for each HTTP response.
    type: int
    default: 30
  retries:
    description:
      - How many times a request is sent again after HTTP 429 (throttling, as Amazon Managed Grafana does), an HTTP
        5xx answer or a connection error. A 429 waits for the answer's C(Retry-After) (else the backoff); the
        backoff is exponential from half a second; at most 60 seconds of waiting in total per request.
      - 5xx and connection errors are retried for C(GET), C(DELETE) and unversioned C(PUT) only. A C(POST) (create
        folder or datasource, save dashboard, move folder) or a versioned update (folder, datasource) is not sent
        again blindly; the object is looked up first and, when the server applied the change before failing, the
        call counts as done.
      - Other errors are not retried.
    type: int
    default: 3
  use_proxy:
    description: Use the proxy given by the environment (C(https_proxy), C(no_proxy)...).
    type: bool
    default: true
  api:
    description:
      - Which generation of Grafana's HTTP API to use for dashboards and folders.
      - V(auto) asks C(GET /api/health) once per task and uses the C(/apis) resources (C(dashboard.grafana.app),
        C(folder.grafana.app); C(v1beta1) on Grafana 12, C(v1) from Grafana 13) where the server has them, the
        legacy C(/api/dashboards) and C(/api/folders) routes on Grafana 11 and older (and when the version is
        hidden).
      - V(legacy) always uses the C(/api) routes and asks nothing (Grafana 13 deprecates them but keeps them working).
      - V(apis) always uses C(/apis); on a Grafana older than 12 the task fails before anything is written.
      - On C(/apis) an update carries the C(resourceVersion) read in the same task, so a change made in Grafana in
        between is refused (409 Conflict) instead of overwritten; the folder of a dashboard and the parent of a folder
        are the C(grafana.app/folder) annotation. Search and datasources use C(/api) on every generation
        (datasources by uid or name, never by numeric id).
    type: str
    choices: [auto, legacy, apis]
    default: auto
  namespace:
    description:
      - The C(/apis) namespace. Default V(default) for org 1 (or no O(org_id)), C(org-<id>) for O(org_id) other than 1.
      - Set C(stacks-<stack id>) for Grafana Cloud. Anything else is refused before any request.
    type: str
  grafana_flavor:
    description:
      - Which Grafana this is, for the limits of Amazon Managed Grafana (AMG) workspaces.
      - V(auto) takes V(amg) when the O(url) is a workspace URL (C(g-<10 hex digits>.grafana-workspace.<region>.amazonaws.com))
        and V(grafana) otherwise. AWS does not document what a workspace answers on C(/api/health) or
        C(/api/frontend/settings), so only the URL decides; set V(amg) for a workspace behind another name (a proxy,
        a VPC endpoint).
      - With V(amg), what the workspace version (read from C(GET /api/health), once per task) lacks is refused before
        anything is written, naming the version; AWS documents nested folders from its Grafana 10 (10.4) workspaces,
        the C(/apis) generation from 12 and schema v2 dashboards from 13, so for example a nested folder on a 9.4
        workspace fails with C(Amazon Managed Grafana 9.4 workspaces have no nested folders). A workspace that hides its
        version gets none of the three. O(url_username)/O(url_password) are refused (workspaces take only
        service-account tokens).
      - V(grafana) applies self-hosted Grafana's rules (nested folders from 11, C(/apis) from 12).
    type: str
    choices: [auto, grafana, amg]
    default: auto
notes:
  - 'Errors are reported as C(Failed to <action>: HTTP <status> from <method> <path>: <message>. Hint: <hint>),
    the hint for the common causes (401 bad or expired token, 403 missing permission, 412 changed by someone else,
    429 throttled).'
  - Nested folders need Grafana 11 or later, or an Amazon Managed Grafana 10.4 or later workspace (O(grafana_flavor));
    on older ones a nested folder is refused with a message naming the version (read from C(/api/health)) before
    anything is created.
"""
