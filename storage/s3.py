"""The S3 object store, on MinIO (or any S3 with object lock, conditional puts and checksums).

One S3 object per archive object, under the same key, in one bucket. Rules (decision 0007):

* Fixity is ours, never the ETag. The store hashes the stream while uploading it
  (`HashingReader`) and the server verifies the bytes it receives against the SHA-256 we send:
  an object that fits one part (`part_size`, 8 MiB by default) is hashed before the single PUT,
  which carries `x-amz-checksum-sha256` (the expected hash, base64) so the server refuses bytes
  damaged in transit; a larger one goes as a multipart upload whose every part carries its own
  `x-amz-checksum-sha256`, and is completed only if the whole stream's SHA-256 equals the
  expected one (otherwise the upload is aborted and nothing becomes visible). Memory stays at
  about one part whatever the object size.
* The SHA-256 is recorded as user metadata (`x-amz-meta-sha256`, ASCII hex) at commit time, so
  `stat` is one HEAD request and listings carry it (MinIO's `metadata=true` list extension).
* Immutability: a first `put` is a conditional write (`If-None-Match: *`), so of two racing
  writers exactly one commits; same SHA-256 again is a no-op, different bytes raise
  `IntegrityMismatch`. With object lock (`lock_mode`), every version written carries a
  GOVERNANCE (or COMPLIANCE) retention until the `retain_until` the caller derives from the
  dossier's retention period (decision 0012), else `retention_days` from now, and optionally a
  legal hold; the bucket is created with object lock (hence versioning) when missing. Legal
  holds are placed and lifted on request (`set_legal_hold`, every version of a key).
* An upload interrupted where the store cannot abort it (the server stopped, the process killed)
  leaves an unfinished multipart upload; `discard_incomplete` aborts those of a key before the
  key is written again, so no debris outlives a retried transfer.
* `repair` writes a new version (an ordinary PUT, no condition). On a versioned or locked bucket
  the damaged version is not removed (it cannot be before its retention ends): it stays as a
  non-current version for the audit trail, and the repaired bytes become the current version
  that every read, `stat` and listing sees.

Every SDK or urllib3 exception is translated here into `storage.errors`. Messages name the
endpoint and bucket, never the credentials.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, BinaryIO, Final, Literal, TypeVar
from xml.etree.ElementTree import Element, SubElement, tostring

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.error import MinioException, S3Error, ServerError
from minio.helpers import DictType, md5sum_hash
from minio.time import to_iso8601utc
from urllib3.response import BaseHTTPResponse

from storage.errors import (
    ImmutableObject,
    IntegrityMismatch,
    ObjectNotFound,
    OperationNotSupported,
    StorageError,
    StorageUnavailable,
)
from storage.fixity import CHUNK_SIZE, HashingReader, check_stream, normalise_sha256, same_or_refuse, sha256_stream
from storage.keys import validate_key
from storage.protocol import LockState, ObjectInfo

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

LockMode = Literal["governance", "compliance"]

SHA256_METADATA: Final = "x-amz-meta-sha256"
"""The user-metadata header holding the object's SHA-256 (64 lowercase hex digits)."""

DEFAULT_PART_SIZE: Final = 8 * 1024 * 1024
MIN_PART_SIZE: Final = 5 * 1024 * 1024  # S3's minimum for every part but the last
MAX_PARTS: Final = 10_000  # S3's maximum: objects up to part_size * 10 000 (80 GB at 8 MiB)
DEFAULT_RETENTION_DAYS: Final = 3650

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_NOT_FOUND = frozenset({"NoSuchKey", "NoSuchVersion", "NoSuchObject", "ResourceNotFound"})
_BAD_BYTES = frozenset(
    {
        "BadDigest",
        "InvalidDigest",
        "XAmzContentChecksumMismatch",
        "XAmzContentSHA256Mismatch",
        "InvalidChecksum",
    }
)
_CREDENTIALS = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken"}
)
_LOCKED = frozenset({"ObjectLocked"})
_LOCK_MODES: Final[dict[str, str]] = {"governance": GOVERNANCE, "compliance": COMPLIANCE}

