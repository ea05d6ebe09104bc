"""The work queue's task: take one uploaded transfer through the pipeline (decision 0017).

The same function runs in the embedded consumer of `archive serve` and in `archive worker`
processes. The queue only delivers; the lease on the transfer row decides who works. A message
delivered twice (a sweep, a repeated upload) finds the transfer held by a live process (it is
dropped), or already ended (nothing is redone), or abandoned by a dead one (it is resumed from
its last finished step).
"""

from __future__ import annotations

import logging
import threading

from archive_service import intake, upload_staging
from archive_service.catalog import queries
from archive_service.catalog.models import Transfer
from archive_service.errors import ArchiveError
from archive_service.pipeline.lease import TransferBusyError, claim, owner_id, release
from archive_service.wiring import Services

logger = logging.getLogger("archive_service.worker")

_running: set[str] = set()
_running_lock = threading.Lock()


class _InternalError(ArchiveError):
    code = "internal_error"


def process_upload(services: Services, transfer_id: str) -> Transfer | None:
    """Run the transfer unless another thread of this process already does; clean up at the end.

    Leases are per process, so threads of one process are kept apart here.
    """
    with _running_lock:
        if transfer_id in _running:
            return None
        _running.add(transfer_id)
    try:
        transfer = _process(services, transfer_id)
    finally:
        with _running_lock:
            _running.discard(transfer_id)
    if transfer is not None and intake.is_settled(transfer):
        upload_staging.discard(services, transfer)
    return transfer


def _process(services: Services, transfer_id: str) -> Transfer | None:
    try:
        with services.sessions() as session:
            claim(session, transfer_id)
        try:
            with services.sessions() as session:
                transfer = queries.transfer(session, transfer_id)
            if intake.is_settled(transfer):  # a second delivery after the end: nothing to redo
                return transfer
            upload_staging.materialise(services, transfer)
            transfer = intake.process_queued(services, transfer_id)
        finally:
            with services.sessions() as session:
                release(session, transfer_id)
    except (TransferBusyError, upload_staging.UploadNotStagedError, LookupError) as exc:
        # Held by a live process; upload not staged yet (the server queues it again); or unknown.
        logger.info("transfer %s is not processed here: %s", transfer_id, exc)
        return None
    except ArchiveError as exc:
        logger.warning("transfer %s failed: %s", transfer_id, exc.message_en)
        return intake.fail_queued(services, transfer_id, exc)
    except Exception:  # a bug must still end the transfer in a clear state, and be logged
        logger.exception("transfer %s failed unexpectedly", transfer_id)
        return intake.fail_queued(
            services,
            transfer_id,
            _InternalError("Lỗi ngoài dự kiến khi xử lý gói", "Unexpected error while processing the package"),
        )
    logger.info("transfer %s ended %s (worker %s)", transfer_id, transfer.status, owner_id())
    return transfer
