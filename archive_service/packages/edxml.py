"""Reading edXML packets (QCVN 102:2016/BTTTT Phần 2) safely: the header, and the attachments as files.

An edXML file is what a document-management system receives over the national interconnection
axis: `edXML/edXMLEnvelope/edXMLHeader/MessageHeader` says who sent which document (number,
notation, date, type, subject, signer), `edXMLBody/edXMLManifest` lists the attachments and
`edXML/AttachmentEncoded/Attachment` carries each one in base64. Written from the structure in
spec reference/regulation.md §4.4 and the real samples; there is no official XSD.

Safety: the XML goes through `safe_xml` only (no DOCTYPE, entities, XInclude, network); base64
is decoded in chunks straight to files under `extract_to` (names through `safe_paths`, files
created exclusively, never following links); the bytes and entries written count against
`PackageLimits`; an attachment that is a ZIP (the SDKs zip every file) is unpacked with the checks
of `staging` (zip slip, links, encryption, size, compression ratio); an `.edxml` found inside is
read in turn, up to `MAX_NESTING` levels. Problems are findings, never exceptions. After a
reading, the files under `extract_to` are exactly the listed attachments (containers and broken
pieces are removed).

Finding paths name the container chain with `!`: `data/cv.edxml!cv.doc!inner.edxml!scan.pdf`.
"""

from __future__ import annotations

import binascii
import hashlib
import mimetypes
import os
import re
import shutil
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Literal

from lxml import etree

from archive_service.config import PackageLimits
from archive_service.packages.safe_paths import UnsafePathError, safe_relative_path
from archive_service.packages.safe_xml import MalformedXmlError, UnsafeXmlError, parse_xml_file

# The staging module's ZIP checks and streaming copy are reused as they are; only the
# single-top-folder requirement of a transfer package does not apply to an attachment ZIP.
from archive_service.packages.staging import stage_zip
from ingest_rules.catalogue import finding
from ingest_rules.field_rules import fold, quote
from ingest_rules.findings import Finding, ObjectKind, nfc
from ingest_rules.metadata_rules import parse_vn_date

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
MAX_NESTING = 3
"""How many edXML packets deep (an edXML in a ZIP in an edXML ...) attachments are followed."""

_CHUNK = 4 * 1024 * 1024  # base64 characters decoded at a time
_ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed", "application/x-zip"})
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OFFICE_MARKERS = frozenset({"[Content_Types].xml", "mimetype"})  # OOXML / ODF are ZIPs too: keep whole
_MAX_NAME_BYTES = 240
_EDXML_DATE = re.compile(r"[0-9]{4}([/-])[0-9]{2}\1[0-9]{2}")
_BASE64_WHITESPACE = str.maketrans("", "", " \t\r\n")
_DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-"})

MessageKind = Literal["document", "status"]

# Header fields an edXML message must carry, with what an archivist calls them.
_DOCUMENT_REQUIRED: dict[str, tuple[str, str]] = {
    "From/OrganId": ("mã định danh cơ quan gửi", "sender organisation identifier"),
    "From/OrganName": ("tên cơ quan gửi", "sender organisation name"),
    "To/OrganId": ("mã định danh cơ quan nhận", "recipient organisation identifier"),
    "Code/CodeNumber": ("số của văn bản", "document number"),
    "Code/CodeNotation": ("ký hiệu của văn bản", "document notation"),
    "PromulgationInfo/PromulgationDate": ("ngày ban hành", "date of issue"),
    "DocumentType/TypeName": ("tên loại văn bản", "document type name"),
    "Subject": ("trích yếu nội dung", "subject"),
}
_STATUS_REQUIRED: dict[str, tuple[str, str]] = {
    "From/OrganId": ("mã định danh cơ quan gửi", "sender organisation identifier"),
    "ResponseFor/DocumentId": ("mã văn bản được phản hồi", "identifier of the document answered"),
    "StatusCode": ("mã trạng thái", "status code"),
}


@dataclass(frozen=True)
class EdxmlOrgan:
    """`From` or `To`: an organisation taking part in the exchange."""

    organ_id: str | None
    organ_name: str | None
    organization_in_charge: str | None = None
    organ_add: str | None = None
    email: str | None = None
    telephone: str | None = None
    fax: str | None = None
    website: str | None = None


@dataclass(frozen=True)
class EdxmlResponseFor:
    """`ResponseFor`: the earlier document a reply, revocation or status message refers to."""

    organ_id: str | None
    code: str | None
    promulgation_date: str | None
    document_id: str | None


@dataclass(frozen=True)
class EdxmlTrace:
    """`TraceHeaderList/TraceHeader`: one hop of the message over the axis."""

    organ_id: str | None
    timestamp: str | None


