"""The object-lock date derived from a dossier's retention period ("Thời hạn bảo quản")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from archive_service.retention import MINIMUM_LOCK, RetentionPeriod, parse_retention, retain_until

PROFILE = "tt02-2019"
RECEIVED = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "period"),
    [
        ("Vĩnh viễn", RetentionPeriod(None)),
        ("vĩnh  VIỄN", RetentionPeriod(None)),
        ("Vi\u0303nh vie\u0302\u0303n", RetentionPeriod(None)),  # NFD, as some editors write it
        ("20 năm", RetentionPeriod(20)),
        ("70 Năm", RetentionPeriod(70)),
        ("0 năm", None),
        ("hai mươi năm", None),
        ("20", None),
        ("", None),
    ],
)
def test_retention_period_in_the_profile_words(value: str, period: RetentionPeriod | None) -> None:
    assert parse_retention(value, PROFILE) == period


def test_unknown_profile_states_no_period() -> None:
    assert parse_retention("20 năm", "no-such-profile") is None


def until(values: dict[str, str]) -> datetime | None:
    return retain_until(values, PROFILE, RECEIVED, permanent_years=100, now=NOW)


def test_permanent_records_are_locked_for_the_configured_horizon_from_receipt() -> None:
    assert until({"Maintenance": "Vĩnh viễn", "EndDate": "27/12/2019"}) == datetime(
        2126, 3, 10, 8, 30, tzinfo=UTC
    )


def test_years_run_from_the_first_of_january_after_the_dossier_ended() -> None:
    assert until({"Maintenance": "20 năm", "EndDate": "27/12/2019"}) == datetime(2040, 1, 1, tzinfo=UTC)


def test_years_run_from_receipt_without_an_end_date() -> None:
    assert until({"Maintenance": "10 năm"}) == datetime(2036, 3, 10, 8, 30, tzinfo=UTC)
    assert until({"Maintenance": "10 năm", "EndDate": "31/02/2019"}) == datetime(
        2036, 3, 10, 8, 30, tzinfo=UTC
    )  # an impossible date counts as none


def test_a_period_already_over_still_leaves_time_for_appraisal() -> None:
    assert until({"Maintenance": "5 năm", "EndDate": "01/06/2001"}) == NOW + MINIMUM_LOCK


def test_no_parseable_period_leaves_the_store_default() -> None:
    assert until({"Maintenance": "lâu dài"}) is None
    assert until({}) is None


def test_leap_day_receipt() -> None:
    leap = datetime(2028, 2, 29, tzinfo=UTC)
    found = retain_until({"Maintenance": "Vĩnh viễn"}, PROFILE, leap, permanent_years=1, now=NOW)
    assert found == datetime(2029, 3, 1, tzinfo=UTC)
