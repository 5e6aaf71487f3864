# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Grafana HTTP API client every monitoring.stack Grafana module uses.

Works for self-hosted Grafana (service-account token or basic auth) and Amazon Managed Grafana
(workspace URL + service-account token). Built on ``ansible.module_utils.urls`` so no extra
Python dependency is needed on the host running the module. Errors are keyed on status codes
(Grafana's error texts vary between releases) and raised as GrafanaAPIError, whose
``describe(action)`` gives the collection's "Failed to <action>: <cause>. Hint: <hint>"
(``common.failure_message``).

Retries, all bounded in count (``retries``) and in total wait per call (``max_wait`` seconds):

- 429 (Amazon Managed Grafana throttles): after the answer's ``Retry-After`` (seconds or an
  HTTP date), or the backoff when it has none; any method, since a throttled request was not
  handled. A ``Retry-After`` beyond the remaining wait fails at once, saying so.
- 5xx and connection errors: GET, unversioned PUT and DELETE are retried with exponential
  backoff (a DELETE whose retry finds the object gone counts as done). A POST, or a PUT that
  carries a version (folder and datasource updates), is never sent again blindly: the server
  may have applied it before failing, and the repeat would then create a duplicate or be
  refused as a conflict. The object is looked up first (folder by uid or by title under its
  parent, dashboard by uid and content, datasource by uid or name, updates by the version they
  produce); when the change is there, the call counts as done.

