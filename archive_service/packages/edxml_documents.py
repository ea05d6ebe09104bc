"""edXML files of a transfer: their attachments become the document's files (package-format.md).

A document may carry, as its data file, the `.edxml` packet it was received as over the national
interconnection axis. Before the file rules run, each such packet is read with `edxml.read_edxml`
(safe XML, base64 decoded in chunks, attachment ZIPs and nested packets unpacked with the checks
of `staging`) and its attachments are written next to it, under
`<edxml path>.attachments/` inside the staged package. They are then ordinary files of the
document for every later step (format identification, file checks, PDF/A copy, AIP, catalog,
index), while the packet itself stays a file of the document, kept bit for bit.

The header of a document packet is cross-checked against the document's metadata
(`file.edxml.mismatch`); a status packet (QCVN 102 `StatusCode`) carries no document: it is kept
as evidence of the exchange and its `ResponseFor` must name the document it sits in.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from archive_service.config import PackageLimits
from archive_service.packages.edxml import EdxmlAttachment, EdxmlHeader, cross_check, cross_check_status, read_edxml
from archive_service.packages.sip import ItemEntry, PackageFile, SipPackage
from ingest_rules.catalogue import finding
from ingest_rules.findings import Finding, ObjectKind
from storage.keys import MAX_KEY_BYTES

MAX_PATH_BYTES = MAX_KEY_BYTES - 100
"""An attachment's package path must leave room for the AIP id and a copy's suffix in a storage key."""
ATTACHMENTS_SUFFIX = ".attachments"
"""The folder next to a packet that holds its attachments: `data/cv.edxml.attachments/...`."""


@dataclass(frozen=True)
class EdxmlOpening:
    """One edXML file of the package as it was opened: its header and the files it delivered."""

    path: str
    document: str
    header: EdxmlHeader | None
    attachments: tuple[PackageFile, ...]


@dataclass
class _Budget:
    """What is left of the package limits once the package and earlier packets are counted, so
    attachments of all packets together stay within one transfer's limits."""

    bytes_left: int
    entries_left: int

    def limits(self, limits: PackageLimits) -> PackageLimits:
        left = {"max_total_bytes": max(self.bytes_left, 0), "max_entries": max(self.entries_left, 0)}
        return limits.model_copy(update=left)

    def spend(self, files: tuple[PackageFile, ...]) -> None:
        self.bytes_left -= sum(f.size for f in files)
        self.entries_left -= len(files)


def is_edxml(path: str) -> bool:
    """Whether a package file is an edXML packet (by its `.edxml` name, package-format.md)."""
    return path.casefold().endswith(".edxml")


def attachments_folder(edxml_path: str) -> str:
    return f"{edxml_path}{ATTACHMENTS_SUFFIX}"


def open_edxml_files(package: SipPackage, limits: PackageLimits) -> tuple[list[EdxmlOpening], list[Finding]]:
    """Read every edXML file of the package's documents and add its attachments to the document.

    `package.items` is updated in place: an item's files become its own files followed, after each
    packet, by that packet's attachments (only when the packet was read without error). Safe to
    call again on the same staged package: an earlier extraction is replaced.
    """
    openings: list[EdxmlOpening] = []
    findings: list[Finding] = []
    taken = set(package.files)
    items: list[ItemEntry] = []
    budget = _Budget(
        bytes_left=limits.max_total_bytes - sum(f.size for f in package.files.values()),
        entries_left=limits.max_entries - len(package.files),
    )
    for item in package.items:
        files: list[PackageFile] = []
        for entry in item.files:
            files.append(entry)
            if not is_edxml(entry.path):
                continue
            opening, found = _open_one(package.root, item, entry, budget.limits(limits), taken)
            findings.extend(found)
            if opening is not None:
                openings.append(opening)
                files.extend(opening.attachments)
                budget.spend(opening.attachments)
        findings.extend(_status_only(item, [o for o in openings if o.document == item.metadata_path]))
        items.append(replace(item, files=tuple(files)))
    package.items = items
    return openings, findings


