# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Grafana HTTP API client every monitoring.stack Grafana module uses.

Works for self-hosted Grafana (service-account token or basic auth) and Amazon Managed Grafana
(workspace URL + service-account token). Built on ``ansible.module_utils.urls`` so no extra
Python dependency is needed on the host running the module. Errors are keyed on status codes
(Grafana's error texts vary between releases) and raised as GrafanaAPIError, whose
``describe(action)`` gives "Failed to <action>: <cause>" plus a hint for the known mistakes.
"""

from __future__ import annotations

import base64
import json
import time

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote, urlencode
from ansible.module_utils.urls import open_url

RETRY_STATUSES = (500, 502, 503, 504)

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
}


class GrafanaAPIError(Exception):
    """An HTTP error (status set) or a connection error (status None) from the Grafana API."""

    def __init__(self, status, message, method="", path="", body=None):
        super(GrafanaAPIError, self).__init__(message)
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        self.body = body

    def describe(self, action):
        if self.status is None:
            cause = "cannot reach Grafana at %s: %s" % (self.path, self.message)
            return "Failed to %s: %s (check url, TLS options and that Grafana is running)" % (action, cause)
        cause = "HTTP %s from %s %s: %s" % (self.status, self.method, self.path, self.message)
        hint = HINTS.get(self.status)
        return "Failed to %s: %s%s" % (action, cause, " (hint: %s)" % hint if hint else "")

    def __str__(self):
        return self.describe("call the Grafana API")


class GrafanaClient(object):
    """A small Grafana HTTP API client: JSON in, JSON out, bounded retries.

    ``request`` returns the decoded JSON body; ``get`` returns None on 404. Every request is
    counted in ``self.requests`` (tests and benchmarks read it).
    """

    def __init__(self, url, token=None, user=None, password=None, org_id=None, validate_certs=True,
                 ca_path=None, timeout=30, retries=3, backoff=0.5, sleep=time.sleep, use_proxy=True):
        if not url:
            raise ValueError("Failed to configure the Grafana client: url is required (or GRAFANA_URL)")
        self.url = url.rstrip("/")
        self.token = token
        self.user = user
        self.password = password
        self.org_id = org_id
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.sleep = sleep
        self.use_proxy = use_proxy
        self.requests = 0

    @classmethod
    def from_params(cls, params):
        """Build from module parameters (the doc fragment's option names)."""
        return cls(url=params.get("url"), token=params.get("token"), user=params.get("url_username"),
                   password=params.get("url_password"), org_id=params.get("org_id"),
                   validate_certs=params.get("validate_certs", True), ca_path=params.get("ca_path"),
                   timeout=params.get("timeout") or 30, retries=params.get("retries", 3),
                   use_proxy=params.get("use_proxy", True))

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

    def request(self, method, path, body=None, query=None):
        """Send one request (retried on 5xx/connection errors) and return the decoded body."""
        url = self.url + path
        if query:
            url += "?" + urlencode(query, doseq=True)
        data = None if body is None else json.dumps(body).encode("utf-8")
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            try:
                response = open_url(url, data=data, headers=self._headers(), method=method,
                                    validate_certs=self.validate_certs, ca_path=self.ca_path,
                                    timeout=self.timeout, follow_redirects="safe", use_proxy=self.use_proxy, use_netrc=False)
                return _decode(response.read())
            except HTTPError as exc:
                raw = _read(exc)
                if exc.code in RETRY_STATUSES and attempt <= self.retries:
                    self.sleep(self.backoff * (2 ** (attempt - 1)))
                    continue
                decoded = _decode(raw)
                raise GrafanaAPIError(exc.code, _message(decoded, exc), method, path, decoded)
            except URLError as exc:
                if attempt <= self.retries:
                    self.sleep(self.backoff * (2 ** (attempt - 1)))
                    continue
                raise GrafanaAPIError(None, str(getattr(exc, "reason", exc)), method, self.url + path)
            except (OSError, ValueError) as exc:  # socket timeouts, resets, bad TLS files
                if attempt <= self.retries and not isinstance(exc, ValueError):
                    self.sleep(self.backoff * (2 ** (attempt - 1)))
                    continue
                raise GrafanaAPIError(None, str(exc), method, self.url + path)

    def get(self, path, query=None):
        """GET; None when the object does not exist (404)."""
        try:
            return self.request("GET", path, query=query)
        except GrafanaAPIError as exc:
            if exc.status == 404:
                return None
            raise

    # Dashboards -------------------------------------------------------------------------------
    def get_dashboard(self, uid):
        """{"dashboard": ..., "meta": ...} or None."""
        return self.get("/api/dashboards/uid/%s" % quote(uid, safe=""))

    def save_dashboard(self, dashboard, folder_uid="", overwrite=False, message=None):
        body = {"dashboard": dashboard, "folderUid": folder_uid or "", "overwrite": bool(overwrite)}
        if message:
            body["message"] = message
        return self.request("POST", "/api/dashboards/db", body)

    def delete_dashboard(self, uid):
        return self.request("DELETE", "/api/dashboards/uid/%s" % quote(uid, safe=""))

    def search(self, **query):
        """All hits of /api/search (paged at 1000); query values may be lists."""
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
        return self.get("/api/folders/%s" % quote(uid, safe=""))

    def list_folders(self, parent_uid=None):
        query = {"limit": 1000}
        if parent_uid:
            query["parentUid"] = parent_uid
        return self.request("GET", "/api/folders", query=query) or []

    def create_folder(self, title, uid=None, parent_uid=None, description=None):
        body = {"title": title}
        if uid:
            body["uid"] = uid
        if parent_uid:
            body["parentUid"] = parent_uid
        if description is not None:
            body["description"] = description
        return self.request("POST", "/api/folders", body)

    def update_folder(self, uid, title, version, description=None, overwrite=False):
        body = {"title": title, "version": version, "overwrite": bool(overwrite)}
        if description is not None:
            body["description"] = description
        return self.request("PUT", "/api/folders/%s" % quote(uid, safe=""), body)

    def move_folder(self, uid, parent_uid):
        return self.request("POST", "/api/folders/%s/move" % quote(uid, safe=""), {"parentUid": parent_uid or ""})

    def delete_folder(self, uid):
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
        return self.request("POST", "/api/datasources", body)

    def update_datasource(self, uid, body):
        return self.request("PUT", "/api/datasources/uid/%s" % quote(uid, safe=""), body)

    def delete_datasource(self, uid):
        return self.request("DELETE", "/api/datasources/uid/%s" % quote(uid, safe=""))


def _read(exc):
    try:
        return exc.read()
    except Exception:  # pylint: disable=broad-except
        return b""


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


def _message(decoded, exc):
    if isinstance(decoded, dict):
        message = decoded.get("message") or decoded.get("title") or ""
        if decoded.get("status") and decoded.get("status") not in message:
            message = "%s (%s)" % (message, decoded["status"])
        return message or getattr(exc, "reason", "") or "HTTP %s" % exc.code
    if isinstance(decoded, str) and decoded.strip():
        return decoded.strip()[:300]
    return str(getattr(exc, "reason", "") or "HTTP %s" % exc.code)
