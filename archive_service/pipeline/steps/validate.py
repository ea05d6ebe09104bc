"""Validate: the package structure, METS fixity and the profile's metadata rules, all at once."""

from __future__ import annotations

from archive_service.catalog import queries
from archive_service.packages.aip import ARCHIVE_AGENT
from archive_service.packages.edxml_documents import opening_summary
from archive_service.packages.sip import ItemEntry
from archive_service.packages.staging import StagedFile, StagedPackage
from archive_service.pipeline.context import StepContext, new_event
from archive_service.pipeline.models import (
    ItemModel,
    PackageFileModel,
    UnpackOutput,
    ValidateOutput,
)
from archive_service.pipeline.outcomes import TransferRejectedError, TransferTestedError
from archive_service.pipeline.signature_events import signature_events
from archive_service.pipeline.virus_events import virus_check_events
from archive_service.validation import judge_staged

RULES_AGENT = "archive-service-rules tt02-2019"


class ValidateStep:
    name = "validate"
    version = "1"
    output_model = ValidateOutput

    def run(self, ctx: StepContext) -> ValidateOutput:
        unpacked = ctx.output(UnpackOutput)
        staged = StagedPackage(
            package_id=unpacked.package_id,
            root=ctx.staged_root,
            files={f.path: StagedFile(f.path, f.size, f.sha256) for f in unpacked.files},
        )
        with ctx.services.sessions() as session:
            report = judge_staged(
                staged,
                ctx.services.settings,
                profile_id=ctx.profile,
                submitter_org=ctx.submitter_org,
                catalog=queries.SessionCatalogLookup(session),
            )
            package = report.package
            code = package.dossier_values.get("FileCode") or "" if package else ""
            version = queries.latest_version(session, code) + 1
        if package is None or not report.valid:
            raise TransferRejectedError(report.findings)
        if package.record_status == "TEST":
            raise TransferTestedError(report.findings)
        files = tuple(f.path for item in package.items for f in item.files)
        warnings = len(report.findings)
        events = (
            new_event(
                "fixity check",
                "SHA-256 của mọi tệp khớp METS của bên gửi / every file matches the SHA-256 in the sender's METS",
                ARCHIVE_AGENT,
                files,
            ),
            new_event(
                "validation",
                f"Hợp lệ theo {package.profile.id}, {warnings} cảnh báo / valid under "
                f"{package.profile.id}, {warnings} warnings",
                RULES_AGENT,
                files,
            ),
            *virus_check_events(report.probes.virus if report.probes else None, tuple(staged.files)),
            *(
                new_event(
                    "unpacking",
                    opening_summary(opening),
                    "archive-service-edxml QCVN-102:2016",
                    (opening.path, *(a.path for a in opening.attachments)),
                )
                for opening in report.edxml
            ),
            *signature_events(report.signatures),
        )
        return ValidateOutput(
            profile=package.profile.id,
            record_status=package.record_status,
            creator_name=package.creator_name,
            creator_org=package.creator_org,
            dossier_values=dict(package.dossier_values.values),
            items=tuple(item_model(item) for item in package.items),
            findings=tuple(f.to_dict() for f in report.findings),
            aip_version=version,
            events=events,
        )


def item_model(item: ItemEntry) -> ItemModel:
    """The pipeline model of a document read from the package (also used by the catalog rebuild)."""
    return ItemModel(
        kind=str(item.kind),
        metadata_path=item.metadata_path,
        values=dict(item.values.values),
        files=tuple(
            PackageFileModel(
                path=f.path, sha256=f.sha256, size=f.size, mimetype=f.mimetype, extracted_from=f.extracted_from
            )
            for f in item.files
        ),
    )
