"""Receiving a package: stage it, recognise a re-sent or interrupted one, run the pipeline.

A package is identified by its id (top-level folder) and its content digest. The same package
again returns the transfer it already has (an accepted one prints its receipt; an interrupted
one is resumed, never duplicated); the same id with different content is a conflict.

The CLI does all of it at once (`ingest`). The HTTP API first records the upload as a `queued`
transfer (`enqueue`, which also answers a repeated `Idempotency-Key`) and a worker later runs
`process_queued`: staging, then the same recognition and pipeline as `ingest`. A queued upload
that turns out to be a package the archive already has resolves to that earlier transfer (it is
resumed if unfinished, never duplicated) and mirrors its outcome.
"""

from __future__ import annotations

import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DbIntegrityError

from archive_service.catalog import queries
from archive_service.catalog.models import Transfer, TransferStep
from archive_service.errors import ArchiveError, BackendUnavailableError, ConflictError
from archive_service.indexing import drain_outbox
from archive_service.pipeline.lease import Heartbeat, TransferBusyError, claim, owner_id, release
from archive_service.pipeline.outcomes import TransferRejectedError
from archive_service.pipeline.runner import Progress, record_step, run_transfer, work_dir_for
from archive_service.pipeline.steps.unpack import UnpackStep, unpack
from archive_service.states import StepStatus, TransferStatus
from archive_service.wiring import Services
from ingest_rules.catalogue import finding
from ingest_rules.findings import Finding

_FINAL = (TransferStatus.ACCEPTED, TransferStatus.REJECTED, TransferStatus.TESTED)
_WAIT_SECONDS = 1.0


def ingest(
    services: Services,
    source: Path,
    *,
    submitter: str,
    submitter_org: str | None = None,
    profile: str | None = None,
    progress: Progress | None = None,
) -> Transfer:
    """Take `source` (ZIP or folder) through the whole pipeline; return the transfer as it ended."""
    transfer_id = str(uuid.uuid4())
    work_dir = work_dir_for(services, transfer_id)
    try:
        _, unpacked = unpack(source, work_dir, services.settings.limits)
    except TransferRejectedError as exc:
        shutil.rmtree(work_dir, ignore_errors=True)
        return _record_refusal(services, transfer_id, source, exc, submitter, submitter_org, profile)
    existing = _find(services, unpacked.package_id, unpacked.digest)
    if existing is None:
        try:
            _create(
                services, transfer_id, source, unpacked.package_id, unpacked.digest, submitter, submitter_org, profile
            )
        except DbIntegrityError:
            existing = _find(services, unpacked.package_id, unpacked.digest)
        else:
            record_step(services, transfer_id, UnpackStep(), unpacked)
            run_transfer(services, transfer_id, progress)
            return _load(services, transfer_id)
    shutil.rmtree(work_dir, ignore_errors=True)
    if existing is None:  # the row that beat ours to the unique key vanished: start afresh
        return ingest(
            services, source, submitter=submitter, submitter_org=submitter_org, profile=profile, progress=progress
        )
    return _resume(services, existing, source, progress)


def _find(services: Services, package_id: str, digest: str) -> Transfer | None:
    """The transfer of this very package, or a conflict if the id came with other content."""
    with services.sessions() as session:
        transfers = list(session.scalars(select(Transfer).where(Transfer.package_id == package_id)))
    for transfer in transfers:
        if transfer.package_digest == digest:
            return transfer
    if any(t.status != TransferStatus.REJECTED for t in transfers):
        refusal = finding(
            "pkg.package.conflict",
            path=package_id,
            message_vi=f"Mã gói '{package_id}' đã được tiếp nhận với nội dung khác",
            message_en=f"The package id '{package_id}' was already received with different content",
        )
        raise ConflictError(refusal.message_vi, refusal.message_en, [refusal])
    return None


