"""Transfers and validation: `POST /transfers`, `GET /transfers/{id}`, `POST /validate`."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from archive_service import intake
from archive_service.access import Reader
from archive_service.api.auth import allow, services_of
from archive_service.api.background import TransferWorker, incoming_dir
from archive_service.api.errors import responses
from archive_service.api.models import TransferAccepted, TransferState, ValidationBody
from archive_service.api.uploads import ReceivedBody, receive_zip
from archive_service.catalog.models import Transfer
from archive_service.errors import BadRequestError, NotFoundError
from archive_service.states import Role
from archive_service.validation import check_package, work_dir
from archive_service.wiring import Services

router = APIRouter(prefix="/api/v1", tags=["transfers"])

Profile = Literal["tt02-2019", "tt05-2025"]
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,128}")
_ZIP_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary", "description": "the ZIP"}},
                }
            },
        },
    }
}


def _worker(request: Request) -> TransferWorker:
    worker: TransferWorker = request.app.state.transfer_worker
    return worker


def _scoped_key(reader: Reader, key: str | None) -> str | None:
    """Idempotency keys are the sender's own: scoped by organisation (then by user)."""
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise BadRequestError(
            "Idempotency-Key phải gồm 1–128 ký tự ASCII in được",
            "Idempotency-Key must be 1 to 128 printable ASCII characters",
        )
    return f"{reader.organisation or reader.name}/{key}"


@router.post(
    "/transfers",
    status_code=202,
    response_model=TransferAccepted,
    responses=responses(400, 409, 413, 415),
    openapi_extra=_ZIP_BODY,
)
async def submit_transfer(
    request: Request,
    reader: Annotated[Reader, Depends(allow(Role.SUBMITTER))],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    profile: Annotated[Profile | None, Query(description="rule profile (default: from the package)")] = None,
) -> JSONResponse:
    """Nộp gói (ZIP) / Submit a package; it is processed in the background.

    Any readable ZIP within the size limit is accepted with 202: validation happens in the
    transfer, whose findings `status_url` shows. The same `Idempotency-Key` with the same body
    answers with the original `transfer_id`; with another body, 409.
    """
    services = services_of(request)
    scoped = _scoped_key(reader, idempotency_key)
    transfer_id = str(uuid.uuid4())
    target = incoming_dir(services) / f"{transfer_id}.zip"
    body = await receive_zip(request, target, services.settings.limits.max_total_bytes)
    try:
        transfer, created = await run_in_threadpool(_enqueue, services, reader, transfer_id, body, scoped, profile)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if not created:
        target.unlink(missing_ok=True)
    if created or not intake.is_settled(transfer):
        _worker(request).submit(transfer.id)  # a retryable failure is retried on a repeated upload
    status_url = str(request.url_for("transfer_status", transfer_id=transfer.id).path)
    accepted = TransferAccepted(transfer_id=transfer.id, status_url=status_url)
    return JSONResponse(accepted.model_dump(), status_code=202, headers={"Location": status_url})


def _enqueue(
    services: Services, reader: Reader, transfer_id: str, body: ReceivedBody, key: str | None, profile: str | None
) -> tuple[Transfer, bool]:
    return intake.enqueue(
        services,
        transfer_id,
        body.path,
        submitter=reader.name,
        submitter_org=reader.organisation,
        profile=profile,
        idempotency_key=key,
        body_sha256=body.sha256,
        body_size=body.size,
    )


@router.get(
    "/transfers/{transfer_id}",
    name="transfer_status",
    response_model=TransferState,
    response_model_exclude_unset=True,  # a receipt goes out exactly as signed, no field added
    responses=responses(404),
)
def transfer_status(
    request: Request,
    transfer_id: str,
    reader: Annotated[Reader, Depends(allow(Role.SUBMITTER, Role.ARCHIVIST))],
) -> TransferState:
    """Trạng thái giao nộp / A transfer's state, findings and (once accepted) receipt.

    Submitters see their own organisation's transfers only; any other id answers 404.
    """
    services = services_of(request)
    with services.sessions() as session:
        transfer = session.get(Transfer, transfer_id)
        if transfer is None or (reader.role is Role.SUBMITTER and transfer.submitter_org != reader.organisation):
            raise NotFoundError(f"Không có giao nộp '{transfer_id}'", f"There is no transfer '{transfer_id}'")
        state = TransferState.model_validate(
            {
                "transfer_id": transfer.id,
                "status": transfer.status,
                "retryable": transfer.retryable,
                "findings": transfer.findings or [],
                "receipt": transfer.receipt if transfer.status == "accepted" else None,
                "error": transfer.error,
            }
        )
    state.same_as = intake.resolved_transfer_id(services, transfer_id)
    return state


@router.post(
    "/validate",
    response_model=ValidationBody,
    responses=responses(400, 413, 415),
    openapi_extra=_ZIP_BODY,
)
async def validate(
    request: Request,
    reader: Annotated[Reader, Depends(allow(Role.SUBMITTER, Role.ARCHIVIST))],
    profile: Annotated[Profile | None, Query(description="rule profile (default: from the package)")] = None,
) -> ValidationBody:
    """Kiểm tra gói mà không lưu / Validate a package; nothing is stored.

    The verdict is the one a transfer would reach at its validation step, including the check
    that the METS creator agent is the caller's organisation.
    """
    services = services_of(request)
    target = incoming_dir(services) / f"validate-{uuid.uuid4()}.zip"
    body = await receive_zip(request, target, services.settings.limits.max_total_bytes)
    try:
        report = await run_in_threadpool(_validate, services, reader, body, profile)
    finally:
        target.unlink(missing_ok=True)
    return ValidationBody.model_validate(report)


def _validate(services: Services, reader: Reader, body: ReceivedBody, profile: str | None) -> dict[str, object]:
    with work_dir(services.settings) as folder:
        return check_package(
            body.path, folder, services.settings, profile_id=profile, submitter_org=reader.organisation
        ).to_dict()
