"""A small in-process worker: a thread pool that takes uploaded transfers through the pipeline,
and runs fixity audits requested over the API.

This is the embedded work queue of architecture.md. Transfers are durable in the catalog
(`queued` rows with their upload under `ARCHIVE_HOME/work/incoming`), so a restarted server
picks up what was queued, interrupted, or failed as retryable; leases keep two processes off the
same transfer. The broker for distributed mode (`archive worker`) is decided later
(docs/decisions): it would replace `submit` with a message and run `process_queued` elsewhere.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archive_service import intake
from archive_service.catalog.models import Transfer
from archive_service.errors import ArchiveError, NotFoundError
from archive_service.pipeline.lease import TransferBusyError
from archive_service.wiring import Services

logger = logging.getLogger("archive_service.api.worker")

TRANSFER_WORKERS = max(1, min(4, (os.cpu_count() or 2) // 2))


class _InternalError(ArchiveError):
    code = "internal_error"


def incoming_dir(services: Services) -> Path:
    """Where uploads wait for their transfer (inside the work root, removed when it ends)."""
    return services.settings.work_root / "incoming"


class TransferWorker:
    """Runs `intake.process_queued` for uploaded transfers, one thread each, never twice at once."""

    def __init__(self, services: Services, max_workers: int | None = None) -> None:
        self.services = services
        self._pool = ThreadPoolExecutor(max_workers=max_workers or TRANSFER_WORKERS, thread_name_prefix="transfer")
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def submit(self, transfer_id: str) -> None:
        """Queue the transfer unless this process is already working on it."""
        with self._lock:
            if transfer_id in self._running:
                return
            self._running.add(transfer_id)
        self._pool.submit(self._run, transfer_id)

    def resume_unfinished(self) -> int:
        """Queue every uploaded transfer left unfinished by a previous run; returns how many."""
        pending = intake.unfinished_queued(self.services)
        for transfer_id in pending:
            self.submit(transfer_id)
        return len(pending)

    def _run(self, transfer_id: str) -> None:
        transfer: Transfer | None = None
        try:
            transfer = intake.process_queued(self.services, transfer_id)
        except TransferBusyError:
            logger.info("transfer %s is being processed by another process", transfer_id)
        except ArchiveError as exc:
            logger.warning("transfer %s failed: %s", transfer_id, exc.message_en)
            transfer = intake.fail_queued(self.services, transfer_id, exc)
        except Exception:  # a bug must still end the transfer in a clear state, and be logged
            logger.exception("transfer %s failed unexpectedly", transfer_id)
            transfer = intake.fail_queued(
                self.services,
                transfer_id,
                _InternalError("Lỗi ngoài dự kiến khi xử lý gói", "Unexpected error while processing the package"),
            )
        finally:
            with self._lock:
                self._running.discard(transfer_id)
        if transfer is not None and intake.is_settled(transfer):
            self._remove_upload(Path(transfer.source_path))

    def _remove_upload(self, path: Path) -> None:
        """The transfer has ended for good: its upload is no longer needed (only API uploads)."""
        if path.parent == incoming_dir(self.services) and not self.services.settings.keep_work_dirs:
            path.unlink(missing_ok=True)

    def shutdown(self) -> None:
        """Finish the transfers in progress; queued ones resume at the next start."""
        self._pool.shutdown(wait=True, cancel_futures=True)


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
