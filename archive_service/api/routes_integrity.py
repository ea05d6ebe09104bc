"""Integrity, for auditors: fixity audits and the tamper-evident audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from archive_service import audit_log
from archive_service.access import Reader
from archive_service.api.auth import allow, services_of
from archive_service.api.background import AuditRuns
from archive_service.api.errors import responses
from archive_service.api.models import (
    AuditLogEntry,
    AuditLogPage,
    AuditRequest,
    AuditRun,
    AuditStarted,
    LogVerification,
)
from archive_service.catalog.models import AuditEntry
from archive_service.errors import ForbiddenError
from archive_service.states import Role

router = APIRouter(prefix="/api/v1", tags=["integrity"])

MAX_LOG_PAGE_SIZE = 500


def _iso_utc(moment: datetime) -> str:
    """As hashed in the chain: UTC with microseconds (SQLite hands back naive UTC datetimes)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat(timespec="microseconds")


def _audits(request: Request) -> AuditRuns:
    runs: AuditRuns = request.app.state.audit_runs
    return runs


@router.post("/audits", status_code=202, response_model=AuditStarted, responses=responses(400))
def start_audit(
    request: Request,
    reader: Annotated[Reader, Depends(allow(Role.AUDITOR))],
    body: AuditRequest | None = None,
) -> JSONResponse:
    """Chạy kiểm tra toàn vẹn / Start a fixity audit of every object in every copy.

    Repair (the only rewrite of a stored object) is for administrators.
    """
    wanted = body or AuditRequest()
    if wanted.repair and reader.role is not Role.ADMIN:
        raise ForbiddenError(
            "Chỉ quản trị viên được khôi phục bản hỏng", "Only administrators may repair stored objects"
        )
    run = _audits(request).start(reader.name, wanted.sample, wanted.repair)
    status_url = str(request.url_for("audit_status", audit_id=run["audit_id"]).path)
    started = AuditStarted(audit_id=run["audit_id"], status_url=status_url)
    return JSONResponse(started.model_dump(), status_code=202, headers={"Location": status_url})


@router.get("/audits/{audit_id}", name="audit_status", response_model=AuditRun, responses=responses(404))
def audit_status(
    request: Request, audit_id: str, reader: Annotated[Reader, Depends(allow(Role.AUDITOR))]
) -> AuditRun:
    """Kết quả kiểm tra / An audit run: `running`, then its report (corrupted and missing objects)."""
    return AuditRun.model_validate(_audits(request).get(audit_id))


@router.get("/audit-log", response_model=AuditLogPage, responses=responses())
def read_audit_log(
    request: Request,
    reader: Annotated[Reader, Depends(allow(Role.AUDITOR))],
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_LOG_PAGE_SIZE)] = 100,
) -> AuditLogPage:
    """Nhật ký kiểm toán / The audit log, oldest first, with each entry's hash and its predecessor's."""
    services = services_of(request)
    with services.sessions() as session:
        total = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        rows = session.scalars(
            select(AuditEntry).order_by(AuditEntry.seq).offset((page - 1) * page_size).limit(page_size)
        ).all()
        entries = [
            AuditLogEntry(
                seq=row.seq,
                at=_iso_utc(row.at),
                actor=row.actor,
                action=row.action,
                target=row.target,
                details=row.details,
                prev_hash=row.prev_hash,
                entry_hash=row.entry_hash,
            )
            for row in rows
        ]
    return AuditLogPage(total=total, page=page, page_size=page_size, entries=entries)


@router.get("/audit-log/verify", response_model=LogVerification, responses=responses())
def verify_audit_log(request: Request, reader: Annotated[Reader, Depends(allow(Role.AUDITOR))]) -> LogVerification:
    """Kiểm tra chuỗi băm / Verify the log's hash chain; names the first broken entry."""
    services = services_of(request)
    with services.sessions() as session:
        result = audit_log.verify(session)
    if result.ok:
        with services.sessions() as session:
            audit_log.append(session, reader.name, audit_log.AuditAction.LOG_VERIFY, "", {"checked": result.checked})
            session.commit()
    return LogVerification(
        ok=result.ok,
        checked=result.checked,
        first_bad_seq=result.first_bad_seq,
        reason_vi=result.reason_vi,
        reason_en=result.reason_en,
    )
