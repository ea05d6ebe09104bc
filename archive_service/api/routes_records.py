"""Reading the holdings: search, dossiers, documents and their files (Range supported).

Every route goes through `retrieval`, the same code as `archive search/show/get`: a record the
caller may not see never appears in hits or totals and answers 404 like a missing one.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from archive_service import retrieval
from archive_service.access import Reader
from archive_service.api.auth import allow, services_of
from archive_service.api.errors import responses
from archive_service.api.models import DocumentBody, DossierBody, SearchHit, SearchPage
from archive_service.catalog import queries
from archive_service.states import FileRole, Role
from archive_service.wiring import Services
from search.protocol import AccessFilter, SearchQuery

router = APIRouter(prefix="/api/v1", tags=["records"])

_READERS = (Role.ARCHIVIST, Role.AUDITOR)  # auditors: public records only (docs/decisions/0003)
MAX_PAGE_SIZE = 100
_BINARY = {"type": "string", "format": "binary"}


@router.get("/search", response_model=SearchPage, responses=responses())
def search(
    request: Request,
    reader: Annotated[Reader, Depends(allow(*_READERS))],
    q: Annotated[str, Query(max_length=500, description="free text, with or without diacritics")] = "",
    fonds: Annotated[str | None, Query(max_length=64)] = None,
    year: Annotated[int | None, Query(ge=0, le=9999)] = None,
    doc_type: Annotated[str | None, Query(alias="type", max_length=100)] = None,
    access: Annotated[str | None, Query(max_length=50, description="access regime, e.g. Công khai")] = None,
    mode: Annotated[str | None, Query(max_length=50, description="alias of `access` (interfaces.md)")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> SearchPage:
    """Tìm kiếm / Search what the caller may see (hits, total and facets alike)."""
    services = services_of(request)
    result = retrieval.search(
        services,
        reader,
        SearchQuery(
            text=q,
            fonds=fonds,
            year=year,
            doc_type=doc_type,
            access_regime=access or mode,
            limit=page_size,
            offset=(page - 1) * page_size,
            access=AccessFilter(see_all=False, open_regimes=frozenset(), grants=frozenset()),  # set by retrieval
        ),
    )
    hits = [
        SearchHit(kind=h.kind.value, code=h.code, title=h.title, score=h.score, highlight=h.highlight)
        for h in result.hits
    ]
    return SearchPage(total=result.total, page=page, page_size=page_size, hits=hits, facets=result.facets)


def _show(services: Services, reader: Reader, code: str, kind: str) -> dict[str, Any]:
    """`retrieval.show`, for a code of the kind this route names (else 404, nothing logged)."""
    with services.sessions() as session:
        dossier = queries.current_dossier(session, code)
        is_kind = dossier is not None if kind == "dossier" else (
            dossier is None and queries.current_document(session, code) is not None
        )
    if not is_kind:
        raise retrieval.record_not_found(code)
    return retrieval.show(services, reader, code)


@router.get("/dossiers/{code}", response_model=DossierBody, responses=responses(404))
def dossier(
    request: Request, code: str, reader: Annotated[Reader, Depends(allow(*_READERS))]
) -> DossierBody:
    """Hồ sơ / A dossier: metadata, the documents the caller may see, files, fixity, events."""
    return DossierBody.model_validate(_show(services_of(request), reader, code, "dossier"))


@router.get("/documents/{code}", response_model=DocumentBody, responses=responses(404))
def document(
    request: Request, code: str, reader: Annotated[Reader, Depends(allow(*_READERS))]
) -> DocumentBody:
    """Văn bản / A document: metadata, files with fixity, events."""
    return DocumentBody.model_validate(_show(services_of(request), reader, code, "document"))


@router.get(
    "/documents/{code}/files/{role}",
    response_class=FileResponse,
    responses={
        **responses(400, 404, 416),
        200: {"content": {"application/octet-stream": {"schema": _BINARY}}, "description": "the file's bytes"},
        206: {"content": {"application/octet-stream": {"schema": _BINARY}}, "description": "the requested range"},
    },
)
def document_file(
    request: Request,
    code: str,
    role: FileRole,
    reader: Annotated[Reader, Depends(allow(Role.ARCHIVIST))],
    name: Annotated[str | None, Query(max_length=500, description="which file, when there are several")] = None,
) -> FileResponse:
    """Tải tệp / A document's original or preservation file; `Range` supported; logged.

    The bytes are first copied out of a copy whose SHA-256 verifies (a corrupted copy is never
    served), then streamed from that verified copy, which is removed afterwards.
    """
    services = services_of(request)
    folder = services.settings.work_root / "downloads"
    target = folder / f"{uuid.uuid4()}.bin"
    try:
        chosen = retrieval.get_file(services, reader, code, role, name, target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return FileResponse(
        target,
        media_type=chosen.mimetype or "application/octet-stream",
        filename=Path(chosen.name).name,
        background=BackgroundTask(target.unlink, missing_ok=True),
    )
