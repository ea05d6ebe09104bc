"""Rule profiles as data: field tables, value domains and the field rules generated from them.

A profile (`profiles/<id>.toml`, e.g. `tt02_2019.toml` for `tt02-2019`) holds one field table per
record kind (rules.md "Generated field rules"), the value domains its named rules check, and which
field checks a named rule supersedes (rules.md Conventions: a defect covered by a named rule is
reported under that id only). Nothing regulatory is hard-coded here.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from ingest_rules.catalogue import RuleSpec
from ingest_rules.findings import ObjectKind, Severity, nfc

_PROFILE_DIR = Path(__file__).with_name("profiles")


class FieldType(StrEnum):
    """Types of the metadata tables ("Kiểu dữ liệu"): String, Number, Date, LongText."""

    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    TEXT = "text"


class FieldCheck(StrEnum):
    """The generated checks, in the order they are applied (the last part of a generated id)."""

    REQUIRED = "required"
    TYPE = "type"
    MAX_LENGTH = "max_length"
    PATTERN = "pattern"
    CODE_LIST = "code_list"


class UnknownProfileError(LookupError):
    """No profile has this id (e.g. a mistyped `--profile`)."""


class ProfileDataError(ValueError):
    """A profile file is malformed; raised at load time so a bad table never reaches a transfer."""


@dataclass(frozen=True)
class FieldSpec:
    """One row of a metadata table.

    `max_length` counts Unicode code points after NFC (digits for a number). `superseded_by` names
    the catalogue rule that owns the field's value: it then has no generated value checks.
    """

    tag: str
    label_vi: str
    label_en: str
    type: FieldType
    max_length: int | None
    required: bool
    clause: str
    pattern: re.Pattern[str] | None = None
    hint_vi: str | None = None
    hint_en: str | None = None
    code_list: tuple[str, ...] = ()
    unconfirmed: bool = False
    superseded_by: str | None = None

    @property
    def name_vi(self) -> str:
        """The field as an archivist names it: "Thời hạn bảo quản (Maintenance)"."""
        return f"{self.label_vi} ({self.tag})"

    @property
    def name_en(self) -> str:
        return f"{self.label_en} ({self.tag})"

    @property
    def format_vi(self) -> str:
        """What `pattern` asks for, in words where the profile gives them."""
        return self.hint_vi or f"giá trị khớp mẫu {self._pattern_text}"

    @property
    def format_en(self) -> str:
        return self.hint_en or f"a value matching {self._pattern_text}"

    @property
    def _pattern_text(self) -> str:
        return self.pattern.pattern if self.pattern else ""

    @property
    def value_checks(self) -> tuple[FieldCheck, ...]:
        """The generated checks on a present value, in order; none when a named rule owns it."""
        if self.superseded_by is not None:
            return ()
        checks = []
        if self.type is FieldType.NUMBER:
            checks.append(FieldCheck.TYPE)
        if self.max_length is not None:
            checks.append(FieldCheck.MAX_LENGTH)
        if self.pattern is not None:
            checks.append(FieldCheck.PATTERN)
        if self.code_list:
            checks.append(FieldCheck.CODE_LIST)
        return tuple(checks)

    @property
    def checks(self) -> tuple[FieldCheck, ...]:
        """Every generated check of this field."""
        required = (FieldCheck.REQUIRED,) if self.required else ()
        return required + self.value_checks

    def rule_clause(self, check: FieldCheck) -> str:
        """The clause a generated rule cites.

        Presence is the project's decision (the legal tables have no "required" column); a
        length, pattern or list marked UNCONFIRMED says it is configurable.
        """
        if check is FieldCheck.REQUIRED:
            return f"{self.clause}; trường bắt buộc theo spec package-format.md"
        if self.unconfirmed and check is not FieldCheck.TYPE:
            return f"{self.clause} — UNCONFIRMED, configurable"
        return self.clause


@dataclass(frozen=True)
class RecordTable:
    """The field table of one record kind, and the XML root element that carries it."""

    kind: ObjectKind
    root: str
    title_vi: str
    title_en: str
    fields: tuple[FieldSpec, ...]

    def field(self, tag: str) -> FieldSpec:
        for spec in self.fields:
            if spec.tag == tag:
                return spec
        raise KeyError(f"{self.root} has no field {tag!r}")

    def has_field(self, tag: str) -> bool:
        return any(spec.tag == tag for spec in self.fields)


@dataclass(frozen=True)
class DocumentType:
    """A document type of Decree 30/2020 Art. 7 and its abbreviation (Phụ lục III, Mục I)."""

    name: str
    abbreviation: str | None


@dataclass(frozen=True)
class ValueDomains:
    """Configurable value domains of the named `value.*` rules (regulation.md §3.6, §1.3.3, §7)."""

    maintenance_permanent: str
    maintenance_years: re.Pattern[str]
    confidence_levels: tuple[str, ...]
    secret_regimes: tuple[str, ...]
    public_regime: str
    access_fields: tuple[str, ...]


@dataclass(frozen=True)
class NotationRules:
    """Decree 30/2020 number and symbol presentation (Art. 15; Phụ lục I, Phần I, II.3)."""

    code_number: re.Pattern[str]
    notation_group: re.Pattern[str]
    document_types: tuple[DocumentType, ...]

    @property
    def abbreviations(self) -> frozenset[str]:
        return frozenset(t.abbreviation for t in self.document_types if t.abbreviation)


@dataclass(frozen=True)
class Profile:
    """A rule profile: id, rule-id prefix, one table per record kind and its value domains."""

    id: str
    rule_prefix: str
    title_vi: str
    title_en: str
    tables: tuple[RecordTable, ...]
    values: ValueDomains
    notation: NotationRules

    def table(self, kind: ObjectKind) -> RecordTable:
        for table in self.tables:
            if table.kind is kind:
                return table
        raise KeyError(f"profile {self.id} has no {kind} table")

    def table_for_root(self, tag: str) -> RecordTable | None:
        """The table whose root element is `tag` (a local name or `{namespace}name`)."""
        local = tag.rpartition("}")[2]
        return next((t for t in self.tables if t.root == local), None)

    def rule_id(self, suffix: str) -> str:
        """The id of this profile's named rule `suffix`, e.g. `tt02.date.format`."""
        return f"{self.rule_prefix}.{suffix}"

    def field_rule_id(self, kind: ObjectKind, tag: str, check: FieldCheck) -> str:
        """`<prefix>.<object>.<Field>.<check>` (rules.md "Generated field rules")."""
        return f"{self.rule_prefix}.{kind}.{tag}.{check}"


