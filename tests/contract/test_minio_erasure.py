"""Erasure coding under the MinIO store: a 4-drive server on local folders (MINIO_CI_CD=1), one
shard of an object damaged on disk, the object still read with the right SHA-256, and the shard
put back by MinIO's heal (the admin API that `mc admin heal` calls; heal-on-read alone did not
rewrite the shard within seconds on the pinned MinIO, so the test asks for the heal)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from minio.credentials import StaticProvider
from minio.minioadmin import MinioAdmin

from storage.s3 import MinioObjectStore
from tests.contract.conftest import (
    MINIO_PASSWORD,
    MINIO_SCRIPT,
    MINIO_USER,
    MinioServer,
    require_minio,
)
from tests.fixtures.ports import free_port_pair

DRIVES = 4
KEY = "aip-ec/objects/quyet-dinh-01.pdf"  # ASCII: the admin heal path is signed unencoded


def _live(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/minio/health/live", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.fixture
def erasure_server(tmp_path: Path) -> Iterator[MinioServer]:
    """MinIO on four folders of this test, 127.0.0.1 and a free port; stopped at the end."""
    require_minio()
    binary = subprocess.run(
        ["bash", str(MINIO_SCRIPT), "path"], capture_output=True, text=True, check=True
    ).stdout.strip()
    folder = tmp_path / "erasure"
    for number in range(1, DRIVES + 1):
        (folder / f"drive{number}").mkdir(parents=True)
    port = free_port_pair()
    env = {
        **os.environ,
        "MINIO_CI_CD": "1",  # accept drives that share one filesystem
        "MINIO_ROOT_USER": MINIO_USER,
        "MINIO_ROOT_PASSWORD": MINIO_PASSWORD,
        "MINIO_BROWSER": "off",
        "MINIO_UPDATE": "off",
    }
    with (folder / "minio.log").open("wb") as log:
        process = subprocess.Popen(
            [
                binary, "server", f"{folder}/drive{{1...{DRIVES}}}",
                "--address", f"127.0.0.1:{port}", "--console-address", f"127.0.0.1:{port + 1}", "--quiet",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not _live(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the 4-drive MinIO did not start:\n" + (folder / "minio.log").read_text())
            time.sleep(0.1)
        yield MinioServer(folder, port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def shards(server: MinioServer, bucket: str, key: str) -> list[Path]:
    """The object's data file on each drive (objects this size are not inlined in xl.meta)."""
    return sorted(server.folder.glob(f"drive*/{bucket}/{key}/*/part.1"))


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def heal(server: MinioServer, bucket: str, key: str) -> dict[str, Any]:
    """Ask MinIO to heal one object with a deep (bitrot) scan; return the object's heal result."""
    admin = MinioAdmin(
        endpoint=server.endpoint, credentials=StaticProvider(MINIO_USER, MINIO_PASSWORD), secure=False
    )
    command: Any = SimpleNamespace(value=f"heal/{bucket}/{key}")  # minio-py has no heal call
    options = {"recursive": False, "dryRun": False, "remove": False, "scanMode": 2}
    started = json.loads(admin._url_open(method="POST", command=command, body=json.dumps(options).encode()).data)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = json.loads(
            admin._url_open(
                method="POST", command=command, query_params={"clientToken": started["clientToken"]}
            ).data
        )
        for item in status.get("Items") or []:
            if item.get("type") == "object" and item.get("object") == key:
                return dict(item)
        if status.get("Summary") == "finished":
            break
        time.sleep(0.2)
    pytest.fail(f"MinIO reported no heal result for {key}")


def drive_states(result: dict[str, Any], when: str) -> dict[str, str]:
    return {Path(d["endpoint"]).name: d["state"] for d in result[when]["drives"]}


def test_a_damaged_shard_is_read_around_and_healed(erasure_server: MinioServer) -> None:
    bucket = erasure_server.new_bucket(lock=True)
    store = MinioObjectStore(erasure_server.endpoint, MINIO_USER, MINIO_PASSWORD, bucket, "primary", retention_days=1)
    data = os.urandom(3 * 1024 * 1024 + 12_345)
    expected = hashlib.sha256(data).hexdigest()
    store.put(KEY, io.BytesIO(data), expected)

    files = shards(erasure_server, bucket, KEY)
    assert [f.relative_to(erasure_server.folder).parts[0] for f in files] == [f"drive{n}" for n in range(1, 5)]
    assert all(f.stat().st_size < len(data) for f in files)  # erasure-coded: each drive holds a part
    damaged = files[1]
    good_shard = file_sha(damaged)
    raw = bytearray(damaged.read_bytes())
    for offset in range(4096, 4096 + 256):
        raw[offset] ^= 0xFF
    damaged.write_bytes(bytes(raw))
    assert file_sha(damaged) != good_shard

    assert store.hash_object(KEY) == expected  # read correctly despite the damaged shard
    assert store.stat(KEY).sha256 == expected

    result = heal(erasure_server, bucket, KEY)
    assert drive_states(result, "before")["drive2"] == "corrupt"
    assert set(drive_states(result, "after").values()) == {"ok"}
    assert file_sha(damaged) == good_shard  # the shard on disk is back, bit for bit
    assert store.hash_object(KEY) == expected
