"""The rule catalogue: every check has a stable id, a severity, an object kind and a source clause.

The named rules live in `catalogue.toml`; field rules are generated from each profile's tables
(see `ingest_rules.profile`). Findings are only ever made through `finding()`, so a rule id that is
not in the catalogue cannot be reported.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ingest_rules.findings import Finding, ObjectKind, Severity, nfc

_CATALOGUE_FILE = Path(__file__).with_name("catalogue.toml")


@dataclass(frozen=True)
class RuleSpec:
    """One entry of the rule catalogue."""

    id: str
    severity: Severity
    object: ObjectKind
    clause: str
    summary_vi: str
    summary_en: str

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "severity": str(self.severity),
            "object": str(self.object),
            "clause": self.clause,
            "summary_vi": self.summary_vi,
            "summary_en": self.summary_en,
        }


class UnknownRuleError(KeyError):
    """A check tried to report a rule id that the catalogue does not define (a programming error)."""


@cache
def named_rules() -> dict[str, RuleSpec]:
    """The rules written out in `catalogue.toml`, by id."""
    data = tomllib.loads(_CATALOGUE_FILE.read_text(encoding="utf-8"))
    rules = {}
    for row in data["rule"]:
        spec = RuleSpec(
            id=row["id"],
            severity=Severity(row["severity"]),
            object=ObjectKind(row["object"]),
            clause=nfc(row["clause"]),
            summary_vi=nfc(row["summary_vi"]),
            summary_en=row["summary_en"],
        )
        rules[spec.id] = spec
    return rules


@cache
def all_rules() -> dict[str, RuleSpec]:
    """Named rules plus the field rules generated from every profile, sorted by id."""
    from ingest_rules.profile import generated_rule_specs, known_profiles

    rules = dict(named_rules())
    for profile in known_profiles():
        for spec in generated_rule_specs(profile):
            rules[spec.id] = spec
    return dict(sorted(rules.items()))


def rule(rule_id: str) -> RuleSpec:
    """The catalogue entry for `rule_id`."""
    try:
        return all_rules()[rule_id]
    except KeyError as exc:
        raise UnknownRuleError(rule_id) from exc


def finding(
    rule_id: str,
    *,
    path: str,
    message_vi: str,
    message_en: str,
    field: str | None = None,
    severity: Severity | None = None,
    obj: ObjectKind | None = None,
) -> Finding:
    """A finding under a catalogued rule; severity, object and clause come from the catalogue.

    `severity` may only be given to lower an error to a warning where a convention says so
    (NFD text is normalised with a warning under the rule that found it).
    """
    spec = rule(rule_id)
    return Finding(
        rule=spec.id,
        severity=severity or spec.severity,
        object=obj or spec.object,
        path=nfc(path),
        field=field,
        message_vi=nfc(message_vi),
        message_en=nfc(message_en),
        clause=spec.clause,
    )
