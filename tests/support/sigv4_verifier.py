#!/usr/bin/env python
"""A loopback stand-in for Amazon Managed Prometheus' remote-write endpoint: it checks the AWS
Signature Version 4 of every request, then forwards the accepted ones.

It is a stand-in, not AWS: it knows one set of test credentials, one region and one service
(``aps``), and recomputes each request's signature with botocore's own signer
(``botocore.auth.SigV4Auth``) from the headers the client says it signed. A request whose
signature, credential scope, access key or signed-header list does not match is answered 403
(as AMP answers a bad signature) and counted as rejected; an accepted one is forwarded to
``--upstream`` (for example VictoriaMetrics' or Prometheus' remote-write receiver) and counted.

    sigv4_verifier.py --bind 127.0.0.1 --port 18480 --region eu-west-1 \
        --access-key AKIDTEST --secret-key SECRET [--upstream http://127.0.0.1:8428/api/v1/write]

GET /stats answers {"accepted": N, "rejected": N, "reasons": {...}}. In tests, use
``Sigv4Verifier(...)`` (a context manager running in a thread).
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

try:
    from tests.support.loopback_http import LoopbackServer
except ImportError:  # run as a script from tests/support
    from loopback_http import LoopbackServer

_FORWARDED = ("content-type", "content-encoding", "x-prometheus-remote-write-version", "user-agent")


def _parse_authorization(value):
    """'AWS4-HMAC-SHA256 Credential=AK/20261201/eu-west-1/aps/aws4_request, SignedHeaders=a;b,
    Signature=hex' -> dict; None when the header is not a SigV4 one."""
    if not value or not value.startswith("AWS4-HMAC-SHA256 "):
        return None
    fields = {}
    for part in value[len("AWS4-HMAC-SHA256 "):].split(","):
        key, _sep, item = part.strip().partition("=")
        fields[key] = item
    if not {"Credential", "SignedHeaders", "Signature"} <= set(fields):
        return None
    return fields


def verify(method, url, headers, body, access_key, secret_key, region, service="aps"):
    """None when the request is signed by ``access_key``/``secret_key`` for ``region`` and
    ``service``; else the reason it is not."""
    headers = {k.lower(): v for k, v in headers.items()}
    auth = _parse_authorization(headers.get("authorization"))
    if auth is None:
        return "no SigV4 Authorization header"
    scope = auth["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        return "malformed credential scope"
    key, date, scope_region, scope_service = scope[:4]
    if key != access_key:
        return "unknown access key"
    if scope_region != region:
        return "wrong region in the credential scope (%s)" % scope_region
    if scope_service != service:
        return "wrong service in the credential scope (%s)" % scope_service
    amz_date = headers.get("x-amz-date", "")
    if not amz_date.startswith(date):
        return "X-Amz-Date does not match the credential scope"
    signed = auth["SignedHeaders"].split(";")
    if "host" not in signed or any(name not in headers for name in signed):
        return "a signed header is missing"
    request = AWSRequest(method=method, url=url, data=body,
                         headers={name: headers[name] for name in signed})
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(access_key, secret_key, headers.get("x-amz-security-token")), service, region)
    if signer.signed_headers(signer.headers_to_sign(request)) != auth["SignedHeaders"]:
        return "signed header list differs"
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if expected != auth["Signature"]:
        return "signature mismatch"
    return None


class _Handler(BaseHTTPRequestHandler):
    server_version = "sigv4-verifier-standin"

    def log_message(self, *args):  # quiet
        pass

    def _reply(self, code, payload):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        if self.path == "/stats":
            with self.server.lock:
                self._reply(200, dict(self.server.stats))
        else:
            self._reply(404, {"message": "not found"})

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = "http://%s%s" % (self.headers.get("Host", "localhost"), self.path)
        reason = verify("POST", url, dict(self.headers.items()), body, self.server.access_key,
                        self.server.secret_key, self.server.region)
        with self.server.lock:
            if reason:
                self.server.stats["rejected"] += 1
                self.server.stats["reasons"][reason] = self.server.stats["reasons"].get(reason, 0) + 1
            else:
                self.server.stats["accepted"] += 1
        if reason:
            self._reply(403, {"message": "The request signature we calculated does not match: %s" % reason})
            return
        if not self.server.upstream:
            self._reply(200, {})
            return
        forward = urllib.request.Request(self.server.upstream, data=body, method="POST",
                                         headers={k: v for k, v in self.headers.items() if k.lower() in _FORWARDED})
        try:
            with urllib.request.urlopen(forward, timeout=10) as answer:
                self.send_response(answer.status)
        except urllib.error.HTTPError as exc:
            self.send_response(exc.code)
        except OSError:
            self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Sigv4Verifier(LoopbackServer):
    """The verifier in a thread, for pytest: ``with Sigv4Verifier(...) as v: v.url, v.stats()``."""

    path = "/workspaces/ws-standin/api/v1/remote_write"

    def __init__(self, access_key, secret_key, region, upstream=None, bind="127.0.0.1", port=0):
        super().__init__(_Handler, {"accepted": 0, "rejected": 0, "reasons": {}}, bind, port)
        self.httpd.access_key, self.httpd.secret_key, self.httpd.region = access_key, secret_key, region
        self.httpd.upstream = upstream


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--upstream")
    args = parser.parse_args()
    Sigv4Verifier(args.access_key, args.secret_key, args.region, args.upstream, args.bind,
                  args.port).serve_in_foreground()


if __name__ == "__main__":
    main()
