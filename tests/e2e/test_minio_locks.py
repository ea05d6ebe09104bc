"""Object lock through the CLI on two MinIO buckets: each AIP object is retained until the date
its dossier's retention period gives, and `archive hold` freezes every object of a dossier in
both copies, even against a governance bypass, until an archivist lifts it."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from minio.error import S3Error

from tests.contract.conftest import (  # noqa: F401 -- minio_server is a fixture
    MINIO_PASSWORD,
    MINIO_USER,
    MinioServer,
    minio_server,
    sha256_b64,
)
from tests.fixtures.cli import CliRunner
from tests.fixtures.sip_builder import valid_sip

pytestmark = pytest.mark.slow


def versions(server: MinioServer, bucket: str) -> dict[str, list[str]]:
    """Every object of the bucket with its version ids."""
    found: dict[str, list[str]] = {}
    for entry in server.client().list_objects(bucket, recursive=True, include_version=True):
        assert entry.object_name is not None
        assert entry.version_id is not None
        found.setdefault(entry.object_name, []).append(entry.version_id)
    return found


def delete_version(server: MinioServer, bucket: str, key: str, version: str, *, bypass: bool) -> None:
    headers = {"x-amz-bypass-governance-retention": "true"} if bypass else {}
    server.client()._execute("DELETE", bucket, key, headers=headers, query_params={"versionId": version})


def test_retention_from_the_dossier_and_legal_hold_on_request(
    minio_server: MinioServer,  # noqa: F811 -- the imported fixture
    cli: CliRunner,
    archive_home: Path,
    tmp_path: Path,
) -> None:
    buckets = [minio_server.new_bucket() for _ in range(2)]
    env = {
        "ARCHIVE_STORAGE": f"s3://{MINIO_USER}:{MINIO_PASSWORD}@{minio_server.endpoint}/{buckets[0]}",
        "ARCHIVE_STORAGE_REPLICA": f"s3://{MINIO_USER}:{MINIO_PASSWORD}@{minio_server.endpoint}/{buckets[1]}",
    }
    builder = valid_sip(pages=(1,))
    builder.dossier.update({"Maintenance": "20 năm", "EndDate": "27/12/2019", "TotalDoc": "1"})
    code = builder.dossier["FileCode"]
    ingested = cli("ingest", str(builder.write_zip(tmp_path)), "--json", env=env)
    assert ingested.code == 0, ingested.stdout + ingested.stderr
    with sqlite3.connect(archive_home / "catalog.sqlite3") as db:
        keys = {row[0] for row in db.execute("select key from stored_object")}
    assert keys

    # 20 years from 1 January after the dossier ended in 2019, on every object of both copies.
    client = minio_server.client()
    for bucket in buckets:
        stored = versions(minio_server, bucket)
        assert set(stored) == keys
        for key, ids in stored.items():
            assert len(ids) == 1
            retention = client.get_object_retention(bucket, key)
            assert retention is not None
            assert retention.mode == "GOVERNANCE"
            assert retention.retain_until_date == datetime(2040, 1, 1, tzinfo=UTC)
            assert not client.is_object_legal_hold_enabled(bucket, key)
    key = sorted(keys)[0]
    version = versions(minio_server, buckets[0])[key][0]
    with pytest.raises(S3Error, match="WORM protected"):  # locked: not even root deletes it without bypass
        delete_version(minio_server, buckets[0], key, version, bypass=False)

    for name, role in (("lan", "archivist"), ("minh", "auditor")):
        assert cli("users", "add", name, "--role", role).code == 0
    refused = cli("hold", code, "--on", "--as", "minh", env=env)
    assert refused.code == 4, refused.stdout + refused.stderr
    assert "Chỉ lưu trữ viên" in refused.stderr and "Only an archivist" in refused.stderr

    held = cli("hold", code, "--on", "--as", "lan", "--json", env=env)
    assert held.code == 0, held.stdout + held.stderr
    report = held.json()
    assert isinstance(report, dict)
    assert report["requested"] == "on"
    assert {(o["key"], o["copy"]) for o in report["objects"]} == {
        (k, c) for k in keys for c in ("primary", "replica")
    }
    assert all(o["legal_hold"] and o["retain_until"].startswith("2040-01-01") for o in report["objects"])
    for bucket in buckets:
        assert all(client.is_object_legal_hold_enabled(bucket, k) for k in keys)
    with pytest.raises(S3Error, match="WORM protected"):  # held: even the governance bypass is refused
        delete_version(minio_server, buckets[0], key, version, bypass=True)

    shown = cli("hold", code, "--as", "minh", env=env)  # auditors may look
    assert shown.code == 0, shown.stderr
    assert "legal hold: BẬT / ON" in shown.stdout

    lifted = cli("hold", code, "--off", "--as", "lan", env=env)
    assert lifted.code == 0, lifted.stdout + lifted.stderr
    lines = lifted.stdout.splitlines()
    assert len(lines) == 2 * len(keys)
    assert all("legal hold: TẮT / OFF" in line and "GOVERNANCE" in line for line in lines)
    for bucket in buckets:
        assert not any(client.is_object_legal_hold_enabled(bucket, k) for k in keys)
    assert versions(minio_server, buckets[0])[key] == [version]  # nothing was removed meanwhile

    with sqlite3.connect(archive_home / "catalog.sqlite3") as db:
        logged = db.execute(
            "select actor, target, details from audit_entry where action = 'legal_hold' order by seq"
        ).fetchall()
        events = db.execute("select event_type, agent from event where event_type like 'legal hold%'").fetchall()
    assert [(actor, target) for actor, target, _ in logged] == [("lan", code), ("lan", code)]
    assert [json.loads(details)["hold"] for _, _, details in logged] == ["on", "off"]
    assert sorted(events) == [("legal hold", "lan"), ("legal hold release", "lan")]
    assert cli("log", "verify").code == 0

    # A forged current version in the primary: the repair puts the bytes back, locked as long.
    forged = b"forged"
    client._put_object(buckets[0], key, forged, {"x-amz-checksum-sha256": sha256_b64(forged)})
    repaired = cli("audit", "--repair", "--json", env=env)
    assert repaired.code == 0, repaired.stdout + repaired.stderr
    assert [(r["key"], r["copy"]) for r in repaired.json()["repaired"]] == [(key, "primary")]  # type: ignore[index]
    retention = client.get_object_retention(buckets[0], key)
    assert retention is not None
    assert retention.retain_until_date == datetime(2040, 1, 1, tzinfo=UTC)


def test_hold_is_refused_when_a_copy_has_no_object_lock(cli: CliRunner) -> None:
    refused = cli("hold", "000.00.00.G09.000.00.00.G09.2019.01.TCCB", "--on")
    assert refused.code == 5, refused.stdout + refused.stderr
    assert "không hỗ trợ giữ pháp lý" in refused.stderr
    assert "does not support legal holds" in refused.stderr
