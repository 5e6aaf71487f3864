# -*- coding: utf-8 -*-
# Copyright: monitoring.stack contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deliver a rendered ADOT collector config to S3 (SSE-KMS) and SSM, idempotently.

Plain classes over a boto3 client (no Ansible imports). Each ``ensure(content, sha256)``
compares before writing and returns ``(changed, result)``; with ``check_mode`` nothing is
written. Errors are raised as ``DeliveryError`` with the failed action, the cause and, for
known mistakes, a hint.

"Unchanged" on S3 is decided by the SHA-256 of the content stored with the object as user
metadata (``x-amz-meta-content-sha256``), never by the ETag: under SSE-KMS the ETag of an
object is not the MD5 of its content on AWS (moto returns the MD5 anyway), so ETag-based
comparisons re-upload every time (amazon.aws issue #105).
"""

from __future__ import annotations

try:
    from botocore.exceptions import BotoCoreError
    from botocore.exceptions import ClientError
except ImportError:  # pragma: no cover - AnsibleAWSModule reports the missing library
    class BotoCoreError(Exception):
        """Stand-in when botocore is missing."""

    class ClientError(Exception):
        """Stand-in when botocore is missing."""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

from ansible_collections.monitoring.stack.plugins.module_utils.aws_transport import retrying
from ansible_collections.monitoring.stack.plugins.module_utils.common import MonitoringError

SHA256_METADATA = "content-sha256"  # stored as x-amz-meta-content-sha256
_NOT_FOUND = ("404", "NoSuchKey", "NotFound")
_DENIED = ("AccessDenied", "403", "Forbidden", "AllAccessDisabled")
_KMS_ERRORS = ("KMS.AccessDeniedException", "KMS.DisabledException", "KMS.NotFoundException",
               "KMS.KMSInvalidStateException", "KMS.InvalidKeyUsageException", "KMS.ThrottlingException")
# GetBucketLocation answers null for us-east-1 and the legacy "EU" for eu-west-1.
_LEGACY_LOCATIONS = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}
_BUCKET_REGIONS = {}  # bucket -> region, one GetBucketLocation per bucket per run


class DeliveryError(MonitoringError):
    """A failed AWS call: ``action`` (what was tried), ``cause`` (the botocore exception), ``hint``."""


def bucket_region(client, bucket):
    """The region of ``bucket`` (GetBucketLocation, once per bucket in this process)."""
    if bucket not in _BUCKET_REGIONS:
        try:
            location = retrying(client).get_bucket_location(Bucket=bucket).get("LocationConstraint")
        except (ClientError, BotoCoreError) as exc:
            raise DeliveryError("find the region of bucket %s" % bucket, exc, s3_hint(exc, bucket, None)) from None
        _BUCKET_REGIONS[bucket] = _LEGACY_LOCATIONS.get(location, location)
    return _BUCKET_REGIONS[bucket]


def _is(codes, exc):
    """Whether botocore error ``exc`` has one of ``codes`` (amazon.aws's is_boto3_error_code)."""
    return isinstance(exc, is_boto3_error_code(list(codes), exc))


def kms_key_matches(actual, wanted):
    """Whether the key S3 reports (usually an ARN) is the wanted one (ARN, key id or alias).

    An alias cannot be compared without a KMS call, so it is treated as matching: the content
    hash still decides.
    """
    if not wanted:
        return True
    if "alias/" in wanted:
        return True
    if not actual:
        return False
    return actual == wanted or actual.endswith("/" + wanted) or wanted.endswith("/" + actual.rsplit("/", 1)[-1])


def s3_hint(exc, bucket, kms_key_id):
    key = "key %s" % kms_key_id if kms_key_id else "the bucket's default KMS key"
    if _is(_DENIED + _KMS_ERRORS, exc):
        return ("objects are written with SSE-KMS, so besides s3:GetObject/s3:PutObject on bucket %s the caller "
                "needs kms:GenerateDataKey and kms:Decrypt on %s (the ADOT task role needs s3:GetObject and "
                "kms:Decrypt to read the config); a bucket policy that requires another KMS key also denies: "
                "pass kms_key_id" % (bucket, key))
    if _is(["NoSuchBucket"], exc):
        return "bucket %s does not exist (or is in another account/region)" % bucket
    return None


class S3Destination:
    """One config object in S3, encrypted with SSE-KMS.

    ``prepare(content, sha256)`` only reads (the stored object, the bucket's default key when
    the object must be written) and returns ``(changed, result)``; ``write()`` then uploads.
    ``ensure`` is both. Keeping them apart lets the module read every destination before it
    writes any.
    """

    def __init__(self, client, bucket, key, kms_key_id=None, check_mode=False, want_before=False):
        self.client = retrying(client)
        self.bucket = bucket
        self.key = key
        self.kms_key_id = kms_key_id
        self.check_mode = check_mode
        self.want_before = want_before
        self._pending = None

    @property
    def url(self):
        return "s3://%s/%s" % (self.bucket, self.key)

    def _fail(self, action, exc):
        raise DeliveryError(action, exc, s3_hint(exc, self.bucket, self.kms_key_id)) from None

    def current(self):
        """{'sha256', 'sse', 'kms_key_id', 'etag'} of the stored object, or None when absent."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key)
        except is_boto3_error_code(list(_NOT_FOUND)):
            return None
        except ClientError as exc:  # pylint: disable=duplicate-except
            self._fail("read %s" % self.url, exc)
        except BotoCoreError as exc:
            self._fail("read %s" % self.url, exc)
        metadata = {str(k).lower(): v for k, v in (head.get("Metadata") or {}).items()}
        return {
            "sha256": metadata.get(SHA256_METADATA),
            "sse": head.get("ServerSideEncryption"),
            "kms_key_id": head.get("SSEKMSKeyId"),
            "etag": head.get("ETag"),
        }

    def content(self):
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            self._fail("read %s" % self.url, exc)
        return body.decode("utf-8", errors="replace")

    def bucket_default_kms_key(self):
        """The KMS key id of the bucket's default encryption, or None (AWS-managed aws/s3 key)."""
        try:
            rules = self.client.get_bucket_encryption(Bucket=self.bucket)[
                "ServerSideEncryptionConfiguration"]["Rules"]
        except is_boto3_error_code(["ServerSideEncryptionConfigurationNotFoundError", "AccessDenied"]):
            return None
        except ClientError as exc:  # pylint: disable=duplicate-except
            self._fail("read the default encryption of bucket %s" % self.bucket, exc)
        except BotoCoreError as exc:
            self._fail("read the default encryption of bucket %s" % self.bucket, exc)
        for rule in rules:
            default = rule.get("ApplyServerSideEncryptionByDefault") or {}
            if default.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse"):
                return default.get("KMSMasterKeyID")
        return None

    def unchanged(self, current, sha256):
        return bool(current and current["sha256"] == sha256 and current["sse"] in ("aws:kms", "aws:kms:dsse")
                    and kms_key_matches(current["kms_key_id"], self.kms_key_id))

    def prepare(self, content, sha256):
        current = self.current()
        result = {"bucket": self.bucket, "key": self.key, "sha256": sha256,
                  "previous_sha256": current["sha256"] if current else None,
                  "kms_key_id": current["kms_key_id"] if current else None}
        if self.unchanged(current, sha256):
            result["changed"] = False
            return False, result
        if self.want_before:
            result["before"] = self.content() if current else ""
        result["changed"] = True
        # The key the object will be under: the ADOT task role needs kms:Decrypt on it.
        key_id = self.kms_key_id or self.bucket_default_kms_key()
        result["kms_key_id"] = key_id
        self._pending = (content, sha256, key_id, result)
        return True, result

    def write(self):
        """Upload what ``prepare`` found changed (nothing in check mode); returns whether it wrote."""
        if self._pending is None or self.check_mode:
            return False
        content, sha256, key_id, result = self._pending
        args = {"Bucket": self.bucket, "Key": self.key, "Body": content.encode("utf-8"),
                "ContentType": "application/yaml", "ServerSideEncryption": "aws:kms",
                "Metadata": {SHA256_METADATA: sha256}}
        if key_id:
            args["SSEKMSKeyId"] = key_id
        try:
            response = self.client.put_object(**args)
        except (ClientError, BotoCoreError) as exc:
            self._fail("upload the ADOT collector config to %s" % self.url, exc)
        result["kms_key_id"] = response.get("SSEKMSKeyId") or key_id
        result["version_id"] = response.get("VersionId")
        self._pending = None
        return True

    def ensure(self, content, sha256):
        changed, result = self.prepare(content, sha256)
        self.write()
        return changed, result


class SsmDestination:
    """One config in an SSM parameter (String or SecureString); ``prepare``/``write`` as for S3."""

    def __init__(self, client, name, parameter_type="String", key_id=None, check_mode=False, want_before=False):
        self.client = retrying(client)
        self.name = name
        self.parameter_type = parameter_type
        self.key_id = key_id
        self.check_mode = check_mode
        self.want_before = want_before
        self._pending = None

    def current(self):
        try:
            parameter = self.client.get_parameter(Name=self.name, WithDecryption=True)["Parameter"]
        except is_boto3_error_code("ParameterNotFound"):
            return None
        except ClientError as exc:  # pylint: disable=duplicate-except
            raise DeliveryError("read SSM parameter %s" % self.name, exc, self._hint(exc)) from None
        except BotoCoreError as exc:
            raise DeliveryError("read SSM parameter %s" % self.name, exc) from None
        return {"value": parameter.get("Value"), "type": parameter.get("Type"), "version": parameter.get("Version")}

    def _hint(self, exc):
        if _is(["AccessDeniedException", "AccessDenied"], exc) and self.parameter_type == "SecureString":
            return "a SecureString also needs kms:Decrypt (read) and kms:Encrypt (write) on its KMS key"
        if _is(["ValidationException"], exc) and "alias" in str(exc).lower():
            return "check ssm_key_id"
        return None

    def prepare(self, content, sha256):
        current = self.current()
        result = {"name": self.name, "type": self.parameter_type, "sha256": sha256,
                  "version": current["version"] if current else None}
        if current and current["value"] == content and current["type"] == self.parameter_type:
            result["changed"] = False
            return False, result
        if self.want_before:
            result["before"] = current["value"] if current else ""
        result["changed"] = True
        self._pending = (content, sha256, result)
        return True, result

    def write(self):
        if self._pending is None or self.check_mode:
            return False
        content, sha256, result = self._pending
        args = {"Name": self.name, "Value": content, "Type": self.parameter_type, "Overwrite": True,
                "Description": "ADOT collector config (sha256 %s), managed by monitoring.stack.otel_config" % sha256[:12]}
        # Standard up to 4 KB, Advanced above, and never a failed downgrade of an Advanced one.
        args["Tier"] = "Intelligent-Tiering"
        if self.key_id and self.parameter_type == "SecureString":
            args["KeyId"] = self.key_id
        try:
            response = self.client.put_parameter(**args)
        except (ClientError, BotoCoreError) as exc:
            raise DeliveryError("write SSM parameter %s" % self.name, exc, self._hint(exc)) from None
        result["version"] = response.get("Version")
        self._pending = None
        return True

    def ensure(self, content, sha256):
        changed, result = self.prepare(content, sha256)
        self.write()
        return changed, result