def _summary(table: RecordTable, spec: FieldSpec, check: FieldCheck) -> tuple[str, str]:
    match check:
        case FieldCheck.REQUIRED:
            return (
                f"Thiếu {spec.name_vi}, trường bắt buộc của {table.title_vi}",
                f"{spec.name_en} is missing; it is required in the {table.title_en}",
            )
        case FieldCheck.TYPE:
            return (
                f"{spec.name_vi} không phải số nguyên không âm",
                f"{spec.name_en} is not a non-negative whole number",
            )
        case FieldCheck.MAX_LENGTH:
            return (
                f"{spec.name_vi} dài quá {spec.max_length} ký tự",
                f"{spec.name_en} is longer than {spec.max_length} characters",
            )
        case FieldCheck.PATTERN:
            return (
                f"{spec.name_vi} không đúng định dạng: {spec.format_vi}",
                f"{spec.name_en} is not in the expected form: {spec.format_en}",
            )
        case FieldCheck.CODE_LIST:
            listed = ", ".join(spec.code_list)
            return (
                f"{spec.name_vi} không thuộc danh mục: {listed}",
                f"{spec.name_en} is not one of: {listed}",
            )


def generated_rule_specs(profile: Profile) -> list[RuleSpec]:
    """The catalogue entries of every field check that applies, from the profile's tables."""
    specs = []
    for table in profile.tables:
        for field in table.fields:
            for check in field.checks:
                summary_vi, summary_en = _summary(table, field, check)
                specs.append(
                    RuleSpec(
                        id=profile.field_rule_id(table.kind, field.tag, check),
                        severity=Severity.ERROR,
                        object=table.kind,
                        clause=field.rule_clause(check),
                        summary_vi=summary_vi,
                        summary_en=summary_en,
                    )
                )
    return specs


