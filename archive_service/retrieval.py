"""Reading records out: show, get and search, each through the same access check and logged.

A record the caller may not see is reported exactly like a record that does not exist, so its
existence does not leak.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service import audit_log
from archive_service.access import Reader
from archive_service.catalog import queries
from archive_service.catalog.models import Document, Dossier, Event, StoredFile
from archive_service.errors import BadRequestError, ForbiddenError, NotFoundError
from archive_service.indexing import search_unavailable
from archive_service.states import FileRole, Role
from archive_service.wiring import Services
from search.errors import SearchUnavailable
from search.protocol import AccessFilter, SearchQuery, SearchResult


def record_not_found(code: str) -> NotFoundError:
    return NotFoundError(
        f"Không tìm thấy hồ sơ hoặc văn bản '{code}' (hoặc bạn không có quyền xem)",
        f"No dossier or document '{code}' (or you may not see it)",
    )


def _file_dict(item: StoredFile) -> dict[str, Any]:
    return {
        "role": item.role,
        "name": item.name,
        "sha256": item.sha256,
        "size": item.size,
        "format": item.mimetype,
        "format_name": item.format_name,
        "puid": item.puid,
        "key": item.object_key,
    }


def _events(session: Session, transfer_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(Event).where(Event.transfer_id == transfer_id).order_by(Event.at, Event.id))
    return [
        {
            "type": e.event_type,
            "at": e.at.isoformat(),
            "outcome": e.outcome,
            "detail": e.detail,
            "agent": e.agent,
            "objects": e.object_ref,
        }
        for e in rows
    ]


def _document_dict(document: Document) -> dict[str, Any]:
    return {
        "kind": document.kind,
        "code": document.code,
        "title": document.subject,
        "access_regime": document.effective_access,
        "metadata": document.metadata_values,
        "files": [_file_dict(f) for f in document.files],
    }


def show(services: Services, reader: Reader, code: str) -> dict[str, Any]:
    """A dossier or document with its metadata, files, fixity and events."""
    with services.sessions() as session:
        dossier = queries.current_dossier(session, code)
        if dossier is not None:
            if not reader.may_see(dossier.fonds.code, dossier.access_regime):
                raise record_not_found(code)
            result: dict[str, Any] = {
                "kind": "dossier",
                "code": dossier.code,
                "title": dossier.title,
                "fonds": dossier.fonds.code,
                "access_regime": dossier.access_regime,
                "aip_id": dossier.aip_id,
                "aip_version": dossier.aip_version,
                "metadata": dossier.metadata_values,
                "documents": [
                    _document_dict(d)
                    for d in dossier.documents
                    if reader.may_see(dossier.fonds.code, d.effective_access)
                ],
                "events": _events(session, dossier.transfer_id),
            }
        else:
            document = queries.current_document(session, code)
            if document is None or not reader.may_see(document.dossier.fonds.code, document.effective_access):
                raise record_not_found(code)
            result = {
                **_document_dict(document),
                "dossier": document.dossier.code,
                "events": _events(session, document.dossier.transfer_id),
            }
        audit_log.append(session, reader.name, audit_log.AuditAction.READ, code)
        session.commit()
        return result


def get_file(
    services: Services, reader: Reader, code: str, role: FileRole, name: str | None, target: Path
) -> StoredFile:
    """Write one file of a document to `target` from a copy whose bytes verify."""
    with services.sessions() as session:
        document = queries.current_document(session, code)
        if document is None or not reader.may_see(document.dossier.fonds.code, document.effective_access):
            raise record_not_found(code)
        if not reader.may_download:
            raise ForbiddenError("Vai trò của bạn không được tải tệp", "Your role may not download files")
        files = [f for f in document.files if f.role == role and (name is None or f.name == name)]
        if not files:
            raise NotFoundError(
                f"Văn bản '{code}' không có tệp {role} {name or ''}".strip(),
                f"Document '{code}' has no {role} file {name or ''}".strip(),
            )
        if len(files) > 1:
            names = ", ".join(f.name for f in files)
            raise BadRequestError(
                f"Văn bản có nhiều tệp, chọn bằng --file: {names}",
                f"The document has several files, pick one with --file: {names}",
            )
        chosen = files[0]
        copy = services.store.read_to(chosen.object_key, chosen.sha256, target)
        audit_log.append(
            session,
            reader.name,
            audit_log.AuditAction.DOWNLOAD,
            code,
            {"file": chosen.name, "role": str(role), "copy": copy},
        )
        session.commit()
        return chosen


def search(services: Services, reader: Reader, query: SearchQuery) -> SearchResult:
    """Search with the caller's rights applied inside the query."""
    if reader.role is Role.SUBMITTER:
        raise ForbiddenError("Bên nộp không được tra cứu kho", "Submitters may not search the archive")
    access = AccessFilter(
        see_all=reader.role is Role.ADMIN,
        open_regimes=reader.public_regimes,
        grants=reader.grants if reader.role is Role.ARCHIVIST else frozenset(),
    )
    try:
        result = services.index.query(replace(query, access=access))
    except SearchUnavailable as exc:
        raise search_unavailable(exc) from exc
    with services.sessions() as session:
        audit_log.append(session, reader.name, audit_log.AuditAction.SEARCH, query.text, {"total": result.total})
        session.commit()
    return result


def dossier_of(session: Session, code: str) -> Dossier | None:
    return queries.current_dossier(session, code)
