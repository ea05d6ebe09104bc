"""Every named tt02 rule of the catalogue is exercised by at least one test of this package."""

from __future__ import annotations

from pathlib import Path

from ingest_rules.catalogue import all_rules, named_rules


def test_every_named_tt02_rule_has_a_test() -> None:
    here = Path(__file__)
    text = "\n".join(
        path.read_text(encoding="utf-8") for path in here.parent.glob("test_*.py") if path != here
    )
    named = [
        rule_id
        for rule_id in all_rules()
        if rule_id.startswith("tt02.") and rule_id in named_rules()
    ]
    assert len(named) == 18
    untested = [rule_id for rule_id in named if f'"{rule_id}"' not in text]
    assert untested == []