@cache
def _profile_files() -> dict[str, Path]:
    """Profile id → file: `tt02_2019.toml` holds `tt02-2019`. Ids never become paths."""
    return {path.stem.replace("_", "-"): path for path in sorted(_PROFILE_DIR.glob("*.toml"))}


@cache
def load_profile(profile_id: str) -> Profile:
    """The profile `profile_id`, validated; raises `UnknownProfileError` for an unknown id."""
    path = _profile_files().get(profile_id)
    if path is None:
        known = ", ".join(_profile_files()) or "none"
        raise UnknownProfileError(
            f"Hồ sơ quy tắc không được hỗ trợ / unknown rule profile {profile_id!r} "
            f"(known: {known})"
        )
    profile = _parse_profile(tomllib.loads(path.read_text(encoding="utf-8")), path.name)
    if profile.id != profile_id:
        raise ProfileDataError(f"{path.name}: id {profile.id!r} does not match the file name")
    return profile


def known_profiles() -> list[Profile]:
    """Every profile shipped in `profiles/`."""
    return [load_profile(profile_id) for profile_id in _profile_files()]


def profile_for_root(tag: str) -> Profile | None:
    """The profile whose dossier root element is `tag` (root of `metadata/descriptive/EAD.xml`)."""
    for profile in known_profiles():
        table = profile.table_for_root(tag)
        if table is not None and table.kind is ObjectKind.DOSSIER:
            return profile
    return None


# ---- parsing the TOML (every string is NFC-normalised: an editor may save NFD) ----------------

_FIELD_KEYS = frozenset(
    {
        "tag",
        "label_vi",
        "label_en",
        "type",
        "max_length",
        "required",
        "clause",
        "pattern",
        "hint_vi",
        "hint_en",
        "code_list",
        "unconfirmed",
        "superseded_by",
    }
)


def _str(row: Mapping[str, Any], key: str, where: str) -> str:
    value = _opt_str(row, key, where)
    if value is None:
        raise ProfileDataError(f"{where}: {key} is required")
    return value


def _opt_str(row: Mapping[str, Any], key: str, where: str) -> str | None:
    value = row.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ProfileDataError(f"{where}: {key} must be a non-empty string")
    return nfc(value)