@dataclass(frozen=True)
class EdxmlBusiness:
    """`TraceHeaderList/Bussiness` (sic): why the packet was sent (0 new, 1 revoke, 2 update, 3 replace)."""

    document_id: str | None
    doc_type: str | None
    reason: str | None
    paper: str | None
    replaced_document_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class EdxmlHeader:
    """The `MessageHeader` (and trace list) of one edXML packet; text is NFC, absent is None.

    Dates are kept as written (`yyyy/MM/dd`); `promulgation_day` parses the date of issue.
    """

    kind: MessageKind
    sender: EdxmlOrgan
    recipients: tuple[EdxmlOrgan, ...]
    document_id: str | None
    code_number: str | None
    code_notation: str | None
    promulgation_place: str | None
    promulgation_date: str | None
    type_code: str | None
    type_detail: str | None
    type_name: str | None
    subject: str | None
    content: str | None
    signer_competence: str | None
    signer_position: str | None
    signer_full_name: str | None
    due_date: str | None
    steering_type: str | None
    priority: str | None
    sphere_of_promulgation: str | None
    promulgation_amount: str | None
    page_amount: str | None
    appendixes: tuple[str, ...]
    to_places: tuple[str, ...]
    response_for: tuple[EdxmlResponseFor, ...]
    traces: tuple[EdxmlTrace, ...]
    business: EdxmlBusiness | None
    status_code: str | None
    status_description: str | None
    status_timestamp: str | None
    signed: bool
    """A `Signature` element is present (it is not verified here: legacy RSA-SHA1 XML-DSig)."""
    signer_certificate_subject: str | None

    @property
    def promulgation_day(self) -> date | None:
        return parse_edxml_date(self.promulgation_date or "")


@dataclass(frozen=True)
class EdxmlAttachment:
    """One file delivered by the packet, as written under `extract_to`.

    `name` is the attachment's (or ZIP member's) clean relative name; `content_type` is the one
    declared, or guessed from the name for a ZIP member; `origin` names the containers it came
    out of (the outer `.edxml` itself excluded), outermost first.
    """

    name: str
    content_type: str
    path: Path
    size: int
    sha256: str
    content_id: str | None = None
    description: str | None = None
    origin: tuple[str, ...] = ()