def _resume(services: Services, transfer: Transfer, source: Path, progress: Progress | None) -> Transfer:
    """Return a finished transfer as it is; resume an unfinished one (waiting for a live owner).

    A transfer that was accepted just before a crash may still have its index entry waiting in
    the outbox and its work dir on disk: both are finished here.
    """
    while transfer.status not in _FINAL and not (transfer.status == TransferStatus.FAILED and not transfer.retryable):
        _update_source(services, transfer.id, source)
        try:
            run_transfer(services, transfer.id, progress)
        except TransferBusyError:
            time.sleep(_WAIT_SECONDS)
        transfer = _load(services, transfer.id)
        if transfer.status == TransferStatus.FAILED and transfer.retryable:
            return transfer
    drain_outbox(services)
    shutil.rmtree(work_dir_for(services, transfer.id), ignore_errors=True)
    return transfer


def _create(
    services: Services,
    transfer_id: str,
    source: Path,
    package_id: str,
    digest: str,
    submitter: str,
    submitter_org: str | None,
    profile: str | None,
) -> None:
    with services.sessions() as session, session.begin():
        session.add(
            Transfer(
                id=transfer_id,
                package_id=package_id,
                package_digest=digest,
                submitter=submitter,
                submitter_org=submitter_org,
                profile=profile or "",
                status=TransferStatus.PROCESSING,
                source_path=str(source.resolve()),
            )
        )


def _record_refusal(
    services: Services,
    transfer_id: str,
    source: Path,
    refusal: TransferRejectedError,
    submitter: str,
    submitter_org: str | None,
    profile: str | None,
) -> Transfer:
    """A package that cannot even be unpacked leaves only its transfer record and findings."""
    with services.sessions() as session, session.begin():
        session.add(
            Transfer(
                id=transfer_id,
                package_id=source.name,
                package_digest=f"refused-{transfer_id}",
                submitter=submitter,
                submitter_org=submitter_org,
                profile=profile or "",
                status=TransferStatus.REJECTED,
                source_path=str(source),
                findings=[f.to_dict() for f in refusal.findings],
            )
        )
    return _load(services, transfer_id)


def _update_source(services: Services, transfer_id: str, source: Path) -> None:
    with services.sessions() as session, session.begin():
        transfer = session.get(Transfer, transfer_id)
        if transfer is not None:
            transfer.source_path = str(source.resolve())


def _load(services: Services, transfer_id: str) -> Transfer:
    with services.sessions() as session:
        return queries.transfer(session, transfer_id)


# -- queued transfers (HTTP API) ----------------------------------------------------------------

RECEIVE_STEP = "receive"  # output: {"sha256", "size"} of the uploaded body
SAME_AS_STEP = "same_as"  # output: {"transfer_id"} of the earlier transfer of the same package
_QUEUED_DIGEST = "queued-"


