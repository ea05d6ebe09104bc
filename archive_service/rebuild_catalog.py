"""Rebuild the catalog from the AIPs in storage alone (`archive rebuild-catalog`).

Every AIP sealed since the transfer record was added carries what its catalog rows hold
(docs/decisions/0013-rebuild-catalog.md): the sender's package bit for bit (re-read with the same
reader as intake), the archive's rep1 METS (MIME types), PREMIS (formats, copies, every event)
and `metadata/preservation/transfer.json` (the transfer's facts and its signed receipt). The
rebuild lists the objects of every copy, reads each AIP object from the first copy whose bytes
match the SHA-256 its METS declares (so a corrupted primary object is read from the replica),
re-creates the pipeline's outputs and writes them through the catalog step's own
`record_accepted`, AIP by AIP in sealing order, so versions, REPLACEMENT and SUPPLEMENT come out
as intake made them. It all happens in one transaction; then the search index is rebuilt.

Not rebuilt, on purpose: transfers that were refused, tested or failed (they have no AIP), the
pipeline's step state, the audit log (its signed checkpoints stay in storage; restore it from
the XML metadata backup), users, grants and API keys (not archival data), and events recorded
after intake (audits, repairs), which are in the audit log and the audit reports.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service import audit_log
from archive_service.catalog.models import Document, Dossier, Event, Fonds, StoredFile, StoredObject, Transfer
from archive_service.errors import ArchiveError, BackendUnavailableError, ConflictError
from archive_service.indexing import rebuild_index
from archive_service.packages.aip import ARCHIVE_AGENT, PREMIS_NS, TRANSFER_RECORD
from archive_service.packages.mets import METS_NS, XLINK_NS, FileRef, parse_mets
from archive_service.packages.safe_xml import MalformedXmlError, UnsafeXmlError, parse_xml_file
from archive_service.packages.sip import read_sip
from archive_service.packages.staging import StagedFile, StagedPackage
from archive_service.pipeline.accession import COPIES, RECORD_FORMAT
from archive_service.pipeline.context import StepContext, new_event
from archive_service.pipeline.models import (
    AipObjectModel,
    BuildAipOutput,
    CopyModel,
    EventRecord,
    FormatModel,
    IdentifyOutput,
    PreserveOutput,
    StoreOutput,
    ValidateOutput,
)
from archive_service.pipeline.steps.build_aip import staged_path_of
from archive_service.pipeline.steps.catalog import record_accepted
from archive_service.pipeline.steps.unpack import package_digest
from archive_service.pipeline.steps.validate import item_model
from archive_service.preservation.verify_pdfa import PdfTextError, extract_text
from archive_service.replicas import ReplicatedStore
from archive_service.states import TransferStatus
from archive_service.wiring import Services
from storage.errors import IntegrityMismatch, StorageUnavailable
from storage.protocol import ObjectInfo

ARCHIVAL_TABLES = (Fonds, Dossier, Document, StoredFile, Event, Transfer, StoredObject)
_M = f"{{{METS_NS}}}"
_P = f"{{{PREMIS_NS}}}"
_HREF = f"{{{XLINK_NS}}}href"
REP1_METS = "representations/rep1/METS.xml"


class UnreadableAipError(Exception):
    """This AIP cannot be rebuilt; the rebuild reports it and goes on with the others."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi = vi
        self.en = en


