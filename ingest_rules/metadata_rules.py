"""The named rules of profile `tt02-2019` on one dossier and its records (rules.md, tt02 table).

`check_metadata` runs the generated field checks on every record, then the named rules: the value
rules that own a field (`superseded_by` in the profile: identifiers, dossier code parts, dates,
retention, reliability level), the refusal of state-secret regimes, and the rules that compare
records (dossier code, ordinals, duplicates, dates, counts). A rule that needs a value which is
missing or malformed stays silent: that defect is already reported once, under its own id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from ingest_rules.catalogue import finding
from ingest_rules.field_rules import (
    RecordValues,
    check_fields,
    fold,
    in_domain,
    parse_number,
    quote,
    value_finding,
)
from ingest_rules.findings import Finding, ObjectKind
from ingest_rules.profile import FieldSpec, Profile, RecordTable

_VN_DATE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
_LEGACY_ORG_ID = re.compile(r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}")
_QD20_ORG_ID = re.compile(r"[A-Z0-9]+(?:\.[A-Z0-9]+)*")
_QD20_MAX_LENGTH = 35  # Decision 20/2020/QĐ-TTg, Art. 4

# Field tags of the tt02 tables that the rules below compare across records.
_FILE_CODE_PARTS = ("Identifier", "OrganId", "FileCatalog", "FileNotation")


def parse_vn_date(text: str) -> date | None:
    """A metadata date `DD/MM/YYYY` (zero-padded, ASCII digits) that exists; else None."""
    match = _VN_DATE.fullmatch(text)
    if match is None:
        return None
    day, month, year = (int(group) for group in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


class OrgIdForm(StrEnum):
    """The two organisation identifier forms accepted during the transition (regulation.md §4)."""

    QCVN_102 = "qcvn102"  # legacy 000.00.00.G09, highest level on the right
    DECISION_20 = "qd20"  # G09.20, groups grow from left to right, ≤ 35 characters


@dataclass(frozen=True)
class OrgIdentifier:
    """A parsed organisation identifier (mã định danh)."""

    text: str
    form: OrgIdForm
    groups: tuple[str, ...]


def parse_org_identifier(text: str) -> OrgIdentifier | None:
    """QCVN 102:2016 `^\\d{3}\\.\\d{2}\\.\\d{2}\\.[A-Z]\\d{2}$`, or Decision 20/2020 Art. 4:
    at most 35 characters of upper-case `A-Z0-9` groups joined by dots. Else None."""
    if _LEGACY_ORG_ID.fullmatch(text):
        form = OrgIdForm.QCVN_102
    elif len(text) <= _QD20_MAX_LENGTH and _QD20_ORG_ID.fullmatch(text):
        form = OrgIdForm.DECISION_20
    else:
        return None
    return OrgIdentifier(text=text, form=form, groups=tuple(text.split(".")))


@dataclass(frozen=True)
class MetadataRecord:
    """One metadata file of a package: its record kind, path inside the package and values."""

    kind: ObjectKind
    path: str
    values: RecordValues


@dataclass(frozen=True)
class DocumentIdentity:
    """What identifies a document to detect duplicates (Decree 30/2020 Art. 15.1; PL VI III.1.h)."""

    doc_code: str | None
    code_number: str | None
    code_notation: str | None
    organ_name: str | None
    year: int | None

    @property
    def code_key(self) -> str | None:
        """`DocCode` in comparison form."""
        return fold(self.doc_code) if self.doc_code else None

    @property
    def number_key(self) -> tuple[str, str, str, int] | None:
        """(number, notation, issuing body, year) in comparison form; "05" and "5" are equal."""
        if (
            self.code_number is None
            or self.code_notation is None
            or self.organ_name is None
            or self.year is None
        ):
            return None
        number = self.code_number.lstrip("0") or "0"
        return (fold(number), fold(self.code_notation), fold(self.organ_name), self.year)


@dataclass(frozen=True)
class MetadataContext:
    """What the rules need from outside the metadata.

    `page_counts`: document metadata path → real page count of its PDF files, where known.
    `catalog_has_document`: whether the archive already holds a document with the same
    `code_key` or `number_key` (see `document_identity`); the caller leaves out the dossier that a
    REPLACEMENT or SUPPLEMENT package updates and the package being re-ingested. None skips the
    check against the catalog.
    """

    page_counts: Mapping[str, int] = field(default_factory=dict)
    catalog_has_document: Callable[[DocumentIdentity], bool] | None = None


# ---- rules that own a field's value (`superseded_by`) ------------------------------------------

_Expected = tuple[str, str]


def _organ_id_expected(profile: Profile, spec: FieldSpec, value: str) -> _Expected | None:
    if parse_org_identifier(value) is not None:
        return None
    return (
        "mã định danh theo QCVN 102:2016 (dạng “000.00.00.G09”) hoặc theo Quyết định "
        "20/2020/QĐ-TTg (các nhóm chữ in hoa A–Z và chữ số nối bằng dấu chấm, tối đa 35 ký tự, "
        "ví dụ “G09.20”)",
        "an organisation identifier in the QCVN 102:2016 form (“000.00.00.G09”) or the "
        "Decision 20/2020 form (upper-case A–Z and digit groups joined by dots, at most 35 "
        "characters, e.g. “G09.20”)",
    )


def _format_expected(profile: Profile, spec: FieldSpec, value: str) -> _Expected | None:
    too_long = spec.max_length is not None and len(value) > spec.max_length
    if not too_long and (spec.pattern is None or spec.pattern.fullmatch(value)):
        return None
    return spec.format_vi, spec.format_en


def _date_expected(profile: Profile, spec: FieldSpec, value: str) -> _Expected | None:
    if parse_vn_date(value) is not None:
        return None
    return (
        "một ngày có thật viết theo dạng DD/MM/YYYY, ví dụ “05/03/2019”",
        "a real calendar date written DD/MM/YYYY, e.g. “05/03/2019”",
    )


def _maintenance_expected(profile: Profile, spec: FieldSpec, value: str) -> _Expected | None:
    domain = profile.values
    years = domain.maintenance_years.fullmatch(fold(value))
    if in_domain(value, [domain.maintenance_permanent]) or (years and int(years["years"]) > 0):
        return None
    permanent = quote(domain.maintenance_permanent)
    return (
        f"{permanent} hoặc số năm cụ thể dạng “<số> năm”, ví dụ “20 năm”",
        f"{permanent} (permanent) or a number of years written “<n> năm”, e.g. “20 năm”",
    )


def _confidence_expected(profile: Profile, spec: FieldSpec, value: str) -> _Expected | None:
    levels = profile.values.confidence_levels
    if in_domain(value, levels):
        return None
    listed = ", ".join(quote(level) for level in levels)
    return f"một trong các giá trị {listed}", f"one of {listed}"


_VALUE_RULES: dict[str, Callable[[Profile, FieldSpec, str], _Expected | None]] = {
    "code.organ_id": _organ_id_expected,
    "code.file_catalog": _format_expected,
    "code.file_notation": _format_expected,
    "date.format": _date_expected,
    "value.maintenance": _maintenance_expected,
    "value.confidence_level": _confidence_expected,
}


def _owner_expected(profile: Profile, spec: FieldSpec, value: str) -> _Expected | None:
    """What the named rule owning `spec` expects of `value`, or None if it accepts it."""
    if spec.superseded_by is None:
        return None
    check = _VALUE_RULES[spec.superseded_by.removeprefix(f"{profile.rule_prefix}.")]
    return check(profile, spec, value)


def _owned_values(profile: Profile, table: RecordTable, record: MetadataRecord) -> list[Finding]:
    findings = []
    for spec in table.fields:
        value = record.values.get(spec.tag)
        if value is None or spec.superseded_by is None:
            continue
        expected = _owner_expected(profile, spec, value)
        if expected is not None:
            findings.append(
                value_finding(
                    spec.superseded_by,
                    spec,
                    value,
                    path=record.path,
                    obj=record.kind,
                    expected_vi=expected[0],
                    expected_en=expected[1],
                )
            )
    return findings


def _secret_regimes(profile: Profile, table: RecordTable, record: MetadataRecord) -> list[Finding]:
    """Circular 02/2019 Art. 8.1: state-secret content never sits on a networked system."""
    findings = []
    domain = profile.values
    for tag in domain.access_fields:
        value = record.values.get(tag)
        if value is None or not table.has_field(tag) or not in_domain(value, domain.secret_regimes):
            continue
        spec = table.field(tag)
        public = quote(domain.public_regime)
        findings.append(
            finding(
                profile.rule_id("value.secret"),
                path=record.path,
                field=tag,
                obj=record.kind,
                message_vi=(
                    f"{spec.name_vi} ghi {quote(value)}: tài liệu có nội dung bí mật nhà nước "
                    "không được lưu trên hệ thống kết nối mạng (Thông tư 02/2019/TT-BNV, Điều 8), "
                    "nên kho lưu trữ này không tiếp nhận; hồ sơ mật phải nộp lưu theo quy trình "
                    f"ngoại tuyến. Chế độ sử dụng được tiếp nhận, ví dụ {public}."
                ),
                message_en=(
                    f"{spec.name_en} is {quote(value)}: state-secret records must never be kept "
                    "on a networked system (Circular 02/2019/TT-BNV, Art. 8), so this archive "
                    "refuses them; they go through the offline procedure. Accepted regimes "
                    f"include {public}."
                ),
            )
        )
    return findings


def _check_record(profile: Profile, record: MetadataRecord) -> list[Finding]:
    table = profile.table(record.kind)
    return (
        check_fields(profile, record.kind, record.values, record.path)
        + _owned_values(profile, table, record)
        + _secret_regimes(profile, table, record)
    )


# ---- rules on the dossier as a whole -----------------------------------------------------------


def _valid(profile: Profile, record: MetadataRecord, tag: str) -> str | None:
    """The value of `tag` if present and accepted by the rule that owns it (else None)."""
    value = record.values.get(tag)
    spec = profile.table(record.kind).field(tag)
    if value is None or _owner_expected(profile, spec, value) is not None:
        return None
    return value


def _text(record: MetadataRecord, tag: str) -> str:
    return record.values.get(tag) or ""


def _date(record: MetadataRecord, tag: str) -> date | None:
    value = record.values.get(tag)
    return parse_vn_date(value) if value is not None else None


def _number(record: MetadataRecord, tag: str) -> int | None:
    value = record.values.get(tag)
    return parse_number(value) if value is not None else None


def _file_code(profile: Profile, dossier: MetadataRecord) -> list[Finding]:
    """FileCode = Identifier.OrganId.FileCatalog.FileNotation (Circular 02/2019, PL II, 1)."""
    code = dossier.values.get("FileCode")
    parts = [_valid(profile, dossier, tag) for tag in _FILE_CODE_PARTS]
    if code is None or None in parts:
        return []
    expected = ".".join(part for part in parts if part)
    if code == expected:
        return []
    table = profile.table(ObjectKind.DOSSIER)
    names_vi = ", ".join(table.field(tag).name_vi for tag in _FILE_CODE_PARTS)
    names_en = ", ".join(table.field(tag).name_en for tag in _FILE_CODE_PARTS)
    return [
        value_finding(
            profile.rule_id("code.file_code"),
            table.field("FileCode"),
            code,
            path=dossier.path,
            obj=ObjectKind.DOSSIER,
            expected_vi=f"{quote(expected)}, ghép từ {names_vi}, nối bằng dấu chấm",
            expected_en=f"{quote(expected)}, made of {names_en} joined by dots",
        )
    ]


def _date_order(profile: Profile, dossier: MetadataRecord) -> list[Finding]:
    start, end = _date(dossier, "StartDate"), _date(dossier, "EndDate")
    if start is None or end is None or start <= end:
        return []
    table = profile.table(ObjectKind.DOSSIER)
    start_spec, end_spec = table.field("StartDate"), table.field("EndDate")
    start_text, end_text = quote(_text(dossier, "StartDate")), quote(_text(dossier, "EndDate"))
    return [
        finding(
            profile.rule_id("date.order"),
            path=dossier.path,
            field="StartDate",
            message_vi=(
                f"{start_spec.name_vi} {start_text} muộn hơn {end_spec.name_vi} {end_text}; "
                "thời gian bắt đầu của hồ sơ không được sau thời gian kết thúc."
            ),
            message_en=(
                f"{start_spec.name_en} {start_text} is after {end_spec.name_en} {end_text}; "
                "a dossier cannot start after it ends."
            ),
        )
    ]


def _total_doc(profile: Profile, dossier: MetadataRecord, documents: int) -> list[Finding]:
    declared = _number(dossier, "TotalDoc")
    if declared is None or declared == documents:
        return []
    spec = profile.table(ObjectKind.DOSSIER).field("TotalDoc")
    return [
        finding(
            profile.rule_id("count.total_doc"),
            path=dossier.path,
            field="TotalDoc",
            message_vi=f"{spec.name_vi} ghi “{declared}” nhưng gói tin có {documents} văn bản.",
            message_en=f"{spec.name_en} is “{declared}” but the package has {documents} documents.",
        )
    ]


def _page_number(
    profile: Profile, dossier: MetadataRecord, documents: Sequence[MetadataRecord]
) -> list[Finding]:
    declared = _number(dossier, "PageNumber")
    amounts = [n for doc in documents if (n := _number(doc, "PageAmount")) is not None]
    if declared is None or len(amounts) != len(documents) or declared == sum(amounts):
        return []
    total = sum(amounts)
    spec = profile.table(ObjectKind.DOSSIER).field("PageNumber")
    amount = profile.table(ObjectKind.DOCUMENT).field("PageAmount")
    return [
        finding(
            profile.rule_id("count.page_number"),
            path=dossier.path,
            field="PageNumber",
            message_vi=(
                f"{spec.name_vi} của hồ sơ ghi “{declared}” nhưng tổng {amount.name_vi} "
                f"của các văn bản là {total}."
            ),
            message_en=(
                f"The dossier's {spec.name_en} is “{declared}” but the documents' "
                f"{amount.name_en} add up to {total}."
            ),
        )
    ]


# ---- rules on the documents of the dossier -----------------------------------------------------


def _file_code_match(
    profile: Profile, dossier: MetadataRecord, documents: Sequence[MetadataRecord]
) -> list[Finding]:
    dossier_code = dossier.values.get("FileCode")
    if dossier_code is None:
        return []
    spec = profile.table(ObjectKind.DOCUMENT).field("FileCode")
    return [
        value_finding(
            profile.rule_id("document.file_code_match"),
            spec,
            code,
            path=doc.path,
            obj=ObjectKind.DOCUMENT,
            expected_vi=f"{quote(dossier_code)}, mã của hồ sơ chứa văn bản ({dossier.path})",
            expected_en=f"{quote(dossier_code)}, the code of its dossier ({dossier.path})",
        )
        for doc in documents
        if (code := doc.values.get("FileCode")) is not None and code != dossier_code
    ]


def _listed(numbers: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return f"{shown}, …" if len(numbers) > limit else shown


def _ordinals(profile: Profile, documents: Sequence[MetadataRecord]) -> list[Finding]:
    """DocOrdinal runs 1..n, unique, no gaps (Decree 30/2020 PL VI III.4.b)."""
    numbers = [n for doc in documents if (n := _number(doc, "DocOrdinal")) is not None]
    count = len(documents)
    if len(numbers) != count:
        return []
    missing = _listed(sorted(set(range(1, count + 1)) - set(numbers)))
    missing_vi = f" (đang thiếu số {missing})" if missing else ""
    missing_en = f" (missing: {missing})" if missing else ""
    spec = profile.table(ObjectKind.DOCUMENT).field("DocOrdinal")
    findings = []
    first_with: dict[int, MetadataRecord] = {}
    for doc, number in zip(documents, numbers, strict=True):
        if number in first_with:
            problem_vi = f"trùng với văn bản {first_with[number].path}"
            problem_en = f"is also used by {first_with[number].path}"
        elif not 1 <= number <= count:
            problem_vi = f"nằm ngoài khoảng 1–{count}"
            problem_en = f"is outside 1–{count}"
        else:
            first_with[number] = doc
            continue
        findings.append(
            finding(
                profile.rule_id("document.ordinal"),
                path=doc.path,
                field="DocOrdinal",
                message_vi=(
                    f"{spec.name_vi} “{number}” {problem_vi}; hồ sơ có {count} văn bản nên số thứ "
                    f"tự phải chạy từ 1 đến {count}, không trùng, không bỏ số{missing_vi}."
                ),
                message_en=(
                    f"{spec.name_en} “{number}” {problem_en}; the dossier has {count} documents, "
                    f"so ordinals must run from 1 to {count} without repeats or gaps{missing_en}."
                ),
            )
        )
    return findings


def _notation_problems(profile: Profile, type_name: str | None, notation: str) -> list[_Expected]:
    rules = profile.notation
    problems: list[_Expected] = []
    if any(char.isspace() for char in notation):
        problems.append(("không được có khoảng trắng", "no spaces"))
    groups = "".join(notation.split()).split("-")
    official = rules.abbreviations
    if not all(rules.notation_group.fullmatch(g) or g in official for g in groups):
        problems.append(
            (
                "các nhóm chữ viết tắt viết in hoa, nối với nhau bằng dấu “-”",
                "upper-case abbreviation groups joined by “-”",
            )
        )
    doc_type = next(
        (t for t in rules.document_types if type_name and fold(t.name) == fold(type_name)), None
    )
    if doc_type is None and groups[0] not in official:
        problems.append(
            (
                "nhóm đầu là chữ viết tắt tên loại văn bản theo Nghị định 30/2020/NĐ-CP, Phụ lục "
                "III (ví dụ “QĐ”, “TB”, “BC”)",
                "a first group that abbreviates the document type per Decree 30/2020, Appendix III "
                "(e.g. “QĐ”, “TB”, “BC”)",
            )
        )
    elif doc_type and doc_type.abbreviation and groups[0] != doc_type.abbreviation:
        abbreviation = quote(doc_type.abbreviation)
        problems.append(
            (
                f"nhóm đầu là {abbreviation}, chữ viết tắt của {doc_type.name}",
                f"a first group {abbreviation}, the abbreviation of {doc_type.name}",
            )
        )
    return problems


def _code_notation(profile: Profile, documents: Sequence[MetadataRecord]) -> list[Finding]:
    """Số and ký hiệu per Decree 30/2020 Art. 15, PL I Phần I II.3 and PL III (a warning)."""
    table = profile.table(ObjectKind.DOCUMENT)
    rule_id = profile.rule_id("document.code_notation")
    findings = []
    for doc in documents:
        number = doc.values.get("CodeNumber")
        if number is not None and not profile.notation.code_number.fullmatch(number):
            spec = table.field("CodeNumber")
            findings.append(
                finding(
                    rule_id,
                    path=doc.path,
                    field=spec.tag,
                    message_vi=(
                        f"{spec.name_vi} ghi {quote(number)}, chưa đúng thể thức của Nghị định "
                        "30/2020/NĐ-CP: số viết bằng chữ số Ả Rập, số nhỏ hơn 10 thêm số 0 ở "
                        "trước, ví dụ “05”."
                    ),
                    message_en=(
                        f"{spec.name_en} is {quote(number)}, not as Decree 30/2020 presents it: "
                        "Arabic digits, with a leading zero below 10, e.g. “05”."
                    ),
                )
            )
        notation = doc.values.get("CodeNotation")
        if notation is None:
            continue
        problems = _notation_problems(profile, doc.values.get("TypeName"), notation)
        if problems:
            spec = table.field("CodeNotation")
            findings.append(
                finding(
                    rule_id,
                    path=doc.path,
                    field=spec.tag,
                    message_vi=(
                        f"{spec.name_vi} ghi {quote(notation)}, chưa đúng thể thức của Nghị định "
                        f"30/2020/NĐ-CP; yêu cầu: {'; '.join(vi for vi, _ in problems)}."
                    ),
                    message_en=(
                        f"{spec.name_en} is {quote(notation)}, not as Decree 30/2020 presents it; "
                        f"expected {'; '.join(en for _, en in problems)}."
                    ),
                )
            )
    return findings


def document_identity(record: MetadataRecord) -> DocumentIdentity:
    """The duplicate-detection identity of a document record."""
    issued = _date(record, "IssuedDate")
    return DocumentIdentity(
        doc_code=record.values.get("DocCode"),
        code_number=record.values.get("CodeNumber"),
        code_notation=record.values.get("CodeNotation"),
        organ_name=record.values.get("OrganName"),
        year=issued.year if issued else None,
    )


def _same_code(profile: Profile, identity: DocumentIdentity) -> _Expected:
    spec = profile.table(ObjectKind.DOCUMENT).field("DocCode")
    code = quote(identity.doc_code or "")
    return f"{spec.name_vi} {code}", f"{spec.name_en} {code}"


def _same_number(identity: DocumentIdentity) -> _Expected:
    number, notation = quote(identity.code_number or ""), quote(identity.code_notation or "")
    organ = quote(identity.organ_name or "")
    return (
        f"số {number}, ký hiệu {notation}, cơ quan ban hành {organ} và năm {identity.year}",
        f"number {number}, notation {notation}, issuing body {organ} and year {identity.year}",
    )


def _duplicate(
    profile: Profile, doc: MetadataRecord, field_tag: str, message_vi: str, message_en: str
) -> Finding:
    return finding(
        profile.rule_id("document.duplicate"),
        path=doc.path,
        field=field_tag,
        message_vi=message_vi,
        message_en=message_en,
    )


def _duplicates(
    profile: Profile, documents: Sequence[MetadataRecord], context: MetadataContext
) -> list[Finding]:
    """No two documents share DocCode or (number, notation, issuer, year), in the package or with
    the archive's catalog (Decree 30/2020 Art. 15.1)."""
    by_code: dict[str, MetadataRecord] = {}
    by_number: dict[tuple[str, str, str, int], MetadataRecord] = {}
    lookup = context.catalog_has_document
    findings = []
    for doc in documents:
        identity = document_identity(doc)
        code_key, number_key = identity.code_key, identity.number_key
        same_code = by_code.get(code_key) if code_key else None
        same_number = by_number.get(number_key) if number_key else None
        if same_code is not None:
            vi, en = _same_code(profile, identity)
            findings.append(
                _duplicate(
                    profile,
                    doc,
                    "DocCode",
                    f"Văn bản trùng {vi} với văn bản {same_code.path}; mỗi văn bản phải có mã "
                    "định danh riêng.",
                    f"The document shares {en} with document {same_code.path}; each document "
                    "needs its own identifier.",
                )
            )
        elif same_number is not None:
            vi, en = _same_number(identity)
            findings.append(
                _duplicate(
                    profile,
                    doc,
                    "CodeNumber",
                    f"Văn bản trùng {vi} với văn bản {same_number.path}; số và ký hiệu văn bản "
                    "của một cơ quan là duy nhất trong năm.",
                    f"The document shares {en} with document {same_number.path}; a body's "
                    "number and notation are unique within a year.",
                )
            )
        elif (code_key or number_key) and lookup is not None and lookup(identity):
            shared = [_same_code(profile, identity)] if code_key else []
            shared += [_same_number(identity)] if number_key else []
            findings.append(
                _duplicate(
                    profile,
                    doc,
                    "DocCode" if code_key else "CodeNumber",
                    f"Kho lưu trữ đã có văn bản trùng {' hoặc trùng '.join(vi for vi, _ in shared)}"
                    "; một văn bản chỉ được nộp lưu một lần.",
                    f"The archive already holds a document with the same "
                    f"{' or the same '.join(en for _, en in shared)}; a document is transferred "
                    "only once.",
                )
            )
        if code_key:
            by_code.setdefault(code_key, doc)
        if number_key:
            by_number.setdefault(number_key, doc)
    return findings


