"""Catalog: record the dossier, its documents, files, objects and events and accept the transfer
with the receipt sealed in the AIP, all in one transaction, so nothing is visible before it is
complete."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlalchemy.orm import Session

from archive_service import audit_log
from archive_service.access import effective_regime
from archive_service.catalog import queries
from archive_service.catalog.models import (
    Document,
    Dossier,
    Event,
    Fonds,
    IndexOutbox,
    StoredFile,
    StoredObject,
)
from archive_service.pipeline.accession import FileEntry, document_files
from archive_service.pipeline.context import StepContext
from archive_service.pipeline.models import (
    BuildAipOutput,
    CatalogOutput,
    EventRecord,
    IdentifyOutput,
    ItemModel,
    PreserveOutput,
    StoreOutput,
    ValidateOutput,
)
from archive_service.pipeline.steps.store import object_key
from archive_service.states import TransferStatus
from ingest_rules.metadata_rules import parse_vn_date


class CatalogStep:
    name = "catalog"
    version = "1"
    output_model = CatalogOutput

    def run(self, ctx: StepContext) -> CatalogOutput:
        built = ctx.output(BuildAipOutput)
        with ctx.services.sessions() as session, session.begin():
            dossier = record_accepted(session, ctx, datetime.now(UTC))
            session.add(IndexOutbox(dossier_id=dossier.id))
            audit_log.append(
                session,
                ctx.submitter,
                audit_log.AuditAction.INTAKE,
                dossier.code,
                {"transfer_id": ctx.transfer_id, "aip_id": built.aip_id, "files": len(built.objects)},
            )
            return CatalogOutput(dossier_id=dossier.id)


def record_accepted(session: Session, ctx: StepContext, finished_at: datetime) -> Dossier:
    """Write what the sealed AIP records (dossier, documents, files, objects, events, receipt)
    and accept the transfer. The catalog step and `archive rebuild-catalog` both come here, so a
    rebuilt catalog holds the same rows; record times are the AIP's sealing time."""
    validated = ctx.output(ValidateOutput)
    built = ctx.output(BuildAipOutput)
    transfer = queries.transfer(session, ctx.transfer_id)
    dossier = _dossier(session, ctx, validated, built)
    documents = [_document(ctx, dossier, item) for item in validated.items]
    session.add_all(documents)
    session.flush()
    formats = ctx.output(IdentifyOutput).formats
    copies = {c.original_path: c for c in ctx.output(PreserveOutput).copies}
    for document, item in zip(documents, validated.items, strict=True):
        session.add_all(
            _stored_file(built, document, entry) for entry in document_files(item, formats, copies)
        )
    session.add_all(
        StoredObject(key=object_key(built.aip_id, o.aip_path), aip_id=built.aip_id, sha256=o.sha256, size=o.size)
        for o in sorted(built.objects, key=lambda o: o.aip_path)
    )
    events = [*built.events, *ctx.output(StoreOutput).events]
    session.add_all(_event_row(ctx.transfer_id, built.aip_id, e) for e in events)
    transfer.status = TransferStatus.ACCEPTED
    transfer.profile = validated.profile
    transfer.findings = built.receipt["findings"]
    transfer.receipt = built.receipt
    transfer.finished_at = finished_at
    return dossier


def _year(values: dict[str, str]) -> int | None:
    catalog = values.get("FileCatalog", "")
    if len(catalog) == 4 and catalog.isdigit() and catalog.startswith(("19", "20")):
        return int(catalog)
    start = parse_vn_date(values.get("StartDate", ""))
    return start.year if start else None


def fonds_for(session: Session, code: str, name: str) -> Fonds:
    """The fonds of an organisation, created on its first dossier.

    Workers catalogue transfers concurrently: when two create the same fonds at once, the
    second one's insert fails on the unique code and it takes the row the first committed.
    """
    fonds = session.scalars(select(Fonds).where(Fonds.code == code)).first()
    if fonds is not None:
        return fonds
    try:
        with session.begin_nested():
            fonds = Fonds(code=code, name=name)
            session.add(fonds)
    except DbIntegrityError:
        return session.scalars(select(Fonds).where(Fonds.code == code)).one()
    return fonds


def _dossier(session: Session, ctx: StepContext, validated: ValidateOutput, built: BuildAipOutput) -> Dossier:
    values = validated.dossier_values
    fonds = fonds_for(session, values.get("OrganId", ""), validated.creator_name)
    previous = queries.current_dossier(session, validated.dossier_code)
    session.execute(update(Dossier).where(Dossier.code == validated.dossier_code).values(is_current=False))
    dossier = Dossier(
        fonds_id=fonds.id,
        transfer_id=ctx.transfer_id,
        code=validated.dossier_code,
        title=values.get("Title", ""),
        profile=validated.profile,
        access_regime=values.get("Rights", ""),
        maintenance=values.get("Maintenance", ""),
        year=_year(values),
        start_date=values.get("StartDate"),
        end_date=values.get("EndDate"),
        aip_id=built.aip_id,
        aip_version=validated.aip_version,
        is_current=True,
        metadata_values=dict(values),
        created_at=built.sealed_at,
    )
    session.add(dossier)
    session.flush()
    if previous is not None and validated.record_status == "SUPPLEMENT":
        # the documents already held stay where they are stored (the earlier AIP) and now belong
        # to the version this supplement completes
        session.execute(update(Document).where(Document.dossier_id == previous.id).values(dossier_id=dossier.id))
    return dossier


def _document(ctx: StepContext, dossier: Dossier, item: ItemModel) -> Document:
    values = item.values
    own = values.get("Mode", "")
    ordinal = values.get("DocOrdinal", "")
    pages = values.get("PageAmount", "")
    return Document(
        dossier_id=dossier.id,
        kind=item.kind,
        code=item.code,
        ordinal=int(ordinal) if ordinal.isdigit() else None,
        type_name=values.get("TypeName", ""),
        code_number=values.get("CodeNumber", ""),
        code_notation=values.get("CodeNotation", ""),
        issued_date=values.get("IssuedDate"),
        organ_name=values.get("OrganName", ""),
        subject=values.get("Subject") or values.get("ImageTitle") or values.get("MovieTitle") or "",
        access_regime=own,
        effective_access=effective_regime(dossier.access_regime, own, ctx.services.settings.public_regimes),
        confidence_level=values.get("ConfidenceLevel", ""),
        page_amount=int(pages) if pages.isdigit() else None,
        metadata_values=dict(values),
    )


def _stored_file(built: BuildAipOutput, document: Document, entry: FileEntry) -> StoredFile:
    return StoredFile(
        document_id=document.id,
        role=entry.role,
        name=entry.name,
        object_key=object_key(built.aip_id, entry.aip_path),
        sha256=entry.sha256,
        size=entry.size,
        mimetype=entry.mimetype,
        format_name=entry.format_name,
        puid=entry.puid,
        text_content=entry.text,
        created_at=built.sealed_at,
    )


def _event_row(transfer_id: str, aip_id: str, event: EventRecord) -> Event:
    return Event(
        event_id=event.event_id,
        transfer_id=transfer_id,
        object_type="aip",
        object_ref=aip_id if not event.objects else ",".join(event.objects)[:1000],
        event_type=event.event_type,
        outcome=event.outcome,
        detail=event.detail,
        agent=event.agent,
        at=event.at,
    )