Transport: one keep-alive HTTP(S) connection per client (``http.client``), so a run of N
requests pays for one TCP (and TLS) setup and one TLS context (loading the CA bundle took
~50 ms per request with ``open_url``, most of a request's time on loopback). The TLS context
is Ansible's ``make_context`` with the same ``validate_certs``/``ca_path`` as before, built
once. A reused connection that the server closed while idle is noticed before sending
(readable at EOF) and replaced; one that fails while sending a repeatable request is replaced
and the request sent once more. When a proxy applies to the url (``use_proxy`` and the
``*_proxy``/``no_proxy`` environment), or a GET is redirected, the request goes through
``open_url``'s ``Request`` as before (with the cached TLS context). ``connections`` counts the connections
opened (tests read it).
"""

from __future__ import annotations

import base64
import email.utils
import gzip
import http.client
import json
import re
import select
import time

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote, urlencode, urlsplit
from ansible.module_utils.six.moves.urllib.request import getproxies, proxy_bypass
from ansible.module_utils.urls import Request, make_context

from ansible_collections.monitoring.stack.plugins.module_utils.common import MonitoringError, failure_message
from ansible_collections.monitoring.stack.plugins.module_utils.dashboard_transforms import (
    is_schema_v2,
    normalize_for_compare,
)

RETRY_STATUSES = (500, 502, 503, 504)
API_CHOICES = ("auto", "legacy", "apis")
# Grafana's /apis namespaces: "default" is org 1, "org-<id>" another org, "stacks-<id>" a Grafana Cloud stack
NAMESPACE_RE = re.compile(r"^(default|org-[1-9][0-9]*|stacks-[1-9][0-9]*)$")
APIS_SINCE = 12        # /apis/dashboard.grafana.app and /apis/folder.grafana.app documented from Grafana 12
APIS_V1_SINCE = 13     # Grafana 13 documents v1; 12.x documents v1beta1
# Schema v2 dashboards: dashboard.grafana.app/v2beta1 on 12.x (behind the kubernetesDashboards and dynamic
# dashboards feature toggles), v2 from 13 (docs/grafana.md, "Schema v2 dashboards")
SCHEMA_V2_VERSIONS = {12: "v2beta1"}
SCHEMA_V2_DEFAULT = "v2"
FOLDER_ANNOTATION = "grafana.app/folder"
MESSAGE_ANNOTATION = "grafana.app/message"
# keys of a classic dashboard that the /apis object carries in metadata (name, generation), not in spec
APIS_SPEC_DROP = ("id", "uid", "version")
FLAVOR_CHOICES = ("auto", "grafana", "amg")
# An Amazon Managed Grafana workspace URL: g-<10 hex>.grafana-workspace.<region>.amazonaws.com (AWS API
# reference: workspace ids match ^g-[0-9a-f]{10}$). What a workspace's /api/health or /api/frontend/settings
# answers is not documented by AWS, so grafana_flavor: auto decides from the URL alone.
AMG_HOST_RE = re.compile(r"^g-[0-9a-f]{10}\.grafana-workspace\.[a-z0-9-]+\.amazonaws\.com$")
# What each Amazon Managed Grafana workspace version has (docs/grafana.md, "Amazon Managed Grafana"), by the
# Grafana major version the workspace reports: subfolders from the Grafana 10 workspaces
# (userguide/version-differences.html), the /apis structure in the Grafana 12 API reference
# (userguide/v12-Grafana-API-new-structure.html), dynamic dashboards (schema v2) from the Grafana 13 workspaces
# (userguide/v13-dash-dynamic-dashboards.html).
AMG_FEATURES = {
    "nested folders": 10,
    "/apis generation": 12,
    "schema v2 dashboards": 13,
}
# Self-hosted Grafana: nested folders on by default from 11.0 (behind the nestedFolders toggle in 10.x,
# grafana/grafana#84631), /apis from 12, schema v2 from 12 (behind toggles on 12.x)
GRAFANA_FEATURES = {
    "nested folders": 11,
    "/apis generation": 12,
    "schema v2 dashboards": 12,
}
THROTTLED = 429
IDEMPOTENT_METHODS = ("GET", "HEAD", "PUT", "DELETE")
REDIRECTS = (301, 302, 303, 307, 308)
USER_AGENT = "ansible-httpget"  # what open_url sends
# A reused connection that fails like this while sending was closed by the server in between.
DROPPED = (http.client.RemoteDisconnected, http.client.BadStatusLine, BrokenPipeError, ConnectionResetError,
           ConnectionAbortedError)

HINTS = {
    401: "check the token or user/password (Amazon Managed Grafana tokens expire after at most 30 days; "
         "a token of another org is refused too)",
    403: "the credentials lack permission for this; use a service account with the Editor or Admin role "
         "(or the needed RBAC permission)",
    404: "check the url (for Amazon Managed Grafana: https://<workspace id>.grafana-workspace.<region>.amazonaws.com) "
         "and the uid",
    409: "an object with the same name or uid already exists",
    412: "the object was changed by someone else, or the uid is already used by another object; "
         "set overwrite: true to replace it",
    429: "Grafana throttles this client (Amazon Managed Grafana limits API calls per workspace); run fewer "
         "Grafana tasks at once or raise retries",
}


class GrafanaAPIError(MonitoringError):
    """An HTTP error (status set) or a connection error (status None) from the Grafana API.

    A MonitoringError whose action is generic; ``describe(action)`` names the real one.
    """

    def __init__(self, status, message, method="", path="", body=None, transient=True, detail=""):
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        self.body = body
        self.transient = transient  # a connection error that a retry may cure (not a bad TLS file)
        self.detail = detail        # what the retries did, for 429s
        # someone else changed the object since it was read: legacy 412 version-mismatch, /apis 409 Conflict
        self.conflict = (status == 412 and isinstance(body, dict) and body.get("status") == "version-mismatch") or (
            status == 409 and isinstance(body, dict) and body.get("kind") == "Status"
            and body.get("reason") in ("Conflict", "AlreadyExists"))  # AlreadyExists: created meanwhile
        super(GrafanaAPIError, self).__init__("call the Grafana API", self._cause(), self._hint())

    def _cause(self):
        if self.status is None:
            return "cannot reach Grafana at %s: %s" % (self.path, self.message)
        cause = "HTTP %s from %s %s: %s" % (self.status, self.method, self.path, self.message)
        return "%s (%s)" % (cause, self.detail) if self.detail else cause

    def _hint(self):
        if self.status is None:
            return "check url, TLS options and that Grafana is running"
        return HINTS.get(self.status)

    def describe(self, action):
        return failure_message(action, self._cause(), self._hint())

    def __str__(self):
        return self.describe(self.action)


class GrafanaClient(object):
    """A small Grafana HTTP API client: JSON in, JSON out, bounded retries.

    ``request`` returns the decoded JSON body; ``get`` returns None on 404. Every request is
    counted in ``self.requests`` (tests and benchmarks read it).
    """

    def __init__(self, url, token=None, user=None, password=None, org_id=None, validate_certs=True,
                 ca_path=None, timeout=30, retries=3, backoff=0.5, sleep=time.sleep, use_proxy=True, max_wait=60,
                 api="auto", namespace=None, flavor="auto"):
        if not url:
            raise MonitoringError("configure the Grafana client", "url is required",
                                  "set url, or the environment variable GRAFANA_URL")
        self.url = url.rstrip("/")
        if flavor not in FLAVOR_CHOICES:
            raise MonitoringError("configure the Grafana client", "grafana_flavor must be one of %s, got %r" % (
                ", ".join(FLAVOR_CHOICES), flavor), None)
        self.flavor = flavor if flavor != "auto" else (
            "amg" if AMG_HOST_RE.match((urlsplit(self.url).hostname or "").lower()) else "grafana")
        if self.flavor == "amg" and not token and user is not None:
            raise MonitoringError("configure the Grafana client", "Amazon Managed Grafana takes only service-account "
                                  "tokens, not user/password (users sign in through IAM Identity Center or SAML)",
                                  "set token (monitoring.stack.amg_service_account mints one)")
        self.token = token
        self.user = user
        self.password = password
        self.org_id = org_id
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.use_proxy = use_proxy
        self.requests = 0
        self.connections = 0  # connections opened by the keep-alive transport
        self._conn = None
        self._context = None
        self._direct = None   # no proxy applies to the url (decided once)
        if api not in API_CHOICES:
            raise MonitoringError("configure the Grafana client", "api must be one of %s, got %r" % (
                ", ".join(API_CHOICES), api), None)
        self.api = api
        self.namespace = namespace or default_namespace(org_id)
        if not NAMESPACE_RE.match(self.namespace):
            raise MonitoringError("configure the Grafana client", "unknown namespace %r" % self.namespace,
                                  "use default (org 1), org-<org id> (other orgs) or stacks-<stack id> (Grafana Cloud)")
        self._version = None     # Grafana's version from /api/health
        self._generation = None  # (generation, /apis version, Grafana version) once detected
        self._objects = {}       # (kind, uid) -> the /apis object last read or written (its resourceVersion)

    @classmethod
    def from_params(cls, params):
        """Build from module parameters (the doc fragment's option names)."""
        return cls(url=params.get("url"), token=params.get("token"), user=params.get("url_username"),
                   password=params.get("url_password"), org_id=params.get("org_id"),
                   validate_certs=params.get("validate_certs", True), ca_path=params.get("ca_path"),
                   timeout=params.get("timeout") or 30, retries=params.get("retries", 3),
                   use_proxy=params.get("use_proxy", True), api=params.get("api") or "auto",
                   namespace=params.get("namespace"), flavor=params.get("grafana_flavor") or "auto")

    def _headers(self):
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer %s" % self.token
        elif self.user is not None:
            raw = ("%s:%s" % (self.user, self.password or "")).encode("utf-8")
            headers["Authorization"] = "Basic %s" % base64.b64encode(raw).decode("ascii")
        if self.org_id:
            headers["X-Grafana-Org-Id"] = str(self.org_id)
        return headers

    def request(self, method, path, body=None, query=None, repeatable=None):
        """Send one request and return the decoded body.

        429 is retried for every method; 5xx and connection errors only when ``repeatable``
        (default: GET, PUT, DELETE; POSTs and versioned PUTs go through ``_send_once``).
        Bounded by ``retries`` and ``max_wait``.
        """
        url = self.url + path
        if query:
            url += "?" + urlencode(query, doseq=True)
        data = None if body is None else json.dumps(body).encode("utf-8")
        idempotent = method in IDEMPOTENT_METHODS if repeatable is None else repeatable
        attempt = 0
        waited = 0.0
        while True:
            attempt += 1
            self.requests += 1
            try:
                status, headers, raw, reason = self._send(method, url, data, idempotent)
                if 200 <= status < 300:
                    return _decode(raw)
                if status == 404 and method == "DELETE" and attempt > 1:
                    return None  # an earlier attempt deleted it before its answer was lost
                decoded = _decode(raw)
                error = GrafanaAPIError(status, _message(decoded, status, reason), method, path, decoded)
                retry_after = _retry_after(headers) if status in (THROTTLED, 503) else None
                retryable = status == THROTTLED or (status in RETRY_STATUSES and idempotent)
            except URLError as exc:
                error = GrafanaAPIError(None, str(getattr(exc, "reason", exc)), method, self.url + path)
                retry_after, retryable = None, idempotent
            except (OSError, ValueError, http.client.HTTPException) as exc:
                # socket timeouts and resets, garbled answers; ValueError: bad TLS files or certificates
                transient = not isinstance(exc, ValueError)
                error = GrafanaAPIError(None, str(exc), method, self.url + path, transient=transient)
                retry_after, retryable = None, idempotent and transient
            delay = retry_after if retry_after is not None else self.backoff * (2 ** (attempt - 1))
            if retryable and attempt <= self.retries and waited + delay <= self.max_wait:
                self.sleep(delay)
                waited += delay
                continue
            if error.status == THROTTLED:
                error = GrafanaAPIError(error.status, error.message, method, path, error.body, detail=_throttle_detail(
                    attempt, waited, retry_after, self.retries, self.max_wait))
            raise error

    # transport ----------------------------------------------------------------------------------
    def _tls_context(self):
        if self._context is None:
            self._context = make_context(cafile=self.ca_path, validate_certs=self.validate_certs)
        return self._context

    def _is_direct(self, split):
        """No proxy applies to the url: the keep-alive connection can be used."""
        if self._direct is None:
            proxies = getproxies() if self.use_proxy else {}
            self._direct = not proxies.get(split.scheme) or bool(proxy_bypass(split.hostname or ""))
        return self._direct

    def _send(self, method, url, data, repeatable):
        """(status, headers, body bytes, reason) of one request, for every status. Connection
        problems raise OSError (or URLError/ValueError from the open_url path)."""
        split = urlsplit(url)
        if split.scheme not in ("http", "https") or not self._is_direct(split):
            return self._send_open_url(method, url, data)
        target = split.path or "/"
        if split.query:
            target += "?" + split.query
        headers = dict(self._headers(), **{"User-Agent": USER_AGENT})
        fresh = self._connect(split)
        try:
            self._conn.request(method, target, body=data, headers=headers)
            response = self._conn.getresponse()
        except DROPPED:
            self.close()
            if fresh or not repeatable:
                raise
            self._connect(split)  # the server closed the reused connection: once more on a new one
            try:
                self._conn.request(method, target, body=data, headers=headers)
                response = self._conn.getresponse()
            except Exception:
                self.close()
                raise
        except Exception:
            self.close()
            raise
        try:
            raw = response.read()
        except Exception:
            self.close()
            raise
        if response.will_close:
            self.close()
        if (response.headers.get("Content-Encoding") or "").lower() == "gzip":
            raw = gzip.decompress(raw)
        if response.status in REDIRECTS and method in ("GET", "HEAD"):
            return self._send_open_url(method, url, data)  # open_url follows "safe" redirects
        return response.status, response.headers, raw, response.reason

    def _connect(self, split):
        """Make sure a usable connection is open; True when a new one was opened."""
        if self._conn is not None and self._conn.sock is not None and not _dropped(self._conn.sock):
            return False
        self.close()
        port = split.port
        if split.scheme == "https":
            conn = http.client.HTTPSConnection(split.hostname, port, timeout=self.timeout, context=self._tls_context())
        else:
            conn = http.client.HTTPConnection(split.hostname, port, timeout=self.timeout)
        conn.connect()
        self.connections += 1
        self._conn = conn
        return True

    def _send_open_url(self, method, url, data):
        try:
            response = Request().open(method, url, data=data, headers=self._headers(), context=self._tls_context(),
                                      timeout=self.timeout, follow_redirects="safe", use_proxy=self.use_proxy,
                                      use_netrc=False, http_agent=USER_AGENT)
            return response.getcode(), response.headers, response.read(), getattr(response, "reason", "")
        except HTTPError as exc:
            return exc.code, exc.headers, _read(exc), getattr(exc, "reason", "")

    def close(self):
        """Close the keep-alive connection (a later request opens a new one)."""
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # pylint: disable=broad-except
                pass
            self._conn = None

    def _send_once(self, method, path, body, look_up):
        """A write that is not sent twice blindly: after a 5xx or a connection error,
        ``look_up()`` returns the answer to give when the change is there (the server applied
        it before failing), or None, and only then is it sent again (bounded like ``request``)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return self.request(method, path, body, repeatable=False)
            except GrafanaAPIError as exc:
                failed_midway = (exc.status is None and exc.transient) or (exc.status or 0) >= 500
                if not failed_midway:
                    raise
                found = look_up()
                if found is not None:
                    return found
                if attempt > self.retries:
                    raise
                self.sleep(self.backoff * (2 ** (attempt - 1)))

    def get(self, path, query=None):
        """GET; None when the object does not exist (404)."""
        try:
            return self.request("GET", path, query=query)
        except GrafanaAPIError as exc:
            if exc.status == 404:
                return None
            raise

    # API generation ---------------------------------------------------------------------------
    def generation(self):
        """("legacy" | "apis", /apis version or None, Grafana version), asked once per client.

        ``api: legacy`` asks nothing. Otherwise one ``GET /api/health`` (unauthenticated) gives the
        version: Grafana 12 and later have ``/apis`` (v1beta1 on 12.x, v1 from 13), older ones do
        not; ``api: apis`` on an older Grafana is refused before any write.
        """
        if self._generation is None:
            if self.api == "legacy":
                self._generation = ("legacy", None, None)
            else:
                version = self.server_version()
                major = _major(version)
                if self.flavor == "amg" and self.api == "apis":
                    self.require("/apis generation", "choose the Grafana API", "api: apis, but ",
                                 "use api: auto or api: legacy")
                if major is not None and major < APIS_SINCE:
                    if self.api == "apis":
                        raise MonitoringError(
                            "choose the Grafana API", "api: apis, but Grafana %s has no /apis dashboard and folder "
                            "resources (Grafana 12 and later have them)" % version, "use api: auto or api: legacy")
                    self._generation = ("legacy", None, version)
                elif major is None and self.api == "auto":  # version hidden: the routes every release has
                    self._generation = ("legacy", None, version)
                else:
                    self._generation = ("apis", "v1" if major is None or major >= APIS_V1_SINCE else "v1beta1", version)
        return self._generation

    def server_version(self):
        """Grafana's version from /api/health ("" when hidden), asked once per client."""
        if self._version is None:
            health = self.request("GET", "/api/health") or {}
            self._version = str(health.get("version") or "") if isinstance(health, dict) else ""
        return self._version

    def has(self, feature):
        """(supported, what lacks it) of a feature of AMG_FEATURES on this server, from the version of
        /api/health (asked once). A hidden version counts as supported on Grafana (the server then
        answers for itself) and as unsupported on AMG, where nothing else tells."""
        try:
            version = self.server_version()
        except GrafanaAPIError:
            version = ""
        major = _major(version)
        if self.flavor == "amg":
            match = re.match(r"^v?(\d+\.\d+)", version)
            what = "Amazon Managed Grafana %s workspaces" % (match.group(1) if match else "(version hidden)")
            return major is not None and major >= AMG_FEATURES[feature], what
        return major is None or major >= GRAFANA_FEATURES[feature], "Grafana %s" % version

    def require(self, feature, action, prefix="", hint=None):
        """Refuse, before any write, what this Amazon Managed Grafana workspace version lacks."""
        supported, what = self.has(feature)
        if not supported:
            since = AMG_FEATURES[feature]
            raise MonitoringError(action, "%s%s have no %s (Amazon Managed Grafana has them from its Grafana %d "
                                  "workspaces); nothing was sent" % (prefix, what, feature, since),
                                  hint or "update the workspace version (AWS: UpdateWorkspaceConfiguration grafanaVersion)")

    def uses_apis(self):
        return self.generation()[0] == "apis"

    def _apis_path(self, group, resource, name=None, version=None):
        path = "/apis/%s.grafana.app/%s/namespaces/%s/%s" % (group, version or self.generation()[1],
                                                             quote(self.namespace, safe=""), resource)
        return path + "/" + quote(name, safe="") if name else path

    def _apis_get(self, group, resource, name, version=None):
        path = self._apis_path(group, resource, name, version)
        try:
            found = self.request("GET", path)
        except GrafanaAPIError as exc:
            if exc.status != 404:
                raise
            if version and not (isinstance(exc.body, dict) and exc.body.get("kind") == "Status"):
                # the router's 404, not the resource's NotFound: this API version is not served
                raise MonitoringError(
                    "read dashboard %s" % name, "Grafana %s does not serve dashboard.grafana.app/%s (GET %s answered "
                    "404 from the router), so it cannot store schema v2 dashboards" % (self.generation()[2] or "", version, path),
                    "on Grafana 12 turn on the kubernetesDashboards and dynamic dashboards feature toggles, or export "
                    "the dashboard as classic JSON")
            found = None
        self._objects[(resource, name)] = found if isinstance(found, dict) else None  # None: read, not there
        return found

    def schema_v2_version(self):
        """The dashboard.grafana.app version that carries schema v2 dashboards on this Grafana
        (v2beta1 on 12.x, v2 from 13), or MonitoringError before any write: with ``api: legacy``
        before any request, otherwise after the one ``/api/health`` question."""
        action = "send a schema v2 dashboard"
        if self.api == "legacy":
            raise MonitoringError(action, "api: legacy, but the legacy /api generation cannot carry schema v2 dashboards "
                                  "(elements, layout): only /apis dashboard.grafana.app v2beta1 (Grafana 12) and v2 "
                                  "(Grafana 13) can; nothing was sent",
                                  "use api: auto or api: apis, or export the dashboard as classic JSON")
        if self.flavor == "amg":
            self.require("schema v2 dashboards", action, hint="export the dashboard as classic JSON, or update the "
                         "workspace to Grafana 13")
        generation, _version, grafana = self.generation()
        if generation != "apis":
            raise MonitoringError(action, "Grafana %s has only the legacy /api generation, which cannot carry schema v2 "
                                  "dashboards (elements, layout); they need /apis dashboard.grafana.app v2beta1 (Grafana "
                                  "12) or v2 (Grafana 13); nothing was sent" % (grafana or "(version hidden)"),
                                  "export the dashboard as classic JSON, or upgrade Grafana")
        return SCHEMA_V2_VERSIONS.get(_major(grafana), SCHEMA_V2_DEFAULT)

    def _apis_write(self, method, group, resource, name, body, look_up, version=None):
        path = self._apis_path(group, resource, name if method == "PUT" else None, version)
        saved = self._send_once(method, path, body, look_up)
        if isinstance(saved, dict) and saved.get("metadata"):
            self._objects[(resource, saved["metadata"].get("name"))] = saved
        return saved

    def _known(self, resource, uid, version=None):
        """The /apis object of ``uid`` as last read (read it when this client has not)."""
        if (resource, uid) not in self._objects:
            group = "dashboard" if resource == "dashboards" else "folder"
            return self._apis_get(group, resource, uid, version)
        return self._objects[(resource, uid)]

    # Dashboards -------------------------------------------------------------------------------
    def get_dashboard(self, uid, schema_v2=False):
        """{"dashboard": ..., "meta": ...} or None (the legacy shape on both generations).

        ``schema_v2`` reads it as a schema v2 resource (``schema_v2_version``; refused without one)."""
        if schema_v2:
            found = self._apis_get("dashboard", "dashboards", uid, self.schema_v2_version())
            return _dashboard_from_apis(found) if found else None
        if self.uses_apis():
            found = self._apis_get("dashboard", "dashboards", uid)
            return _dashboard_from_apis(found) if found else None
        return self.get("/api/dashboards/uid/%s" % quote(uid, safe=""))

    def save_dashboard(self, dashboard, folder_uid="", overwrite=False, message=None):
        """Create or update; on /apis the update carries the resourceVersion this client read
        (unless ``overwrite``), so a change made in between is refused (409, ``conflict``).

        A schema v2 dashboard (``elements``, ``layout``) goes to dashboard.grafana.app v2beta1/v2
        only, and is refused before any write where there is none (``schema_v2_version``); classic
        JSON goes where it always went (legacy /api, or v1beta1/v1), never converted here."""
        schema_v2 = is_schema_v2(dashboard)
        v2_version = self.schema_v2_version() if schema_v2 else None

        def look_up():
            uid = dashboard.get("uid")
            if self.uses_apis():
                self._objects.pop(("dashboards", uid), None)
            stored = self.get_dashboard(uid, schema_v2=schema_v2) if uid else None
            if not stored:
                return None
            meta = stored.get("meta") or {}
            saved = stored.get("dashboard") or {}
            if (meta.get("folderUid") or "") != (folder_uid or "") or \
                    normalize_for_compare(saved) != normalize_for_compare(dashboard):
                return None
            if dashboard.get("version") is not None and (saved.get("version") or 0) <= dashboard["version"]:
                return None  # an update not applied (the content was already the same)
            return {"id": saved.get("id"), "uid": uid, "url": meta.get("url"), "status": "success",
                    "version": saved.get("version"), "slug": meta.get("slug"), "folderUid": folder_uid or ""}

        if schema_v2 or self.uses_apis():
            return self._save_dashboard_apis(dashboard, folder_uid, overwrite, message, look_up, v2_version)
        body = {"dashboard": dashboard, "folderUid": folder_uid or "", "overwrite": bool(overwrite)}
        if message:
            body["message"] = message
        return self._send_once("POST", "/api/dashboards/db", body, look_up)

    def _save_dashboard_apis(self, dashboard, folder_uid, overwrite, message, look_up, version=None):
        uid = dashboard.get("uid")
        stored = self._known("dashboards", uid, version) if uid else None
        annotations = {FOLDER_ANNOTATION: folder_uid} if folder_uid else {}
        if message:
            annotations[MESSAGE_ANNOTATION] = message
        metadata = {"annotations": annotations}
        if uid:
            metadata["name"] = uid
        else:
            metadata["generateName"] = "d"
        spec = dict((key, value) for key, value in dashboard.items() if key not in APIS_SPEC_DROP)
        if stored:
            if not overwrite:
                metadata["resourceVersion"] = stored["metadata"].get("resourceVersion")
            saved = self._apis_write("PUT", "dashboard", "dashboards", uid, {"metadata": metadata, "spec": spec}, look_up,
                                     version)
        else:
            saved = self._apis_write("POST", "dashboard", "dashboards", None, {"metadata": metadata, "spec": spec}, look_up,
                                     version)
        if isinstance(saved, dict) and saved.get("metadata"):
            converted = _dashboard_from_apis(saved)
            return {"id": converted["dashboard"].get("id"), "uid": converted["dashboard"]["uid"],
                    "url": converted["meta"]["url"], "status": "success", "version": converted["dashboard"]["version"],
                    "slug": converted["meta"]["slug"], "folderUid": converted["meta"]["folderUid"]}
        return saved  # the look-up's answer after a failed write

    def delete_dashboard(self, uid):
        if self.uses_apis():
            self._objects.pop(("dashboards", uid), None)
            return self.request("DELETE", self._apis_path("dashboard", "dashboards", uid))
        return self.request("DELETE", "/api/dashboards/uid/%s" % quote(uid, safe=""))

    def search(self, **query):
        """All hits of /api/search (paged at 1000); query values may be lists. The search stays on
        /api on every generation (Grafana 13 keeps the legacy routes working)."""
        hits = []
        page = 1
        while page <= 100:
            batch = self.request("GET", "/api/search", query=dict(query, limit=1000, page=page)) or []
            hits.extend(batch)
            if len(batch) < 1000:
                break
            page += 1
        return hits

    # Folders ----------------------------------------------------------------------------------
    def get_folder(self, uid):
        """The folder (legacy DTO shape on both generations: uid, title, description, parentUid,
        version) or None."""
        if self.uses_apis():
            found = self._apis_get("folder", "folders", uid)
            return _folder_from_apis(found) if found else None
        return self.get("/api/folders/%s" % quote(uid, safe=""))

    def list_folders(self, parent_uid=None):
        if self.uses_apis():
            items, token = [], None
            for _page in range(100):
                query = {"limit": 1000}
                if token:
                    query["continue"] = token
                answer = self.request("GET", self._apis_path("folder", "folders"), query=query) or {}
                items.extend(_folder_from_apis(item) for item in answer.get("items") or [])
                token = (answer.get("metadata") or {}).get("continue")
                if not token:
                    break
            return [dict((k, v) for k, v in item.items() if k in ("id", "uid", "title", "parentUid"))
                    for item in items if (item.get("parentUid") or "") == (parent_uid or "")]
        query = {"limit": 1000}
        if parent_uid:
            query["parentUid"] = parent_uid
        return self.request("GET", "/api/folders", query=query) or []

    def create_folder(self, title, uid=None, parent_uid=None, description=None):
        def look_up():
            if uid:
                self._objects.pop(("folders", uid), None)
                found = self.get_folder(uid)
            else:
                hits = [hit for hit in self.search(type="dash-folder", query=title)
                        if hit.get("title") == title and (hit.get("folderUid") or "") == (parent_uid or "")]
                found = self.get_folder(hits[0]["uid"]) if hits else None
            if found and found.get("title") == title and (found.get("parentUid") or "") == (parent_uid or ""):
                return self._objects.get(("folders", found["uid"])) if self.uses_apis() else found
            return None

        if self.uses_apis():
            metadata = {"name": uid} if uid else {"generateName": "f"}
            if parent_uid:
                metadata["annotations"] = {FOLDER_ANNOTATION: parent_uid}
            spec = {"title": title}
            if description is not None:
                spec["description"] = description
            saved = self._apis_write("POST", "folder", "folders", None, {"metadata": metadata, "spec": spec}, look_up)
            return _folder_from_apis(saved)
        body = {"title": title}
        if uid:
            body["uid"] = uid
        if parent_uid:
            body["parentUid"] = parent_uid
        if description is not None:
            body["description"] = description
        return self._send_once("POST", "/api/folders", body, look_up)

    def update_folder(self, uid, title, version, description=None, overwrite=False):
        def look_up():
            if self.uses_apis():
                self._objects.pop(("folders", uid), None)
            found = self.get_folder(uid)
            applied = found and found.get("title") == title and (
                description is None or (found.get("description") or "") == description)
            if not (applied and (version is None or (found.get("version") or 0) > version)):
                return None
            return self._objects.get(("folders", uid)) if self.uses_apis() else found

        if self.uses_apis():
            return self._put_folder_apis(uid, look_up, overwrite, title=title, description=description)
        body = {"title": title, "version": version, "overwrite": bool(overwrite)}
        if description is not None:
            body["description"] = description
        return self._send_once("PUT", "/api/folders/%s" % quote(uid, safe=""), body, look_up)

    def _put_folder_apis(self, uid, look_up, overwrite=False, title=None, description=None, parent_uid=None):
        """PUT the folder as last read with the given changes; its resourceVersion guards it."""
        stored = self._known("folders", uid)
        if not stored:
            raise GrafanaAPIError(404, "folder not found", "PUT", self._apis_path("folder", "folders", uid))
        metadata = {"name": uid, "annotations": dict((stored["metadata"].get("annotations") or {}))}
        for key in list(metadata["annotations"]):
            if key != FOLDER_ANNOTATION:
                metadata["annotations"].pop(key)  # server-set (createdBy, updatedTimestamp...)
        if parent_uid is not None:
            if parent_uid:
                metadata["annotations"][FOLDER_ANNOTATION] = parent_uid
            else:
                metadata["annotations"].pop(FOLDER_ANNOTATION, None)
        if not overwrite:
            metadata["resourceVersion"] = stored["metadata"].get("resourceVersion")
        spec = dict(stored.get("spec") or {})
        if title is not None:
            spec["title"] = title
        if description is not None:
            spec["description"] = description
        saved = self._apis_write("PUT", "folder", "folders", uid, {"metadata": metadata, "spec": spec}, look_up)
        return _folder_from_apis(saved)

    def move_folder(self, uid, parent_uid):
        def look_up():
            if self.uses_apis():
                self._objects.pop(("folders", uid), None)
            found = self.get_folder(uid)
            if not (found and (found.get("parentUid") or "") == (parent_uid or "")):
                return None
            return self._objects.get(("folders", uid)) if self.uses_apis() else found

        if self.uses_apis():  # the parent is the grafana.app/folder annotation; no move route
            return self._put_folder_apis(uid, look_up, parent_uid=parent_uid or "")
        return self._send_once("POST", "/api/folders/%s/move" % quote(uid, safe=""), {"parentUid": parent_uid or ""}, look_up)

    def delete_folder(self, uid):
        if self.uses_apis():
            self._objects.pop(("folders", uid), None)
            return self.request("DELETE", self._apis_path("folder", "folders", uid))
        return self.request("DELETE", "/api/folders/%s" % quote(uid, safe=""))

    # Datasources ------------------------------------------------------------------------------
    def list_datasources(self):
        return self.request("GET", "/api/datasources") or []

    def get_datasource(self, uid=None, name=None):
        """Full datasource DTO by uid or name, or None.

        By name, a 403 or 404 falls back to the list (Grafana 9.1+ may answer 403 for unknown
        names), then reads the full DTO by uid.
        """
        if uid:
            return self.get("/api/datasources/uid/%s" % quote(uid, safe=""))
        try:
            return self.get("/api/datasources/name/%s" % quote(name, safe=""))
        except GrafanaAPIError as exc:
            if exc.status != 403:
                raise
        for item in self.list_datasources():
            if item.get("name") == name:
                return self.get("/api/datasources/uid/%s" % quote(item["uid"], safe=""))
        return None

    def create_datasource(self, body):
        def look_up():
            found = self.get_datasource(uid=body.get("uid"), name=None if body.get("uid") else body.get("name"))
            if found and found.get("name") == body.get("name") and found.get("type") == body.get("type"):
                return {"message": "Datasource added", "id": found.get("id"), "name": found.get("name"),
                        "datasource": found}
            return None

        return self._send_once("POST", "/api/datasources", body, look_up)

    def update_datasource(self, uid, body):
        path = "/api/datasources/uid/%s" % quote(uid, safe="")
        if not body.get("version"):  # no version check: repeating it is harmless
            return self.request("PUT", path, body)

        def look_up():
            found = self.get_datasource(uid=body.get("uid") or uid)
            applied = found and found.get("version") == body["version"] + 1 and all(
                found.get(key) == body[key] for key in ("name", "type", "url") if key in body)
            return {"message": "Datasource updated", "id": found.get("id"), "name": found.get("name"),
                    "datasource": found} if applied else None

        return self._send_once("PUT", path, body, look_up)

    def delete_datasource(self, uid):
        return self.request("DELETE", "/api/datasources/uid/%s" % quote(uid, safe=""))

    # Service accounts (legacy /api on every generation; ids are the service-account API's own) ---
    def find_service_account(self, name):
        """The service account called ``name`` (exact match), or None."""
        for page in range(1, 101):
            answer = self.request("GET", "/api/serviceaccounts/search",
                                  query={"query": name, "perpage": 1000, "page": page}) or {}
            accounts = answer.get("serviceAccounts") or []
            for account in accounts:
                if account.get("name") == name:
                    return account
            if len(accounts) < 1000:
                return None
        return None

    def create_service_account(self, name, role, disabled=False):
        body = {"name": name, "role": role, "isDisabled": bool(disabled)}
        return self._send_once("POST", "/api/serviceaccounts", body, lambda: self.find_service_account(name))

    def update_service_account(self, account_id, role, disabled):
        return self.request("PATCH", "/api/serviceaccounts/%d" % int(account_id),
                            {"role": role, "isDisabled": bool(disabled)})

    def delete_service_account(self, account_id):
        return self.request("DELETE", "/api/serviceaccounts/%d" % int(account_id))

    def list_service_account_tokens(self, account_id):
        return self.request("GET", "/api/serviceaccounts/%d/tokens" % int(account_id)) or []

    def create_service_account_token(self, account_id, name, seconds_to_live=0):
        """{id, name, key}: the key is in this answer only. Never repeated blindly (a second
        POST would mint a second token); a 5xx fails the task."""
        return self.request("POST", "/api/serviceaccounts/%d/tokens" % int(account_id),
                            {"name": name, "secondsToLive": int(seconds_to_live or 0)}, repeatable=False)

    def delete_service_account_token(self, account_id, token_id):
        return self.request("DELETE", "/api/serviceaccounts/%d/tokens/%d" % (int(account_id), int(token_id)))


def default_namespace(org_id):
    """The /apis namespace of an org: "default" for org 1 (or none given), "org-<id>" otherwise."""
    return "default" if not org_id or int(org_id) == 1 else "org-%d" % int(org_id)


def _major(version):
    match = re.match(r"^v?(\d+)\.", str(version or ""))
    return int(match.group(1)) if match else None


def _generation(metadata):
    try:
        return int(metadata.get("generation") or 0) or None
    except (TypeError, ValueError):
        return None


def _internal_id(metadata):
    try:
        return int((metadata.get("labels") or {}).get("grafana.app/deprecatedInternalID"))
    except (TypeError, ValueError):
        return None


def _dashboard_from_apis(obj):
    """An /apis Dashboard object in the legacy {"dashboard", "meta"} shape the modules compare:
    uid from metadata.name, version from metadata.generation, folder from grafana.app/folder."""
    metadata = obj.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    uid = metadata.get("name")
    dashboard = dict(obj.get("spec") or {})
    dashboard.update({"uid": uid, "version": _generation(metadata), "id": _internal_id(metadata)})
    slug = re.sub(r"[^a-z0-9]+", "-", str(dashboard.get("title") or "").lower()).strip("-")
    meta = {"folderUid": annotations.get(FOLDER_ANNOTATION) or "", "url": "/d/%s/%s" % (uid, slug), "slug": slug,
            "version": dashboard["version"], "resourceVersion": metadata.get("resourceVersion"),
            "updatedBy": annotations.get("grafana.app/updatedBy") or annotations.get("grafana.app/createdBy")}
    return {"dashboard": dashboard, "meta": meta}


def _folder_from_apis(obj):
    if not isinstance(obj, dict) or not obj.get("metadata"):
        return obj
    metadata = obj["metadata"]
    spec = obj.get("spec") or {}
    folder = {"uid": metadata.get("name"), "title": spec.get("title"), "description": spec.get("description") or "",
              "version": _generation(metadata), "resourceVersion": metadata.get("resourceVersion"),
              "id": _internal_id(metadata), "url": "/dashboards/f/%s" % metadata.get("name")}
    parent = (metadata.get("annotations") or {}).get(FOLDER_ANNOTATION)
    if parent:
        folder["parentUid"] = parent
    return folder


def _dropped(sock):
    """An idle keep-alive socket that is readable was closed by the server (or holds junk)."""
    try:
        readable, _w, _x = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _read(exc):
    try:
        return exc.read()
    except Exception:  # pylint: disable=broad-except
        return b""


def _retry_after(headers):
    """Seconds of a Retry-After header (delta seconds or an HTTP date), or None."""
    value = (headers or {}).get("Retry-After") if headers is not None else None
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _throttle_detail(attempt, waited, retry_after, retries, max_wait):
    text = "throttled %d times, waited %gs" % (attempt, waited)
    if retry_after is not None:
        text += "; the last answer asked for Retry-After %gs" % retry_after
    if attempt > retries:
        return text + " (retries: %d used up)" % retries
    return text + " (more than the %gs total wait allowed)" % max_wait


def _decode(raw):
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _message(decoded, status, reason=""):
    if isinstance(decoded, dict):
        message = decoded.get("message") or decoded.get("title") or ""
        if decoded.get("status") and decoded.get("status") not in message:
            message = "%s (%s)" % (message, decoded["status"])
        return message or reason or "HTTP %s" % status
    if isinstance(decoded, str) and decoded.strip():
        return decoded.strip()[:300]
    return str(reason or "HTTP %s" % status)
