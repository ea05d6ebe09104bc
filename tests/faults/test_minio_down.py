"""MinIO stopped in the middle of the store step: `archive ingest` ends the transfer as failed and
retryable (exit 6) with a bilingual message; once MinIO is back the same command completes it,
and the buckets hold exactly the catalog's objects, one version each, with no unfinished upload."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.conftest import (
    MINIO_PASSWORD,
    MINIO_USER,
    MinioServer,
    sha256_b64,
    start_minio_server,
)
from tests.fixtures.cli import ARCHIVE, CliRunner
from tests.fixtures.sip_builder import valid_sip

pytestmark = pytest.mark.slow


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[MinioServer]:
    """A server of this test's own, so stopping it disturbs nothing else."""
    yield from start_minio_server(tmp_path / "minio")


def bucket_contents(server: MinioServer, bucket: str) -> tuple[dict[str, int], list[str]]:
    """Versions per object name (delete markers counted too), and the unfinished uploads."""
    client = server.client()
    versions: dict[str, int] = {}
    for entry in client.list_objects(bucket, recursive=True, include_version=True):
        assert entry.object_name is not None
        versions[entry.object_name] = versions.get(entry.object_name, 0) + 1
    uploads = [u.object_name or "" for u in client._list_multipart_uploads(bucket).uploads]
    return versions, uploads


def wait_for(path: Path, process: subprocess.Popen[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"ingest ended before reaching the store step:\n{out}\n{err}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("ingest did not reach the store step in time")
        time.sleep(0.05)


def test_minio_stopped_mid_store_then_ingest_again_completes_without_orphans(
    own_server: MinioServer, cli: CliRunner, archive_home: Path, tmp_path: Path
) -> None:
    buckets = [own_server.new_bucket() for _ in range(2)]
    env = {
        "ARCHIVE_STORAGE": f"s3://{MINIO_USER}:{MINIO_PASSWORD}@{own_server.endpoint}/{buckets[0]}",
        "ARCHIVE_STORAGE_REPLICA": f"s3://{MINIO_USER}:{MINIO_PASSWORD}@{own_server.endpoint}/{buckets[1]}",
    }
    package = valid_sip().write_zip(tmp_path)
    pause = tmp_path / "paused-in-store"
    first = subprocess.Popen(
        [str(ARCHIVE), "ingest", str(package), "--json"],
        env={
            **os.environ,
            "ARCHIVE_HOME": str(archive_home),
            **env,
            "ARCHIVE_FAULT_PAUSE_AT": "store:after-first-object",
            "ARCHIVE_FAULT_PAUSE_FILE": str(pause),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(pause, first, 300)
    own_server.stop()  # the first object is in both copies; the others are not
    pause.unlink()
    out, err = first.communicate(timeout=300)

    assert first.returncode == 6, out + err
    failed = json.loads(out)
    assert (failed["status"], failed["retryable"]) == ("failed", True)
    assert failed["error"]["code"] == "backend_unavailable"
    assert "không truy cập được" in failed["error"]["message_vi"]
    assert "is unavailable" in failed["error"]["message_en"]
    with sqlite3.connect(archive_home / "catalog.sqlite3") as db:
        assert db.execute("select count(*) from dossier").fetchone() == (0,)
        (built,) = db.execute("select output from transfer_step where name = 'build_aip'").fetchone()
    keys = [f"{json.loads(built)['aip_id']}/{o['aip_path']}" for o in json.loads(built)["objects"]]

    own_server.start()
    # A writer cut off inside a multipart upload leaves it on the server (it cannot abort it).
    client = own_server.client()
    upload = client._create_multipart_upload(buckets[0], keys[1], {})
    client._upload_part(buckets[0], keys[1], b"half", {"x-amz-checksum-sha256": sha256_b64(b"half")}, upload, 1)
    assert bucket_contents(own_server, buckets[0])[1] == [keys[1]]

    resumed = cli("ingest", str(package), "--json", env=env)
    assert resumed.code == 0, resumed.stdout + resumed.stderr
    receipt = resumed.json()
    assert isinstance(receipt, dict)
    assert receipt["status"] == "accepted"
    assert receipt["transfer_id"] == failed["transfer_id"]

    with sqlite3.connect(archive_home / "catalog.sqlite3") as db:
        known = {row[0] for row in db.execute("select key from stored_object")}
        assert db.execute("select count(*) from dossier").fetchone() == (1,)
    assert known == set(keys)
    for bucket in buckets:
        versions, uploads = bucket_contents(own_server, bucket)
        assert versions == dict.fromkeys(known, 1)  # no orphan, no second version, no delete marker
        assert uploads == []
    audit = cli("audit", "--json", env=env)
    assert audit.code == 0, audit.stdout + audit.stderr
