"""Query functions over the catalog; each takes a Session. Only accepted records are visible."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from archive_service.catalog.models import Document, Dossier, StoredFile, Transfer
from archive_service.errors import NotFoundError
from archive_service.states import TransferStatus
from ingest_rules.metadata_rules import DocumentIdentity


def current_dossier(session: Session, code: str) -> Dossier | None:
    """The current version of an accepted dossier with this `FileCode`."""
    return session.scalars(
        select(Dossier)
        .join(Transfer, Dossier.transfer_id == Transfer.id)
        .where(Dossier.code == code, Dossier.is_current, Transfer.status == TransferStatus.ACCEPTED)
        .options(selectinload(Dossier.documents).selectinload(Document.files))
    ).first()


def latest_version(session: Session, code: str) -> int:
    """The highest AIP version recorded for the dossier code (0 if none)."""
    return session.scalar(select(func.max(Dossier.aip_version)).where(Dossier.code == code)) or 0


def current_document(session: Session, code: str) -> Document | None:
    """A document of a current, accepted dossier, by its `DocCode`."""
    return session.scalars(
        select(Document)
        .join(Dossier, Document.dossier_id == Dossier.id)
        .join(Transfer, Dossier.transfer_id == Transfer.id)
        .where(Document.code == code, Dossier.is_current, Transfer.status == TransferStatus.ACCEPTED)
        .options(selectinload(Document.files), selectinload(Document.dossier))
    ).first()


def holds_document(session: Session, identity: DocumentIdentity, exclude_dossier: str | None) -> bool:
    """Whether a current dossier other than `exclude_dossier` holds the same document
    (same `DocCode`, or same number, notation, issuing body and year)."""
    query = (
        select(Document.code, Document.code_number, Document.code_notation, Document.organ_name,
               Document.issued_date)
        .join(Dossier, Document.dossier_id == Dossier.id)
        .where(Dossier.is_current)
    )
    if exclude_dossier is not None:
        query = query.where(Dossier.code != exclude_dossier)
    if identity.doc_code:
        query_code = query.where(Document.code == identity.doc_code)
        if session.execute(query_code.limit(1)).first() is not None:
            return True
    if identity.number_key is None or identity.code_notation is None:
        return False
    rows = session.execute(query.where(Document.code_notation == identity.code_notation)).all()
    return any(_same_number(identity, row) for row in rows)


def _same_number(identity: DocumentIdentity, row: Sequence[str | None]) -> bool:
    _, number, notation, organ, issued = row
    other = DocumentIdentity(
        doc_code=None, code_number=number, code_notation=notation, organ_name=organ,
        year=int(issued[-4:]) if issued and issued[-4:].isdigit() else None,
    )
    return other.number_key == identity.number_key


def files_of(session: Session, document_id: int) -> list[StoredFile]:
    return list(session.scalars(select(StoredFile).where(StoredFile.document_id == document_id)))


class SessionCatalogLookup:
    """The catalog as validation sees it (`validation.CatalogLookup`), over one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def holds_dossier(self, code: str) -> bool:
        return current_dossier(self.session, code) is not None

    def holds_document(self, identity: DocumentIdentity, exclude_dossier: str) -> bool:
        return holds_document(self.session, identity, exclude_dossier)

    def held_documents(self, code: str) -> list[tuple[str, dict[str, str]]]:
        dossier = current_dossier(self.session, code)
        return [(d.code, dict(d.metadata_values)) for d in dossier.documents] if dossier else []


def transfer(session: Session, transfer_id: str) -> Transfer:
    """The transfer with this id, or NotFoundError."""
    found = session.get(Transfer, transfer_id)
    if found is None:
        raise NotFoundError(f"Không có giao nộp '{transfer_id}'", f"There is no transfer '{transfer_id}'")
    return found
