"""The S3 client: put-if-absent, get, list. The only module that imports boto3.

boto3 because it is the reference client every S3-compatible store tests against (AWS, R2,
MinIO, SeaweedFS), reads the usual credential chain (environment, ``~/.aws``, SSO, instance
roles) with no code of ours, retries throttling by itself, and supports conditional writes
(``If-None-Match: *``), which make "never rewrite" a property of the store rather than of our
listing. Every failure leaves as one RemoteUnavailable naming the operation, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator

from .config import Remote
from .errors import RemoteUnavailable


def _hint_missing() -> str:
    return "install the extra: pip install 'session-archive[s3]'"


class Bucket:
    def __init__(self, remote: Remote, *, workers: int = 8):
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise RemoteUnavailable(
                "the S3 client (boto3) is not installed", hint=_hint_missing()
            ) from None
        self.remote = remote
        self.name = remote.bucket
        self.prefix = remote.prefix
        config = Config(
            retries={"max_attempts": 5, "mode": "standard"},
            max_pool_connections=max(10, workers * 2),
            s3={"addressing_style": "path"} if remote.endpoint else {},
            connect_timeout=10,
            read_timeout=60,
        )
        try:
            self.client = boto3.session.Session().client(
                "s3", endpoint_url=remote.endpoint, config=config
            )
        except Exception as exc:  # botocore's NoRegionError and kin: a configuration problem
            raise RemoteUnavailable(
                f"cannot set up the S3 client: {type(exc).__name__}",
                hint="set AWS_DEFAULT_REGION, or check ~/.aws/config",
            ) from None

    def _fail(self, what: str, key: str, exc: Exception) -> RemoteUnavailable:
        from botocore.exceptions import ClientError, NoCredentialsError

        if isinstance(exc, NoCredentialsError):
            return RemoteUnavailable(
                f"no S3 credentials for remote {self.remote.name!r}",
                hint="set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE (~/.aws)",
            )
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "?")
            hint = {
                "NoSuchBucket": f"create the bucket {self.name!r} first",
                "AccessDenied": "check the credentials' permissions on the bucket",
                "InvalidAccessKeyId": "check AWS_ACCESS_KEY_ID",
                "SignatureDoesNotMatch": "check AWS_SECRET_ACCESS_KEY",
            }.get(code, "check the endpoint, the bucket and the credentials")
            return RemoteUnavailable(
                f"{what} {key or self.name!r} on remote {self.remote.name!r} failed: {code}",
                hint=hint,
            )
        return RemoteUnavailable(
            f"{what} on remote {self.remote.name!r} failed: {type(exc).__name__}",
            hint="check the network and the endpoint (--endpoint)",
        )

    def put_new(self, key: str, data: bytes) -> bool:
        """Write ``key`` unless it exists (If-None-Match); True when this call wrote it."""
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(
                Bucket=self.name, Key=self.prefix + key, Body=data, IfNoneMatch="*"
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in (
                "PreconditionFailed", "ConditionalRequestConflict"
            ):
                return False
            raise self._fail("writing", key, exc) from None
        except Exception as exc:
            raise self._fail("writing", key, exc) from None

    def replace(self, key: str, data: bytes) -> None:
        """Overwrite ``key``: only for an object whose bytes fail authentication (push
        --heal), where any sound copy is the same content."""
        try:
            self.client.put_object(Bucket=self.name, Key=self.prefix + key, Body=data)
        except Exception as exc:
            raise self._fail("writing", key, exc) from None

    def get(self, key: str) -> bytes | None:
        """The bytes at ``key``, or None when there is no such key."""
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.name, Key=self.prefix + key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise self._fail("reading", key, exc) from None
        except Exception as exc:
            raise self._fail("reading", key, exc) from None

    def keys(self, under: str) -> Iterator[str]:
        """Every key under ``under`` (relative to the remote's prefix)."""
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.name, Prefix=self.prefix + under
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    yield obj["Key"][len(self.prefix):]
        except Exception as exc:
            raise self._fail("listing", under, exc) from None

    def folders(self, under: str) -> list[str]:
        """The next path segment of every key under ``under`` ("machines/" → machine ids)."""
        out = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.name, Prefix=self.prefix + under, Delimiter="/"
            )
            for page in pages:
                for p in page.get("CommonPrefixes", []):
                    out.append(p["Prefix"][len(self.prefix) + len(under):].rstrip("/"))
        except Exception as exc:
            raise self._fail("listing", under, exc) from None
        return out
