"""Uploads reach workers on other hosts through an S3 bucket (decision 0017), on a real MinIO:
the server stages an upload, a worker gets it back verified, and it is deleted at the end."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive_service import intake
from archive_service.catalog import queries
from archive_service.config import Settings
from archive_service.errors import IntegrityError
from archive_service.upload_staging import discard, local_upload, materialise, stage
from archive_service.wiring import Services, build_services
from storage.upload_area import upload_area_from_url
from tests.contract.conftest import MINIO_PASSWORD, MINIO_USER, MinioServer, minio_server  # noqa: F401 -- fixture

BODY = b"PK\x05\x06" + bytes(18)  # an empty ZIP


@pytest.fixture
def bucket(minio_server: MinioServer) -> str:  # noqa: F811 -- the imported fixture
    return minio_server.new_bucket(lock=False)


def _services(home: Path, minio: MinioServer, bucket: str, catalog: Path) -> Services:
    url = f"s3://{MINIO_USER}:{MINIO_PASSWORD}@{minio.endpoint}/{bucket}?lock=off"
    return build_services(Settings(home=home, uploads=url, database_url=f"sqlite:///{catalog}"))


@pytest.fixture
def server_and_worker(
    tmp_path: Path, minio_server: MinioServer, bucket: str  # noqa: F811 -- the imported fixture
) -> Iterator[tuple[Services, Services]]:
    """Two hosts: the server's and a worker's ARCHIVE_HOME, sharing one catalog."""
    server = _services(tmp_path / "server", minio_server, bucket, tmp_path / "catalog.sqlite3")
    worker = _services(tmp_path / "worker", minio_server, bucket, tmp_path / "catalog.sqlite3")
    upload = local_upload(server, "t1")
    upload.parent.mkdir(parents=True)
    upload.write_bytes(BODY)
    intake.enqueue(
        server, "t1", upload, submitter="s", submitter_org=None, profile=None, idempotency_key=None,
        body_sha256=hashlib.sha256(BODY).hexdigest(), body_size=len(BODY),
    )
    yield server, worker
    server.close()
    worker.close()


def _objects(minio: MinioServer, bucket: str) -> list[str]:
    return [o.object_name or "" for o in minio.client().list_objects(bucket, recursive=True)]


def test_an_upload_goes_through_the_bucket_to_the_worker_and_is_deleted_at_the_end(
    server_and_worker: tuple[Services, Services], minio_server: MinioServer, bucket: str  # noqa: F811
) -> None:
    server, worker = server_and_worker
    stage(server, "t1")
    assert not local_upload(server, "t1").exists()
    assert _objects(minio_server, bucket) == ["uploads/t1.zip"]
    with worker.sessions() as session:
        transfer = queries.transfer(session, "t1")
    materialise(worker, transfer)
    assert local_upload(worker, "t1").read_bytes() == BODY
    with worker.sessions() as session:
        assert queries.transfer(session, "t1").source_path == str(local_upload(worker, "t1"))
    discard(worker, transfer)
    assert not local_upload(worker, "t1").exists()
    assert _objects(minio_server, bucket) == []


def test_an_upload_altered_in_the_bucket_is_refused_and_nothing_is_left(
    server_and_worker: tuple[Services, Services], minio_server: MinioServer, bucket: str  # noqa: F811
) -> None:
    server, worker = server_and_worker
    stage(server, "t1")
    client = minio_server.client()
    client.remove_object(bucket, "uploads/t1.zip")
    client.put_object(bucket, "uploads/t1.zip", io.BytesIO(b"other bytes"), 11, metadata={"sha256": "0" * 64})
    with worker.sessions() as session:
        transfer = queries.transfer(session, "t1")
    with pytest.raises(IntegrityError):
        materialise(worker, transfer)
    assert not any(local_upload(worker, "t1").parent.iterdir())


def test_a_locked_bucket_is_refused_as_an_uploads_area(minio_server: MinioServer) -> None:  # noqa: F811
    locked = minio_server.new_bucket(lock=True)
    with pytest.raises(ValueError, match="lock=off"):
        upload_area_from_url(f"s3://{MINIO_USER}:{MINIO_PASSWORD}@{minio_server.endpoint}/{locked}")
