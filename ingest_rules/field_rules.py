"""Field-level checks generated from a profile's tables (rules.md "Generated field rules").

Values are read as rules.md Conventions say: an empty element (or one holding only whitespace)
counts as absent; surrounding whitespace is layout, not data, and is trimmed; text is NFC and
lengths count Unicode code points after NFC.

Text that arrives in NFD is normalised to NFC and reported under the named rule
`<prefix>.text.nfc` (severity warning, `tt02.text.nfc` in the catalogue) rather than under a
field rule with a lowered severity: a field may have no generated rule at all (an optional date),
and one stable id lets the archive count and filter NFD senders.

Each present value gets at most one finding from its generated checks: the first that fails in the
order type, max_length, pattern, code_list (a value of the wrong type has no meaningful length).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from lxml import etree

from ingest_rules.catalogue import finding
from ingest_rules.findings import Finding, ObjectKind, nfc
from ingest_rules.profile import FieldCheck, FieldSpec, Profile, RecordTable

_QUOTE_LIMIT = 80


@dataclass(frozen=True)
class RecordValues:
    """A record's field values by element local name (NFC, trimmed), and which arrived in NFD."""

    values: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    nfd_tags: frozenset[str] = frozenset()

    def get(self, tag: str) -> str | None:
        return self.values.get(tag)


def record_values(element: etree._Element) -> RecordValues:
    """The child values of a metadata record element (`HoSo`, `VanBan`, ...).

    Namespaces are ignored (local names); comments and processing instructions are skipped; of a
    repeated element the first non-empty one counts.
    """
    values: dict[str, str] = {}
    nfd_tags: set[str] = set()
    for child in element:
        if not isinstance(child.tag, str):
            continue
        tag = etree.QName(child).localname
        raw = "".join(t for t in child.itertext() if isinstance(t, str)).strip()
        if not raw or tag in values:
            continue
        values[tag] = nfc(raw)
        if not unicodedata.is_normalized("NFC", raw):
            nfd_tags.add(tag)
    return RecordValues(MappingProxyType(values), frozenset(nfd_tags))


def parse_number(text: str) -> int | None:
    """A `Number` field value: a non-negative integer in ASCII digits, else None."""
    return int(text) if text.isascii() and text.isdigit() else None


_OLD_TONE_PLACEMENT = re.compile(r"([oOuU])([\u0300\u0301\u0303\u0309\u0323])([aAeEyY])(?!\w)")


def tone_canonical(text: str) -> str:
    """Both tone placements of Vietnamese spelling as one: "hóa" and "hoá", "thủy" and "thuỷ".

    In open syllables ending in oa, oe, uy the old style marks the first vowel, the new style
    the second; archivists write both, so value domains accept both.
    """
    decomposed = unicodedata.normalize("NFD", text)
    return nfc(_OLD_TONE_PLACEMENT.sub(r"\1\3\2", decomposed))


def fold(text: str) -> str:
    """The comparison form of a word from a value domain: NFC, tone placement, single spaces,
    case-folded."""
    return " ".join(tone_canonical(text).split()).casefold()


def in_domain(value: str, domain: Iterable[str]) -> bool:
    """Whether `value` is one of `domain`, ignoring case, spacing and Unicode normal form."""
    return fold(value) in {fold(word) for word in domain}


def quote(value: str) -> str:
    """A value as quoted in a message, shortened when long."""
    if len(value) > _QUOTE_LIMIT:
        value = value[: _QUOTE_LIMIT - 1] + "…"
    return f"“{value}”"


def value_finding(
    rule_id: str,
    spec: FieldSpec,
    value: str,
    *,
    path: str,
    obj: ObjectKind,
    expected_vi: str,
    expected_en: str,
) -> Finding:
    """A finding on a present value: names the field, quotes the value, says what is expected."""
    return finding(
        rule_id,
        path=path,
        field=spec.tag,
        obj=obj,
        message_vi=f"{spec.name_vi} ghi {quote(value)}, không hợp lệ; yêu cầu: {expected_vi}.",
        message_en=f"{spec.name_en} is {quote(value)}, which is not valid; expected {expected_en}.",
    )


def _failure(spec: FieldSpec, check: FieldCheck, value: str) -> tuple[str, str] | None:
    """What `check` expects of `value` (Vietnamese, English), or None when the value passes."""
    match check:
        case FieldCheck.TYPE:
            passed = parse_number(value) is not None
            expected = (
                "số nguyên không âm viết bằng chữ số, ví dụ “12”",
                "a non-negative whole number in digits, e.g. “12”",
            )
        case FieldCheck.MAX_LENGTH:
            passed = spec.max_length is None or len(value) <= spec.max_length
            expected = (
                f"tối đa {spec.max_length} ký tự (giá trị này có {len(value)} ký tự)",
                f"at most {spec.max_length} characters (this value has {len(value)})",
            )
        case FieldCheck.PATTERN:
            passed = spec.pattern is None or spec.pattern.fullmatch(value) is not None
            expected = spec.format_vi, spec.format_en
        case FieldCheck.CODE_LIST:
            passed = in_domain(value, spec.code_list)
            listed = ", ".join(quote(code) for code in spec.code_list)
            expected = f"một trong các giá trị {listed}", f"one of {listed}"
        case FieldCheck.REQUIRED:
            raise ValueError("presence is not a value check")
    return None if passed else expected


def _missing(profile: Profile, table: RecordTable, spec: FieldSpec, path: str) -> Finding:
    return finding(
        profile.field_rule_id(table.kind, spec.tag, FieldCheck.REQUIRED),
        path=path,
        field=spec.tag,
        obj=table.kind,
        message_vi=(
            f"Thiếu {spec.name_vi} (không có phần tử hoặc phần tử để trống); "
            f"đây là trường bắt buộc của {table.title_vi}."
        ),
        message_en=(
            f"{spec.name_en} is missing (no element, or an empty one); "
            f"it is required in the {table.title_en}."
        ),
    )


def _normalised(
    profile: Profile, table: RecordTable, spec: FieldSpec, value: str, path: str
) -> Finding:
    return finding(
        profile.rule_id("text.nfc"),
        path=path,
        field=spec.tag,
        obj=table.kind,
        message_vi=(
            f"{spec.name_vi} được gửi ở dạng Unicode tổ hợp (NFD); hệ thống đã chuẩn hóa về "
            f"Unicode dựng sẵn (NFC): {quote(value)}."
        ),
        message_en=(
            f"{spec.name_en} arrived in decomposed Unicode (NFD) and was normalised to NFC: "
            f"{quote(value)}."
        ),
    )


def check_fields(
    profile: Profile, kind: ObjectKind, values: RecordValues, path: str
) -> list[Finding]:
    """The generated field checks of `kind`'s table on one record, plus NFD warnings.

    Elements that are not in the table are ignored. Values a named rule owns (`superseded_by`)
    are only checked for presence here; `metadata_rules` checks the rest.
    """
    table = profile.table(kind)
    findings = []
    for spec in table.fields:
        value = values.get(spec.tag)
        if value is None:
            if spec.required:
                findings.append(_missing(profile, table, spec, path))
            continue
        for check in spec.value_checks:
            expected = _failure(spec, check, value)
            if expected is not None:
                findings.append(
                    value_finding(
                        profile.field_rule_id(kind, spec.tag, check),
                        spec,
                        value,
                        path=path,
                        obj=kind,
                        expected_vi=expected[0],
                        expected_en=expected[1],
                    )
                )
                break
        if spec.tag in values.nfd_tags:
            findings.append(_normalised(profile, table, spec, value, path))
    return findings