def enqueue(
    services: Services,
    transfer_id: str,
    source: Path,
    *,
    submitter: str,
    submitter_org: str | None,
    profile: str | None,
    idempotency_key: str | None,
    body_sha256: str,
    body_size: int,
) -> tuple[Transfer, bool]:
    """Record an uploaded package as a `queued` transfer; `process_queued` does the rest.

    With an `idempotency_key` already used, the same body returns the transfer it created
    (`False`: nothing new was created) and another body is a ConflictError.
    """
    if idempotency_key is not None:
        existing = _by_idempotency_key(services, idempotency_key)
        if existing is not None:
            return _same_body(services, existing, body_sha256), False
    try:
        with services.sessions() as session, session.begin():
            session.add(
                Transfer(
                    id=transfer_id,
                    package_id=f"{_QUEUED_DIGEST}{transfer_id}",
                    package_digest=f"{_QUEUED_DIGEST}{transfer_id}",
                    idempotency_key=idempotency_key,
                    submitter=submitter,
                    submitter_org=submitter_org,
                    profile=profile or "",
                    status=TransferStatus.QUEUED,
                    source_path=str(source.resolve()),
                )
            )
            session.flush()
            session.add(_step_row(transfer_id, RECEIVE_STEP, {"sha256": body_sha256, "size": body_size}))
    except DbIntegrityError:
        existing = _by_idempotency_key(services, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return _same_body(services, existing, body_sha256), False
    return _load(services, transfer_id), True


def process_queued(services: Services, transfer_id: str, progress: Progress | None = None) -> Transfer:
    """Stage a queued transfer and take it to a final state (or `failed`, retryable), exactly as
    `ingest` would; an earlier transfer of the same package is resumed and mirrored instead.

    Safe to call again for the same transfer (after a crash, or to retry a retryable failure):
    a transfer already staged is resumed; one held by a live process raises TransferBusyError.
    """
    with services.sessions() as session:
        claim(session, transfer_id)
    try:
        with Heartbeat(services.sessions, transfer_id):
            return _process_claimed(services, transfer_id, progress)
    finally:
        with services.sessions() as session:
            release(session, transfer_id)


def _process_claimed(services: Services, transfer_id: str, progress: Progress | None) -> Transfer:
    transfer = _load(services, transfer_id)
    source = Path(transfer.source_path)
    same_as = _step_output(services, transfer_id, SAME_AS_STEP)
    if same_as is not None:
        return _follow(services, transfer_id, same_as["transfer_id"], source, progress)
    if not transfer.package_digest.startswith(_QUEUED_DIGEST):  # staged before a crash or a retry
        return _resume(services, transfer, source, progress)
    return _stage(services, transfer_id, source, progress)


def _stage(services: Services, transfer_id: str, source: Path, progress: Progress | None) -> Transfer:
    """Unpack a queued upload, then run it as a new transfer or resolve it to an earlier one."""
    _set_queued_status(services, transfer_id, TransferStatus.PROCESSING)
    work_dir = work_dir_for(services, transfer_id)
    try:
        _, unpacked = unpack(source, work_dir, services.settings.limits)
    except TransferRejectedError as exc:
        shutil.rmtree(work_dir, ignore_errors=True)
        return _refuse(services, transfer_id, source.name, exc.findings)
    try:
        existing = _find(services, unpacked.package_id, unpacked.digest)
    except ConflictError as exc:
        shutil.rmtree(work_dir, ignore_errors=True)
        return _refuse(services, transfer_id, unpacked.package_id, [d for d in exc.details if isinstance(d, Finding)])
    if existing is None:
        try:
            _take_identity(services, transfer_id, unpacked.package_id, unpacked.digest)
        except DbIntegrityError:
            existing = _find(services, unpacked.package_id, unpacked.digest)
        else:
            record_step(services, transfer_id, UnpackStep(), unpacked)
            return _resume(services, _load(services, transfer_id), source, progress)
    shutil.rmtree(work_dir, ignore_errors=True)
    if existing is None:  # the row that beat ours to the unique key vanished: start afresh
        return _stage(services, transfer_id, source, progress)
    with services.sessions() as session, session.begin():
        session.add(_step_row(transfer_id, SAME_AS_STEP, {"transfer_id": existing.id}))
        row = queries.transfer(session, transfer_id)
        row.package_id = unpacked.package_id
        row.package_digest = f"same-as-{transfer_id}"
    return _follow(services, transfer_id, existing.id, source, progress)


def _follow(
    services: Services, transfer_id: str, original_id: str, source: Path, progress: Progress | None
) -> Transfer:
    """Resume the earlier transfer of the same package and mirror its outcome.

    Leases are per process, so one held by this very process (another worker thread running
    that transfer) would not keep us out: wait for that thread instead of running it twice.
    """
    original = _load(services, original_id)
    while original.lease_owner == owner_id():
        time.sleep(_WAIT_SECONDS / 4)
        original = _load(services, original_id)
    return _mirror(services, transfer_id, _resume(services, original, source, progress))


def fail_queued(services: Services, transfer_id: str, error: ArchiveError) -> Transfer:
    """End a transfer whose processing raised: `failed`, retryable when a backend was down.

    A transfer that already reached a final state keeps it.
    """
    with services.sessions() as session, session.begin():
        row = queries.transfer(session, transfer_id)
        if row.status not in (*_FINAL, TransferStatus.FAILED):
            row.status = TransferStatus.FAILED
            row.retryable = isinstance(error, BackendUnavailableError)
            row.error = error.to_dict()
            row.finished_at = datetime.now(UTC)
    return _load(services, transfer_id)


def is_settled(transfer: Transfer) -> bool:
    """Final for good: nothing will run again (a retryable failure is not settled)."""
    return transfer.status in _FINAL or (transfer.status == TransferStatus.FAILED and not transfer.retryable)


def unfinished_queued(services: Services) -> list[str]:
    """Uploaded transfers to (re)start after a restart: queued, interrupted, or retryable failures."""
    with services.sessions() as session:
        rows = session.scalars(
            select(Transfer)
            .join(TransferStep, TransferStep.transfer_id == Transfer.id)
            .where(TransferStep.name == RECEIVE_STEP)
            .where(Transfer.status.in_([TransferStatus.QUEUED, TransferStatus.PROCESSING, TransferStatus.FAILED]))
            .order_by(Transfer.received_at)
        )
        return [t.id for t in rows if not is_settled(t)]


def received_body(services: Services, transfer_id: str) -> dict[str, Any] | None:
    """The `{"sha256", "size"}` of an uploaded transfer's body (None for CLI transfers)."""
    return _step_output(services, transfer_id, RECEIVE_STEP)


def resolved_transfer_id(services: Services, transfer_id: str) -> str | None:
    """The earlier transfer of the same package this upload resolved to, if any."""
    same_as = _step_output(services, transfer_id, SAME_AS_STEP)
    return str(same_as["transfer_id"]) if same_as else None


def _by_idempotency_key(services: Services, key: str) -> Transfer | None:
    with services.sessions() as session:
        return session.scalars(select(Transfer).where(Transfer.idempotency_key == key)).first()


def _same_body(services: Services, transfer: Transfer, body_sha256: str) -> Transfer:
    received = _step_output(services, transfer.id, RECEIVE_STEP)
    if received is None or received.get("sha256") != body_sha256:
        raise ConflictError(
            "Khóa Idempotency-Key này đã được dùng cho một gói khác",
            "This Idempotency-Key was already used with a different body",
            [{"transfer_id": transfer.id}],
        )
    return transfer


def _step_row(transfer_id: str, name: str, output: dict[str, Any]) -> TransferStep:
    now = datetime.now(UTC)
    return TransferStep(
        transfer_id=transfer_id, name=name, version="1", status=StepStatus.DONE, output=output,
        started_at=now, finished_at=now,
    )


def _step_output(services: Services, transfer_id: str, name: str) -> dict[str, Any] | None:
    with services.sessions() as session:
        row = session.scalars(
            select(TransferStep).where(TransferStep.transfer_id == transfer_id, TransferStep.name == name)
        ).first()
        return dict(row.output) if row is not None and row.output is not None else None


def _set_queued_status(services: Services, transfer_id: str, status: TransferStatus) -> None:
    with services.sessions() as session, session.begin():
        row = queries.transfer(session, transfer_id)
        if row.status == TransferStatus.QUEUED:
            row.status = status


def _take_identity(services: Services, transfer_id: str, package_id: str, digest: str) -> None:
    """The staged package's id and digest become this transfer's (unique: one transfer each)."""
    with services.sessions() as session, session.begin():
        row = queries.transfer(session, transfer_id)
        row.package_id = package_id
        row.package_digest = digest
        row.status = TransferStatus.PROCESSING


def _refuse(services: Services, transfer_id: str, package_id: str, findings: list[Finding]) -> Transfer:
    with services.sessions() as session, session.begin():
        row = queries.transfer(session, transfer_id)
        row.package_id = package_id[:200]
        row.package_digest = f"refused-{transfer_id}"
        row.status = TransferStatus.REJECTED
        row.retryable = False
        row.findings = [f.to_dict() for f in findings]
        row.finished_at = datetime.now(UTC)
    return _load(services, transfer_id)


def _mirror(services: Services, transfer_id: str, original: Transfer) -> Transfer:
    """Give an upload that resolved to an earlier transfer that transfer's outcome."""
    with services.sessions() as session, session.begin():
        row = queries.transfer(session, transfer_id)
        row.status = original.status
        row.retryable = original.retryable
        row.findings = list(original.findings or [])
        row.receipt = original.receipt
        row.error = original.error
        row.finished_at = original.finished_at or datetime.now(UTC)
    return _load(services, transfer_id)
