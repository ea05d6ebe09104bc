"""Property tests of the reusable parsers: metadata dates and organisation identifiers."""

from __future__ import annotations

import string
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from ingest_rules.metadata_rules import OrgIdForm, parse_org_identifier, parse_vn_date


def _vn(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


@given(st.dates())
def test_any_real_date_round_trips(day: date) -> None:
    assert parse_vn_date(_vn(day)) == day


@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    result = parse_vn_date(text)
    assert result is None or _vn(result) == text


@given(st.integers(0, 99), st.integers(0, 99), st.integers(0, 9999))
def test_only_real_calendar_dates_parse(day: int, month: int, year: int) -> None:
    text = f"{day:02d}/{month:02d}/{year:04d}"
    try:
        expected: date | None = date(year, month, day)
    except ValueError:
        expected = None
    assert parse_vn_date(text) == expected


def test_date_examples() -> None:
    assert parse_vn_date("29/02/2020") == date(2020, 2, 29)
    for text in ("29/02/2019", "5/3/2019", "2019-03-05", "05/03/19", "05/03/2019 ", "٠٥/٠٣/٢٠١٩"):
        assert parse_vn_date(text) is None


LEGACY = st.from_regex(r"\A[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}\Z")
GROUP = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=8)
DECISION_20 = st.lists(GROUP, min_size=1, max_size=6).map(".".join).filter(lambda s: len(s) <= 35)


@given(LEGACY)
def test_legacy_identifiers_parse(text: str) -> None:
    parsed = parse_org_identifier(text)
    assert parsed is not None
    assert parsed.form is OrgIdForm.QCVN_102
    assert parsed.text == text and len(parsed.groups) == 4


@given(DECISION_20)
def test_decision_20_identifiers_parse(text: str) -> None:
    parsed = parse_org_identifier(text)
    assert parsed is not None
    assert ".".join(parsed.groups) == text


@given(DECISION_20.filter(lambda s: len(s) < 35), st.integers(1, 30))
def test_longer_than_35_characters_is_refused(text: str, extra: int) -> None:
    padded = text + "." + "A" * max(1, 35 - len(text) + extra)
    assert parse_org_identifier(padded) is None


@given(DECISION_20, st.sampled_from([" ", "a", "đ", "..", "-", "\n"]))
def test_lower_case_spaces_and_empty_groups_are_refused(text: str, bad: str) -> None:
    assert parse_org_identifier(text + bad + "G09") is None


@given(st.text())
def test_org_identifier_parser_never_raises(text: str) -> None:
    parsed = parse_org_identifier(text)
    assert parsed is None or parsed.text == text


def test_identifier_examples() -> None:
    legacy = parse_org_identifier("000.00.00.G09")
    assert legacy is not None and legacy.form is OrgIdForm.QCVN_102
    current = parse_org_identifier("H49.64.33")
    assert current is not None and current.form is OrgIdForm.DECISION_20
    assert current.groups == ("H49", "64", "33")
    for bad in ("", "000.00.00.g09", "G09.", ".G09", "G09..20", "000.00.00.G09\n", "G09 20"):
        assert parse_org_identifier(bad) is None
