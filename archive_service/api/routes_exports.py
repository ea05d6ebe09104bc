"""DIP exports: `POST /exports` builds a DIP of the records the caller may see, `GET /exports/{id}`
fetches it (Range supported). An export belongs to whoever made it (and administrators): anyone
else gets 404, so a DIP never reaches a reader with fewer rights than its maker.

The DIP is built while the request waits (docs/decisions/0018-dip-exports-multipart-limits.md) and kept for
`EXPORT_RETENTION` under `ARCHIVE_HOME/exports/`, with a small JSON file naming its owner.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from archive_service import audit_log, dip_export
from archive_service.access import Reader
from archive_service.api.auth import allow, services_of
from archive_service.api.errors import responses
from archive_service.api.models import ExportBody, ExportRequest
from archive_service.errors import NotFoundError
from archive_service.states import Role
from archive_service.wiring import Services

router = APIRouter(prefix="/api/v1", tags=["exports"])

EXPORT_RETENTION = timedelta(hours=24)
_EXPORT_ID = re.compile(r"dip-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _folder(services: Services) -> Path:
    return services.settings.resolved_home / "exports"


def _purge_expired(folder: Path) -> None:
    """Exports older than the retention are removed when a new one is made."""
    cutoff = time.time() - EXPORT_RETENTION.total_seconds()
    for path in folder.glob("dip-*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:  # removed meanwhile by a concurrent request
            continue


def _body(request: Request, summary: dict[str, object]) -> ExportBody:
    created = datetime.fromisoformat(str(summary["created_at"]))
    url = str(request.url_for("export_download", export_id=summary["export_id"]).path)
    return ExportBody.model_validate(
        {**summary, "download_url": url, "expires_at": (created + EXPORT_RETENTION).isoformat()}
    )


@router.post("/exports", status_code=201, response_model=ExportBody, responses=responses(400, 404))
async def create_export(
    request: Request, wanted: ExportRequest, reader: Annotated[Reader, Depends(allow(Role.ARCHIVIST))]
) -> JSONResponse:
    """Xuất gói DIP / Build a DIP of dossiers or documents (only what the caller may see).

    A code the caller may not see answers 404 like a missing one; documents of a requested
    dossier that the caller may not see are left out. Originals are added with `originals: true`.
    """
    services = services_of(request)
    folder = _folder(services)
    folder.mkdir(parents=True, exist_ok=True)
    _purge_expired(folder)
    export_id = f"dip-{uuid.uuid4()}"
    summary = await run_in_threadpool(
        dip_export.export_records, services, reader, wanted.codes, folder / f"{export_id}.zip",
        originals=wanted.originals, export_id=export_id,
    )
    data = summary.to_dict()
    (folder / f"{export_id}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    body = _body(request, data)
    return JSONResponse(body.model_dump(), status_code=201, headers={"Location": body.download_url})


@router.get(
    "/exports/{export_id}",
    name="export_download",
    response_class=FileResponse,
    responses={
        **responses(404, 416),
        200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
              "description": "the DIP"},
        206: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
              "description": "the requested range of the DIP"},
    },
)
def download_export(
    request: Request, export_id: str, reader: Annotated[Reader, Depends(allow(Role.ARCHIVIST))]
) -> FileResponse:
    """Tải gói DIP / Fetch a DIP made by the caller (`Range` supported); logged."""
    services = services_of(request)
    folder = _folder(services)
    summary_file = folder / f"{export_id}.json"
    archive = folder / f"{export_id}.zip"
    if not _EXPORT_ID.fullmatch(export_id) or not summary_file.is_file() or not archive.is_file():
        raise _no_export(export_id)
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    if summary["requested_by"] != reader.name and reader.role is not Role.ADMIN:
        raise _no_export(export_id)
    with services.sessions() as session:
        audit_log.append(session, reader.name, audit_log.AuditAction.DOWNLOAD, export_id, {"sha256": summary["sha256"]})
        session.commit()
    return FileResponse(archive, media_type="application/zip", filename=f"{export_id}.zip")


def _no_export(export_id: str) -> NotFoundError:
    return NotFoundError(f"Không có gói xuất '{export_id}'", f"There is no export '{export_id}'")
