"""What only the MinIO store promises beyond the contract: object lock, server-side checksums,
recovery after the server went away, and the s3:// URL."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from minio.error import S3Error
from minio.retention import Retention

from archive_service.retention import retain_until
from storage.errors import (
    ImmutableObject,
    IntegrityMismatch,
    ObjectNotFound,
    OperationNotSupported,
    StorageUnavailable,
)
from storage.factory import from_url
from storage.s3 import MIN_PART_SIZE, SHA256_METADATA, MinioObjectStore
from tests.contract.conftest import (
    MINIO_PASSWORD,
    MINIO_USER,
    MinioServer,
    sha256_b64,
    start_minio_server,
)

KEY = "Phông-01/Hồ sơ 2024/Quyết định số 12.pdf"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_store(server: MinioServer, bucket: str, **options: Any) -> MinioObjectStore:
    return MinioObjectStore(server.endpoint, MINIO_USER, MINIO_PASSWORD, bucket, "primary", **options)


def everything(server: MinioServer, bucket: str) -> list[str]:
    """Every version, delete marker and unfinished upload in the bucket."""
    client = server.client()
    found = [
        f"{entry.object_name}@{entry.version_id}"
        for entry in client.list_objects(bucket, recursive=True, include_version=True)
    ]
    found += [f"upload:{up.object_name}" for up in client._list_multipart_uploads(bucket).uploads]
    return found


def damage_sent_bytes(store: MinioObjectStore, monkeypatch: pytest.MonkeyPatch, *, part: int) -> None:
    """Flip one byte of the `part`-th body PUT after the store hashed it (damage in transit).

    minio-py signs the body it is given, so only the x-amz-checksum-sha256 header can catch it."""
    original = store.client._execute
    seen = [0]

    def tampering(method: str, *args: Any, **kwargs: Any) -> Any:
        body = kwargs.get("body")
        if method == "PUT" and body:
            seen[0] += 1
            if seen[0] == part:
                kwargs["body"] = bytes([body[0] ^ 0x01]) + body[1:]
        return original(method, *args, **kwargs)

    monkeypatch.setattr(store.client, "_execute", tampering)


@pytest.fixture
def locked(minio_server: MinioServer) -> MinioObjectStore:
    return make_store(minio_server, minio_server.new_bucket(lock=True), retention_days=1)


def test_locked_version_cannot_be_deleted_or_overwritten(
    minio_server: MinioServer, locked: MinioObjectStore
) -> None:
    data = b"the signed original" * 100
    locked.put(KEY, io.BytesIO(data), sha(data))
    client = minio_server.client()
    version = client.stat_object(locked.bucket, KEY).version_id
    assert version

    retention = client.get_object_retention(locked.bucket, KEY)
    assert retention is not None
    assert retention.mode == "GOVERNANCE"
    assert retention.retain_until_date is not None
    assert retention.retain_until_date > datetime.now(UTC) + timedelta(hours=23)

    with pytest.raises(S3Error) as removing:  # removing the version: refused by the lock
        client.remove_object(locked.bucket, KEY, version_id=version)
    assert "WORM protected" in (removing.value.message or "")
    with pytest.raises(S3Error):  # shortening the retention without bypass: refused too
        client.set_object_retention(
            locked.bucket,
            KEY,
            Retention("GOVERNANCE", datetime.now(UTC) + timedelta(minutes=1)),
            version_id=version,
        )

    # A plain PUT of other bytes cannot replace the locked version: S3 adds a new version on top.
    other = b"forged"
    client._put_object(locked.bucket, KEY, other, {"x-amz-checksum-sha256": sha256_b64(other)})
    with client.get_object(locked.bucket, KEY, version_id=version) as response:
        assert response.read() == data
    # ... and the store sees the forgery: it carries no recorded fixity.
    with pytest.raises(IntegrityMismatch, match="recorded SHA-256"):
        locked.stat(KEY)
    assert locked.hash_object(KEY) == sha(other)

    # The store's own rewrite goes through the same refusal as any different bytes.
    locked.repair(KEY, io.BytesIO(data), sha(data))
    with pytest.raises(IntegrityMismatch):
        locked.put(KEY, io.BytesIO(other), sha(other))
    assert locked.hash_object(KEY) == locked.stat(KEY).sha256 == sha(data)
    versions = [entry for entry in everything(minio_server, locked.bucket) if entry.startswith(KEY)]
    assert len(versions) == 3  # original, forgery, repair: nothing was ever deleted


def test_bytes_damaged_in_transit_are_refused_by_the_server(
    minio_server: MinioServer, locked: MinioObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"one small object" * 1000
    damage_sent_bytes(locked, monkeypatch, part=1)

    with pytest.raises(IntegrityMismatch, match="damaged in transit"):
        locked.put(KEY, io.BytesIO(data), sha(data))

    assert not locked.exists(KEY)
    assert everything(minio_server, locked.bucket) == []


def test_damaged_part_of_a_multipart_upload_commits_nothing(
    minio_server: MinioServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(minio_server, minio_server.new_bucket(lock=True), part_size=MIN_PART_SIZE)
    data = bytes(range(256)) * (MIN_PART_SIZE * 2 // 256 + 100)  # three parts
    damage_sent_bytes(store, monkeypatch, part=2)

    with pytest.raises(IntegrityMismatch, match="damaged in transit"):
        store.put(KEY, io.BytesIO(data), sha(data))

    assert everything(minio_server, store.bucket) == []  # the upload was aborted


def test_multipart_stream_with_wrong_hash_is_never_completed(minio_server: MinioServer) -> None:
    store = make_store(minio_server, minio_server.new_bucket(lock=True), part_size=MIN_PART_SIZE)
    data = b"x" * (MIN_PART_SIZE + 1)

    with pytest.raises(IntegrityMismatch) as caught:
        store.put(KEY, io.BytesIO(data), sha(b"other"))
    assert caught.value.found == sha(data)
    assert everything(minio_server, store.bucket) == []

    info = store.put(KEY, io.BytesIO(data), sha(data))  # the same stream, right hash: committed
    assert (info.size, store.stat(KEY), store.hash_object(KEY)) == (len(data), info, sha(data))
    stored = minio_server.client().stat_object(store.bucket, KEY)
    assert stored.metadata is not None
    assert stored.metadata[SHA256_METADATA] == sha(data)
    assert stored.etag != sha(data)  # the ETag is not our fixity


def test_legal_hold_on_request(minio_server: MinioServer) -> None:
    store = make_store(minio_server, minio_server.new_bucket(lock=True), legal_hold=True)
    until = datetime.now(UTC) + timedelta(days=30)
    store.put(KEY, io.BytesIO(b"data"), sha(b"data"), retain_until=until)
    client = minio_server.client()
    assert client.is_object_legal_hold_enabled(store.bucket, KEY)
    retention = client.get_object_retention(store.bucket, KEY)
    assert retention is not None
    assert retention.retain_until_date is not None
    assert abs(retention.retain_until_date - until) < timedelta(seconds=1)


def test_plain_bucket_without_lock(minio_server: MinioServer) -> None:
    store = make_store(minio_server, minio_server.new_bucket(lock=False), lock_mode=None)
    data = b"unlocked"
    store.put(KEY, io.BytesIO(data), sha(data))
    assert store.repair(KEY, io.BytesIO(data), sha(data)) == store.stat(KEY)
    with pytest.raises(S3Error, match="ObjectLockConfiguration"):
        minio_server.client().get_object_retention(store.bucket, KEY)


def test_locked_store_refuses_a_bucket_without_lock(minio_server: MinioServer) -> None:
    store = make_store(minio_server, minio_server.new_bucket(lock=False))
    with pytest.raises(StorageUnavailable, match="no object lock"):
        store.health()
    with pytest.raises(StorageUnavailable, match="no object lock"):
        store.put(KEY, io.BytesIO(b"data"), sha(b"data"))


def test_missing_bucket_is_created_with_lock_on_first_write(minio_server: MinioServer) -> None:
    store = make_store(minio_server, f"fresh-{datetime.now(UTC):%H%M%S%f}")
    with pytest.raises(StorageUnavailable, match="bucket does not exist"):
        store.stat(KEY)
    store.health()
    assert minio_server.client().get_object_lock_config(store.bucket) is not None


def test_repair_of_a_locked_object_is_refused_when_the_server_says_so(
    locked: MinioObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A COMPLIANCE-style refusal surfaces as ImmutableObject, not a raw SDK error."""
    data = b"data"
    locked.put(KEY, io.BytesIO(data), sha(data))

    def refuse(*args: Any, **kwargs: Any) -> Any:
        response: Any = None
        raise S3Error(response, "ObjectLocked", "Object is WORM protected", KEY, "req", "host")

    monkeypatch.setattr(locked.client, "_put_object", refuse)
    with pytest.raises(ImmutableObject):
        locked.repair(KEY, io.BytesIO(data), sha(data))