def _in_range(
    profile: Profile, dossier: MetadataRecord, documents: Sequence[MetadataRecord]
) -> list[Finding]:
    start, end = _date(dossier, "StartDate"), _date(dossier, "EndDate")
    if start is None or end is None or start > end:
        return []
    spec = profile.table(ObjectKind.DOCUMENT).field("IssuedDate")
    start_text, end_text = _text(dossier, "StartDate"), _text(dossier, "EndDate")
    findings = []
    for doc in documents:
        issued = _date(doc, "IssuedDate")
        if issued is None or start <= issued <= end:
            continue
        value = quote(_text(doc, "IssuedDate"))
        findings.append(
            finding(
                profile.rule_id("date.document_in_range"),
                path=doc.path,
                field="IssuedDate",
                message_vi=(
                    f"{spec.name_vi} ghi {value}, nằm ngoài thời gian của hồ sơ "
                    f"(từ {start_text} đến {end_text})."
                ),
                message_en=(
                    f"{spec.name_en} is {value}, outside the dossier's dates "
                    f"({start_text} to {end_text})."
                ),
            )
        )
    return findings


def _page_amounts(
    profile: Profile, documents: Sequence[MetadataRecord], context: MetadataContext
) -> list[Finding]:
    spec = profile.table(ObjectKind.DOCUMENT).field("PageAmount")
    findings = []
    for doc in documents:
        declared, real = _number(doc, "PageAmount"), context.page_counts.get(doc.path)
        if declared is None or real is None or declared == real:
            continue
        findings.append(
            finding(
                profile.rule_id("count.page_amount"),
                path=doc.path,
                field="PageAmount",
                message_vi=(
                    f"{spec.name_vi} ghi “{declared}” nhưng tệp PDF của văn bản có {real} trang."
                ),
                message_en=(
                    f"{spec.name_en} is “{declared}” but the document's PDF has {real} pages."
                ),
            )
        )
    return findings


def check_metadata(
    profile: Profile,
    dossier: MetadataRecord,
    items: Sequence[MetadataRecord],
    context: MetadataContext,
) -> list[Finding]:
    """Every field rule and named rule of the profile on one dossier and its records."""
    if dossier.kind is not ObjectKind.DOSSIER or any(i.kind is ObjectKind.DOSSIER for i in items):
        raise ValueError("check_metadata takes one dossier record and its non-dossier records")
    documents = [item for item in items if item.kind is ObjectKind.DOCUMENT]
    findings = _check_record(profile, dossier)
    for item in items:
        findings += _check_record(profile, item)
    return (
        findings
        + _file_code(profile, dossier)
        + _date_order(profile, dossier)
        + _total_doc(profile, dossier, len(documents))
        + _page_number(profile, dossier, documents)
        + _file_code_match(profile, dossier, documents)
        + _ordinals(profile, documents)
        + _code_notation(profile, documents)
        + _duplicates(profile, documents, context)
        + _in_range(profile, dossier, documents)
        + _page_amounts(profile, documents, context)
    )
