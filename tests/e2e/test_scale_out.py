"""The whole chain on the scale-out engines: PostgreSQL catalog, two MinIO buckets, OpenSearch.

The same CLI, pointed at them by settings only (ARCHIVE_DATABASE_URL, ARCHIVE_STORAGE,
ARCHIVE_STORAGE_REPLICA, ARCHIVE_SEARCH), gives the same behaviour as the embedded defaults.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.catalog.conftest import PostgresServer, postgres_server  # noqa: F401 -- fixture
from tests.contract.conftest import MINIO_PASSWORD, MINIO_USER, MinioServer, minio_server  # noqa: F401 -- fixture
from tests.contract.test_search_index import opensearch_url  # noqa: F401 -- fixture
from tests.fixtures.cli import run_archive
from tests.fixtures.sip_builder import valid_sip

pytestmark = pytest.mark.slow


@pytest.fixture
def scale_out_env(
    postgres_server: PostgresServer,  # noqa: F811 -- the imported fixture
    minio_server: MinioServer,  # noqa: F811 -- the imported fixture
    opensearch_url: str,  # noqa: F811 -- the imported fixture
    tmp_path: Path,
) -> Iterator[dict[str, str]]:
    database = postgres_server.create_database()
    buckets = [minio_server.new_bucket() for _ in range(2)]
    stores = [f"s3://{MINIO_USER}:{MINIO_PASSWORD}@{minio_server.endpoint}/{b}" for b in buckets]
    try:
        yield {
            "ARCHIVE_DATABASE_URL": database,
            "ARCHIVE_STORAGE": stores[0],
            "ARCHIVE_STORAGE_REPLICA": stores[1],
            "ARCHIVE_SEARCH": opensearch_url,
        }
    finally:
        postgres_server.drop_database(database)


def test_ingest_search_get_audit_on_postgresql_minio_and_opensearch(
    scale_out_env: dict[str, str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    builder = valid_sip()
    builder.documents[0].values["Subject"] = "Về việc tuyển dụng viên chức ngành lưu trữ"

    def archive(*args: str) -> object:
        run = run_archive(home, *args, env=scale_out_env)
        assert run.code == 0, run.stdout + run.stderr
        return run.json() if "--json" in args else run.stdout

    receipt = archive("ingest", str(builder.write_dir(tmp_path)), "--json")
    assert receipt["status"] == "accepted"  # type: ignore[index]
    again = archive("ingest", str(builder.write_dir(tmp_path / "again")), "--json")
    assert again["status"] == "rejected" or again == receipt  # type: ignore[index,comparison-overlap]
    hits = archive("search", "vien chuc nganh luu tru", "--json")
    assert hits["hits"][0]["code"] == builder.documents[0].values["DocCode"]  # type: ignore[index]
    out = tmp_path / "original.pdf"
    archive("get", builder.documents[0].values["DocCode"], "--original", "-o", str(out))
    assert (
        hashlib.sha256(out.read_bytes()).hexdigest()
        == hashlib.sha256(builder.documents[0].files[0].content).hexdigest()
    )
    audit = archive("audit", "--json")
    assert audit["ok"] == audit["checked"] > 0  # type: ignore[index]
    archive("log", "verify")
    assert not (home / "catalog.sqlite3").exists()
    assert not (home / "store").exists()
