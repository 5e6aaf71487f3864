"""A stand-in (NOT Grafana, NOT Alloy) for the reload endpoints the role handlers call, on loopback.

Neither product can be installed here, so the handlers of the grafana and alloy roles are tested
against this server, which answers as the products' sources do:

- Grafana ``POST /api/admin/provisioning/{dashboards,datasources,plugins}/reload``
  (pkg/api/admin_provisioning.go): basic auth as a Grafana admin; 200
  ``{"message": "Dashboards config reloaded"}`` / ``"Datasources config reloaded"``; 401
  ``{"message": "Invalid username or password"}`` for wrong credentials; 403 for a non-admin;
  500 ``{"message": "Internal Server Error"}`` when provisioning fails (the reason goes to the log).
  A service-account token (``Authorization: Bearer``, ``tokens``: token -> its permissions) is
  allowed when it holds ``provisioning:reload`` (the permission the handler's swagger comment names;
  Grafana OSS grants it to server admins only, which service accounts cannot be), else 403 with
  the RBAC body of grafana-api.md 1.4; an unknown token is 401 ``api-key.invalid`` (1.3).
- Alloy ``POST /-/reload`` (internal/service/http/http.go): 200 ``config reloaded\\n``; 400 with
  the reason as plain text when the new configuration is rejected.

It records every request (method, path, user) so tests assert which calls were made.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GRAFANA_MESSAGES = {"dashboards": "Dashboards config reloaded", "datasources": "Datasources config reloaded",
                    "plugins": "Plugins config reloaded"}


class ReloadStandIn:
    def __init__(self, admin_user="admin", admin_password="admin", tokens=None):
        self.admin_user = admin_user
        self.admin_password = admin_password
        self.tokens = dict(tokens or {})  # service-account token -> set of RBAC permissions
        self.requests = []        # (method, path, basic-auth user, "token", or None)
        self.grafana_failure = False
        self.alloy_rejection = ""  # non-empty: /-/reload answers 400 with this text
        self._server = None
        self._thread = None

    @property
    def address(self):
        host, port = self._server.server_address[:2]
        return "%s:%d" % (host, port)

    def calls(self, method=None):
        return [(m, p) for m, p, _user in self.requests if method is None or m == method]

    def start(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def _user(self):
                header = self.headers.get("Authorization", "")
                if header.startswith("Bearer "):
                    return "token", header[7:]
                if not header.startswith("Basic "):
                    return None, None
                user, _sep, password = base64.b64decode(header[6:]).decode().partition(":")
                return user, password

            def _answer(self, status, body, content_type="application/json"):
                data = (json.dumps(body) if content_type == "application/json" else body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                user, password = self._user()
                standin.requests.append(("POST", self.path, user))
                parts = self.path.strip("/").split("/")
                if self.path == "/-/reload":
                    if standin.alloy_rejection:
                        return self._answer(400, standin.alloy_rejection + "\n", "text/plain; charset=utf-8")
                    return self._answer(200, "config reloaded\n", "text/plain; charset=utf-8")
                if (len(parts) == 5 and parts[:3] == ["api", "admin", "provisioning"] and parts[4] == "reload"
                        and parts[3] in GRAFANA_MESSAGES):
                    if user == "token":
                        if password not in standin.tokens:
                            return self._answer(401, {"message": "Invalid API key", "messageId": "api-key.invalid",
                                                      "statusCode": 401, "traceID": ""})
                        if "provisioning:reload" not in standin.tokens[password]:
                            return self._answer(403, {
                                "title": "Access denied", "accessErrorId": "ACE0123456789",
                                "message": "You'll need additional permissions to perform this action. "
                                           "Permissions needed: provisioning:reload"})
                    elif user is None or (user, password) != (standin.admin_user, standin.admin_password):
                        return self._answer(401, {"message": "Invalid username or password"})
                    if standin.grafana_failure:
                        return self._answer(500, {"message": "Internal Server Error"})
                    return self._answer(200, {"message": GRAFANA_MESSAGES[parts[3]]})
                return self._answer(404, {"message": "Not found"})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None
