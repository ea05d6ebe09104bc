"""The backends the contract tests run on.

Each backend is a small class giving the tests a store plus the few things only an intruder
with direct access could do (corrupt or remove stored bytes, leave crash debris). Adding a
backend means one such class and one entry in `BACKENDS`; the tests stay as they are.

The "minio" backend needs the MinIO binary (`scripts/services/minio.sh install`). The first test
that uses it starts one server for the session (a temp data dir, a free port on 127.0.0.1,
stopped at the end); each test gets a fresh bucket with object lock. Without the binary the
tests skip, or fail under CI=true.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import stat
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import pytest
from minio import Minio

from storage.local import LocalObjectStore
from storage.protocol import ObjectStore
from storage.s3 import SHA256_METADATA, MinioObjectStore
from tests.fixtures.ports import free_port_pair

REPO = Path(__file__).resolve().parents[2]
MINIO_SCRIPT = REPO / "scripts" / "services" / "minio.sh"
MINIO_USER = "archive-test"
MINIO_PASSWORD = "archive-test-secret"


class Backend(Protocol):
    store: ObjectStore

    def corrupt(self, key: str) -> None:
        """Flip one stored byte behind the store's back."""

    def remove(self, key: str) -> None:
        """Remove the stored bytes behind the store's back."""

    def leave_crash_debris(self, key: str) -> None:
        """Leave what a process killed in the middle of storing `key` would leave."""

    def is_protected(self, key: str) -> bool:
        """Whether the committed object is protected against being overwritten."""

    def raw_state(self) -> dict[str, tuple[int, ...]]:
        """Everything the backend holds, with enough metadata to see any change."""


class LocalBackend:
    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "store"
        self.root.mkdir()  # a provisioned store, as a bucket would be
        self.store: ObjectStore = LocalObjectStore(self.root, "primary")

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def corrupt(self, key: str) -> None:
        path = self._path(key)
        path.chmod(0o644)  # committed files are read-only; an intruder just changes that
        with path.open("r+b") as stored:
            first = stored.read(1)
            stored.seek(0)
            stored.write(bytes([first[0] ^ 0x01]))

    def remove(self, key: str) -> None:
        self._path(key).unlink()

    def leave_crash_debris(self, key: str) -> None:
        folder = self._path(key).parent
        folder.mkdir(parents=True, exist_ok=True)
        (self.root / ".tmp-0123456789abcdef").write_bytes(b"half an obj")  # killed while streaming
        (folder / ".tmp-fedcba9876543210").write_bytes(b"half")  # an older writer's temp file
        record = self.root.joinpath(".fixity", *key.split("/"))  # killed between the two renames
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(f"# size 4\n{'ab' * 32}  {key}\n", encoding="utf-8")

    def is_protected(self, key: str) -> bool:
        return stat.S_IMODE(self._path(key).stat().st_mode) & 0o222 == 0

    def raw_state(self) -> dict[str, tuple[int, ...]]:
        state: dict[str, tuple[int, ...]] = {}
        for folder, _, files in os.walk(self.root):
            for name in files:
                path = Path(folder, name)
                if path != self.root / ".lock":
                    info = path.stat()
                    relative = path.relative_to(self.root).as_posix()
                    state[relative] = (info.st_ino, info.st_mtime_ns, info.st_size, info.st_mode)
        return state


