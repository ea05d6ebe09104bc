"""Background work of the API: uploaded transfers go to the work queue, fixity audits run here.

Transfers are durable in the catalog (`queued` rows with their upload), and are handed to the
work queue of decision 0017 (`archive_service.work_queue`): with the embedded queue this process
also consumes it with a few threads; with the PostgreSQL queue `archive worker` processes do.
At start every unfinished upload (queued, interrupted, or failed as retryable) is queued again.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from huey.consumer import Consumer

from archive_service import intake
from archive_service.errors import ArchiveError, NotFoundError
from archive_service.upload_staging import incoming_dir, stage
from archive_service.wiring import Services
from archive_service.work_queue import WorkQueue

__all__ = ["AuditRuns", "TransferWorker", "incoming_dir"]

logger = logging.getLogger("archive_service.api.worker")

TRANSFER_WORKERS = max(1, min(4, (os.cpu_count() or 2) // 2))


class _InternalError(ArchiveError):
    code = "internal_error"


class TransferWorker:
    """Hands uploaded transfers to the work queue, and consumes it here when it is embedded."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.queue = WorkQueue(services)
        self._hand_over: ThreadPoolExecutor | None = None
        self._consumer: Consumer | None = None

    def start(self) -> int:
        """Start consuming (embedded queue) and queue every unfinished upload; returns how many.
        Each start (one per application lifespan) gets its own threads."""
        # Staging an upload in the uploads area can take a while: never on the event loop.
        self._hand_over = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hand-over")
        if not self.queue.distributed:
            self._consumer = self.queue.consumer(TRANSFER_WORKERS, embedded=True)
            self._consumer.start()
            self.queue.start_sweeping()
        pending = intake.unfinished_queued(self.services)
        for transfer_id in pending:
            self.submit(transfer_id)
        return len(pending)

    def submit(self, transfer_id: str) -> None:
        """Stage the upload where workers reach it, then queue the transfer (in the background)."""
        if self._hand_over is None:
            raise RuntimeError("TransferWorker.submit before start")
        self._hand_over.submit(self._stage_and_enqueue, transfer_id)

    def _stage_and_enqueue(self, transfer_id: str) -> None:
        try:
            stage(self.services, transfer_id)
            self.queue.enqueue(transfer_id)
        except ArchiveError as exc:  # the transfer shows it; a repeated upload retries
            logger.warning("transfer %s could not be queued: %s", transfer_id, exc.message_en)
            intake.fail_queued(self.services, transfer_id, exc)

    def shutdown(self) -> None:
        """Finish the hand-overs and the transfers in progress; queued ones wait in the queue."""
        if self._hand_over is not None:
            self._hand_over.shutdown(wait=True)
        if self._consumer is not None:
            self.queue.stop_sweeping()
            self._consumer.stop(graceful=True)
            self._consumer = None


class AuditRuns:
    """Fixity audits run in the background; each run's state is a JSON file under
    `ARCHIVE_HOME/audits/`, so it survives a restart (a run cut short stays `running` with no
    report and can simply be requested again)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.folder = services.settings.resolved_home / "audits"
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit")

    def start(self, actor: str, sample: int | None, repair: bool) -> dict[str, Any]:
        run = {
            "audit_id": str(uuid.uuid4()),
            "status": "running",
            "requested_by": actor,
            "sample": sample,
            "repair": repair,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self._save(run)
        self._pool.submit(self._run, dict(run))
        return run

    def get(self, audit_id: str) -> dict[str, Any]:
        try:
            uuid.UUID(audit_id)
            data: dict[str, Any] = json.loads((self.folder / f"{audit_id}.json").read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            raise NotFoundError(
                f"Không có lượt kiểm tra '{audit_id}'", f"There is no audit run '{audit_id}'"
            ) from exc
        return data

    def _run(self, run: dict[str, Any]) -> None:
        from archive_service.fixity_audit import run_audit
        from archive_service.log_checkpoints import make_checkpoint

        try:
            report = run_audit(self.services, run["requested_by"], sample=run["sample"], repair=run["repair"])
            make_checkpoint(self.services)
            run.update(status="done", report=report.to_dict(), clean=report.clean)
        except ArchiveError as exc:
            run.update(status="failed", error=exc.to_dict())
        except Exception:  # recorded on the run and logged, never lost
            logger.exception("audit %s failed unexpectedly", run["audit_id"])
            run.update(status="failed", error=_InternalError("Lỗi ngoài dự kiến", "Unexpected error").to_dict())
        run["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        self._save(run)

    def _save(self, run: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{run['audit_id']}.json"
        temp = target.with_name(target.name + ".tmp")
        temp.write_text(json.dumps(run, ensure_ascii=False), encoding="utf-8")
        temp.replace(target)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
