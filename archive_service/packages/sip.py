"""Checking a staged E-ARK CSIP SIP against every `pkg.*` rule and reading its dossier.

Input is a `StagedPackage` (files already copied, hashed and size-counted); output is the
package model the pipeline works on plus every finding, all at once. Checksums are compared
with the hashes computed while staging, so no file is read twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lxml import etree

from archive_service.packages.mets import FileRef, Mets, parse_mets
from archive_service.packages.safe_paths import UnsafePathError, join_relative
from archive_service.packages.safe_xml import MalformedXmlError, UnsafeXmlError, parse_xml_file
from archive_service.packages.staging import StagedFile, StagedPackage
from ingest_rules.catalogue import finding
from ingest_rules.field_rules import RecordValues, record_values
from ingest_rules.findings import Finding, ObjectKind
from ingest_rules.metadata_rules import parse_org_identifier
from ingest_rules.profile import Profile, load_profile, profile_for_root
from ingest_rules.xml_schemas import schema_errors

ROOT_METS = "METS.xml"
DOSSIER_EAD = "metadata/descriptive/EAD.xml"
REP = "representations/rep1"
REP_METS = f"{REP}/METS.xml"
REP_DATA = f"{REP}/data/"
REP_DESCRIPTIVE = f"{REP}/metadata/descriptive/"
_ITEM_PREFIXES = {"EAD_doc_": ObjectKind.DOCUMENT, "EAD_pic_": ObjectKind.PHOTO, "EAD_media_": ObjectKind.MEDIA}


@dataclass(frozen=True)
class PackageFile:
    """A record file of a document, as listed in the representation METS and as received."""

    path: str
    file_id: str
    sha256: str
    size: int
    mimetype: str | None
    extracted_from: str | None = None
    """For an attachment of an edXML file (`packages.edxml_documents`): that file's path."""


@dataclass(frozen=True)
class ItemEntry:
    """A document (or photo, or audio/video record) with its metadata and its files."""

    kind: ObjectKind
    metadata_path: str
    values: RecordValues
    files: tuple[PackageFile, ...]


@dataclass
class SipPackage:
    """What the pipeline needs of an accepted-for-checking package."""

    package_id: str
    root: Path
    profile: Profile
    record_status: str
    creator_name: str
    creator_org: str
    dossier_values: RecordValues
    items: list[ItemEntry]
    files: dict[str, StagedFile]


@dataclass
class SipReading:
    package: SipPackage | None
    findings: list[Finding] = field(default_factory=list)


def read_sip(
    staged: StagedPackage,
    *,
    max_xml_bytes: int,
    profile_id: str | None = None,
    submitter_org: str | None = None,
) -> SipReading:
    """Check the package structure, METS files and metadata; return the model and every finding."""
    reader = _SipReader(staged, max_xml_bytes)
    return reader.read(profile_id, submitter_org)


