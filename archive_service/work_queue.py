"""The work queue of uploaded transfers, on huey (decision 0017).

`ARCHIVE_QUEUE=embedded` (default): a SQLite queue file under `ARCHIVE_HOME`, consumed by threads
of `archive serve` itself; no server. `ARCHIVE_QUEUE=postgresql` (the catalog's PostgreSQL
database) or `ARCHIVE_QUEUE=postgresql://…`: a queue table on PostgreSQL, woken by LISTEN/NOTIFY,
consumed by `archive worker` processes on any number of hosts. The same huey task and consumer
run in both modes.

The queue gives delivery, the lease on the transfer gives exclusivity. A message is removed when
a worker takes it, so one whose worker is killed is gone: every consumer therefore sweeps, at
start and then every `queue_sweep_seconds`, for transfers whose lease holder is dead or silent,
and queues them again; the next worker resumes them from their last finished step.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from typing import Any

from huey import PostgresHuey, SqliteHuey
from huey.consumer import Consumer
from huey.exceptions import ConfigurationError as HueyConfigurationError
from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from archive_service import intake
from archive_service.catalog.models import Transfer, TransferStep
from archive_service.config import Settings
from archive_service.errors import ArchiveError, BackendUnavailableError, ConfigurationError, MissingDependencyError
from archive_service.pipeline.lease import abandoned
from archive_service.states import TransferStatus
from archive_service.transfer_tasks import process_upload
from archive_service.wiring import Services

logger = logging.getLogger("archive_service.work_queue")

EMBEDDED = "embedded"
TASK_NAME = "archive.process_upload"
DEFAULT_CONCURRENCY = max(1, min(4, (os.cpu_count() or 2) // 2))
_QUEUE_NAME = "transfers"
_TABLE_PREFIX = "archive_queue"
_QUEUE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, OSError)
try:
    import psycopg

    _QUEUE_ERRORS = (*_QUEUE_ERRORS, psycopg.Error)
except ImportError:  # only the PostgreSQL queue needs it, and says so when chosen
    pass


def queue_dsn(settings: Settings) -> str | None:
    """The libpq URL of the PostgreSQL queue, or None for the embedded queue."""
    setting = settings.queue.strip()
    if setting == EMBEDDED:
        return None
    url = settings.catalog_url if setting == "postgresql" else setting
    try:
        parsed = make_url(url)
    except ArgumentError:
        parsed = None
    if parsed is None or parsed.get_backend_name() != "postgresql":
        raise ConfigurationError(
            "ARCHIVE_QUEUE phải là 'embedded', 'postgresql' (CSDL danh mục PostgreSQL) hoặc URL postgresql://",
            "ARCHIVE_QUEUE must be 'embedded', 'postgresql' (the PostgreSQL catalog) or a postgresql:// URL",
        )
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _open_huey(services: Services) -> Any:
    dsn = queue_dsn(services.settings)
    options: dict[str, Any] = {"name": _QUEUE_NAME, "results": False, "utc": True}
    if dsn is None:
        return SqliteHuey(filename=str(services.settings.resolved_home / "queue.sqlite3"), **options)
    try:
        return PostgresHuey(dsn=dsn, table_prefix=_TABLE_PREFIX, connect_timeout=10, **options)
    except HueyConfigurationError as exc:
        raise MissingDependencyError(
            "Hàng đợi PostgreSQL cần psycopg: pip install 'archive-service[postgresql]'",
            "The PostgreSQL queue needs psycopg: pip install 'archive-service[postgresql]'",
        ) from exc
    except _QUEUE_ERRORS as exc:
        raise _unavailable(exc) from exc


def _unavailable(exc: Exception) -> BackendUnavailableError:
    return BackendUnavailableError(
        f"Hàng đợi công việc không truy cập được ({type(exc).__name__})",
        f"The work queue is unavailable ({type(exc).__name__})",
    )


class _EmbeddedConsumer(Consumer):  # type: ignore[misc]  # huey has no type hints
    """A consumer inside another program (`archive serve`), which owns the signal handlers."""

    def _set_signal_handlers(self) -> None:
        return None


class WorkQueue:
    """The queue of uploaded transfers: put one in, or consume them (in this or another process)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.distributed = queue_dsn(services.settings) is not None
        self.huey = _open_huey(services)
        self._task = self.huey.task(name=TASK_NAME)(self._run)
        self._stop_sweeping = threading.Event()
        self._sweeper: threading.Thread | None = None

    def _run(self, transfer_id: str) -> None:
        process_upload(self.services, transfer_id)

    def enqueue(self, transfer_id: str) -> None:
        """Queue the transfer for a worker (BackendUnavailableError if the queue is down)."""
        try:
            self._task(transfer_id)
        except _QUEUE_ERRORS as exc:
            raise _unavailable(exc) from exc

    def consumer(self, workers: int, *, embedded: bool = False) -> Consumer:
        """A huey consumer of `workers` threads; `embedded` leaves the signals to the host program."""
        kind = _EmbeddedConsumer if embedded else Consumer
        return kind(self.huey, workers=workers, worker_type="thread", periodic=False, max_delay=1.0)

    # -- recovering transfers whose worker died -----------------------------------------------

    def sweep(self) -> list[str]:
        """Queue again every uploaded transfer whose lease holder is dead or silent; return them.

        The dead lease is then cleared (only if it is still that holder's), so one abandonment
        is queued once per sweeping process rather than at every sweep.
        """
        with self.services.sessions() as session:
            rows = session.execute(
                select(Transfer.id, Transfer.lease_owner, Transfer.lease_expires_at)
                .join(TransferStep, TransferStep.transfer_id == Transfer.id)
                .where(TransferStep.name == intake.RECEIVE_STEP)
                .where(Transfer.lease_owner.is_not(None))
                .where(Transfer.status.in_([TransferStatus.QUEUED, TransferStatus.PROCESSING]))
            ).all()
        found = [(tid, owner) for tid, owner, expires in rows if abandoned(owner, expires)]
        for transfer_id, owner in found:
            self.enqueue(transfer_id)
            with self.services.sessions() as session, session.begin():
                session.execute(
                    update(Transfer)
                    .where(Transfer.id == transfer_id, Transfer.lease_owner == owner)
                    .values(lease_owner=None, lease_expires_at=None)
                )
            logger.warning("transfer %s was abandoned by %s; queued again", transfer_id, owner)
        return [tid for tid, _ in found]

    def start_sweeping(self) -> None:
        """Sweep now, then every `queue_sweep_seconds`, in a background thread."""
        self._sweeper = threading.Thread(target=self._sweep_loop, daemon=True, name="queue-sweeper")
        self._sweeper.start()

    def _sweep_loop(self) -> None:
        interval = self.services.settings.queue_sweep_seconds
        while True:
            try:
                self.sweep()
            except (ArchiveError, SQLAlchemyError) as exc:
                logger.warning("sweep for abandoned transfers failed: %s", exc)
            if self._stop_sweeping.wait(interval):
                return

    def stop_sweeping(self) -> None:
        self._stop_sweeping.set()
        if self._sweeper is not None:
            self._sweeper.join()
