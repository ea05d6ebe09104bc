"""Build AIP: lay out the archival package (originals, copies, METS, PREMIS) for storage."""

from __future__ import annotations

import uuid

from archive_service.packages.aip import AipDocument, AipFile, AipSpec, PremisEvent, write_aip
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

_AIP_NAMESPACE = uuid.UUID("6f1c2d64-4d1b-4c5e-9a51-0b7f3c2a9e10")
COPIES = "representations/rep2/data/"


def aip_id_for(transfer_id: str) -> str:
    """Stable per transfer, so a resumed transfer writes the same keys (no duplicate AIP)."""
    return f"aip-{uuid.uuid5(_AIP_NAMESPACE, transfer_id)}"


def aip_path_of(staged_path: str) -> str:
    """Where a file of the sender's package goes in the AIP (package-format.md)."""
    if staged_path == "METS.xml":
        return "submission/METS.xml"
    if staged_path.startswith(("metadata/", "representations/rep1/")):
        return staged_path
    return f"submission/{staged_path}"


def copy_aip_path(copy_path: str) -> str:
    return COPIES + copy_path


def all_events(ctx: StepContext) -> list[EventRecord]:
    """Every event recorded so far, in the order the steps ran."""
    return [
        *ctx.output(ValidateOutput).events,
        *ctx.output(IdentifyOutput).events,
        *ctx.output(PreserveOutput).events,
    ]


class BuildAipStep:
    name = "build_aip"
    version = "1"
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
        spec = AipSpec(
            aip_id=aip_id,
            package_id=unpacked.package_id,
            dossier_code=validated.dossier_code,
            created_at=ctx.received_at,
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
                for e in all_events(ctx)
            ),
        )
        objects = write_aip(spec, ctx.work_dir / "aip")
        return BuildAipOutput(
            aip_id=aip_id,
            objects=tuple(
                AipObjectModel(
                    aip_path=o.aip_path, source=str(o.source.relative_to(ctx.work_dir)), sha256=o.sha256, size=o.size
                )
                for o in objects
            ),
        )