class _SipReader:
    def __init__(self, staged: StagedPackage, max_xml_bytes: int) -> None:
        self.staged = staged
        self.max_xml_bytes = max_xml_bytes
        self.findings: list[Finding] = []
        self.referenced: set[str] = set()

    def read(self, profile_id: str | None, submitter_org: str | None) -> SipReading:
        self._check_layout()
        root_mets = self._load_mets(ROOT_METS)
        rep_mets = self._load_mets(REP_METS)
        if root_mets is not None:
            self._check_root_header(root_mets, submitter_org)
            self._check_refs(root_mets, base="")
            self._check_root_structmap(root_mets)
        if rep_mets is not None:
            self._check_refs(rep_mets, base=REP)
        self._check_unreferenced(root_mets is not None, rep_mets is not None)
        profile, dossier_values = self._read_dossier(profile_id)
        items = self._read_items(rep_mets) if rep_mets is not None else []
        if root_mets is None or rep_mets is None or profile is None or dossier_values is None:
            return SipReading(None, self.findings)
        creator = root_mets.creator()
        package = SipPackage(
            package_id=self.staged.package_id,
            root=self.staged.root,
            profile=profile,
            record_status=root_mets.record_status or "NEW",
            creator_name=creator.name if creator else "",
            creator_org=creator.note if creator else "",
            dossier_values=dossier_values,
            items=items,
            files=self.staged.files,
        )
        return SipReading(package, self.findings)

    # -- layout -------------------------------------------------------------------------

    def _add(self, rule_id: str, path: str, vi: str, en: str, field_name: str | None = None) -> None:
        self.findings.append(finding(rule_id, path=path, message_vi=vi, message_en=en, field=field_name))

    def _check_layout(self) -> None:
        files = self.staged.files
        for required in (ROOT_METS, DOSSIER_EAD, REP_METS):
            if required not in files:
                self._add(
                    "pkg.layout.missing",
                    required,
                    f"Thiếu tệp bắt buộc '{required}'",
                    f"The required file '{required}' is missing",
                )
        if not any(p.startswith(REP_DATA) for p in files):
            self._add(
                "pkg.layout.missing",
                REP_DATA,
                f"Thư mục '{REP_DATA}' không có tệp tài liệu nào",
                f"The folder '{REP_DATA}' holds no record file",
            )
        if not any(_item_kind(p) is ObjectKind.DOCUMENT for p in files):
            self._add(
                "pkg.layout.missing",
                REP_DESCRIPTIVE,
                "Không có tệp đặc tả văn bản EAD_doc_*.xml nào",
                "There is no document metadata file EAD_doc_*.xml",
            )

    def _parse(self, path: str, malformed_rule: str) -> etree._Element | None:
        """Parse a package XML file safely; on refusal add the finding and return None."""
        try:
            return parse_xml_file(self.staged.root / path, self.max_xml_bytes)
        except UnsafeXmlError as exc:
            self._add("pkg.xml.unsafe", path, f"'{path}': {exc.reason_vi}", f"'{path}': {exc.reason_en}")
        except MalformedXmlError as exc:
            self._add(
                malformed_rule,
                path,
                f"'{path}' không đúng cú pháp XML: {exc}",
                f"'{path}' is not well-formed XML: {exc}",
            )
        return None

    # -- METS ---------------------------------------------------------------------------

    def _load_mets(self, path: str) -> Mets | None:
        if path not in self.staged.files:
            return None
        root = self._parse(path, malformed_rule="pkg.mets.schema")
        if root is None:
            return None
        errors = schema_errors("mets.xsd", root)
        if errors:
            detail = "; ".join(errors)
            self._add(
                "pkg.mets.schema",
                path,
                f"'{path}' không hợp lệ theo lược đồ METS: {detail}",
                f"'{path}' is not valid against the METS schema: {detail}",
            )
            return None
        return parse_mets(root)

    def _check_root_header(self, mets: Mets, submitter_org: str | None) -> None:
        package_id = self.staged.package_id
        if mets.objid != package_id:
            self._add(
                "pkg.mets.objid",
                ROOT_METS,
                f"OBJID '{mets.objid}' khác tên thư mục gốc '{package_id}'",
                f"OBJID '{mets.objid}' differs from the top-level folder name '{package_id}'",
                "OBJID",
            )
        creator = mets.creator()
        if creator is None or not creator.name or not creator.note:
            self._add(
                "pkg.mets.agent",
                ROOT_METS,
                "metsHdr thiếu agent ROLE=CREATOR TYPE=ORGANIZATION có tên và mã định danh (note)",
                "metsHdr lacks an agent ROLE=CREATOR TYPE=ORGANIZATION with a name and an identifier note",
                "agent",
            )
        elif parse_org_identifier(creator.note) is None:
            self._add(
                "pkg.mets.agent",
                ROOT_METS,
                f"Mã định danh cơ quan tạo lập '{creator.note}' sai định dạng (QCVN 102 hoặc QĐ 20/2020)",
                f"The creator identifier '{creator.note}' is malformed (QCVN 102 or Decision 20/2020 form)",
                "agent/note",
            )
        elif submitter_org is not None and creator.note != submitter_org:
            self._add(
                "pkg.mets.agent",
                ROOT_METS,
                f"Cơ quan tạo lập '{creator.note}' khác cơ quan gửi '{submitter_org}'",
                f"The creator '{creator.note}' differs from the submitter '{submitter_org}'",
                "agent/note",
            )

    def _check_refs(self, mets: Mets, base: str) -> None:
        mets_path = f"{base}/METS.xml" if base else ROOT_METS
        for ref in [*mets.dmd_refs.values(), *mets.files.values()]:
            self._check_ref(ref, base, mets_path)

    def _check_ref(self, ref: FileRef, base: str, mets_path: str) -> None:
        try:
            path = join_relative(base, ref.href)
        except UnsafePathError as exc:
            self._add(
                "pkg.archive.unsafe_path",
                mets_path,
                f"'{ref.href}' ({ref.id}): {exc.reason_vi}",
                f"'{ref.href}' ({ref.id}): {exc.reason_en}",
            )
            return
        self.referenced.add(path)
        staged = self.staged.files.get(path)
        if staged is None:
            self._add(
                "pkg.mets.missing_file",
                path,
                f"{mets_path} liệt kê '{path}' ({ref.id}) nhưng tệp không có trong gói",
                f"{mets_path} lists '{path}' ({ref.id}) but the file is not in the package",
            )
            return
        if (ref.checksum_type or "").upper() != "SHA-256" or not ref.checksum:
            self._add(
                "pkg.mets.checksum",
                path,
                f"'{path}' thiếu @CHECKSUM với @CHECKSUMTYPE=\"SHA-256\"",
                f"'{path}' lacks @CHECKSUM with @CHECKSUMTYPE=\"SHA-256\"",
                "CHECKSUM",
            )
        elif ref.checksum.strip().lower() != staged.sha256:
            self._add(
                "pkg.mets.checksum",
                path,
                f"SHA-256 của '{path}' là {staged.sha256}, METS ghi {ref.checksum}",
                f"SHA-256 of '{path}' is {staged.sha256}, the METS says {ref.checksum}",
                "CHECKSUM",
            )
        if ref.size is not None and ref.size.strip() != str(staged.size):
            self._add(
                "pkg.mets.size",
                path,
                f"Kích thước của '{path}' là {staged.size} byte, METS ghi {ref.size}",
                f"'{path}' is {staged.size} bytes, the METS says {ref.size}",
                "SIZE",
            )

    def _check_root_structmap(self, mets: Mets) -> None:
        hrefs = [h for div in mets.divs for h in div.mptr_hrefs]
        if REP_METS not in {_clean(h) for h in hrefs}:
            self._add(
                "pkg.mets.structmap",
                ROOT_METS,
                f"structMap của METS gốc không trỏ (mptr) tới '{REP_METS}'",
                f"The root METS structMap has no mptr to '{REP_METS}'",
            )
        if REP_METS in self.staged.files and REP_METS not in self.referenced:
            self._add(
                "pkg.mets.unreferenced_file",
                REP_METS,
                f"fileSec của METS gốc không liệt kê '{REP_METS}'",
                f"The root METS fileSec does not list '{REP_METS}'",
            )

    def _check_unreferenced(self, root_ok: bool, rep_ok: bool) -> None:
        for path in sorted(self.staged.files):
            in_root_scope = path.startswith("metadata/")
            in_rep_scope = path.startswith((REP_DATA, f"{REP}/metadata/"))
            unchecked = (in_root_scope and not root_ok) or (in_rep_scope and not rep_ok)
            if (in_root_scope or in_rep_scope) and not unchecked and path not in self.referenced:
                self._add(
                    "pkg.mets.unreferenced_file",
                    path,
                    f"Tệp '{path}' không được liệt kê trong METS",
                    f"The file '{path}' is not listed in the METS",
                )

    # -- metadata -----------------------------------------------------------------------

    def _read_record(self, path: str) -> tuple[str, RecordValues] | None:
        """The record's root element name and values, or None after a finding saying why not."""
        root = self._parse(path, malformed_rule="pkg.archive.unreadable")
        if root is None:
            return None
        return etree.QName(root).localname, record_values(root)

    def _read_dossier(self, profile_id: str | None) -> tuple[Profile | None, RecordValues | None]:
        if DOSSIER_EAD not in self.staged.files:
            return None, None
        record = self._read_record(DOSSIER_EAD)
        if record is None:
            return None, None
        root_tag, values = record
        detected = profile_for_root(root_tag)
        profile = load_profile(profile_id) if profile_id else detected
        if (
            profile is None
            or (detected is not None and detected.id != profile.id)
            or (detected is None and profile_id is not None)
        ):
            self._add(
                "pkg.profile.unknown",
                DOSSIER_EAD,
                f"Phần tử gốc <{root_tag}> không thuộc hồ sơ quy tắc được hỗ trợ"
                + (f" ({profile_id})" if profile_id else ""),
                f"The root element <{root_tag}> matches no supported profile"
                + (f" ({profile_id})" if profile_id else ""),
            )
            return None, None
        return profile, values

    def _read_items(self, mets: Mets) -> list[ItemEntry]:
        dmd_links = Counter(d for div in mets.divs for d in div.dmd_ids)
        file_links = Counter(f for div in mets.divs for f in div.file_ids)
        self._check_link_counts(mets, dmd_links, file_links)
        items = []
        for div in mets.divs:
            for dmd_id in div.dmd_ids:
                ref = mets.dmd_refs.get(dmd_id)
                path = _safe_join(REP, ref.href) if ref else None
                kind = _item_kind(path) if path else None
                if path is None or kind is None or path not in self.staged.files:
                    continue
                record = self._read_record(path)
                if record is not None:
                    items.append(ItemEntry(kind, path, record[1], tuple(self._div_files(mets, div.file_ids))))
        return items

    def _check_link_counts(self, mets: Mets, dmd_links: Counter[str], file_links: Counter[str]) -> None:
        if not mets.has_physical_structmap:
            self._add(
                "pkg.mets.structmap",
                REP_METS,
                'METS biểu diễn thiếu structMap TYPE="PHYSICAL"',
                'The representation METS has no structMap TYPE="PHYSICAL"',
            )
            return
        for dmd_id, ref in mets.dmd_refs.items():
            path = _safe_join(REP, ref.href)
            if path is not None and _item_kind(path) is not None and dmd_links[dmd_id] != 1:
                self._link_finding(path, dmd_id, dmd_links[dmd_id])
        for file_id, ref in mets.files.items():
            path = _safe_join(REP, ref.href)
            if path is not None and path.startswith(REP_DATA) and file_links[file_id] != 1:
                self._link_finding(path, file_id, file_links[file_id])
        known = set(mets.dmd_refs) | set(mets.files)
        for ident in sorted((set(dmd_links) | set(file_links)) - known):
            self._add(
                "pkg.mets.structmap",
                REP_METS,
                f"structMap tham chiếu ID '{ident}' không tồn tại",
                f"The structMap refers to an ID '{ident}' that does not exist",
            )

    def _link_finding(self, path: str, ident: str, count: int) -> None:
        self._add(
            "pkg.mets.structmap",
            path,
            f"'{path}' ({ident}) được liên kết {count} lần trong structMap, phải đúng 1 lần",
            f"'{path}' ({ident}) is linked {count} times in the structMap, it must be exactly once",
        )

    def _div_files(self, mets: Mets, file_ids: Iterable[str]) -> Iterable[PackageFile]:
        for file_id in file_ids:
            ref = mets.files.get(file_id)
            path = _safe_join(REP, ref.href) if ref else None
            staged = self.staged.files.get(path) if path else None
            if ref is not None and path is not None and staged is not None:
                yield PackageFile(path, file_id, staged.sha256, staged.size, ref.mimetype)


def _clean(href: str) -> str | None:
    return _safe_join("", href)


def _safe_join(base: str, href: str) -> str | None:
    try:
        return join_relative(base, href)
    except UnsafePathError:
        return None


def _item_kind(path: str) -> ObjectKind | None:
    if not path.startswith(REP_DESCRIPTIVE):
        return None
    name = PurePosixPath(path).name
    for prefix, kind in _ITEM_PREFIXES.items():
        if name.startswith(prefix) and name.endswith(".xml"):
            return kind
    return None
