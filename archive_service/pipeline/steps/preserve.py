"""Preserve: a verified PDF/A-2 copy of every PDF original (OCR for digitised records).

A copy counts only if pikepdf does not reject it as PDF/A-2 and its text matches the original's
(pres.pdfa.text_fidelity). Any failure leaves the transfer in `failed` with the reason; nothing
is stored. Originals are never modified: a signed original keeps its signatures, and the event
records that the copy does not carry them.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from archive_service.errors import ConversionFailedError
from archive_service.pipeline.context import StepContext, new_event
from archive_service.pipeline.models import (
    CopyModel,
    EventRecord,
    IdentifyOutput,
    PackageFileModel,
    PreserveOutput,
    ValidateOutput,
)
from archive_service.pipeline.outcomes import TransferFailedError
from archive_service.preservation.convert_pdfa import make_pdfa
from archive_service.preservation.verify_pdfa import check_pdfa, extract_text, text_fidelity
from archive_service.tools.ghostscript import find_ghostscript
from archive_service.tools.identify import identify
from archive_service.tools.pdf_info import has_signatures
from ingest_rules.catalogue import finding
from ingest_rules.field_rules import in_domain
from ingest_rules.findings import Finding
from storage.fixity import sha256_stream

SCANNED_LEVELS = ("Số hóa", "Hỗn hợp")  # digitised, mixed: image-only pages get OCR (rules.md)
DATA_PREFIX = "representations/rep1/data/"


def copy_name(original: str) -> str:
    """The copy's path under rep2/data: the original's path below data/, with a .pdf suffix."""
    relative = PurePosixPath(original.removeprefix(DATA_PREFIX))
    return str(relative.with_suffix(".pdf"))


class PreserveStep:
    name = "preserve"
    version = "1"
    output_model = PreserveOutput

    def run(self, ctx: StepContext) -> PreserveOutput:
        settings = ctx.services.settings
        formats = ctx.output(IdentifyOutput).formats
        gs = find_ghostscript(settings.tools.ghostscript, settings.tools.cache_dir)
        copies: list[CopyModel] = []
        notes: list[Finding] = []
        failures: list[Finding] = []
        events: list[EventRecord] = []
        for item in ctx.output(ValidateOutput).items:
            digitised = in_domain(item.values.get("ConfidenceLevel", ""), SCANNED_LEVELS)
            for file in item.files:
                if formats[file.path].mimetype != "application/pdf":
                    continue
                made = self._copy(ctx, gs, file, digitised, failures)
                if made is None:
                    continue
                copy, event = made
                copies.append(copy)
                events.append(event)
                if has_signatures(ctx.staged_root / file.path):
                    notes.append(
                        finding(
                            "pres.signature.preserved",
                            path=file.path,
                            message_vi="Bản gốc có chữ ký số và được giữ nguyên từng bit; bản sao PDF/A không "
                            "mang chữ ký số",
                            message_en="The original is digitally signed and kept bit for bit; the PDF/A copy "
                            "does not carry the signatures",
                        )
                    )
        if failures:
            raise TransferFailedError(failures, retryable=False)
        return PreserveOutput(copies=tuple(copies), findings=tuple(f.to_dict() for f in notes), events=tuple(events))

    @staticmethod
    def _copy(
        ctx: StepContext, gs: Path, file: PackageFileModel, digitised: bool, failures: list[Finding]
    ) -> tuple[CopyModel, EventRecord] | None:
        source = ctx.staged_root / file.path
        name = copy_name(file.path)
        target = ctx.work_dir / "copies" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            result = make_pdfa(source, target, gs=gs, ocr=digitised)
        except ConversionFailedError as exc:
            failures.append(
                finding("pres.pdfa.failed", path=file.path, message_vi=exc.message_vi, message_en=exc.message_en)
            )
            return None
        check = check_pdfa(target)
        if check.verdict == "fail":
            detail = "; ".join(check.findings[:3])
            failures.append(
                finding(
                    "pres.pdfa.failed",
                    path=file.path,
                    message_vi=f"Bản sao không đạt PDF/A-2: {detail}",
                    message_en=f"The copy is not PDF/A-2: {detail}",
                )
            )
            return None
        fidelity = text_fidelity(source, target, digitised)
        if not fidelity.ok:
            failures.append(
                finding(
                    "pres.pdfa.text_fidelity",
                    path=file.path,
                    message_vi=fidelity.message_vi,
                    message_en=fidelity.message_en,
                )
            )
            return None
        found = identify(target)
        tools = ", ".join(f"{t.name} {t.version}" for t in result.tools)
        event = new_event(
            "migration",
            f"Lập bản sao {result.conformance} ({result.outcome}); OCR: {'có' if result.ocr_applied else 'không'}; "
            f"bản sao không mang chữ ký số của bản gốc / made a {result.conformance} copy ({result.outcome}); "
            f"OCR: {'yes' if result.ocr_applied else 'no'}; the copy does not carry the original's signatures",
            tools,
            (file.path,),
        )
        digest, size = _digest(target)
        copy = CopyModel(
            original_path=file.path,
            copy_path=name,
            sha256=digest,
            size=size,
            conformance=result.conformance,
            puid=found.puid,
            text=extract_text(target),
        )
        return copy, event


def _digest(path: Path) -> tuple[str, int]:
    with path.open("rb") as stream:
        return sha256_stream(stream)
