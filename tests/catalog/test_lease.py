"""Transfer leases on both backends: a live lease held by another worker is never taken."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from archive_service.catalog.models import Transfer
from archive_service.pipeline import lease
from archive_service.pipeline.lease import TransferBusyError, claim, owner_id, release
from archive_service.states import TransferStatus

OTHER_HOST = "worker-2.example:4242:feedbeef"  # another machine: only the expiry can end its lease


@pytest.fixture
def transfer_id(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        session.add(Transfer(id="T-1", package_id="pkg", package_digest="ab" * 32, status=TransferStatus.QUEUED))
    return "T-1"


def lease_of(sessions: sessionmaker[Session], transfer_id: str) -> tuple[str | None, datetime | None]:
    with sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer is not None
        return transfer.lease_owner, transfer.lease_expires_at


def test_second_claim_of_a_live_lease_is_refused(
    sessions: sessionmaker[Session], transfer_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched, sessions() as first:
        patched.setattr(lease, "owner_id", lambda: OTHER_HOST)
        assert claim(first, transfer_id) == OTHER_HOST
    with sessions() as second, pytest.raises(TransferBusyError):
        claim(second, transfer_id)
    owner, expires = lease_of(sessions, transfer_id)
    assert owner == OTHER_HOST
    assert expires is not None
    assert expires > datetime.now(UTC)


def test_own_lease_is_renewed_and_released(sessions: sessionmaker[Session], transfer_id: str) -> None:
    with sessions() as session:
        assert claim(session, transfer_id) == owner_id()
    with sessions() as session:
        assert claim(session, transfer_id) == owner_id()  # a resumed step claims again
        release(session, transfer_id)
    assert lease_of(sessions, transfer_id) == (None, None)


@pytest.mark.parametrize(
    ("owner", "expires_in"),
    [(OTHER_HOST, timedelta(seconds=-1)), (f"{owner_id().split(':')[0]}:999999999:deadbeef", timedelta(minutes=5))],
    ids=["stale-heartbeat", "dead-process"],
)
def test_an_abandoned_lease_is_taken_over(
    sessions: sessionmaker[Session], transfer_id: str, owner: str, expires_in: timedelta
) -> None:
    with sessions.begin() as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer is not None
        transfer.lease_owner = owner
        transfer.lease_expires_at = datetime.now(UTC) + expires_in
    with sessions() as session:
        assert claim(session, transfer_id) == owner_id()
    assert lease_of(sessions, transfer_id)[0] == owner_id()


def test_a_claim_waits_for_a_claim_in_flight(sessions: sessionmaker[Session], transfer_id: str) -> None:
    """While another worker's session holds the row (SELECT ... FOR UPDATE, lease written, not yet
    committed), a claim waits for it and then sees the live lease instead of taking it over.
    PostgreSQL: the claim's own FOR UPDATE waits on the row lock, then reads the committed lease.
    SQLite (no row locks): the claim's conditional UPDATE waits on the write lock, then matches no row."""
    outcome: list[BaseException | str] = []

    def second_worker() -> None:
        with sessions() as session:
            try:
                outcome.append(claim(session, transfer_id))
            except TransferBusyError as exc:
                outcome.append(exc)

    with sessions() as first:
        transfer = first.get(Transfer, transfer_id, with_for_update=True)
        assert transfer is not None
        transfer.lease_owner = OTHER_HOST
        transfer.lease_expires_at = datetime.now(UTC) + timedelta(minutes=1)
        first.flush()
        waiting = threading.Thread(target=second_worker)
        waiting.start()
        time.sleep(0.5)
        assert waiting.is_alive(), "the second claim did not wait for the row lock"
        first.commit()
    waiting.join(timeout=30)
    assert not waiting.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], TransferBusyError)
    assert lease_of(sessions, transfer_id)[0] == OTHER_HOST
