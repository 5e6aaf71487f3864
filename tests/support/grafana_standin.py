"""A stand-in for the Grafana HTTP API (NOT Grafana): only the documented behaviour of the
endpoints the monitoring.stack modules call, per /work/shared/notes/grafana-api.md
(Grafana 11.3+/12.x behaviour by default; ``title_unique=True`` switches on the <=11.2 title
rules). It exists because no Grafana server can be installed here; the same integration tests
run against a real Grafana when GRAFANA_URL and GRAFANA_TOKEN are set.

Covered: auth (Bearer service-account tokens and Basic; 401/403 bodies; X-Grafana-Org-Id),
dashboards (GET/DELETE by uid, POST /api/dashboards/db with the version/uid/title/folder rules),
search, folders (nested, 409 on a used uid, PUT version check, cascading DELETE), datasources
(list vs full DTO, secureJsonData merge and secureJsonFields, version rule, 409 clashes,
read-only 403s, optional 403 for unknown names), ``/api/health``, a request counter and log.

A folder uid that is already taken answers 409 ``a folder/dashboard with the same uid already
exists``: Grafana's API layer maps ``ErrFolderWithSameUIDExists`` to 409 Conflict
(grafana/grafana ``pkg/api/apierrors/folder.go`` at 3e9248b, ``ToFolderErrorResponse``; the
handler test ``TestFoldersCreateAPIEndpoint`` in ``pkg/api/folder_test.go`` expects 409; PR
#36429 "Folders: Return 409 Conflict status when folder already exists"). Releases whose create
path trips the version check instead answer 412 version-mismatch (issue #50767 on 9.x,
grafana-api.md section 4.3): ``folder_uid_taken_status=412`` reproduces them.

The ``amg*`` modes play Amazon Managed Grafana workspaces (docs/grafana.md, "Amazon Managed
Grafana"): ``amg`` a 10.4 workspace (``amg=True``), ``amg-9.4`` and ``amg-12.4``. AWS documents
subfolders from its Grafana 10 workspaces (userguide/version-differences.html, "Subfolders"), so
10.4 and 12.4 nest folders like Grafana 11; on 9.4 (and any ``version`` below 10) folders are
flat, a ``parentUid`` is ignored (grafana-api.md 9.6 leaves "ignored or rejected" open; ignoring is
the case a client cannot notice) and ``/api/folders/:uid/move`` does not exist. 12.4 serves
``/apis`` v1beta1 without the schema v2 versions (AWS documents dynamic dashboards from its
Grafana 13 workspaces). What AMG's ``/api/health`` answers is not documented; the stand-in
answers like Grafana, so a client cannot tell AMG from it (the URL tells it, or ``grafana_flavor``).

Faults for retry tests: ``inject(method, path_regex, status, times, retry_after=None,
commit=False, before=None)`` answers ``status`` (429 with a ``Retry-After`` header, 5xx...)
instead of handling the request ``times`` times; ``commit=True`` handles it first and then
answers the error (a server that saved and failed to answer, the case where a blind retry of a
POST would act twice); ``before`` is called with the stand-in before the request is handled
(someone editing in Grafana between a client's read and its write).
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

UID_RE = re.compile(r"^[a-zA-Z0-9_-]*$")
# The modes: the Grafana version /api/health reports and the /apis versions served (docs/grafana.md).
# legacy: Grafana 11 (no /apis); both: 12.x (/apis v1beta1 next to /api); apis: 13.x (/apis v1, /api
# deprecated but working); amg, amg-9.4, amg-12.4: Amazon Managed Grafana workspaces (see above).
# Schema v2 dashboards (elements, layout): dashboard.grafana.app/v2beta1 on 12.x (behind the
# kubernetesDashboards and dynamic dashboards feature toggles; dynamic_dashboards=False plays 12.x
# without them), v2 on 13.x; only the dashboard group has them.
MODES = {
    "legacy": {"version": "11.6.0", "apis": ()},
    "both": {"version": "12.2.0", "apis": ("v1beta1", "v2beta1")},
    "apis": {"version": "13.0.0", "apis": ("v1", "v2")},
    "amg": {"version": "10.4.1", "apis": ()},
    "amg-9.4": {"version": "9.4.7", "apis": ()},
    "amg-12.4": {"version": "12.4.0", "apis": ("v1beta1",)},
}
AMG_NESTED_FOLDERS_SINCE = 10  # AWS: subfolders came with the Grafana 10 workspaces
FOLDER_ANNOTATION = "grafana.app/folder"
APIS_PATH = re.compile(r"/apis/(?P<group>dashboard|folder)\.grafana\.app/(?P<version>[^/]+)/namespaces/(?P<namespace>[^/]+)"
                       r"/(?P<resource>dashboards|folders)(?:/(?P<name>[^/]+))?")
ADMIN_TOKEN = "glsa_standin_admin_0123456789abcdef"
VIEWER_TOKEN = "glsa_standin_viewer_0123456789abcdef"


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _slug(title):
    return re.sub(r"[^a-z0-9]+", "-", (title or "").lower()).strip("-")


class HTTPFailure(Exception):
    def __init__(self, status, body):
        super().__init__(status)
        self.status = status
        self.body = body


def fail(code, message=None, **extra):
    """Answer with HTTP ``code`` and a JSON body of ``extra`` plus ``message`` (Grafana's shapes)."""
    body = dict(extra)
    if message is not None:
        body["message"] = message
    raise HTTPFailure(code, body)


def k8s_fail(code, reason, message):
    """Answer like the /apis (Kubernetes-style) server: a Status object."""
    raise HTTPFailure(code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                             "message": message, "reason": reason, "code": code})


def _resource_version(record):
    """Opaque, changes on every write (the version grows), unique per object (the id)."""
    return str(record["id"] * 1000000 + record["version"])


