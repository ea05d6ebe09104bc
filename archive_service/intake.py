"""Receiving a package: stage it, recognise a re-sent or interrupted one, run the pipeline.

A package is identified by its id (top-level folder) and its content digest. The same package
again returns the transfer it already has (an accepted one prints its receipt; an interrupted
one is resumed, never duplicated); the same id with different content is a conflict.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DbIntegrityError

from archive_service.catalog import queries
from archive_service.catalog.models import Transfer
from archive_service.errors import ConflictError
from archive_service.indexing import drain_outbox
from archive_service.pipeline.lease import TransferBusyError
from archive_service.pipeline.outcomes import TransferRejectedError
from archive_service.pipeline.runner import Progress, record_step, run_transfer, work_dir_for
from archive_service.pipeline.steps.unpack import UnpackStep, unpack
from archive_service.states import TransferStatus
from archive_service.wiring import Services
from ingest_rules.catalogue import finding

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