@dataclass(frozen=True)
class MinioServer:
    """A MinIO server started by `scripts/services/minio.sh` for the tests."""

    folder: Path
    port: int

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def script(self, action: str) -> None:
        env = {**os.environ, "MINIO_ROOT_USER": MINIO_USER, "MINIO_ROOT_PASSWORD": MINIO_PASSWORD}
        done = subprocess.run(
            ["bash", str(MINIO_SCRIPT), action, str(self.folder), str(self.port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"minio.sh {action} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        self.script("start")

    def stop(self) -> None:
        self.script("stop")

    def client(self) -> Minio:
        return Minio(self.endpoint, MINIO_USER, MINIO_PASSWORD, secure=False)

    def new_bucket(self, *, lock: bool = True) -> str:
        bucket = f"test-{uuid.uuid4().hex[:16]}"
        self.client().make_bucket(bucket, object_lock=lock)
        return bucket


def require_minio() -> None:
    """Skip (fail under CI=true) when the MinIO binary is not installed."""
    found = subprocess.run(["bash", str(MINIO_SCRIPT), "path"], capture_output=True, check=False)
    if found.returncode != 0:
        message = "MinIO is not installed; run `scripts/services/minio.sh install` (builds it once)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def start_minio_server(folder: Path) -> Iterator[MinioServer]:
    """Start a server in `folder`; stop it and remove its data when the generator is closed."""
    require_minio()
    server = MinioServer(folder, free_port_pair())
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def minio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MinioServer]:
    yield from start_minio_server(tmp_path_factory.mktemp("minio"))


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


class MinioBackend:
    """A fresh object-locked bucket; the intruder holds the root credentials (no bypass)."""

    def __init__(self, server: MinioServer) -> None:
        self.server = server
        self.client = server.client()
        self.bucket = server.new_bucket(lock=True)
        self.store: ObjectStore = MinioObjectStore(
            server.endpoint,
            MINIO_USER,
            MINIO_PASSWORD,
            self.bucket,
            "primary",
            lock_mode="governance",
            retention_days=1,
        )

    def corrupt(self, key: str) -> None:
        """Write altered bytes as a new current version, keeping the recorded SHA-256: a locked
        version cannot be altered in place, so this is what damage looks like to every reader."""
        found = self.client.stat_object(self.bucket, key)
        recorded = (found.metadata or {}).get(SHA256_METADATA, "")
        with self.client.get_object(self.bucket, key) as response:
            data = bytearray(response.read())
        data[0] ^= 0x01
        headers = {SHA256_METADATA: recorded, "x-amz-checksum-sha256": sha256_b64(bytes(data))}
        self.client._put_object(self.bucket, key, bytes(data), dict(headers))

    def remove(self, key: str) -> None:
        self.client.remove_object(self.bucket, key)  # a delete marker: no version is removed

    def leave_crash_debris(self, key: str) -> None:
        part = b"half an object"
        upload = self.client._create_multipart_upload(self.bucket, key, {})
        self.client._upload_part(
            self.bucket, key, part, {"x-amz-checksum-sha256": sha256_b64(part)}, upload, 1
        )

    def is_protected(self, key: str) -> bool:
        retention = self.client.get_object_retention(self.bucket, key)
        until = retention.retain_until_date if retention is not None else None
        return (
            retention is not None
            and retention.mode == "GOVERNANCE"
            and until is not None
            and until > datetime.now(UTC)
        )

    def raw_state(self) -> dict[str, tuple[int, ...]]:
        state: dict[str, tuple[int, ...]] = {}
        for found in self.client.list_objects(self.bucket, recursive=True, include_version=True):
            modified = found.last_modified
            state[f"{found.object_name}@{found.version_id}"] = (
                found.size or 0,
                int(modified.timestamp() * 1_000_000) if modified else 0,
                int(found.is_delete_marker),
                int(hashlib.sha256((found.etag or "").encode()).hexdigest()[:12], 16),
            )
        for upload in self.client._list_multipart_uploads(self.bucket).uploads:
            state[f"upload:{upload.object_name}@{upload.upload_id}"] = (0,)
        return state


BackendFactory = Callable[[pytest.FixtureRequest, Path], Backend]


def _local(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return LocalBackend(tmp_path)


def _minio(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    server: MinioServer = request.getfixturevalue("minio_server")
    return MinioBackend(server)


BACKENDS = [pytest.param(_local, id="local"), pytest.param(_minio, id="minio")]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    factory: BackendFactory = request.param
    return factory(request, tmp_path)


@pytest.fixture
def store(backend: Backend) -> ObjectStore:
    return backend.store
