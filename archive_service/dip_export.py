"""Exporting records as a DIP (`archive export`, `POST /api/v1/exports`), access rules applied.

What goes in (docs/decisions/0018-dip-exports-multipart-limits.md): for each requested dossier, its metadata as
received and every document the caller may see, each with its metadata as received and its
preservation copies (its originals too when asked for, or when it has no preservation copy). A
document code exports that document alone, with its dossier's metadata when the caller may see
the dossier. A requested code the caller may not see is refused exactly like a missing one (404),
so its existence does not leak; documents of a visible dossier that the caller may not see are
left out without a trace in the DIP (no name, no count): only the audit log records how many.
Every byte comes from a copy whose SHA-256 verifies, and the export is logged.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service import audit_log
from archive_service.access import Reader
from archive_service.catalog import queries
from archive_service.catalog.models import Document, Dossier, StoredFile, StoredObject
from archive_service.errors import BadRequestError, ForbiddenError
from archive_service.packages.dip import (
    DipDocument,
    DipDossier,
    DipFile,
    DipSpec,
    document_folder,
    dossier_folder,
    safe_component,
    write_dip,
)
from archive_service.packages.mets import parse_mets
from archive_service.packages.safe_xml import parse_xml_file
from archive_service.retrieval import record_not_found
from archive_service.states import FileRole
from archive_service.validation import work_dir
from archive_service.wiring import Services

MAX_CODES = 100
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ExportSummary:
    """What a DIP holds, as the caller may know it (nothing about what was withheld)."""

    export_id: str
    requested_by: str
    created_at: str
    originals: bool
    dossiers: list[str]
    documents: list[str]
    files: int
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Selection:
    """One dossier of the export: whether its own metadata may go out, and the chosen documents."""

    dossier: Dossier
    with_metadata: bool
    documents: dict[str, Document] = field(default_factory=dict)
    withheld: int = 0


def export_records(
    services: Services,
    reader: Reader,
    codes: list[str],
    target: Path,
    *,
    originals: bool = False,
    export_id: str | None = None,
) -> ExportSummary:
    """Write a DIP of `codes` (dossier or document codes) to `target` and log the export."""
    if not reader.may_download:
        raise ForbiddenError("Vai trò của bạn không được xuất hồ sơ", "Your role may not export records")
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if not wanted or len(wanted) > MAX_CODES:
        raise BadRequestError(
            f"Cần từ 1 đến {MAX_CODES} mã hồ sơ hoặc văn bản",
            f"Give between 1 and {MAX_CODES} dossier or document codes",
        )
    export_id = export_id or f"dip-{uuid.uuid4()}"
    created_at = datetime.now(UTC)
    with services.sessions() as session, work_dir(services.settings, "export") as scratch:
        selections = _select(session, reader, wanted)
        spec = DipSpec(
            export_id=export_id,
            created_at=created_at,
            requested_by=reader.name,
            dossiers=tuple(_Fetcher(services, session, scratch).dossier(s, originals) for s in selections),
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        write_dip(spec, target)
        digest, size = _sha256_of(target)
        summary = ExportSummary(
            export_id=export_id,
            requested_by=reader.name,
            created_at=created_at.isoformat(),
            originals=originals,
            dossiers=[s.dossier.code for s in selections if s.with_metadata],
            documents=[code for s in selections for code in s.documents],
            files=len(spec.files()) + 2,  # with the manifest and the DIP METS
            size=size,
            sha256=digest,
        )
        audit_log.append(
            session,
            reader.name,
            audit_log.AuditAction.EXPORT,
            " ".join(wanted)[:1000],
            {
                "export_id": export_id,
                "documents": len(summary.documents),
                "withheld": sum(s.withheld for s in selections),
                "originals": originals,
                "sha256": digest,
            },
        )
        session.commit()
    return summary


def _select(session: Session, reader: Reader, codes: list[str]) -> list[_Selection]:
    """Resolve each code to its dossier and the documents that go out; 404 for what the caller may not see."""
    chosen: dict[int, _Selection] = {}
    for code in codes:
        dossier = queries.current_dossier(session, code)
        if dossier is not None:
            if not reader.may_see(dossier.fonds.code, dossier.access_regime):
                raise record_not_found(code)
            selection = chosen.setdefault(dossier.id, _Selection(dossier, with_metadata=True))
            selection.with_metadata = True
            visible = [d for d in dossier.documents if reader.may_see(dossier.fonds.code, d.effective_access)]
            selection.withheld = len(dossier.documents) - len(visible)
            selection.documents.update((d.code, d) for d in visible)
            continue
        document = queries.current_document(session, code)
        if document is None or not reader.may_see(document.dossier.fonds.code, document.effective_access):
            raise record_not_found(code)
        owner = document.dossier
        selection = chosen.setdefault(
            owner.id, _Selection(owner, with_metadata=reader.may_see(owner.fonds.code, owner.access_regime))
        )
        selection.documents[document.code] = document
    return list(chosen.values())


class _Fetcher:
    """Copies each chosen object out of a verified copy into the scratch folder."""

    def __init__(self, services: Services, session: Session, scratch: Path) -> None:
        self.services = services
        self.session = session
        self.scratch = scratch
        self._metadata_of: dict[str, dict[str, str]] = {}
        self._used: set[str] = set()

    def dossier(self, selection: _Selection, originals: bool) -> DipDossier:
        dossier = selection.dossier
        metadata = None
        if selection.with_metadata:
            metadata = self._object(
                f"{dossier.aip_id}/metadata/descriptive/EAD.xml", f"{dossier_folder(dossier.code)}/metadata/EAD.xml"
            )
        documents = tuple(self._document(dossier, d, originals) for d in selection.documents.values())
        return DipDossier(code=dossier.code, title=dossier.title, metadata=metadata, documents=documents)

    def _document(self, dossier: Dossier, document: Document, originals: bool) -> DipDocument:
        folder = document_folder(dossier.code, document.code)
        files: list[DipFile] = []
        metadata_key = self._document_metadata_key(document)
        if metadata_key is not None:
            item = self._object(metadata_key, f"{folder}/metadata/{safe_component(Path(metadata_key).name)}")
            if item is not None:
                files.append(item)
        copies = [f for f in document.files if f.role == FileRole.PRESERVATION]
        chosen = copies + [f for f in document.files if f.role == FileRole.ORIGINAL and (originals or not copies)]
        files.extend(self._stored_file(f, folder) for f in chosen)
        return DipDocument(code=document.code, title=document.subject, files=tuple(files))

    def _stored_file(self, stored: StoredFile, folder: str) -> DipFile:
        path = self._unique(f"{folder}/{stored.role}/{safe_component(Path(stored.name).name)}")
        return DipFile(path, self._fetch(stored.object_key, stored.sha256), stored.sha256, stored.size,
                       stored.role, stored.mimetype)

    def _object(self, key: str, path: str) -> DipFile | None:
        """A metadata object of an AIP, by key (None when the AIP has no such object)."""
        row = self.session.scalars(select(StoredObject).where(StoredObject.key == key)).first()
        if row is None:
            return None
        return DipFile(self._unique(path), self._fetch(key, row.sha256), row.sha256, row.size, "metadata", "text/xml")

    def _document_metadata_key(self, document: Document) -> str | None:
        """The document's metadata file, as the AIP's rep1 METS links it to the document's code."""
        if not document.files:
            return None
        aip_id = document.files[0].object_key.split("/", 1)[0]
        if aip_id not in self._metadata_of:
            self._metadata_of[aip_id] = self._rep1_metadata(aip_id)
        return self._metadata_of[aip_id].get(document.code)

    def _rep1_metadata(self, aip_id: str) -> dict[str, str]:
        mets_key = f"{aip_id}/representations/rep1/METS.xml"
        row = self.session.scalars(select(StoredObject).where(StoredObject.key == mets_key)).first()
        if row is None:
            return {}
        path = self._fetch(mets_key, row.sha256)
        mets = parse_mets(parse_xml_file(path, self.services.settings.limits.max_xml_bytes))
        path.unlink()
        return {
            div.label: f"{aip_id}/representations/rep1/{mets.dmd_refs[div.dmd_ids[0]].href}"
            for div in mets.divs
            if div.dmd_ids and div.dmd_ids[0] in mets.dmd_refs and div.label
        }

    def _fetch(self, key: str, sha256: str) -> Path:
        target = self.scratch / uuid.uuid4().hex
        self.services.store.read_to(key, sha256, target)
        return target

    def _unique(self, path: str) -> str:
        candidate, number = path, 1
        while candidate in self._used:
            number += 1
            stem, dot, suffix = path.rpartition(".")
            candidate = f"{stem}-{number}.{suffix}" if dot and "/" not in suffix else f"{path}-{number}"
        self._used.add(candidate)
        return candidate


def _sha256_of(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
