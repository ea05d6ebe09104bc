"""Every named rule of the catalogue is exercised by at least one test that names it."""

from __future__ import annotations

from pathlib import Path

from ingest_rules.catalogue import named_rules

TESTS = Path(__file__).resolve().parents[2]


def test_every_named_rule_has_a_test() -> None:
    here = Path(__file__)
    text = "\n".join(p.read_text(encoding="utf-8") for p in TESTS.rglob("test_*.py") if p != here)
    untested = [r for r in named_rules() if f'"{r}"' not in text]
    assert untested == []


def test_the_tt02_profile_has_its_named_rules() -> None:
    assert len([r for r in named_rules() if r.startswith("tt02.")]) >= 18