class Org:
    def __init__(self):
        self.dashboards = {}   # uid -> record
        self.folders = {}      # uid -> record
        self.datasources = {}  # uid -> record (with secrets)
        self.service_accounts = {}  # id -> {id, name, role, isDisabled, tokens: {id: {name, key, expiration}}}
        self.next_id = 1

    def new_id(self):
        self.next_id += 1
        return self.next_id


class GrafanaStandIn:
    """Start with ``start()`` (127.0.0.1, free port), stop with ``stop()``. Not Grafana."""

    def __init__(self, title_unique=False, name_lookup_403=False, version=None, amg=False,
                 folder_uid_taken_status=409, mode=None, dynamic_dashboards=True):
        self.tokens = {ADMIN_TOKEN: {"org": 1, "role": "Admin"}, VIEWER_TOKEN: {"org": 1, "role": "Viewer"}}
        self.users = {"admin": {"password": "admin", "role": "Admin"}}
        self.title_unique = title_unique
        self.name_lookup_403 = name_lookup_403
        mode = mode or ("amg" if amg else "legacy")
        if mode not in MODES:
            raise ValueError("mode must be one of %s" % ", ".join(MODES))
        self.mode = mode
        self.amg = mode.startswith("amg")
        self.version = version or MODES[mode]["version"]
        # folders are flat only on an AMG workspace older than 10 (self-hosted modes are 11 and later)
        self.flat_folders = self.amg and int(self.version.split(".")[0]) < AMG_NESTED_FOLDERS_SINCE
        self.apis_versions = tuple(v for v in MODES[mode]["apis"] if dynamic_dashboards or not v.startswith("v2"))
        self._apis_version = None  # apiVersion of the /apis request being answered
        self.folder_uid_taken_status = folder_uid_taken_status
        self.orgs = {1: Org()}
        self.lock = threading.Lock()
        self.counter = Counter()
        self.log = []     # (method, path) of every request, in order
        self.faults = []  # see inject()
        self.server = None
        self.thread = None

    # lifecycle ------------------------------------------------------------------------------
    def start(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle on, a keep-alive client then waits
            # for its delayed ACK (~40 ms per answer on Linux). Grafana (Go net/http) sets TCP_NODELAY.
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet
                return

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body, headers = standin.handle(self.command, self.path, dict(self.headers.items()), raw)
                data = json.dumps(body).encode("utf-8")
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=10)
            self.server = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    @property
    def requests(self):
        return sum(self.counter.values())

    def reset(self):
        with self.lock:
            self.orgs = {1: Org()}
            self.tokens = {k: v for k, v in self.tokens.items() if k in (ADMIN_TOKEN, VIEWER_TOKEN)}
            self.counter.clear()
            self.log = []
            self.faults = []

    def inject(self, method, path, status=None, times=1, retry_after=None, commit=False, before=None):
        """Answer the next ``times`` requests matching ``method`` and ``path`` (a regex on the
        path) with ``status`` (see the module docstring); ``before`` runs first when given."""
        self.faults.append({"method": method, "path": re.compile(path), "status": status, "times": times,
                            "retry_after": retry_after, "commit": commit, "before": before})

    def _fault(self, method, path):
        for fault in self.faults:
            if fault["times"] > 0 and fault["method"] == method and fault["path"].fullmatch(path):
                fault["times"] -= 1
                return fault
        return None

    # request dispatch -----------------------------------------------------------------------
    def handle(self, method, raw_path, headers, raw):
        """(status, JSON body, extra headers) for one request."""
        parsed = urlparse(raw_path)
        path = parsed.path.rstrip("/") or "/"
        query = parse_qs(parsed.query)
        with self.lock:
            self.counter[(method, re.sub(r"/(uid|name)/[^/]+", r"/\1/:x", path))] += 1
            self.log.append((method, path))
            fault = self._fault(method, path)
        if fault and fault["before"]:
            fault["before"](self)
        with self.lock:
            if fault and fault["status"] and not fault["commit"]:
                return self._fault_answer(fault)
            status, body = self._handle_locked(method, path, query, headers, raw)
            if fault and fault["status"]:
                return self._fault_answer(fault)
            return status, body, {}

    @staticmethod
    def _fault_answer(fault):
        extra = {} if fault["retry_after"] is None else {"Retry-After": str(fault["retry_after"])}
        if fault["status"] == 429:
            return 429, {"message": "Too Many Requests"}, extra
        return fault["status"], {"message": "Internal Server Error"}, extra

    def _handle_locked(self, method, path, query, headers, raw):
        if (method, path) == ("GET", "/api/health"):  # unauthenticated, like Grafana's
            return 200, {"commit": "standin", "database": "ok", "version": self.version}
        try:
            identity = self._authenticate(headers)
            org = self.orgs.setdefault(identity["org"], Org())
            body = None
            if raw:
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    fail(400, "bad request data", traceID="")
            if method != "GET" and identity["role"] == "Viewer":
                fail(403, "You'll need additional permissions to perform this action. Permissions needed: "
                          "dashboards:write", title="Access denied", accessErrorId="ACE0000000001")
            answer = self._route(org, method, path, query, body, identity)
            if isinstance(answer, tuple):  # (status, body): /apis creates answer 201
                return answer
            return 200, answer
        except HTTPFailure as exc:
            return exc.status, exc.body
        except Exception as exc:  # a stand-in defect: answer like Grafana's 500, keep serving
            return 500, {"message": "Internal Server Error", "error": repr(exc)}

    def _authenticate(self, headers):
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        org_header = next((v for k, v in headers.items() if k.lower() == "x-grafana-org-id"), None)
        if auth.startswith("Bearer "):
            token = self.tokens.get(auth[7:].strip())
            if token is None:
                fail(401, "Invalid API key", messageId="api-key.invalid", statusCode=401, traceID="")
            if org_header and int(org_header) != token["org"]:
                fail(401, "API key does not belong to the requested organization",
                     messageId="api-key.organization-mismatch", statusCode=401, traceID="")
            return token
        if auth.startswith("Basic "):
            try:
                user, _sep, password = base64.b64decode(auth[6:]).decode("utf-8").partition(":")
            except ValueError:
                user, password = "", ""
            record = self.users.get(user)
            if record is None or record["password"] != password:
                fail(401, "Invalid username or password", messageId="password-auth.failed", statusCode=401,
                     traceID="")
            return {"org": int(org_header) if org_header else 1, "role": record["role"]}
        fail(401, "Unauthorized", extra=None, messageId="auth.unauthorized", statusCode=401, traceID="")

    def _route(self, org, method, path, query, body, identity=None):
        if path.startswith("/apis/"):
            return self._route_apis(org, method, path, query, body, identity)
        routes = [
            ("GET", r"/api/search", self.search),
            ("GET", r"/api/frontend/settings", self.frontend_settings),
            ("POST", r"/api/dashboards/db", self.save_dashboard),
            ("GET", r"/api/dashboards/uid/(?P<uid>[^/]+)", self.get_dashboard),
            ("DELETE", r"/api/dashboards/uid/(?P<uid>[^/]+)", self.delete_dashboard),
            ("GET", r"/api/folders", self.list_folders),
            ("POST", r"/api/folders", self.create_folder),
            ("GET", r"/api/folders/(?P<uid>[^/]+)", self.get_folder),
            ("PUT", r"/api/folders/(?P<uid>[^/]+)", self.update_folder),
            ("POST", r"/api/folders/(?P<uid>[^/]+)/move", self.move_folder),
            ("DELETE", r"/api/folders/(?P<uid>[^/]+)", self.delete_folder),
            ("GET", r"/api/datasources", self.list_datasources),
            ("POST", r"/api/datasources", self.create_datasource),
            ("GET", r"/api/datasources/uid/(?P<uid>[^/]+)", self.get_datasource),
            ("GET", r"/api/datasources/name/(?P<name>[^/]+)", self.get_datasource_by_name),
            ("PUT", r"/api/datasources/uid/(?P<uid>[^/]+)", self.update_datasource),
            ("DELETE", r"/api/datasources/uid/(?P<uid>[^/]+)", self.delete_datasource),
            ("GET", r"/api/serviceaccounts/search", self.search_service_accounts),
            ("POST", r"/api/serviceaccounts", self.create_service_account),
            ("PATCH", r"/api/serviceaccounts/(?P<sa>\d+)", self.update_service_account),
            ("DELETE", r"/api/serviceaccounts/(?P<sa>\d+)", self.delete_service_account),
            ("GET", r"/api/serviceaccounts/(?P<sa>\d+)/tokens", self.list_tokens),
            ("POST", r"/api/serviceaccounts/(?P<sa>\d+)/tokens", self.create_token),
            ("DELETE", r"/api/serviceaccounts/(?P<sa>\d+)/tokens/(?P<token>\d+)", self.delete_token),
        ]
        for route_method, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                args = dict((k, unquote(v)) for k, v in match.groupdict().items())
                return handler(org, query=query, body=body, **args)
        fail(404, "Not found")

    # /apis (Kubernetes-style) -------------------------------------------------------------------
    def _route_apis(self, org, method, path, query, body, identity):
        match = APIS_PATH.fullmatch(path)
        if match is None or match.group("version") not in self.apis_versions or (
                match.group("group") == "folder" and match.group("version").startswith("v2")):
            fail(404, "Not found")  # Grafana's router, not a k8s Status: no such API on this server
        want = "default" if identity["org"] == 1 else "org-%d" % identity["org"]
        namespace = match.group("namespace")
        if namespace != want:
            k8s_fail(403, "Forbidden", "namespace %r is not the namespace of this token's org (%s)" % (namespace, want))
        kind = match.group("resource")
        name = unquote(match.group("name") or "")
        self._apis_version = "%s.grafana.app/%s" % (match.group("group"), match.group("version"))
        handlers = {
            ("dashboards", "GET", True): self.apis_get_dashboard, ("dashboards", "PUT", True): self.apis_put_dashboard,
            ("dashboards", "DELETE", True): self.apis_delete_dashboard, ("dashboards", "POST", False): self.apis_create_dashboard,
            ("folders", "GET", True): self.apis_get_folder, ("folders", "GET", False): self.apis_list_folders,
            ("folders", "PUT", True): self.apis_put_folder, ("folders", "DELETE", True): self.apis_delete_folder,
            ("folders", "POST", False): self.apis_create_folder,
        }
        handler = handlers.get((kind, method, bool(name)))
        if handler is None:
            k8s_fail(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        return handler(org, name=name, body=body, query=query, namespace=namespace)

    def _metadata(self, record, namespace, folder_uid, kind):
        annotations = {"grafana.app/createdBy": "service-account:standin", "grafana.app/updatedBy": "service-account:standin",
                       "grafana.app/updatedTimestamp": record.get("updated") or _now()}
        if folder_uid:
            annotations[FOLDER_ANNOTATION] = folder_uid
        return {"name": record["uid"], "namespace": namespace, "uid": "k8s%s%040d" % (kind[0], record["id"]),
                "resourceVersion": _resource_version(record), "generation": record["version"],
                "creationTimestamp": record.get("created") or _now(),
                "labels": {"grafana.app/deprecatedInternalID": str(record["id"])}, "annotations": annotations}

    def _dashboard_object(self, record, namespace):
        spec = {k: copy.deepcopy(v) for k, v in record["dashboard"].items() if k not in ("id", "uid", "version")}
        return {"kind": "Dashboard", "apiVersion": self._apis_version,
                "metadata": self._metadata(record, namespace, record["folderUid"], "dashboard"), "spec": spec, "status": {}}

    @staticmethod
    def _apis_body(body, name=None):
        if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict) or not isinstance(body.get("spec"), dict):
            k8s_fail(400, "BadRequest", "the body must be an object with metadata and spec")
        metadata = body["metadata"]
        if name is not None and metadata.get("name") not in (None, name):
            k8s_fail(400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)"
                     % (metadata.get("name"), name))
        annotations = metadata.get("annotations") or {}
        return metadata, annotations.get(FOLDER_ANNOTATION) or "", body["spec"]

    def apis_get_dashboard(self, org, name, namespace, **_kw):
        record = org.dashboards.get(name)
        if record is None:
            k8s_fail(404, "NotFound", 'dashboards.dashboard.grafana.app "%s" not found' % name)
        return self._dashboard_object(record, namespace)

    def _apis_save_dashboard(self, org, record, uid, folder_uid, spec, message):
        schema = "v2" if self._apis_version.split("/")[1].startswith("v2") else "v1"
        if schema == "v2" and not (isinstance(spec.get("elements"), dict) and isinstance(spec.get("layout"), dict)):
            k8s_fail(400, "BadRequest", "spec.elements and spec.layout are required in %s" % self._apis_version)
        if folder_uid and folder_uid not in org.folders:
            k8s_fail(400, "BadRequest", "folder not found")
        title = (spec.get("title") or "").strip()
        if not title:
            k8s_fail(400, "BadRequest", "Dashboard title cannot be empty")
        if not UID_RE.match(uid) or len(uid) > 40:
            k8s_fail(400, "BadRequest", "invalid uid %r" % uid)
        dash = copy.deepcopy(spec)
        dash.update({"id": record["id"], "uid": uid, "title": title, "version": record["version"]})
        record.update({"uid": uid, "dashboard": dash, "folderUid": folder_uid, "updated": _now(), "message": message,
                       "schema": schema, "apiVersion": self._apis_version})
        org.dashboards[uid] = record

    @staticmethod
    def _apis_new_name(org, metadata):
        """metadata.name, else generateName plus a suffix (a create needs one of the two)."""
        uid = metadata.get("name") or ""
        if not uid:
            if not metadata.get("generateName"):
                k8s_fail(400, "BadRequest", "metadata.name or metadata.generateName is required")
            uid = "%s%012x" % (metadata["generateName"], org.new_id())
        return uid

    def apis_create_dashboard(self, org, body, namespace, **_kw):
        metadata, folder_uid, spec = self._apis_body(body)
        uid = self._apis_new_name(org, metadata)
        if uid in org.dashboards:
            k8s_fail(409, "AlreadyExists", 'dashboards.dashboard.grafana.app "%s" already exists' % uid)
        record = {"id": org.new_id(), "version": 1, "created": _now()}
        self._apis_save_dashboard(org, record, uid, folder_uid, spec,
                                  (metadata.get("annotations") or {}).get("grafana.app/message", ""))
        return 201, self._dashboard_object(record, namespace)

    def apis_put_dashboard(self, org, name, body, namespace, **_kw):
        metadata, folder_uid, spec = self._apis_body(body, name)
        record = org.dashboards.get(name)
        if record is None:
            k8s_fail(404, "NotFound", 'dashboards.dashboard.grafana.app "%s" not found' % name)
        if metadata.get("resourceVersion") and metadata["resourceVersion"] != _resource_version(record):
            k8s_fail(409, "Conflict", 'Operation cannot be fulfilled on dashboards.dashboard.grafana.app "%s": the object '
                     "has been modified; please apply your changes to the latest version and try again" % name)
        record["version"] += 1
        self._apis_save_dashboard(org, record, name, folder_uid, spec,
                                  (metadata.get("annotations") or {}).get("grafana.app/message", ""))
        return self._dashboard_object(record, namespace)

    def apis_delete_dashboard(self, org, name, namespace, **_kw):
        record = org.dashboards.get(name)
        if record is None:
            k8s_fail(404, "NotFound", 'dashboards.dashboard.grafana.app "%s" not found' % name)
        gone = self._dashboard_object(record, namespace)
        del org.dashboards[name]
        return gone

    def _folder_object(self, org, folder, namespace):
        spec = {"title": folder["title"]}
        if folder.get("description"):
            spec["description"] = folder["description"]
        return {"kind": "Folder", "apiVersion": self._apis_version,
                "metadata": self._metadata(folder, namespace, folder.get("parentUid") or "", "folder"), "spec": spec}

    def apis_get_folder(self, org, name, namespace, **_kw):
        folder = org.folders.get(name)
        if folder is None:
            k8s_fail(404, "NotFound", 'folders.folder.grafana.app "%s" not found' % name)
        return self._folder_object(org, folder, namespace)

    def apis_list_folders(self, org, namespace, query, **_kw):
        limit = int((query.get("limit") or ["1000"])[0])
        start = int((query.get("continue") or ["0"])[0])
        items = sorted(org.folders.values(), key=lambda f: f["id"])
        page = items[start:start + limit]
        metadata = {"continue": str(start + limit)} if start + limit < len(items) else {}
        return {"kind": "FolderList", "apiVersion": self._apis_version, "metadata": metadata,
                "items": [self._folder_object(org, f, namespace) for f in page]}

    def apis_create_folder(self, org, body, namespace, **_kw):
        metadata, parent, spec = self._apis_body(body)
        uid = self._apis_new_name(org, metadata)
        if uid in org.folders:
            k8s_fail(409, "AlreadyExists", 'folders.folder.grafana.app "%s" already exists' % uid)
        legacy = {"uid": uid, "title": spec.get("title"), "description": spec.get("description")}
        if parent:
            legacy["parentUid"] = parent
        self.create_folder(org, body=legacy)
        return 201, self._folder_object(org, org.folders[uid], namespace)

    def apis_put_folder(self, org, name, body, namespace, **_kw):
        metadata, parent, spec = self._apis_body(body, name)
        folder = org.folders.get(name)
        if folder is None:
            k8s_fail(404, "NotFound", 'folders.folder.grafana.app "%s" not found' % name)
        if metadata.get("resourceVersion") and metadata["resourceVersion"] != _resource_version(folder):
            # the folder API reference lists 412 with this legacy-shaped body for a stale update
            fail(412, "The folder has been changed by someone else", status="version-mismatch")
        if (folder.get("parentUid") or "") != parent:
            self.move_folder(org, name, body={"parentUid": parent})
        self.update_folder(org, name, body={"title": spec.get("title"), "description": spec.get("description") or "",
                                            "overwrite": True})
        return self._folder_object(org, folder, namespace)

    def apis_delete_folder(self, org, name, namespace, **_kw):
        if name not in org.folders:
            k8s_fail(404, "NotFound", 'folders.folder.grafana.app "%s" not found' % name)
        gone = self._folder_object(org, org.folders[name], namespace)
        self.delete_folder(org, name)
        return gone

    def frontend_settings(self, org, **_kw):
        """Only ``buildInfo`` (community.grafana reads the version from it; used by the benchmark)."""
        return {"buildInfo": {"version": self.version, "commit": "standin", "edition": "Open Source"}}

    # dashboards -----------------------------------------------------------------------------
    def _folder_or_fail(self, org, folder_uid):
        if folder_uid and folder_uid not in org.folders:
            fail(400, "folder not found")

    def save_dashboard(self, org, body, **_kw):
        if not isinstance(body, dict) or not isinstance(body.get("dashboard"), dict):
            fail(400, "bad request data", traceID="")
        if body.get("isFolder") or body["dashboard"].get("isFolder"):
            fail(400, "Use folders endpoint for saving folders.")
        dash = copy.deepcopy(body["dashboard"])
        title = (dash.get("title") or "").strip()
        uid = (dash.get("uid") or "").strip()
        if not title:
            fail(400, "Dashboard title cannot be empty", status="empty-name")
        if len(body.get("message") or "") > 500:
            fail(400, "message too long, max 500 characters")
        if not UID_RE.match(uid):
            fail(400, "uid contains illegal characters")
        if len(uid) > 40:
            fail(400, "uid too long, max 40 characters")
        folder_uid = body.get("folderUid") or ""
        if not folder_uid and body.get("folderId"):  # deprecated numeric folder id, still accepted
            folder_uid = next((f["uid"] for f in org.folders.values() if f["id"] == body["folderId"]), None)
            if folder_uid is None:
                fail(400, "folder not found")
        self._folder_or_fail(org, folder_uid)
        existing = org.dashboards.get(uid) if uid else None
        dash_id = dash.get("id")
        if dash_id:
            by_id = next((d for d in org.dashboards.values() if d["id"] == dash_id), None)
            if by_id is None:
                fail(404, "Dashboard not found", status="not-found")
            if existing is not None and existing is not by_id:
                fail(400, "A dashboard with the same uid already exists")
            existing = by_id
        overwrite = bool(body.get("overwrite"))
        if existing is not None and not overwrite and dash.get("version") != existing["version"]:
            fail(412, "The dashboard has been changed by someone else", status="version-mismatch")
        if self.title_unique:
            clash = next((d for d in org.dashboards.values() if d is not existing and d["folderUid"] == folder_uid
                          and d["dashboard"]["title"].lower() == title.lower()), None)
            if clash is not None:
                if not overwrite:
                    fail(412, "A dashboard with the same name in the folder already exists", status="name-exists")
                existing = clash
        if existing is None:
            uid = uid or "sd%012x" % org.new_id()
            record = {"id": org.new_id(), "version": 1, "created": _now()}
        else:
            record = existing
            if existing["uid"] != uid and uid:
                org.dashboards.pop(existing["uid"], None)
            uid = uid or existing["uid"]
            record["version"] = existing["version"] + 1
        dash.update({"id": record["id"], "uid": uid, "title": title, "version": record["version"]})
        record.update({"uid": uid, "dashboard": dash, "folderUid": folder_uid, "updated": _now(),
                       "message": body.get("message", ""), "schema": "v1", "apiVersion": "api"})
        org.dashboards[uid] = record
        return {"id": record["id"], "uid": uid, "url": "/d/%s/%s" % (uid, _slug(title)), "status": "success",
                "version": record["version"], "slug": _slug(title), "folderUid": folder_uid}

    def get_dashboard(self, org, uid, **_kw):
        record = org.dashboards.get(uid)
        if record is None:
            fail(404, "Dashboard not found", traceID="")
        folder = org.folders.get(record["folderUid"])
        dash = copy.deepcopy(record["dashboard"])
        dash.update({"id": record["id"], "uid": uid, "version": record["version"]})
        meta = {
            "type": "db", "canSave": True, "canEdit": True, "canAdmin": True, "canStar": True, "canDelete": True,
            "slug": _slug(dash["title"]), "url": "/d/%s/%s" % (uid, _slug(dash["title"])),
            "expires": "0001-01-01T00:00:00Z", "created": record["created"], "updated": record["updated"],
            "createdBy": "admin", "updatedBy": "admin", "version": record["version"], "hasAcl": False,
            "isFolder": False, "folderId": folder["id"] if folder else 0,
            "folderUid": record["folderUid"], "folderTitle": folder["title"] if folder else "General",
            "folderUrl": "/dashboards/f/%s/%s" % (folder["uid"], _slug(folder["title"])) if folder else "",
            "provisioned": False, "provisionedExternalId": "",
        }
        return {"dashboard": dash, "meta": meta}

    def delete_dashboard(self, org, uid, **_kw):
        record = org.dashboards.pop(uid, None)
        if record is None:
            fail(404, "Dashboard not found", traceID="")
        title = record["dashboard"]["title"]
        return {"title": title, "message": "Dashboard %s deleted" % title, "uid": uid}

    def search(self, org, query, **_kw):
        limit = int((query.get("limit") or ["1000"])[0])
        page = int((query.get("page") or ["1"])[0])
        if limit > 5000:
            fail(422, "Limit is above maximum allowed (5000), use page parameter to access hits beyond limit")
        kind = (query.get("type") or [None])[0]
        text = (query.get("query") or [""])[0].lower()
        tags = query.get("tag") or []
        uids = set(query.get("dashboardUIDs") or query.get("dashboardUID") or [])
        folder_uids = set(query.get("folderUIDs") or [])
        hits = []
        if kind in (None, "dash-folder"):
            for folder in org.folders.values():
                hits.append({"id": folder["id"], "uid": folder["uid"], "title": folder["title"],
                             "uri": "db/" + _slug(folder["title"]), "url": "/dashboards/f/%s" % folder["uid"],
                             "slug": _slug(folder["title"]), "type": "dash-folder", "tags": [], "isStarred": False,
                             "_folder": folder.get("parentUid") or ""})
                parent = org.folders.get(folder.get("parentUid") or "")
                if parent:  # nested folders: folderUid is the direct parent
                    hits[-1].update({"folderId": parent["id"], "folderUid": parent["uid"], "folderTitle": parent["title"],
                                     "folderUrl": "/dashboards/f/%s" % parent["uid"]})
        if kind in (None, "dash-db"):
            for record in org.dashboards.values():
                dash = record["dashboard"]
                hit = {"id": record["id"], "uid": record["uid"], "title": dash["title"],
                       "uri": "db/" + _slug(dash["title"]), "url": "/d/%s/%s" % (record["uid"], _slug(dash["title"])),
                       "slug": _slug(dash["title"]), "type": "dash-db", "tags": list(dash.get("tags") or []),
                       "isStarred": False, "_folder": record["folderUid"]}
                folder = org.folders.get(record["folderUid"])
                if folder:
                    hit.update({"folderId": folder["id"], "folderUid": folder["uid"], "folderTitle": folder["title"],
                                "folderUrl": "/dashboards/f/%s" % folder["uid"]})
                hits.append(hit)
        out = []
        for hit in hits:
            if text and text not in hit["title"].lower():
                continue
            if tags and not all(t in hit["tags"] for t in tags):
                continue
            if uids and hit["uid"] not in uids:
                continue
            if folder_uids and not (hit["_folder"] in folder_uids or ("general" in folder_uids and not hit["_folder"])):
                continue
            out.append({k: v for k, v in hit.items() if k != "_folder"})
        out.sort(key=lambda h: (h["type"] != "dash-folder", h["title"].lower()))
        return out[(page - 1) * limit:page * limit]

    # folders --------------------------------------------------------------------------------
    def _folder_dto(self, org, folder):
        parents = []
        parent = org.folders.get(folder.get("parentUid") or "")
        while parent is not None:
            parents.insert(0, self._folder_dto_flat(parent))
            parent = org.folders.get(parent.get("parentUid") or "")
        dto = self._folder_dto_flat(folder)
        dto.update({"hasAcl": False, "canSave": True, "canEdit": True, "canAdmin": True, "canDelete": True,
                    "createdBy": "admin", "updatedBy": "admin", "created": folder["created"],
                    "updated": folder["updated"], "version": folder["version"], "parents": parents})
        return dto

    @staticmethod
    def _folder_dto_flat(folder):
        dto = {"id": folder["id"], "uid": folder["uid"], "title": folder["title"],
               "description": folder.get("description", ""),
               "url": "/dashboards/f/%s/%s" % (folder["uid"], _slug(folder["title"]))}
        if folder.get("parentUid"):
            dto["parentUid"] = folder["parentUid"]
        return dto

    def list_folders(self, org, query, **_kw):
        parent = (query.get("parentUid") or [""])[0]
        items = [f for f in org.folders.values() if (f.get("parentUid") or "") == parent]
        items.sort(key=lambda f: f["title"].lower())
        return [dict({"id": f["id"], "uid": f["uid"], "title": f["title"]},
                     **({"parentUid": f["parentUid"]} if f.get("parentUid") else {})) for f in items]

    def get_folder(self, org, uid, **_kw):
        folder = org.folders.get(uid)
        if folder is None:
            fail(404, "folder not found", status="not-found")
        return self._folder_dto(org, folder)

    def create_folder(self, org, body, **_kw):
        if not isinstance(body, dict):
            fail(400, "bad request data", traceID="")
        title = (body.get("title") or "").strip()
        uid = (body.get("uid") or "").strip()
        parent = "" if self.flat_folders else body.get("parentUid") or ""
        if not title:
            fail(400, "folder title cannot be empty")
        if not UID_RE.match(uid):
            fail(400, "uid contains illegal characters")
        if len(uid) > 40:
            fail(400, "uid too long, max 40 characters")
        if uid == "general":
            fail(400, "invalid uid for folder provided")
        if uid and uid in org.folders:
            if self.folder_uid_taken_status == 412:
                fail(412, "the folder has been changed by someone else", status="version-mismatch")
            fail(409, "a folder/dashboard with the same uid already exists")
        if parent and parent not in org.folders:
            fail(404, "folder not found", status="not-found")
        if self.title_unique and any((f.get("parentUid") or "") == parent and f["title"] == title
                                     for f in org.folders.values()):
            fail(409, "a folder or dashboard in the general folder with the same name already exists")
        uid = uid or "sf%012x" % org.new_id()
        folder = {"id": org.new_id(), "uid": uid, "title": title, "description": body.get("description") or "",
                  "parentUid": parent, "version": 1, "created": _now(), "updated": _now()}
        org.folders[uid] = folder
        return self._folder_dto(org, folder)

    def update_folder(self, org, uid, body, **_kw):
        folder = org.folders.get(uid)
        if folder is None:
            fail(404, "folder not found", status="not-found")
        body = body or {}
        if not body.get("overwrite") and body.get("version") != folder["version"]:
            fail(412, "the folder has been changed by someone else", status="version-mismatch")
        title = (body.get("title") or "").strip()
        if not title:
            fail(400, "folder title cannot be empty")
        folder["title"] = title
        if "description" in body:
            folder["description"] = body["description"] or ""
        folder["version"] += 1
        folder["updated"] = _now()
        return self._folder_dto(org, folder)

    def move_folder(self, org, uid, body, **_kw):
        if self.flat_folders:
            fail(404, "Not found")
        folder = org.folders.get(uid)
        if folder is None:
            fail(404, "folder not found", status="not-found")
        parent = (body or {}).get("parentUid") or ""
        if parent and parent not in org.folders:
            fail(404, "folder not found", status="not-found")
        walk = parent
        while walk:
            if walk == uid:
                fail(400, "cannot move a folder under itself")
            walk = org.folders[walk].get("parentUid") or ""
        folder["parentUid"] = parent
        folder["version"] += 1
        return self._folder_dto(org, folder)

    def delete_folder(self, org, uid, **_kw):
        if uid not in org.folders:
            fail(404, "folder not found", status="not-found")
        doomed = {uid}
        grew = True
        while grew:
            grew = False
            for folder in org.folders.values():
                if folder.get("parentUid") in doomed and folder["uid"] not in doomed:
                    doomed.add(folder["uid"])
                    grew = True
        for dash_uid in [d for d, rec in org.dashboards.items() if rec["folderUid"] in doomed]:
            del org.dashboards[dash_uid]
        for folder_uid in doomed:
            del org.folders[folder_uid]
        return {"message": "Folder deleted"}

    # datasources ----------------------------------------------------------------------------
    FIELDS = ("name", "type", "access", "url", "user", "database", "basicAuth", "basicAuthUser",
              "withCredentials", "isDefault", "jsonData")

    @staticmethod
    def _full_dto(ds):
        keys = ("id", "uid", "orgId", "name", "type", "access", "url", "user", "database", "basicAuth",
                "basicAuthUser", "withCredentials", "isDefault", "jsonData", "version", "readOnly")
        dto = {k: copy.deepcopy(ds[k]) for k in keys}
        dto["typeLogoUrl"] = "public/app/plugins/datasource/%s/img/logo.svg" % ds["type"]
        dto["secureJsonFields"] = {k: True for k, v in ds["secure"].items() if v}
        return dto

    @staticmethod
    def _list_dto(ds):
        keys = ("id", "uid", "orgId", "name", "type", "access", "url", "user", "database", "basicAuth",
                "isDefault", "jsonData", "readOnly")
        return {k: copy.deepcopy(ds[k]) for k in keys}

    def list_datasources(self, org, **_kw):
        return [self._list_dto(ds) for ds in sorted(org.datasources.values(), key=lambda d: d["name"])]

    def get_datasource(self, org, uid, **_kw):
        ds = org.datasources.get(uid)
        if ds is None:
            fail(404, "Data source not found")
        return self._full_dto(ds)

    def get_datasource_by_name(self, org, name, **_kw):
        ds = next((d for d in org.datasources.values() if d["name"] == name), None)
        if ds is None:
            if self.name_lookup_403:
                fail(403, "You'll need additional permissions to perform this action. Permissions needed: "
                          "datasources:read", title="Access denied", accessErrorId="ACE0000000002")
            fail(404, "Data source not found")
        return self._full_dto(ds)

    @staticmethod
    def _check_datasource(body):
        if not isinstance(body, dict) or not body.get("name") or not body.get("type"):
            fail(400, "bad request data", traceID="")
        url = body.get("url") or ""
        if url and not re.match(r"^[a-z][a-z0-9+.-]*://", url):
            fail(400, "Validation error, invalid URL", traceID="")
        if body.get("uid") and (not UID_RE.match(body["uid"]) or len(body["uid"]) > 40):
            fail(400, "Invalid datasource UID.", messageId="datasource.uidInvalid", statusCode=400, traceID="")

    def _apply(self, org, ds, body):
        for key in self.FIELDS:
            default = {} if key == "jsonData" else (False if key in ("basicAuth", "withCredentials", "isDefault")
                                                    else "")
            value = body.get(key)
            if key in ("name", "url") and not value:
                continue
            ds[key] = copy.deepcopy(value) if value is not None else default
        for key, value in (body.get("secureJsonData") or {}).items():
            ds["secure"][key] = value
        if body.get("isDefault"):
            for other in org.datasources.values():
                if other is not ds:
                    other["isDefault"] = False

    def create_datasource(self, org, body, **_kw):
        self._check_datasource(body)
        if any(d["name"] == body["name"] for d in org.datasources.values()):
            fail(409, "data source with the same name already exists", traceID="")
        uid = body.get("uid") or "ds%010x" % org.new_id()
        if uid in org.datasources:
            fail(409, "data source with the same uid already exists", traceID="")
        ds = {"id": org.new_id(), "uid": uid, "orgId": 1, "version": 1, "readOnly": False, "secure": {}, "url": ""}
        self._apply(org, ds, dict(body, access=body.get("access") or "proxy"))
        org.datasources[uid] = ds
        return {"message": "Datasource added", "id": ds["id"], "name": ds["name"], "datasource": self._full_dto(ds)}

    def update_datasource(self, org, uid, body, **_kw):
        ds = org.datasources.get(uid)
        if ds is None:
            fail(404, "Data source not found")
        if ds["readOnly"]:
            fail(403, "Cannot update read-only data source")
        self._check_datasource(body)
        if any(d["name"] == body["name"] and d is not ds for d in org.datasources.values()):
            fail(409, "Failed to update datasource: data source with the same name already exists")
        version = body.get("version") or 0
        if version and ds["version"] > version:
            fail(409, "Datasource has already been updated by someone else. Please reload and try again")
        self._apply(org, ds, body)
        ds["version"] = version + 1
        new_uid = body.get("uid")
        if new_uid and new_uid != uid:
            del org.datasources[uid]
            ds["uid"] = new_uid
            org.datasources[new_uid] = ds
        return {"message": "Datasource updated", "id": ds["id"], "name": ds["name"], "datasource": self._full_dto(ds)}

    def delete_datasource(self, org, uid, **_kw):
        ds = org.datasources.get(uid)
        if ds is None:
            fail(404, "Data source not found")
        if ds["readOnly"]:
            fail(403, "Cannot delete read-only data source")
        del org.datasources[uid]
        return {"message": "Data source deleted", "id": ds["id"]}

    # service accounts (docs: http-api/api-legacy/serviceaccount.md) -----------------------------
    ROLES = ("Viewer", "Editor", "Admin", "None")

    @staticmethod
    def _account_dto(account):
        return {"id": account["id"], "name": account["name"], "login": "sa-" + _slug(account["name"]), "orgId": 1,
                "isDisabled": account["isDisabled"], "role": account["role"], "tokens": len(account["tokens"]),
                "avatarUrl": "/avatar/0"}

    def _account(self, org, sa):
        account = org.service_accounts.get(int(sa))
        if account is None:
            fail(404, "Service account not found", messageId="serviceaccounts.ErrNotFound", statusCode=404, traceID="")
        return account

    def search_service_accounts(self, org, query, **_kw):
        text = (query.get("query") or [""])[0].lower()
        found = [self._account_dto(a) for a in sorted(org.service_accounts.values(), key=lambda a: a["id"])
                 if text in a["name"].lower()]
        return {"totalCount": len(found), "serviceAccounts": found, "page": 1, "perPage": 1000}

    def create_service_account(self, org, body, **_kw):
        if not isinstance(body, dict) or not (body.get("name") or "").strip():
            fail(400, "bad request data", traceID="")
        role = body.get("role") or "Viewer"
        if role not in self.ROLES:
            fail(400, "invalid role value: %s" % role, traceID="")
        if any(a["name"] == body["name"] for a in org.service_accounts.values()):
            fail(409, "service account already exists", messageId="serviceaccounts.ErrAlreadyExists", statusCode=409,
                 traceID="")
        account = {"id": org.new_id(), "name": body["name"], "role": role,
                   "isDisabled": bool(body.get("isDisabled")), "tokens": {}}
        org.service_accounts[account["id"]] = account
        return 201, self._account_dto(account)

    def update_service_account(self, org, sa, body, **_kw):
        account = self._account(org, sa)
        body = body or {}
        if body.get("role") is not None:
            if body["role"] not in self.ROLES:
                fail(400, "invalid role value: %s" % body["role"], traceID="")
            account["role"] = body["role"]
        if body.get("isDisabled") is not None:
            account["isDisabled"] = bool(body["isDisabled"])
        return {"id": account["id"], "name": account["name"], "serviceaccount": self._account_dto(account),
                "message": "Service account updated"}

    def delete_service_account(self, org, sa, **_kw):
        account = self._account(org, sa)
        for key in account["tokens"].values():
            self.tokens.pop(key["key"], None)
        del org.service_accounts[account["id"]]
        return {"message": "Service account deleted"}

    def list_tokens(self, org, sa, **_kw):
        account = self._account(org, sa)
        now = time.time()
        return [{"id": tid, "name": t["name"], "role": account["role"], "created": t["created"],
                 "expiration": t["expiration_text"], "secondsUntilExpiration": max(0, int(t["expires"] - now)) if t["expires"] else 0,
                 "hasExpired": bool(t["expires"] and t["expires"] <= now)} for tid, t in sorted(account["tokens"].items())]

    def create_token(self, org, sa, body, **_kw):
        account = self._account(org, sa)
        body = body or {}
        name = (body.get("name") or "").strip()
        if not name:
            fail(400, "bad request data", traceID="")
        if any(t["name"] == name for t in account["tokens"].values()):
            fail(409, "service account token with given name already exists in the organization",
                 messageId="serviceaccounts.ErrTokenAlreadyExists", statusCode=409, traceID="")
        ttl = int(body.get("secondsToLive") or 0)
        if ttl < 0:
            fail(400, "the expiration date is invalid", traceID="")
        tid = org.new_id()
        key = "glsa_standin%032x" % (tid * 7919)
        expires = time.time() + ttl if ttl else 0
        account["tokens"][tid] = {"name": name, "key": key, "created": _now(), "expires": expires,
                                  "expiration_text": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires)) if ttl else None}
        self.tokens[key] = {"org": 1, "role": account["role"]}
        return {"id": tid, "name": name, "key": key}

    def delete_token(self, org, sa, token, **_kw):
        account = self._account(org, sa)
        record = account["tokens"].pop(int(token), None)
        if record is None:
            fail(404, "API key not found", traceID="")
        self.tokens.pop(record["key"], None)
        return {"message": "API key deleted"}

    # test helpers (direct state access) -----------------------------------------------------
    def secrets(self, uid, org=1):
        """The stored secureJsonData of a datasource (what Grafana never returns)."""
        return dict(self.orgs[org].datasources[uid]["secure"])

    def state(self, org=1):
        o = self.orgs[org]
        return {"dashboards": {u: copy.deepcopy(r["dashboard"]) for u, r in o.dashboards.items()},
                "dashboard_folders": {u: r["folderUid"] for u, r in o.dashboards.items()},
                # the API version a dashboard was last written through (legacy /api: "api")
                "dashboard_api_versions": {u: r.get("apiVersion", "api") for u, r in o.dashboards.items()},
                "folders": {u: {"title": f["title"], "parentUid": f.get("parentUid") or ""} for u, f in o.folders.items()},
                "datasources": sorted(o.datasources)}


if __name__ == "__main__":  # manual use: python -m tests.support.grafana_standin
    server = GrafanaStandIn().start()
    print("Grafana stand-in on %s, token %s" % (server.url, ADMIN_TOKEN), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
