"""Build AIP: lay out the archival package (originals, copies, METS, PREMIS) for storage.

The AIP is sealed with everything the catalog step will record (docs/decisions/0013): the full
event list, the signed receipt and the transfer's facts, so the catalog can be rebuilt from it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from archive_service.catalog import queries
from archive_service.packages.aip import AipDocument, AipFile, AipSpec, PremisEvent, write_aip
from archive_service.pipeline.accession import (
    TRANSFER_RECORD,
    aip_path_of,
    copy_aip_path,
    document_files,
    ingestion_event,
    transfer_record,
)
from archive_service.pipeline.context import StepContext
from archive_service.pipeline.models import (
    AipObjectModel,
    BuildAipOutput,
    EventRecord,
    IdentifyOutput,
    PackageFileModel,
    PreserveOutput,
    StagedFileModel,
    UnpackOutput,
    ValidateOutput,
)
from archive_service.receipts import sign_receipt
from archive_service.states import TransferStatus

_AIP_NAMESPACE = uuid.UUID("6f1c2d64-4d1b-4c5e-9a51-0b7f3c2a9e10")
SUBMISSION = "submission/"


def aip_id_for(transfer_id: str) -> str:
    """Stable per transfer, so a resumed transfer writes the same keys (no duplicate AIP)."""
    return f"aip-{uuid.uuid5(_AIP_NAMESPACE, transfer_id)}"


def staged_path_of(aip_path: str) -> str | None:
    """The inverse of `aip_path_of`: where an AIP object was in the sender's package, or None
    for what the archive wrote itself (its METS files, PREMIS, the transfer record, rep2)."""
    if aip_path.startswith(SUBMISSION):
        return aip_path.removeprefix(SUBMISSION)
    if aip_path in ("METS.xml", "representations/rep1/METS.xml") or aip_path.startswith(
        ("metadata/preservation/", "representations/rep2/")
    ):
        return None
    if aip_path.startswith(("metadata/", "representations/rep1/")):
        return aip_path
    return None


def all_events(ctx: StepContext) -> list[EventRecord]:
    """Every event of the steps so far in the order they ran, ingestion first."""
    validated = ctx.output(ValidateOutput)
    identified = ctx.output(IdentifyOutput).events
    preserved = ctx.output(PreserveOutput).events
    received = ingestion_event(ctx.transfer_id, ctx.output(UnpackOutput).package_id, ctx.received_at)
    return [received, *validated.events, *identified, *preserved]


def receipt_payload(ctx: StepContext, aip_id: str) -> dict[str, Any]:
    """What the signed receipt says (package-format.md, "What the archive returns")."""
    validated = ctx.output(ValidateOutput)
    preserved = ctx.output(PreserveOutput)
    formats = ctx.output(IdentifyOutput).formats
    copies = {c.original_path: c for c in preserved.copies}
    return {
        "transfer_id": ctx.transfer_id,
        "status": str(TransferStatus.ACCEPTED),
        "profile": validated.profile,
        "dossier": {"code": validated.dossier_code, "aip_id": aip_id},
        "documents": [
            {"code": item.code, "files": [e.receipt_entry() for e in document_files(item, formats, copies)]}
            for item in validated.items
        ],
        # the files the sender listed (the handover minutes' count): an edXML counts once, not its attachments
        "counts": {"dossiers": 1, "files": sum(f.extracted_from is None for i in validated.items for f in i.files)},
        "findings": list(validated.findings) + list(preserved.findings),
        "received_at": ctx.received_at.isoformat(),
    }


class BuildAipStep:
    name = "build_aip"
    version = "2"
    output_model = BuildAipOutput

    def run(self, ctx: StepContext) -> BuildAipOutput:
        unpacked = ctx.output(UnpackOutput)
        validated = ctx.output(ValidateOutput)
        formats = ctx.output(IdentifyOutput).formats
        preserved = ctx.output(PreserveOutput)
        root = ctx.staged_root
        files: list[AipFile] = []
        extracted = [f for item in validated.items for f in item.files if f.extracted_from is not None]
        received: list[StagedFileModel | PackageFileModel] = [*unpacked.files, *extracted]
        for staged in received:
            fmt = formats.get(staged.path)
            files.append(
                AipFile(
                    aip_path=aip_path_of(staged.path),
                    source=root / staged.path,
                    sha256=staged.sha256,
                    size=staged.size,
                    mimetype=fmt.mimetype if fmt else "",
                    format_name=fmt.format_name if fmt else "",
                    puid=fmt.puid if fmt else "",
                )
            )
        for copy in preserved.copies:
            files.append(
                AipFile(
                    aip_path=copy_aip_path(copy.copy_path),
                    source=ctx.work_dir / "copies" / copy.copy_path,
                    sha256=copy.sha256,
                    size=copy.size,
                    mimetype="application/pdf",
                    format_name=copy.conformance,
                    puid=copy.puid,
                    derived_from=aip_path_of(copy.original_path),
                )
            )
        documents = tuple(
            AipDocument(
                code=item.code,
                label=item.values.get("Subject", ""),
                metadata_path=item.metadata_path,
                originals=tuple(f.path for f in item.files),
                copies=tuple(
                    copy_aip_path(c.copy_path)
                    for c in preserved.copies
                    if c.original_path in {f.path for f in item.files}
                ),
            )
            for item in validated.items
        )
        aip_id = aip_id_for(ctx.transfer_id)
        sealed_at = datetime.now(UTC)
        events = all_events(ctx)
        receipt = sign_receipt(ctx.services.keyring, receipt_payload(ctx, aip_id))
        with ctx.services.sessions() as session:
            transfer = queries.transfer(session, ctx.transfer_id)
            record = transfer_record(
                transfer,
                aip_id=aip_id,
                aip_version=validated.aip_version,
                record_status=validated.record_status,
                received_at=ctx.received_at,
                sealed_at=sealed_at,
                receipt=receipt,
            )
        folder = ctx.work_dir / "aip"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "transfer.json").write_bytes(record)
        files.append(AipFile.of_bytes(TRANSFER_RECORD, folder / "transfer.json", record, "application/json"))
        spec = AipSpec(
            aip_id=aip_id,
            package_id=unpacked.package_id,
            dossier_code=validated.dossier_code,
            created_at=sealed_at,
            creator_name=validated.creator_name,
            creator_org=validated.creator_org,
            files=tuple(files),
            documents=documents,
            events=tuple(
                PremisEvent(
                    e.event_id,
                    e.event_type,
                    e.at,
                    e.detail,
                    e.outcome,
                    e.agent,
                    tuple(aip_path_of(o) for o in e.objects),
                )
                for e in events
            ),
        )
        objects = write_aip(spec, folder)
        return BuildAipOutput(
            aip_id=aip_id,
            objects=tuple(
                AipObjectModel(
                    aip_path=o.aip_path, source=str(o.source.relative_to(ctx.work_dir)), sha256=o.sha256, size=o.size
                )
                for o in objects
            ),
            events=tuple(events),
            receipt=receipt,
            sealed_at=sealed_at,
        )
