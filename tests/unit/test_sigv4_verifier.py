"""The SigV4 verifier stand-in refuses what it must: tampered bodies, other keys, other scopes.

Its acceptance of real signatures is proven end to end by tests/integration/test_sigv4_remote_write.py
(Prometheus' aws-sdk-go signer against it); here, requests signed with botocore are altered one
field at a time and each alteration must be caught.
"""

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support.sigv4_verifier import verify

URL = "http://127.0.0.1:18480/workspaces/ws-1/api/v1/remote_write"


def _signed(body=b"payload", region="eu-west-1", secret="s3cret", service="aps"):
    request = AWSRequest(method="POST", url=URL, data=body,
                         headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy"})
    SigV4Auth(Credentials("AKID", secret), service, region).add_auth(request)
    headers = dict(request.headers.items())
    headers["Host"] = "127.0.0.1:18480"
    return headers


def test_accepts_a_correct_signature():
    assert verify("POST", URL, _signed(), b"payload", "AKID", "s3cret", "eu-west-1") is None


def test_each_alteration_is_caught():
    assert verify("POST", URL, _signed(), b"tampered", "AKID", "s3cret", "eu-west-1") == "signature mismatch"
    assert verify("POST", URL, _signed(secret="other"), b"payload", "AKID", "s3cret", "eu-west-1") == "signature mismatch"
    assert verify("POST", URL, _signed(region="us-east-1"), b"payload", "AKID", "s3cret", "eu-west-1").startswith(
        "wrong region")
    assert verify("POST", URL, _signed(service="s3"), b"payload", "AKID", "s3cret", "eu-west-1").startswith(
        "wrong service")
    assert verify("POST", URL, _signed(), b"payload", "OTHER", "s3cret", "eu-west-1") == "unknown access key"
    headers = _signed()
    headers["Content-Type"] = "text/plain"
    assert verify("POST", URL, headers, b"payload", "AKID", "s3cret", "eu-west-1") == "signature mismatch"
    assert verify("POST", URL, {"Host": "x"}, b"payload", "AKID", "s3cret", "eu-west-1") == "no SigV4 Authorization header"