@dataclass
class RebuildReport:
    """What the rebuild found and did: AIPs restored, skipped (and why), objects read from a replica."""

    restored: list[str] = field(default_factory=list)
    already_held: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    from_replica: list[dict[str, str]] = field(default_factory=list)
    unlisted: list[dict[str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    indexed: int = 0

    @property
    def clean(self) -> bool:
        return not self.skipped and not self.unlisted

    def skip(self, aip_id: str, error: UnreadableAipError) -> None:
        self.skipped.append({"aip_id": aip_id, "reason_vi": error.vi, "reason_en": error.en})

    def to_dict(self) -> dict[str, Any]:
        return {
            "restored": self.restored,
            "already_held": self.already_held,
            "skipped": self.skipped,
            "from_replica": self.from_replica,
            "unlisted": self.unlisted,
            "counts": self.counts,
            "indexed": self.indexed,
        }


@dataclass
class _Sealed:
    """An AIP's root METS and transfer record, read first to order the AIPs by sealing time."""

    aip_id: str
    sealed_at: datetime
    record: dict[str, Any]
    declared: dict[str, str]


def rebuild_catalog(services: Services, actor: str, *, add_missing: bool = False) -> RebuildReport:
    """Recreate the catalog from storage; refuse a catalog that holds records unless `add_missing`
    (then only AIPs whose transfer the catalog lacks are added)."""
    report = RebuildReport()
    with services.sessions() as session:
        if not add_missing:
            _ensure_empty(session)
        held_transfers = set(session.scalars(select(Transfer.id)))
    services.settings.work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rebuild-", dir=services.settings.work_root) as temp:
        reader = _AipReader(services, Path(temp), report)
        sealed: list[_Sealed] = []
        for aip_id, objects in sorted(_listing(services.store, report, reader.listed).items()):
            try:
                sealed.append(reader.seal_of(aip_id, objects))
            except UnreadableAipError as exc:
                report.skip(aip_id, exc)
        sealed.sort(key=lambda s: (s.sealed_at, s.aip_id))
        with services.sessions() as session, session.begin():
            for item in sealed:
                if item.record["transfer"]["id"] in held_transfers:
                    report.already_held.append(item.aip_id)
                    continue
                try:
                    ctx = reader.context(item)
                except UnreadableAipError as exc:
                    report.skip(item.aip_id, exc)
                    continue
                _restore(session, ctx, item)
                report.restored.append(item.aip_id)
            session.flush()
            report.counts = {t.__tablename__: session.scalar(select(func.count()).select_from(t)) or 0
                             for t in ARCHIVAL_TABLES}
            audit_log.append(
                session,
                actor,
                audit_log.AuditAction.REBUILD_CATALOG,
                "",
                {"restored": len(report.restored), "skipped": len(report.skipped), **report.counts},
            )
    report.indexed = rebuild_index(services)
    return report


def _ensure_empty(session: Session) -> None:
    for table in ARCHIVAL_TABLES:
        if session.scalar(select(func.count()).select_from(table)):
            raise ConflictError(
                f"Danh mục đã có hồ sơ (bảng {table.__tablename__}); chỉ dựng lại vào danh mục trống, "
                "hoặc dùng --add-missing để chỉ thêm các AIP danh mục còn thiếu",
                f"The catalog already holds records (table {table.__tablename__}); rebuild only into an empty "
                "catalog, or use --add-missing to add only the AIPs the catalog lacks",
            )


def _listing(
    store: ReplicatedStore, report: RebuildReport, listed: dict[str, dict[str, set[str]]]
) -> dict[str, dict[str, ObjectInfo]]:
    """Every AIP object of every copy by AIP id and path (the primary's description wins);
    `listed` gets, per copy, the paths each AIP has there."""
    found: dict[str, dict[str, ObjectInfo]] = defaultdict(dict)
    for copy in store.copies:
        listed[copy.name] = defaultdict(set)
    for copy in reversed(store.copies):
        per_aip = listed[copy.name]
        try:
            for info in copy.iterate("aip-"):
                aip_id, _, path = info.key.partition("/")
                if path:
                    found[aip_id][path] = info
                    per_aip[aip_id].add(path)
        except StorageUnavailable as exc:
            raise BackendUnavailableError(
                f"Kho lưu trữ đối tượng '{copy.name}' không truy cập được: {exc}",
                f"The object store '{copy.name}' is unavailable: {exc}",
            ) from exc
        except IntegrityMismatch as exc:  # the rest of this copy's listing is lost; the other copies list it
            report.unlisted.append({"copy": copy.name, "problem": str(exc)})
    return dict(found)


class _AipReader:
    """Reads one AIP's objects into a temporary folder, each verified, from the first good copy."""

    def __init__(self, services: Services, temp: Path, report: RebuildReport) -> None:
        self.services = services
        self.temp = temp
        self.report = report
        self.max_xml = services.settings.limits.max_xml_bytes
        self.objects: dict[str, dict[str, ObjectInfo]] = {}
        self.listed: dict[str, dict[str, set[str]]] = {}

    def seal_of(self, aip_id: str, objects: dict[str, ObjectInfo]) -> _Sealed:
        self.objects[aip_id] = objects
        if "METS.xml" not in objects:
            raise UnreadableAipError("AIP không có METS gốc", "the AIP has no root METS")
        root = self._xml(aip_id, "METS.xml", objects["METS.xml"].sha256)
        declared = _declared(root, "")
        if TRANSFER_RECORD not in declared:
            raise UnreadableAipError(
                "AIP không có hồ sơ giao nộp (metadata/preservation/transfer.json): AIP được lập trước khi có "
                "tệp này, danh mục không dựng lại được từ nó",
                "the AIP has no transfer record (metadata/preservation/transfer.json): it was sealed before "
                "the archive wrote one, so the catalog cannot be rebuilt from it",
            )
        record, sealed_at = _transfer_record(self._fetch(aip_id, TRANSFER_RECORD, declared[TRANSFER_RECORD]))
        return _Sealed(aip_id, sealed_at, record, declared)

    def context(self, sealed: _Sealed) -> StepContext:
        """Every object read and verified, then the pipeline outputs the catalog step records."""
        aip_id, record = sealed.aip_id, sealed.record
        declared = dict(sealed.declared)
        for mets_path in [p for p in declared if p.endswith("/METS.xml") and p.startswith("representations/")]:
            base = mets_path.removesuffix("METS.xml")
            declared.update(_declared(self._xml(aip_id, mets_path, declared[mets_path]), base))
        objects = self.objects[aip_id]
        fetched: dict[str, tuple[Path, str, int]] = {}
        for path in sorted(set(objects) | set(declared)):
            sha256 = declared.get(path) or objects[path].sha256
            target = self._fetch(aip_id, path, sha256)
            fetched[path] = (target, sha256, target.stat().st_size)
        transfer = record["transfer"]
        staged = self._sender_package(aip_id, transfer["package_id"], fetched)
        if package_digest(staged) != transfer["package_digest"]:
            raise UnreadableAipError(
                "Các tệp của bên gửi trong AIP không khớp mã băm gói đã ghi",
                "the sender's files in the AIP do not match the recorded package digest",
            )
        validated = self._validated(staged, record)
        premis = self._xml(aip_id, "metadata/preservation/PREMIS.xml", declared["metadata/preservation/PREMIS.xml"])
        rep1 = parse_mets(self._xml(aip_id, REP1_METS, declared[REP1_METS]))
        mimetypes = {f"representations/rep1/{f.href}": f.mimetype or "" for f in rep1.files.values()}
        formats, copies = _formats_and_copies(premis, mimetypes, fetched)
        built = BuildAipOutput(
            aip_id=aip_id,
            objects=tuple(AipObjectModel(aip_path=p, source="", sha256=s, size=n) for p, (_, s, n) in fetched.items()),
            events=tuple(_events(premis)),
            receipt=record["receipt"],
            sealed_at=sealed.sealed_at,
        )
        shutil.rmtree(self.temp / aip_id, ignore_errors=True)
        return StepContext(
            transfer_id=transfer["id"],
            source=Path(transfer["source_path"] or "."),
            work_dir=self.temp / aip_id,
            services=self.services,
            submitter=transfer["submitter"],
            submitter_org=transfer["submitter_org"],
            profile=transfer["requested_profile"] or None,
            received_at=datetime.fromisoformat(transfer["received_at"]),
            outputs={
                ValidateOutput: validated,
                IdentifyOutput: IdentifyOutput(formats=formats, events=()),
                PreserveOutput: PreserveOutput(copies=tuple(copies), findings=(), events=()),
                BuildAipOutput: built,
                StoreOutput: StoreOutput(keys=(), events=(self._read_back_event(aip_id, len(fetched)),)),
            },
        )

    def _read_back_event(self, aip_id: str, count: int) -> EventRecord:
        """The rebuild's own event in place of intake's storage event, which no AIP can hold."""
        held = ", ".join(f"{name} {len(paths.get(aip_id, ()))}" for name, paths in self.listed.items())
        return new_event(
            "fixity check",
            f"Dựng lại danh mục từ kho: {count} đối tượng của {aip_id} được đọc lại và khớp SHA-256; số đối "
            f"tượng mỗi bản: {held} / catalog rebuilt from storage: {count} objects of {aip_id} read back with "
            f"matching SHA-256; objects listed per copy: {held}",
            ARCHIVE_AGENT,
        )

    def _sender_package(
        self, aip_id: str, package_id: str, fetched: dict[str, tuple[Path, str, int]]
    ) -> StagedPackage:
        """The sender's package laid out again as it was received (hard links, no copies)."""
        root = self.temp / aip_id / "sip" / package_id
        files: dict[str, StagedFile] = {}
        for path, (source, sha256, size) in fetched.items():
            staged = staged_path_of(path)
            if staged is None:
                continue
            target = root / staged
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(source, target)
            files[staged] = StagedFile(staged, size, sha256)
        return StagedPackage(package_id=package_id, root=root, files=files)

    def _validated(self, staged: StagedPackage, record: dict[str, Any]) -> ValidateOutput:
        """The sender's package re-read with intake's own reader (same values, items, files)."""
        transfer, aip, receipt = record["transfer"], record["aip"], record["receipt"]
        reading = read_sip(staged, max_xml_bytes=self.max_xml, profile_id=transfer["requested_profile"] or None)
        package = reading.package
        if package is None:
            reasons = "; ".join(f"{f.rule}: {f.message_en}" for f in reading.findings[:3])
            raise UnreadableAipError(
                f"Gói của bên gửi trong AIP không đọc được: {reasons}",
                f"the sender's package in the AIP cannot be read: {reasons}",
            )
        return ValidateOutput(
            profile=package.profile.id,
            record_status=package.record_status,
            creator_name=package.creator_name,
            creator_org=package.creator_org,
            dossier_values=dict(package.dossier_values.values),
            items=tuple(item_model(item) for item in package.items),
            findings=tuple(receipt["findings"]),
            aip_version=int(aip["version"]),
            events=(),
        )

    def _fetch(self, aip_id: str, path: str, sha256: str) -> Path:
        target = self.temp / aip_id / "aip" / path
        if target.is_file():
            return target
        store = self.services.store
        try:
            copy = store.read_to(f"{aip_id}/{path}", sha256, target)
        except ArchiveError as exc:
            raise UnreadableAipError(
                f"Không bản nào của '{aip_id}/{path}' khớp SHA-256 {sha256}",
                f"no copy of '{aip_id}/{path}' matches SHA-256 {sha256}",
            ) from exc
        if copy != store.copies[0].name:
            self.report.from_replica.append({"key": f"{aip_id}/{path}", "copy": copy})
        return target

    def _xml(self, aip_id: str, path: str, sha256: str) -> etree._Element:
        try:
            return parse_xml_file(self._fetch(aip_id, path, sha256), self.max_xml)
        except (UnsafeXmlError, MalformedXmlError) as exc:
            raise UnreadableAipError(f"'{path}' không đọc được: {exc}", f"'{path}' is unreadable: {exc}") from exc


def _transfer_record(path: Path) -> tuple[dict[str, Any], datetime]:
    """The transfer record and its sealing time; UnreadableAipError if it is not one."""
    try:
        record = json.loads(path.read_bytes())
        sealed_at = datetime.fromisoformat(record["aip"]["sealed_at"])
    except (ValueError, KeyError, TypeError) as exc:
        raise UnreadableAipError(
            f"Hồ sơ giao nộp không đọc được: {exc}", f"the transfer record is unreadable: {exc}"
        ) from exc
    if record.get("format") != RECORD_FORMAT:
        raise UnreadableAipError(
            f"Hồ sơ giao nộp có định dạng lạ: {record.get('format')!r}",
            f"the transfer record has an unknown format: {record.get('format')!r}",
        )
    return record, sealed_at


def _declared(root: etree._Element, base: str) -> dict[str, str]:
    """Path (from the AIP root) → SHA-256 of every file and metadata file a METS references."""
    mets = parse_mets(root)
    refs: list[FileRef] = [*mets.dmd_refs.values(), *mets.files.values()]
    declared = {f"{base}{ref.href}": (ref.checksum or "").lower() for ref in refs}
    for ref in root.iterfind(f"{_M}amdSec//{_M}mdRef"):
        declared[f"{base}{ref.get(_HREF, '')}"] = ref.get("CHECKSUM", "").lower()
    return {path: sha for path, sha in declared.items() if sha}


def _text(node: etree._Element, path: str) -> str:
    found = node.find(path)
    return (found.text or "") if found is not None else ""


def _formats_and_copies(
    premis: etree._Element, mimetypes: dict[str, str], fetched: dict[str, tuple[Path, str, int]]
) -> tuple[dict[str, FormatModel], list[CopyModel]]:
    """The identified format of every original and the PDF/A copies, from the PREMIS objects."""
    formats: dict[str, FormatModel] = {}
    copies: list[CopyModel] = []
    for obj in premis.iterfind(f"{_P}object"):
        path = _text(obj, f"{_P}objectIdentifier/{_P}objectIdentifierValue")
        name = _text(obj, f"{_P}objectCharacteristics/{_P}format/{_P}formatDesignation/{_P}formatName")
        puid = _text(obj, f"{_P}objectCharacteristics/{_P}format/{_P}formatRegistry/{_P}formatRegistryKey")
        derived = _text(obj, f"{_P}relationship/{_P}relatedObjectIdentifier/{_P}relatedObjectIdentifierValue")
        if path.startswith(COPIES) and derived and path in fetched:
            source, sha256, size = fetched[path]
            try:
                text = extract_text(source)
            except PdfTextError as exc:
                raise UnreadableAipError(
                    f"Bản sao '{path}' không đọc được chữ: {exc}", f"the copy '{path}' has unreadable text: {exc}"
                ) from exc
            copies.append(
                CopyModel(
                    original_path=staged_path_of(derived) or derived,
                    copy_path=path.removeprefix(COPIES),
                    sha256=sha256,
                    size=size,
                    conformance=name,
                    puid=puid,
                    text=text,
                )
            )
        elif path in mimetypes:
            formats[path] = FormatModel(mimetype=mimetypes[path], format_name=name, puid=puid)
    return formats, copies


def _events(premis: etree._Element) -> list[EventRecord]:
    """The PREMIS events in the order they were recorded, as the catalog holds them."""
    events = []
    for node in premis.iterfind(f"{_P}event"):
        agents = [_text(a, f"{_P}linkingAgentIdentifierValue") for a in node.iterfind(f"{_P}linkingAgentIdentifier")]
        objects = [
            _text(o, f"{_P}linkingObjectIdentifierValue") for o in node.iterfind(f"{_P}linkingObjectIdentifier")
        ]
        events.append(
            EventRecord(
                event_id=_text(node, f"{_P}eventIdentifier/{_P}eventIdentifierValue"),
                event_type=_text(node, f"{_P}eventType"),
                at=datetime.fromisoformat(_text(node, f"{_P}eventDateTime")),
                detail=_text(node, f"{_P}eventDetailInformation/{_P}eventDetail"),
                outcome=_text(node, f"{_P}eventOutcomeInformation/{_P}eventOutcome"),
                agent=", ".join(agents),
                objects=tuple(staged_path_of(o) or o for o in objects),
            )
        )
    return events


def _restore(session: Session, ctx: StepContext, sealed: _Sealed) -> None:
    """The transfer row as it was received, then the catalog step's own writes."""
    transfer = sealed.record["transfer"]
    session.add(
        Transfer(
            id=transfer["id"],
            package_id=transfer["package_id"],
            package_digest=transfer["package_digest"],
            idempotency_key=transfer["idempotency_key"],
            submitter=transfer["submitter"],
            submitter_org=transfer["submitter_org"],
            profile=transfer["requested_profile"],
            status=TransferStatus.PROCESSING,
            source_path=transfer["source_path"],
            received_at=ctx.received_at,
        )
    )
    session.flush()
    record_accepted(session, ctx, sealed.sealed_at)
