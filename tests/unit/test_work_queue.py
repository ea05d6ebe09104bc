"""The work queue's own rules (decision 0017): which setting selects which queue, which lease
counts as abandoned, and that a sweep queues an abandoned upload once."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from archive_service import intake
from archive_service.catalog.models import Transfer
from archive_service.config import Settings
from archive_service.errors import ConfigurationError
from archive_service.pipeline.lease import abandoned, owner_id
from archive_service.transfer_tasks import process_upload
from archive_service.wiring import Services, build_services
from archive_service.work_queue import WorkQueue, queue_dsn
from tests.fixtures.cli import CliRunner


def _soon() -> datetime:
    """A lease expiry a heartbeat would still keep ahead (computed when used: collection is long before)."""
    return datetime.now(UTC) + timedelta(minutes=5)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_lease_is_abandoned_when_its_owner_is_dead_or_silent() -> None:
    host = socket.gethostname()
    assert not abandoned(None, None)
    assert not abandoned(owner_id(), _soon())
    assert abandoned(owner_id(), datetime.now(UTC) - timedelta(seconds=1))  # the heartbeat stopped
    assert abandoned(f"{host}:{_dead_pid()}:token", _soon())  # killed on this host: at once
    assert not abandoned("another-host:1:token", _soon())  # elsewhere only the expiry tells


def test_the_queue_setting_selects_the_queue(tmp_path: Path) -> None:
    assert queue_dsn(Settings(home=tmp_path)) is None
    on_catalog = Settings(
        home=tmp_path, queue="postgresql", database_url="postgresql+psycopg://archive:secret@db:5432/archive"
    )
    assert queue_dsn(on_catalog) == "postgresql://archive:secret@db:5432/archive"
    assert queue_dsn(Settings(home=tmp_path, queue="postgresql://q@db/queue")) == "postgresql://q@db/queue"
    for wrong in ("postgresql", "redis://127.0.0.1:6379/0", "not a url"):  # "postgresql" on a SQLite catalog
        with pytest.raises(ConfigurationError, match="ARCHIVE_QUEUE"):
            queue_dsn(Settings(home=tmp_path, queue=wrong))


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = build_services(Settings(home=tmp_path / "home"))
    yield built
    built.close()


def _enqueue(services: Services, transfer_id: str, upload: Path) -> None:
    intake.enqueue(
        services, transfer_id, upload, submitter="s", submitter_org=None, profile=None,
        idempotency_key=None, body_sha256="0" * 64, body_size=2,
    )


def test_a_sweep_queues_an_abandoned_upload_once_and_leaves_live_ones(services: Services, tmp_path: Path) -> None:
    upload = tmp_path / "upload.zip"
    upload.write_bytes(b"PK")
    leases = {
        "dead": (f"{socket.gethostname()}:{_dead_pid()}:x", _soon()),  # killed on this host
        "silent": ("another-host:1:x", datetime.now(UTC) - timedelta(seconds=1)),  # elsewhere, expired
        "live": (owner_id(), _soon()),
    }
    for transfer_id, (owner, expires) in leases.items():
        _enqueue(services, transfer_id, upload)
        with services.sessions() as session, session.begin():
            session.execute(
                update(Transfer).where(Transfer.id == transfer_id).values(lease_owner=owner, lease_expires_at=expires)
            )
    queue = WorkQueue(services)
    assert sorted(queue.sweep()) == ["dead", "silent"]
    assert queue.huey.pending_count() == 2
    assert queue.sweep() == []  # the dead lease was cleared: not queued again at every sweep
    with services.sessions() as session:
        assert session.get(Transfer, "dead").lease_owner is None  # type: ignore[union-attr]
        assert session.get(Transfer, "live").lease_owner == owner_id()  # type: ignore[union-attr]


def test_archive_worker_refuses_a_wrong_setting_clearly(cli: CliRunner) -> None:
    zero = cli("worker", "--concurrency", "0")
    assert zero.code == 1 and "--concurrency" in zero.stderr
    redis = cli("worker", env={"ARCHIVE_QUEUE": "redis://127.0.0.1:6379/0"})
    assert redis.code == 1 and "ARCHIVE_QUEUE" in redis.stderr, redis.stderr


def test_an_upload_this_worker_cannot_read_fails_the_transfer_as_retryable(services: Services, tmp_path: Path) -> None:
    _enqueue(services, "elsewhere", tmp_path / "on-another-host" / "upload.zip")
    transfer = process_upload(services, "elsewhere")
    assert transfer is not None and transfer.status == "failed" and transfer.retryable
    assert "ARCHIVE_UPLOADS" in (transfer.error or {})["message_en"]
    assert transfer.lease_owner is None