@pytest.mark.parametrize("size", [100, MIN_PART_SIZE + 100], ids=["single", "multipart"])
def test_writer_that_loses_the_race_is_refused_by_the_conditional_write(
    minio_server: MinioServer, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    """Both writers saw the key free; the server's If-None-Match decides, not the pre-check."""
    store = make_store(minio_server, minio_server.new_bucket(lock=True), part_size=MIN_PART_SIZE)
    first, second = b"a" * size, b"b" * size
    store.put(KEY, io.BytesIO(first), sha(first))
    real_existing = store._existing
    calls = [0]

    def stale_first_look(key: str) -> Any:
        calls[0] += 1
        return None if calls[0] == 1 else real_existing(key)

    monkeypatch.setattr(store, "_existing", stale_first_look)
    with pytest.raises(IntegrityMismatch) as caught:
        store.put(KEY, io.BytesIO(second), sha(second))
    assert caught.value.found == sha(first)
    assert len(everything(minio_server, store.bucket)) == 1  # no new version, no open upload

    calls[0] = 0  # the same bytes racing: the loser succeeds without writing
    assert store.put(KEY, io.BytesIO(first), sha(first)).sha256 == sha(first)
    assert len(everything(minio_server, store.bucket)) == 1


# -- the server going away ---------------------------------------------------------------------


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[MinioServer]:
    """A server of this test's own, so stopping it disturbs nothing else."""
    yield from start_minio_server(tmp_path / "minio")


class StopsServer(io.RawIOBase):
    """`size` bytes; stops the server once more than `after` bytes have been read."""

    def __init__(self, size: int, after: int, server: MinioServer) -> None:
        self._left = size
        self._read = 0
        self._after = after
        self._server: MinioServer | None = server

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._read > self._after and self._server is not None:
            self._server.stop()
            self._server = None
        view = memoryview(buffer).cast("B")
        count = min(len(view), self._left)
        view[:count] = b"z" * count
        self._left -= count
        self._read += count
        return count


def test_server_stopped_mid_put_is_unavailable_then_works_after_restart(
    own_server: MinioServer,
) -> None:
    store = make_store(own_server, own_server.new_bucket(lock=True), part_size=MIN_PART_SIZE)
    size = MIN_PART_SIZE * 2 + 10
    data = b"z" * size

    with pytest.raises(StorageUnavailable) as caught:
        store.put(KEY, io.BufferedReader(StopsServer(size, MIN_PART_SIZE, own_server)), sha(data))
    assert caught.value.retryable
    with pytest.raises(StorageUnavailable):
        store.health()
    with pytest.raises(StorageUnavailable):
        store.exists(KEY)

    own_server.start()
    assert not store.exists(KEY)  # nothing half-committed
    info = store.put(KEY, io.BytesIO(data), sha(data))
    assert store.stat(KEY) == info
    assert store.hash_object(KEY) == sha(data)


# -- the URL -----------------------------------------------------------------------------------


def test_url_builds_a_working_store(minio_server: MinioServer) -> None:
    bucket = minio_server.new_bucket(lock=True)
    store = from_url(
        f"s3://{MINIO_USER}:{MINIO_PASSWORD}@{minio_server.endpoint}/{bucket}"
        "?lock=governance&retention_days=2",
        "replica",
    )
    assert isinstance(store, MinioObjectStore)
    assert (store.name, store.bucket, store.lock_mode, store.retention_days) == (
        "replica",
        bucket,
        "governance",
        2,
    )
    assert not store.secure
    store.put(KEY, io.BytesIO(b"data"), sha(b"data"))
    assert store.hash_object(KEY) == sha(b"data")
    assert MINIO_PASSWORD not in repr(store)


def test_url_credentials_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVE_S3_ACCESS_KEY", "env-user")
    monkeypatch.setenv("ARCHIVE_S3_SECRET_KEY", "env-secret-value")
    store = from_url("minio://storage.example.org:9000/aip?lock=off", "primary")
    assert isinstance(store, MinioObjectStore)
    assert store.secure  # not a loopback host: HTTPS unless told otherwise
    assert store.lock_mode is None
    assert "env-secret-value" not in repr(store)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://user:s3cr3t-value@127.0.0.1:9010/", "one bucket"),
        ("s3://user:s3cr3t-value@127.0.0.1:9010/a/b", "one bucket"),
        ("s3://user:s3cr3t-value@127.0.0.1:9010/aip?lock=maybe", "lock must be"),
        ("s3://user:s3cr3t-value@127.0.0.1:9010/aip?retention_days=-1", "retention_days"),
        ("s3://user:s3cr3t-value@127.0.0.1:9010/aip?colour=red", "unknown s3 storage option"),
        ("s3://user:s3cr3t-value@127.0.0.1:9010/aip?secure=perhaps", "secure must be"),
        ("s3://user:s3cr3t-value@127.0.0.1:port/aip", "invalid port"),
        ("s3://127.0.0.1:9010/aip", "needs credentials"),
    ],
)
def test_bad_urls_are_refused_without_echoing_secrets(
    url: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARCHIVE_S3_ACCESS_KEY", raising=False)
    monkeypatch.delenv("ARCHIVE_S3_SECRET_KEY", raising=False)
    with pytest.raises(ValueError, match=message) as caught:
        from_url(url, "primary")
    assert "s3cr3t" not in str(caught.value)


# -- legal hold and unfinished uploads -------------------------------------------------------


def delete_bypassing_governance(server: MinioServer, bucket: str, key: str, version: str) -> None:
    """What an administrator with the bypass permission can do to a GOVERNANCE-locked version."""
    server.client()._execute(
        "DELETE",
        bucket,
        key,
        headers={"x-amz-bypass-governance-retention": "true"},
        query_params={"versionId": version},
    )


def test_legal_hold_stops_even_a_governance_bypass_until_lifted(
    minio_server: MinioServer, locked: MinioObjectStore
) -> None:
    data = b"evidence in a dispute"
    locked.put(KEY, io.BytesIO(data), sha(data))
    locked.repair(KEY, io.BytesIO(data), sha(data))  # two versions of the key now
    versions = [v.partition("@")[2] for v in everything(minio_server, locked.bucket)]
    assert not locked.lock_state(KEY).legal_hold

    assert locked.set_legal_hold(KEY, True) == 2
    state = locked.lock_state(KEY)
    assert state.legal_hold
    assert state.mode == "GOVERNANCE"
    assert state.retain_until is not None
    assert state.retain_until > datetime.now(UTC)
    for version in versions:
        with pytest.raises(S3Error) as refused:
            delete_bypassing_governance(minio_server, locked.bucket, KEY, version)
        assert "WORM protected" in (refused.value.message or "")
    assert locked.hash_object(KEY) == sha(data)

    assert locked.set_legal_hold(KEY, False) == 2
    assert not locked.lock_state(KEY).legal_hold
    # Without the hold, only the retention is left, and the bypass (an audited operator
    # procedure outside the application) can remove a version again.
    delete_bypassing_governance(minio_server, locked.bucket, KEY, versions[0])
    assert len(everything(minio_server, locked.bucket)) == 1


def test_legal_hold_of_a_missing_key_is_not_found(locked: MinioObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        locked.set_legal_hold(KEY, True)
    with pytest.raises(ObjectNotFound):
        locked.lock_state(KEY)


def test_bucket_without_lock_has_no_legal_hold(minio_server: MinioServer) -> None:
    store = make_store(minio_server, minio_server.new_bucket(lock=False), lock_mode=None)
    store.put(KEY, io.BytesIO(b"data"), sha(b"data"))
    with pytest.raises(OperationNotSupported, match="without object lock"):
        store.set_legal_hold(KEY, True)
    with pytest.raises(OperationNotSupported):
        store.lock_state(KEY)


def test_discarding_unfinished_uploads_keeps_committed_objects(
    minio_server: MinioServer, locked: MinioObjectStore
) -> None:
    data = b"committed"
    locked.put(KEY, io.BytesIO(data), sha(data))
    other = KEY + ".bis"
    client = minio_server.client()
    for key in (KEY, KEY, other):  # what uploads cut off by a stopped server leave behind
        upload = client._create_multipart_upload(locked.bucket, key, {})
        client._upload_part(locked.bucket, key, b"half", {"x-amz-checksum-sha256": sha256_b64(b"half")}, upload, 1)

    assert locked.discard_incomplete(KEY) == 2
    assert locked.discard_incomplete(KEY) == 0
    left = everything(minio_server, locked.bucket)
    assert [entry for entry in left if entry.startswith("upload:")] == [f"upload:{other}"]
    assert locked.hash_object(KEY) == sha(data)


def test_the_permanent_horizon_is_accepted_by_the_server(locked: MinioObjectStore) -> None:
    """"Vĩnh viễn" maps to ARCHIVE_RETENTION_PERMANENT_YEARS (100 by default) from receipt."""
    received = datetime.now(UTC)
    until = retain_until({"Maintenance": "Vĩnh viễn"}, "tt02-2019", received, permanent_years=100)
    assert until is not None
    locked.put(KEY, io.BytesIO(b"permanent"), sha(b"permanent"), retain_until=until)
    state = locked.lock_state(KEY)
    assert state.retain_until is not None
    assert state.retain_until.year == received.year + 100
    assert abs(state.retain_until - until) < timedelta(seconds=1)
