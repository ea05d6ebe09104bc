"""A valid tt02-2019 dossier with three documents, built from dicts, and helpers to break it."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lxml import etree

from ingest_rules.field_rules import record_values
from ingest_rules.findings import Finding, ObjectKind, Severity
from ingest_rules.metadata_rules import MetadataContext, MetadataRecord, check_metadata
from ingest_rules.profile import Profile, load_profile
from tests.fixtures.sip_builder import default_dossier

DOSSIER_PATH = "metadata/descriptive/EAD.xml"
DESCRIPTIVE = "representations/rep1/metadata/descriptive"

BASE_DOSSIER: dict[str, str] = {**default_dossier(), "PageNumber": "12"}

_DOCUMENT_COMMON = {
    "FileCode": BASE_DOSSIER["FileCode"],
    "OrganName": "Bộ Nội vụ",
    "Language": "Tiếng Việt",
    "Mode": "Công khai",
    "Description": "",
    "InforSign": "",
    "Keyword": "",
    "Autograph": "",
    "Format": "",
}

BASE_DOCUMENTS: list[dict[str, str]] = [
    {
        **_DOCUMENT_COMMON,
        "DocCode": "000.00.00.G09.2019.0015",
        "DocOrdinal": "1",
        "TypeName": "Quyết định",
        "CodeNumber": "15",
        "CodeNotation": "QĐ-BNV",
        "IssuedDate": "05/03/2019",
        "Subject": "Về việc phê duyệt kế hoạch tuyển dụng công chức năm 2019",
        "PageAmount": "4",
        "ConfidenceLevel": "Gốc điện tử",
    },
    {
        **_DOCUMENT_COMMON,
        "DocCode": "000.00.00.G09.2019.0016",
        "DocOrdinal": "2",
        "TypeName": "Công văn",
        "CodeNumber": "05",
        "CodeNotation": "BNV-VP",
        "IssuedDate": "12/06/2019",
        "Subject": "Về việc thông báo kết quả thi tuyển",
        "PageAmount": "5",
        "ConfidenceLevel": "Số hóa",
    },
    {
        **_DOCUMENT_COMMON,
        "DocCode": "000.00.00.G09.2019.0017",
        "DocOrdinal": "3",
        "TypeName": "Báo cáo",
        "CodeNumber": "120",
        "CodeNotation": "BC-BNV",
        "IssuedDate": "20/12/2019",
        "Subject": "Báo cáo tổng kết công tác tuyển dụng năm 2019",
        "PageAmount": "3",
        "ConfidenceLevel": "Hỗn hợp",
    },
]

BASE_PHOTO: dict[str, str] = {
    "Identifier": "000.00.00.G09",
    "ArchivesNumber": "PA-2019-01",
    "ImageTitle": "Lễ trao quyết định tuyển dụng",
    "PhotoTime": "15/12/2019",
    "Mode": "Công khai",
}

BASE_MEDIA: dict[str, str] = {
    "Identifier": "000.00.00.G09",
    "ArchivesNumber": "AT-2019-01",
    "MovieTitle": "Ghi âm buổi công bố kết quả",
    "RecordDate": "16/12/2019",
    "PlayTime": "01:05:30",
    "Mode": "Công khai",
}

ROOTS = {
    ObjectKind.DOSSIER: "HoSo",
    ObjectKind.DOCUMENT: "VanBan",
    ObjectKind.PHOTO: "PhimAnh",
    ObjectKind.MEDIA: "PhimAmThanh",
}


def doc_path(index: int) -> str:
    return f"{DESCRIPTIVE}/EAD_doc_{index + 1}.xml"


def profile() -> Profile:
    return load_profile("tt02-2019")


def element(root: str, values: Mapping[str, str], namespace: str | None = None) -> etree._Element:
    """`<root><Tag>value</Tag>...</root>`; an empty string gives an empty element."""
    name = (lambda tag: f"{{{namespace}}}{tag}") if namespace else (lambda tag: tag)
    node = etree.Element(name(root))
    for tag, value in values.items():
        etree.SubElement(node, name(tag)).text = value or None
    return node


def record(kind: ObjectKind, path: str, values: Mapping[str, str]) -> MetadataRecord:
    """A record as the pipeline makes it: dict → XML element → `record_values`."""
    return MetadataRecord(kind=kind, path=path, values=record_values(element(ROOTS[kind], values)))


@dataclass
class Package:
    """Editable copies of the base records; `findings()` runs every metadata rule."""

    dossier: dict[str, str] = field(default_factory=lambda: dict(BASE_DOSSIER))
    documents: list[dict[str, str]] = field(default_factory=lambda: copy.deepcopy(BASE_DOCUMENTS))
    photos: list[dict[str, str]] = field(default_factory=list)
    media: list[dict[str, str]] = field(default_factory=list)
    page_counts: dict[str, int] = field(
        default_factory=lambda: {
            doc_path(i): int(d["PageAmount"]) for i, d in enumerate(BASE_DOCUMENTS)
        }
    )
    context_override: MetadataContext | None = None

    def recode(self) -> None:
        """Rebuild FileCode (dossier and documents) from the dossier's parts."""
        parts = (self.dossier[t] for t in ("Identifier", "OrganId", "FileCatalog", "FileNotation"))
        code = ".".join(parts)
        self.dossier["FileCode"] = code
        for doc in self.documents:
            doc["FileCode"] = code

    def items(self) -> Sequence[MetadataRecord]:
        docs = [record(ObjectKind.DOCUMENT, doc_path(i), d) for i, d in enumerate(self.documents)]
        photos = [
            record(ObjectKind.PHOTO, f"{DESCRIPTIVE}/EAD_pic_{i + 1}.xml", p)
            for i, p in enumerate(self.photos)
        ]
        media = [
            record(ObjectKind.MEDIA, f"{DESCRIPTIVE}/EAD_media_{i + 1}.xml", m)
            for i, m in enumerate(self.media)
        ]
        return [*docs, *photos, *media]

    def findings(self) -> list[Finding]:
        context = self.context_override or MetadataContext(page_counts=self.page_counts)
        dossier = record(ObjectKind.DOSSIER, DOSSIER_PATH, self.dossier)
        return check_metadata(profile(), dossier, self.items(), context)


def ids(findings: Sequence[Finding], severity: Severity) -> set[str]:
    return {f.rule for f in findings if f.severity is severity}


def error_ids(findings: Sequence[Finding]) -> set[str]:
    return ids(findings, Severity.ERROR)


def warning_ids(findings: Sequence[Finding]) -> set[str]:
    return ids(findings, Severity.WARNING)