_T = TypeVar("_T")


class _KeyTakenError(Exception):
    """A conditional write found the key taken (HTTP 412): handled inside `put`, never escapes."""


def _b64_sha256(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def _read_part(reader: HashingReader, size: int) -> bytes:
    """Read up to `size` bytes (fewer only at the end of the stream), in one buffer."""
    data = reader.read(size)
    if len(data) in (0, size):
        return data
    pieces = [data]
    got = len(data)
    while got < size:
        more = reader.read(min(CHUNK_SIZE, size - got))
        if not more:
            break
        pieces.append(more)
        got += len(more)
    return b"".join(pieces)


class _ResponseReader(io.RawIOBase):
    """A GET response as a raw stream: read errors become `StorageUnavailable`."""

    def __init__(self, response: BaseHTTPResponse, describe: Callable[[Exception], StorageError]):
        self._response = response
        self._describe = describe

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        try:
            return self._response.readinto(memoryview(buffer).cast("B"))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._describe(exc) from exc

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._response.release_conn()
        super().close()


class MinioObjectStore:
    """An `ObjectStore` keeping each object as one S3 object (one version per write) in `bucket`."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        name: str,
        *,
        secure: bool = False,
        lock_mode: LockMode | None = "governance",
        retention_days: int = DEFAULT_RETENTION_DAYS,
        legal_hold: bool = False,
        part_size: int = DEFAULT_PART_SIZE,
        connect_timeout: float = 5.0,
        read_timeout: float = 120.0,
        retries: int = 2,
    ) -> None:
        """`endpoint` is host:port; `lock_mode` None uses a plain bucket (no retention)."""
        if lock_mode is not None and lock_mode not in _LOCK_MODES:
            raise ValueError(f"lock_mode must be 'governance', 'compliance' or None, not {lock_mode!r}")
        if lock_mode is not None and retention_days < 1:
            raise ValueError("retention_days must be at least 1 when objects are locked")
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
        self.endpoint = endpoint
        self.bucket = bucket
        self.name = name
        self.secure = secure
        self.lock_mode: LockMode | None = lock_mode
        self.retention_days = retention_days
        self.legal_hold = legal_hold
        self.part_size = part_size
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            maxsize=16,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            retries=urllib3.Retry(
                total=retries,
                connect=retries,
                read=0,  # never resend a request the server may have half-processed
                backoff_factor=0.1,
                status_forcelist=[500, 502, 503, 504],
            ),
        )
        self.client = Minio(endpoint, access_key, secret_key, secure=secure, http_client=http)
        self._bucket_ready = False

    def __repr__(self) -> str:
        scheme = "https" if self.secure else "http"
        return (
            f"MinioObjectStore(endpoint={scheme}://{self.endpoint!s}, bucket={self.bucket!r}, "
            f"name={self.name!r}, lock_mode={self.lock_mode!r})"
        )

    # -- the protocol ------------------------------------------------------------------------

    def put(
        self,
        key: str,
        stream: BinaryIO,
        expected_sha256: str,
        *,
        retain_until: datetime | None = None,
    ) -> ObjectInfo:
        """See `ObjectStore.put`; `retain_until` overrides the store's retention for this object."""
        key = validate_key(key)
        expected = normalise_sha256(expected_sha256)
        self._ensure_bucket()
        existing = self._existing(key)
        if existing is None:
            try:
                return self._write(key, stream, expected, retain_until, if_absent=True)
            except _KeyTakenError:
                existing = self._existing(key)  # another writer committed it while we streamed
                if existing is None:
                    raise StorageUnavailable(
                        key, f"store {self.name!r}: the key was taken and released meanwhile; retry"
                    ) from None
                return same_or_refuse(existing, expected)
        # A resumed step storing again: verify the stream without writing anything.
        same_or_refuse(existing, expected)
        check_stream(key, expected, sha256_stream(stream)[0])
        return existing

    def open(self, key: str) -> BinaryIO:
        key = validate_key(key)
        response = self._call(key, lambda: self.client.get_object(self.bucket, key))
        return io.BufferedReader(
            _ResponseReader(response, lambda exc: self._unavailable(f"cannot read: {exc}", key)),
            CHUNK_SIZE,
        )

    def stat(self, key: str) -> ObjectInfo:
        key = validate_key(key)
        info = self._existing(key)
        if info is None:
            raise ObjectNotFound(key)
        return info

    def exists(self, key: str) -> bool:
        key = validate_key(key)
        try:
            self._call(key, lambda: self.client.stat_object(self.bucket, key))
        except ObjectNotFound:
            return False
        return True

    def iterate(self, prefix: str = "") -> Iterator[ObjectInfo]:
        folder = prefix.rpartition("/")[0]
        if folder:
            validate_key(folder)  # the same refusals ('..', '.x') as the local store
        return self._list(prefix)

    def hash_object(self, key: str) -> str:
        with self.open(key) as stored:
            return sha256_stream(stored)[0]

    def repair(
        self,
        key: str,
        stream: BinaryIO,
        expected_sha256: str,
        *,
        retain_until: datetime | None = None,
    ) -> ObjectInfo:
        """See `ObjectStore.repair`: writes a new current version (the damaged one stays behind)."""
        key = validate_key(key)
        expected = normalise_sha256(expected_sha256)
        self._ensure_bucket()
        return self._write(key, stream, expected, retain_until, if_absent=False)

    def health(self) -> None:
        self._bucket_ready = False  # really ask the server
        self._ensure_bucket()

    # -- locks and debris (`LockingStore`, `UploadCleaningStore`) ------------------------------

    def lock_state(self, key: str) -> LockState:
        key = validate_key(key)
        self._require_lock(key)
        retention = self._call(key, lambda: self.client.get_object_retention(self.bucket, key))
        hold = self._call(key, lambda: self.client.is_object_legal_hold_enabled(self.bucket, key))
        return LockState(
            retention.mode if retention is not None else None,
            retention.retain_until_date if retention is not None else None,
            hold,
        )

    def set_legal_hold(self, key: str, on: bool) -> int:
        key = validate_key(key)
        self._require_lock(key)
        versions = self._versions(key)
        if not versions:
            raise ObjectNotFound(key)
        change = self.client.enable_object_legal_hold if on else self.client.disable_object_legal_hold
        with self._translated(key):
            for version in versions:
                change(self.bucket, key, version_id=version)
        return len(versions)

    def discard_incomplete(self, key: str) -> int:
        key = validate_key(key)
        self._ensure_bucket()
        uploads = self._call(
            key, lambda: self.client._list_multipart_uploads(self.bucket, prefix=key).uploads
        )
        mine = [up.upload_id for up in uploads if up.object_name == key and up.upload_id]
        with self._translated(key):
            for upload_id in mine:
                self.client._abort_multipart_upload(self.bucket, key, upload_id)
        return len(mine)

    def _require_lock(self, key: str) -> None:
        if self.lock_mode is None:
            raise OperationNotSupported(
                key, f"store {self.name!r} keeps its objects in a bucket without object lock"
            )

    def _versions(self, key: str) -> list[str]:
        """Every stored version id of `key` (delete markers left out), newest first."""
        listing = self._call(
            key,
            lambda: list(self.client.list_objects(self.bucket, prefix=key, include_version=True)),
        )
        return [
            entry.version_id
            for entry in listing
            if entry.object_name == key and not entry.is_delete_marker and entry.version_id
        ]

    # -- errors --------------------------------------------------------------------------------

    def _unavailable(self, what: str, key: str | None = None) -> StorageUnavailable:
        scheme = "https" if self.secure else "http"
        return StorageUnavailable(
            key, f"store {self.name!r} ({scheme}://{self.endpoint}/{self.bucket}): {what}"
        )

    def _translate(self, key: str | None, exc: Exception) -> Exception:  # noqa: PLR0911 (a table)
        """The `storage.errors` exception for an SDK or transport error."""
        if isinstance(exc, S3Error):
            code = exc.code or ""
            status = exc.response.status if exc.response is not None else 0
            if code == "PreconditionFailed" or status == 412:
                return _KeyTakenError()
            if code in _NOT_FOUND and key is not None:
                return ObjectNotFound(key)
            if code == "NoSuchBucket":
                return self._unavailable("the bucket does not exist", key)
            if code in _BAD_BYTES and key is not None:
                return IntegrityMismatch(
                    key,
                    f"store {self.name!r} refused the bytes it received: they do not match their "
                    f"SHA-256 (damaged in transit); nothing was stored ({code})",
                )
            if key is not None and (
                code in _LOCKED or "WORM" in (exc.message or "")
            ):
                return ImmutableObject(
                    key, f"store {self.name!r}: the object is locked (object lock): {exc.message}"
                )
            if code in _CREDENTIALS:
                return self._unavailable(f"access refused ({code}); check the credentials", key)
            if status >= 500:
                return self._unavailable(f"server error {code}: {exc.message}", key)
            return StorageError(key, f"store {self.name!r}: S3 error {code}: {exc.message}")
        if isinstance(exc, ServerError):
            return self._unavailable(f"server error (HTTP {exc.status_code})", key)
        return self._unavailable(f"cannot reach the server ({type(exc).__name__})", key)

    def _call(self, key: str | None, operation: Callable[[], _T]) -> _T:
        """Run one SDK call, translating its failures (the caller's stream is read elsewhere)."""
        try:
            return operation()
        except (MinioException, urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as exc:
            raise self._translate(key, exc) from exc

    @contextmanager
    def _translated(self, key: str | None) -> Iterator[None]:
        try:
            yield
        except (MinioException, urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as exc:
            raise self._translate(key, exc) from exc

    # -- reading -------------------------------------------------------------------------------

    def _info(self, key: str, size: int | None, recorded: str | None) -> ObjectInfo:
        if recorded is None or size is None or not _SHA256_HEX.fullmatch(recorded):
            raise IntegrityMismatch(
                key,
                f"store {self.name!r}: the object's recorded SHA-256 is missing or damaged; "
                "repair the object from a good copy",
            )
        return ObjectInfo(key, size, recorded)

    def _existing(self, key: str) -> ObjectInfo | None:
        """The current object at `key` as recorded, or None if there is none."""
        try:
            found = self._call(key, lambda: self.client.stat_object(self.bucket, key))
        except ObjectNotFound:
            return None
        recorded = found.metadata.get(SHA256_METADATA) if found.metadata is not None else None
        return self._info(key, found.size, recorded)

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        listing = self.client.list_objects(
            self.bucket, prefix=prefix or None, recursive=True, include_user_meta=True
        )
        while True:
            with self._translated(None):
                found = next(listing, None)
            if found is None:
                return
            key = found.object_name
            if key is None or found.is_dir:
                continue
            try:
                validate_key(key)
            except ValueError as exc:
                raise IntegrityMismatch(
                    key, f"store {self.name!r} holds an object whose name is not a valid key ({exc})"
                ) from exc
            metadata = {name.lower(): value for name, value in (found.metadata or {}).items()}
            recorded = metadata.get(SHA256_METADATA)
            if recorded is None:  # a server without the listing extension: ask for the object
                info = self._existing(key)
                if info is not None:
                    yield info
                continue
            yield self._info(key, found.size, recorded)

    # -- writing -------------------------------------------------------------------------------

    def _ensure_bucket(self) -> None:
        """Create the bucket (with object lock if configured) or check it fits the settings."""
        if self._bucket_ready:
            return
        with self._translated(None):
            if not self.client.bucket_exists(self.bucket):
                try:
                    self.client.make_bucket(self.bucket, object_lock=self.lock_mode is not None)
                except S3Error as exc:
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
            elif self.lock_mode is not None:
                try:
                    config = self.client.get_object_lock_config(self.bucket)
                except S3Error as exc:
                    if exc.code != "ObjectLockConfigurationNotFoundError":
                        raise
                    config = None
                if config is None:
                    raise self._unavailable(
                        "the bucket has no object lock, but this store is configured to lock "
                        "objects; create a bucket with object lock or set lock=off"
                    )
        self._bucket_ready = True

    def _headers(self, expected: str, retain_until: datetime | None) -> DictType:
        headers: DictType = {"Content-Type": "application/octet-stream", SHA256_METADATA: expected}
        if self.lock_mode is not None:
            until = retain_until or datetime.now(UTC) + timedelta(days=self.retention_days)
            headers["x-amz-object-lock-mode"] = _LOCK_MODES[self.lock_mode]
            headers["x-amz-object-lock-retain-until-date"] = to_iso8601utc(until) or ""
            if self.legal_hold:
                headers["x-amz-object-lock-legal-hold"] = "ON"
        return headers

    def _write(
        self,
        key: str,
        stream: BinaryIO,
        expected: str,
        retain_until: datetime | None,
        *,
        if_absent: bool,
    ) -> ObjectInfo:
        """Upload verified bytes as the key's current version; `_KeyTakenError` if `if_absent`
        and the key is taken. Nothing becomes visible unless the whole stream hashes right."""
        reader = HashingReader(stream)
        headers = self._headers(expected, retain_until)
        condition: DictType = {"If-None-Match": "*"} if if_absent else {}
        data = _read_part(reader, self.part_size)
        if len(data) < self.part_size:  # the whole object is in hand: check, then one PUT
            check_stream(key, expected, reader.hexdigest())
            single: DictType = {**headers, **condition, "x-amz-checksum-sha256": _b64_sha256(expected)}
            self._call(key, lambda: self.client._put_object(self.bucket, key, data, single))
            return ObjectInfo(key, reader.size, expected)

        create: DictType = {**headers, "x-amz-checksum-algorithm": "SHA256"}
        upload_id = self._call(
            key, lambda: self.client._create_multipart_upload(self.bucket, key, create)
        )
        completed = False
        try:
            parts: list[tuple[int, str, str]] = []
            while data:
                number = len(parts) + 1
                if number > MAX_PARTS:
                    raise StorageError(
                        key, f"the object is larger than {MAX_PARTS} parts of {self.part_size} bytes"
                    )
                checksum = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
                etag = self._upload_part(key, upload_id, number, data, checksum)
                parts.append((number, etag, checksum))
                del data  # keep at most one part in memory
                data = _read_part(reader, self.part_size)
            check_stream(key, expected, reader.hexdigest())
            self._complete(key, upload_id, parts, condition)
            completed = True
        finally:
            if not completed:
                with suppress(MinioException, urllib3.exceptions.HTTPError, OSError):
                    self.client._abort_multipart_upload(self.bucket, key, upload_id)
        return ObjectInfo(key, reader.size, expected)

    def _upload_part(self, key: str, upload_id: str, number: int, data: bytes, checksum: str) -> str:
        headers: DictType = {"x-amz-checksum-sha256": checksum}
        return self._call(
            key,
            lambda: self.client._upload_part(self.bucket, key, data, headers, upload_id, number),
        )

    def _complete(
        self, key: str, upload_id: str, parts: list[tuple[int, str, str]], condition: DictType
    ) -> None:
        """CompleteMultipartUpload with each part's SHA-256 (minio-py's own call omits them)."""
        root = Element("CompleteMultipartUpload")
        for number, etag, checksum in parts:
            part = SubElement(root, "Part")
            SubElement(part, "PartNumber").text = str(number)
            SubElement(part, "ETag").text = f'"{etag}"'
            SubElement(part, "ChecksumSHA256").text = checksum
        body = tostring(root, encoding="utf-8")
        headers: DictType = {
            "Content-Type": "application/xml",
            "Content-MD5": md5sum_hash(body) or "",
            **condition,
        }
        response = self._call(
            key,
            lambda: self.client._execute(
                "POST", self.bucket, key, body=body, headers=headers,
                query_params={"uploadId": upload_id},
            ),
        )
        # S3 may report a failed completion with HTTP 200 and an <Error> body.
        if b"<Error>" in response.data[:512]:
            text = response.data.decode("utf-8", "replace")
            if "PreconditionFailed" in text:
                raise _KeyTakenError()
            raise self._unavailable("the server failed to complete the upload", key)