def _strs(row: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = row.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ProfileDataError(f"{where}: {key} must be a list of non-empty strings")
    return tuple(nfc(v) for v in value)


def _flag(row: Mapping[str, Any], key: str, where: str) -> bool:
    value = row.get(key, False)
    if not isinstance(value, bool):
        raise ProfileDataError(f"{where}: {key} must be true or false")
    return value


def _regex(text: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise ProfileDataError(f"{where}: invalid regular expression {text!r}: {exc}") from exc


def _table_rows(data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    rows = data.get(key)
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise ProfileDataError(f"{where}: [[{key}]] must be a non-empty array of tables")
    return rows


def _parse_field(row: Mapping[str, Any], prefix: str, where: str) -> FieldSpec:
    unknown = set(row) - _FIELD_KEYS
    if unknown:
        raise ProfileDataError(f"{where}: unknown keys {sorted(unknown)}")
    where = f"{where} {row.get('tag')!r}"
    try:
        field_type = FieldType(_str(row, "type", where))
    except ValueError as exc:
        raise ProfileDataError(f"{where}: type must be one of {list(FieldType)}") from exc
    max_length = row.get("max_length")
    if max_length is not None and (
        isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1
    ):
        raise ProfileDataError(f"{where}: max_length must be a positive integer")
    pattern_text = _opt_str(row, "pattern", where)
    code_list = _strs(row, "code_list", where)
    if field_type in (FieldType.DATE, FieldType.TEXT) and max_length is not None:
        raise ProfileDataError(f"{where}: a {field_type} field has no max_length")
    if field_type is FieldType.DATE and (pattern_text or code_list):
        raise ProfileDataError(f"{where}: a date field's form is the date rule's, not a pattern")
    superseded_by = _opt_str(row, "superseded_by", where)
    if superseded_by is not None and not superseded_by.startswith(f"{prefix}."):
        raise ProfileDataError(f"{where}: superseded_by must be a {prefix}.* rule")
    return FieldSpec(
        tag=_str(row, "tag", where),
        label_vi=_str(row, "label_vi", where),
        label_en=_str(row, "label_en", where),
        type=field_type,
        max_length=max_length,
        required=_flag(row, "required", where),
        clause=_str(row, "clause", where),
        pattern=_regex(pattern_text, where) if pattern_text else None,
        hint_vi=_opt_str(row, "hint_vi", where),
        hint_en=_opt_str(row, "hint_en", where),
        code_list=code_list,
        unconfirmed=_flag(row, "unconfirmed", where),
        superseded_by=superseded_by,
    )


def _parse_table(row: Mapping[str, Any], prefix: str, where: str) -> RecordTable:
    try:
        kind = ObjectKind(_str(row, "kind", where))
    except ValueError as exc:
        raise ProfileDataError(f"{where}: unknown record kind {row.get('kind')!r}") from exc
    where = f"{where} {kind}"
    fields = tuple(
        _parse_field(field_row, prefix, f"{where} field")
        for field_row in _table_rows(row, "field", where)
    )
    tags = [spec.tag for spec in fields]
    if len(set(tags)) != len(tags):
        raise ProfileDataError(f"{where}: a tag appears twice")
    return RecordTable(
        kind=kind,
        root=_str(row, "root", where),
        title_vi=_str(row, "title_vi", where),
        title_en=_str(row, "title_en", where),
        fields=fields,
    )


def _parse_values(data: Mapping[str, Any], where: str) -> ValueDomains:
    values = data.get("values")
    if not isinstance(values, dict):
        raise ProfileDataError(f"{where}: [values] is missing")
    years = _regex(_str(values, "maintenance_years", where), where)
    if "years" not in years.groupindex:
        raise ProfileDataError(f"{where}: maintenance_years needs a (?P<years>...) group")
    return ValueDomains(
        maintenance_permanent=_str(values, "maintenance_permanent", where),
        maintenance_years=years,
        confidence_levels=_strs(values, "confidence_levels", where),
        secret_regimes=_strs(values, "secret_regimes", where),
        public_regime=_str(values, "public_regime", where),
        access_fields=_strs(values, "access_fields", where),
    )


def _parse_notation(data: Mapping[str, Any], where: str) -> NotationRules:
    rules = data.get("decree30")
    if not isinstance(rules, dict):
        raise ProfileDataError(f"{where}: [decree30] is missing")
    return NotationRules(
        code_number=_regex(_str(rules, "code_number_pattern", where), where),
        notation_group=_regex(_str(rules, "notation_group_pattern", where), where),
        document_types=tuple(
            DocumentType(
                name=_str(row, "name", where), abbreviation=_opt_str(row, "abbreviation", where)
            )
            for row in _table_rows(rules, "document_types", where)
        ),
    )


def _parse_profile(data: Mapping[str, Any], where: str) -> Profile:
    prefix = _str(data, "rule_prefix", where)
    tables = tuple(
        _parse_table(row, prefix, f"{where} table") for row in _table_rows(data, "table", where)
    )
    kinds = [table.kind for table in tables]
    roots = [table.root for table in tables]
    if len(set(kinds)) != len(kinds) or len(set(roots)) != len(roots):
        raise ProfileDataError(f"{where}: record kinds and root elements must be unique")
    if ObjectKind.DOSSIER not in kinds:
        raise ProfileDataError(f"{where}: a profile needs a dossier table")
    return Profile(
        id=_str(data, "id", where),
        rule_prefix=prefix,
        title_vi=_str(data, "title_vi", where),
        title_en=_str(data, "title_en", where),
        tables=tables,
        values=_parse_values(data, where),
        notation=_parse_notation(data, where),
    )
