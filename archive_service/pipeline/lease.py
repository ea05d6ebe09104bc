"""Work is claimed with a lease (owner, expiry) on the transfer row.

A lease whose owner process is dead (same host) or whose heartbeat is stale is taken over at
once, so a killed worker's transfer continues elsewhere; a live lease is never stolen.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta
from types import TracebackType

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from archive_service.catalog.models import Transfer
from archive_service.errors import ConflictError

LEASE_SECONDS = 60
_PROCESS_TOKEN = uuid.uuid4().hex[:8]


def owner_id() -> str:
    """This process, as recorded in a lease: host, pid and a per-process token."""
    return f"{socket.gethostname()}:{os.getpid()}:{_PROCESS_TOKEN}"


def _owner_alive(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True  # another host: only the expiry can tell
    if owner == owner_id():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _expiry() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS)


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def abandoned(owner: str | None, expires_at: datetime | None) -> bool:
    """Whether a lease is held by no one alive: its owner process is dead or its heartbeat stale."""
    if not owner:
        return False
    expires = _aware(expires_at)
    return expires is None or expires <= datetime.now(UTC) or not _owner_alive(owner)


class TransferBusyError(ConflictError):
    code = "transfer_busy"


def claim(session: Session, transfer_id: str) -> str:
    """Take the lease on the transfer for this process, or raise TransferBusyError."""
    me = owner_id()
    transfer = session.get(Transfer, transfer_id, with_for_update=True)
    if transfer is None:
        raise LookupError(transfer_id)
    expires = _aware(transfer.lease_expires_at)
    holder = transfer.lease_owner
    if holder and holder != me and expires and expires > datetime.now(UTC) and _owner_alive(holder):
        raise TransferBusyError(
            f"Gói đang được tiến trình khác xử lý ({holder})",
            f"The transfer is being processed by another process ({holder})",
        )
    result = session.execute(
        update(Transfer)
        .where(Transfer.id == transfer_id, Transfer.lease_owner.is_not_distinct_from(holder))
        .values(lease_owner=me, lease_expires_at=_expiry())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise TransferBusyError("Gói vừa được tiến trình khác nhận", "Another process just claimed the transfer")
    session.commit()
    return me


def release(session: Session, transfer_id: str) -> None:
    session.execute(
        update(Transfer)
        .where(Transfer.id == transfer_id, Transfer.lease_owner == owner_id())
        .values(lease_owner=None, lease_expires_at=None)
    )
    session.commit()


class Heartbeat:
    """Renews this process's lease in the background while a long step runs."""

    def __init__(self, sessions: sessionmaker[Session], transfer_id: str) -> None:
        self._sessions = sessions
        self._transfer_id = transfer_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="lease-heartbeat")

    def _run(self) -> None:
        while not self._stop.wait(LEASE_SECONDS / 3):
            with self._sessions() as session:
                session.execute(
                    update(Transfer)
                    .where(Transfer.id == self._transfer_id, Transfer.lease_owner == owner_id())
                    .values(lease_expires_at=_expiry())
                )
                session.commit()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