def _open_one(
    root: Path, item: ItemEntry, entry: PackageFile, limits: PackageLimits, taken: set[str]
) -> tuple[EdxmlOpening | None, list[Finding]]:
    folder = attachments_folder(entry.path)
    if any(p == folder or p.startswith(f"{folder}/") for p in taken):
        return None, [_name_taken(entry.path, folder)]
    target = root / folder
    shutil.rmtree(target, ignore_errors=True)
    reading = read_edxml(root / entry.path, limits, target, report_path=entry.path)
    findings = list(reading.findings)
    header = reading.header
    if header is not None and header.kind == "document":
        findings.extend(cross_check(header, item.values.values, entry.path))
    elif header is not None:
        findings.extend(cross_check_status(header, item.values.values, entry.path))
    attachments = tuple(_package_file(root, entry, index, a) for index, a in enumerate(reading.attachments, 1))
    findings.extend(_too_long(a.path) for a in attachments if len(a.path.encode("utf-8")) > MAX_PATH_BYTES)
    if any(f.is_error for f in findings):
        shutil.rmtree(target, ignore_errors=True)
        return EdxmlOpening(entry.path, item.metadata_path, header, ()), findings
    return EdxmlOpening(entry.path, item.metadata_path, header, attachments), findings


def _status_only(item: ItemEntry, openings: list[EdxmlOpening]) -> list[Finding]:
    """A document whose every file is a status packet has no content: `file.edxml.schema`."""
    statuses = [o for o in openings if o.header is not None and o.header.kind == "status"]
    if not item.files or len(statuses) != len(item.files):
        return []
    return [
        finding(
            "file.edxml.schema",
            path=statuses[0].path,
            message_vi="Văn bản chỉ có gói tin trạng thái edXML (StatusCode), không có nội dung văn bản; gói tin "
            "trạng thái chỉ được kèm theo văn bản mà nó phản hồi",
            message_en="The document has only edXML status packets (StatusCode) and no content; a status packet "
            "can only accompany the document it answers",
            obj=ObjectKind.FILE,
        )
    ]


def _package_file(root: Path, packet: PackageFile, index: int, attachment: EdxmlAttachment) -> PackageFile:
    return PackageFile(
        path=PurePosixPath(attachment.path.resolve().relative_to(root.resolve())).as_posix(),
        file_id=f"{packet.file_id}-att{index}",
        sha256=attachment.sha256,
        size=attachment.size,
        # a ZIP member's type is only guessed from its name: nothing declared to compare
        mimetype=attachment.content_type if attachment.content_id is not None else None,
        extracted_from=packet.path,
    )


def _too_long(path: str) -> Finding:
    return finding(
        "pkg.archive.unsafe_path",
        path=path,
        message_vi=f"Đường dẫn tệp đính kèm dài quá {MAX_PATH_BYTES} byte "
        "(các tệp nén lồng nhau quá sâu hoặc tên quá dài)",
        message_en=f"The attachment path is longer than {MAX_PATH_BYTES} bytes "
        "(containers nested too deep or names too long)",
        obj=ObjectKind.FILE,
    )


def _name_taken(path: str, folder: str) -> Finding:
    return finding(
        "pkg.archive.unsafe_path",
        path=folder,
        message_vi=f"Gói đã có '{folder}', là tên kho dành cho các tệp đính kèm giải nén từ '{path}'",
        message_en=f"The package already holds '{folder}', the name the archive gives to the attachments of '{path}'",
        obj=ObjectKind.FILE,
    )


def opening_summary(opening: EdxmlOpening) -> str:
    """The PREMIS "unpacking" event detail of one packet: its mapped header and what it delivered."""
    header = opening.header
    names = ", ".join(PurePosixPath(a.path).name for a in opening.attachments) or "—"
    if header is None:
        return f"edXML {opening.path}"
    if header.kind == "status":
        answered = ", ".join(r.document_id or r.code or "?" for r in header.response_for)
        return (
            f"Gói tin trạng thái edXML {header.status_code} ({header.status_description or ''}) từ "
            f"{header.sender.organ_id}, phản hồi {answered} / edXML status {header.status_code} from "
            f"{header.sender.organ_id}, answering {answered}"
        )
    sender = f"{header.sender.organ_id} {header.sender.organ_name or ''}".strip()
    code = f"{header.code_number}/{header.code_notation}"
    signer = " ".join(p for p in (header.signer_competence, header.signer_position, header.signer_full_name) if p)
    hops = " → ".join(f"{t.organ_id} {t.timestamp or ''}".strip() for t in header.traces) or "—"
    business = header.business.doc_type if header.business is not None else None
    return (
        f"Giải nén {len(opening.attachments)} tệp đính kèm edXML ({names}); văn bản {code} "
        f"ngày {header.promulgation_date}, {header.type_name}, từ {sender}, người ký {signer or '—'}, "
        f"nghiệp vụ {business or '—'}, hành trình {hops} / extracted {len(opening.attachments)} edXML "
        f"attachments ({names}); document {code} of {header.promulgation_date}, {header.type_name}, from "
        f"{sender}, signed by {signer or '—'}, business type {business or '—'}, trace {hops}"
    )
