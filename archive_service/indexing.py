"""The search index is derived from the catalog: records are built here and indexed after commit.

The catalog step writes an outbox row in the same transaction as the dossier; `drain_outbox`
indexes and removes the rows. Search being down never blocks intake: the rows wait.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from archive_service.catalog.models import Document, Dossier, IndexOutbox, StoredFile, Transfer
from archive_service.errors import BackendUnavailableError
from archive_service.states import FileRole, TransferStatus
from archive_service.wiring import Services
from search.errors import SearchUnavailable
from search.protocol import IndexedRecord, RecordKind


def records_for(dossier: Dossier) -> list[IndexedRecord]:
    """The dossier and each of its documents as index records (effective regimes)."""
    fonds = dossier.fonds.code
    values = dossier.metadata_values
    records = [
        IndexedRecord(
            kind=RecordKind.DOSSIER,
            code=dossier.code,
            title=dossier.title,
            dossier_code=dossier.code,
            fonds=fonds,
            year=dossier.year,
            doc_type="",
            organ=dossier.fonds.name,
            retention=dossier.maintenance,
            access_regime=dossier.access_regime,
            number_notation="",
            subject=values.get("Description", ""),
            keywords=values.get("Keyword", ""),
            full_text="",
            issued_date=dossier.start_date,
        )
    ]
    for document in dossier.documents:
        text = text_of(document.files)
        notation = f"{document.code_number}/{document.code_notation}" if document.code_number else ""
        year = (
            int(document.issued_date[-4:])
            if document.issued_date and document.issued_date[-4:].isdigit()
            else dossier.year
        )
        records.append(
            IndexedRecord(
                kind=RecordKind.DOCUMENT,
                code=document.code,
                title=document.subject or document.type_name,
                dossier_code=dossier.code,
                fonds=fonds,
                year=year,
                doc_type=document.type_name,
                organ=document.organ_name,
                retention=dossier.maintenance,
                access_regime=document.effective_access,
                number_notation=notation,
                subject=document.subject,
                keywords=document.metadata_values.get("Keyword", ""),
                full_text=text,
                issued_date=document.issued_date,
            )
        )
    return records


def _load_dossiers(session: Session, ids: list[int]) -> list[Dossier]:
    return list(
        session.scalars(
            select(Dossier)
            .where(Dossier.id.in_(ids))
            .options(selectinload(Dossier.fonds), selectinload(Dossier.documents).selectinload(Document.files))
        )
    )


def drain_outbox(services: Services) -> int:
    """Index every dossier waiting in the outbox; return how many records were indexed."""
    with services.sessions() as session:
        rows = list(session.scalars(select(IndexOutbox).order_by(IndexOutbox.id)))
        if not rows:
            return 0
        dossiers = _load_dossiers(session, sorted({r.dossier_id for r in rows}))
        records = [r for d in dossiers if d.is_current for r in records_for(d)]
        try:
            for kind, code in _superseded(session, dossiers, records):
                services.index.delete(kind, code)
            services.index.index(records)
        except SearchUnavailable:
            return 0
        session.execute(delete(IndexOutbox).where(IndexOutbox.id.in_([r.id for r in rows])))
        session.commit()
        return len(records)


def _superseded(session: Session, dossiers: list[Dossier], current: list[IndexedRecord]) -> set[tuple[RecordKind, str]]:
    """Records of earlier versions of these dossiers that the current versions no longer hold."""
    codes = {d.code for d in dossiers}
    earlier = session.scalars(
        select(Dossier)
        .where(Dossier.code.in_(codes), Dossier.is_current.is_(False))
        .options(selectinload(Dossier.fonds), selectinload(Dossier.documents).selectinload(Document.files))
    )
    keep = {(r.kind, r.code) for r in current}
    return {(r.kind, r.code) for d in earlier for r in records_for(d)} - keep


def all_current_records(session: Session) -> list[IndexedRecord]:
    """Every record the index should hold: current versions of accepted dossiers."""
    ids = list(
        session.scalars(
            select(Dossier.id)
            .join(Transfer, Dossier.transfer_id == Transfer.id)
            .where(Dossier.is_current, Transfer.status == TransferStatus.ACCEPTED)
        )
    )
    return [r for d in _load_dossiers(session, ids) for r in records_for(d)]


def text_of(files: list[StoredFile]) -> str:
    return "\n".join(f.text_content or "" for f in files if f.role == FileRole.PRESERVATION)


def search_unavailable(exc: SearchUnavailable) -> BackendUnavailableError:
    """The index port's failure as the archive reports it (exit 6, HTTP 503 with Retry-After)."""
    return BackendUnavailableError(
        f"Chỉ mục tìm kiếm không truy cập được: {exc}", f"The search index is unavailable: {exc}"
    )


def rebuild_index(services: Services) -> int:
    """Rebuild the whole index from the catalog into a new index, then swap (`archive reindex`)."""
    with services.sessions() as session:
        records = all_current_records(session)
        try:
            services.index.rebuild(records)
        except SearchUnavailable as exc:
            raise search_unavailable(exc) from exc
        session.execute(delete(IndexOutbox))
        session.commit()
    return len(records)