@dataclass(frozen=True)
class EdxmlReading:
    """What `read_edxml` found: the header (None if unreadable), the files and the findings."""

    header: EdxmlHeader | None
    attachments: tuple[EdxmlAttachment, ...]
    findings: tuple[Finding, ...]
    nested_headers: tuple[EdxmlHeader, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(f.is_error for f in self.findings)


# --------------------------------------------------------------------------------------------
# Public API


def read_edxml(path: Path, limits: PackageLimits, extract_to: Path, *, report_path: str | None = None) -> EdxmlReading:
    """Read the edXML file `path`, writing its attachments under `extract_to` (created if needed).

    `extract_to` should be a folder for this file alone. `report_path` is the file's path as
    findings should name it (its package path); it defaults to the file name. Never raises for
    anything in the file.
    """
    reader = _Reader(limits, extract_to, report_path or path.name)
    header = reader.read_message(path, reader.root, reader.shown, (), 1)
    reader.cleanup()
    return EdxmlReading(
        header=header,
        attachments=tuple(reader.attachments),
        findings=tuple(reader.findings),
        nested_headers=tuple(reader.nested_headers),
    )


def cross_check(header: EdxmlHeader, values: Mapping[str, str], path: str) -> list[Finding]:
    """`file.edxml.mismatch` for each header field that disagrees with the document's metadata.

    `values` are the `VanBan` values by tag (Circular 02/2019; the camelCase tags of 05/2025 are
    accepted too). A field empty on either side, or a date that does not parse, is left to the
    rules that own it.
    """
    pairs = (
        ("CodeNumber", header.code_number, "Code/CodeNumber", _same_number),
        ("CodeNotation", header.code_notation, "Code/CodeNotation", _same_code),
        ("IssuedDate", header.promulgation_date, "PromulgationInfo/PromulgationDate", _same_date),
        ("OrganName", header.sender.organ_name, "From/OrganName", _same_text),
        ("Subject", header.subject, "Subject", _same_text),
        ("TypeName", header.type_name, "DocumentType/TypeName", _same_text),
    )
    return _mismatches(pairs, values, path)


def cross_check_status(header: EdxmlHeader, values: Mapping[str, str], path: str) -> list[Finding]:
    """`file.edxml.mismatch` when a status packet answers another document than the one it sits in.

    Each `ResponseFor` names a document by `Code` (number/notation) and `PromulgationDate`; the
    packet belongs to this document when one of them agrees with its `CodeNumber`/`CodeNotation`
    and `IssuedDate` (fields empty on either side are not compared).
    """
    number, notation = _value(values, "CodeNumber"), _value(values, "CodeNotation")
    own_code = f"{number}/{notation}" if number and notation else None
    candidates = [
        (
            ("CodeNumber/CodeNotation", r.code, "ResponseFor/Code", _same_number_notation),
            ("IssuedDate", r.promulgation_date, "ResponseFor/PromulgationDate", _same_date),
        )
        for r in header.response_for
    ]
    shown = {"CodeNumber/CodeNotation": own_code} if own_code else {}
    merged = {**values, **shown}
    results = [_mismatches(pairs, merged, path) for pairs in candidates]
    return min(results, key=len) if results else []


_Pair = tuple[str, str | None, str, Callable[[str, str], bool | None]]


def _mismatches(pairs: Iterable[_Pair], values: Mapping[str, str], path: str) -> list[Finding]:
    findings = []
    for tag, edxml_value, edxml_field, same in pairs:
        value = _value(values, tag)
        if not value or not edxml_value:
            continue
        if same(value, edxml_value) is False:
            findings.append(
                finding(
                    "file.edxml.mismatch",
                    path=path,
                    field=tag,
                    message_vi=(
                        f"{tag} của văn bản là {quote(value)} nhưng tiêu đề edXML ({edxml_field}) "
                        f"ghi {quote(edxml_value)}"
                    ),
                    message_en=(
                        f"{tag} is {quote(value)} but the edXML header ({edxml_field}) says {quote(edxml_value)}"
                    ),
                )
            )
    return findings


def parse_edxml_date(text: str) -> date | None:
    """An edXML date `yyyy/MM/dd` that exists (ISO `yyyy-MM-dd` is tolerated), or None."""
    text = text.strip()
    if _EDXML_DATE.fullmatch(text) is None:
        return None
    try:
        return date(int(text[:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Reading


class _Base64Error(ValueError):
    pass


class _BudgetError(Exception):
    pass


@dataclass
class _Reader:
    """The state of one `read_edxml` call: budgets left, findings and files so far."""

    limits: PackageLimits
    extract_to: Path
    shown: str
    findings: list[Finding] = field(default_factory=list)
    attachments: list[EdxmlAttachment] = field(default_factory=list)
    nested_headers: list[EdxmlHeader] = field(default_factory=list)
    bytes_left: int = 0
    entries_left: int = 0
    _temp_count: int = 0

    def __post_init__(self) -> None:
        self.bytes_left = self.limits.max_total_bytes
        self.entries_left = self.limits.max_entries
        self.extract_to.mkdir(parents=True, exist_ok=True)
        self.root = self.extract_to.resolve()
        self.temp_dir = self.root / ".incoming"

    def cleanup(self) -> None:
        """Remove the temporary folder and the folders left empty by discarded containers."""
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        for folder, _, _ in sorted(os.walk(self.root), key=lambda w: -len(w[0])):
            if Path(folder) != self.root and not any(Path(folder).iterdir()):
                Path(folder).rmdir()

    def add(self, rule_id: str, path: str, vi: str, en: str, field_name: str | None = None) -> None:
        self.findings.append(
            finding(rule_id, path=path, message_vi=vi, message_en=en, field=field_name, obj=ObjectKind.FILE)
        )

    def schema(self, path: str, vi: str, en: str, field_name: str | None = None) -> None:
        self.add("file.edxml.schema", path, vi, en, field_name)

    # -- one packet --------------------------------------------------------------------------

    def read_message(
        self, source: Path, dest: Path, shown: str, origin: tuple[str, ...], depth: int
    ) -> EdxmlHeader | None:
        """Parse one edXML file, record its header findings and extract its attachments to `dest`."""
        root = self._parse(source, shown)
        message = self._message_header(root, shown) if root is not None else None
        if root is None or message is None:
            return None
        header = _map_header(message)
        self._check_header(header, message, shown)
        self._extract_all(root, dest, shown, origin, depth)
        return header

    def _parse(self, source: Path, shown: str) -> etree._Element | None:
        """The root element through `safe_xml`, or None after a finding saying why not."""
        try:
            size = source.stat().st_size
            if size > self.limits.max_xml_bytes:
                self.add(
                    "pkg.archive.too_large",
                    shown,
                    f"Tệp edXML '{shown}' có {size} byte, vượt giới hạn {self.limits.max_xml_bytes} byte",
                    f"The edXML file '{shown}' has {size} bytes, above the limit of {self.limits.max_xml_bytes} bytes",
                )
                return None
            return parse_xml_file(source, self.limits.max_xml_bytes)
        except UnsafeXmlError as exc:
            vi, en = exc.reason_vi, exc.reason_en
            if "Text node too long" in str(exc.__cause__):
                vi += " (một tệp đính kèm mã hóa base64 dài hơn 10 000 000 ký tự, khoảng 7 MiB)"
                en += " (a base64 attachment longer than 10,000,000 characters, about 7 MiB)"
            self.add("pkg.xml.unsafe", shown, f"Tệp edXML '{shown}': {vi}", f"The edXML file '{shown}': {en}")
        except MalformedXmlError as exc:
            hint_vi, hint_en = _undeclared_prefix_hint(str(exc))
            self.schema(
                shown,
                f"Tệp edXML '{shown}' không đúng cú pháp XML: {exc}{hint_vi}",
                f"The edXML file '{shown}' is not well-formed XML: {exc}{hint_en}",
            )
        except OSError as exc:
            self.schema(
                shown, f"Không đọc được tệp edXML '{shown}': {exc}", f"Cannot read the edXML file '{shown}': {exc}"
            )
        return None

    def _message_header(self, root: etree._Element, shown: str) -> etree._Element | None:
        qname = etree.QName(root)
        if qname.localname != "edXML" or qname.namespace != EDXML_NS:
            got = f"{{{qname.namespace}}}{qname.localname}" if qname.namespace else qname.localname
            self.schema(
                shown,
                f"Tệp '{shown}' không phải gói tin edXML: phần tử gốc là '{got}', phải là 'edXML' "
                f"trong không gian tên {EDXML_NS}",
                f"'{shown}' is not an edXML packet: the root element is '{got}', expected 'edXML' "
                f"in the namespace {EDXML_NS}",
            )
            return None
        message = root.find(_q("edXMLEnvelope/edXMLHeader/MessageHeader"))
        if message is None:
            self.schema(
                shown,
                f"Gói tin edXML '{shown}' thiếu phần tiêu đề edXMLEnvelope/edXMLHeader/MessageHeader",
                f"The edXML packet '{shown}' lacks its header edXMLEnvelope/edXMLHeader/MessageHeader",
            )
        return message

    def _check_header(self, header: EdxmlHeader, message: etree._Element, shown: str) -> None:
        required = _STATUS_REQUIRED if header.kind == "status" else _DOCUMENT_REQUIRED
        for tag_path, (label_vi, label_en) in required.items():
            if _text(message, tag_path) is None:
                self.schema(
                    shown,
                    f"Tiêu đề edXML của '{shown}' thiếu {tag_path} ({label_vi})",
                    f"The edXML header of '{shown}' lacks {tag_path} ({label_en})",
                    tag_path,
                )
        written = header.promulgation_date
        if written is not None and parse_edxml_date(written) is None:
            self.schema(
                shown,
                f"Ngày ban hành trong tiêu đề edXML của '{shown}' {quote(written)} không phải ngày dạng yyyy/MM/dd",
                f"The date of issue in the edXML header of '{shown}', {quote(written)}, is not a yyyy/MM/dd date",
                "PromulgationInfo/PromulgationDate",
            )

    # -- attachments -------------------------------------------------------------------------

    def _extract_all(self, root: etree._Element, dest: Path, shown: str, origin: tuple[str, ...], depth: int) -> None:
        manifest = {
            cid: ref
            for ref in root.iterfind(_q("edXMLEnvelope/edXMLBody/edXMLManifest/Reference"))
            if (cid := _text(ref, "ContentId")) is not None
        }
        carried: set[str] = set()
        for index, element in enumerate(root.iterfind(_q("AttachmentEncoded/Attachment")), start=1):
            cid = _text(element, "ContentId")
            if cid is not None:
                carried.add(cid)
            reference = manifest.get(cid) if cid is not None else None
            self._extract_one(element, reference, dest / f"{index:02d}", shown, origin, depth)
        for cid in sorted(set(manifest) - carried):
            self.schema(
                shown,
                f"Danh mục edXMLManifest của '{shown}' liệt kê tệp đính kèm {cid} nhưng gói tin không mang tệp đó",
                f"The edXMLManifest of '{shown}' lists the attachment {cid} but the packet does not carry it",
            )

    def _extract_one(
        self,
        element: etree._Element,
        reference: etree._Element | None,
        dest: Path,
        shown: str,
        origin: tuple[str, ...],
        depth: int,
    ) -> None:
        def declared(tag: str) -> str | None:
            value = _text(element, tag)
            return value if value is not None or reference is None else _text(reference, tag)

        cid = declared("ContentId")
        raw_name = declared("AttachmentName")
        label = raw_name or cid or "?"
        if raw_name is None:
            self.schema(
                shown,
                f"Tệp đính kèm {label} của '{shown}' không có tên (AttachmentName)",
                f"The attachment {label} of '{shown}' has no AttachmentName",
                "AttachmentName",
            )
            return
        name = self._safe_name(raw_name, shown)
        if name is None:
            return
        here = f"{shown}!{name}"
        if self.entries_left <= 0:
            self._too_many(here)
            return
        pieces = _encoded_text(element)
        if pieces is None:
            self.schema(
                here,
                f"Tệp đính kèm '{here}' không có nội dung (ContentTransferEncoded trống hoặc thiếu)",
                f"The attachment '{here}' has no content (ContentTransferEncoded empty or missing)",
            )
            return
        temp = self._temp_file()
        try:
            size, sha256 = _decode_base64(pieces, temp, self.bytes_left)
        except _Base64Error as exc:
            temp.unlink(missing_ok=True)
            self.schema(
                here,
                f"Nội dung tệp đính kèm '{here}' không phải base64 hợp lệ ({exc})",
                f"The content of the attachment '{here}' is not valid base64 ({exc})",
            )
            return
        except _BudgetError:
            temp.unlink(missing_ok=True)
            self._too_large(here)
            return
        content_type = declared("ContentType") or "application/octet-stream"
        meta = _Meta(name=name, content_type=content_type, content_id=cid, description=declared("Description"))
        self._settle(temp, dest / name, meta, size, sha256, here, (*origin, name), depth)

    def _settle(
        self,
        current: Path,
        final: Path,
        meta: _Meta,
        size: int,
        sha256: str,
        shown: str,
        origin: tuple[str, ...],
        depth: int,
    ) -> None:
        """Put the file at `current` in its place: a leaf at `final`, or a container unpacked into `final/`."""
        try:
            if meta.name.casefold().endswith(".edxml"):
                self._nested_edxml(current, final, shown, origin, depth)
            elif _is_attachment_zip(current, meta):
                self._unzip(current, final, shown, origin, depth)
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                _move_new(current, final)
                self.bytes_left -= size
                self.entries_left -= 1
                self.attachments.append(
                    EdxmlAttachment(
                        name=meta.name,
                        content_type=meta.content_type,
                        path=final,
                        size=size,
                        sha256=sha256,
                        content_id=meta.content_id,
                        description=meta.description,
                        origin=origin[:-1],
                    )
                )
        except OSError as exc:
            self.schema(
                shown,
                f"Không ghi được tệp đính kèm '{shown}': {exc.strerror or exc}",
                f"Cannot write the attachment '{shown}': {exc.strerror or exc}",
            )
        finally:
            current.unlink(missing_ok=True)

    def _nested_edxml(self, current: Path, final: Path, shown: str, origin: tuple[str, ...], depth: int) -> None:
        if depth >= MAX_NESTING:
            self.schema(
                shown,
                f"Gói tin edXML '{shown}' lồng sâu hơn {MAX_NESTING} cấp; không đọc tiếp",
                f"The edXML packet '{shown}' is nested more than {MAX_NESTING} levels deep; not followed",
            )
            return
        before = len(self.findings)
        header = self.read_message(current, final, shown, origin, depth + 1)
        if header is not None:
            self.nested_headers.append(header)
        if any(f.is_error for f in self.findings[before:]):
            self._discard(final)

    def _unzip(self, current: Path, final: Path, shown: str, origin: tuple[str, ...], depth: int) -> None:
        """Unpack an attachment ZIP into `final/` with the staging checks; a refusal removes it all."""
        staged, findings = _stage_zip_members(current, final, shown, self._zip_limits())
        if findings:
            self.findings.extend(findings)
            self._discard(final)
            return
        for rel, info in sorted(staged.items()):
            member = final / rel
            meta = _Meta(name=rel, content_type=_guess_type(rel))
            member_shown = f"{shown}!{rel}"
            if rel.casefold().endswith(".edxml"):
                temp = self._temp_file()
                _move_new(member, temp)
                self._settle(temp, member, meta, info.size, info.sha256, member_shown, (*origin, rel), depth)
                continue
            self.bytes_left -= info.size
            self.entries_left -= 1
            self.attachments.append(
                EdxmlAttachment(
                    name=rel,
                    content_type=meta.content_type,
                    path=member,
                    size=info.size,
                    sha256=info.sha256,
                    origin=origin,
                )
            )

    # -- helpers -----------------------------------------------------------------------------

    def _safe_name(self, raw: str, shown: str) -> str | None:
        try:
            name = safe_relative_path(raw)
        except UnsafePathError as exc:
            self.add(
                "pkg.archive.unsafe_path",
                shown,
                f"Tên tệp đính kèm {quote(raw)} của '{shown}' không an toàn: {exc.reason_vi}; không giải nén",
                f"The attachment name {quote(raw)} of '{shown}' is unsafe: {exc.reason_en}; not extracted",
                "AttachmentName",
            )
            return None
        if any(len(part.encode("utf-8")) > _MAX_NAME_BYTES for part in name.split("/")):
            self.add(
                "pkg.archive.unsafe_path",
                shown,
                f"Tên tệp đính kèm {quote(raw)} của '{shown}' dài quá {_MAX_NAME_BYTES} byte",
                f"The attachment name {quote(raw)} of '{shown}' is longer than {_MAX_NAME_BYTES} bytes",
                "AttachmentName",
            )
            return None
        return name

    def _temp_file(self) -> Path:
        self.temp_dir.mkdir(exist_ok=True)
        self._temp_count += 1
        return self.temp_dir / f"{self._temp_count:06d}"

    def _zip_limits(self) -> PackageLimits:
        return self.limits.model_copy(
            update={"max_total_bytes": max(self.bytes_left, 1), "max_entries": max(self.entries_left, 1)}
        )

    def _discard(self, final: Path) -> None:
        """Forget every attachment written under `final` and remove the folder."""
        gone = [a for a in self.attachments if final in a.path.parents]
        for attachment in gone:
            self.bytes_left += attachment.size
            self.entries_left += 1
        self.attachments = [a for a in self.attachments if a not in gone]
        shutil.rmtree(final, ignore_errors=True)

    def _too_large(self, shown: str) -> None:
        self.add(
            "pkg.archive.too_large",
            shown,
            f"Tệp đính kèm '{shown}' làm tổng dung lượng giải mã vượt giới hạn {self.limits.max_total_bytes} byte",
            f"The attachment '{shown}' takes the decoded size beyond the limit of {self.limits.max_total_bytes} bytes",
        )

    def _too_many(self, shown: str) -> None:
        self.add(
            "pkg.archive.too_large",
            shown,
            f"Gói tin edXML có hơn {self.limits.max_entries} tệp đính kèm; '{shown}' không được giải nén",
            f"The edXML packet has more than {self.limits.max_entries} attachments; '{shown}' was not extracted",
        )


@dataclass(frozen=True)
class _Meta:
    name: str
    content_type: str
    content_id: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class _Member:
    size: int
    sha256: str


def _stage_zip_members(
    source: Path, final: Path, shown: str, limits: PackageLimits
) -> tuple[dict[str, _Member], list[Finding]]:
    """Copy the members of the ZIP `source` to `final/<member>` with the checks of `staging`."""
    staged = stage_zip(source, final.parent, limits, wrap_in=final.name, label=shown)
    if not staged.files and not any(f.is_error for f in staged.findings):
        return {}, [_zip_refusal(shown, "không chứa tệp nào", "contains no file")]
    prefix = f"{final.name}/"
    relocated = [
        replace(
            f,
            path=f.path if f.path == shown else f"{shown}!{f.path.removeprefix(prefix)}",
            object=ObjectKind.FILE,
        )
        for f in staged.findings
    ]
    members = {rel: _Member(size=s.size, sha256=s.sha256) for rel, s in staged.files.items()}
    return members, relocated


def _zip_refusal(shown: str, vi: str, en: str) -> Finding:
    return finding(
        "pkg.archive.unreadable",
        path=shown,
        message_vi=f"Tệp đính kèm '{shown}' khai báo là ZIP nhưng {vi}",
        message_en=f"The attachment '{shown}' is declared a ZIP but {en}",
        obj=ObjectKind.FILE,
    )


def _is_attachment_zip(path: Path, meta: _Meta) -> bool:
    """A ZIP the sender's software wrapped around the file(s): declared so, PK magic, not an office file."""
    declared = meta.content_type.casefold() in _ZIP_TYPES or meta.name.casefold().endswith(".zip")
    with path.open("rb") as handle:
        magic = handle.read(4)
    if not declared or magic not in _ZIP_MAGIC:
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return True  # staging reports it
    return not names & _OFFICE_MARKERS


_UNDECLARED_PREFIX = re.compile(r"Namespace prefix (\S+) (?:for \S+ )?on \S+ is not defined")


def _undeclared_prefix_hint(message: str) -> tuple[str, str]:
    """A plain explanation for libxml2's "Namespace prefix P on E is not defined" (decision 0015)."""
    match = _UNDECLARED_PREFIX.search(message)
    if match is None:
        return "", ""
    prefix = match.group(1)
    return (
        f" — tiền tố không gian tên '{prefix}:' được dùng mà không khai báo (xmlns:{prefix}); "
        "phần mềm gửi phải khai báo mọi tiền tố, kho không tự đoán",
        f" — the namespace prefix '{prefix}:' is used without a declaration (xmlns:{prefix}); "
        "the sending software must declare every prefix, the archive does not guess",
    )


def _guess_type(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def _move_new(source: Path, target: Path) -> None:
    """Move `source` to `target`, which must not exist yet (both sit in the reader's own folder)."""
    if target.exists() or target.is_symlink():
        raise FileExistsError(17, "File exists", str(target))
    source.rename(target)


def _encoded_text(element: etree._Element) -> list[str] | None:
    """The pieces of `ContentTransferEncoded`'s text (comments skipped), or None when empty."""
    encoded = element.find(_q("ContentTransferEncoded"))
    if encoded is None:
        return None
    pieces = [encoded.text or ""] + [child.tail or "" for child in encoded]
    if any(isinstance(child.tag, str) for child in encoded) or all(p.isspace() or not p for p in pieces):
        return None
    return pieces


def _chunks(pieces: list[str]) -> Iterator[str]:
    for piece in pieces:
        for start in range(0, len(piece), _CHUNK):
            yield piece[start : start + _CHUNK]


def _decode_base64(pieces: list[str], target: Path, budget: int) -> tuple[int, str]:
    """Decode base64 text chunk by chunk into the new file `target`; return its size and SHA-256."""
    digest = hashlib.sha256()
    size = 0
    carry = ""
    padded = False
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    with os.fdopen(os.open(target, flags, 0o600), "wb") as out:
        for chunk in _chunks(pieces):
            text = carry + chunk.translate(_BASE64_WHITESPACE)
            cut = len(text) - len(text) % 4
            carry = text[cut:]
            if not cut:
                continue
            if padded:
                raise _Base64Error("dữ liệu sau dấu '=' / data after the '=' padding")
            try:
                data = binascii.a2b_base64(text[:cut], strict_mode=True)
            except (binascii.Error, ValueError) as exc:
                raise _Base64Error(str(exc)) from exc
            padded = text[cut - 1] == "="
            size += len(data)
            if size > budget:
                raise _BudgetError
            digest.update(data)
            out.write(data)
    if carry:
        raise _Base64Error("độ dài không chia hết cho 4 / length not a multiple of 4")
    return size, digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Header mapping


def _q(path: str) -> str:
    return "/".join(f"{{{EDXML_NS}}}{part}" for part in path.split("/"))


def _text(element: etree._Element | None, path: str) -> str | None:
    """The NFC, stripped text of the first element at `path` below `element`; empty is None."""
    if element is None:
        return None
    found = element.find(_q(path))
    if found is None:
        return None
    value = "".join(t for t in found.itertext() if isinstance(t, str)).strip()
    return nfc(value) if value else None


def _texts(element: etree._Element | None, path: str) -> tuple[str, ...]:
    if element is None:
        return ()
    values = ("".join(t for t in e.itertext() if isinstance(t, str)).strip() for e in element.iterfind(_q(path)))
    return tuple(nfc(v) for v in values if v)


def _organ(element: etree._Element | None) -> EdxmlOrgan:
    return EdxmlOrgan(
        organ_id=_text(element, "OrganId"),
        organ_name=_text(element, "OrganName"),
        organization_in_charge=_text(element, "OrganizationInCharge"),
        organ_add=_text(element, "OrganAdd"),
        email=_text(element, "Email"),
        telephone=_text(element, "Telephone"),
        fax=_text(element, "Fax"),
        website=_text(element, "Website"),
    )


def _map_header(message: etree._Element) -> EdxmlHeader:
    """`MessageHeader` and its siblings mapped onto `EdxmlHeader`."""
    header = message.getparent()
    traces = header.find(_q("TraceHeaderList")) if header is not None else None
    business = traces.find(_q("Bussiness")) if traces is not None else None
    signature = header.find("{*}Signature") if header is not None else None
    other = message.find(_q("OtherInfo"))
    return EdxmlHeader(
        kind="status" if message.find(_q("StatusCode")) is not None else "document",
        sender=_organ(message.find(_q("From"))),
        recipients=tuple(_organ(e) for e in message.iterfind(_q("To"))),
        document_id=_text(message, "DocumentId"),
        code_number=_text(message, "Code/CodeNumber"),
        code_notation=_text(message, "Code/CodeNotation"),
        promulgation_place=_text(message, "PromulgationInfo/Place"),
        promulgation_date=_text(message, "PromulgationInfo/PromulgationDate"),
        type_code=_text(message, "DocumentType/Type"),
        type_detail=_text(message, "DocumentType/TypeDetail"),
        type_name=_text(message, "DocumentType/TypeName"),
        subject=_text(message, "Subject"),
        content=_text(message, "Content"),
        signer_competence=_text(message, "SignerInfo/Competence"),
        signer_position=_text(message, "SignerInfo/Position"),
        signer_full_name=_text(message, "SignerInfo/FullName"),
        due_date=_text(message, "DueDate"),
        steering_type=_text(message, "SteeringType"),
        priority=_text(other, "Priority"),
        sphere_of_promulgation=_text(other, "SphereOfPromulgation"),
        promulgation_amount=_text(other, "PromulgationAmount"),
        page_amount=_text(other, "PageAmount"),
        appendixes=_texts(other, "Appendixes/Appendix"),
        to_places=_texts(message, "ToPlaces/Place"),
        response_for=tuple(
            EdxmlResponseFor(
                organ_id=_text(e, "OrganId"),
                code=_text(e, "Code"),
                promulgation_date=_text(e, "PromulgationDate"),
                document_id=_text(e, "DocumentId"),
            )
            for e in message.iterfind(_q("ResponseFor"))
            if any(_text(e, tag) for tag in ("OrganId", "Code", "PromulgationDate", "DocumentId"))
        ),
        traces=tuple(
            EdxmlTrace(organ_id=_text(e, "OrganId"), timestamp=_text(e, "Timestamp"))
            for e in (traces.iterfind(_q("TraceHeader")) if traces is not None else ())
        ),
        business=None
        if business is None
        else EdxmlBusiness(
            document_id=_text(business, "DocumentId"),
            doc_type=_text(business, "BussinessDocType"),
            reason=_text(business, "BussinessDocReason"),
            paper=_text(business, "Paper"),
            replaced_document_ids=_texts(business, "ReplacementInfoList/ReplacementInfo/DocumentId"),
        ),
        status_code=_text(message, "StatusCode"),
        status_description=_text(message, "Description"),
        status_timestamp=_text(message, "Timestamp"),
        signed=signature is not None,
        signer_certificate_subject=_signature_subject(signature),
    )


def _signature_subject(signature: etree._Element | None) -> str | None:
    if signature is None:
        return None
    found = signature.find("{*}KeyInfo/{*}X509Data/{*}X509SubjectName")
    if found is None or not (found.text or "").strip():
        return None
    return nfc((found.text or "").strip())


# --------------------------------------------------------------------------------------------
# Cross-check comparisons: True same, False different, None cannot tell (left to other rules)


def _value(values: Mapping[str, str], tag: str) -> str | None:
    for key in (tag, tag[0].lower() + tag[1:]):
        value = values.get(key)
        if value is not None and value.strip():
            return value.strip()
    return None


def _same_text(left: str, right: str) -> bool | None:
    """NFC, either tone placement, whitespace collapsed, case-insensitive."""
    return fold(left) == fold(right)


def _code_key(text: str) -> str:
    return "".join(unicodedata.normalize("NFC", text).translate(_DASHES).split()).casefold()


def _same_code(left: str, right: str) -> bool | None:
    """Notations compare without whitespace, case or dash variants: `QĐ - BNV` = `qđ-bnv`."""
    return _code_key(left) == _code_key(right)


def _same_number_notation(left: str, right: str) -> bool | None:
    """`7816/VPCP-TTĐT` = `07816/vpcp-ttđt`: the number as an integer, the notation as a code."""
    a_number, _, a_notation = left.partition("/")
    b_number, _, b_notation = right.partition("/")
    return bool(_same_number(a_number, b_number)) and bool(_same_code(a_notation, b_notation))


def _same_number(left: str, right: str) -> bool | None:
    """Numbers compare as integers (`05` = `5`), anything else as a notation."""
    a, b = left.strip(), right.strip()
    if a.isascii() and a.isdigit() and b.isascii() and b.isdigit():
        return int(a) == int(b)
    return _same_code(a, b)


def _any_date(text: str) -> date | None:
    return parse_vn_date(text.strip()) or parse_edxml_date(text)


def _same_date(left: str, right: str) -> bool | None:
    """Dates compare as days whatever the format (`16/01/2019` = `2019/01/16`); unparsable: None."""
    a, b = _any_date(left), _any_date(right)
    if a is None or b is None:
        return None
    return a == b
